//! Registry controller: runs the EMREG (unless external) and reports how many entries are
//! published to it.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::ListParams;
use kube::runtime::controller::{Action, Controller};
use kube::{Api, ResourceExt};

use super::status::{self, RESYNC, invalid, merged};
use super::{Ctx, Error, internal_mtls, watch};
use crate::apply;
use crate::build::registry::ValidatedRegistry;
use crate::build::{Children, Owner, registry};
use crate::conditions::{self, AVAILABLE, Cond, PUBLISHED};
use crate::crd::{Registry, RegistryEntry, RegistryStatus};

/// Owns its EMREG Deployment; counts the entries published to it. Its status aggregates every
/// entry, so the burst of entry changes a federation's start causes is coalesced (debounce).
pub async fn run(ctx: Arc<Ctx>) {
    let controller = Controller::new(ctx.watched::<Registry>(), watch::all())
        .with_config(super::config().debounce(Duration::from_secs(2)))
        .owns(ctx.watched::<Deployment>(), watch::children())
        .watches(ctx.watched::<RegistryEntry>(), watch::all(), |e| {
            [watch::named(&e.spec.registry_ref, e.namespace().as_deref())]
        });
    super::drive("registry", controller, reconcile, ctx).await;
}

pub async fn reconcile(obj: Arc<Registry>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    if obj.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let old = obj.status.clone().unwrap_or_default();
    let valid = match registry::validate(&obj, Owner::of(&*obj)?) {
        Ok(v) => v,
        Err(e) => return invalid(&ctx, &*obj, &old.common, &e).await,
    };
    let owner = valid.owner();
    let children = match &valid {
        // Nothing runs here: whatever an earlier in-cluster spec made is pruned.
        ValidatedRegistry::External(_) => Children::default(),
        ValidatedRegistry::InCluster(r) => {
            let mtls = internal_mtls(
                &ctx.client,
                &owner.namespace,
                &registry::server_tls_secret(&owner.name),
                &registry::client_tls_secret(&owner.name),
                &format!("{}/{} emreg", owner.namespace, owner.name),
                &registry::emreg_dns(&owner.name, &owner.namespace),
            )
            .await?;
            match registry::build(r, &ctx.image, &mtls) {
                Ok(c) => c,
                Err(e) => return invalid(&ctx, &*obj, &old.common, &e).await,
            }
        }
    };
    let applied = apply::apply_cached(&ctx.client, &ctx.applied, owner, children).await?;

    // Entries published to this Registry.
    let entries: Api<RegistryEntry> = Api::namespaced(ctx.client.clone(), &owner.namespace);
    let published = entries
        .list(&ListParams::default().match_any())
        .await?
        .items
        .iter()
        .filter(|e| e.spec.registry_ref == owner.name)
        .filter(|e| {
            e.status
                .as_ref()
                .is_some_and(|s| conditions::is_true(&s.common, PUBLISHED))
        })
        .count();

    let available = match &valid {
        // Reachability shows in each entry's Published condition.
        ValidatedRegistry::External(_) => Cond::ok(
            AVAILABLE,
            "External",
            "an external EMREG: nothing runs in this cluster",
        ),
        ValidatedRegistry::InCluster(_) => status::available(&applied.deployments),
    };
    let conds = [status::applied(applied.pruned), available];
    let new = RegistryStatus {
        common: merged(&old.common, obj.metadata.generation, &conds),
        entries: Some(i32::try_from(published).unwrap_or(i32::MAX)),
    };
    status::write_status(&ctx, &*obj, &old, &new).await?;
    tracing::debug!(name = %obj.name_any(), published, "registry reconciled");
    Ok(Action::requeue(RESYNC))
}
