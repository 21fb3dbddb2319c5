//! The controllers, one module per kind, each with the same shape: `run(ctx)` declares what the
//! kind watches and hands its controller to [`drive`]; `reconcile` goes dereference → validate
//! (a typed `Validated…` value) → build (pure) → apply → status. Shared here: the context, the
//! error type, and the one place where reconciles are timed, failures counted and logged
//! ([`drive`]). Status writing and events are in [`status`], watch mappers in [`watch`].

pub mod cert;
pub mod entry;
pub mod ncp;
pub mod registry;
pub mod smp;
pub mod status;
pub mod watch;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::controller::{self as kube_controller, Action, Config, Controller};
use kube::runtime::events::Recorder;
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;

use crate::build::BuildError;
use crate::emreg::{EmregClients, EmregError};
use crate::metrics::OperatorMetrics;

pub use status::RESYNC;

/// Reconciles in flight per controller. Unbounded (kube's default) lets a burst of hundreds of
/// resources hit the API server at once; a bounded pool keeps its latency, and the operator's
/// memory, flat while the queue drains.
pub const RECONCILE_CONCURRENCY: u16 = 16;

/// What every controller and reconcile gets.
pub struct Ctx {
    pub client: Client,
    /// Watch only this namespace; all namespaces when `None`.
    pub namespace: Option<String>,
    /// Stops every controller (they finish the reconciles in flight).
    pub shutdown: emrex_runtime::shutdown::Shutdown,
    /// Image of the services when a resource names none.
    pub image: String,
    pub recorder: Recorder,
    pub metrics: OperatorMetrics,
    pub emreg: EmregClients,
    /// Recently applied children per owner.
    pub applied: crate::apply::AppliedCache,
    /// Where this API server keeps PodDisruptionBudgets (`policy/v1` or `v1beta1`).
    pub pdb: kube::api::ApiResource,
}

impl Ctx {
    /// The API of `K` in the watched scope (one namespace or all).
    pub fn watched<K>(&self) -> Api<K>
    where
        K: Resource<DynamicType = (), Scope = NamespaceResourceScope>,
    {
        match &self.namespace {
            Some(ns) => Api::namespaced(self.client.clone(), ns),
            None => Api::all(self.client.clone()),
        }
    }
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("namespace", &self.namespace)
            .field("image", &self.image)
            .finish_non_exhaustive()
    }
}

