//! RegistryEntry controller: publishes the entry in its Registry's EMREG and removes it there
//! before the object goes (finalizer `emrex.eu/registry-entry`).
//!
//! The finalizer never wedges deletion for good: when the Registry object is gone, when its TLS
//! Secret is gone, or when the entry carries the annotation `emrex.eu/skip-registry-cleanup:
//! "true"`, the finalizer is released without contacting the EMREG (with an event saying the
//! entry may remain there). See docs/operator.md.

use std::sync::Arc;
use std::time::Duration;

use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{self, Event as FinalizerEvent};
use kube::{Api, ResourceExt};

use super::status::{self, RESYNC, invalid, merged, warn_and_write};
use super::watch;
use super::{Ctx, Error, read_secret, secret_text};
use crate::build::entry::ValidatedEntry;
use crate::build::{entry, registry};
use crate::conditions::{Cond, PUBLISHED, RECONCILED};
use crate::crd::{Registry, RegistryEntry, RegistryEntryStatus, SigningCertificate};
use crate::emreg::ClientTls;
use crate::names::{
    CA_CRT, NEXT_CRT, PREVIOUS_CRT, REGISTRY_FINALIZER, SKIP_CLEANUP_ANNOTATION, TLS_CRT, TLS_KEY,
};

/// Follows its Registry (spec and availability, not its entry count) and the
/// SigningCertificates it lists (every status change: a new certificate is published at once).
pub async fn run(ctx: Arc<Ctx>) {
    let controller =
        Controller::new(ctx.watched::<RegistryEntry>(), watch::all()).with_config(super::config());
    let controller = watch::follow(
        controller,
        ctx.watched::<SigningCertificate>(),
        |e: &RegistryEntry, name| {
            e.spec
                .certificates
                .iter()
                .any(|c| c.signing_certificate_ref.as_deref() == Some(name))
        },
    );
    let controller = watch::follow_changes(
        controller,
        ctx.watched::<Registry>(),
        watch::registry_key,
        |e: &RegistryEntry, name| e.spec.registry_ref == name,
    );
    super::drive("registryentry", controller, reconcile, ctx).await;
}

pub async fn reconcile(obj: Arc<RegistryEntry>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let api: Api<RegistryEntry> = Api::namespaced(ctx.client.clone(), &ns);
    finalizer::finalizer(&api, REGISTRY_FINALIZER, obj, |event| async move {
        match event {
            FinalizerEvent::Apply(e) => publish(e, ctx).await,
            FinalizerEvent::Cleanup(e) => cleanup(e, ctx).await,
        }
    })
    .await
    .map_err(|e| match e {
        finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => e,
        other => Error::Finalizer(Box::new(other)),
    })
}

/// Why an entry cannot be published (yet), as a condition reason and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    pub reason: &'static str,
    pub message: String,
}

impl Unresolved {
    fn new(reason: &'static str, message: String) -> Self {
        Self { reason, message }
    }
}

/// The reason while the EMREG the operator runs has no available replica.
const REGISTRY_UNAVAILABLE: &str = "RegistryUnavailable";

/// Where to publish: the EMREG's gRPC endpoint and client TLS.
type Target = (String, Option<ClientTls>);

