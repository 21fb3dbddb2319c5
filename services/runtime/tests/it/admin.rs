//! The admin server: /live, /ready, /metrics.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use emrex_runtime::{
    admin::{AdminServer, OPENMETRICS_CONTENT_TYPE},
    config::AdminConfig,
    metrics::Metrics,
    readiness::Readiness,
};
use prometheus_client::metrics::counter::Counter;
use tokio_util::sync::CancellationToken;

use crate::common::http_get;

#[tokio::test]
async fn live_ready_and_metrics() {
    let readiness = Readiness::new();
    let metrics = Metrics::with_prefix("emrex_test");
    let requests = Counter::<u64>::default();
    metrics.register("requests", "Requests handled", requests.clone());
    requests.inc_by(3);

    let store = readiness.add_check("store");
    let upstream_ok = Arc::new(AtomicBool::new(true));
    let flag = upstream_ok.clone();
    readiness.add_probe("upstream", move || {
        let flag = flag.clone();
        async move { flag.load(Ordering::SeqCst) }
    });

    let server = AdminServer::bind(
        &AdminConfig {
            listen: ([127, 0, 0, 1], 0).into(),
        },
        readiness.clone(),
        metrics.clone(),
    )
    .await
    .expect("bind");
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);
    let stop = CancellationToken::new();
    let task = tokio::spawn(server.serve(stop.clone().cancelled_owned()));

    let (status, _, body) = http_get(addr, "/live").await;
    assert_eq!((status, body.as_str()), (200, "live\n"));

    let (status, _, body) = http_get(addr, "/ready").await;
    assert_eq!(status, 503);
    assert_eq!(body, "not ready: store\n");

    store.set(true);
    let (status, _, body) = http_get(addr, "/ready").await;
    assert_eq!((status, body.as_str()), (200, "ready\n"));

    upstream_ok.store(false, Ordering::SeqCst);
    let (status, _, body) = http_get(addr, "/ready").await;
    assert_eq!(status, 503);
    assert!(body.contains("upstream"), "{body}");
    upstream_ok.store(true, Ordering::SeqCst);

    let (status, content_type, body) = http_get(addr, "/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(content_type, OPENMETRICS_CONTENT_TYPE);
    assert!(
        body.contains("# TYPE emrex_test_requests counter"),
        "{body}"
    );
    assert!(body.contains("emrex_test_requests_total 3"), "{body}");
    assert!(body.trim_end().ends_with("# EOF"), "{body}");

    readiness.begin_shutdown();
    let (status, _, body) = http_get(addr, "/ready").await;
    assert_eq!((status, body.as_str()), (503, "not ready: shutdown\n"));

    assert_eq!(http_get(addr, "/nope").await.0, 404);
    // Every answer, the empty 404 included, says nosniff (issue #16, item 12).
    let raw = crate::common::http_get_head(addr, "/nope").await;
    assert!(
        raw.to_ascii_lowercase()
            .contains("x-content-type-options: nosniff"),
        "{raw}"
    );
    let raw = crate::common::http_get_head(addr, "/metrics").await;
    assert!(
        raw.to_ascii_lowercase()
            .contains("x-content-type-options: nosniff"),
        "{raw}"
    );
    stop.cancel();
    task.await.expect("task").expect("served");
}
