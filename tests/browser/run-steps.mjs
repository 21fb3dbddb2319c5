// A generic Playwright step runner: Debian's Chromium, driven by playwright-core.
//
//   node run-steps.mjs STEPS.json
//
// STEPS.json: { "outputDir": "...", "timeoutMs": 15000, "steps": [ {"goto": "http://..."}, ... ],
//               "hosts": { "ncp.example": "10.96.0.12", "192.0.2.2": "192.0.2.2" } }
// `hosts` (optional) are the only names and addresses besides loopback the browser reaches: a name
// goes to the address given, an address mapped to itself is reached as it is.
// `caFile` (optional) is a PEM CA certificate the browser trusts besides the system's (a test CA
// of an HTTPS ingress): it goes into an NSS database in a temporary HOME, which is where Chromium
// on Linux reads trust from (Debian's `certutil`, package libnss3-tools).
// (optional: "locale": "de-DE" for the browser's language, "pageScripts": false for pages without
// their scripts)
// The step vocabulary is documented in README.md (beside this file).
//
// Standard output: exactly one JSON object
//   { "ok": true|false, "results": [{ "step": i, "kind": "goto", "value": ..., "ms": n }, ...],
//     "error": "...", "failedStep": n, "url": "last page URL", "console": ["csp: ...", ...] }
// (`error` and `failedStep` only when ok is false). Exit code 0 when ok, 1 when a step failed,
// 2 on a usage error. On failure `failure.png` and `failure.html` are saved into outputDir.
//
// One browser per invocation, with a fresh context (and a fresh temporary profile, which Playwright
// creates and deletes itself). No browser is ever downloaded: the executable is /usr/bin/chromium
// (or $EMREX_CHROMIUM). Host names other than localhost never resolve, so a page cannot reach the
// network (the machines have none anyway; this makes such a request fail at once and show up in
// `console` as a `requestfailed:` entry).

