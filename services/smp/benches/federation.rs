//! Complete exchanges through the whole federation per second, with p50/p99 latency at 1, 8 and
//! 32 concurrent students, over HTTP without a browser (dev login): SMP chooser → hand-over →
//! NCP entry → dev login → selection → send (NCP builds ELMO + PDF, the Signer signs) → return
//! POST to the SMP (decode, verify, identity match, store in SQLite) → verified.
//!
//! In-process on loopback: an NCP with a real Signer (the NCP's test support) and an SMP with a
//! SQLite store whose registry lists that NCP with the Signer's certificate. Baseline in the same
//! run: the NCP side alone (everything up to the return form), so the SMP's share shows.
//!
//! Figures (issue #14, `emrex_tests::figures`): `federation_p99_over_p50_1` and `_8` (p99 ÷ p50
//! of whole exchanges at 1 and 8 students), and `federation_cpu_vs_crypto`: the process's CPU
//! time per exchange at the most loaded level run (client, SMP, NCP and Signer are all this
//! process) ÷ an in-process sign + verify of the same document with the same key.
//!
//! Run: `cargo bench -p emrex-smp --bench federation` (`EMREX_BENCH_SECONDS`, default 8 per level;
//! `EMREX_BENCH_LEVELS`, default `1,8,32`).

#[path = "../../ncp/tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use emrex_smp::registry::{RegistryCountry, RegistryNcp, Snapshot};
use emrex_smp::service::{Settings, SmpCore, SmpMetrics};
use support::{Agent, TestNcp, input, input_values};

struct Fed {
    ncp: TestNcp,
    smp: String,
}

/// One exchange; returns (total, NCP-side, SMP return) durations.
async fn exchange(fed: &Fed, full: bool) -> (Duration, Duration, Duration) {
    let t0 = Instant::now();
    let mut a = Agent::new();
    let (session, ret) = if full {
        let go = a
            .post(
                &format!("{}/start", fed.smp),
                &[
                    ("given_names", "Åsa"),
                    ("family_name", "Ødegård"),
                    ("birth_date", "1999-04-12"),
                    ("ncp", "DEV"),
                ],
            )
            .await;
        assert_eq!(go.status, 200, "{}", go.body);
        (input(&go.body, "sessionId"), input(&go.body, "returnUrl"))
    } else {
        ("bench".to_string(), "http://127.0.0.1:9/return".to_string())
    };
    let t_ncp = Instant::now();
    let r = a
        .post(
            &format!("{}/", fed.ncp.base),
            &[("sessionId", &session), ("returnUrl", &ret)],
        )
        .await;
    let url = format!("{}{}", fed.ncp.base, r.location.expect("location"));
    let login = a.get(&url).await;
    let csrf = input(&login.body, "csrf");
    a.post(
        &format!("{url}/login/dev"),
        &[("csrf", &csrf), ("student", "demo-asa")],
    )
    .await;
    let select = a.get(&url).await;
    let courses = input_values(&select.body, "course");
    let answer = a
        .post(
            &format!("{url}/send"),
            &[
                ("csrf", &csrf),
                ("course", &courses[0]),
                ("course", &courses[3]),
                ("consent", "yes"),
            ],
        )
        .await;
    let ncp_time = t_ncp.elapsed();
    let mut smp_time = Duration::ZERO;
    if full {
        let fields: Vec<(String, String)> = ["sessionId", "returnCode", "returnMessage", "elmo"]
            .iter()
            .map(|n| (n.to_string(), input(&answer.body, n)))
            .collect();
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let t = Instant::now();
        // Post/redirect/get: the return answers 303 to the durable result page.
        let posted = a.post(&ret, &pairs).await;
        assert_eq!(posted.status, 303, "{}", posted.body);
        let location = posted
            .location
            .expect("the return redirects to the result page");
        let page = if location.starts_with('/') {
            format!("{}{location}", fed.smp)
        } else {
            location
        };
        let result = a.get(&page).await;
        smp_time = t.elapsed();
        assert!(
            result.body.contains("data-kind=\"Verified\""),
            "{}",
            result.body
        );
    }
    (t0.elapsed(), ncp_time, smp_time)
}

