//! `/ncp-list.json` with 200 entries: requests per second measured by `wrk` (a second process) against
//! EMREG's HTTP router, beside nginx serving the very same bytes as a static file in the same run.
//!
//! Needs `wrk` and `nginx` (Debian packages; installed when missing, as root). Bounded: 5 s per
//! server, loopback only. Run: `cargo bench -p emrex-emreg --bench ncp_list_http`.

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

fn wrk(url: &str) -> f64 {
    let out = Command::new("wrk")
        .args(["-t", "1", "-c", "16", "-d", "5s", "--latency", url])
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
    tokio::spawn(async move {
        axum::serve(listener, emrex_emreg::http::router(store))
            .await
            .expect("serve");
    });
    let body = reqwest_like_get(emreg_addr.port()).await;
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

    let emreg_rps =
        tokio::task::spawn_blocking(move || wrk(&format!("http://{emreg_addr}/ncp-list.json")))
            .await
            .expect("wrk");
    let nginx_rps = wrk(&format!("http://127.0.0.1:{nginx_port}/ncp-list.json"));
    let _ = nginx.kill();
    let _ = nginx.wait();
    println!(
        "list: 200 entries, {} bytes; wrk -t1 -c16 -d5s from a second process",
        body.len()
    );
    println!("| server | requests/s | ratio to nginx |");
    println!("| --- | ---: | ---: |");
    println!("| nginx (static file, same bytes) | {nginx_rps:.0} | 1.00 |");
    println!(
        "| EMREG /ncp-list.json | {emreg_rps:.0} | {:.2} |",
        emreg_rps / nginx_rps
    );
}

/// A minimal HTTP GET (no client crate needed for one request).
async fn reqwest_like_get(port: u16) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    s.write_all(b"GET /ncp-list.json HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
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
            "worker_processes 1;\nerror_log {d}/logs/error.log;\npid {d}/nginx.pid;\nevents {{ worker_connections 256; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/tmp;\n  proxy_temp_path {d}/tmp;\n  fastcgi_temp_path {d}/tmp;\n  uwsgi_temp_path {d}/tmp;\n  scgi_temp_path {d}/tmp;\n  types {{ application/json json; }}\n  server {{\n    listen 127.0.0.1:{port};\n    root {r};\n    etag on;\n  }}\n}}\n",
            d = dir.display(),
            r = root.display()
        ),
    )
    .expect("conf");
    conf
}
