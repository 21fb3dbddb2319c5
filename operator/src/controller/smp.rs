//! StudentMobilityPlugin controller.

use std::sync::Arc;
use std::time::Duration;

use kube::Api;
use kube::runtime::controller::Action;

use super::{Ctx, Error, RESYNC, common_status_json, invalid, merged, write_status};
use crate::apply;
use crate::build::{Owner, registry, smp};
use crate::conditions::{self, AVAILABLE, Cond, RECONCILED};
use crate::crd::{Registry, StudentMobilityPlugin};

pub async fn reconcile(obj: Arc<StudentMobilityPlugin>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let _timer = ctx.metrics.start("studentmobilityplugin");
    if obj.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let owner = Owner::of(&*obj)?;
    let old = obj.status.clone().unwrap_or_default().common;
    let generation = obj.metadata.generation;
    if let Err(e) = smp::validate(&obj, &owner.name) {
        return invalid(&ctx, &*obj, &old, serde_json::json!({}), &e).await;
    }
    let registries: Api<Registry> = Api::namespaced(ctx.client.clone(), &owner.namespace);
    let Some(reg) = registries.get_opt(&obj.spec.registry_ref).await? else {
        let conds = [Cond::fail(
            RECONCILED,
            "RegistryNotFound",
            format!(
                "Registry {:?} does not exist in this namespace",
                obj.spec.registry_ref
            ),
        )];
        let new = merged(&old, generation, &conds);
        if conditions::changed(&old, &new) {
            super::event(
                &ctx,
                &*obj,
                true,
                "RegistryNotFound",
                conds[0].message.clone(),
            )
            .await;
        }
        write_status(
            &ctx,
            &*obj,
            conditions::changed(&old, &new),
            common_status_json(&new),
        )
        .await?;
        return Ok(Action::requeue(Duration::from_secs(30)));
    };
    let endpoint = registry::endpoint(&reg, &obj.spec.registry_ref, &owner.namespace);
    let children = match smp::build(&obj, &owner, &ctx.image, &endpoint) {
        Ok(c) => c,
        Err(e) => return invalid(&ctx, &*obj, &old, serde_json::json!({}), &e).await,
    };
    let applied = apply::apply_cached(&ctx.client, &ctx.applied, &owner, children).await?;
    let (available, summary) = apply::availability(&applied.deployments);
    let conds = [
        Cond::ok(
            RECONCILED,
            "Applied",
            format!("children applied ({} pruned)", applied.pruned),
        ),
        if available {
            Cond::ok(AVAILABLE, "Available", summary)
        } else {
            Cond::fail(AVAILABLE, "ReplicasUnavailable", summary)
        },
    ];
    let new = merged(&old, generation, &conds);
    write_status(
        &ctx,
        &*obj,
        conditions::changed(&old, &new),
        common_status_json(&new),
    )
    .await?;
    Ok(Action::requeue(RESYNC))
}