/// The NCP side of one exchange with a dummy return URL; the `elmo` field it answers with.
async fn signed_elmo(fed: &Fed) -> String {
    let mut a = Agent::new();
    let r = a
        .post(
            &format!("{}/", fed.ncp.base),
            &[
                ("sessionId", "bench"),
                ("returnUrl", "http://127.0.0.1:9/return"),
            ],
        )
        .await;
    let url = format!("{}{}", fed.ncp.base, r.location.expect("location"));
    let login = a.get(&url).await;
    let csrf = input(&login.body, "csrf");
    a.post(
        &format!("{url}/login/dev"),
        &[("csrf", &csrf), ("student", "demo-asa")],
    )
    .await;
    let select = a.get(&url).await;
    let courses = input_values(&select.body, "course");
    let answer = a
        .post(
            &format!("{url}/send"),
            &[
                ("csrf", &csrf),
                ("course", &courses[0]),
                ("course", &courses[3]),
                ("consent", "yes"),
            ],
        )
        .await;
    input(&answer.body, "elmo")
}

/// The document without its `ds:Signature` element (the last child of the root).
fn unsigned(signed: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(signed).expect("UTF-8");
    let ns = text
        .find("http://www.w3.org/2000/09/xmldsig#")
        .expect("a signature");
    let start = text[..ns].rfind('<').expect("its start tag");
    let name: String = text[start + 1..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '>')
        .collect();
    let close = format!("</{name}>");
    let end = text.rfind(&close).expect("its end tag") + close.len();
    format!("{}{}", &text[..start], &text[end..]).into_bytes()
}

/// Median seconds of an in-process sign + verify of `unsigned_doc` with the Signer's key.
fn sign_and_verify_seconds(fed: &Fed, unsigned_doc: &[u8]) -> f64 {
    let key = emrex_xmldsig::SigningKey::from_pem(
        &std::fs::read(fed.ncp.dir.path().join("signer.key")).expect("signer key"),
        &std::fs::read(&fed.ncp.cert_path).expect("signer certificate"),
    )
    .expect("signing key");
    let pinned = [fed.ncp.cert.clone()];
    let mut times = Vec::new();
    let until = Instant::now() + Duration::from_secs(2);
    while times.len() < 20 || (Instant::now() < until && times.len() < 500) {
        let t = Instant::now();
        let signed =
            emrex_xmldsig::sign(unsigned_doc, &key, &emrex_xmldsig::SignOptions::default())
                .expect("sign");
        emrex_xmldsig::verify(&signed, &pinned, &emrex_xmldsig::Policy::default()).expect("verify");
        times.push(t.elapsed());
    }
    times.sort();
    times[times.len() / 2].as_secs_f64()
}

/// CPU seconds (user + system) this process has used: fields 14 and 15 of /proc/self/stat, in
/// clock ticks of 10 ms (Linux's USER_HZ is 100 on every architecture we run on).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // The command name (field 2) may hold spaces; the fields after its closing ')' do not.
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields[i - 3].parse::<f64>().expect("ticks");
    (ticks(14) + ticks(15)) / 100.0
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1e3
}

