//! Leader election with a `coordination.k8s.io/v1` Lease, so several replicas are safe: only
//! the holder runs the controllers. Acquire when the Lease is free or expired, renew well within
//! its duration, and stop (the process exits and restarts) when renewal fails past the deadline:
//! two writers at once is worse than a short pause.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use serde_json::json;

/// Lease timing (client-go's defaults).
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    pub name: String,
    pub namespace: String,
    pub identity: String,
    pub lease_duration: Duration,
    pub renew_every: Duration,
}

impl LeaseConfig {
    pub fn new(name: String, namespace: String, identity: String) -> Self {
        Self {
            name,
            namespace,
            identity,
            lease_duration: Duration::from_secs(15),
            renew_every: Duration::from_secs(5),
        }
    }
}

/// What one attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// We hold it (acquired or renewed).
    Held,
    /// Someone else holds it.
    HeldBy(String),
}

/// Whether a Lease held by someone else has expired at `now`.
pub fn expired(lease: &Lease, now: Timestamp) -> bool {
    let Some(spec) = &lease.spec else { return true };
    let Some(renew) = spec.renew_time.as_ref().or(spec.acquire_time.as_ref()) else {
        return true;
    };
    let duration = i64::from(spec.lease_duration_seconds.unwrap_or(15));
    now.as_second() > renew.0.as_second() + duration
}

/// One acquire-or-renew attempt. Optimistic concurrency (resourceVersion) makes two replicas
/// racing for an expired Lease end with one winner.
pub async fn try_acquire(client: &Client, cfg: &LeaseConfig) -> Result<Outcome, kube::Error> {
    let api: Api<Lease> = Api::namespaced(client.clone(), &cfg.namespace);
    let now = Timestamp::now();
    let secs = i32::try_from(cfg.lease_duration.as_secs()).unwrap_or(15);
    match api.get_opt(&cfg.name).await? {
        None => {
            let lease: Lease = serde_json::from_value(json!({
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": cfg.name, "namespace": cfg.namespace},
                "spec": {
                    "holderIdentity": cfg.identity,
                    "leaseDurationSeconds": secs,
                    "acquireTime": MicroTime(now),
                    "renewTime": MicroTime(now),
                    "leaseTransitions": 0,
                },
            }))
            .map_err(kube::Error::SerdeError)?;
            match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(Outcome::Held),
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    Ok(Outcome::HeldBy("another replica".into()))
                }
                Err(e) => Err(e),
            }
        }
        Some(mut lease) => {
            let holder = lease
                .spec
                .as_ref()
                .and_then(|s| s.holder_identity.clone())
                .unwrap_or_default();
            let ours = holder == cfg.identity;
            if !ours && !holder.is_empty() && !expired(&lease, now) {
                return Ok(Outcome::HeldBy(holder));
            }
            let mut spec = lease.spec.take().unwrap_or_default();
            if !ours {
                spec.acquire_time = Some(MicroTime(now));
                spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
            }
            spec.holder_identity = Some(cfg.identity.clone());
            spec.lease_duration_seconds = Some(secs);
            spec.renew_time = Some(MicroTime(now));
            lease.spec = Some(spec);
            lease.metadata = ObjectMeta {
                resource_version: lease.metadata.resource_version.clone(),
                ..lease.metadata
            };
            match api.replace(&cfg.name, &PostParams::default(), &lease).await {
                Ok(_) => Ok(Outcome::Held),
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    Ok(Outcome::HeldBy("another replica".into()))
                }
                Err(e) => Err(e),
            }
        }
    }
}

/// Gives the Lease up (on clean shutdown), so a standby takes over at once.
pub async fn release(client: &Client, cfg: &LeaseConfig) -> Result<(), kube::Error> {
    let api: Api<Lease> = Api::namespaced(client.clone(), &cfg.namespace);
    if let Some(mut lease) = api.get_opt(&cfg.name).await?
        && lease
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.as_deref())
            == Some(cfg.identity.as_str())
    {
        if let Some(spec) = lease.spec.as_mut() {
            spec.holder_identity = None;
            spec.renew_time = None;
        }
        api.replace(&cfg.name, &PostParams::default(), &lease)
            .await?;
    }
    Ok(())
}
