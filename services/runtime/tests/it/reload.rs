//! Certificates and CA bundles replaced on disk take effect without a restart; bad replacements
//! keep the last good version.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use emrex_proto::signer::v1::{
    SignRequest, signer_client::SignerClient, signer_server::SignerServer,
};
use emrex_runtime::{
    auth::Authenticator,
    config::{GrpcClientConfig, GrpcServerConfig, ServerTlsConfig},
    grpc::GrpcServer,
    metrics::Metrics,
    tls::{TlsOptions, client_config},
};
use tokio_util::sync::CancellationToken;

use crate::common::{
    ClientFiles, DEADLINE, EchoSigner, ServerFiles, TestCa, fingerprint, server_leaf_der,
    write_atomic,
};

/// How long a change may take to be picked up (checks run at most once per second).
const PICKUP: Duration = Duration::from_millis(2500);

async fn start(tls: ServerTlsConfig, metrics: &Metrics) -> (SocketAddr, CancellationToken) {
    let config = GrpcServerConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        tls: Some(tls),
        ..GrpcServerConfig::default()
    };
    let mut server = GrpcServer::new(&config, metrics).expect("server");
    server.add_service(SignerServer::with_interceptor(
        EchoSigner::default(),
        Authenticator::mtls_only(),
    ));
    let bound = server.bind().await.expect("bind");
    let addr = bound.local_addr();
    let stop = CancellationToken::new();
    let s = stop.clone();
    tokio::spawn(async move { bound.serve(s.cancelled_owned()).await });
    (addr, stop)
}

/// Polls new connections until the server presents `expected` (or the pickup time runs out).
async fn wait_for_server_cert(addr: SocketAddr, client: &ClientFiles, expected: &[u8]) -> Duration {
    let started = Instant::now();
    loop {
        let seen = server_leaf_der(addr, &client.tls).await.expect("handshake");
        if seen == expected {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < PICKUP,
            "new certificate not served after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn server_certificate_is_reloaded_and_bad_replacements_are_ignored() {
    let ca = TestCa::new("EMREX test CA");
    let v1 = ca.server("signer-v1");
    let files = ServerFiles::new(&v1, &ca);
    let metrics = Metrics::new();
    let (addr, _stop) = start(files.tls_config(true), &metrics).await;
    let client = ClientFiles::new(&ca, Some(&ca.client("ncp", &[])));
    assert_eq!(
        server_leaf_der(addr, &client.tls).await.expect("v1"),
        v1.der
    );

    // Kubernetes-style replacement of both files: served by a new connection within ~1 s.
    let v2 = ca.server("signer-v2");
    files.set_server(&v2);
    let took = wait_for_server_cert(addr, &client, &v2.der).await;
    eprintln!("server certificate v2 picked up after {took:?}");

    // A corrupt certificate: the last good one stays.
    write_atomic(
        &files.cert,
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    for _ in 0..2 {
        assert_eq!(
            server_leaf_der(addr, &client.tls).await.expect("still v2"),
            v2.der
        );
    }

    // Certificate written before its key (a non-atomic update): refused until the key follows.
    let v3 = ca.server("signer-v3");
    write_atomic(&files.cert, &v3.cert_pem);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        server_leaf_der(addr, &client.tls).await.expect("still v2"),
        v2.der
    );
    write_atomic(&files.key, &v3.key_pem);
    wait_for_server_cert(addr, &client, &v3.der).await;

    let text = metrics.encode().expect("metrics");
    assert!(
        text.contains(r#"tls_reloads_total{what="server certificate",result="failure"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(r#"tls_reloads_total{what="server certificate",result="success"} 3"#),
        "{text}"
    );
}

#[tokio::test]
async fn client_ca_bundle_is_reloaded() {
    let ca = TestCa::new("EMREX test CA");
    let next_ca = TestCa::new("EMREX next CA");
    let files = ServerFiles::new(&ca.server("signer"), &ca);
    let (addr, _stop) = start(files.tls_config(true), &Metrics::new()).await;
    let old_client = ClientFiles::new(&ca, Some(&ca.client("old", &[])));
    let new_client = ClientFiles::new(&ca, Some(&next_ca.client("new", &[])));
    assert!(sign_once(addr, &old_client).await.is_ok());
    assert!(sign_once(addr, &new_client).await.is_err());

    // The Secret now trusts only the next CA.
    write_atomic(&files.client_ca, &next_ca.cert_pem);
    let started = Instant::now();
    while sign_once(addr, &new_client).await.is_err() {
        assert!(started.elapsed() < PICKUP, "new client CA not used");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(sign_once(addr, &old_client).await.is_err());

    // Rotation overlap: both CAs in one bundle.
    write_atomic(
        &files.client_ca,
        &format!("{}{}", ca.cert_pem, next_ca.cert_pem),
    );
    let started = Instant::now();
    while sign_once(addr, &old_client).await.is_err() {
        assert!(started.elapsed() < PICKUP, "bundle with both CAs not used");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(sign_once(addr, &new_client).await.is_ok());
}

/// One call on a fresh connection.
async fn sign_once(addr: SocketAddr, client: &ClientFiles) -> Result<String, tonic::Status> {
    let mut signer = SignerClient::new(client.channel(addr));
    let call = signer.sign(SignRequest {
        elmo_xml: b"<elmo/>".to_vec(),
    });
    tokio::time::timeout(DEADLINE, call)
        .await
        .expect("call timed out")
        .map(|r| r.into_inner().certificate_sha256)
}

#[tokio::test]
async fn client_certificate_is_reloaded() {
    let ca = TestCa::new("EMREX test CA");
    let files = ServerFiles::new(&ca.server("signer"), &ca);
    let (addr, _stop) = start(files.tls_config(true), &Metrics::new()).await;

    let first = ca.client("ncp-v1", &[]);
    let client = ClientFiles::new(&ca, Some(&first));
    // One client config shared by every channel, as a service would keep it.
    let shared = client_config(&client.tls, &TlsOptions::default()).expect("client config");
    let endpoint = GrpcClientConfig {
        endpoint: format!("https://localhost:{}", addr.port()),
        tls: Some(client.tls.clone()),
        ..GrpcClientConfig::default()
    };
    let call = |channel| async move {
        let mut signer = SignerClient::new(channel);
        let call = signer.sign(SignRequest {
            elmo_xml: b"<elmo/>".to_vec(),
        });
        tokio::time::timeout(DEADLINE, call)
            .await
            .expect("call timed out")
            .expect("signed")
            .into_inner()
            .certificate_sha256
    };
    let new_channel =
        || emrex_runtime::grpc::channel_with_tls(&endpoint, Some(shared.clone())).expect("channel");
    assert_eq!(call(new_channel()).await, fingerprint(&first.der));

    let second = ca.client("ncp-v2", &[]);
    let (cert, key) = (
        client.tls.cert_file.clone().expect("cert"),
        client.tls.key_file.clone().expect("key"),
    );
    write_atomic(&key, &second.key_pem);
    write_atomic(&cert, &second.cert_pem);
    let started = Instant::now();
    while call(new_channel()).await != fingerprint(&second.der) {
        assert!(
            started.elapsed() < PICKUP,
            "new client certificate not presented"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