fn main() {
    let secs: u64 = std::env::var("EMREX_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let levels: Vec<usize> = std::env::var("EMREX_BENCH_LEVELS")
        .unwrap_or_else(|_| "1,8,32".into())
        .split(',')
        .filter_map(|l| l.trim().parse().ok())
        .filter(|l| *l > 0)
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let ncp = TestNcp::start(|_| {}).await;
        let dir = tempfile::tempdir().expect("tmp");
        let store = emrex_smp::store::SqliteStore::open(&format!("sqlite:{}", dir.path().join("smp.db").display()))
            .await
            .expect("store");
        let snapshot = Arc::new(Snapshot {
            countries: vec![RegistryCountry { code: "NO".into(), name: "Norway".into(), single_fetch: false }],
            ncps: vec![RegistryNcp {
                acronym: "DEV".into(),
                country_code: "NO".into(),
                institutions: vec!["Demo".into()],
                url: format!("{}/", ncp.base),
                certificates: vec![ncp.cert.clone()],
                legacy_algorithms: false,
            }],
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let smp = format!("http://{}", listener.local_addr().expect("addr"));
        let core = Arc::new(SmpCore::new(
            Arc::new(store),
            Arc::new(move || snapshot.clone()),
            Settings { public_url: smp.clone(), dev_mode: true, chooser: true, ttl: Duration::from_secs(600), budget: Default::default(), clock_skew: Duration::from_secs(300) },
            SmpMetrics::default(),
        ));
        let router = emrex_smp::http::router(core);
        tokio::spawn(async move { axum::serve(listener, router).await });
        let fed = Arc::new(Fed { ncp, smp });
        for _ in 0..5 {
            exchange(&fed, true).await;
        }

        println!("| concurrent students | exchanges/s | p50 | p99 | NCP side (mean) | SMP return (mean) | NCP-only baseline exchanges/s |");
        println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        let mut cpu_per_exchange = None;
        for &conc in &levels {
            let mut row = Vec::new();
            for full in [true, false] {
                let cpu_start = cpu_seconds();
                let start = Instant::now();
                let deadline = start + Duration::from_secs(secs);
                let mut tasks = Vec::new();
                for _ in 0..conc {
                    let fed = fed.clone();
                    tasks.push(tokio::spawn(async move {
                        let mut v = Vec::new();
                        while Instant::now() < deadline {
                            v.push(exchange(&fed, full).await);
                        }
                        v
                    }));
                }
                let mut all = Vec::new();
                for t in tasks {
                    all.extend(t.await.expect("task"));
                }
                let el = start.elapsed().as_secs_f64();
                if full {
                    cpu_per_exchange = Some((cpu_seconds() - cpu_start) / all.len() as f64);
                }
                let mut totals: Vec<Duration> = all.iter().map(|x| x.0).collect();
                totals.sort();
                let n = all.len() as f64;
                let ncp_mean = all.iter().map(|x| x.1.as_secs_f64()).sum::<f64>() / n * 1e3;
                let smp_mean = all.iter().map(|x| x.2.as_secs_f64()).sum::<f64>() / n * 1e3;
                row.push((n / el, pct(&totals, 0.5), pct(&totals, 0.99), ncp_mean, smp_mean));
            }
            let (f, b) = (row[0], row[1]);
            println!(
                "| {conc} | {:.1} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} |",
                f.0, f.1, f.2, f.3, f.4, b.0
            );
            if conc == 1 || conc == 8 {
                emrex_tests::figures::record(
                    "federation",
                    &format!("federation_p99_over_p50_{conc}"),
                    f.2 / f.1,
                    &format!("p99 {:.1} ms ÷ p50 {:.1} ms, {conc} concurrent students, {:.1} exchanges/s", f.2, f.1, f.0),
                );
            }
        }
        let signed = emrex_elmo::transport::decode(&signed_elmo(&fed).await, &Default::default())
            .expect("the NCP's elmo decodes");
        let doc = unsigned(&signed);
        let crypto = sign_and_verify_seconds(&fed, &doc);
        println!(
            "in-process sign + verify of the same document ({} bytes unsigned): {:.2} ms",
            doc.len(),
            crypto * 1e3
        );
        if let (Some(cpu), Some(level)) = (cpu_per_exchange, levels.last()) {
            println!("CPU per exchange at {level} students: {:.2} ms", cpu * 1e3);
            emrex_tests::figures::record(
                "federation",
                "federation_cpu_vs_crypto",
                cpu / crypto,
                &format!(
                    "{:.2} ms CPU per exchange at {level} students ÷ {:.2} ms in-process sign + verify",
                    cpu * 1e3,
                    crypto * 1e3
                ),
            );
        }
    });
}
