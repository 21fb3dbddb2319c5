//! NationalContactPoint controller: the NCP and its Signer, and the RegistryEntry that lists the
//! Signer's certificates.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use kube::ResourceExt;
use kube::runtime::controller::{Action, Controller};

use super::status::{self, RESYNC, begin, checked, dereference, merged};
use super::watch;
use super::{Ctx, Error, Flow, internal_mtls, outcome};
use crate::apply;
use crate::build::ncp;
use crate::conditions::{self, Cond, PUBLISHED};
use crate::crd::{NationalContactPoint, RegistryEntry, SigningCertificate};

/// Owns its Deployments (status → `Available`) and RegistryEntry (status → `Published`);
/// follows the SigningCertificate it names, but only its spec (the Secret's name), not the
/// status churn of every renewal.
pub async fn run(ctx: Arc<Ctx>) {
    let controller = Controller::new(ctx.watched::<NationalContactPoint>(), watch::all())
        .with_config(super::config())
        .owns(ctx.watched::<Deployment>(), watch::children())
        .owns(ctx.watched::<RegistryEntry>(), watch::children());
    let controller = watch::follow_changes(
        controller,
        ctx.watched::<SigningCertificate>(),
        watch::generation_key,
        |n: &NationalContactPoint, name| n.spec.signing_certificate_ref == name,
    );
    super::drive("nationalcontactpoint", controller, reconcile, ctx).await;
}

pub async fn reconcile(obj: Arc<NationalContactPoint>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    outcome(reconcile_ncp(&obj, &ctx).await)
}

async fn reconcile_ncp(obj: &NationalContactPoint, ctx: &Ctx) -> Flow<Action> {
    let old = obj.status.clone().unwrap_or_default().common;
    let valid = begin(ctx, obj, &old, ncp::validate).await?;
    let owner = valid.owner();
    // The SigningCertificate names the Secret the Signer mounts.
    let cert_ref = &valid.spec().signing_certificate_ref;
    let cert: SigningCertificate = dereference(ctx, obj, &old, cert_ref).await?;
    let mtls = internal_mtls(
        &ctx.client,
        &owner.namespace,
        &ncp::signer_tls_secret(&owner.name),
        &ncp::ncp_tls_secret(&owner.name),
        &format!("{}/{} signer", owner.namespace, owner.name),
        &ncp::signer_dns(&owner.name, &owner.namespace),
    )
    .await?;
    let inputs = ncp::NcpInputs {
        image: &ctx.image,
        signing_secret: &cert.spec.secret_name,
        mtls: &mtls,
    };
    let children = checked(ctx, obj, &old, ncp::build(&valid, &inputs)).await?;
    let applied = apply::apply_cached(&ctx.client, &ctx.applied, &ctx.pdb, owner, children).await?;

    let conds = [
        status::applied(applied.pruned),
        status::available(&applied.deployments),
        published_cond(applied.registry_entries.first()),
    ];
    let new = merged(&old, obj.metadata.generation, &conds);
    status::write_status(ctx, obj, &old, &new).await?;
    tracing::debug!(name = %obj.name_any(), ready = conditions::is_true(&new, conditions::READY), "reconciled");
    Ok(Action::requeue(RESYNC))
}

