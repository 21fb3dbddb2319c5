//! Command-line definitions (clap). Usage errors exit with status 2, as clap does by default.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// EMREX: move verified study results (ELMO) between institutions.
#[derive(Debug, Parser)]
#[command(name = "emrex", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work with ELMO documents: sign, verify, inspect, validate, encode, decode.
    #[command(subcommand)]
    Elmo(ElmoCommand),
    /// Run the Signer: holds one NCP's signing key and signs ELMO over gRPC (see docs/signer.md).
    Signer(SignerArgs),
    /// Run EMREG: the registry of NCPs, over gRPC and as EMREX 1.x JSON lists (see docs/emreg.md).
    Emreg(EmregArgs),
    /// Run an NCP (EMREX provider): entry point, student login, selection, signed response
    /// (see docs/ncp.md).
    Ncp(NcpArgs),
    /// Run a whole development federation in one process: EMREG, a Signer, an NCP with demo
    /// students and an SMP, on 127.0.0.1 (see README).
    Dev(DevArgs),
    /// Run an SMP (EMREX client): NCP chooser, return endpoint with verification, SIS API (see
    /// docs/smp.md).
    Smp(SmpArgs),
    /// Print the CustomResourceDefinitions of emrex.eu/v1alpha1 as YAML (what crds/ holds).
    Crd(CrdArgs),
    /// Run the Kubernetes operator: reconciles Registries, RegistryEntries,
    /// NationalContactPoints, StudentMobilityPlugins and SigningCertificates (see
    /// docs/operator.md). Uses KUBECONFIG or the in-cluster service account.
    Operator(OperatorArgs),
}

/// Flags of `emrex crd`.
#[derive(Debug, Args)]
pub struct CrdArgs {
    /// Include the CEL validation rules (x-kubernetes-validations; API servers from 1.25
    /// enforce them, older ones refuse the field).
    #[arg(long)]
    pub cel: bool,
}

/// Flags of `emrex operator`.
#[derive(Debug, Args)]
pub struct OperatorArgs {
    /// Watch only this namespace (namespace-scoped RBAC suffices); all namespaces otherwise.
    #[arg(long)]
    pub namespace: Option<String>,
    /// Address of `/live`, `/ready` and `/metrics` (port 0 picks one; the bound address is
    /// printed as `emrex-operator-admin ADDR`).
    #[arg(long, default_value = "0.0.0.0:9090")]
    pub admin_listen: std::net::SocketAddr,
    /// Elect a leader with a Lease so several replicas are safe.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_election: bool,
    /// Name of the Lease.
    #[arg(long, default_value = "emrex-operator")]
    pub lease_name: String,
    /// Namespace of the Lease (default: $POD_NAMESPACE, else --namespace, else "default").
    #[arg(long)]
    pub lease_namespace: Option<String>,
    /// Server-side apply the CRDs at start (needs RBAC for customresourcedefinitions).
    #[arg(long)]
    pub apply_crds: bool,
    /// Image of the services the operator runs when a resource names none
    /// (default ghcr.io/emrex-rs/emrex:<this version>).
    #[arg(long)]
    pub image: Option<String>,
    /// Log format.
    #[arg(long, value_enum, default_value = "plain")]
    pub log_format: LogFormatArg,
}

/// Log formats of `emrex operator` and `emrex dev` (plain lines are coloured only on a terminal
/// and never when NO_COLOR is set).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    Plain,
    Json,
}

impl From<LogFormatArg> for emrex_runtime::config::LogFormat {
    fn from(arg: LogFormatArg) -> Self {
        match arg {
            LogFormatArg::Plain => Self::Plain,
            LogFormatArg::Json => Self::Json,
        }
    }
}

/// Flags of `emrex smp`; each overrides the same key of the config file and environment.
#[derive(Debug, Args)]
pub struct SmpArgs {
    /// TOML configuration file (keys in docs/smp.md).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// HTTP listen address (http.listen).
    #[arg(long, value_name = "ADDR")]
    pub http_listen: Option<String>,
    /// Public base URL; returnUrl is {public_url}/return (http.public_url).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// gRPC listen address of the SIS API (grpc.listen).
    #[arg(long, value_name = "ADDR")]
    pub grpc_listen: Option<String>,
    /// Admin listen address for /live, /ready, /metrics (admin.listen).
    #[arg(long, value_name = "ADDR")]
    pub admin_listen: Option<String>,
    /// Store URL (store.url): sqlite:PATH or postgres://…
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Development mode (dev_mode).
    #[arg(long)]
    pub dev: bool,
}