/// Why a reconcile failed (it is retried with backoff; invalid specs are not errors). Variants
/// that wrap a cause say what failed and leave the cause to `source()`: [`chain`] prints both.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API call failed")]
    Kube(#[from] kube::Error),
    #[error(transparent)]
    Emreg(#[from] EmregError),
    #[error("issuing certificates failed")]
    Pki(#[from] crate::pki::PkiError),
    #[error(transparent)]
    Build(#[from] BuildError),
    /// Adding or removing the RegistryEntry finalizer failed.
    #[error("the finalizer could not be updated")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
    /// The EMREG the operator runs for this Registry is (re)starting: removing an entry from it
    /// is retried (`emrex.eu/skip-registry-cleanup` exists for one that never comes back).
    #[error("the EMREG of Registry {registry:?} has no available replica yet")]
    RegistryUnavailable { registry: String },
}

impl Error {
    /// A stable label for metrics and event reasons.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Kube(_) => "KubernetesApi",
            Self::Emreg(e) => e.reason(),
            Self::Pki(_) => "CertificateIssuance",
            Self::Build(_) => "Build",
            Self::Finalizer(_) => "Finalizer",
            Self::RegistryUnavailable { .. } => "RegistryUnavailable",
        }
    }
}

/// Why a reconcile stops before its end: `Done` once it has reported what the user must fix
/// (a condition, an event), with when to look again; `Failed` with an error to retry. Lets a
/// reconcile's steps use `?` for both.
#[derive(Debug)]
pub enum Stop {
    Done(Action),
    Failed(Error),
}

/// The result of a reconcile step.
pub type Flow<T> = Result<T, Stop>;

impl<E: Into<Error>> From<E> for Stop {
    fn from(e: E) -> Self {
        Self::Failed(e.into())
    }
}

/// A whole reconcile's result, as the controller takes it.
pub fn outcome(flow: Flow<Action>) -> Result<Action, Error> {
    match flow {
        Ok(action) | Err(Stop::Done(action)) => Ok(action),
        Err(Stop::Failed(e)) => Err(e),
    }
}

/// An error and its causes on one line (`a: b: c`), for logs, conditions and events (the
/// runtime's one helper).
pub use emrex_runtime::grpc::error_chain as chain;

/// The controller configuration every kind starts from.
pub fn config() -> Config {
    Config::default().concurrency(RECONCILE_CONCURRENCY)
}

/// Runs one kind's controller until shutdown. Every kind ends here, so each reconcile is timed
/// and counted, and each failure counted, logged once (with its causes) and retried the same way.
pub async fn drive<K, F, Fut>(
    name: &'static str,
    controller: Controller<K>,
    reconcile: F,
    ctx: Arc<Ctx>,
) where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    F: Fn(Arc<K>, Arc<Ctx>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Action, Error>> + Send + 'static,
{
    let stop = ctx.shutdown.clone();
    controller
        .graceful_shutdown_on(async move { stop.triggered().await })
        .run(
            move |obj, ctx: Arc<Ctx>| {
                let timer = ctx.metrics.start(name);
                let reconciled = reconcile(obj, ctx);
                async move {
                    let result = reconciled.await;
                    drop(timer);
                    result
                }
            },
            move |_obj, err, ctx| error_policy(name, err, &ctx),
            ctx,
        )
        .for_each(move |result| async move {
            match result {
                Ok(_) => {}
                // Logged and counted by the error policy already.
                Err(kube_controller::Error::ReconcilerFailed(..)) => {}
                Err(e) => tracing::debug!(controller = name, error = %chain(&e), "controller"),
            }
        })
        .await;
}

/// After a failed reconcile: count it, log it, retry soon (the controller's own backoff spreads
/// repeated failures).
pub fn error_policy(controller: &'static str, err: &Error, ctx: &Ctx) -> Action {
    ctx.metrics.failed(controller, err.reason());
    tracing::warn!(controller, reason = err.reason(), error = %chain(err), "reconcile failed");
    Action::requeue(Duration::from_secs(10))
}

/// A Secret's entries as text (non-UTF-8 entries are skipped: none of ours are binary).
pub fn secret_text(secret: &Secret) -> BTreeMap<String, String> {
    secret
        .data
        .as_ref()
        .map(|d| {
            d.iter()
                .filter_map(|(k, v)| String::from_utf8(v.0.clone()).ok().map(|s| (k.clone(), s)))
                .collect()
        })
        .unwrap_or_default()
}

/// Reads a Secret's entries, `None` when it does not exist.
pub async fn read_secret(
    client: &Client,
    ns: &str,
    name: &str,
) -> Result<Option<BTreeMap<String, String>>, kube::Error> {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    Ok(api.get_opt(name).await?.map(|s| secret_text(&s)))
}

/// The resolved internal mTLS material: reuse what the Secrets hold while it is good, mint a
/// fresh bundle otherwise.
pub async fn internal_mtls(
    client: &Client,
    ns: &str,
    server_secret: &str,
    client_secret: &str,
    purpose: &str,
    dns: &[String],
) -> Result<crate::build::ncp::MtlsPem, Error> {
    let server = read_secret(client, ns, server_secret).await?;
    let clientside = read_secret(client, ns, client_secret).await?;
    if let (Some(s), Some(c)) = (&server, &clientside)
        && let Some(m) = crate::build::ncp::MtlsPem::from_entries(s, c)
        && !crate::pki::internal_needs_renewal(Some(&m.server_cert), dns, Timestamp::now())
    {
        return Ok(m);
    }
    tracing::info!(%ns, %purpose, "minting internal mTLS material");
    Ok(crate::pki::mint_mtls(purpose, dns, Timestamp::now())?.into())
}

/// The SMP's result-link keys: what its Secret holds (the operator never replaces keys someone
/// rotated by hand), or one fresh random key the first time.
pub async fn link_keys(client: &Client, ns: &str, secret: &str) -> Result<String, Error> {
    if let Some(entries) = read_secret(client, ns, secret).await?
        && let Some(keys) = entries.get(crate::build::smp::LINK_KEYS)
        && !keys.trim().is_empty()
    {
        return Ok(keys.clone());
    }
    tracing::info!(%ns, %secret, "making the SMP's result-link key");
    Ok(crate::pki::random_link_key()?)
}

#[cfg(test)]
mod fixtures;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Middle);
    #[derive(Debug, thiserror::Error)]
    #[error("middle says: {0}")]
    struct Middle(#[source] Inner);
    #[derive(Debug, thiserror::Error)]
    #[error("inner")]
    struct Inner;

    #[test]
    fn the_chain_names_every_cause_once() {
        // Middle prints its source itself; the chain does not repeat it.
        assert_eq!(chain(&Outer(Middle(Inner))), "outer: middle says: inner");
        let build = Error::Build(BuildError::invalid("spec.x", "bad"));
        assert_eq!(chain(&build), "spec.x: bad");
    }

    #[tokio::test]
    async fn a_failure_is_counted_by_reason_and_retried_soon() {
        let (ctx, api) = fixtures::context();
        let err = Error::RegistryUnavailable {
            registry: "r".into(),
        };
        assert_eq!(
            error_policy("registryentry", &err, &ctx),
            Action::requeue(Duration::from_secs(10))
        );
        let text = api.metrics_text();
        assert!(
            text.lines()
                .any(|l| l.starts_with("emrex_operator_reconcile_failures_total")
                    && l.contains("controller=\"registryentry\"")
                    && l.contains("reason=\"RegistryUnavailable\"")
                    && l.ends_with(" 1")),
            "{text}"
        );
    }
}
