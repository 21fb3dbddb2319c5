//! SigningCertificate controller: issues the key and certificate into the Secret, renews and
//! rotates them following [`crate::rotation::plan`], and reports validity in status and metrics.
//!
//! The Secret is not owned by the SigningCertificate (like cert-manager's default): deleting the
//! resource does not delete the key a running Signer uses. Deleting the Secret forces a re-issue.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{ListParams, Patch};
use kube::runtime::controller::{Action, Controller};
use kube::{Api, ResourceExt};

use super::status::{self, invalid, merged};
use super::{Ctx, Error, read_secret, secret_text, watch};
use crate::apply::apply_params;
use crate::build::BuildError;
use crate::conditions::{Cond, PUBLISHED, RECONCILED};
use crate::crd::{RegistryEntry, SigningCertificate, SigningCertificateStatus};
use crate::names::{
    MANAGED_BY, NEXT_CRT, NEXT_ISSUED_ANNOTATION, NEXT_KEY, PREVIOUS_CRT,
    PREVIOUS_UNTIL_ANNOTATION, TLS_CRT, TLS_KEY,
};
use crate::pki::{self, CaMaterial, SigningRequest};
use crate::rotation::{CertPolicy, Material, Step, plan, whole_seconds};

/// Label on the Secret naming its SigningCertificate.
pub const SECRET_LABEL: &str = "emrex.eu/signing-certificate";

/// Follows the RegistryEntries listing it (publication gates rotation) and its Secret (deleted
/// or edited by hand → re-issued or repaired at once).
pub async fn run(ctx: Arc<Ctx>) {
    let secrets = kube::runtime::watcher::Config::default()
        .labels(SECRET_LABEL)
        .any_semantic();
    let controller = Controller::new(ctx.watched::<SigningCertificate>(), watch::all())
        .with_config(super::config())
        .watches(ctx.watched::<Secret>(), secrets, |s| {
            let ns = s.namespace();
            s.labels()
                .get(SECRET_LABEL)
                .map(|n| watch::named(n, ns.as_deref()))
        })
        .watches(ctx.watched::<RegistryEntry>(), watch::all(), |e| {
            let ns = e.namespace();
            e.spec
                .certificates
                .iter()
                .filter_map(|c| c.signing_certificate_ref.as_deref())
                .map(|n| watch::named(n, ns.as_deref()))
                .collect::<Vec<_>>()
        });
    super::drive("signingcertificate", controller, reconcile, ctx).await;
}

