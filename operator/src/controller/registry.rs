//! Registry controller: runs the EMREG (unless external) and reports how many entries are
//! published to it.

use std::sync::Arc;

use kube::api::ListParams;
use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};
use serde_json::json;

use super::{Ctx, Error, RESYNC, internal_mtls, invalid, merged, write_status};
use crate::apply;
use crate::build::{Owner, registry};
use crate::conditions::{self, AVAILABLE, Cond, PUBLISHED, RECONCILED};
use crate::crd::{Registry, RegistryEntry, RegistryStatus};

pub async fn reconcile(obj: Arc<Registry>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let _timer = ctx.metrics.start("registry");
    if obj.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let owner = Owner::of(&*obj)?;
    let old_full = obj.status.clone().unwrap_or_default();
    let old = old_full.common.clone();
    let generation = obj.metadata.generation;
    if let Err(e) = registry::validate(&obj, &owner.name) {
        return invalid(&ctx, &*obj, &old, json!({}), &e).await;
    }
    let mtls = if obj.spec.external.is_none() {
        Some(
            internal_mtls(
                &ctx.client,
                &owner.namespace,
                &registry::server_tls_secret(&owner.name),
                &registry::client_tls_secret(&owner.name),
                &format!("{}/{} emreg", owner.namespace, owner.name),
                &registry::emreg_dns(&owner.name, &owner.namespace),
            )
            .await?,
        )
    } else {
        None
    };
    let children = match registry::build(&obj, &owner, &ctx.image, mtls.as_ref()) {
        Ok(c) => c,
        Err(e) => return invalid(&ctx, &*obj, &old, json!({}), &e).await,
    };
    let applied = apply::apply_cached(&ctx.client, &ctx.applied, &owner, children).await?;

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

    let available = if obj.spec.external.is_some() {
        // Nothing runs here; reachability shows in each entry's Published condition.
        Cond::ok(
            AVAILABLE,
            "External",
            "an external EMREG: nothing runs in this cluster",
        )
    } else {
        let (ok, summary) = apply::availability(&applied.deployments);
        if ok {
            Cond::ok(AVAILABLE, "Available", summary)
        } else {
            Cond::fail(AVAILABLE, "ReplicasUnavailable", summary)
        }
    };
    let conds = [
        Cond::ok(
            RECONCILED,
            "Applied",
            format!("children applied ({} pruned)", applied.pruned),
        ),
        available,
    ];
    let new = RegistryStatus {
        common: merged(&old, generation, &conds),
        entries: Some(i32::try_from(published).unwrap_or(i32::MAX)),
    };
    let changed = new != old_full;
    let status = serde_json::to_value(&new).unwrap_or_else(|_| json!({}));
    write_status(&ctx, &*obj, changed, status).await?;
    tracing::debug!(name = %obj.name_any(), published, "registry reconciled");
    Ok(Action::requeue(RESYNC))
}
