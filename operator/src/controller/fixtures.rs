//! Test-only: a mocked Kubernetes API for fast reconcile tests (the pattern of kube-rs's
//! controller-rs `fixtures.rs`: a tower-test service behind a real `kube::Client`). A test
//! starts a reconcile, then takes each request it makes in order, checks it and answers it; a
//! request the test does not expect fails it, and so does one it expects but never comes.
//! What the real API server does with the requests is the end-to-end tests' job
//! (services/emrex/tests/operator_k8s.rs); these cover the branches those reach slowly or not
//! at all.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use kube::client::Body;
use kube::runtime::controller::Action;
use kube::runtime::events::{Recorder, Reporter};
use kube::{Client, Resource};
use serde::Serialize;
use serde_json::{Value, json};
use tower_test::mock::{Handle, SendResponse};

use super::{Ctx, Error};
use crate::conditions;
use crate::crd::CommonStatus;

/// How long a test waits for the next request, or for a reconcile to finish.
const PATIENCE: Duration = Duration::from_secs(5);

/// The API server side of the mock, and the registry of the context's metrics.
pub struct ApiServer {
    handle: Handle<Request<Body>, Response<Body>>,
    pub metrics: emrex_runtime::metrics::Metrics,
}

/// One request a reconcile made, waiting for its answer.
pub struct Call {
    pub method: String,
    /// Without the query.
    pub path: String,
    pub query: String,
    /// The request body as JSON (`Null` when empty).
    pub body: Value,
    send: SendResponse<Response<Body>>,
}

/// A context whose client talks to the returned mock.
pub fn context() -> (Arc<Ctx>, ApiServer) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "default");
    let metrics = emrex_runtime::metrics::Metrics::with_prefix("emrex_operator");
    let ctx = Ctx {
        client: client.clone(),
        namespace: None,
        shutdown: emrex_runtime::shutdown::Shutdown::new(),
        image: "ghcr.io/emrex-rs/emrex:test".into(),
        recorder: Recorder::new(
            client,
            Reporter {
                controller: "emrex-operator".into(),
                instance: None,
            },
        ),
        metrics: crate::metrics::OperatorMetrics::register(&metrics),
        emreg: crate::emreg::EmregClients::default(),
        applied: crate::apply::AppliedCache::default(),
        pdb: crate::apply::disruption_budget_version("v1"),
    };
    (Arc::new(ctx), ApiServer { handle, metrics })
}

/// Starts a reconcile in the background (so the test can answer its requests).
pub fn start<F>(reconcile: F) -> tokio::task::JoinHandle<Result<Action, Error>>
where
    F: Future<Output = Result<Action, Error>> + Send + 'static,
{
    tokio::spawn(reconcile)
}

/// The reconcile's result; fails when it does not finish (it waits for an answer the test did
/// not give: a request the test did not expect).
pub async fn finish(task: tokio::task::JoinHandle<Result<Action, Error>>) -> Result<Action, Error> {
    tokio::time::timeout(PATIENCE, task)
        .await
        .expect("the reconcile did not finish: it made a request the test does not answer")
        .expect("the reconcile panicked")
}

impl ApiServer {
    /// The next request, which must be `method path`.
    pub async fn expect(&mut self, method: &str, path: &str) -> Call {
        let (request, send) = tokio::time::timeout(PATIENCE, self.handle.next_request())
            .await
            .unwrap_or_else(|_| panic!("no request came; expected {method} {path}"))
            .expect("the client is gone");
        let (parts, body) = request.into_parts();
        let bytes = body.collect_bytes().await.expect("request body");
        let call = Call {
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().unwrap_or_default().to_string(),
            body: if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).expect("a JSON request body")
            },
            send,
        };
        assert_eq!(
            (call.method.as_str(), call.path.as_str()),
            (method, path),
            "unexpected request (query {:?}, body {})",
            call.query,
            call.body
        );
        call
    }

    /// The next request must be an event about the object, of `type_` and `reason`; answered.
    /// Returns its note.
    pub async fn event(&mut self, ns: &str, type_: &str, reason: &str) -> String {
        let call = self
            .expect(
                "POST",
                &format!("/apis/events.k8s.io/v1/namespaces/{ns}/events"),
            )
            .await;
        assert_eq!(call.body["type"], type_, "{}", call.body);
        assert_eq!(call.body["reason"], reason, "{}", call.body);
        let note = call.body["note"].as_str().unwrap_or_default().to_string();
        call.echo();
        note
    }

    /// The next request must be a server-side apply of `path`'s status by our field manager;
    /// answered with `obj`. Returns the status written.
    pub async fn status<K: Serialize>(&mut self, path: &str, obj: &K) -> Value {
        let call = self.expect("PATCH", &format!("{path}/status")).await;
        assert!(
            call.query.contains("fieldManager=emrex-operator") && call.query.contains("force=true"),
            "{}",
            call.query
        );
        let status = call.body["status"].clone();
        assert!(call.body["apiVersion"].is_string() && call.body["kind"].is_string());
        call.respond(200, json!(obj));
        status
    }
}

impl ApiServer {
    /// The metrics as Prometheus text.
    pub fn metrics_text(&self) -> String {
        self.metrics.encode().expect("metrics")
    }
}

impl Call {
    /// Answers with `status` and `body`.
    pub fn respond(self, status: u16, body: Value) {
        let response = Response::builder()
            .status(status)
            .body(Body::from(serde_json::to_vec(&body).expect("json")))
            .expect("response");
        self.send.send_response(response);
    }

    /// Answers 200 with the request's own body (what the API server returns for a create).
    pub fn echo(self) {
        let body = self.body.clone();
        self.respond(200, body);
    }

    /// Answers 404 as the API server does.
    pub fn not_found(self) {
        self.respond(
            404,
            json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {},
                "status": "Failure", "reason": "NotFound", "code": 404,
                "message": "not found",
            }),
        );
    }
}

/// A list as the API server returns it (also for metadata-only lists).
pub fn list(kind: &str, items: Vec<Value>) -> Value {
    json!({
        "apiVersion": "v1", "kind": format!("{kind}List"),
        "metadata": {"resourceVersion": "1"}, "items": items,
    })
}

/// An object of ours from JSON, with the metadata the API server sets.
pub fn object<K: Resource<DynamicType = ()> + serde::de::DeserializeOwned>(
    name: &str,
    spec: Value,
) -> K {
    serde_json::from_value(json!({
        "apiVersion": K::api_version(&()), "kind": K::kind(&()),
        "metadata": {"name": name, "namespace": NS, "uid": format!("uid-of-{name}"), "generation": 3},
        "spec": spec,
    }))
    .expect("a valid object")
}

/// The namespace every fixture lives in.
pub const NS: &str = "alliance";

/// The API path of one of our objects.
pub fn path_of(plural: &str, name: &str) -> String {
    format!("/apis/emrex.eu/v1alpha1/namespaces/{NS}/{plural}/{name}")
}

/// The condition `type_` of a written status as `(status, reason, message)`.
pub fn condition(status: &Value, type_: &str) -> (String, String, String) {
    let common: CommonStatus = serde_json::from_value(status.clone()).expect("a status");
    let c = conditions::find(&common, type_)
        .unwrap_or_else(|| panic!("no {type_} condition in {status}"));
    (c.status.clone(), c.reason.clone(), c.message.clone())
}