async fn target(
    ctx: &Ctx,
    ns: &str,
    registry_ref: &str,
) -> Result<Result<Target, Unresolved>, Error> {
    let registries: Api<Registry> = Api::namespaced(ctx.client.clone(), ns);
    let Some(reg) = registries.get_opt(registry_ref).await? else {
        return Ok(Err(Unresolved::new(
            "RegistryNotFound",
            format!("Registry {registry_ref:?} does not exist in this namespace"),
        )));
    };
    let ep = registry::endpoint(&reg, registry_ref, ns);
    let Some(grpc) = ep.grpc.clone() else {
        return Ok(Err(Unresolved::new(
            "RegistryNotPublishable",
            format!(
                "Registry {registry_ref:?} is only an EWP catalogue (no grpcEndpoint): there is no \
                 EMREG to publish to; publish through an EMREG whose /ewp/manifest.xml the EWP \
                 registry harvests"
            ),
        )));
    };
    if ep.in_cluster
        && !reg
            .status
            .as_ref()
            .is_some_and(|s| crate::conditions::is_true(&s.common, crate::conditions::AVAILABLE))
    {
        return Ok(Err(Unresolved::new(
            REGISTRY_UNAVAILABLE,
            format!("the EMREG of Registry {registry_ref:?} has no available replica yet"),
        )));
    }
    let tls = match &ep.tls_secret {
        None => None,
        Some(secret) => {
            let Some(data) = read_secret(&ctx.client, ns, secret).await? else {
                return Ok(Err(Unresolved::new(
                    "RegistryTlsSecretNotFound",
                    format!("Secret {secret:?} (TLS to the EMREG) does not exist yet"),
                )));
            };
            let Some(ca) = data.get(CA_CRT) else {
                return Ok(Err(Unresolved::new(
                    "RegistryTlsSecretInvalid",
                    format!("Secret {secret:?} has no ca.crt"),
                )));
            };
            Some(ClientTls {
                ca_pem: ca.clone(),
                cert_pem: data.get(TLS_CRT).cloned(),
                key_pem: data.get(TLS_KEY).cloned(),
            })
        }
    };
    Ok(Ok((grpc, tls)))
}

