//! A real gRPC server on loopback with mTLS: who gets in, and what the handler sees.

use std::{net::SocketAddr, sync::atomic::Ordering};

use emrex_proto::signer::v1::{
    SignRequest, signer_client::SignerClient, signer_server::SignerServer,
};
use emrex_runtime::{
    auth::Authenticator,
    config::{GrpcServerConfig, ServerTlsConfig},
    grpc::GrpcServer,
    metrics::Metrics,
};
use tokio_stream::StreamExt;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Request, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::common::{
    ClientFiles, DEADLINE, EchoSigner, ServerFiles, TestCa, fingerprint, plain_channel,
};

pub struct TestServer {
    pub addr: SocketAddr,
    pub signer: EchoSigner,
    stop: CancellationToken,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub async fn start(tls: Option<ServerTlsConfig>, auth: Authenticator) -> TestServer {
    let config = GrpcServerConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        tls,
        ..GrpcServerConfig::default()
    };
    let signer = EchoSigner::default();
    let mut server = GrpcServer::new(&config, &Metrics::new()).expect("server");
    server.add_service(SignerServer::with_interceptor(signer.clone(), auth));
    let bound = server.bind().await.expect("bind");
    let addr = bound.local_addr();
    let stop = CancellationToken::new();
    let s = stop.clone();
    tokio::spawn(async move { bound.serve(s.cancelled_owned()).await });
    TestServer { addr, signer, stop }
}

async fn sign(
    channel: Channel,
    body: &str,
    bearer: Option<&str>,
) -> Result<emrex_proto::signer::v1::SignResponse, tonic::Status> {
    let mut request = Request::new(SignRequest {
        elmo_xml: body.as_bytes().to_vec(),
    });
    if let Some(token) = bearer {
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("ascii"),
        );
    }
    let mut client = SignerClient::new(channel);
    let call = client.sign(request);
    tokio::time::timeout(DEADLINE, call)
        .await
        .expect("call timed out")
        .map(tonic::Response::into_inner)
}

pub async fn health(channel: Channel, service: &str) -> Result<ServingStatus, tonic::Status> {
    let mut client = HealthClient::new(channel);
    let call = client.check(HealthCheckRequest {
        service: service.to_string(),
    });
    let response = tokio::time::timeout(DEADLINE, call)
        .await
        .expect("health timed out")?;
    Ok(response.into_inner().status())
}

#[tokio::test]
async fn mtls_client_with_valid_cert_is_served_and_identified() {
    let ca = TestCa::new("EMREX test CA");
    let files = ServerFiles::new(&ca.server("signer"), &ca);
    let server = start(Some(files.tls_config(true)), Authenticator::mtls_only()).await;

    let client_cert = ca.client(
        "ncp.example.org",
        &["ncp.example.org", "ncp-alt.example.org"],
    );
    let client = ClientFiles::new(&ca, Some(&client_cert));
    let response = sign(client.channel(server.addr), "<elmo/>", None)
        .await
        .expect("signed");

    assert_eq!(response.signed_xml, b"<elmo/>");
    // What the handler's peer_identity() saw is the client certificate we minted.
    assert_eq!(response.certificate_sha256, fingerprint(&client_cert.der));
    assert_eq!(response.signature_algorithm, "ncp.example.org");
    assert_eq!(
        response.canonicalization,
        "ncp.example.org,ncp-alt.example.org"
    );

    // Health is always there and SERVING, for the server and for the Signer.
    let channel = client.channel(server.addr);
    assert_eq!(
        health(channel.clone(), "").await.expect("health"),
        ServingStatus::Serving
    );
    assert_eq!(
        health(channel.clone(), "emrex.signer.v1.Signer")
            .await
            .expect("health"),
        ServingStatus::Serving
    );

    // Reflection v1 lists the EMREX services and health.
    let services = list_services(channel).await;
    for expected in [
        "emrex.signer.v1.Signer",
        "emrex.registry.v1.Registry",
        "grpc.health.v1.Health",
    ] {
        assert!(
            services.iter().any(|s| s == expected),
            "{expected} missing from {services:?}"
        );
    }
}

async fn list_services(channel: Channel) -> Vec<String> {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut client = ServerReflectionClient::new(channel);
    let call = client.server_reflection_info(tokio_stream::iter([request]));
    let mut stream = tokio::time::timeout(DEADLINE, call)
        .await
        .expect("reflection timed out")
        .expect("reflection")
        .into_inner();
    let first = stream.next().await.expect("one response").expect("ok");
    match first.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("unexpected reflection response {other:?}"),
    }
}

#[tokio::test]
async fn client_without_certificate_is_refused_when_required() {
    let ca = TestCa::new("EMREX test CA");
    let files = ServerFiles::new(&ca.server("signer"), &ca);
    let server = start(Some(files.tls_config(true)), Authenticator::mtls_only()).await;

    let client = ClientFiles::new(&ca, None);
    let err = sign(client.channel(server.addr), "<elmo/>", None)
        .await
        .expect_err("refused");
    assert_refused_by_tls(&err, "CertificateRequired");
    assert_eq!(server.signer.calls_started.load(Ordering::SeqCst), 0);
}

/// The call failed at the transport, with the server's TLS alert (TLS 1.3 clients learn about
/// a refused client certificate only when they first read).
fn assert_refused_by_tls(err: &tonic::Status, alert: &str) {
    assert!(
        matches!(err.code(), Code::Unknown | Code::Unavailable),
        "{err:?}"
    );
    assert!(
        format!("{err:?}").contains(alert),
        "expected TLS alert {alert}: {err:?}"
    );
}

