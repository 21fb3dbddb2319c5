//! Graceful shutdown through `ServiceRunner`: NOT_SERVING + /ready 503 during the drain,
//! in-flight calls complete, then the listener is closed — for gRPC and HTTP listeners alike.

use std::{
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use emrex_proto::signer::v1::{
    SignRequest, signer_client::SignerClient, signer_server::SignerServer,
};
use emrex_runtime::{
    auth::Authenticator,
    config::{AdminConfig, GrpcServerConfig, ShutdownConfig},
    grpc::GrpcServer,
    http::HttpServer,
    service::{Servers, ServiceHandles, ServiceRunner},
};
use tokio::net::TcpStream;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::{
    common::{ClientFiles, DEADLINE, EchoSigner, ServerFiles, TestCa, http_get},
    mtls::health,
};

#[tokio::test]
async fn shutdown_drains_then_finishes_in_flight_calls_then_refuses_connections() {
    let ca = TestCa::new("EMREX test CA");
    let files = ServerFiles::new(&ca.server("signer"), &ca);
    let handles = ServiceHandles::new();
    let grpc_config = GrpcServerConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        tls: Some(files.tls_config(true)),
        ..GrpcServerConfig::default()
    };
    let signer = EchoSigner::default();
    let mut grpc = GrpcServer::new(&grpc_config, &handles.metrics).expect("server");
    grpc.add_service(SignerServer::with_interceptor(
        signer.clone(),
        Authenticator::mtls_only(),
    ));
    let drain_delay = Duration::from_millis(1500);
    let service = ServiceRunner::new(
        Servers::new().grpc(grpc),
        &AdminConfig {
            listen: ([127, 0, 0, 1], 0).into(),
        },
        &ShutdownConfig {
            drain_delay,
            timeout: Duration::from_secs(10),
        },
        handles.clone(),
    )
    .without_signal_handlers()
    .bind()
    .await
    .expect("bind");
    let (grpc_addr, admin_addr) = (service.grpc_addr().expect("gRPC"), service.admin_addr());
    let run = tokio::spawn(service.run());

    let client = ClientFiles::new(&ca, Some(&ca.client("ncp", &[])));
    let channel = client.channel(grpc_addr);
    assert_eq!(
        health(channel.clone(), "").await.expect("health"),
        ServingStatus::Serving
    );
    assert_eq!(http_get(admin_addr, "/ready").await.0, 200);

    // A slow call is in flight when shutdown starts.
    let slow = {
        let channel = channel.clone();
        tokio::spawn(async move {
            SignerClient::new(channel)
                .sign(SignRequest {
                    elmo_xml: b"slow:2500".to_vec(),
                })
                .await
        })
    };
    let started = Instant::now();
    while signer.calls_started.load(Ordering::SeqCst) == 0 {
        assert!(
            started.elapsed() < DEADLINE,
            "slow call never reached the handler"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let triggered_at = Instant::now();
    handles.shutdown.trigger();

    // During the drain delay: still answering, but NOT_SERVING everywhere and /ready 503.
    loop {
        let status = health(channel.clone(), "")
            .await
            .expect("health during drain");
        if status == ServingStatus::NotServing {
            break;
        }
        assert!(
            triggered_at.elapsed() < drain_delay,
            "health never went NOT_SERVING"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        health(channel.clone(), "emrex.signer.v1.Signer")
            .await
            .expect("health"),
        ServingStatus::NotServing
    );
    let (status, _, body) = http_get(admin_addr, "/ready").await;
    assert_eq!(status, 503);
    assert!(body.contains("shutdown"), "{body}");
    assert_eq!(http_get(admin_addr, "/live").await.0, 200);
    assert!(
        triggered_at.elapsed() < drain_delay,
        "checks took longer than the drain delay"
    );

    // The in-flight call completes normally.
    let response = tokio::time::timeout(DEADLINE, slow)
        .await
        .expect("slow call timed out")
        .expect("task")
        .expect("slow call succeeded");
    assert_eq!(response.into_inner().signed_xml, b"slow:2500");

    tokio::time::timeout(DEADLINE, run)
        .await
        .expect("run did not return")
        .expect("task")
        .expect("clean shutdown");
    assert!(
        triggered_at.elapsed() >= drain_delay,
        "returned before the drain delay"
    );

    // Afterwards nothing listens any more.
    assert!(
        TcpStream::connect(grpc_addr).await.is_err(),
        "gRPC port still accepts"
    );
    assert!(
        TcpStream::connect(admin_addr).await.is_err(),
        "admin port still accepts"
    );
}

#[tokio::test]
async fn listener_closes_after_drain_while_calls_finish() {
    // Plain TCP this time; the slow call outlives the drain delay by a lot.
    let handles = ServiceHandles::new();
    let signer = EchoSigner::default();
    let grpc_config = GrpcServerConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        ..GrpcServerConfig::default()
    };
    let mut grpc = GrpcServer::new(&grpc_config, &handles.metrics).expect("server");
    grpc.add_service(SignerServer::new(signer.clone()));
    let service = ServiceRunner::new(
        Servers::new().grpc(grpc),
        &AdminConfig {
            listen: ([127, 0, 0, 1], 0).into(),
        },
        &ShutdownConfig {
            drain_delay: Duration::from_millis(200),
            timeout: Duration::from_secs(10),
        },
        handles.clone(),
    )
    .without_signal_handlers()
    .bind()
    .await
    .expect("bind");
    let grpc_addr = service.grpc_addr().expect("gRPC");
    let run = tokio::spawn(service.run());

    let channel = crate::common::plain_channel(grpc_addr);
    let slow = tokio::spawn(async move {
        SignerClient::new(channel)
            .sign(SignRequest {
                elmo_xml: b"slow:2000".to_vec(),
            })
            .await
    });
    while signer.calls_started.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    handles.shutdown.trigger();
    tokio::time::sleep(Duration::from_millis(600)).await;
    // Past the drain delay, the call is still running, and new connections are refused.
    assert!(!slow.is_finished());
    assert!(
        TcpStream::connect(grpc_addr).await.is_err(),
        "listener still open after the drain"
    );

    let response = tokio::time::timeout(DEADLINE, slow)
        .await
        .expect("timed out")
        .expect("task");
    assert!(response.is_ok(), "{response:?}");
    tokio::time::timeout(DEADLINE, run)
        .await
        .expect("run did not return")
        .expect("task")
        .expect("clean shutdown");
}

#[tokio::test]
async fn sigterm_starts_graceful_shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    // Our own listener first: from now on SIGTERM cannot kill this test process, whatever the
    // race with the runtime's listener.
    let mut own = signal(SignalKind::terminate()).expect("SIGTERM listener");

    let handles = ServiceHandles::new();
    let grpc_config = GrpcServerConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        ..GrpcServerConfig::default()
    };
    let mut grpc = GrpcServer::new(&grpc_config, &handles.metrics).expect("server");
    grpc.add_service(SignerServer::new(EchoSigner::default()));
    let service = ServiceRunner::new(
        Servers::new().grpc(grpc),
        &AdminConfig {
            listen: ([127, 0, 0, 1], 0).into(),
        },
        &ShutdownConfig {
            drain_delay: Duration::from_millis(100),
            timeout: Duration::from_secs(5),
        },
        handles.clone(),
    )
    .bind()
    .await
    .expect("bind");
    let admin_addr = service.admin_addr();
    let mut run = tokio::spawn(service.run());
    assert_eq!(http_get(admin_addr, "/ready").await.0, 200);

    // Repeat until the runtime has seen it (its listener is installed by a spawned task).
    let pid = std::process::id().to_string();
    let started = Instant::now();
    let result = loop {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(status.success());
        let _ = tokio::time::timeout(Duration::from_millis(100), own.recv()).await;
        if let Ok(result) = tokio::time::timeout(Duration::from_millis(200), &mut run).await {
            break result;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "SIGTERM did not stop the service"
        );
    };
    result.expect("task").expect("clean shutdown");
    assert!(handles.shutdown.is_triggered());
    assert!(handles.readiness.is_shutting_down());
}