/// Flags of `emrex dev`.
#[derive(Debug, Args)]
pub struct DevArgs {
    /// Where the development key, EMREG's and the SMP's SQLite files live.
    #[arg(long, value_name = "DIR", default_value = "emrex-dev")]
    pub data_dir: PathBuf,
    /// Address the browser-facing services (SMP, NCP, EMREG's list, the SIS API) listen on; the
    /// Signer and EMREG's gRPC stay on 127.0.0.1. In a container use 0.0.0.0 and publish the same
    /// port numbers: the URLs the federation hands out keep saying 127.0.0.1 unless this is a
    /// specific address.
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    pub listen: std::net::IpAddr,
    /// The SMP's page (open this one in the browser). 0 = any free port.
    #[arg(long, value_name = "PORT", default_value_t = 8080)]
    pub smp_port: u16,
    /// The NCP's pages and entry point.
    #[arg(long, value_name = "PORT", default_value_t = 8090)]
    pub ncp_port: u16,
    /// EMREG's EMREX 1.x JSON list.
    #[arg(long, value_name = "PORT", default_value_t = 8081)]
    pub emreg_port: u16,
    /// The SMP's gRPC API for a SIS.
    #[arg(long, value_name = "PORT", default_value_t = 50053)]
    pub smp_grpc_port: u16,
    /// `/live`, `/ready` and `/metrics` of the whole federation.
    #[arg(long, value_name = "PORT", default_value_t = 8089)]
    pub admin_port: u16,
    /// Also offer OpenID Connect login at the NCP with this provider (http:// allowed here).
    #[arg(long, value_name = "URL")]
    pub oidc_issuer: Option<String>,
    /// Client id registered at that provider (callback: http://127.0.0.1:NCP_PORT/login/callback).
    #[arg(long, value_name = "ID", default_value = "emrex-dev-ncp")]
    pub oidc_client_id: String,
    /// File with the client secret.
    #[arg(long, value_name = "FILE")]
    pub oidc_client_secret_file: Option<PathBuf>,
    /// Log format: plain lines for people, json for a log collector.
    #[arg(long, value_enum, default_value = "plain")]
    pub log_format: LogFormatArg,
}

/// Flags of `emrex ncp`; each overrides the same key of the config file and environment.
#[derive(Debug, Args)]
pub struct NcpArgs {
    /// TOML configuration file (keys in docs/ncp.md).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// HTTP listen address of the entry point and pages (http.listen).
    #[arg(long, value_name = "ADDR")]
    pub http_listen: Option<String>,
    /// Public base URL, as listed in EMREG (http.public_url).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// gRPC listen address, health and reflection only (grpc.listen).
    #[arg(long, value_name = "ADDR")]
    pub grpc_listen: Option<String>,
    /// Admin listen address for /live, /ready, /metrics (admin.listen).
    #[arg(long, value_name = "ADDR")]
    pub admin_listen: Option<String>,
    /// The Signer's gRPC endpoint (signer.client.endpoint).
    #[arg(long, value_name = "URL")]
    pub signer: Option<String>,
    /// Where exchanges in progress are kept: `sqlite:PATH` or `postgres://…` (store.url).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Development mode: dev login, demo students, http:// return URLs on loopback (dev_mode).
    #[arg(long)]
    pub dev: bool,
}

/// Flags of `emrex emreg`; each overrides the same key of the config file and environment.
#[derive(Debug, Args)]
pub struct EmregArgs {
    /// TOML configuration file (keys in docs/emreg.md).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// gRPC listen address (grpc.listen).
    #[arg(long, value_name = "ADDR")]
    pub grpc_listen: Option<String>,
    /// HTTP listen address of the JSON lists (http.listen).
    #[arg(long, value_name = "ADDR")]
    pub http_listen: Option<String>,
    /// Admin listen address for /live, /ready, /metrics (admin.listen).
    #[arg(long, value_name = "ADDR")]
    pub admin_listen: Option<String>,
    /// Store URL (store.url): sqlite:PATH or postgres://…
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Development mode: allow http:// entry points on loopback (dev_mode).
    #[arg(long)]
    pub dev: bool,
}

