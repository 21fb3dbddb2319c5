//! NationalContactPoint controller: the NCP and its Signer, and the RegistryEntry that lists the
//! Signer's certificates.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use kube::runtime::controller::{Action, Controller};
use kube::{Api, ResourceExt};

use super::status::{self, RESYNC, invalid, merged, missing};
use super::watch::{self, ChangeFilter};
use super::{Ctx, Error, internal_mtls};
use crate::apply;
use crate::build::{Owner, ncp};
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
    let changed = ChangeFilter::new(watch::generation_key::<SigningCertificate>);
    let store = controller.store();
    let controller = controller.watches(
        ctx.watched::<SigningCertificate>(),
        watch::all(),
        watch::referrers(
            store,
            move |sc: &SigningCertificate| changed.passes(sc),
            |n: &NationalContactPoint, name| n.spec.signing_certificate_ref == name,
        ),
    );
    super::drive("nationalcontactpoint", controller, reconcile, ctx).await;
}

pub async fn reconcile(obj: Arc<NationalContactPoint>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    if obj.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let old = obj.status.clone().unwrap_or_default().common;
    let valid = match ncp::validate(&obj, Owner::of(&*obj)?) {
        Ok(v) => v,
        Err(e) => return invalid(&ctx, &*obj, &old, &e).await,
    };
    let owner = valid.owner();

    // Dereference: the SigningCertificate names the Secret the Signer mounts.
    let cert_ref = &valid.spec().signing_certificate_ref;
    let certs: Api<SigningCertificate> = Api::namespaced(ctx.client.clone(), &owner.namespace);
    let Some(cert) = certs.get_opt(cert_ref).await? else {
        return missing(&ctx, &*obj, &old, "SigningCertificate", cert_ref).await;
    };
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
    let children = match ncp::build(&valid, &inputs) {
        Ok(c) => c,
        Err(e) => return invalid(&ctx, &*obj, &old, &e).await,
    };
    let applied = apply::apply_cached(&ctx.client, &ctx.applied, owner, children).await?;

    let conds = [
        status::applied(applied.pruned),
        status::available(&applied.deployments),
        published_cond(applied.registry_entries.first()),
    ];
    let new = merged(&old, obj.metadata.generation, &conds);
    status::write_status(&ctx, &*obj, &old, &new).await?;
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
