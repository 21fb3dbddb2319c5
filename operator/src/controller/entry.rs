//! RegistryEntry controller: publishes the entry in its Registry's EMREG and removes it there
//! before the object goes (finalizer `emrex.eu/registry-entry`).
//!
//! The finalizer never wedges deletion for good: when the Registry object is gone, when its TLS
//! Secret is gone, or when the entry carries the annotation `emrex.eu/skip-registry-cleanup:
//! "true"`, the finalizer is released without contacting the EMREG (with an event saying the
//! entry may remain there). See docs/operator.md.

use std::sync::Arc;
use std::time::Duration;

use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::{Api, ResourceExt};
use serde_json::json;

use super::{Ctx, Error, RESYNC, invalid, merged, read_secret, write_status};
use crate::build::{entry, registry};
use crate::conditions::{Cond, PUBLISHED, RECONCILED};
use crate::crd::{Registry, RegistryEntry, RegistryEntryStatus, SigningCertificate};
use crate::emreg::ClientTls;
use crate::names::{
    CA_CRT, NEXT_CRT, PREVIOUS_CRT, REGISTRY_FINALIZER, SKIP_CLEANUP_ANNOTATION, TLS_CRT, TLS_KEY,
};

pub async fn reconcile(obj: Arc<RegistryEntry>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let _timer = ctx.metrics.start("registryentry");
    let ns = obj.namespace().unwrap_or_default();
    let api: Api<RegistryEntry> = Api::namespaced(ctx.client.clone(), &ns);
    let ctx2 = ctx.clone();
    finalizer(&api, REGISTRY_FINALIZER, obj, |event| async move {
        match event {
            FinalizerEvent::Apply(e) => publish(e, ctx2).await,
            FinalizerEvent::Cleanup(e) => cleanup(e, ctx2).await,
        }
    })
    .await
    .map_err(|e| match e {
        kube::runtime::finalizer::Error::ApplyFailed(e)
        | kube::runtime::finalizer::Error::CleanupFailed(e) => e,
        other => Error::Finalizer(other.to_string()),
    })
}

