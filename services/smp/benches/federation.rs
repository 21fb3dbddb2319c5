//! Complete exchanges through the whole federation per second, with p50/p99 latency at 1, 8 and
//! 32 concurrent students, over HTTP without a browser (dev login): SMP chooser → hand-over →
//! NCP entry → dev login → selection → send (NCP builds ELMO + PDF, the Signer signs) → return
//! POST to the SMP (decode, verify, identity match, store in SQLite) → verified.
//!
//! In-process on loopback: an NCP with a real Signer (the NCP's test support) and an SMP with a
//! SQLite store whose registry lists that NCP with the Signer's certificate. Baseline in the same
//! run: the NCP side alone (everything up to the return form), so the SMP's share shows.
//!
//! Run: `cargo bench -p emrex-smp --bench federation` (EMREX_BENCH_SECONDS, default 8 per level).

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

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1e3
}

fn main() {
    let secs: u64 = std::env::var("EMREX_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
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
        for conc in [1usize, 8, 32] {
            let mut row = Vec::new();
            for full in [true, false] {
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
        }
    });
}