/// `Published` as the NCP's RegistryEntry reports it.
fn published_cond(entry: Option<&RegistryEntry>) -> Cond {
    let published = entry
        .and_then(|e| e.status.as_ref())
        .and_then(|s| conditions::find(&s.common, PUBLISHED));
    match published {
        Some(c) if c.status == "True" => Cond::ok(PUBLISHED, "Published", c.message.clone()),
        Some(c) => Cond::fail(PUBLISHED, &c.reason, c.message.clone()),
        None => Cond::fail(
            PUBLISHED,
            "Pending",
            "the RegistryEntry has not been published yet",
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use serde_json::{Value, json};

    use super::*;
    use crate::controller::fixtures::{NS, condition, context, finish, object, path_of, start};
    use crate::crd::NationalContactPointStatus;

    fn spec() -> Value {
        json!({
            "countryCode": "FI",
            "institutions": ["University of Helsinki"],
            "publicUrl": "https://emrex.helsinki.example/ncp",
            "registryRef": "alliance",
            "signingCertificateRef": "helsinki-signing",
            "login": {"issuer": "https://login.helsinki.example", "clientId": "emrex-ncp", "clientSecret": {"name": "helsinki-oidc", "key": "client-secret"}},
            "source": {"kind": "Grpc", "endpoint": "https://sis.helsinki.example:8443"},
        })
    }

    #[tokio::test]
    async fn a_deleted_ncp_is_left_to_the_garbage_collector() {
        let (ctx, _api) = context();
        let mut ncp: NationalContactPoint = object("helsinki", spec());
        ncp.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        // No request at all: an unanswered one would keep the reconcile from finishing.
        let action = finish(start(reconcile(Arc::new(ncp), ctx))).await;
        assert_eq!(action.expect("ok"), Action::await_change());
    }

    #[tokio::test]
    async fn an_invalid_spec_is_reported_once_and_waits_for_a_change() {
        let (ctx, mut api) = context();
        let mut bad = spec();
        bad["countryCode"] = json!("Finland");
        let ncp: NationalContactPoint = object("helsinki", bad);
        let task = start(reconcile(Arc::new(ncp.clone()), ctx.clone()));
        // Nothing is read before the spec is known to be valid.
        let note = api.event(NS, "Warning", "InvalidSpec").await;
        assert!(note.starts_with("spec.countryCode: "), "{note}");
        let status = api
            .status(&path_of("nationalcontactpoints", "helsinki"), &ncp)
            .await;
        let (st, reason, message) = condition(&status, "Reconciled");
        assert_eq!((st.as_str(), reason.as_str()), ("False", "InvalidSpec"));
        assert_eq!(message, note);
        assert_eq!(condition(&status, "Ready").0, "False");
        assert_eq!(status["observedGeneration"], 3);
        assert_eq!(finish(task).await.expect("ok"), Action::await_change());

        // Reconciled again with that status showing: no second event, no status write.
        let mut shown = ncp;
        shown.status = Some(NationalContactPointStatus {
            common: serde_json::from_value(status).expect("status"),
        });
        let again = finish(start(reconcile(Arc::new(shown), ctx))).await;
        assert_eq!(again.expect("ok"), Action::await_change());
    }

    #[tokio::test]
    async fn a_missing_signing_certificate_is_reported_and_looked_up_again() {
        let (ctx, mut api) = context();
        let ncp: NationalContactPoint = object("helsinki", spec());
        let task = start(reconcile(Arc::new(ncp.clone()), ctx));
        api.expect("GET", &path_of("signingcertificates", "helsinki-signing"))
            .await
            .not_found();
        let note = api.event(NS, "Warning", "SigningCertificateNotFound").await;
        assert_eq!(
            note,
            "SigningCertificate \"helsinki-signing\" does not exist in this namespace"
        );
        let status = api
            .status(&path_of("nationalcontactpoints", "helsinki"), &ncp)
            .await;
        assert_eq!(
            condition(&status, "Reconciled"),
            ("False".into(), "SigningCertificateNotFound".into(), note)
        );
        assert_eq!(
            finish(task).await.expect("ok"),
            Action::requeue(Duration::from_secs(30))
        );
    }

    #[test]
    fn published_follows_the_entry() {
        assert_eq!(published_cond(None).reason, "Pending");
        let mut entry: RegistryEntry = object(
            "helsinki",
            json!({"registryRef": "r", "acronym": "A", "countryCode": "FI", "url": "https://a.example", "certificates": []}),
        );
        assert_eq!(published_cond(Some(&entry)).reason, "Pending");
        let shown = |st: &str, reason: &str| {
            serde_json::from_value(json!({"conditions": [{
                "type": "Published", "status": st, "reason": reason, "message": "m",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }]}))
            .expect("status")
        };
        entry.status = Some(shown("False", "RegistryUnreachable"));
        let c = published_cond(Some(&entry));
        assert!(!c.ok && c.reason == "RegistryUnreachable" && c.message == "m");
        entry.status = Some(shown("True", "Published"));
        assert!(published_cond(Some(&entry)).ok);
    }
}