pub async fn reconcile(obj: Arc<SigningCertificate>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let name = obj.name_any();
    if obj.metadata.deletion_timestamp.is_some() {
        ctx.metrics.forget_certificate(&ns, &name);
        return Ok(Action::await_change());
    }
    let old_full = obj.status.clone().unwrap_or_default();
    let policy = match CertPolicy::from_spec(&obj.spec) {
        Ok(p) => p,
        Err(e) => {
            let err = BuildError::invalid("spec", e.to_string());
            return invalid(&ctx, &*obj, &old_full.common, &err).await;
        }
    };
    let ca = match &obj.spec.ca_secret {
        None => None,
        Some(ca_name) => match read_secret(&ctx.client, &ns, ca_name).await? {
            Some(d) => match (d.get(TLS_CRT), d.get(TLS_KEY)) {
                (Some(c), Some(k)) => Some(CaMaterial {
                    cert_pem: c.clone(),
                    key_pem: k.clone(),
                }),
                _ => {
                    let err = BuildError::invalid(
                        "spec.caSecret",
                        format!("Secret {ca_name:?} needs tls.crt and tls.key"),
                    );
                    return invalid(&ctx, &*obj, &old_full.common, &err).await;
                }
            },
            None => {
                let err = BuildError::invalid(
                    "spec.caSecret",
                    format!("Secret {ca_name:?} does not exist"),
                );
                return invalid(&ctx, &*obj, &old_full.common, &err).await;
            }
        },
    };

    let (data, annotations) = match read_key_secret(&ctx, &ns, &obj.spec.secret_name, &name).await?
    {
        Ok(found) => found,
        Err(foreign) => {
            // Not ours: writing would replace someone else's key (the apply is forced). Said in
            // status and an event; looked at again in a minute, since deleting that Secret
            // sends no event here (only Secrets with our label are watched).
            let err = BuildError::invalid("spec.secretName", foreign);
            invalid(&ctx, &*obj, &old_full.common, &err).await?;
            return Ok(Action::requeue(FOREIGN_SECRET_RECHECK));
        }
    };
    let material = parse_material(&data, &annotations);
    let next_published = match &material.next {
        None => true,
        Some(next) => next_published(&ctx, &ns, &name, &next.fingerprint).await?,
    };
    let now = Timestamp::now();
    let step = plan(&policy, &material, now, next_published);
    tracing::debug!(%ns, %name, ?step, "certificate plan");

    let mut new_data = data.clone();
    let mut new_annotations = annotations.clone();
    let issue = |reason: &str| {
        let (nb, na) = policy.validity(now);
        tracing::info!(%ns, %name, reason, "issuing a signing certificate");
        pki::issue_signing_blocking(
            SigningRequest {
                common_name: policy.common_name.clone(),
                organization: policy.organization.clone(),
                algorithm: policy.algorithm,
                rsa_bits: policy.rsa_bits,
                not_before: nb,
                not_after: na,
            },
            ca.clone(),
        )
    };
    let mut event: Option<(&str, String)> = None;
    match &step {
        Step::IssueCurrent { reason } => {
            let issued = issue(reason).await?;
            new_data = BTreeMap::from([
                (TLS_KEY.into(), issued.key_pem),
                (TLS_CRT.into(), issued.cert_pem),
            ]);
            new_annotations.clear();
            event = Some(("Issued", format!("issued a certificate ({reason})")));
        }
        Step::IssueNext { reason } => {
            let issued = issue(reason).await?;
            new_data.insert(NEXT_KEY.into(), issued.key_pem);
            new_data.insert(NEXT_CRT.into(), issued.cert_pem);
            new_annotations.insert(
                NEXT_ISSUED_ANNOTATION.into(),
                whole_seconds(now).to_string(),
            );
            event = Some((
                "NextIssued",
                format!("issued the next certificate ({reason}); published before use"),
            ));
        }
        Step::Switch => {
            if let (Some(k), Some(c)) = (data.get(NEXT_KEY), data.get(NEXT_CRT)) {
                if let Some(old) = data.get(TLS_CRT) {
                    new_data.insert(PREVIOUS_CRT.into(), old.clone());
                }
                new_data.insert(TLS_KEY.into(), k.clone());
                new_data.insert(TLS_CRT.into(), c.clone());
                new_data.remove(NEXT_KEY);
                new_data.remove(NEXT_CRT);
                new_annotations.remove(NEXT_ISSUED_ANNOTATION);
                let until = now
                    .saturating_add(
                        SignedDuration::try_from(policy.grace_period)
                            .unwrap_or(SignedDuration::MAX),
                    )
                    .unwrap_or(now);
                new_annotations.insert(
                    PREVIOUS_UNTIL_ANNOTATION.into(),
                    whole_seconds(until).to_string(),
                );
                event = Some(("Switched", "the Signer now uses the next certificate; the previous stays listed for the grace period".into()));
            }
        }
        Step::DropPrevious => {
            new_data.remove(PREVIOUS_CRT);
            new_annotations.remove(PREVIOUS_UNTIL_ANNOTATION);
            event = Some((
                "PreviousRemoved",
                "the grace period ended; the previous certificate is no longer listed".into(),
            ));
        }
        Step::Wait { .. } => {}
    }
    if new_data != data || new_annotations != annotations {
        write_secret(&ctx, &ns, &obj, new_data.clone(), new_annotations.clone()).await?;
    }
    if let Some((reason, note)) = event {
        status::event(&ctx, &*obj, false, reason, note).await;
    }

    // Status from what the Secret now holds.
    let m = parse_material(&new_data, &new_annotations);
    let mut conds = vec![];
    let mut status = SigningCertificateStatus::default();
    match &m.current {
        Some(cur) => {
            let renewal = policy.renewal_time(cur);
            status.not_before = Some(cur.not_before.to_string());
            status.not_after = Some(cur.not_after.to_string());
            status.renewal_time = Some(renewal.to_string());
            status.fingerprint = Some(cur.fingerprint.clone());
            ctx.metrics
                .certificate(&ns, &name, cur.not_after.as_second(), renewal.as_second());
            let phase = match (&m.next, &m.previous) {
                (Some(_), _) if !next_published => {
                    "next certificate issued, waiting for it to be published"
                }
                (Some(_), _) => "next certificate published, waiting for the propagation delay",
                (None, Some(_)) => {
                    "rotated; the previous certificate is listed until the grace period ends"
                }
                (None, None) => "certificate issued",
            };
            conds.push(Cond::ok(RECONCILED, "Issued", phase));
        }
        None => conds.push(Cond::fail(RECONCILED, "NotIssued", "no certificate yet")),
    }
    status.next_fingerprint = m.next.as_ref().map(|c| c.fingerprint.clone());
    status.previous_fingerprint = m.previous.as_ref().map(|c| c.fingerprint.clone());
    status.common = merged(&old_full.common, obj.metadata.generation, &conds);
    status::write_status(&ctx, &*obj, &old_full, &status).await?;

    // Come back when the next step is due.
    let after = match plan(&policy, &m, Timestamp::now(), next_published) {
        Step::Wait {
            awaiting_publication: true,
            wake,
        } => wake_in(wake).min(Duration::from_secs(5)),
        Step::Wait { wake, .. } => wake_in(wake),
        _ => Duration::from_millis(200),
    };
    Ok(Action::requeue(after))
}

