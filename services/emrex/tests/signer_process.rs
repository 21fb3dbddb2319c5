//! `emrex signer` as a real process: configured from a TOML file, serving gRPC over mutual TLS
//! on loopback with certificates minted here; only a caller with the NCP's client certificate may
//! sign; SIGTERM stops it cleanly.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use emrex_proto::signer::v1::SignRequest;
use emrex_proto::signer::v1::signer_client::SignerClient;
use emrex_runtime::config::{ClientTlsConfig, GrpcClientConfig};
use emrex_runtime::tls::TlsOptions;
use emrex_xmldsig::{PinnedCert, Policy};

struct Pki {
    dir: tempfile::TempDir,
    signing_cert: PinnedCert,
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).expect("write");
    p
}

/// A CA, a server certificate for 127.0.0.1/localhost, an NCP client certificate, a client
/// certificate from another CA, and the NCP's document-signing key.
fn pki() -> Pki {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "test cluster CA");
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    write(d, "ca.crt", &ca.pem());
    let leaf = |name: &str, sans: Vec<String>, issuer: &rcgen::Issuer<'_, rcgen::KeyPair>| {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(sans).expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let cert = params.signed_by(&key, issuer).expect("leaf");
        write(d, &format!("{name}.crt"), &cert.pem());
        write(d, &format!("{name}.key"), &key.serialize_pem());
    };
    leaf(
        "server",
        vec!["localhost".into(), "127.0.0.1".into()],
        &issuer,
    );
    leaf("ncp", vec!["ncp.test.invalid".into()], &issuer);
    let other_key = rcgen::KeyPair::generate().expect("key");
    let mut other_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    other_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let other_issuer = rcgen::Issuer::new(other_params, other_key);
    leaf("intruder", vec!["ncp.test.invalid".into()], &other_issuer);

    let sk = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("rsa");
    let mut sp = rcgen::CertificateParams::new(vec!["ncp.test.invalid".into()]).expect("params");
    sp.distinguished_name
        .push(rcgen::DnType::CommonName, "Test NCP document signing");
    let sc = sp.self_signed(&sk).expect("signing cert");
    write(d, "signing.key", &sk.serialize_pem());
    write(d, "signing.crt", &sc.pem());
    Pki {
        signing_cert: PinnedCert::from_der(sc.der()).expect("cert"),
        dir,
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

struct Signer {
    child: Child,
    grpc: u16,
    admin: u16,
}

impl Drop for Signer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    let status = body.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body))
}

fn start(pki: &Pki) -> Signer {
    let d = pki.dir.path();
    let (grpc, admin) = (free_port(), free_port());
    let config = write(
        d,
        "signer.toml",
        &format!(
            r#"
[grpc]
listen = "127.0.0.1:{grpc}"
[grpc.tls]
cert_file = "{d}/server.crt"
key_file = "{d}/server.key"
client_ca_file = "{d}/ca.crt"
require_client_cert = true
[admin]
listen = "127.0.0.1:{admin}"
[shutdown]
drain_delay = "200ms"
timeout = "5s"
[keys]
key_file = "{d}/signing.key"
cert_file = "{d}/signing.crt"
[signing]
c14n = "exclusive"
"#,
            d = d.display()
        ),
    );
    let child = Command::new(env!("CARGO_BIN_EXE_emrex"))
        .args(["signer", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn emrex signer");
    let s = Signer { child, grpc, admin };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some((200, _)) = http_get(admin, "/ready") {
            return s;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("emrex signer did not become ready");
}

async fn client(
    pki: &Pki,
    port: u16,
    identity: Option<&str>,
) -> Result<SignerClient<tonic::transport::Channel>, String> {
    let d = pki.dir.path();
    let config = GrpcClientConfig {
        endpoint: format!("https://127.0.0.1:{port}"),
        tls: Some(ClientTlsConfig {
            ca_file: d.join("ca.crt"),
            cert_file: identity.map(|n| d.join(format!("{n}.crt"))),
            key_file: identity.map(|n| d.join(format!("{n}.key"))),
            server_name: Some("localhost".into()),
        }),
        ..GrpcClientConfig::default()
    };
    let channel =
        emrex_runtime::grpc::channel(&config, &TlsOptions::default()).map_err(|e| e.to_string())?;
    Ok(SignerClient::new(channel))
}

fn unsigned() -> Vec<u8> {
    br#"<?xml version="1.0" encoding="UTF-8"?>
<elmo xmlns="https://github.com/emrex-eu/elmo-schemas/tree/v1"><generatedDate>2026-11-29T10:00:00Z</generatedDate><learner><givenNames>Ada</givenNames><familyName>Lovelace</familyName><bday>1815-12-10</bday></learner><report><issuer><identifier type="schac">uni.example</identifier><title xml:lang="en">Example University</title><url>https://uni.example</url></issuer><issueDate>2026-11-29T10:00:00Z</issueDate></report></elmo>
"#
    .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_ncp_may_sign_over_mtls_and_sigterm_stops_cleanly() {
    let pki = pki();
    let mut signer = start(&pki);
    let (status, metrics) = http_get(signer.admin, "/metrics").expect("metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("emrex_signer_certificate_not_after"),
        "{metrics}"
    );

    let mut ncp = client(&pki, signer.grpc, Some("ncp"))
        .await
        .expect("client");
    let signed = ncp
        .sign(SignRequest {
            elmo_xml: unsigned(),
        })
        .await
        .expect("the NCP may sign")
        .into_inner();
    emrex_xmldsig::verify(
        &signed.signed_xml,
        std::slice::from_ref(&pki.signing_cert),
        &Policy::default(),
    )
    .expect("signed with the configured key");
    assert!(
        signed.canonicalization.contains("exc-c14n"),
        "config applied"
    );

    // Without a client certificate: refused during the handshake or by the interceptor.
    let anonymous = match client(&pki, signer.grpc, None).await {
        Ok(mut c) => c
            .sign(SignRequest {
                elmo_xml: unsigned(),
            })
            .await
            .map(|_| ()),
        Err(e) => Err(tonic::Status::unavailable(e)),
    };
    assert!(
        anonymous.is_err(),
        "a caller without a client certificate must be refused"
    );
    // A client certificate from another CA: refused.
    let intruder = match client(&pki, signer.grpc, Some("intruder")).await {
        Ok(mut c) => c
            .sign(SignRequest {
                elmo_xml: unsigned(),
            })
            .await
            .map(|_| ()),
        Err(e) => Err(tonic::Status::unavailable(e)),
    };
    assert!(
        intruder.is_err(),
        "a certificate from another CA must be refused"
    );

    // SIGTERM: the process drains and exits 0.
    let pid = signer.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = signer.child.try_wait().expect("wait") {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "emrex signer did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_missing_key_is_a_clear_startup_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_emrex"))
        .args([
            "signer",
            "--grpc-listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("keys.key_file is not set"), "{err}");
}
