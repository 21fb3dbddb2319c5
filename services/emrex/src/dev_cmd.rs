//! `emrex dev`: a whole EMREX federation in one process on loopback — EMREG, a Signer with a
//! fresh development key registered in that EMREG, an NCP in development mode with the demo
//! students, and an SMP that trusts that EMREG — so a newcomer can run an exchange in a browser.
//!
//! Everything listens on 127.0.0.1 only (`--listen 0.0.0.0` opens the browser-facing ports, for a
//! container whose ports are published), and the internal gRPC hops (NCP → Signer, SMP → EMREG,
//! the SIS API) carry no authentication here: this is a development federation, never a
//! deployment (each service runs on its own with mTLS via `emrex signer|emreg|ncp|smp`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use emrex_emreg::{AnyStore as EmregStore, RegistryStore, ValidationOptions};
use emrex_ncp::NcpServiceConfig;
use emrex_proto::signer::v1::signer_server::SignerServer;
use emrex_runtime::shutdown::Shutdown;
use emrex_signer::{KeyFiles, KeyStore, SignerConfig, SignerMetrics, SignerService};
use emrex_smp::registry::{RegistryConfig, RegistryView};
use tokio::net::TcpListener;

use crate::cli::DevArgs;

/// The acronym and country of the development NCP in the embedded EMREG.
const DEV_NCP: &str = "DEV-NCP";
const DEV_COUNTRY: &str = "NO";

/// Runs the federation until Ctrl-C / SIGTERM.
pub fn run(args: DevArgs) -> anyhow::Result<()> {
    let log = emrex_runtime::config::LogConfig::default();
    emrex_runtime::telemetry::init_tracing(&log).context("logging")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args))
}

async fn bind(ip: IpAddr, port: u16, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind((ip, port))
        .await
        .with_context(|| format!("binding {ip}:{port} for {what} (choose another with the flags, or 0 for any free port)"))
}

/// The address a URL names for a listener: the listener's own, except that "any address"
/// (`--listen 0.0.0.0` in a container whose ports are published) is reached as 127.0.0.1.
fn url_addr(bound: SocketAddr) -> SocketAddr {
    if bound.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), bound.port())
    } else {
        bound
    }
}

/// A development key pair, made once per data directory (kept so restarts keep the EMREG entry
/// valid). Marked as development-only in its file names and subject.
fn dev_key(dir: &Path) -> anyhow::Result<(PathBuf, PathBuf, String)> {
    let key = dir.join("DEV-ONLY-signer.key");
    let cert = dir.join("DEV-ONLY-signer.crt");
    if !key.exists() || !cert.exists() {
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .context("generating the development key")?;
        let mut params =
            rcgen::CertificateParams::new(vec!["ncp.dev.invalid".into()]).context("certificate")?;
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            "EMREX development NCP (not for production)",
        );
        params.not_after = rcgen::date_time_ymd(2099, 1, 1);
        let c = params.self_signed(&kp).context("self-signing")?;
        std::fs::write(&key, kp.serialize_pem())
            .with_context(|| format!("writing {}", key.display()))?;
        std::fs::write(&cert, c.pem()).with_context(|| format!("writing {}", cert.display()))?;
    }
    let pem =
        std::fs::read_to_string(&cert).with_context(|| format!("reading {}", cert.display()))?;
    Ok((key, cert, pem))
}

