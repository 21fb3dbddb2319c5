//! The custom resources of `emrex.eu/v1alpha1`, derived from these Rust types with schemars.
//!
//! Field docs become the CRD's descriptions, so they are written for users of `kubectl explain`.
//! Enums are plain strings and optional blocks are plain structs, so the schemas stay structural
//! (complex or internally tagged enums are what break structural schemas in kube-rs CRDs).
//! The generated YAML is committed in `crds/` (`emrex crd > crds/emrex.eu.yaml`); a test fails
//! when it differs from these types.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The API group.
pub const GROUP: &str = "emrex.eu";
/// The API version.
pub const VERSION: &str = "v1alpha1";

/// Status fields every kind shares.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommonStatus {
    /// The `metadata.generation` the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Reconciled` (children applied and consistent), `Available` (Deployments report
    /// available replicas), `Published` (listed in EMREG, where that applies) and `Ready` (all
    /// that apply hold).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// A key of a Secret in the resource's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Secret name.
    pub name: String,
    /// Key within the Secret.
    pub key: String,
}

/// How a service's Pods run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Workload {
    /// Number of replicas (default 1). More than one needs a shared PostgreSQL (`postgresUrl`)
    /// for the services that keep state; they then get a PodDisruptionBudget and roll with
    /// `maxUnavailable: 0`, and no session affinity is needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Container image of the `emrex` binary (default: the operator's own version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

// ------------------------------------------------------------------------------------------------
// Registry

/// An EMREG: run one here, or point at one that runs elsewhere (`external`).
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    cel,
    validation = Rule::new("!has(self.external) || !has(self.store)").message("store does not apply to an external Registry")
)]
#[kube(
    group = "emrex.eu",
    version = "v1alpha1",
    kind = "Registry",
    namespaced,
    status = "RegistryStatus",
    shortname = "emreg",
    category = "emrex",
    printcolumn = r#"{"name":"External","type":"string","jsonPath":".spec.external.grpcEndpoint"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct RegistrySpec {
    /// Use an EMREG outside the cluster instead of running one. When set, the operator runs
    /// nothing for this Registry and only publishes entries to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalRegistry>,
    /// Where the EMREG this operator runs keeps its entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<RegistryStore>,
    /// Pods of the EMREG this operator runs.
    #[serde(default)]
    pub workload: Workload,
}

/// A registry that runs elsewhere: an EMREG, the EWP registry's catalogue, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    cel,
    validation = Rule::new("has(self.grpcEndpoint) || has(self.ewpCatalogueUrl)").message("set grpcEndpoint, ewpCatalogueUrl or both")
)]
#[serde(rename_all = "camelCase")]
pub struct ExternalRegistry {
    /// The EMREG's gRPC endpoint (`https://host:port`), where the operator publishes
    /// RegistryEntries (`RegistryAdmin`) and SMPs read (unless `ewpCatalogueUrl` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc_endpoint: Option<String>,
    /// Secret with `ca.crt` (the server's CA) and `tls.crt`/`tls.key` (the operator's client
    /// certificate for mTLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_secret: Option<String>,
    /// The EWP registry's catalogue (`https://registry.erasmuswithoutpaper.eu/catalogue-v1.xml`,
    /// test: `https://dev-registry.erasmuswithoutpaper.eu/catalogue-v1.xml`): SMPs using this
    /// Registry read their NCPs (every `emrex-data-access-point` entry) from it. Without
    /// `grpcEndpoint` there is nothing to publish RegistryEntries to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ewp_catalogue_url: Option<String>,
}

/// EMREG storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistryStore {
    /// Secret key holding a `postgres://` URL (several replicas); SQLite on a volume otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres_url: Option<SecretKeyRef>,
}

/// What the operator observed of a Registry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistryStatus {
    #[serde(flatten)]
    pub common: CommonStatus,
    /// Number of entries the operator published to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries: Option<i32>,
}

// ------------------------------------------------------------------------------------------------
// RegistryEntry

