//! The controllers: dereference → validate → build (pure) → apply → status, one module per kind.
//! Shared here: the context, the error type, status writing and events.

pub mod cert;
pub mod entry;
pub mod ncp;
pub mod registry;
pub mod smp;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::build::BuildError;
use crate::conditions::{self, Cond};
use crate::crd::CommonStatus;
use crate::emreg::{EmregClients, EmregError};
use crate::metrics::OperatorMetrics;
use crate::names::FIELD_MANAGER;

/// What every reconcile gets.
pub struct Ctx {
    pub client: Client,
    /// Image of the services when a resource names none.
    pub image: String,
    pub recorder: Recorder,
    pub metrics: OperatorMetrics,
    pub emreg: EmregClients,
    /// Recently applied children per owner.
    pub applied: crate::apply::AppliedCache,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("image", &self.image)
            .finish_non_exhaustive()
    }
}

/// Why a reconcile failed (it is retried with backoff; invalid specs are not errors).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error(transparent)]
    Emreg(#[from] EmregError),
    #[error("certificates: {0}")]
    Pki(#[from] crate::pki::PkiError),
    #[error("{0}")]
    Build(#[from] BuildError),
    #[error("finalizer: {0}")]
    Finalizer(String),
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
        }
    }
}

/// Retry soon after a failure (the controller's own backoff spreads repeated ones).
pub fn error_policy_for<K>(
    controller: &'static str,
) -> impl Fn(Arc<K>, &Error, Arc<Ctx>) -> Action {
    move |obj: Arc<K>, err: &Error, ctx: Arc<Ctx>| {
        let _ = obj;
        ctx.metrics.failed(controller, err.reason());
        tracing::warn!(controller, error = %err, "reconcile failed");
        Action::requeue(Duration::from_secs(10))
    }
}

/// How often a healthy resource is checked again anyway (drift from hand edits).
pub const RESYNC: Duration = Duration::from_secs(300);

/// Writes `status` (the whole status object, as JSON) with SSA when it differs from `old`.
pub async fn write_status<K>(
    ctx: &Ctx,
    obj: &K,
    changed: bool,
    status: serde_json::Value,
) -> Result<(), kube::Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
        + Serialize,
{
    if !changed {
        return Ok(());
    }
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let patch = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    api.patch_status(
        &obj.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(())
}

/// Merges computed conditions into `old` (see [`conditions::merge`]).
pub fn merged(old: &CommonStatus, obj_generation: Option<i64>, conds: &[Cond]) -> CommonStatus {
    conditions::merge(old, obj_generation, conds, Timestamp::now())
}

/// Publishes an event about `obj` (failures to publish are logged, never fatal).
pub async fn event<K: Resource<DynamicType = ()>>(
    ctx: &Ctx,
    obj: &K,
    warning: bool,
    reason: &str,
    note: String,
) {
    let ev = Event {
        type_: if warning {
            EventType::Warning
        } else {
            EventType::Normal
        },
        reason: reason.to_string(),
        note: Some(truncate(&note, 1000)),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&ev, &obj.object_ref(&())).await {
        tracing::warn!(error = %e, "could not publish an event");
    }
}

fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
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

/// The status JSON of a kind whose status is only the common part.
pub fn common_status_json(s: &CommonStatus) -> serde_json::Value {
    serde_json::to_value(s).unwrap_or_else(|_| json!({}))
}

/// An invalid spec: condition `Reconciled=False` (reason `InvalidSpec`), a Warning event, and
/// no retry until the object changes (a crash loop would not fix it).
pub async fn invalid<K>(
    ctx: &Ctx,
    obj: &K,
    old: &CommonStatus,
    extra: serde_json::Value,
    err: &BuildError,
) -> Result<Action, Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
        + Serialize,
{
    let conds = [Cond::fail(
        conditions::RECONCILED,
        "InvalidSpec",
        err.to_string(),
    )];
    let new = merged(old, obj.meta().generation, &conds);
    if conditions::changed(old, &new) {
        event(ctx, obj, true, "InvalidSpec", err.to_string()).await;
    }
    let mut status = common_status_json(&new);
    if let (Some(s), Some(e)) = (status.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            s.insert(k.clone(), v.clone());
        }
    }
    write_status(ctx, obj, conditions::changed(old, &new), status).await?;
    Ok(Action::await_change())
}
