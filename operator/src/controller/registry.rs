//! Registry controller: runs the EMREG (unless external) and reports how many entries are
//! published to it.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::ListParams;
use kube::runtime::controller::{Action, Controller};
use kube::{Api, ResourceExt};

use super::status::{self, RESYNC, begin, checked, merged};
use super::{Ctx, Error, Flow, internal_mtls, outcome, watch};
use crate::apply;
use crate::build::registry::ValidatedRegistry;
use crate::build::{Children, registry};
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
    outcome(reconcile_registry(&obj, &ctx).await)
}

async fn reconcile_registry(obj: &Registry, ctx: &Ctx) -> Flow<Action> {
    let old = obj.status.clone().unwrap_or_default();
    let valid = begin(ctx, obj, &old.common, registry::validate).await?;
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
            checked(ctx, obj, &old.common, registry::build(r, &ctx.image, &mtls)).await?
        }
    };
    let applied = apply::apply_cached(&ctx.client, &ctx.applied, &ctx.pdb, owner, children).await?;

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
    status::write_status(ctx, obj, &old, &new).await?;
    tracing::debug!(name = %obj.name_any(), published, "registry reconciled");
    Ok(Action::requeue(RESYNC))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::controller::fixtures::{
        NS, condition, context, finish, list, object, path_of, start,
    };

    #[tokio::test]
    async fn an_external_registry_runs_nothing_prunes_what_ran_and_counts_its_entries() {
        let (ctx, mut api) = context();
        let reg: Registry = object(
            "national",
            json!({"external": {"grpcEndpoint": "https://emreg.example.eu:443", "tlsSecret": "emreg-client"}}),
        );
        let task = start(reconcile(Arc::new(reg.clone()), ctx));
        // No internal TLS Secrets are read and nothing is applied; every kind of child is
        // listed by owner UID and what is left of an earlier in-cluster EMREG is deleted.
        let kinds = [
            "/api/v1/namespaces/alliance/serviceaccounts",
            "/api/v1/namespaces/alliance/configmaps",
            "/api/v1/namespaces/alliance/secrets",
            "/api/v1/namespaces/alliance/persistentvolumeclaims",
            "/api/v1/namespaces/alliance/services",
            "/apis/networking.k8s.io/v1/namespaces/alliance/networkpolicies",
            "/apis/policy/v1/namespaces/alliance/poddisruptionbudgets",
            "/apis/apps/v1/namespaces/alliance/deployments",
            "/apis/emrex.eu/v1alpha1/namespaces/alliance/registryentries",
        ];
        for kind in kinds {
            let call = api.expect("GET", kind).await;
            assert!(
                call.query
                    .contains("labelSelector=emrex.eu%2Fowner-uid%3Duid-of-national"),
                "{}",
                call.query
            );
            let leftover = kind.ends_with("/configmaps");
            call.respond(
                200,
                list(
                    "PartialObjectMetadata",
                    if leftover {
                        vec![
                            json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
                            "metadata": {"name": "national-emreg", "namespace": NS}}),
                        ]
                    } else {
                        vec![]
                    },
                ),
            );
            if leftover {
                api.expect("DELETE", &format!("{kind}/national-emreg"))
                    .await
                    .respond(
                        200,
                        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}),
                    );
            }
        }
        // Entries: only those of this Registry that are published count.
        let entry = |name: &str, registry: &str, published: &str| {
            let mut e = json!(object::<RegistryEntry>(
                name,
                json!({"registryRef": registry, "acronym": name, "countryCode": "FI", "url": "https://x.example", "certificates": []}),
            ));
            e["status"] = json!({"conditions": [{"type": "Published", "status": published,
                "reason": "r", "message": "m", "lastTransitionTime": "2026-01-01T00:00:00Z"}]});
            e
        };
        api.expect(
            "GET",
            "/apis/emrex.eu/v1alpha1/namespaces/alliance/registryentries",
        )
        .await
        .respond(
            200,
            list(
                "RegistryEntry",
                vec![
                    entry("a", "national", "True"),
                    entry("b", "national", "False"),
                    entry("c", "other", "True"),
                ],
            ),
        );
        let status = api.status(&path_of("registries", "national"), &reg).await;
        assert_eq!(status["entries"], 1);
        assert_eq!(
            condition(&status, "Reconciled"),
            (
                "True".into(),
                "Applied".into(),
                "children applied (1 pruned)".into()
            )
        );
        let (available, reason, _) = condition(&status, "Available");
        assert_eq!((available.as_str(), reason.as_str()), ("True", "External"));
        assert_eq!(condition(&status, "Ready").0, "True");
        assert_eq!(finish(task).await.expect("ok"), Action::requeue(RESYNC));
    }

    #[tokio::test]
    async fn an_external_registry_with_a_store_is_invalid() {
        let (ctx, mut api) = context();
        let reg: Registry = object(
            "national",
            json!({"external": {"grpcEndpoint": "https://emreg.example.eu"}, "store": {"postgresUrl": {"name": "db", "key": "url"}}}),
        );
        let task = start(reconcile(Arc::new(reg.clone()), ctx));
        let note = api.event(NS, "Warning", "InvalidSpec").await;
        assert_eq!(note, "spec.store: does not apply to an external Registry");
        api.status(&path_of("registries", "national"), &reg).await;
        assert_eq!(finish(task).await.expect("ok"), Action::await_change());
    }
}