/// One NCP as listed in a Registry. NationalContactPoints own theirs; create one by hand for an
/// NCP that runs elsewhere (with inline certificates).
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    cel,
    validation = Rule::new("size(self.certificates) >= 1 && size(self.certificates) <= 16").message("list 1 to 16 certificates"),
    validation = Rule::new("self.countryCode.matches('^[A-Z]{2}$')").message("countryCode is two upper-case letters (ISO 3166-1 alpha-2)")
)]
#[kube(
    group = "emrex.eu",
    version = "v1alpha1",
    kind = "RegistryEntry",
    namespaced,
    status = "RegistryEntryStatus",
    shortname = "emregentry",
    category = "emrex",
    printcolumn = r#"{"name":"Acronym","type":"string","jsonPath":".spec.acronym"}"#,
    printcolumn = r#"{"name":"Country","type":"string","jsonPath":".spec.countryCode"}"#,
    printcolumn = r#"{"name":"Registry","type":"string","jsonPath":".spec.registryRef"}"#,
    printcolumn = r#"{"name":"Published","type":"string","jsonPath":".status.conditions[?(@.type==\"Published\")].status"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct RegistryEntrySpec {
    /// The Registry (same namespace) to publish to.
    pub registry_ref: String,
    /// Unique short name in the registry (`[A-Za-z0-9._-]{1,64}`).
    pub acronym: String,
    /// ISO 3166-1 alpha-2 country code, upper case.
    pub country_code: String,
    /// Display names of the institutions whose results the NCP provides.
    #[serde(default)]
    pub institutions: Vec<String>,
    /// The NCP's EMREX entry point (https).
    pub url: String,
    /// Certificates documents from this NCP verify with (1–16).
    pub certificates: Vec<CertificateSource>,
    /// The NCP still signs with SHA-1 era algorithms (clients relax checks only for it).
    #[serde(default)]
    pub legacy_algorithms: bool,
    /// The NCP's OpenID4VCI credential issuer identifier (https, no query), when it also issues
    /// the results into wallets; EMREG then lists its certificates' keys as JWKs in
    /// `/wallet-issuers.json`. A NationalContactPoint sets it from `spec.wallet`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_issuer: Option<String>,
}

/// A certificate: from a SigningCertificate (its current and, during rotation, next
/// certificate), or inline PEM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    cel,
    validation = Rule::new("has(self.signingCertificateRef) != has(self.pem)").message("set exactly one of signingCertificateRef and pem")
)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSource {
    /// A SigningCertificate in the same namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_certificate_ref: Option<String>,
    /// A PEM certificate (for NCPs run elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pem: Option<String>,
}

/// What the operator observed of a RegistryEntry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistryEntryStatus {
    #[serde(flatten)]
    pub common: CommonStatus,
    /// The registry revision at which the entry was last published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_revision: Option<i64>,
    /// SHA-256 fingerprints of the certificates published.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub published_fingerprints: Vec<String>,
}

// ------------------------------------------------------------------------------------------------
// NationalContactPoint

/// An NCP instance: the operator runs it and its Signer (the key is mounted only into the
/// Signer), and owns its RegistryEntry.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    cel,
    validation = Rule::new("self.countryCode.matches('^[A-Z]{2}$')").message("countryCode is two upper-case letters (ISO 3166-1 alpha-2)"),
    validation = Rule::new("self.publicUrl.startsWith('https://')").message("publicUrl must be https")
)]
#[kube(
    group = "emrex.eu",
    version = "v1alpha1",
    kind = "NationalContactPoint",
    namespaced,
    status = "NationalContactPointStatus",
    shortname = "ncp",
    category = "emrex",
    printcolumn = r#"{"name":"Country","type":"string","jsonPath":".spec.countryCode"}"#,
    printcolumn = r#"{"name":"URL","type":"string","jsonPath":".spec.publicUrl"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct NationalContactPointSpec {
    /// Acronym in the registry (default: the resource name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acronym: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country_code: String,
    /// Institutions whose results it provides.
    #[serde(default)]
    pub institutions: Vec<String>,
    /// Public https URL of the entry point (as clients reach it through your ingress).
    pub public_url: String,
    /// The Registry (same namespace) to publish to.
    pub registry_ref: String,
    /// The SigningCertificate whose key the Signer uses.
    pub signing_certificate_ref: String,
    /// How students log in.
    pub login: NcpLogin,
    /// Where results come from.
    pub source: ResultsSource,
    /// The ELMO version of the documents sent: `1.7` (default: what every deployed EMREX 1.x
    /// client reads) or `2.1` (ELMO 2.1.1 with report status, for clients known to read it).
    #[serde(default)]
    pub elmo_version: ElmoVersion,
    /// Secret key with a `postgres://` URL where the NCP keeps exchanges in progress, shared by
    /// its replicas (required for more than one); without it a SQLite file on the Pod's own
    /// volume (one replica; exchanges in progress end when the Pod is replaced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres_url: Option<SecretKeyRef>,
    /// Issuing the results into students' wallets as well (OpenID4VCI 1.0, SD-JWT VC of type
    /// `urn:eudi:elm:1`), offered on the consent page. Off unless `enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet: Option<NcpWallet>,
    /// Pods of the NCP.
    #[serde(default)]
    pub workload: Workload,
    /// Pods of its Signer.
    #[serde(default)]
    pub signer_workload: Workload,
}