/// The HTTP listener goes through the same drain as gRPC: during `drain_delay` it still accepts
/// new connections and answers them, a request in flight at SIGTERM completes, and only then is
/// the listener closed and the service returns `Ok` (the process would exit 0).
#[tokio::test]
async fn http_listener_keeps_accepting_during_the_drain_and_finishes_requests_in_flight() {
    use axum::{Router, routing::get};
    let handles = ServiceHandles::new();
    let grpc_config = GrpcServerConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        ..GrpcServerConfig::default()
    };
    let mut grpc = GrpcServer::new(&grpc_config, &handles.metrics).expect("server");
    grpc.add_service(SignerServer::new(EchoSigner::default()));
    let started = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = started.clone();
    let router = Router::new()
        .route("/fast", get(|| async { "fast" }))
        .route(
            "/slow",
            get(move || {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(2500)).await;
                    "slow done"
                }
            }),
        );
    let http = HttpServer::new("test pages", "127.0.0.1:0", router);
    let drain_delay = Duration::from_millis(1500);
    let service = ServiceRunner::new(
        Servers::new().grpc(grpc).http(http),
        &AdminConfig {
            listen: ([127, 0, 0, 1], 0).into(),
        },
        &ShutdownConfig {
            drain_delay,
            timeout: Duration::from_secs(10),
        },
        handles.clone(),
    )
    .without_signal_handlers()
    .bind()
    .await
    .expect("bind");
    let http_addr = service.http_addr().expect("HTTP");
    let admin_addr = service.admin_addr();
    let run = tokio::spawn(service.run());
    assert_eq!(
        http_get(http_addr, "/fast").await,
        (200, "text/plain; charset=utf-8".into(), "fast".into())
    );

    let slow = tokio::spawn(async move { http_get(http_addr, "/slow").await });
    let t0 = Instant::now();
    while started.load(Ordering::SeqCst) == 0 {
        assert!(
            t0.elapsed() < DEADLINE,
            "slow request never reached the handler"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let triggered_at = Instant::now();
    handles.shutdown.trigger();

    // During the drain: not ready, yet a NEW connection is accepted and answered.
    loop {
        if http_get(admin_addr, "/ready").await.0 == 503 {
            break;
        }
        assert!(
            triggered_at.elapsed() < drain_delay,
            "/ready never went 503"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, _, body) = http_get(http_addr, "/fast").await;
    assert_eq!((status, body.as_str()), (200, "fast"));
    assert!(
        triggered_at.elapsed() < drain_delay,
        "the checks took longer than the drain delay"
    );

    // The request in flight since before SIGTERM completes, after the listener closed.
    let (status, _, body) = tokio::time::timeout(DEADLINE, slow)
        .await
        .expect("slow request timed out")
        .expect("task");
    assert_eq!((status, body.as_str()), (200, "slow done"));
    tokio::time::timeout(DEADLINE, run)
        .await
        .expect("run did not return")
        .expect("task")
        .expect("clean shutdown");
    assert!(triggered_at.elapsed() >= drain_delay);
    assert!(
        TcpStream::connect(http_addr).await.is_err(),
        "HTTP port still accepts after shutdown"
    );
}

/// A server that stops on its own takes the service down with an error (the process exits
/// non-zero and Kubernetes restarts it) instead of running on half-alive.
#[tokio::test]
async fn a_failing_listener_stops_the_service_with_its_error() {
    use axum::Router;
    let handles = ServiceHandles::new();
    // Two HTTP servers on the same fixed port: the second bind fails before anything serves.
    let first = HttpServer::new("first", "127.0.0.1:0", Router::new())
        .bind()
        .await
        .expect("bind");
    let taken = first.local_addr();
    let err = ServiceRunner::new(
        Servers::new().http(HttpServer::new("second", taken, Router::new())),
        &AdminConfig {
            listen: ([127, 0, 0, 1], 0).into(),
        },
        &ShutdownConfig::default(),
        handles,
    )
    .without_signal_handlers()
    .bind()
    .await
    .expect_err("port in use");
    let text = err.to_string();
    assert!(
        text.contains("second") && text.contains(&taken.to_string()),
        "{text}"
    );
}
