//! Applying desired children with server-side apply (one field manager, forced: the operator
//! owns these fields) and deleting the children a resource no longer wants, found by the
//! owner-UID label.

use std::collections::BTreeSet;
use std::fmt::Debug;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolumeClaim, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
};
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::build::{Children, Owner};
use crate::crd::RegistryEntry;
use crate::names::{FIELD_MANAGER, OWNER_UID_LABEL};

/// What the API server returned for the applied children (with their status).
#[derive(Debug, Default)]
pub struct Applied {
    pub deployments: Vec<Deployment>,
    pub registry_entries: Vec<RegistryEntry>,
    /// Children deleted because they are no longer desired.
    pub pruned: usize,
}

/// The SSA parameters every write uses.
pub fn apply_params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}

async fn apply_kind<K>(
    client: &Client,
    ns: &str,
    owner_uid: &str,
    objects: Vec<K>,
) -> Result<(Vec<K>, usize), kube::Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + Serialize
        + DeserializeOwned
        + Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let mut keep = BTreeSet::new();
    let mut out = Vec::with_capacity(objects.len());
    for o in objects {
        let name = o.name_any();
        out.push(api.patch(&name, &apply_params(), &Patch::Apply(&o)).await?);
        keep.insert(name);
    }
    // From the API server's watch cache (`resourceVersion=0`): a consistent list would read
    // etcd on every reconcile of every resource. A slightly stale list only delays a prune to
    // the next reconcile; it can never name an object we just applied (those are kept by name).
    let existing = api
        .list_metadata(
            &ListParams::default()
                .labels(&format!("{OWNER_UID_LABEL}={owner_uid}"))
                .match_any(),
        )
        .await?;
    let mut pruned = 0;
    for item in existing.items {
        let name = item.name_any();
        if keep.contains(&name) || item.metadata.deletion_timestamp.is_some() {
            continue;
        }
        tracing::info!(kind = %K::kind(&()), %name, "deleting a child that is no longer desired");
        match api.delete(&name, &DeleteParams::background()).await {
            Ok(_) => pruned += 1,
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    Ok((out, pruned))
}

/// Where PodDisruptionBudgets live on this API server, asked once at start: `policy/v1` from
/// Kubernetes 1.21 on, `policy/v1beta1` before (with the same fields we use).
pub async fn disruption_budget_api(client: &Client) -> Result<ApiResource, kube::Error> {
    let v1 = match client.list_api_group_resources("policy/v1").await {
        Ok(list) => list
            .resources
            .iter()
            .any(|r| r.name == "poddisruptionbudgets"),
        Err(kube::Error::Api(s)) if s.code == 404 => false,
        Err(e) => return Err(e),
    };
    Ok(disruption_budget_version(if v1 { "v1" } else { "v1beta1" }))
}

/// PodDisruptionBudgets at `policy/{version}`.
pub fn disruption_budget_version(version: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(
        "policy",
        version,
        "PodDisruptionBudget",
    ))
}

/// [`apply_kind`] for PodDisruptionBudgets, in the version the server serves.
async fn apply_disruption_budgets(
    client: &Client,
    ar: &ApiResource,
    ns: &str,
    owner_uid: &str,
    budgets: Vec<PodDisruptionBudget>,
) -> Result<usize, kube::Error> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, ar);
    let mut keep = BTreeSet::new();
    for pdb in budgets {
        let name = pdb.name_any();
        let mut body = serde_json::to_value(&pdb).map_err(kube::Error::SerdeError)?;
        body["apiVersion"] = serde_json::Value::String(ar.api_version.clone());
        api.patch(&name, &apply_params(), &Patch::Apply(&body))
            .await?;
        keep.insert(name);
    }
    let existing = api
        .list_metadata(
            &ListParams::default()
                .labels(&format!("{OWNER_UID_LABEL}={owner_uid}"))
                .match_any(),
        )
        .await?;
    let mut pruned = 0;
    for item in existing.items {
        let name = item.name_any();
        if keep.contains(&name) || item.metadata.deletion_timestamp.is_some() {
            continue;
        }
        tracing::info!(kind = "PodDisruptionBudget", %name, "deleting a child that is no longer desired");
        match api.delete(&name, &DeleteParams::background()).await {
            Ok(_) => pruned += 1,
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(pruned)
}

/// What was last applied per owner (UID → hash of the desired children, when), so the burst of
/// reconciles a Deployment's status updates cause does not re-apply a dozen unchanged objects
/// each time. A hit still reads the Deployments and RegistryEntries (their status is what those
/// reconciles are for), and any of them missing means a full apply.
#[derive(Debug, Default)]
pub struct AppliedCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, (u64, std::time::Instant)>>,
}