/// Wallet issuance: after consenting, the student may also take the same results into a wallet
/// (QR code or same-device link, with a one-time transaction code). The credential is signed by
/// the NCP's Signer with the SigningCertificate's key; the RegistryEntry names the NCP's
/// `publicUrl` as credential issuer so EMREG lists that key for wallet verifiers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NcpWallet {
    /// Offer the results to wallets (default false).
    #[serde(default)]
    pub enabled: bool,
    /// How long an offer (and its pre-authorized code) stays usable, e.g. `10m` (default `10m`;
    /// 1 minute to 24 hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_lifetime: Option<String>,
    /// How long an issued credential is valid (its `exp`), e.g. `8760h` (default: the NCP's,
    /// one year; 1 hour to 5 years).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_lifetime: Option<String>,
    /// The SD-JWT VC media types offered: `dc+sd-jwt` (OpenID4VCI 1.0, the default) and
    /// `vc+sd-jwt` (the older name some wallets still ask for).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub formats: Vec<WalletFormat>,
}

/// An SD-JWT VC media type (the JWS `typ`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum WalletFormat {
    /// `dc+sd-jwt`, the name in OpenID4VCI 1.0 and the current SD-JWT VC draft.
    #[serde(rename = "dc+sd-jwt")]
    DcSdJwt,
    /// `vc+sd-jwt`, the earlier name.
    #[serde(rename = "vc+sd-jwt")]
    VcSdJwt,
}

impl WalletFormat {
    /// The name as written in configuration and metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DcSdJwt => "dc+sd-jwt",
            Self::VcSdJwt => "vc+sd-jwt",
        }
    }
}

/// Student login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NcpLogin {
    /// The OpenID provider's issuer URL.
    pub issuer: String,
    /// Client id registered there (callback `{publicUrl}/login/callback`).
    pub client_id: String,
    /// The client secret.
    pub client_secret: SecretKeyRef,
    /// Secret with `ca.crt`: the CA that issued the provider's TLS certificate, when the image's
    /// public CAs do not (an institution's own PKI). The NCP then trusts it besides those.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_secret: Option<String>,
}

/// An ELMO version an NCP can write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ElmoVersion {
    /// ELMO 1.7.0.
    #[default]
    #[serde(rename = "1.7")]
    V1_7,
    /// ELMO 2.1.1.
    #[serde(rename = "2.1")]
    V2_1,
}

/// Kind of results source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SourceKind {
    /// One ELMO file per student on a volume.
    Directory,
    /// The institution's `emrex.ncp.v1.ResultsProvider` service.
    Grpc,
}

/// Where results come from (`kind` picks which block applies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    cel,
    validation = Rule::new("self.kind == 'Directory' ? has(self.claimName) : has(self.endpoint)").message("kind Directory needs claimName; kind Grpc needs endpoint"),
    validation = Rule::new("self.kind == 'Directory' ? !has(self.endpoint) && !has(self.tlsSecret) : !has(self.claimName) && !has(self.identifierType)").message("only the fields of the chosen kind may be set")
)]
#[serde(rename_all = "camelCase")]
pub struct ResultsSource {
    pub kind: SourceKind,
    /// For `Directory`: a PersistentVolumeClaim with `{identifier}.xml` files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_name: Option<String>,
    /// For `Directory`: the identifier type naming the files (default `local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier_type: Option<String>,
    /// For `Grpc`: the provider's endpoint (`https://host:port`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// For `Grpc`: Secret with `ca.crt`, `tls.crt`, `tls.key` for mTLS to the provider. Without
    /// it the NCP connects with TLS only, trusting the image's public CAs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_secret: Option<String>,
}

/// What the operator observed of a NationalContactPoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NationalContactPointStatus {
    #[serde(flatten)]
    pub common: CommonStatus,
}

// ------------------------------------------------------------------------------------------------
// StudentMobilityPlugin