/// Flags of `emrex signer`; each overrides the same key of the config file and environment.
#[derive(Debug, Args)]
pub struct SignerArgs {
    /// TOML configuration file (keys in docs/signer.md).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// gRPC listen address (grpc.listen), e.g. 127.0.0.1:50051.
    #[arg(long, value_name = "ADDR")]
    pub grpc_listen: Option<String>,
    /// Admin listen address for /live, /ready, /metrics (admin.listen).
    #[arg(long, value_name = "ADDR")]
    pub admin_listen: Option<String>,
    /// Signing key, PEM (keys.key_file).
    #[arg(long, value_name = "KEY.pem")]
    pub key: Option<PathBuf>,
    /// Certificate of the signing key (keys.cert_file).
    #[arg(long, value_name = "CERT.pem")]
    pub cert: Option<PathBuf>,
    /// The next certificate during a rotation (keys.next_cert_file).
    #[arg(long, value_name = "CERT.pem")]
    pub next_cert: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ElmoCommand {
    /// Sign an ELMO document with an enveloped XML signature (RSA-SHA256 or ECDSA-P256-SHA256).
    Sign(SignArgs),
    /// Verify an ELMO document (XML, or the `elmo` form parameter) against pinned certificates.
    Verify(VerifyArgs),
    /// Print a JSON summary: learner, reports, credits, attachments.
    Inspect(InputArgs),
    /// Structural checks of our own (no XSD engine): required fields, formats, references.
    Validate(InputArgs),
    /// Encode an XML document as the `elmo` form parameter (gzip + base64).
    Encode(EncodeArgs),
    /// Decode the `elmo` form parameter (gzip + base64, or plain base64) to XML.
    Decode(DecodeArgs),
    /// Write a document as ELMO 1.7, ELMO 2.1.1 or an EWP Transcript of Records v3 response
    /// (unsigned: converting changes the signed bytes).
    Convert(ConvertArgs),
    /// Walk through the ELMO core on a throwaway key: build, sign, encode, decode, verify, match.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the demo's files.
    #[arg(long, default_value = "emrex-demo")]
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum C14n {
    /// Canonical XML 1.0, what the deployed Java peers emit.
    Inclusive,
    /// Exclusive Canonical XML 1.0.
    Exclusive,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// Private key, PEM (PKCS#8, PKCS#1 RSA or SEC1 P-256).
    #[arg(long, value_name = "KEY.pem")]
    pub key: PathBuf,
    /// The certificate that goes with the key (PEM or DER); it is put in KeyInfo.
    #[arg(long, value_name = "CERT.pem")]
    pub cert: PathBuf,
    /// Canonicalization method.
    #[arg(long, value_enum, default_value_t = C14n::Inclusive)]
    pub c14n: C14n,
    /// Unsigned ELMO XML; `-` reads standard input.
    #[arg(value_name = "IN.xml")]
    pub input: PathBuf,
    /// Where to write the signed XML (default: standard output).
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A pinned certificate (PEM or DER); repeat for several (e.g. during a key rollover).
    #[arg(long = "cert", value_name = "CERT.pem", required = true)]
    pub certs: Vec<PathBuf>,
    /// Accept RSA-SHA1 / SHA-1 and 1024-bit RSA keys (legacy providers only).
    #[arg(long)]
    pub allow_sha1: bool,
    /// ELMO XML, the `elmo` form parameter, or a whole form-urlencoded response body; `-` reads
    /// standard input.
    #[arg(value_name = "IN")]
    pub input: PathBuf,
}

#[derive(Debug, Args)]
pub struct InputArgs {
    /// ELMO XML, the `elmo` form parameter, or a whole form-urlencoded response body; `-` reads
    /// standard input.
    #[arg(value_name = "IN")]
    pub input: PathBuf,
}

#[derive(Debug, Args)]
pub struct EncodeArgs {
    /// XML to encode; `-` reads standard input.
    #[arg(value_name = "IN.xml")]
    pub input: PathBuf,
    /// Where to write the parameter (default: standard output).
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
}

/// What `emrex elmo convert` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConvertTarget {
    /// ELMO 1.7.0 (namespace tree/v1), what EMREX 1.x clients read.
    #[value(name = "elmo-1.7")]
    Elmo17,
    /// ELMO 2.1.1 (namespace tree/v2).
    #[value(name = "elmo-2.1")]
    Elmo21,
    /// An EWP Incoming Mobility ToRs API v3 get-response embedding ELMO 2.1.1.
    #[value(name = "ewp-tor-v3")]
    EwpTorV3,
    /// A European Learning Model v3 `EuropeanDigitalCredential` (JSON-LD, unsigned; docs/elm.md).
    #[value(name = "elm")]
    Elm,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The format to write.
    #[arg(long, value_enum)]
    pub to: ConvertTarget,
    /// For ewp-tor-v3: the outgoing mobility id (`omobility-id`).
    #[arg(long, value_name = "ID", required_if_eq("to", "ewp-tor-v3"))]
    pub omobility_id: Option<String>,
    /// For ewp-tor-v3: the receiving academic year, e.g. `2024/2025`.
    #[arg(long, value_name = "YYYY/YYYY", required_if_eq("to", "ewp-tor-v3"))]
    pub academic_year: Option<String>,
    /// For elm: the credential's `id` (e.g. `urn:uuid:…`); none by default.
    #[arg(long, value_name = "URI")]
    pub credential_id: Option<String>,
    /// For elm: `issuanceDate`/`validFrom` (`xs:dateTime`); default: the ELMO `generatedDate`.
    #[arg(long, value_name = "DATETIME")]
    pub issuance_date: Option<String>,
    /// For elm: leave the attachments (the transcript PDF) out.
    #[arg(long)]
    pub no_attachments: bool,
    /// ELMO XML, the `elmo` form parameter, or a whole form-urlencoded response body; `-` reads
    /// standard input.
    #[arg(value_name = "IN")]
    pub input: PathBuf,
    /// Where to write the result (default: standard output).
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// The `elmo` parameter or a form-urlencoded body holding it; `-` reads standard input.
    #[arg(value_name = "IN")]
    pub input: PathBuf,
    /// Where to write the XML (default: standard output).
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
}