/// How long an unchanged apply is trusted; after that every reconcile applies again (drift from
/// hand edits is corrected at the latest then, or at the periodic resync).
pub const APPLY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(60);

impl AppliedCache {
    fn fresh(&self, uid: &str, hash: u64) -> bool {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.get(uid)
            .is_some_and(|(h, at)| *h == hash && at.elapsed() < APPLY_CACHE_TTL)
    }
    fn record(&self, uid: &str, hash: u64) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(uid.to_string(), (hash, std::time::Instant::now()));
    }
}

fn children_hash(children: &Children) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let json = serde_json::json!([
        children.service_accounts,
        children.config_maps,
        children.secrets,
        children.services,
        children.deployments,
        children.network_policies,
        children.persistent_volume_claims,
        children.pod_disruption_budgets,
        children.registry_entries,
    ]);
    json.to_string().hash(&mut h);
    h.finish()
}

/// [`apply`], skipped when the same children were applied moments ago (see [`AppliedCache`]).
pub async fn apply_cached(
    client: &Client,
    cache: &AppliedCache,
    pdb: &ApiResource,
    owner: &Owner,
    children: Children,
) -> Result<Applied, kube::Error> {
    let hash = children_hash(&children);
    if cache.fresh(&owner.uid, hash)
        && let Some(applied) = read_back(client, owner, &children).await?
    {
        return Ok(applied);
    }
    let applied = apply(client, pdb, owner, children).await?;
    cache.record(&owner.uid, hash);
    Ok(applied)
}

/// The Deployments and RegistryEntries as they are now; `None` when one is missing.
async fn read_back(
    client: &Client,
    owner: &Owner,
    children: &Children,
) -> Result<Option<Applied>, kube::Error> {
    let deps: Api<Deployment> = Api::namespaced(client.clone(), &owner.namespace);
    let entries: Api<RegistryEntry> = Api::namespaced(client.clone(), &owner.namespace);
    let mut applied = Applied::default();
    for d in &children.deployments {
        match deps.get_opt(&d.name_any()).await? {
            Some(d) => applied.deployments.push(d),
            None => return Ok(None),
        }
    }
    for e in &children.registry_entries {
        match entries.get_opt(&e.name_any()).await? {
            Some(e) => applied.registry_entries.push(e),
            None => return Ok(None),
        }
    }
    Ok(Some(applied))
}

/// Applies every child of `owner` and prunes the rest (`pdb`: where this server keeps
/// PodDisruptionBudgets, see [`disruption_budget_api`]).
pub async fn apply(
    client: &Client,
    pdb: &ApiResource,
    owner: &Owner,
    children: Children,
) -> Result<Applied, kube::Error> {
    // Destructured without `..`: a new kind of child must be handled here to compile.
    let Children {
        service_accounts,
        config_maps,
        secrets,
        services,
        deployments,
        network_policies,
        persistent_volume_claims,
        pod_disruption_budgets,
        registry_entries,
    } = children;
    let (ns, uid) = (owner.namespace.as_str(), owner.uid.as_str());
    let mut pruned = 0;
    // Dependencies first: what Pods mount exists before the Deployments that mount it.
    pruned += apply_kind::<ServiceAccount>(client, ns, uid, service_accounts)
        .await?
        .1;
    pruned += apply_kind::<ConfigMap>(client, ns, uid, config_maps)
        .await?
        .1;
    pruned += apply_kind::<Secret>(client, ns, uid, secrets).await?.1;
    pruned += apply_kind::<PersistentVolumeClaim>(client, ns, uid, persistent_volume_claims)
        .await?
        .1;
    pruned += apply_kind::<Service>(client, ns, uid, services).await?.1;
    pruned += apply_kind::<NetworkPolicy>(client, ns, uid, network_policies)
        .await?
        .1;
    pruned += apply_disruption_budgets(client, pdb, ns, uid, pod_disruption_budgets).await?;
    let (deployments, p) = apply_kind::<Deployment>(client, ns, uid, deployments).await?;
    pruned += p;
    let (registry_entries, p) =
        apply_kind::<RegistryEntry>(client, ns, uid, registry_entries).await?;
    pruned += p;
    Ok(Applied {
        deployments,
        registry_entries,
        pruned,
    })
}