import { execFileSync } from 'node:child_process';
import {
  existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';

import { chromium } from 'playwright-core';

const USAGE = 'usage: node run-steps.mjs STEPS.json';

function usage(message) {
  process.stderr.write(`run-steps.mjs: ${message}\n${USAGE}\n`);
  process.exit(2);
}

if (process.argv.length !== 3) usage('expected exactly one argument');

let spec;
try {
  spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
} catch (e) {
  usage(`cannot read ${process.argv[2]}: ${e.message}`);
}
if (!spec || !Array.isArray(spec.steps)) usage('the file must hold {"outputDir", "steps": [...]}');
if (typeof spec.outputDir !== 'string' || spec.outputDir === '') usage('outputDir is required');

const hosts = spec.hosts ?? {};
if (typeof hosts !== 'object' || Array.isArray(hosts)) usage('hosts must be an object');
const hostRules = [];
for (const [name, address] of Object.entries(hosts)) {
  if (!/^[A-Za-z0-9.-]+$/.test(name) || !/^[0-9.]+$/.test(String(address))) {
    usage(`hosts: ${JSON.stringify(name)} -> ${JSON.stringify(address)} is not a name -> IPv4 address`);
  }
  hostRules.push(name === address ? `EXCLUDE ${name}` : `MAP ${name} ${address}`);
}

let home = null;
if (spec.caFile !== undefined) {
  if (typeof spec.caFile !== 'string' || !existsSync(spec.caFile)) usage(`caFile ${JSON.stringify(spec.caFile)} does not exist`);
  home = mkdtempSync(join(tmpdir(), 'emrex-chromium-home-'));
  const db = `sql:${join(home, '.pki', 'nssdb')}`;
  mkdirSync(join(home, '.pki', 'nssdb'), { recursive: true });
  try {
    execFileSync('certutil', ['-d', db, '-N', '--empty-password'], { stdio: 'pipe' });
    execFileSync('certutil', ['-d', db, '-A', '-t', 'C,,', '-n', 'emrex-test-ca', '-i', spec.caFile], { stdio: 'pipe' });
  } catch (e) {
    rmSync(home, { recursive: true, force: true });
    usage(`cannot make the NSS database for caFile (certutil, package libnss3-tools): ${e.message}`);
  }
}
// A handoff step waits for the test (default 5 minutes): the whole run may take that much longer.
const handoffMs = spec.steps
  .filter((st) => 'handoff' in st)
  .reduce((sum, st) => sum + (Number.isFinite(st.timeoutMs) ? st.timeoutMs : 300000), 0);

const outputDir = spec.outputDir;
const timeoutMs = Number.isFinite(spec.timeoutMs) && spec.timeoutMs > 0 ? spec.timeoutMs : 15000;
mkdirSync(outputDir, { recursive: true });

const KINDS = [
  'goto', 'click', 'check', 'uncheck', 'fill', 'select', 'waitForUrl', 'waitFor', 'text', 'html',
  'url', 'screenshot', 'expectText', 'setContent', 'evaluate', 'reload', 'handoff', 'audit',
];

// The widths every `audit` step checks: a desktop and a phone (issue #16: 390 px is a common
// phone's CSS width). The desktop one is also the page's normal size between audits.
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

// axe-core's source, read once and evaluated in the page by the DevTools protocol (so the page's
// Content-Security-Policy, which allows no foreign script, does not apply to it).
let axeSource = null;
function axe() {
  if (axeSource === null) {
    const require = createRequire(import.meta.url);
    axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  }
  return axeSource;
}

// Checked before the browser starts, so a typo costs no browser start.
spec.steps.forEach((step, i) => {
  if (!step || typeof step !== 'object' || Array.isArray(step)) usage(`step ${i} is not an object`);
  const kinds = Object.keys(step).filter((k) => KINDS.includes(k));
  if (kinds.length !== 1) {
    usage(`step ${i} ${JSON.stringify(step)} must have exactly one of: ${KINDS.join(', ')}`);
  }
  const allowed = kinds[0] === 'handoff' ? ['timeoutMs'] : ['value', 'state'];
  const extra = Object.keys(step).filter((k) => !KINDS.includes(k) && !allowed.includes(k));
  if (extra.length) usage(`step ${i} has unknown keys: ${extra.join(', ')}`);
  if (kinds[0] === 'audit' && !/^[A-Za-z0-9_.-]+$/.test(String(step.audit))) {
    usage(`step ${i} (audit) needs a file-name-safe name`);
  }
  if (['fill', 'select'].includes(kinds[0]) && typeof step.value !== 'string') {
    usage(`step ${i} (${kinds[0]}) needs a string "value"`);
  }
});

const output = { ok: false, results: [], url: null, console: [] };
let printed = false;
function finish(code) {
  if (printed) return;
  printed = true;
  process.stdout.write(`${JSON.stringify(output)}\n`);
  process.exitCode = code;
}

// "/re/flags" is a regular expression, anything else a substring of the URL.
function urlMatcher(pattern) {
  const m = /^\/(.*)\/([dgimsuy]*)$/s.exec(pattern);
  if (m) {
    const re = new RegExp(m[1], m[2]);
    return (url) => re.test(url.href);
  }
  return (url) => url.href.includes(pattern);
}

function describe(value) {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

const executablePath = process.env.EMREX_CHROMIUM || '/usr/bin/chromium';
const browser = await chromium.launch({
  executablePath,
  headless: true,
  timeout: 60000,
  env: home ? { ...process.env, HOME: home } : process.env,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    // Only loopback names (and `hosts`) resolve: an outside request fails at once instead of
    // waiting. The first matching MAP wins; an EXCLUDE anywhere keeps a name as it is.
    `--host-resolver-rules=${[...hostRules, 'MAP * ~NOTFOUND', 'EXCLUDE localhost', 'EXCLUDE *.localhost', 'EXCLUDE 127.0.0.1'].join(', ')}`,
  ],
}).catch((e) => {
  output.error = `cannot start ${executablePath}: ${e.message}`;
  finish(1);
  process.exit(1);
});

// A wedged page must still produce an answer (the Rust side kills us later anyway).
const overallMs = spec.steps.length * timeoutMs + handoffMs + 30000;
const watchdog = setTimeout(async () => {
  output.error = `run-steps.mjs: the whole run exceeded ${overallMs} ms`;
  finish(1);
  await browser.close().catch(() => {});
  process.exit(1);
}, overallMs);
watchdog.unref();

const context = await browser.newContext({
  ignoreHTTPSErrors: false,
  locale: typeof spec.locale === 'string' ? spec.locale : 'en-GB',
  viewport: DESKTOP,
});

// `"pageScripts": false`: every page arrives without its <script> elements, as if the person's
// browser blocked them (auto-submitting pages stay on screen with their buttons). JavaScript
// itself stays on, because the harness's own `evaluate` and `audit` (axe-core) need it; Chromium's
// "JavaScript disabled" would stop axe-core's timers too. Redirects are passed to the browser as
// they come, so the address bar follows them as usual.
if (spec.pageScripts === false) {
  await context.route('**/*', async (route) => {
    if (route.request().resourceType() !== 'document') {
      await route.continue();
      return;
    }
    const response = await route.fetch({ maxRedirects: 0 });
    const type = response.headers()['content-type'] ?? '';
    if (!type.startsWith('text/html')) {
      await route.fulfill({ response });
      return;
    }
    const body = (await response.text()).replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, '');
    await route.fulfill({ response, body });
  });
}
const page = await context.newPage();
page.setDefaultTimeout(timeoutMs);
page.setDefaultNavigationTimeout(timeoutMs);

