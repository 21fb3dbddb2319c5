//! `emrex dev`: a whole EMREX federation in one process on loopback — EMREG, a Signer with a
//! fresh development key registered in that EMREG, an NCP in development mode with the demo
//! students, and an SMP that trusts that EMREG — so a newcomer can run an exchange in a browser.
//!
//! Each service is assembled by its own crate's entry point (`emrex_signer::assemble`, …), the
//! same code `emrex signer|emreg|ncp|smp` runs, from a configuration made here; one runtime runs
//! them all behind one admin port (`/live`, `/ready`, `/metrics`) and one shutdown. Everything
//! listens on 127.0.0.1 only (`--listen 0.0.0.0` opens the browser-facing ports, for a container
//! whose ports are published), the internal gRPC hops carry a development bearer token generated
//! into the data directory instead of mTLS, and dev mode is on everywhere: a development
//! federation, never a deployment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use emrex_emreg::{EmregServiceConfig, RegistryStore};
use emrex_ncp::NcpServiceConfig;
use emrex_runtime::config::{
    AdminConfig, AuthConfig, GrpcClientConfig, GrpcServerConfig, ShutdownConfig,
};
use emrex_runtime::service::{BoundServers, ServiceHandles, ServiceRunner};
use emrex_signer::{KeyFiles, SignerServiceConfig};
use emrex_smp::config::SmpServiceConfig;
use emrex_smp::registry::RegistryConfig;

use crate::cli::DevArgs;
use crate::data_lock::DataDirLock;

/// The acronym and country of the development NCP in the embedded EMREG.
const DEV_NCP: &str = "DEV-NCP";
const DEV_COUNTRY: &str = "NO";

/// How long the SMP may take to load the NCP list from the embedded EMREG.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// Runs the federation until Ctrl-C / SIGTERM.
pub fn run(args: DevArgs) -> anyhow::Result<()> {
    let log = emrex_runtime::config::LogConfig {
        format: args.log_format.into(),
        ..emrex_runtime::config::LogConfig::default()
    };
    crate::serve::serve(&log, serve(args))
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The address a URL names for a listener: the listener's own, except that "any address"
/// (`--listen 0.0.0.0` in a container whose ports are published) is reached as 127.0.0.1.
fn url_addr(bound: SocketAddr) -> SocketAddr {
    if bound.ip().is_unspecified() {
        loopback(bound.port())
    } else {
        bound
    }
}

/// `port`, or for 0 a free loopback port found now. The NCP's and the SMP's public URLs (return
/// URL, login callback, EMREG entry) must be known before they are assembled, so port 0 cannot
/// wait until they bind. (The port is free again for a few microseconds before the service binds
/// it; a clash fails the start with "address in use", never silently.)
fn concrete_port(port: u16) -> anyhow::Result<u16> {
    if port != 0 {
        return Ok(port);
    }
    let probe = std::net::TcpListener::bind(loopback(0)).context("finding a free port")?;
    Ok(probe.local_addr().context("finding a free port")?.port())
}

/// Writes `contents` to `path` readable by the owner only (keys, tokens).
fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    crate::private_file::write_private(path, contents)
        .with_context(|| format!("writing {}", path.display()))
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
        write_private(&key, kp.serialize_pem().as_bytes())?;
        std::fs::write(&cert, c.pem()).with_context(|| format!("writing {}", cert.display()))?;
    }
    let pem =
        std::fs::read_to_string(&cert).with_context(|| format!("reading {}", cert.display()))?;
    Ok((key, cert, pem))
}

/// A fresh bearer token for the federation's internal gRPC hops (NCP → Signer, SMP → EMREG, a
/// SIS → the SMP's API), written to `DEV-ONLY-grpc-token` for clients such as grpcurl.
fn dev_token(dir: &Path) -> anyhow::Result<(String, PathBuf)> {
    let token = emrex_ncp::exchange::random_token(32);
    let path = dir.join("DEV-ONLY-grpc-token");
    write_private(&path, token.as_bytes())?;
    Ok((token, path))
}