/// The PEM certificates the entry lists: for each SigningCertificate its current, next and
/// previous certificate (in that order), then inline ones.
async fn certificates(
    ctx: &Ctx,
    ns: &str,
    entry: ValidatedEntry<'_>,
) -> Result<Result<Vec<String>, Unresolved>, Error> {
    let certs: Api<SigningCertificate> = Api::namespaced(ctx.client.clone(), ns);
    let mut out = Vec::new();
    for c in &entry.spec().certificates {
        if let Some(pem) = &c.pem {
            out.push(pem.trim().to_string() + "\n");
            continue;
        }
        let Some(name) = &c.signing_certificate_ref else {
            continue;
        };
        let Some(sc) = certs.get_opt(name).await? else {
            return Ok(Err(Unresolved::new(
                "SigningCertificateNotFound",
                format!("SigningCertificate {name:?} does not exist"),
            )));
        };
        let secrets: Api<k8s_openapi::api::core::v1::Secret> =
            Api::namespaced(ctx.client.clone(), ns);
        let secret = secrets.get_opt(&sc.spec.secret_name).await?;
        // Only what the SigningCertificate wrote is its certificate: a Secret of that name it
        // refused to take over (someone else's, see the certificate controller) is never
        // published as this NCP's signing certificate.
        if let Some(s) = &secret
            && s.labels().get(super::cert::SECRET_LABEL) != Some(name)
        {
            return Ok(Err(Unresolved::new(
                "CertificateNotIssued",
                format!(
                    "SigningCertificate {name:?} has not issued a certificate yet: Secret {:?} \
                     was not written for it (see the SigningCertificate's status)",
                    sc.spec.secret_name
                ),
            )));
        }
        let data = secret.as_ref().map(secret_text).unwrap_or_default();
        let Some(current) = data.get(TLS_CRT) else {
            return Ok(Err(Unresolved::new(
                "CertificateNotIssued",
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

/// The entry is not published: `Published=False` (and `Reconciled=False` too unless its
/// references resolved), a Warning event when that is news, the published revision and
/// fingerprints kept (the EMREG still lists them), and a retry after `retry`.
async fn not_published(
    ctx: &Ctx,
    obj: &RegistryEntry,
    old: &RegistryEntryStatus,
    why: Unresolved,
    resolved: bool,
    retry: Duration,
) -> Result<Action, Error> {
    let reconciled = if resolved {
        Cond::ok(RECONCILED, "Resolved", "references resolved")
    } else {
        Cond::fail(RECONCILED, why.reason, why.message.clone())
    };
    let conds = [
        reconciled,
        Cond::fail(PUBLISHED, why.reason, why.message.clone()),
    ];
    let new = RegistryEntryStatus {
        common: merged(&old.common, obj.metadata.generation, &conds),
        ..old.clone()
    };
    warn_and_write(ctx, obj, old, &new, why.reason, &why.message).await?;
    Ok(Action::requeue(retry))
}

async fn publish(obj: Arc<RegistryEntry>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let old = obj.status.clone().unwrap_or_default();
    let valid = match entry::validate(&obj.spec) {
        Ok(v) => v,
        Err(e) => return invalid(&ctx, &*obj, &old.common, &e).await,
    };
    let unresolved = |why, retry| not_published(&ctx, &obj, &old, why, false, retry);
    let refused = |why, retry| not_published(&ctx, &obj, &old, why, true, retry);
    let emreg_failed = |e: crate::emreg::EmregError| {
        refused(
            Unresolved::new(e.reason(), e.to_string()),
            Duration::from_secs(15),
        )
    };

    let pems = match certificates(&ctx, &ns, valid).await? {
        Ok(p) => p,
        Err(why) => return unresolved(why, Duration::from_secs(15)).await,
    };
    let (ep, tls) = match target(&ctx, &ns, &obj.spec.registry_ref).await? {
        Ok(t) => t,
        Err(why) => return unresolved(why, Duration::from_secs(30)).await,
    };
    let owner = entry::owner_id(&ns, &obj.name_any());
    let uid = obj.uid().unwrap_or_default();
    let desired = entry::desired(valid, &owner, &uid, pems.clone());
    let stored = match ctx.emreg.get(&ep, tls.as_ref(), &obj.spec.acronym).await {
        Ok(s) => s,
        Err(e) => return emreg_failed(e).await,
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
            return refused(
                Unresolved::new("AcronymTaken", msg),
                Duration::from_secs(60),
            )
            .await;
        }
        Some(s) if entry::up_to_date(&s, &desired) => s.revision,
        _ => match ctx.emreg.upsert(&ep, tls.as_ref(), desired).await {
            Ok(s) => {
                status::event(
                    &ctx,
                    &*obj,
                    false,
                    "Published",
                    format!("published at revision {}", s.revision),
                )
                .await;
                s.revision
            }
            Err(e) => return emreg_failed(e).await,
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
                ep,
                fingerprints.len()
            ),
        ),
    ];
    let new = RegistryEntryStatus {
        common: merged(&old.common, obj.metadata.generation, &conds),
        published_revision: Some(i64::try_from(revision).unwrap_or(i64::MAX)),
        published_fingerprints: fingerprints,
    };
    status::write_status(&ctx, &*obj, &old, &new).await?;
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
        status::event(
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
        Ok(t) => t,
        Err(why) if why.reason == REGISTRY_UNAVAILABLE => {
            // Our own EMREG is starting or restarting: retry (the escape annotation exists
            // for an EMREG that never comes back).
            return Err(Error::RegistryUnavailable {
                registry: obj.spec.registry_ref.clone(),
            });
        }
        Err(why) => {
            // Nothing left to reach it with: let the object go, say so.
            status::event(
                &ctx,
                &*obj,
                true,
                why.reason,
                format!(
                    "{}; released without removing {:?} from the EMREG",
                    why.message, obj.spec.acronym
                ),
            )
            .await;
            return Ok(Action::await_change());
        }
    };
    let owner = entry::owner_id(&ns, &obj.name_any());
    match ctx.emreg.get(&ep, tls.as_ref(), &obj.spec.acronym).await? {
        Some(s) if entry::is_ours(&s, &owner) => {
            ctx.emreg
                .delete(&ep, tls.as_ref(), &obj.spec.acronym)
                .await?;
            tracing::info!(acronym = %obj.spec.acronym, "removed from the EMREG");
        }
        _ => {}
    }
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use serde_json::{Value, json};

    use super::*;
    use crate::controller::fixtures::{
        ApiServer, NS, condition, context, finish, object, path_of, start,
    };

    fn entry(finalized: bool, deleting: bool) -> RegistryEntry {
        let mut e: RegistryEntry = object(
            "helsinki",
            json!({
                "registryRef": "alliance", "acronym": "helsinki", "countryCode": "FI",
                "url": "https://emrex.helsinki.example/ncp",
                "certificates": [{"signingCertificateRef": "helsinki-signing"}],
            }),
        );
        if finalized {
            e.metadata.finalizers = Some(vec![REGISTRY_FINALIZER.into()]);
        }
        if deleting {
            e.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        }
        e
    }

    /// The finalizer comes off with a JSON patch that first tests it is still there.
    async fn finalizer_removed(api: &mut ApiServer, e: &RegistryEntry) {
        let call = api
            .expect("PATCH", &path_of("registryentries", "helsinki"))
            .await;
        assert_eq!(call.body[0]["op"], "test");
        assert_eq!(call.body[0]["value"], REGISTRY_FINALIZER);
        assert_eq!(call.body[1]["op"], "remove");
        let mut released = e.clone();
        released.metadata.finalizers = None;
        call.respond(200, json!(released));
    }

    #[tokio::test]
    async fn a_new_entry_gets_the_finalizer_before_anything_is_published() {
        let (ctx, mut api) = context();
        let e = entry(false, false);
        let task = start(reconcile(Arc::new(e.clone()), ctx));
        let call = api
            .expect("PATCH", &path_of("registryentries", "helsinki"))
            .await;
        let added = call
            .body
            .as_array()
            .and_then(|ops| ops.iter().find(|op| op["op"] == "add"))
            .cloned()
            .unwrap_or(Value::Null);
        assert_eq!(added["path"], "/metadata/finalizers");
        assert_eq!(added["value"], json!([REGISTRY_FINALIZER]));
        call.respond(200, json!(entry(true, false)));
        assert_eq!(finish(task).await.expect("ok"), Action::await_change());
    }

    #[tokio::test]
    async fn the_skip_annotation_releases_the_entry_without_contacting_the_emreg() {
        let (ctx, mut api) = context();
        let mut e = entry(true, true);
        e.metadata.annotations = Some([(SKIP_CLEANUP_ANNOTATION.into(), "true".into())].into());
        let task = start(reconcile(Arc::new(e.clone()), ctx));
        let note = api.event(NS, "Warning", "CleanupSkipped").await;
        assert!(note.contains("may remain in the EMREG"), "{note}");
        finalizer_removed(&mut api, &e).await;
        assert_eq!(finish(task).await.expect("ok"), Action::await_change());
    }

    #[tokio::test]
    async fn a_deleted_registry_releases_the_entry_with_a_warning() {
        let (ctx, mut api) = context();
        let e = entry(true, true);
        let task = start(reconcile(Arc::new(e.clone()), ctx));
        api.expect("GET", &path_of("registries", "alliance"))
            .await
            .not_found();
        let note = api.event(NS, "Warning", "RegistryNotFound").await;
        assert!(
            note.ends_with("released without removing \"helsinki\" from the EMREG"),
            "{note}"
        );
        finalizer_removed(&mut api, &e).await;
        assert_eq!(finish(task).await.expect("ok"), Action::await_change());
    }

    #[tokio::test]
    async fn a_registry_that_is_only_an_ewp_catalogue_has_nothing_to_publish_to() {
        let (ctx, mut api) = context();
        let e = entry(true, true);
        let task = start(reconcile(Arc::new(e.clone()), ctx));
        let reg: Registry = object(
            "alliance",
            json!({"external": {"ewpCatalogueUrl": "https://registry.example/catalogue-v1.xml"}}),
        );
        api.expect("GET", &path_of("registries", "alliance"))
            .await
            .respond(200, json!(reg));
        let note = api.event(NS, "Warning", "RegistryNotPublishable").await;
        assert!(
            note.contains("only an EWP catalogue") && note.contains("released without removing"),
            "{note}"
        );
        finalizer_removed(&mut api, &e).await;
        assert_eq!(finish(task).await.expect("ok"), Action::await_change());
    }

    #[tokio::test]
    async fn an_unavailable_in_cluster_emreg_keeps_the_finalizer_and_retries() {
        let (ctx, mut api) = context();
        let task = start(reconcile(Arc::new(entry(true, true)), ctx));
        // The Registry exists and runs here, but its EMREG has no available replica.
        let reg: Registry = object("alliance", json!({}));
        api.expect("GET", &path_of("registries", "alliance"))
            .await
            .respond(200, json!(reg));
        // No event, no finalizer removal: a typed error the controller retries.
        match finish(task).await {
            Err(err @ Error::RegistryUnavailable { .. }) => {
                assert_eq!(err.reason(), "RegistryUnavailable");
                assert_eq!(
                    err.to_string(),
                    "the EMREG of Registry \"alliance\" has no available replica yet"
                );
            }
            other => panic!("expected RegistryUnavailable, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_secret_its_certificate_did_not_write_is_never_published() {
        let (ctx, mut api) = context();
        let e = entry(true, false);
        let task = start(reconcile(Arc::new(e.clone()), ctx));
        let sc: SigningCertificate = object(
            "helsinki-signing",
            json!({"secretName": "someone-elses-tls", "commonName": "helsinki.example"}),
        );
        api.expect("GET", &path_of("signingcertificates", "helsinki-signing"))
            .await
            .respond(200, json!(sc));
        // A TLS Secret with a certificate in it, but not written for this SigningCertificate.
        api.expect(
            "GET",
            "/api/v1/namespaces/alliance/secrets/someone-elses-tls",
        )
        .await
        .respond(
            200,
            json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "someone-elses-tls", "namespace": NS},
                "type": "kubernetes.io/tls",
                "data": {"tls.crt": "LS0tLS1CRUdJTg==", "tls.key": "c2VjcmV0"},
            }),
        );
        // Nothing goes to the EMREG: the next request is the event.
        let note = api.event(NS, "Warning", "CertificateNotIssued").await;
        assert!(note.contains("was not written for it"), "{note}");
        let status = api
            .status(&path_of("registryentries", "helsinki"), &e)
            .await;
        assert_eq!(condition(&status, "Published").1, "CertificateNotIssued");
        finish(task).await.expect("ok");
    }

    #[tokio::test]
    async fn publication_waits_for_an_issued_certificate_and_keeps_what_was_published() {
        let (ctx, mut api) = context();
        let mut e = entry(true, false);
        e.status = Some(RegistryEntryStatus {
            published_revision: Some(7),
            published_fingerprints: vec!["ab12".into()],
            ..RegistryEntryStatus::default()
        });
        let task = start(reconcile(Arc::new(e.clone()), ctx));
        let sc: SigningCertificate = object(
            "helsinki-signing",
            json!({"secretName": "helsinki-signing-key", "commonName": "helsinki.example"}),
        );
        api.expect("GET", &path_of("signingcertificates", "helsinki-signing"))
            .await
            .respond(200, json!(sc));
        api.expect(
            "GET",
            "/api/v1/namespaces/alliance/secrets/helsinki-signing-key",
        )
        .await
        .not_found();
        let note = api.event(NS, "Warning", "CertificateNotIssued").await;
        let status = api
            .status(&path_of("registryentries", "helsinki"), &e)
            .await;
        assert_eq!(
            condition(&status, "Published"),
            ("False".into(), "CertificateNotIssued".into(), note.clone())
        );
        assert_eq!(
            condition(&status, "Reconciled"),
            ("False".into(), "CertificateNotIssued".into(), note)
        );
        assert_eq!(status["publishedRevision"], 7);
        assert_eq!(status["publishedFingerprints"], json!(["ab12"]));
        assert_eq!(
            finish(task).await.expect("ok"),
            Action::requeue(Duration::from_secs(15))
        );
    }
}
