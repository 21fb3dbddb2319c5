//! StudentMobilityPlugin controller: an SMP reading its Registry's EMREG.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use kube::runtime::controller::{Action, Controller};

use super::status::{self, RESYNC, begin, checked, dereference, merged};
use super::watch;
use super::{Ctx, Error, Flow, outcome};
use crate::apply;
use crate::build::{registry, smp};
use crate::crd::{Registry, StudentMobilityPlugin};

/// Owns its Deployment; follows its Registry's spec and availability (not its entry count).
pub async fn run(ctx: Arc<Ctx>) {
    let controller = Controller::new(ctx.watched::<StudentMobilityPlugin>(), watch::all())
        .with_config(super::config())
        .owns(ctx.watched::<Deployment>(), watch::children());
    let controller = watch::follow_changes(
        controller,
        ctx.watched::<Registry>(),
        watch::registry_key,
        |s: &StudentMobilityPlugin, name| s.spec.registry_ref == name,
    );
    super::drive("studentmobilityplugin", controller, reconcile, ctx).await;
}

pub async fn reconcile(obj: Arc<StudentMobilityPlugin>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    outcome(reconcile_smp(&obj, &ctx).await)
}

async fn reconcile_smp(obj: &StudentMobilityPlugin, ctx: &Ctx) -> Flow<Action> {
    let old = obj.status.clone().unwrap_or_default().common;
    let valid = begin(ctx, obj, &old, smp::validate).await?;
    let owner = valid.owner();
    // The Registry says where its EMREG answers.
    let registry_ref = &valid.spec().registry_ref;
    let reg: Registry = dereference(ctx, obj, &old, registry_ref).await?;
    let endpoint = registry::endpoint(&reg, registry_ref, &owner.namespace);
    let keys = super::link_keys(
        &ctx.client,
        &owner.namespace,
        &smp::links_secret_name(&owner.name),
    )
    .await?;
    let children = checked(
        ctx,
        obj,
        &old,
        smp::build(&valid, &ctx.image, &endpoint, &keys),
    )
    .await?;
    let applied = apply::apply_cached(&ctx.client, &ctx.applied, &ctx.pdb, owner, children).await?;
    let conds = [
        status::applied(applied.pruned),
        status::available(&applied.deployments),
    ];
    let new = merged(&old, obj.metadata.generation, &conds);
    status::write_status(ctx, obj, &old, &new).await?;
    Ok(Action::requeue(RESYNC))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::controller::fixtures::{NS, condition, context, finish, object, path_of, start};

    #[tokio::test]
    async fn a_missing_registry_is_reported_and_looked_up_again() {
        let (ctx, mut api) = context();
        let smp: StudentMobilityPlugin = object(
            "mobility",
            json!({"publicUrl": "https://mobility.alliance.example", "registryRef": "alliance"}),
        );
        let task = start(reconcile(Arc::new(smp.clone()), ctx));
        api.expect("GET", &path_of("registries", "alliance"))
            .await
            .not_found();
        let note = api.event(NS, "Warning", "RegistryNotFound").await;
        assert_eq!(
            note,
            "Registry \"alliance\" does not exist in this namespace"
        );
        let status = api
            .status(&path_of("studentmobilityplugins", "mobility"), &smp)
            .await;
        assert_eq!(
            condition(&status, "Reconciled"),
            ("False".into(), "RegistryNotFound".into(), note)
        );
        assert_eq!(
            finish(task).await.expect("ok"),
            Action::requeue(Duration::from_secs(30))
        );
    }

    #[tokio::test]
    async fn several_replicas_on_sqlite_are_refused_before_anything_is_read() {
        let (ctx, mut api) = context();
        let smp: StudentMobilityPlugin = object(
            "mobility",
            json!({"publicUrl": "https://mobility.alliance.example", "registryRef": "alliance", "workload": {"replicas": 2}}),
        );
        let task = start(reconcile(Arc::new(smp.clone()), ctx));
        let note = api.event(NS, "Warning", "InvalidSpec").await;
        assert!(note.starts_with("spec.workload.replicas: "), "{note}");
        api.status(&path_of("studentmobilityplugins", "mobility"), &smp)
            .await;
        assert_eq!(finish(task).await.expect("ok"), Action::await_change());
    }
}