/// Where to publish: endpoint and client TLS, or why that is not known.
enum Target {
    Ready(registry::RegistryEndpoint, Option<ClientTls>),
    Missing(&'static str, String),
}

async fn target(ctx: &Ctx, ns: &str, registry_ref: &str) -> Result<Target, Error> {
    let registries: Api<Registry> = Api::namespaced(ctx.client.clone(), ns);
    let Some(reg) = registries.get_opt(registry_ref).await? else {
        return Ok(Target::Missing(
            "RegistryNotFound",
            format!("Registry {registry_ref:?} does not exist in this namespace"),
        ));
    };
    let ep = registry::endpoint(&reg, registry_ref, ns);
    if ep.in_cluster
        && !reg
            .status
            .as_ref()
            .is_some_and(|s| crate::conditions::is_true(&s.common, crate::conditions::AVAILABLE))
    {
        return Ok(Target::Missing(
            "RegistryUnavailable",
            format!("the EMREG of Registry {registry_ref:?} has no available replica yet"),
        ));
    }
    let tls = match &ep.tls_secret {
        None => None,
        Some(secret) => {
            let Some(data) = read_secret(&ctx.client, ns, secret).await? else {
                return Ok(Target::Missing(
                    "RegistryTlsSecretNotFound",
                    format!("Secret {secret:?} (TLS to the EMREG) does not exist yet"),
                ));
            };
            let Some(ca) = data.get(CA_CRT) else {
                return Ok(Target::Missing(
                    "RegistryTlsSecretInvalid",
                    format!("Secret {secret:?} has no ca.crt"),
                ));
            };
            Some(ClientTls {
                ca_pem: ca.clone(),
                cert_pem: data.get(TLS_CRT).cloned(),
                key_pem: data.get(TLS_KEY).cloned(),
            })
        }
    };
    Ok(Target::Ready(ep, tls))
}

/// The PEM certificates the entry lists: for each SigningCertificate its current, next and
/// previous certificate (in that order), then inline ones.
async fn certificates(
    ctx: &Ctx,
    ns: &str,
    e: &RegistryEntry,
) -> Result<Result<Vec<String>, (String, String)>, Error> {
    let certs: Api<SigningCertificate> = Api::namespaced(ctx.client.clone(), ns);
    let mut out = Vec::new();
    for c in &e.spec.certificates {
        if let Some(pem) = &c.pem {
            out.push(pem.trim().to_string() + "\n");
            continue;
        }
        let Some(name) = &c.signing_certificate_ref else {
            continue;
        };
        let Some(sc) = certs.get_opt(name).await? else {
            return Ok(Err((
                "SigningCertificateNotFound".into(),
                format!("SigningCertificate {name:?} does not exist"),
            )));
        };
        let data = read_secret(&ctx.client, ns, &sc.spec.secret_name)
            .await?
            .unwrap_or_default();
        let Some(current) = data.get(TLS_CRT) else {
            return Ok(Err((
                "CertificateNotIssued".into(),
                format!("SigningCertificate {name:?} has not issued a certificate yet"),
            )));
        };
        out.push(current.clone());
        for key in [NEXT_CRT, PREVIOUS_CRT] {
            if let Some(p) = data.get(key) {
                out.push(p.clone());
            }
        }
    }
    Ok(Ok(out))
}

async fn publish(obj: Arc<RegistryEntry>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let old_full = obj.status.clone().unwrap_or_default();
    let old = old_full.common.clone();
    let generation = obj.metadata.generation;
    if let Err(e) = entry::validate(&obj.spec) {
        return invalid(&ctx, &*obj, &old, json!({}), &e).await;
    }
    let fail = |reason: &str, message: String, reconciled: bool| {
        let r = if reconciled {
            Cond::ok(RECONCILED, "Resolved", "references resolved")
        } else {
            Cond::fail(RECONCILED, reason, message.clone())
        };
        [r, Cond::fail(PUBLISHED, reason, message)]
    };
    let write_fail = |conds: [Cond; 2], retry: Duration| {
        let ctx = ctx.clone();
        let obj = obj.clone();
        let old_full = old_full.clone();
        async move {
            let new = RegistryEntryStatus {
                common: merged(&old_full.common, generation, &conds),
                published_revision: old_full.published_revision,
                published_fingerprints: old_full.published_fingerprints.clone(),
            };
            if new.common != old_full.common {
                super::event(
                    &ctx,
                    &*obj,
                    true,
                    &conds[1].reason,
                    conds[1].message.clone(),
                )
                .await;
            }
            write_status(
                &ctx,
                &*obj,
                new != old_full,
                serde_json::to_value(&new).unwrap_or_default(),
            )
            .await?;
            Ok::<Action, Error>(Action::requeue(retry))
        }
    };

    let pems = match certificates(&ctx, &ns, &obj).await? {
        Ok(p) => p,
        Err((reason, message)) => {
            return write_fail(fail(&reason, message, false), Duration::from_secs(15)).await;
        }
    };
    let (ep, tls) = match target(&ctx, &ns, &obj.spec.registry_ref).await? {
        Target::Ready(ep, tls) => (ep, tls),
        Target::Missing(reason, message) => {
            return write_fail(fail(reason, message, false), Duration::from_secs(30)).await;
        }
    };
    let owner = entry::owner_id(&ns, &obj.name_any());
    let uid = obj.uid().unwrap_or_default();
    let desired = entry::desired(&obj.spec, &owner, &uid, pems.clone());
    let stored = match ctx
        .emreg
        .get(&ep.grpc, tls.as_ref(), &obj.spec.acronym)
        .await
    {
        Ok(s) => s,
        Err(e) => {
            return write_fail(
                fail(e.reason(), e.to_string(), true),
                Duration::from_secs(15),
            )
            .await;
        }
    };
    let revision = match stored {
        Some(s) if !entry::is_ours(&s, &owner) => {
            let who = s
                .metadata
                .get(entry::OWNER_KEY)
                .cloned()
                .unwrap_or_else(|| "someone else".into());
            let msg = format!(
                "acronym {:?} is already listed in the EMREG by {who}",
                obj.spec.acronym
            );
            return write_fail(fail("AcronymTaken", msg, true), Duration::from_secs(60)).await;
        }
        Some(s) if entry::up_to_date(&s, &desired) => s.revision,
        _ => match ctx.emreg.upsert(&ep.grpc, tls.as_ref(), desired).await {
            Ok(s) => {
                super::event(
                    &ctx,
                    &*obj,
                    false,
                    "Published",
                    format!("published at revision {}", s.revision),
                )
                .await;
                s.revision
            }
            Err(e) => {
                return write_fail(
                    fail(e.reason(), e.to_string(), true),
                    Duration::from_secs(15),
                )
                .await;
            }
        },
    };
    let fingerprints: Vec<String> = pems
        .iter()
        .filter_map(|p| crate::pki::cert_info(p).ok().map(|i| i.fingerprint))
        .collect();
    let conds = [
        Cond::ok(RECONCILED, "Resolved", "references resolved"),
        Cond::ok(
            PUBLISHED,
            "Published",
            format!(
                "listed in {} with {} certificate(s)",
                ep.grpc,
                fingerprints.len()
            ),
        ),
    ];
    let new = RegistryEntryStatus {
        common: merged(&old, generation, &conds),
        published_revision: Some(i64::try_from(revision).unwrap_or(i64::MAX)),
        published_fingerprints: fingerprints,
    };
    write_status(
        &ctx,
        &*obj,
        new != old_full,
        serde_json::to_value(&new).unwrap_or_default(),
    )
    .await?;
    Ok(Action::requeue(RESYNC))
}

async fn cleanup(obj: Arc<RegistryEntry>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let ns = obj.namespace().unwrap_or_default();
    if obj
        .annotations()
        .get(SKIP_CLEANUP_ANNOTATION)
        .map(String::as_str)
        == Some("true")
    {
        super::event(
            &ctx,
            &*obj,
            true,
            "CleanupSkipped",
            format!(
                "{SKIP_CLEANUP_ANNOTATION} is set: the entry {:?} may remain in the EMREG",
                obj.spec.acronym
            ),
        )
        .await;
        return Ok(Action::await_change());
    }
    let (ep, tls) = match target(&ctx, &ns, &obj.spec.registry_ref).await? {
        Target::Ready(ep, tls) => (ep, tls),
        Target::Missing("RegistryUnavailable", message) => {
            // Our own EMREG is starting or restarting: retry (the escape annotation exists
            // for an EMREG that never comes back).
            return Err(Error::Finalizer(message));
        }
        Target::Missing(reason, message) => {
            // Nothing left to reach it with: let the object go, say so.
            super::event(
                &ctx,
                &*obj,
                true,
                reason,
                format!(
                    "{message}; released without removing {:?} from the EMREG",
                    obj.spec.acronym
                ),
            )
            .await;
            return Ok(Action::await_change());
        }
    };
    let owner = entry::owner_id(&ns, &obj.name_any());
    match ctx
        .emreg
        .get(&ep.grpc, tls.as_ref(), &obj.spec.acronym)
        .await?
    {
        Some(s) if entry::is_ours(&s, &owner) => {
            ctx.emreg
                .delete(&ep.grpc, tls.as_ref(), &obj.spec.acronym)
                .await?;
            tracing::info!(acronym = %obj.spec.acronym, "removed from the EMREG");
        }
        _ => {}
    }
    Ok(Action::await_change())
}
