//! NationalContactPoint controller.

use std::sync::Arc;
use std::time::Duration;

use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};

use super::{Ctx, Error, RESYNC, common_status_json, internal_mtls, invalid, merged, write_status};
use crate::apply;
use crate::build::{Owner, ncp};
use crate::conditions::{self, AVAILABLE, Cond, PUBLISHED, RECONCILED};
use crate::crd::{NationalContactPoint, SigningCertificate};

pub async fn reconcile(obj: Arc<NationalContactPoint>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let _timer = ctx.metrics.start("nationalcontactpoint");
    if obj.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let owner = Owner::of(&*obj)?;
    let old = obj.status.clone().unwrap_or_default().common;
    let generation = obj.metadata.generation;
    if let Err(e) = ncp::validate(&obj, &owner.name) {
        return invalid(&ctx, &*obj, &old, serde_json::json!({}), &e).await;
    }

    // Dereference: the SigningCertificate names the Secret the Signer mounts.
    let certs: Api<SigningCertificate> = Api::namespaced(ctx.client.clone(), &owner.namespace);
    let Some(cert) = certs.get_opt(&obj.spec.signing_certificate_ref).await? else {
        let conds = [Cond::fail(
            RECONCILED,
            "SigningCertificateNotFound",
            format!(
                "SigningCertificate {:?} does not exist in this namespace",
                obj.spec.signing_certificate_ref
            ),
        )];
        let new = merged(&old, generation, &conds);
        if conditions::changed(&old, &new) {
            super::event(
                &ctx,
                &*obj,
                true,
                "SigningCertificateNotFound",
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

    let dns = ncp::signer_dns(&owner.name, &owner.namespace);
    let mtls = internal_mtls(
        &ctx.client,
        &owner.namespace,
        &ncp::signer_tls_secret(&owner.name),
        &ncp::ncp_tls_secret(&owner.name),
        &format!("{}/{} signer", owner.namespace, owner.name),
        &dns,
    )
    .await?;
    let children = match ncp::build(
        &obj,
        &owner,
        &ncp::NcpInputs {
            image: &ctx.image,
            signing_secret: &cert.spec.secret_name,
            mtls: &mtls,
        },
    ) {
        Ok(c) => c,
        Err(e) => return invalid(&ctx, &*obj, &old, serde_json::json!({}), &e).await,
    };
    let applied = apply::apply_cached(&ctx.client, &ctx.applied, &owner, children).await?;

    let (available, summary) = apply::availability(&applied.deployments);
    let published = applied
        .registry_entries
        .first()
        .and_then(|e| e.status.as_ref())
        .map(|s| {
            (
                conditions::find(&s.common, PUBLISHED).cloned(),
                s.common.observed_generation,
            )
        });
    let published_cond = match published {
        Some((Some(c), _)) if c.status == "True" => Cond::ok(PUBLISHED, "Published", c.message),
        Some((Some(c), _)) => Cond::fail(PUBLISHED, &c.reason, c.message),
        _ => Cond::fail(
            PUBLISHED,
            "Pending",
            "the RegistryEntry has not been published yet",
        ),
    };
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
        published_cond,
    ];
    let new = merged(&old, generation, &conds);
    write_status(
        &ctx,
        &*obj,
        conditions::changed(&old, &new),
        common_status_json(&new),
    )
    .await?;
    tracing::debug!(name = %obj.name_any(), ready = conditions::is_true(&new, conditions::READY), "reconciled");
    Ok(Action::requeue(RESYNC))
}