async fn serve(args: DevArgs) -> anyhow::Result<()> {
    let data = args.data_dir.clone();
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    let shutdown = Shutdown::new();
    let _signals = shutdown.trigger_on_signals();
    let mut tasks = Vec::new();

    // Listeners first: every URL in the federation is known before anything starts.
    let public = args.listen;
    let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let smp_http = bind(public, args.smp_port, "the SMP").await?;
    let ncp_http = bind(public, args.ncp_port, "the NCP").await?;
    let emreg_http = bind(public, args.emreg_port, "EMREG's JSON list").await?;
    let signer_grpc = bind(local, 0, "the Signer").await?;
    let emreg_grpc = bind(local, 0, "EMREG's gRPC").await?;
    let smp_grpc = bind(public, args.smp_grpc_port, "the SMP's SIS API").await?;
    let addr = |l: &TcpListener| l.local_addr().map(url_addr).context("local address");
    let (smp_addr, ncp_addr, emreg_addr, signer_addr, emreg_grpc_addr, smp_grpc_addr): (
        SocketAddr,
        SocketAddr,
        SocketAddr,
        SocketAddr,
        SocketAddr,
        SocketAddr,
    ) = (
        addr(&smp_http)?,
        addr(&ncp_http)?,
        addr(&emreg_http)?,
        addr(&signer_grpc)?,
        addr(&emreg_grpc)?,
        addr(&smp_grpc)?,
    );

    // EMREG, with the development NCP and its certificate.
    let (key, cert, cert_pem) = dev_key(&data)?;
    let emreg = Arc::new(
        EmregStore::connect(
            &format!("sqlite:{}", data.join("emreg.db").display()),
            ValidationOptions { dev_mode: true },
        )
        .await
        .context("EMREG store")?,
    );
    emreg
        .set_country(emrex_emreg::Country {
            code: DEV_COUNTRY.into(),
            name: "Norway (development federation)".into(),
            single_fetch: false,
        })
        .await
        .context("EMREG country")?;
    emreg
        .upsert(emrex_emreg::Entry {
            acronym: DEV_NCP.into(),
            country_code: DEV_COUNTRY.into(),
            institutions: vec!["EMREX demo universities (development NCP)".into()],
            url: format!("http://{ncp_addr}/"),
            certificates: vec![cert_pem],
            legacy_algorithms: false,
            metadata: Default::default(),
            revision: 0,
            updated_unix: 0,
        })
        .await
        .context("registering the development NCP in EMREG")?;
    {
        let s = shutdown.clone();
        let router = emrex_emreg::http::router(emreg.clone());
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(emreg_http, router)
                .with_graceful_shutdown(async move { s.triggered().await })
                .await;
        }));
        let s = shutdown.clone();
        let svc = emrex_emreg::registry_server(emrex_emreg::RegistryService::new(emreg.clone()));
        tasks.push(tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(svc)
                .serve_with_incoming_shutdown(
                    incoming(emreg_grpc),
                    async move { s.triggered().await },
                )
                .await;
        }));
    }

    // The Signer with the development key.
    {
        let store = Arc::new(
            KeyStore::load(
                KeyFiles {
                    key_file: key,
                    cert_file: cert,
                    next_cert_file: None,
                },
                Duration::from_secs(5),
            )
            .context("loading the development key")?,
        );
        let svc = SignerService::new(store, SignerConfig::default(), SignerMetrics::default());
        let (reporter, health) = tonic_health::server::health_reporter();
        reporter.set_serving::<SignerServer<SignerService>>().await;
        let s = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(health)
                .add_service(SignerServer::new(svc).max_decoding_message_size(64 << 20))
                .serve_with_incoming_shutdown(
                    incoming(signer_grpc),
                    async move { s.triggered().await },
                )
                .await;
        }));
    }

    // The NCP, in development mode, with the demo students (and OpenID Connect when asked).
    {
        let mut config = NcpServiceConfig {
            dev_mode: true,
            ..Default::default()
        };
        config.http.public_url = format!("http://{ncp_addr}");
        config.signer.client.endpoint = format!("http://{signer_addr}");
        config.provider_name = "EMREX development NCP".into();
        if let Some(issuer) = &args.oidc_issuer {
            config.login.oidc = Some(emrex_ncp::oidc::OidcConfig {
                issuer: issuer.clone(),
                client_id: args.oidc_client_id.clone(),
                client_secret_file: args.oidc_client_secret_file.clone(),
                scopes: vec!["profile".into()],
                claims: Default::default(),
                ca_file: None,
                allow_http: true,
            });
        }
        let metrics = emrex_ncp::metrics::NcpMetrics::default();
        let ncp = Arc::new(emrex_ncp::build(&config, metrics).context("NCP")?);
        let router = emrex_ncp::router(ncp);
        let s = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(ncp_http, router)
                .with_graceful_shutdown(async move { s.triggered().await })
                .await;
        }));
    }

    // The SMP, trusting the embedded EMREG (gRPC with Watch).
    {
        let registry = RegistryView::start(
            &RegistryConfig::Grpc {
                client: emrex_runtime::config::GrpcClientConfig {
                    endpoint: format!("http://{emreg_grpc_addr}"),
                    ..Default::default()
                },
                token_file: None,
            },
            shutdown.clone(),
        )
        .context("SMP registry client")?;
        registry
            .wait_ready(Duration::from_secs(10))
            .await
            .context("the SMP did not get the NCP list from EMREG")?;
        let store = Arc::new(
            emrex_smp::store::AnyStore::connect(&format!(
                "sqlite:{}",
                data.join("smp.db").display()
            ))
            .await
            .context("SMP store")?,
        );
        let view = registry.clone();
        let core = Arc::new(emrex_smp::service::SmpCore::new(
            store,
            Arc::new(move || view.current()),
            emrex_smp::service::Settings {
                public_url: format!("http://{smp_addr}"),
                dev_mode: true,
                chooser: true,
                ttl: Duration::from_secs(30 * 60),
                budget: emrex_elmo::Budget::default(),
            },
            emrex_smp::service::SmpMetrics::default(),
        ));
        let router = emrex_smp::http::router(core.clone());
        let s = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(smp_http, router)
                .with_graceful_shutdown(async move { s.triggered().await })
                .await;
        }));
        let svc = emrex_smp::grpc::smp_server(core);
        let s = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(svc)
                .serve_with_incoming_shutdown(
                    incoming(smp_grpc),
                    async move { s.triggered().await },
                )
                .await;
        }));
    }

    let ready = serde_json::json!({
        "smp": format!("http://{smp_addr}/"),
        "ncp": format!("http://{ncp_addr}/"),
        "emreg_json": format!("http://{emreg_addr}/ncp-list.json"),
        "emreg_grpc": format!("http://{emreg_grpc_addr}"),
        "signer_grpc": format!("http://{signer_addr}"),
        "smp_grpc": format!("http://{smp_grpc_addr}"),
        "data_dir": data.display().to_string(),
    });
    println!(
        "\nEMREX development federation is running (data in {}).\n\n  \
         Open  http://{smp_addr}/  in a browser: choose \"Norway (development federation)\",\n  \
         then the demo universities; log in at the NCP as a demo student (Åsa Ødegård's results\n  \
         are the richest), tick some courses, agree, and see them verified back at the SMP.\n\n  \
         NCP (provider)      http://{ncp_addr}/\n  \
         EMREG JSON list     http://{emreg_addr}/ncp-list.json\n  \
         EMREG gRPC          http://{emreg_grpc_addr}\n  \
         Signer gRPC         http://{signer_addr}\n  \
         SMP SIS API (gRPC)  http://{smp_grpc_addr}\n\n\
         The services listen on {public} without authentication: development only. Ctrl-C stops it.\n",
        data.display()
    );
    println!("emrex-dev-ready {ready}");
    shutdown.triggered().await;
    eprintln!("stopping…");
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
    }
    Ok(())
}

/// A listener as tonic's incoming stream, with TCP_NODELAY as the runtime sets it.
fn incoming(listener: TcpListener) -> tonic::transport::server::TcpIncoming {
    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_loopback_for_any_address_and_the_address_otherwise() {
        let any: SocketAddr = "0.0.0.0:8080".parse().expect("addr");
        assert_eq!(url_addr(any).to_string(), "127.0.0.1:8080");
        let any6: SocketAddr = "[::]:8090".parse().expect("addr");
        assert_eq!(url_addr(any6).to_string(), "127.0.0.1:8090");
        let specific: SocketAddr = "192.0.2.7:8081".parse().expect("addr");
        assert_eq!(url_addr(specific), specific);
    }
}