/// An SMP instance.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "emrex.eu",
    version = "v1alpha1",
    kind = "StudentMobilityPlugin",
    namespaced,
    status = "StudentMobilityPluginStatus",
    shortname = "smp",
    category = "emrex",
    printcolumn = r#"{"name":"URL","type":"string","jsonPath":".spec.publicUrl"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct StudentMobilityPluginSpec {
    /// Public https URL (`returnUrl` is `{publicUrl}/return`).
    pub public_url: String,
    /// The Registry (same namespace) whose NCPs it trusts.
    pub registry_ref: String,
    /// Secret key with a `postgres://` URL; SQLite on a volume otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres_url: Option<SecretKeyRef>,
    /// Secret with `ca.crt` (the CA whose client certificates may call the SIS API) and
    /// `tls.crt`/`tls.key` (the SMP's own gRPC server certificate). Without it the SIS API has
    /// no TLS and refuses every call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sis_client_ca_secret: Option<String>,
    #[serde(default)]
    pub workload: Workload,
}

/// What the operator observed of a StudentMobilityPlugin.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StudentMobilityPluginStatus {
    #[serde(flatten)]
    pub common: CommonStatus,
}

// ------------------------------------------------------------------------------------------------
// SigningCertificate

/// A signing key and its X.509 certificate in a Secret, renewed before it expires and rotated
/// with overlap: the next certificate is published in EMREG first, the Signer switches after
/// `propagationDelay`, the old one leaves the entry after `gracePeriod`.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    cel,
    validation = Rule::new("!has(self.keySize) || (self.keyAlgorithm == 'RSA' && self.keySize in [2048, 3072, 4096])").message("keySize is 2048, 3072 or 4096, and only for RSA (ECDSA is always P-256)")
)]
#[kube(
    group = "emrex.eu",
    version = "v1alpha1",
    kind = "SigningCertificate",
    namespaced,
    status = "SigningCertificateStatus",
    shortname = "signcert",
    category = "emrex",
    printcolumn = r#"{"name":"Secret","type":"string","jsonPath":".spec.secretName"}"#,
    printcolumn = r#"{"name":"Expires","type":"string","jsonPath":".status.notAfter"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct SigningCertificateSpec {
    /// The Secret to write (`tls.key`, `tls.crt`, and `next.crt` during a rotation).
    pub secret_name: String,
    /// Subject common name (e.g. the NCP's host name).
    pub common_name: String,
    /// Subject organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Key algorithm (default `RSA`, which every deployed EMREX peer verifies; `ECDSA` P-256
    /// only where every client is known to support it). Not optional in the schema: an optional
    /// enum renders as `enum: [..., null]`, which the 1.20 API server refuses.
    #[serde(default)]
    pub key_algorithm: KeyAlgorithm,
    /// RSA key size: 2048, 3072 (default) or 4096 (ECDSA is always P-256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_size: Option<i32>,
    /// Validity, e.g. `2160h` (default 90 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Renew this long before expiry, e.g. `360h` (default a third of `duration`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_before: Option<String>,
    /// Issue from the CA in this Secret (`tls.crt`, `tls.key`) instead of self-signing: the
    /// production path (the EMREX guide warns that self-signed signing certificates fail on
    /// some clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_secret: Option<String>,
    /// Wait this long after publishing the next certificate before the Signer uses it
    /// (default `10m`: EMREX 1.x clients cache the JSON list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagation_delay: Option<String>,
    /// Keep the old certificate in the entry this long after the switch (default `1h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period: Option<String>,
}

/// Key algorithm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum KeyAlgorithm {
    /// RSA (default, 3072 bits unless `keySize` says otherwise): what every EMREX peer signs and
    /// verifies with.
    #[default]
    RSA,
    /// ECDSA P-256: only where every client is known to support it.
    ECDSA,
}

/// What the operator observed of a SigningCertificate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SigningCertificateStatus {
    #[serde(flatten)]
    pub common: CommonStatus,
    /// Validity of the certificate in use (RFC 3339, seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    /// When renewal starts (RFC 3339, truncated to the second).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_time: Option<String>,
    /// SHA-256 fingerprint of the certificate in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// SHA-256 fingerprint of the next certificate during a rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_fingerprint: Option<String>,
    /// SHA-256 fingerprint of the previous certificate while it is still listed (grace period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_fingerprint: Option<String>,
}

#[cfg(test)]
mod cel_tests {
    //! The CEL rules evaluated client-side (kube's `cel` feature): the 1.20 API server the tests
    //! run against ignores `x-kubernetes-validations`, newer ones enforce the same rules.

    use serde_json::json;

    use super::*;

