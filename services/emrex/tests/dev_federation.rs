//! The whole federation started exactly like README's first command (`emrex dev`, as a process),
//! driven by headless Debian Chromium: open the SMP page, choose the country and the NCP, log in
//! at the NCP (once with the dev login, once through a real OpenID provider), tick courses,
//! consent, return — the SMP page shows them verified, and the SIS gRPC API returns the same
//! exchange with the signed XML and the PDF. Screenshots land in tests/output/.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use emrex_proto::smp::v1::OutcomeKind;
use emrex_tests::oidc::OpenIdProvider;
use serde_json::Value;

mod dev_support;
use dev_support::{
    assert_sis_api_refuses_without_token, assert_verified_demo_exchange, flow, newest_exchange,
};

struct Dev {
    child: Child,
    ready: Value,
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn start_dev(data: &std::path::Path, ncp_port: u16, oidc: Option<(&str, &std::path::Path)>) -> Dev {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_emrex"));
    cmd.arg("dev")
        .arg("--data-dir")
        .arg(data)
        .args([
            "--smp-port",
            "0",
            "--emreg-port",
            "0",
            "--smp-grpc-port",
            "0",
        ])
        .args(["--ncp-port", &ncp_port.to_string()]);
    if let Some((issuer, secret)) = oidc {
        cmd.args(["--oidc-issuer", issuer, "--oidc-client-id", "emrex-dev-ncp"])
            .arg("--oidc-client-secret-file")
            .arg(secret);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn emrex dev");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(json) = line.strip_prefix("emrex-dev-ready ") {
                let _ = tx.send(json.to_string());
            }
        }
    });
    let json = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("emrex dev printed its ready line");
    Dev {
        child,
        ready: serde_json::from_str(&json).expect("ready json"),
    }
}

/// The newest exchange, through the SIS API with the token `emrex dev` wrote.
async fn newest(dev: &Dev) -> emrex_proto::smp::v1::Exchange {
    let token_file = dev.ready["grpc_token_file"].as_str().expect("token file");
    let token = std::fs::read_to_string(token_file).expect("token");
    newest_exchange(dev.ready["smp_grpc"].as_str().expect("grpc"), &token).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_federation_works_end_to_end_in_a_browser_with_dev_and_openid_logins() {
    emrex_tests::browser::ensure_node_modules();
    let ncp_port = free_port();
    let op = OpenIdProvider::start(&dev_support::op_config(ncp_port));
    let dir = tempfile::tempdir().expect("tmp");
    let secret = dir.path().join("oidc-secret");
    std::fs::write(&secret, "test-only-secret").expect("secret");
    let dev = start_dev(
        &dir.path().join("data"),
        ncp_port,
        Some((&op.issuer, &secret)),
    );
    let smp = dev.ready["smp"].as_str().expect("smp url").to_string();

    // 1. Dev login.
    let s = smp.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        flow(&s, dev_support::dev_login(), "dev_federation_devlogin")
    })
    .await
    .expect("browser");
    outcome.assert_ok().assert_no_csp_violations();
    let ex = newest(&dev).await;
    // Without the development token the SIS API refuses (even on loopback).
    assert_sis_api_refuses_without_token(dev.ready["smp_grpc"].as_str().expect("grpc")).await;
    assert_verified_demo_exchange(&ex);

    // 2. OpenID Connect login at the NCP through the real provider.
    let s = smp.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        flow(&s, dev_support::oidc_login(), "dev_federation_oidc")
    })
    .await
    .expect("browser");
    outcome.assert_ok().assert_no_csp_violations();
    let ex2 = newest(&dev).await;
    assert_ne!(ex2.session_id, ex.session_id);
    assert_eq!(ex2.outcome, OutcomeKind::Verified as i32, "{}", ex2.detail);

    // Ctrl-C / SIGTERM stops everything cleanly.
    let mut dev = dev;
    let _ = Command::new("kill")
        .args(["-TERM", &dev.child.id().to_string()])
        .status();
    let status = dev.child.wait().expect("wait");
    assert!(status.success(), "emrex dev exit status {status}");
}