/// Whether applied Deployments are available, and a summary (`name available/wanted, …`), from
/// what their controllers report. Each Deployment that wants replicas needs at least one
/// available, counted for its current spec (a status still describing an older generation
/// does not count); one scaled to zero is available as it is.
pub fn availability(deployments: &[Deployment]) -> (bool, String) {
    let mut ok = true;
    let mut parts = Vec::new();
    for d in deployments {
        let wanted = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let status = d.status.as_ref();
        let available = status.and_then(|s| s.available_replicas).unwrap_or(0);
        let current = status.and_then(|s| s.observed_generation) == d.metadata.generation;
        if wanted > 0 && (available == 0 || !current) {
            ok = false;
        }
        parts.push(format!("{} {available}/{wanted}", d.name_any()));
    }
    (ok, format!("available replicas: {}", parts.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A Deployment at `generation` wanting `replicas`, whose status says `available` of them
    /// for `observed` (no status at all when `observed` is `None`).
    fn dep(
        name: &str,
        generation: i64,
        replicas: Option<i32>,
        observed: Option<i64>,
        available: i32,
    ) -> Deployment {
        let mut d = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "generation": generation},
            "spec": {"selector": {}, "template": {}},
        });
        if let Some(r) = replicas {
            d["spec"]["replicas"] = json!(r);
        }
        if let Some(o) = observed {
            d["status"] = json!({"observedGeneration": o, "availableReplicas": available});
        }
        serde_json::from_value(d).expect("deployment")
    }

    #[test]
    fn available_when_every_deployment_has_a_current_available_replica() {
        let (ok, summary) = availability(&[
            dep("uni-ncp", 2, Some(3), Some(2), 1),
            dep("uni-signer", 1, None, Some(1), 1),
        ]);
        assert!(ok, "one of three is enough; replicas default to one");
        assert_eq!(summary, "available replicas: uni-ncp 1/3, uni-signer 1/1");
    }

    #[test]
    fn unavailable_without_replicas_status_or_a_current_status() {
        for (d, why) in [
            (dep("d", 1, Some(1), Some(1), 0), "no available replica"),
            (dep("d", 1, Some(2), None, 0), "no status yet"),
            (
                dep("d", 3, Some(1), Some(2), 1),
                "the status describes generation 2, the spec is 3",
            ),
        ] {
            assert!(!availability(&[d]).0, "{why}");
        }
        // One unavailable Deployment makes the whole resource unavailable.
        let (ok, summary) = availability(&[
            dep("a", 1, Some(1), Some(1), 1),
            dep("b", 1, Some(1), Some(1), 0),
        ]);
        assert!(!ok);
        assert_eq!(summary, "available replicas: a 1/1, b 0/1");
    }

    #[test]
    fn scaled_to_zero_or_nothing_to_run_is_available() {
        assert_eq!(
            availability(&[dep("d", 4, Some(0), Some(3), 0)]),
            (true, "available replicas: d 0/0".to_string())
        );
        assert_eq!(
            availability(&[]),
            (true, "available replicas: ".to_string())
        );
    }
}
