//! Reporting what a reconcile found: the typed status written with server-side apply only when
//! it changed (a status write wakes the controller again), the conditions merged so transition
//! times only move on a flip, and Warning events said once per change, not once per retry.

use std::fmt::Debug;
use std::time::Duration;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Ctx, Error, Flow, Stop, chain};
use crate::build::{BuildError, Owner};
use crate::conditions::{self, AVAILABLE, Cond, RECONCILED};
use crate::crd::{CommonStatus, RegistryEntryStatus, RegistryStatus, SigningCertificateStatus};
use crate::names::FIELD_MANAGER;
use k8s_openapi::api::apps::v1::Deployment;

/// How often a healthy resource is checked again anyway (drift from hand edits).
pub const RESYNC: Duration = Duration::from_secs(300);

/// When a reference does not resolve yet: look again in 30 s.
pub const MISSING_RETRY: Duration = Duration::from_secs(30);

/// A namespaced object whose status this operator writes (any of our kinds).
pub trait Object:
    Resource<DynamicType = (), Scope = NamespaceResourceScope> + Clone + DeserializeOwned + Debug
{
}

impl<K> Object for K where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
{
}

/// A status with the conditions every kind has.
pub trait HasCommon {
    fn common(&self) -> &CommonStatus;
}

impl HasCommon for CommonStatus {
    fn common(&self) -> &CommonStatus {
        self
    }
}

macro_rules! has_common {
    ($($t:ty),*) => {$(
        impl HasCommon for $t {
            fn common(&self) -> &CommonStatus {
                &self.common
            }
        }
    )*};
}
has_common!(
    RegistryStatus,
    RegistryEntryStatus,
    SigningCertificateStatus
);

/// The apply patch of a status: SSA needs `apiVersion` and `kind` beside it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusPatch<'a, S> {
    api_version: &'a str,
    kind: &'a str,
    status: &'a S,
}

/// Writes `new` (the whole status this operator owns) with SSA when it differs from `old`.
/// Fields of the status that `new` leaves out are released, as with any apply.
pub async fn write_status<K, S>(ctx: &Ctx, obj: &K, old: &S, new: &S) -> Result<(), kube::Error>
where
    K: Object,
    S: Serialize + PartialEq + Debug,
{
    if old == new {
        return Ok(());
    }
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let patch = StatusPatch {
        api_version: &K::api_version(&()),
        kind: &K::kind(&()),
        status: new,
    };
    api.patch_status(
        &obj.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(())
}

/// Writes `new` after a failure a user must see: a Warning event `reason` when the conditions
/// changed (so a failure that persists is announced once), then the status when it changed.
pub async fn warn_and_write<K, S>(
    ctx: &Ctx,
    obj: &K,
    old: &S,
    new: &S,
    reason: &str,
    message: &str,
) -> Result<(), Error>
where
    K: Object,
    S: Serialize + PartialEq + Debug + HasCommon,
{
    if conditions::changed(old.common(), new.common()) {
        event(ctx, obj, true, reason, message.to_string()).await;
    }
    write_status(ctx, obj, old, new).await?;
    Ok(())
}

/// The object cannot be reconciled as it stands: condition `Reconciled=False` with `reason`,
/// a Warning event when that is news, and `then` (when to look again). Only the common status
/// is written: what else the status held described a state that no longer holds.
pub async fn refused<K>(
    ctx: &Ctx,
    obj: &K,
    old: &CommonStatus,
    reason: &str,
    message: String,
    then: Action,
) -> Result<Action, Error>
where
    K: Object,
{
    let new = merged(
        old,
        obj.meta().generation,
        &[Cond::fail(RECONCILED, reason, message.clone())],
    );
    warn_and_write(ctx, obj, old, &new, reason, &message).await?;
    Ok(then)
}

/// An invalid spec: reason `InvalidSpec`, and no retry until the object changes (a crash loop
/// would not fix it).
pub async fn invalid<K>(
    ctx: &Ctx,
    obj: &K,
    old: &CommonStatus,
    err: &BuildError,
) -> Result<Action, Error>
where
    K: Object,
{
    refused(
        ctx,
        obj,
        old,
        "InvalidSpec",
        chain(err),
        Action::await_change(),
    )
    .await
}

/// How the reconcile of a kind with children begins: an object being deleted is left to the
/// garbage collector (its children go with it), an invalid spec is reported ([`invalid`]) and
/// ends the reconcile; otherwise the validated object.
pub async fn begin<'a, K, V>(
    ctx: &Ctx,
    obj: &'a K,
    old: &CommonStatus,
    validate: impl FnOnce(&'a K, Owner) -> Result<V, BuildError>,
) -> Flow<V>
where
    K: Object,
{
    if obj.meta().deletion_timestamp.is_some() {
        return Err(Stop::Done(Action::await_change()));
    }
    checked(ctx, obj, old, validate(obj, Owner::of(obj)?)).await
}

/// What was built, or, for a [`BuildError`], the spec reported invalid ([`invalid`]) and the
/// reconcile ended.
pub async fn checked<K: Object, T>(
    ctx: &Ctx,
    obj: &K,
    old: &CommonStatus,
    built: Result<T, BuildError>,
) -> Flow<T> {
    match built {
        Ok(t) => Ok(t),
        Err(e) => Err(Stop::Done(invalid(ctx, obj, old, &e).await?)),
    }
}

/// The `R` called `name` in `obj`'s namespace, which `obj` references. When it does not exist:
/// `Reconciled=False` with reason `{Kind}NotFound` (as [`refused`]), and the reconcile ends
/// to look again in [`MISSING_RETRY`] (it may be created later; where it is watched, that
/// wakes us earlier).
pub async fn dereference<K: Object, R: Object>(
    ctx: &Ctx,
    obj: &K,
    old: &CommonStatus,
    name: &str,
) -> Flow<R> {
    let api: Api<R> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    if let Some(found) = api.get_opt(name).await? {
        return Ok(found);
    }
    let kind = R::kind(&());
    let then = refused(
        ctx,
        obj,
        old,
        &format!("{kind}NotFound"),
        format!("{kind} {name:?} does not exist in this namespace"),
        Action::requeue(MISSING_RETRY),
    )
    .await?;
    Err(Stop::Done(then))
}

/// `Reconciled=True` after the children were applied.
pub fn applied(pruned: usize) -> Cond {
    Cond::ok(
        RECONCILED,
        "Applied",
        format!("children applied ({pruned} pruned)"),
    )
}

/// `Available` from the applied Deployments.
pub fn available(deployments: &[Deployment]) -> Cond {
    let (available, summary) = crate::apply::availability(deployments);
    if available {
        Cond::ok(AVAILABLE, "Available", summary)
    } else {
        Cond::fail(AVAILABLE, "ReplicasUnavailable", summary)
    }
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
        tracing::warn!(error = %chain(&e), "could not publish an event");
    }
}

fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}
