//! Signer throughput over gRPC: signatures per second for a large ELMO (150 courses and a 300 KB
//! PDF attachment) at 1, 8 and 64 concurrent callers, beside the same-run bare-crypto baseline
//! (SHA-256 of the document + one RSA-2048 signature, on one thread and on every core).
//!
//! A bench binary rather than criterion: what matters is throughput under concurrency, which
//! criterion's per-iteration model does not measure. Bounded: a fixed number of requests per
//! level, loopback only. Run: `cargo bench -p emrex-signer --bench grpc_throughput`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{self, RsaKeyPair};
use emrex_proto::signer::v1::SignRequest;
use emrex_proto::signer::v1::signer_client::SignerClient;
use emrex_proto::signer::v1::signer_server::SignerServer;
use emrex_signer::{KeyFiles, KeyStore, SignerConfig, SignerMetrics, SignerService};

fn large_elmo() -> Vec<u8> {
    use base64::Engine;
    use std::fmt::Write;
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<elmo xmlns=\"https://github.com/emrex-eu/elmo-schemas/tree/v1\">\n<generatedDate>2026-11-29T10:00:00Z</generatedDate>\n<learner><givenNames>Aino</givenNames><familyName>Järvinen</familyName><bday>2001-05-17</bday></learner>\n<report><issuer><identifier type=\"schac\">helsinki.fi</identifier><title xml:lang=\"en\">University of Helsinki</title><url>https://www.helsinki.fi</url></issuer>\n",
    );
    for i in 0..150 {
        let _ = writeln!(
            s,
            "<learningOpportunitySpecification><identifier type=\"local\">C{i:04}</identifier><title xml:lang=\"en\">Course {i}</title><type>Course</type><specifies><learningOpportunityInstance><date>2024-12-20</date><status>passed</status><resultLabel>5</resultLabel><credit><scheme>ects</scheme><value>5</value></credit></learningOpportunityInstance></specifies></learningOpportunitySpecification>"
        );
    }
    let pdf: Vec<u8> = (0..300 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let _ = write!(
        s,
        "<issueDate>2026-11-29T10:00:00Z</issueDate></report>\n<attachment><type>EMREX transcript</type><content>data:application/pdf;base64,{}</content></attachment>\n</elmo>\n",
        base64::engine::general_purpose::STANDARD.encode(pdf)
    );
    s.into_bytes()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().expect("tmp");
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("keygen");
    let cert = rcgen::CertificateParams::new(vec!["bench.invalid".into()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    std::fs::write(dir.path().join("k.pem"), key.serialize_pem()).expect("write");
    std::fs::write(dir.path().join("c.pem"), cert.pem()).expect("write");
    let files = KeyFiles {
        key_file: dir.path().join("k.pem"),
        cert_file: dir.path().join("c.pem"),
        next_cert_file: None,
    };
    let store = Arc::new(KeyStore::load(files, Duration::from_secs(1)).expect("keys"));
    let service = SignerService::new(store, SignerConfig::default(), SignerMetrics::default());
    // TCP_NODELAY as the runtime sets it (without it, delayed ACKs add ~40 ms per call).
    let incoming =
        tonic::transport::server::TcpIncoming::bind("127.0.0.1:0".parse().expect("addr"))
            .expect("bind")
            .with_nodelay(Some(true));
    let addr = incoming.local_addr().expect("addr");
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(SignerServer::new(service).max_decoding_message_size(64 * 1024 * 1024))
            .serve_with_incoming(incoming)
            .await
            .expect("serve");
    });
    let doc = Arc::new(large_elmo());
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");

    // Baseline: SHA-256 of the document + one RSA-2048 signature, same key, same bytes.
    let raw = Arc::new(RsaKeyPair::from_pkcs8(&key.serialize_der()).expect("raw key"));
    let baseline = |threads: usize, n: usize| {
        let started = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..threads {
                let raw = raw.clone();
                let doc = doc.clone();
                s.spawn(move || {
                    let rng = aws_lc_rs::rand::SystemRandom::new();
                    for _ in 0..n / threads {
                        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &doc);
                        let mut sig = vec![0u8; raw.public_modulus_len()];
                        raw.sign(&signature::RSA_PKCS1_SHA256, &rng, d.as_ref(), &mut sig)
                            .expect("sign");
                    }
                });
            }
        });
        n as f64 / started.elapsed().as_secs_f64()
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let base1 = baseline(1, 400);
    let base_all = baseline(cores, 400 * cores);
    println!("document: {} bytes; cores: {cores}", doc.len());
    println!(
        "| callers | signatures/s over gRPC | p50 | p99 | ratio to bare crypto on all cores ({base_all:.0}/s; one core {base1:.0}/s) |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: |");
    for callers in [1usize, 8, 64] {
        let total = 400usize.max(callers * 8);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..callers {
            let mut client =
                SignerClient::new(channel.clone()).max_decoding_message_size(64 * 1024 * 1024);
            let doc = doc.clone();
            let n = total / callers;
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::with_capacity(n);
                for _ in 0..n {
                    let t = Instant::now();
                    client
                        .sign(SignRequest {
                            elmo_xml: doc.to_vec(),
                        })
                        .await
                        .expect("sign");
                    lat.push(t.elapsed());
                }
                lat
            }));
        }
        let mut lat = Vec::new();
        for t in tasks {
            lat.extend(t.await.expect("task"));
        }
        let rate = lat.len() as f64 / started.elapsed().as_secs_f64();
        lat.sort();
        let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
        println!(
            "| {callers} | {rate:.0} | {:.1} ms | {:.1} ms | {:.3} |",
            pct(0.5).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
            rate / base_all
        );
    }
}