// CSP violations, reported by the page itself (an init script runs before the page's own scripts
// and is not subject to the page's CSP).
await page.exposeBinding('__emrexCspViolation', (_source, v) => {
  output.console.push(
    `csp: ${v.effectiveDirective} blocked ${v.blockedURI || '(inline)'} on ${v.documentURI}`
    + `${v.disposition === 'report' ? ' [report-only]' : ''}${v.sample ? ` sample=${v.sample}` : ''}`,
  );
});
await context.addInitScript(() => {
  document.addEventListener('securitypolicyviolation', (e) => {
    // eslint-disable-next-line no-underscore-dangle
    window.__emrexCspViolation?.({
      effectiveDirective: e.effectiveDirective,
      blockedURI: e.blockedURI,
      documentURI: e.documentURI,
      disposition: e.disposition,
      sample: e.sample,
    });
  });
});
page.on('console', (msg) => {
  const text = msg.text();
  if (text.includes('Content Security Policy')) {
    output.console.push(`csp-console: ${msg.type()}: ${text}`);
  } else if (msg.type() === 'error') {
    const where = msg.location()?.url;
    output.console.push(`console.error: ${text}${where ? ` (${where})` : ''}`);
  }
});
page.on('pageerror', (err) => output.console.push(`pageerror: ${err.message}`));
page.on('requestfailed', (req) => {
  output.console.push(`requestfailed: ${req.method()} ${req.url()} ${req.failure()?.errorText ?? ''}`.trim());
});
page.on('dialog', async (dialog) => {
  output.console.push(`dialog: ${dialog.type()}: ${dialog.message()}`);
  await dialog.dismiss().catch(() => {});
});

// One width of an audit: the page must not scroll sideways, and axe-core must find nothing.
async function auditAt(name, size) {
  await page.setViewportSize(size);
  // Let the layout settle at the new width before measuring.
  await page.evaluate(() => new Promise((r) => { requestAnimationFrame(() => requestAnimationFrame(r)); }));
  const overflow = await page.evaluate(() => {
    const doc = document.documentElement;
    const wide = [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > doc.clientWidth + 0.5)
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${e.className && typeof e.className === 'string' ? `.${e.className.split(' ').join('.')}` : ''}`);
    return { scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth, wide };
  });
  const shot = join(outputDir, `${name}-${size.width}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.evaluate(axe());
  }
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
    }));
  });
  const problems = [];
  if (overflow.scrollWidth > overflow.clientWidth) {
    problems.push(`scrolls sideways at ${size.width} px: ${overflow.scrollWidth} > ${overflow.clientWidth} (too wide: ${overflow.wide.join(', ')})`);
  }
  for (const v of result) {
    problems.push(`axe ${v.id} (${v.impact}): ${v.help}: ${v.nodes.map((n) => `${n.target} — ${n.summary}`).join('; ')}`);
  }
  return { width: size.width, scrollWidth: overflow.scrollWidth, violations: result.length, screenshot: shot, problems };
}

// `{"audit": "name"}`: the page at desktop and at phone width, each with a full-page screenshot
// (`name-1280.png`, `name-390.png`), no sideways scrolling and no axe-core violation; any problem
// fails the step with all of them listed.
async function audit(name) {
  const lang = await page.evaluate(() => document.documentElement.lang);
  const widths = [];
  try {
    widths.push(await auditAt(name, DESKTOP));
    widths.push(await auditAt(name, PHONE));
  } finally {
    await page.setViewportSize(DESKTOP);
  }
  const problems = widths.flatMap((w) => w.problems.map((p) => `[${w.width} px] ${p}`));
  if (problems.length) {
    throw new Error(`audit ${name} (${page.url()}, lang=${lang}): ${problems.join(' | ')}`);
  }
  return { lang, url: page.url(), widths: widths.map(({ problems: _, ...w }) => w) };
}

