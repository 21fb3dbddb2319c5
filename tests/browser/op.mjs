// A real OpenID Provider (npm `oidc-provider`) on loopback, for end-to-end tests.
//
//   node op.mjs CONFIG.json
//
// CONFIG.json:
//   {
//     "port": 0,                               // 0 = any free port
//     "clients": [{ "client_id": "...", "client_secret": "...", "redirect_uris": ["..."] }],
//     "accounts": [{ "sub": "...", "login": "...", "claims": { "given_name": "...", ... } }],
//     "scopes": { "emrex": ["schac_personal_unique_code"] },  // optional extra scopes -> claims
//     "host": "127.0.0.1",                     // optional listen address (an IPv4 address)
//     "tls": { "cert_file": "...", "key_file": "..." },   // optional: serve HTTPS (PEM files)
//     "issuer": "https://login.example/realm"  // optional: the issuer clients see, when a reverse
//                                              // proxy in front forwards Host and X-Forwarded-Proto
//                                              // (and strips the issuer's path)
//   }
//
// The issuer is http(s)://HOST:PORT unless "issuer" is given. Once listening, exactly one line
// goes to stdout:
//   {"issuer":"http://127.0.0.1:PORT","listen":"http://127.0.0.1:PORT"}
// The process runs until SIGTERM/SIGINT or until its standard input reaches EOF (so a parent that
// dies without killing it still ends it). Errors go to stderr.
//
// Behaviour (see README.md):
// * authorization code flow only, PKCE S256 required for every client;
// * token endpoint client authentication: client_secret_basic or client_secret_post;
// * the built-in development interactions: a login form (`input[name=login]`,
//   `input[name=password]`, `button[type=submit]`); the typed login may be an account's `login` or
//   its `sub`; any password is accepted; an unknown login ends the flow at the client's
//   redirect_uri with error=access_denied; consent is granted automatically (no consent page);
// * the `profile` scope carries the standard profile claims plus every claim named in any account,
//   and claims of the granted scopes are put into the ID token (conformIdTokenClaims: false);
// * ID tokens are signed RS256 with a fresh RSA key made at start-up (see /jwks).

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { isIPv4 } from 'node:net';
import process from 'node:process';

import Provider from 'oidc-provider';

function fail(message) {
  process.stderr.write(`op.mjs: ${message}\n`);
  process.exit(2);
}

if (process.argv.length !== 3) {
  fail('usage: node op.mjs CONFIG.json');
}

let config;
try {
  config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
} catch (e) {
  fail(`cannot read config ${process.argv[2]}: ${e.message}`);
}

const port = Number(config.port ?? 0);
const clients = config.clients ?? [];
const accounts = config.accounts ?? [];
const extraScopes = config.scopes ?? {};
const host = config.host ?? '127.0.0.1';
if (!isIPv4(host)) fail(`config.host must be an IPv4 address, got ${JSON.stringify(host)}`);
const tls = config.tls;
if (tls !== undefined && (typeof tls?.cert_file !== 'string' || typeof tls?.key_file !== 'string')) {
  fail('config.tls needs cert_file and key_file');
}
const publicIssuer = config.issuer;
if (publicIssuer !== undefined && !/^https?:\/\/[^/]+(\/.*[^/])?$/.test(publicIssuer)) {
  fail(`config.issuer must be an http(s) URL without a trailing slash, got ${JSON.stringify(publicIssuer)}`);
}
if (!Array.isArray(clients) || clients.length === 0) fail('config.clients must be a non-empty array');
if (!Array.isArray(accounts)) fail('config.accounts must be an array');
for (const a of accounts) {
  if (typeof a.sub !== 'string' || a.sub === '') fail(`account without a sub: ${JSON.stringify(a)}`);
}

// Typed login (or sub) -> account.
function lookup(id) {
  return accounts.find((a) => a.sub === id) ?? accounts.find((a) => a.login === id);
}

const STANDARD_PROFILE = [
  'name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username', 'profile',
  'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at',
];
const accountClaimNames = new Set();
for (const a of accounts) {
  for (const k of Object.keys(a.claims ?? {})) {
    if (k !== 'sub') accountClaimNames.add(k);
  }
}
const claims = {
  openid: ['sub'],
  profile: [...new Set([...STANDARD_PROFILE, ...accountClaimNames])],
  email: ['email', 'email_verified'],
};
for (const [scope, names] of Object.entries(extraScopes)) {
  if (!Array.isArray(names)) fail(`config.scopes.${scope} must be an array of claim names`);
  claims[scope] = names;
}

// A fresh signing key for every run: tests verify against /jwks, never a pinned key.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = {
  ...privateKey.export({ format: 'jwk' }),
  kid: randomBytes(8).toString('hex'),
  use: 'sig',
  alg: 'RS256',
};

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const FONT_IMPORT = '@import url(https://fonts.googleapis.com/css?family=Roboto:400,100);';