async fn serve(args: DevArgs) -> anyhow::Result<()> {
    let data = args.data_dir.clone();
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    // Held until this function returns: a second `emrex dev` on this directory stops here.
    let _lock = DataDirLock::acquire(
        &data,
        &format!(
            "pid {}, admin port {}, SMP port {}",
            std::process::id(),
            args.admin_port,
            args.smp_port
        ),
    )?;
    let handles = ServiceHandles::new();
    let (token, token_file) = dev_token(&data)?;
    let auth = AuthConfig {
        allow_dev_bearer_tokens: true,
        dev_bearer_tokens: vec![token],
    };
    let grpc_on = |port: u16| GrpcServerConfig {
        listen: loopback(port),
        ..GrpcServerConfig::default()
    };
    let client_of = |addr: SocketAddr| GrpcClientConfig {
        endpoint: format!("http://{addr}"),
        ..GrpcClientConfig::default()
    };
    let mut servers = BoundServers::default();

    // The Signer with the development key.
    let (key, cert, cert_pem) = dev_key(&data)?;
    let signer = SignerServiceConfig {
        grpc: grpc_on(0),
        auth: auth.clone(),
        keys: KeyFiles {
            key_file: key,
            cert_file: cert,
            next_cert_file: None,
        },
        ..SignerServiceConfig::default()
    };
    let bound = emrex_signer::assemble(&signer, &handles)
        .context("the Signer")?
        .bind()
        .await?;
    let signer_addr = bound.grpc_addr().context("the Signer's gRPC address")?;
    servers.extend(bound);

    // The NCP, in development mode, with the demo students (and OpenID Connect when asked).
    // The browser-facing listeners are on `--listen`; the URLs name them as `url_addr` says.
    let public = |port: u16| SocketAddr::new(args.listen, port);
    let ncp_listen = public(concrete_port(args.ncp_port)?);
    let ncp_addr = url_addr(ncp_listen);
    let mut ncp = NcpServiceConfig {
        dev_mode: true,
        grpc: grpc_on(0),
        provider_name: "EMREX development NCP".into(),
        ..NcpServiceConfig::default()
    };
    ncp.http.listen = ncp_listen.to_string();
    ncp.http.public_url = format!("http://{ncp_addr}");
    ncp.signer.client = client_of(signer_addr);
    ncp.signer.token_file = Some(token_file.clone());
    // The wallet issuance (OpenID4VCI, SD-JWT VC), so a student can take the results into a
    // wallet after consenting.
    ncp.wallet.enabled = true;
    if let Some(issuer) = &args.oidc_issuer {
        ncp.login.oidc = Some(emrex_ncp::oidc::OidcConfig {
            issuer: issuer.clone(),
            client_id: args.oidc_client_id.clone(),
            client_secret_file: args.oidc_client_secret_file.clone(),
            scopes: vec!["profile".into()],
            claims: Default::default(),
            ca_file: None,
            allow_http: true,
        });
    }
    ncp.store.url = format!("sqlite:{}", data.join("ncp.db").display());
    let bound = emrex_ncp::assemble(&ncp, &handles)
        .await
        .context("the NCP")?
        .bind()
        .await?;
    servers.extend(bound);

    // EMREG, with the development NCP and its certificate.
    let mut emreg = EmregServiceConfig {
        dev_mode: true,
        grpc: grpc_on(0),
        auth: auth.clone(),
        ..EmregServiceConfig::default()
    };
    emreg.http.listen = public(args.emreg_port).to_string();
    emreg.store.url = format!("sqlite:{}", data.join("emreg.db").display());
    let assembled = emrex_emreg::assemble(&emreg, &handles)
        .await
        .context("EMREG")?;
    seed_registry(assembled.store.as_ref(), ncp_addr, cert_pem).await?;
    let bound = assembled.servers.bind().await?;
    let emreg_grpc_addr = bound.grpc_addr().context("EMREG's gRPC address")?;
    let emreg_addr = url_addr(bound.http_addr().context("EMREG's HTTP address")?);
    servers.extend(bound);

    // The SMP, trusting the embedded EMREG (gRPC with Watch).
    let smp_listen = public(concrete_port(args.smp_port)?);
    let smp_addr = url_addr(smp_listen);
    let mut smp = SmpServiceConfig {
        dev_mode: true,
        grpc: GrpcServerConfig {
            listen: public(args.smp_grpc_port),
            ..GrpcServerConfig::default()
        },
        auth,
        registry: RegistryConfig::Grpc {
            client: client_of(emreg_grpc_addr),
            token_file: Some(token_file.clone()),
        },
        ..SmpServiceConfig::default()
    };
    smp.http.listen = smp_listen.to_string();
    smp.http.public_url = format!("http://{smp_addr}");
    smp.store.url = format!("sqlite:{}", data.join("smp.db").display());
    let bound = emrex_smp::assemble(&smp, &handles)
        .await
        .context("the SMP")?
        .bind()
        .await?;
    let smp_grpc_addr = url_addr(bound.grpc_addr().context("the SMP's gRPC address")?);
    servers.extend(bound);

    let service = ServiceRunner::with_bound(
        servers,
        &AdminConfig {
            listen: loopback(args.admin_port),
        },
        // Ctrl-C in a terminal: nobody routes traffic here, so no drain delay.
        &ShutdownConfig {
            drain_delay: Duration::ZERO,
            timeout: Duration::from_secs(10),
        },
        handles.clone(),
    )
    .bind()
    .await?;
    let admin_addr = service.admin_addr();
    let mut running = tokio::spawn(service.run());

    // Ready once every service is (the SMP has loaded the NCP list from EMREG).
    let started = tokio::time::Instant::now();
    loop {
        let report = handles.readiness.evaluate().await;
        if report.is_ready() {
            break;
        }
        if started.elapsed() > READY_TIMEOUT {
            handles.shutdown.trigger();
            anyhow::bail!(
                "the federation did not become ready: {}",
                report.failing.join(", ")
            );
        }
        if running.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let ready = serde_json::json!({
        "smp": format!("http://{smp_addr}/"),
        "ncp": format!("http://{ncp_addr}/"),
        "emreg_json": format!("http://{emreg_addr}/ncp-list.json"),
        "emreg_grpc": format!("http://{emreg_grpc_addr}"),
        "signer_grpc": format!("http://{signer_addr}"),
        "smp_grpc": format!("http://{smp_grpc_addr}"),
        "admin": format!("http://{admin_addr}"),
        "grpc_token_file": token_file.display().to_string(),
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
         SMP SIS API (gRPC)  http://{smp_grpc_addr}  (authorization: Bearer $(cat {}))\n  \
         /live /ready /metrics  http://{admin_addr}/\n\n\
         The services listen on {} with development credentials: development only. Ctrl-C stops it.\n",
        data.display(),
        token_file.display(),
        args.listen,
    );
    println!("emrex-dev-ready {ready}");
    let result = (&mut running).await;
    eprintln!("stopped");
    result.context("the federation's runtime")??;
    Ok(())
}

/// Lists the development NCP (its URL and certificate) in the embedded EMREG.
async fn seed_registry(
    store: &impl RegistryStore,
    ncp_addr: SocketAddr,
    cert_pem: String,
) -> anyhow::Result<()> {
    store
        .set_country(emrex_emreg::Country {
            code: DEV_COUNTRY.into(),
            name: "Norway (development federation)".into(),
            single_fetch: false,
        })
        .await
        .context("EMREG country")?;
    store
        .upsert(emrex_emreg::Entry {
            acronym: DEV_NCP.into(),
            country_code: DEV_COUNTRY.into(),
            institutions: vec!["EMREX demo universities (development NCP)".into()],
            url: format!("http://{ncp_addr}/"),
            certificates: vec![cert_pem],
            legacy_algorithms: false,
            // The development NCP offers wallet issuance; its issuer identifier is its public
            // URL, and EMREG lists its key for wallet verifiers in /wallet-issuers.json.
            credential_issuer: format!("http://{ncp_addr}"),
            metadata: Default::default(),
            revision: 0,
            updated_unix: 0,
        })
        .await
        .context("registering the development NCP in EMREG")?;
    Ok(())
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