    #[test]
    fn results_source_needs_the_fields_of_its_kind_only() {
        let ok = [
            json!({"kind": "Directory", "claimName": "results"}),
            json!({"kind": "Directory", "claimName": "results", "identifierType": "nin"}),
            json!({"kind": "Grpc", "endpoint": "https://sis:443"}),
            json!({"kind": "Grpc", "endpoint": "https://sis:443", "tlsSecret": "t"}),
        ];
        for v in ok {
            assert!(ResultsSource::validate_cel(&v, None).is_ok(), "{v}");
        }
        let bad = [
            json!({"kind": "Directory"}),
            json!({"kind": "Grpc"}),
            json!({"kind": "Directory", "claimName": "r", "endpoint": "https://x"}),
            json!({"kind": "Grpc", "endpoint": "https://x", "claimName": "r"}),
        ];
        for v in bad {
            assert!(ResultsSource::validate_cel(&v, None).is_err(), "{v}");
        }
    }

    #[test]
    fn key_size_only_for_rsa_and_only_three_sizes() {
        let base = json!({"secretName": "s", "commonName": "c"});
        let with = |extra: serde_json::Value| {
            let mut v = base.clone();
            if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
                o.extend(e.clone());
            }
            v
        };
        assert!(
            SigningCertificateSpec::validate_cel(&with(json!({"keyAlgorithm": "ECDSA"})), None)
                .is_ok()
        );
        assert!(
            SigningCertificateSpec::validate_cel(
                &with(json!({"keyAlgorithm": "RSA", "keySize": 3072})),
                None
            )
            .is_ok()
        );
        assert!(
            SigningCertificateSpec::validate_cel(
                &with(json!({"keyAlgorithm": "RSA", "keySize": 1024})),
                None
            )
            .is_err()
        );
        assert!(
            SigningCertificateSpec::validate_cel(
                &with(json!({"keyAlgorithm": "ECDSA", "keySize": 2048})),
                None
            )
            .is_err()
        );
    }

    #[test]
    fn certificate_sources_registry_and_entry_rules() {
        assert!(CertificateSource::validate_cel(&json!({"pem": "x"}), None).is_ok());
        assert!(
            CertificateSource::validate_cel(&json!({"signingCertificateRef": "a"}), None).is_ok()
        );
        assert!(CertificateSource::validate_cel(&json!({}), None).is_err());
        assert!(
            CertificateSource::validate_cel(
                &json!({"pem": "x", "signingCertificateRef": "a"}),
                None
            )
            .is_err()
        );

        assert!(
            RegistrySpec::validate_cel(&json!({"external": {"grpcEndpoint": "https://e"}}), None)
                .is_ok()
        );
        for ok in [
            json!({"ewpCatalogueUrl": "https://registry.example/catalogue-v1.xml"}),
            json!({"grpcEndpoint": "https://e", "ewpCatalogueUrl": "https://r/c.xml"}),
        ] {
            assert!(ExternalRegistry::validate_cel(&ok, None).is_ok(), "{ok}");
        }
        assert!(ExternalRegistry::validate_cel(&json!({"tlsSecret": "t"}), None).is_err());
        assert!(
            RegistrySpec::validate_cel(
                &json!({"external": {"grpcEndpoint": "https://e"}, "store": {}}),
                None
            )
            .is_err()
        );

        let entry = |certs: usize, country: &str| {
            json!({
                "registryRef": "r", "acronym": "A", "countryCode": country, "url": "https://x",
                "certificates": vec![json!({"pem": "p"}); certs],
            })
        };
        assert!(RegistryEntrySpec::validate_cel(&entry(1, "FI"), None).is_ok());
        assert!(RegistryEntrySpec::validate_cel(&entry(0, "FI"), None).is_err());
        assert!(RegistryEntrySpec::validate_cel(&entry(17, "FI"), None).is_err());
        assert!(RegistryEntrySpec::validate_cel(&entry(1, "Finland"), None).is_err());

        let ncp = |country: &str, url: &str| {
            json!({
                "countryCode": country, "publicUrl": url, "registryRef": "r", "signingCertificateRef": "c",
                "login": {"issuer": "https://i", "clientId": "c", "clientSecret": {"name": "s", "key": "k"}},
                "source": {"kind": "Grpc", "endpoint": "https://sis"},
            })
        };
        assert!(NationalContactPointSpec::validate_cel(&ncp("FI", "https://n"), None).is_ok());
        assert!(NationalContactPointSpec::validate_cel(&ncp("fi", "https://n"), None).is_err());
        assert!(NationalContactPointSpec::validate_cel(&ncp("FI", "http://n"), None).is_err());
    }
}
