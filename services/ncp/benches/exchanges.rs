//! Full provider exchanges per second over HTTP (no browser; dev login), on an in-process NCP
//! with a real Signer on loopback, and where the time goes.
//!
//! One exchange = POST entry → GET exchange page → POST dev login → GET selection page →
//! POST send (2 courses) → return form with the signed `elmo`. The split comes from the NCP's
//! own `emrex_ncp_step_duration_seconds` histograms. Baseline, measured in the same run: one bare
//! Signer `Sign` call on the same unsigned document size, so the report reads "an exchange costs
//! N signatures".
//!
//! Run: `cargo bench -p emrex-ncp --bench exchanges` (EMREX_BENCH_SECONDS, default 10 per level).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::{Agent, TestNcp, input, input_values, return_fields};

async fn one_exchange(ncp: &TestNcp) {
    let mut a = Agent::new();
    let r = a
        .post(
            &format!("{}/", ncp.base),
            &[
                ("sessionId", "bench"),
                ("returnUrl", "http://127.0.0.1:9/r"),
            ],
        )
        .await;
    let url = format!("{}{}", ncp.base, r.location.expect("location"));
    let login = a.get(&url).await;
    let csrf = input(&login.body, "csrf");
    let r = a
        .post(
            &format!("{url}/login/dev"),
            &[("csrf", &csrf), ("student", "demo-asa")],
        )
        .await;
    assert_eq!(r.status, 303);
    let select = a.get(&url).await;
    let courses = input_values(&select.body, "course");
    let r = a
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
    let f = return_fields(&r.body);
    assert_eq!(f["returnCode"], "NCP_OK");
}

fn metric(text: &str, name: &str, step: &str) -> f64 {
    let key = format!("{name}{{step=\"{step}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&key))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

fn main() {
    let secs: u64 = std::env::var("EMREX_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let ncp = std::sync::Arc::new(TestNcp::start(|_| {}).await);
        // Warm up (connections, allocator, the OIDC-free path).
        for _ in 0..5 {
            one_exchange(&ncp).await;
        }

        // Baseline: bare Sign calls on an unsigned document of the same shape as one exchange's.
        let doc = {
            let src = emrex_ncp::source::demo::DemoSource::new("2026-01-01T00:00:00Z");
            let elmo = src.transcript(&emrex_ncp::source::demo::STUDENTS[0]);
            let mut t = emrex_ncp::response::Timings::default();
            emrex_ncp::response::document_with_transcript(
                &elmo,
                std::time::SystemTime::now(),
                "en",
                &emrex_ncp::response::DocumentSettings {
                    provider_name: "bench".into(),
                    elmo_version: emrex_elmo::ElmoVersion::V1_7,
                },
                &mut t,
            )
            .expect("document")
            .0
        };
        let (signer_addr, _, _, _task) = support::start_signer(ncp.dir.path()).await;
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{signer_addr}"))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect");
        let mut signer = emrex_proto::signer::v1::signer_client::SignerClient::new(channel)
            .max_decoding_message_size(64 << 20);
        let start = Instant::now();
        let mut n = 0u32;
        while start.elapsed() < Duration::from_secs(secs.min(5)) {
            signer
                .sign(emrex_proto::signer::v1::SignRequest {
                    elmo_xml: doc.clone(),
                })
                .await
                .expect("sign");
            n += 1;
        }
        let sign_each = start.elapsed().as_secs_f64() / f64::from(n);
        println!(
            "baseline: bare Signer call on a {} KB document: {:.2} ms ({:.1}/s)",
            doc.len() / 1024,
            sign_each * 1e3,
            1.0 / sign_each
        );

        println!("\n| concurrent students | exchanges/s | mean latency | × bare Sign call |");
        println!("| ---: | ---: | ---: | ---: |");
        for conc in [1usize, 4, 16] {
            let start = Instant::now();
            let deadline = start + Duration::from_secs(secs);
            let mut tasks = Vec::new();
            for _ in 0..conc {
                let ncp = ncp.clone();
                tasks.push(tokio::spawn(async move {
                    let mut done = 0u32;
                    while Instant::now() < deadline {
                        one_exchange(&ncp).await;
                        done += 1;
                    }
                    done
                }));
            }
            let mut total = 0u32;
            for t in tasks {
                total += t.await.expect("task");
            }
            let el = start.elapsed().as_secs_f64();
            let rate = f64::from(total) / el;
            let latency = el * conc as f64 / f64::from(total);
            println!(
                "| {conc} | {rate:.1} | {:.1} ms | {:.1} |",
                latency * 1e3,
                latency / sign_each
            );
        }

        let text = ncp.metrics_text();
        let steps = ["login", "source", "elmo", "pdf", "sign", "encode"];
        let total: f64 = steps
            .iter()
            .map(|s| metric(&text, "emrex_ncp_step_duration_seconds_sum", s))
            .sum();
        println!("\nwhere the time goes (server side, all runs):\n");
        println!("| step | mean per exchange | share |");
        println!("| --- | ---: | ---: |");
        for s in steps {
            let sum = metric(&text, "emrex_ncp_step_duration_seconds_sum", s);
            let count = metric(&text, "emrex_ncp_step_duration_seconds_count", s).max(1.0);
            println!(
                "| {s} | {:.2} ms | {:.0} % |",
                sum / count * 1e3,
                100.0 * sum / total.max(f64::MIN_POSITIVE)
            );
        }
    });
}