async function runStep(step) {
  if ('goto' in step) {
    const response = await page.goto(step.goto, { waitUntil: 'load' });
    return response ? response.status() : null;
  }
  if ('reload' in step) {
    // What a student's reload does: the same request again (a GET after post/redirect/get).
    const response = await page.reload({ waitUntil: 'load' });
    return response ? response.status() : null;
  }
  if ('click' in step) {
    await page.click(step.click);
    // A click that submits a form or follows a link: let the new page load before the next step.
    await page.waitForLoadState('load');
    return null;
  }
  if ('check' in step) {
    await page.check(step.check);
    return null;
  }
  if ('uncheck' in step) {
    await page.uncheck(step.uncheck);
    return null;
  }
  if ('fill' in step) {
    await page.fill(step.fill, step.value);
    return null;
  }
  if ('select' in step) {
    return page.selectOption(step.select, step.value);
  }
  if ('waitForUrl' in step) {
    await page.waitForURL(urlMatcher(step.waitForUrl), { waitUntil: 'load' });
    return page.url();
  }
  if ('waitFor' in step) {
    await page.waitForSelector(step.waitFor, { state: step.state ?? 'visible' });
    return null;
  }
  if ('text' in step) {
    return page.innerText(step.text);
  }
  if ('html' in step) {
    return page.content();
  }
  if ('url' in step) {
    return page.url();
  }
  if ('screenshot' in step) {
    const path = join(outputDir, step.screenshot);
    await page.screenshot({ path, fullPage: true });
    return path;
  }
  if ('expectText' in step) {
    const wanted = String(step.expectText);
    try {
      await page.waitForFunction(
        (s) => document.body !== null && document.body.innerText.includes(s),
        wanted,
        { timeout: timeoutMs },
      );
    } catch {
      const body = await page.evaluate(() => document.body?.innerText ?? '').catch(() => '');
      throw new Error(
        `expected text ${JSON.stringify(wanted)} not found on ${page.url()}; the page says: `
        + `${JSON.stringify(body.slice(0, 2000))}`,
      );
    }
    return true;
  }
  if ('setContent' in step) {
    await page.setContent(step.setContent, { waitUntil: 'load' });
    return null;
  }
  if ('handoff' in step) {
    // The test takes over (e.g. deletes a Pod) while the page stays as it is: NAME.ready says so
    // (with the page's URL); the run goes on once the test has written NAME.go.
    const name = String(step.handoff);
    if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`handoff name ${JSON.stringify(name)}`);
    const ready = join(outputDir, `${name}.ready`);
    const go = join(outputDir, `${name}.go`);
    if (existsSync(go)) unlinkSync(go);
    writeFileSync(ready, page.url());
    const limit = Date.now() + (Number.isFinite(step.timeoutMs) ? step.timeoutMs : 300000);
    while (!existsSync(go)) {
      if (Date.now() > limit) throw new Error(`nobody wrote ${go}`);
      // eslint-disable-next-line no-await-in-loop
      await new Promise((r) => { setTimeout(r, 100); });
    }
    const said = readFileSync(go, 'utf8');
    unlinkSync(go);
    unlinkSync(ready);
    return said;
  }
  if ('audit' in step) {
    return audit(String(step.audit));
  }
  if ('evaluate' in step) {
    // An expression, or a function body's value: `document.title`, `(() => 1 + 1)()`.
    return page.evaluate(step.evaluate);
  }
  throw new Error(`unknown step ${describe(step)}`);
}

let failedAt = null;
for (let i = 0; i < spec.steps.length; i += 1) {
  const step = spec.steps[i];
  const kind = Object.keys(step).find((k) => KINDS.includes(k));
  const started = Date.now();
  try {
    const value = await runStep(step);
    output.results.push({
      step: i, kind, value: value === undefined ? null : value, ms: Date.now() - started,
    });
  } catch (e) {
    failedAt = i;
    // Playwright's messages carry terminal colour codes; the verdict is read by people and Rust.
    // eslint-disable-next-line no-control-regex
    const message = String(e?.message ?? e).replace(/\u001b\[[0-9;]*m/g, '');
    output.error = `step ${i} ${describe(step)} failed: ${message}`;
    output.failedStep = i;
    break;
  }
}

output.url = page.url();
if (failedAt === null) {
  output.ok = true;
} else {
  try {
    await page.screenshot({ path: join(outputDir, 'failure.png'), fullPage: true, timeout: 10000 });
  } catch (e) {
    output.console.push(`harness: failure screenshot not taken: ${e.message}`);
  }
  try {
    writeFileSync(join(outputDir, 'failure.html'), await page.content());
  } catch (e) {
    output.console.push(`harness: failure.html not saved: ${e.message}`);
  }
}

clearTimeout(watchdog);
await context.close().catch(() => {});
await browser.close().catch(() => {});
if (home) rmSync(home, { recursive: true, force: true });
finish(output.ok ? 0 : 1);