fn wake_in(wake: Option<Timestamp>) -> Duration {
    let Some(w) = wake else {
        return Duration::from_secs(3600);
    };
    let secs = w.as_second() - Timestamp::now().as_second();
    Duration::from_secs(u64::try_from(secs.clamp(1, 3600)).unwrap_or(1))
}

/// Parses what the Secret holds; unreadable entries count as absent (and get re-issued).
pub fn parse_material(
    data: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) -> Material {
    let cert = |k: &str| data.get(k).and_then(|p| pki::cert_info(p).ok());
    let ts = |k: &str| annotations.get(k).and_then(|v| v.parse::<Timestamp>().ok());
    Material {
        current: cert(TLS_CRT).filter(|_| data.contains_key(TLS_KEY)),
        next: cert(NEXT_CRT).filter(|_| data.contains_key(NEXT_KEY)),
        previous: cert(PREVIOUS_CRT),
        next_issued_at: ts(NEXT_ISSUED_ANNOTATION),
        previous_until: ts(PREVIOUS_UNTIL_ANNOTATION),
    }
}

/// How soon a SigningCertificate whose `secretName` is taken by another Secret looks again.
const FOREIGN_SECRET_RECHECK: Duration = Duration::from_secs(60);

/// The key Secret's entries and the rotation annotations on it, both empty when it does not
/// exist, from one read; or, when a Secret of that name exists that this SigningCertificate did
/// not write (another one's, or anyone else's), why it is left alone.
async fn read_key_secret(
    ctx: &Ctx,
    ns: &str,
    name: &str,
    certificate: &str,
) -> Result<Result<(BTreeMap<String, String>, BTreeMap<String, String>), String>, kube::Error> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
    let Some(secret) = api.get_opt(name).await? else {
        return Ok(Ok(Default::default()));
    };
    if let Some(why) = foreign_secret(&secret, name, certificate) {
        return Ok(Err(why));
    }
    let annotations = secret
        .metadata
        .annotations
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k == NEXT_ISSUED_ANNOTATION || k == PREVIOUS_UNTIL_ANNOTATION)
        .collect();
    Ok(Ok((secret_text(&secret), annotations)))
}

/// Why the Secret `name` is not this `certificate`'s to write, if it is not: every Secret the
/// operator writes for a SigningCertificate carries [`SECRET_LABEL`] with its name.
fn foreign_secret(secret: &Secret, name: &str, certificate: &str) -> Option<String> {
    let owner = secret.labels().get(SECRET_LABEL);
    if owner.map(String::as_str) == Some(certificate) {
        return None;
    }
    let whose = match owner {
        Some(other) => format!("SigningCertificate {other:?}'s"),
        None => format!(
            "not written by a SigningCertificate (no {SECRET_LABEL} label, type {})",
            secret.type_.as_deref().unwrap_or("Opaque")
        ),
    };
    Some(format!(
        "Secret {name:?} already exists and is {whose}; the operator does not overwrite it. \
         Choose another secretName, delete that Secret if it may go, or hand a kubernetes.io/tls \
         Secret over with the label {SECRET_LABEL}={certificate} (docs/operator.md)"
    ))
}

/// Whether every RegistryEntry listing this certificate has published `fingerprint`.
async fn next_published(
    ctx: &Ctx,
    ns: &str,
    name: &str,
    fingerprint: &str,
) -> Result<bool, kube::Error> {
    let entries: Api<RegistryEntry> = Api::namespaced(ctx.client.clone(), ns);
    Ok(entries
        .list(&ListParams::default().match_any())
        .await?
        .items
        .iter()
        .filter(|e| {
            e.metadata.deletion_timestamp.is_none()
                && e.spec
                    .certificates
                    .iter()
                    .any(|c| c.signing_certificate_ref.as_deref() == Some(name))
        })
        .all(|e| {
            e.status.as_ref().is_some_and(|s| {
                crate::conditions::is_true(&s.common, PUBLISHED)
                    && s.published_fingerprints.iter().any(|f| f == fingerprint)
            })
        }))
}

