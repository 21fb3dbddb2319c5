//! `/ncp-list.json` with 200 entries: requests per second measured by `wrk` (a second process) against
//! EMREG's HTTP router, beside nginx serving the very same bytes as a static file in the same run,
//! and beside the list rendered on every request (what EMREG did before its document cache: read
//! the store, parse every certificate, serialise, hash), reproduced here so before and after are
//! measured in one run. Records the figure `emreg_json_vs_nginx` (EMREG ÷ nginx).
//!
//! Needs `wrk` and `nginx` (Debian packages; installed when missing, as root). Bounded:
//! `EMREX_BENCH_SECONDS` (default 5) per server, loopback only.
//! Run: `cargo bench -p emrex-emreg --bench ncp_list_http`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use emrex_emreg::{Entry, RegistryStore, SqliteStore, ValidationOptions};

const COUNTRIES: &[&str] = &["FI", "SE", "NO", "DK", "PL", "DE", "FR", "IT", "ES", "NL"];

fn ensure(tool: &str, package: &str) {
    if Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        return;
    }
    eprintln!("installing {package}");
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {package}"
        ))
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "{tool} is needed: apt-get install {package}");
}

fn seconds() -> u64 {
    std::env::var("EMREX_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s| *s > 0)
        .unwrap_or(5)
}

fn wrk(url: &str, extra: &[&str]) -> f64 {
    let duration = format!("{}s", seconds());
    let out = Command::new("wrk")
        .args(["-t", "1", "-c", "16", "-d", &duration, "--latency"])
        .args(extra)
        .arg(url)
        .output()
        .expect("wrk");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Non-2xx"), "errors from {url}:\n{text}");
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec from wrk:\n{text}"))
}

fn main() {
    ensure("wrk", "wrk");
    ensure("nginx", "nginx-light");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(
        SqliteStore::open(
            &dir.path().join("emreg.db"),
            ValidationOptions { dev_mode: false },
        )
        .await
        .expect("store"),
    );
    for i in 0..200 {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let cert = rcgen::CertificateParams::new(vec![format!("ncp{i}.example.org")])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        store
            .upsert(Entry {
                acronym: format!("NCP-{i:03}"),
                country_code: COUNTRIES[i % COUNTRIES.len()].into(),
                institutions: vec![format!("University number {i}"), "All".into()],
                url: format!("https://ncp{i}.example.org/emrex"),
                certificates: vec![cert.pem()],
                ..Entry::default()
            })
            .await
            .expect("upsert");
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let emreg_addr = listener.local_addr().expect("addr");
    let app = emrex_emreg::http::router(Arc::clone(&store)).route(
        "/per-request/ncp-list.json",
        axum::routing::get(per_request).with_state(Arc::clone(&store)),
    );
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    let body = reqwest_like_get(emreg_addr.port(), "/ncp-list.json").await;
    assert_eq!(
        body,
        reqwest_like_get(emreg_addr.port(), "/per-request/ncp-list.json").await,
        "the cached and the per-request list are the same document"
    );
    let root = dir.path().join("www");
    std::fs::create_dir_all(&root).expect("www");
    std::fs::write(root.join("ncp-list.json"), &body).expect("write");
    let nginx_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let conf = write_nginx_conf(dir.path(), &root, nginx_port);
    let mut nginx = Command::new("nginx")
        .args(["-c"])
        .arg(&conf)
        .args(["-p"])
        .arg(dir.path())
        .args(["-g", "daemon off;"])
        .spawn()
        .expect("nginx");
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (nginx_rps, emreg_rps, gzip_rps, per_request_rps) =
        tokio::task::spawn_blocking(move || {
            let nginx = wrk(&format!("http://127.0.0.1:{nginx_port}/ncp-list.json"), &[]);
            let emreg = wrk(&format!("http://{emreg_addr}/ncp-list.json"), &[]);
            let gzip = wrk(
                &format!("http://{emreg_addr}/ncp-list.json"),
                &["-H", "Accept-Encoding: gzip"],
            );
            let per_request = wrk(
                &format!("http://{emreg_addr}/per-request/ncp-list.json"),
                &[],
            );
            (nginx, emreg, gzip, per_request)
        })
        .await
        .expect("wrk");
    let _ = nginx.kill();
    let _ = nginx.wait();
    println!(
        "list: 200 entries, {} bytes; wrk -t1 -c16 -d{}s from a second process",
        body.len(),
        seconds()
    );
    println!("| server | requests/s | ratio to nginx |");
    println!("| --- | ---: | ---: |");
    println!("| nginx (static file, same bytes) | {nginx_rps:.0} | 1.00 |");
    println!(
        "| EMREG /ncp-list.json (cached per revision) | {emreg_rps:.0} | {:.2} |",
        emreg_rps / nginx_rps
    );
    println!(
        "| EMREG /ncp-list.json, Accept-Encoding: gzip (pre-compressed) | {gzip_rps:.0} | {:.2} |",
        gzip_rps / nginx_rps
    );
    println!(
        "| rendered per request (EMREG before the cache) | {per_request_rps:.0} | {:.3} |",
        per_request_rps / nginx_rps
    );
    emrex_tests::figures::record(
        "ncp_list_http",
        "emreg_json_vs_nginx",
        emreg_rps / nginx_rps,
        &format!(
            "EMREG {emreg_rps:.0}/s ÷ nginx {nginx_rps:.0}/s, 200 entries, identity body; per request rendering {per_request_rps:.0}/s"
        ),
    );
}

/// The list as EMREG served it before its document cache: the store read, every certificate
/// parsed, the JSON serialised and hashed on every request.
async fn per_request(
    axum::extract::State(store): axum::extract::State<Arc<SqliteStore>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let snapshot = store.list(None).await.expect("list");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let rendered = emrex_emreg::jsonlist::render_list(
        &snapshot,
        emrex_emreg::jsonlist::ListKey::Ncps,
        now,
        emrex_emreg::jsonlist::RenderOptions::default(),
    );
    (
        [
            (axum::http::header::ETAG, rendered.etag),
            (
                axum::http::header::CONTENT_TYPE,
                "application/json".to_string(),
            ),
        ],
        rendered.body,
    )
        .into_response()
}

/// A minimal HTTP GET (no client crate needed for one request).
async fn reqwest_like_get(port: u16, path: &str) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let at = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers")
        + 4;
    assert!(
        buf.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..at])
    );
    buf[at..].to_vec()
}

fn write_nginx_conf(dir: &Path, root: &Path, port: u16) -> std::path::PathBuf {
    let conf = dir.join("nginx.conf");
    std::fs::create_dir_all(dir.join("logs")).expect("logs");
    std::fs::write(
        &conf,
        format!(
            "master_process off;\nworker_processes 1;\nerror_log {d}/logs/error.log;\npid {d}/nginx.pid;\nevents {{ worker_connections 256; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/tmp;\n  proxy_temp_path {d}/tmp;\n  fastcgi_temp_path {d}/tmp;\n  uwsgi_temp_path {d}/tmp;\n  scgi_temp_path {d}/tmp;\n  types {{ application/json json; }}\n  server {{\n    listen 127.0.0.1:{port};\n    root {r};\n    etag on;\n  }}\n}}\n",
            d = dir.display(),
            r = root.display()
        ),
    )
    .expect("conf");
    conf
}