let server;
try {
  server = tls
    ? createTlsServer({ cert: readFileSync(tls.cert_file), key: readFileSync(tls.key_file) })
    : createServer();
} catch (e) {
  fail(`cannot read the TLS certificate or key: ${e.message}`);
}
server.on('error', (e) => fail(`server error: ${e.message}`));

server.listen(port, host, () => {
  const listen = `${tls ? 'https' : 'http'}://${host}:${server.address().port}`;
  const issuer = publicIssuer ?? listen;

  const provider = new Provider(issuer, {
    clients: clients.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      redirect_uris: c.redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      // client_secret_post is accepted too: oidc-provider treats the two secret methods alike.
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: [signingJwk] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims,
    scopes: ['openid', 'offline_access', ...Object.keys(claims).filter((s) => s !== 'openid')],
    conformIdTokenClaims: false,
    pkce: { methods: ['S256'], required: () => true },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    responseTypes: ['code'],
    features: {
      devInteractions: { enabled: true },
      claimsParameter: { enabled: true },
      userinfo: { enabled: true },
    },
    async findAccount(_ctx, id) {
      const account = lookup(id);
      if (!account) return undefined;
      return {
        accountId: account.sub,
        async claims() {
          return { ...(account.claims ?? {}), sub: account.sub };
        },
      };
    },
    // Automatic consent: whatever the client asks for (scopes and claims) is granted.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      let grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
      if (!grant) {
        grant = new ctx.oidc.provider.Grant({
          clientId: ctx.oidc.client.clientId,
          accountId: ctx.oidc.account.accountId,
        });
      }
      grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(' '));
      const requestedClaims = [...ctx.oidc.requestParamClaims];
      if (requestedClaims.length) grant.addOIDCClaims(requestedClaims);
      await grant.save();
      return grant;
    },
    // Errors that cannot go back to the client (bad client_id, unregistered redirect_uri, ...):
    // a plain page whose #error and #error_description a test can read.
    renderError(ctx, out, error) {
      process.stderr.write(`op.mjs: error page: ${JSON.stringify(out)} ${error?.stack ?? ''}\n`);
      ctx.type = 'html';
      ctx.body = '<!DOCTYPE html><html><head><meta charset="utf-8"><title>oidc error</title></head>'
        + '<body><h1>oidc error</h1>'
        + `<pre id="error">${escapeHtml(out.error)}</pre>`
        + `<pre id="error_description">${escapeHtml(out.error_description ?? '')}</pre>`
        + '</body></html>';
    },
  });

  // The dev login form makes the typed text the session's accountId. Map a login to its
  // account's sub here, so that the session, the grant and the tokens all carry the sub.
  const interactionFinished = provider.interactionFinished.bind(provider);
  provider.interactionFinished = (req, res, result, options) => {
    if (result?.login?.accountId !== undefined) {
      const typed = String(result.login.accountId);
      const account = lookup(typed);
      if (!account) {
        // An unknown login ends the flow at the client with an error, as a refused login would.
        process.stderr.write(`op.mjs: unknown login ${JSON.stringify(typed)}\n`);
        return interactionFinished(req, res, {
          error: 'access_denied',
          error_description: `unknown login ${JSON.stringify(typed)}`,
        }, { mergeWithLastSubmission: false });
      }
      const login = { ...result.login, accountId: account.sub };
      return interactionFinished(req, res, { ...result, login }, options);
    }
    return interactionFinished(req, res, result, options);
  };

  // The dev pages' stylesheet imports a web font from the internet; drop that import so that an
  // OP page makes no request off the machine (and adds no failed request to a browser run).
  // Likewise answer the browser's favicon request, so it adds no 404 to the console.
  provider.use(async (ctx, next) => {
    if (ctx.path === '/favicon.ico') {
      ctx.status = 204;
      return;
    }
    await next();
    if (typeof ctx.body === 'string' && ctx.body.includes(FONT_IMPORT)) {
      ctx.body = ctx.body.replace(FONT_IMPORT, '');
    }
  });

  provider.on('server_error', (_ctx, err) => {
    process.stderr.write(`op.mjs: server_error: ${err.stack ?? err}\n`);
  });
  provider.on('authorization.error', (_ctx, err) => {
    process.stderr.write(`op.mjs: authorization.error: ${err.message} ${err.error_description ?? ''}\n`);
  });
  provider.on('grant.error', (_ctx, err) => {
    process.stderr.write(`op.mjs: grant.error: ${err.message} ${err.error_description ?? ''}\n`);
  });

  // Behind a reverse proxy the public scheme and host come from X-Forwarded-Proto and Host.
  if (publicIssuer !== undefined) provider.proxy = true;

  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer, listen })}\n`);
});

function shutdown() {
  server.close();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.stdin.on('end', shutdown);
process.stdin.on('error', shutdown);
process.stdin.resume();