async fn write_secret(
    ctx: &Ctx,
    ns: &str,
    obj: &SigningCertificate,
    data: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
) -> Result<(), kube::Error> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(obj.spec.secret_name.clone()),
            namespace: Some(ns.to_string()),
            labels: Some(BTreeMap::from([
                (
                    "app.kubernetes.io/managed-by".to_string(),
                    MANAGED_BY.to_string(),
                ),
                (SECRET_LABEL.to_string(), obj.name_any()),
            ])),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        type_: Some("kubernetes.io/tls".into()),
        data: Some(
            data.into_iter()
                .map(|(k, v)| (k, ByteString(v.into_bytes())))
                .collect(),
        ),
        ..Secret::default()
    };
    api.patch(
        &obj.spec.secret_name,
        &apply_params(),
        &Patch::Apply(&secret),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use serde_json::json;

    use super::*;
    use crate::controller::fixtures::{NS, condition, context, finish, object, path_of, start};

    #[tokio::test]
    async fn a_refused_key_size_is_invalid_spec_and_nothing_is_issued() {
        let (ctx, mut api) = context();
        let sc: SigningCertificate = object(
            "weak",
            json!({"secretName": "weak-key", "commonName": "weak.example", "keyAlgorithm": "RSA", "keySize": 1024}),
        );
        let task = start(reconcile(Arc::new(sc.clone()), ctx));
        let note = api.event(NS, "Warning", "InvalidSpec").await;
        assert!(note.contains("keySize 1024"), "{note}");
        let status = api
            .status(&path_of("signingcertificates", "weak"), &sc)
            .await;
        assert_eq!(condition(&status, "Reconciled").1, "InvalidSpec");
        assert_eq!(finish(task).await.expect("ok"), Action::await_change());
    }

    #[tokio::test]
    async fn a_missing_ca_secret_is_invalid_spec() {
        let (ctx, mut api) = context();
        let sc: SigningCertificate = object(
            "issued",
            json!({"secretName": "issued-key", "commonName": "issued.example", "caSecret": "the-ca"}),
        );
        let task = start(reconcile(Arc::new(sc.clone()), ctx));
        api.expect("GET", "/api/v1/namespaces/alliance/secrets/the-ca")
            .await
            .not_found();
        let note = api.event(NS, "Warning", "InvalidSpec").await;
        assert_eq!(note, "spec.caSecret: Secret \"the-ca\" does not exist");
        api.status(&path_of("signingcertificates", "issued"), &sc)
            .await;
        assert_eq!(finish(task).await.expect("ok"), Action::await_change());
    }

    #[tokio::test]
    async fn a_secret_it_did_not_write_is_left_alone_and_said_so() {
        for (labels, type_, expected) in [
            (
                json!({}),
                "Opaque",
                "not written by a SigningCertificate (no emrex.eu/signing-certificate label, type Opaque)",
            ),
            (
                json!({SECRET_LABEL: "other"}),
                "kubernetes.io/tls",
                "SigningCertificate \"other\"'s",
            ),
        ] {
            let (ctx, mut api) = context();
            let sc: SigningCertificate = object(
                "mine",
                json!({"secretName": "taken", "commonName": "mine.example"}),
            );
            let task = start(reconcile(Arc::new(sc.clone()), ctx));
            api.expect("GET", "/api/v1/namespaces/alliance/secrets/taken")
                .await
                .respond(
                    200,
                    json!({
                        "apiVersion": "v1", "kind": "Secret",
                        "metadata": {"name": "taken", "namespace": NS, "labels": labels},
                        "type": type_,
                        "data": {"tls.key": "c2VjcmV0"},
                    }),
                );
            // No write follows: the next request is the event.
            let note = api.event(NS, "Warning", "InvalidSpec").await;
            assert!(
                note.starts_with("spec.secretName: Secret \"taken\" already exists"),
                "{note}"
            );
            assert!(note.contains(expected), "{note}");
            let status = api
                .status(&path_of("signingcertificates", "mine"), &sc)
                .await;
            assert_eq!(condition(&status, "Reconciled").1, "InvalidSpec");
            assert_eq!(
                finish(task).await.expect("ok"),
                Action::requeue(FOREIGN_SECRET_RECHECK)
            );
        }
    }

    #[tokio::test]
    async fn a_deleted_certificate_forgets_its_metrics_and_leaves_its_secret() {
        let (ctx, api) = context();
        ctx.metrics
            .certificate(NS, "gone", 2_000_000_000, 1_900_000_000);
        assert!(api.metrics_text().contains("name=\"gone\""));
        let mut sc: SigningCertificate = object(
            "gone",
            json!({"secretName": "gone-key", "commonName": "gone.example"}),
        );
        sc.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        // No request: the key Secret is not owned and stays.
        let action = finish(start(reconcile(Arc::new(sc), ctx))).await;
        assert_eq!(action.expect("ok"), Action::await_change());
        assert!(!api.metrics_text().contains("name=\"gone\""));
    }
}