#[tokio::test]
async fn client_certificate_from_another_ca_is_refused() {
    let ca = TestCa::new("EMREX test CA");
    let other = TestCa::new("Some other CA");
    let files = ServerFiles::new(&ca.server("signer"), &ca);
    let server = start(Some(files.tls_config(true)), Authenticator::mtls_only()).await;

    // Trusts the right server CA, but presents a certificate the server's CA did not issue.
    let client = ClientFiles::new(&ca, Some(&other.client("intruder", &["intruder.example"])));
    let err = sign(client.channel(server.addr), "<elmo/>", None)
        .await
        .expect_err("refused");
    assert_refused_by_tls(&err, "UnknownCA");
    assert_eq!(server.signer.calls_started.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn client_refuses_a_server_from_an_untrusted_ca() {
    let ca = TestCa::new("EMREX test CA");
    let other = TestCa::new("Some other CA");
    let files = ServerFiles::new(&ca.server("signer"), &ca);
    let server = start(Some(files.tls_config(true)), Authenticator::mtls_only()).await;
    let client = ClientFiles::new(&other, Some(&ca.client("ncp", &[])));
    let err = sign(client.channel(server.addr), "<elmo/>", None)
        .await
        .expect_err("refused");
    assert!(format!("{err:?}").contains("UnknownIssuer"), "{err:?}");
    assert_eq!(server.signer.calls_started.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn optional_client_certificate_leaves_the_decision_to_the_authenticator() {
    let ca = TestCa::new("EMREX test CA");
    let files = ServerFiles::new(&ca.server("signer"), &ca);
    let server = start(Some(files.tls_config(false)), Authenticator::mtls_only()).await;

    // Without a certificate the TLS connection is accepted (health works) …
    let anonymous = ClientFiles::new(&ca, None);
    assert_eq!(
        health(anonymous.channel(server.addr), "")
            .await
            .expect("health"),
        ServingStatus::Serving
    );
    // … but the protected call is not.
    let err = sign(anonymous.channel(server.addr), "<elmo/>", None)
        .await
        .expect_err("unauthenticated");
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    assert!(
        err.message().contains("client certificate"),
        "{}",
        err.message()
    );

    let with_cert = ClientFiles::new(&ca, Some(&ca.client("ncp", &["ncp.test"])));
    let ok = sign(with_cert.channel(server.addr), "<elmo/>", None)
        .await
        .expect("signed");
    assert_eq!(ok.signature_algorithm, "ncp");
}

#[tokio::test]
async fn plain_tcp_with_development_bearer_token() {
    let auth = Authenticator::from_config(&emrex_runtime::config::AuthConfig {
        allow_dev_bearer_tokens: true,
        dev_bearer_tokens: vec!["dev-token".to_string()],
    })
    .expect("auth");
    let server = start(None, auth).await;

    let err = sign(plain_channel(server.addr), "<elmo/>", None)
        .await
        .expect_err("no token");
    assert_eq!(err.code(), Code::Unauthenticated);
    let err = sign(plain_channel(server.addr), "<elmo/>", Some("wrong"))
        .await
        .expect_err("bad token");
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(err.message(), "invalid bearer token");

    let ok = sign(plain_channel(server.addr), "<elmo/>", Some("dev-token"))
        .await
        .expect("signed");
    assert_eq!(ok.signed_xml, b"<elmo/>");
    assert_eq!(ok.certificate_sha256, "", "no peer identity on plain TCP");
}

#[tokio::test]
async fn require_client_cert_without_ca_is_a_config_error() {
    let ca = TestCa::new("EMREX test CA");
    let files = ServerFiles::new(&ca.server("signer"), &ca);
    let mut tls = files.tls_config(true);
    tls.client_ca_file = None;
    let config = GrpcServerConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        tls: Some(tls),
        ..GrpcServerConfig::default()
    };
    let err = GrpcServer::new(&config, &Metrics::new()).expect_err("inconsistent");
    assert!(err.to_string().contains("client_ca_file"), "{err}");

    // A key that does not belong to the certificate is refused at startup.
    let other = ca.server("other");
    std::fs::write(&files.key, &other.key_pem).expect("write");
    let config = GrpcServerConfig {
        tls: Some(files.tls_config(true)),
        ..config
    };
    let err = GrpcServer::new(&config, &Metrics::new()).expect_err("mismatch");
    assert!(err.to_string().contains("do not match"), "{err}");
}

#[tokio::test]
async fn authenticator_as_a_tower_layer() {
    use tower::Layer as _;
    let auth = Authenticator::from_config(&emrex_runtime::config::AuthConfig {
        allow_dev_bearer_tokens: true,
        dev_bearer_tokens: vec!["layer-token".to_string()],
    })
    .expect("auth");
    let config = GrpcServerConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        ..GrpcServerConfig::default()
    };
    let mut server = GrpcServer::new(&config, &Metrics::new()).expect("server");
    server.add_service(auth.layer().layer(SignerServer::new(EchoSigner::default())));
    let bound = server.bind().await.expect("bind");
    let addr = bound.local_addr();
    let stop = CancellationToken::new();
    tokio::spawn(bound.serve(stop.clone().cancelled_owned()));

    let err = sign(plain_channel(addr), "<elmo/>", None)
        .await
        .expect_err("no token");
    assert_eq!(err.code(), Code::Unauthenticated);
    sign(plain_channel(addr), "<elmo/>", Some("layer-token"))
        .await
        .expect("admitted");
    // Health is not behind the authenticator.
    assert_eq!(
        health(plain_channel(addr), "emrex.signer.v1.Signer")
            .await
            .expect("health"),
        ServingStatus::Serving
    );
    stop.cancel();
}
