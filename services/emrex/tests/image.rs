//! The container image `scripts/image.sh` builds (`localhost/emrex:<version>`), run with podman
//! the way Kubernetes runs it: as uid 65532, read-only root file system, no capabilities, no
//! privilege escalation. `emrex --version`; the image's layout against `Containerfile` (the file a
//! CI with registry access builds); and `emrex dev` inside it with its ports published, driven by
//! the same Chromium exchange as `dev_federation.rs` (dev login and a real OpenID provider).

use std::collections::BTreeMap;
use std::time::Duration;

use emrex_proto::smp::v1::OutcomeKind;
use emrex_tests::browser::RunOptions;
use emrex_tests::oidc::OpenIdProvider;
use emrex_tests::podman::{Container, host_address, podman, podman_ok, require_image};
use serde_json::Value;

mod dev_support;
use dev_support::{assert_verified_demo_exchange, flow_with, newest_exchange};

/// How Kubernetes runs the operator's Pods (operator/src/build/common.rs), in podman's words.
const HARDENED: &[&str] = &[
    "--read-only",
    "--user=65532:65532",
    "--cap-drop=ALL",
    "--security-opt=no-new-privileges",
];

/// The image goal of issue #12 (docs/deploy.md reports the measured size).
const MAX_IMAGE_BYTES: u64 = 40_000_000;

/// The runtime stage of `Containerfile`: its instructions by keyword (the last one wins).
fn containerfile_runtime_stage() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(emrex_tests::workspace_dir().join("Containerfile"))
        .expect("Containerfile");
    let lines: Vec<&str> = text.lines().collect();
    let last_from = lines
        .iter()
        .rposition(|l| l.starts_with("FROM "))
        .expect("a FROM line");
    lines
        .into_iter()
        .skip(last_from)
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

fn inspect(image: &str, format: &str) -> String {
    podman_ok(&["image", "inspect", "--format", format, image])
        .trim()
        .to_string()
}

#[test]
fn the_image_is_laid_out_like_the_containerfile_small_stripped_and_without_a_shell() {
    let image = require_image();
    let stage = containerfile_runtime_stage();

    // Same user, entry point, default command and ports as the Containerfile's runtime stage.
    assert_eq!(inspect(&image, "{{.Config.User}}"), stage["USER"]);
    let entrypoint: Vec<String> = serde_json::from_str(&stage["ENTRYPOINT"]).expect("JSON form");
    assert_eq!(
        inspect(&image, "{{json .Config.Entrypoint}}"),
        serde_json::to_string(&entrypoint).expect("json")
    );
    let cmd: Vec<String> = serde_json::from_str(&stage["CMD"]).expect("JSON form");
    assert_eq!(
        inspect(&image, "{{json .Config.Cmd}}"),
        serde_json::to_string(&cmd).expect("json")
    );
    let exposed: Value =
        serde_json::from_str(&inspect(&image, "{{json .Config.ExposedPorts}}")).expect("json");
    let mut exposed: Vec<String> = exposed
        .as_object()
        .expect("ports")
        .keys()
        .cloned()
        .collect();
    exposed.sort();
    let mut declared: Vec<String> = stage["EXPOSE"]
        .split_whitespace()
        .map(|p| format!("{p}/tcp"))
        .collect();
    declared.sort();
    assert_eq!(exposed, declared);
    // The Containerfile copies the binary to where the entry point runs it.
    let copy_dest = stage["COPY"].split_whitespace().last().expect("COPY dest");
    assert_eq!(copy_dest, entrypoint[0]);
    assert_eq!(
        inspect(
            &image,
            "{{index .Config.Labels \"org.opencontainers.image.version\"}}"
        ),
        env!("CARGO_PKG_VERSION")
    );

    let size: u64 = inspect(&image, "{{.Size}}").parse().expect("size");
    let profile = inspect(
        &image,
        "{{index .Config.Labels \"eu.emrex.build.profile\"}}",
    );
    if profile.trim() == "image" {
        assert!(
            size < MAX_IMAGE_BYTES,
            "the image is {size} bytes, over the {MAX_IMAGE_BYTES} goal"
        );
    } else {
        // The test command builds the image from the dev binary it compiles anyway: the
        // `image` profile (fat LTO, one codegen unit) costs 25-60 min cold on two cores.
        eprintln!(
            "skipped: the {MAX_IMAGE_BYTES}-byte size goal (this image is {size} bytes, built \
             from the `{}` profile; `scripts/image.sh && cargo test -p emrex --test image` checks \
             the release image)",
            profile.trim()
        );
    }

    // The files: export a container's file system and list it.
    let dir = tempfile::tempdir().expect("tmp");
    let tar = dir.path().join("fs.tar");
    let id = podman_ok(&["create", &image]).trim().to_string();
    let exported = podman(
        &["export", "-o", tar.to_str().expect("utf-8"), &id],
        Duration::from_secs(120),
    );
    podman_ok(&["rm", &id]);
    assert!(exported.status.success(), "{}", exported.stderr_text());
    let listing = std::process::Command::new("tar")
        .args(["-tvf"])
        .arg(&tar)
        .output()
        .expect("tar");
    let listing = String::from_utf8_lossy(&listing.stdout);
    let entry = |path: &str| {
        listing
            .lines()
            .find(|l| l.ends_with(&format!(" {path}")) || l.contains(&format!(" {path} -> ")))
            .map(str::to_string)
    };
    let bin = entry(entrypoint[0].trim_start_matches('/')).expect("the binary");
    assert!(bin.starts_with("-rwxr-xr-x root/root"), "{bin}");
    for present in [
        "etc/ssl/certs/ca-certificates.crt",
        "etc/passwd",
        "lib64/ld-linux-x86-64.so.2",
        "usr/share/doc/libc6/copyright",
    ] {
        assert!(entry(present).is_some(), "{present} missing:\n{listing}");
    }
    let tmp = entry("tmp/").expect("/tmp");
    assert!(tmp.starts_with("drwxrwxrwt"), "{tmp}");
    for absent in [
        "bin/sh",
        "bin/bash",
        "usr/bin/",
        "bin/",
        "sbin/",
        "var/lib/dpkg/",
    ] {
        assert!(
            entry(absent).is_none(),
            "{absent} is in the image:\n{listing}"
        );
    }
    // No shell to run: exec fails (127: command not found).
    let sh = podman(
        &[
            "run",
            "--rm",
            "--entrypoint",
            "/bin/sh",
            &image,
            "-c",
            "true",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(sh.status.code(), Some(127), "{}", sh.stderr_text());

    // The binary: stripped of debug info and symbols (both live in emrex.debug next to the
    // build, as Debian's dh_strip splits them), with a link to the debug file.
    std::process::Command::new("tar")
        .arg("-xf")
        .arg(&tar)
        .arg("-C")
        .arg(dir.path())
        .arg(entrypoint[0].trim_start_matches('/'))
        .status()
        .expect("tar -x");
    let sections = std::process::Command::new("readelf")
        .arg("-SW")
        .arg(dir.path().join(entrypoint[0].trim_start_matches('/')))
        .output()
        .expect("readelf");
    let sections = String::from_utf8_lossy(&sections.stdout);
    // `.debug_gdb_scripts` is no debug info: a loaded 34-byte section naming rustc's gdb
    // pretty-printers, which no strip removes.
    assert!(
        !sections
            .split_whitespace()
            .any(|w| w.starts_with(".debug_") && w != ".debug_gdb_scripts"),
        "debug sections:\n{sections}"
    );
    assert!(!sections.contains(".symtab"), "a symbol table:\n{sections}");
    assert!(
        sections.contains(".gnu_debuglink"),
        "no debug link:\n{sections}"
    );
    let passwd = std::process::Command::new("tar")
        .arg("-xOf")
        .arg(&tar)
        .arg("etc/passwd")
        .output()
        .expect("tar");
    assert!(
        String::from_utf8_lossy(&passwd.stdout)
            .lines()
            .any(|l| l.starts_with("nonroot:x:65532:65532:")),
        "no nonroot user 65532"
    );
}

#[test]
fn emrex_version_runs_as_65532_on_a_read_only_root_without_capabilities() {
    let image = require_image();
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(HARDENED);
    args.extend([image.as_str(), "--version"]);
    let out = podman_ok(&args);
    assert_eq!(out, format!("emrex {}\n", env!("CARGO_PKG_VERSION")));
    // The image's own user is 65532 too: the same answer without --user.
    let out = podman_ok(&["run", "--rm", "--read-only", &image, "--version"]);
    assert_eq!(out, format!("emrex {}\n", env!("CARGO_PKG_VERSION")));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emrex_dev_in_the_container_passes_the_browser_federation_flow() {
    let image = require_image();
    emrex_tests::browser::ensure_node_modules();
    let [smp, ncp, emreg, sis] = [free_port(), free_port(), free_port(), free_port()];
    // The provider listens on an address both the container (NCP → provider: discovery, token)
    // and the host's browser reach, so the issuer is the same URL for both.
    let host = host_address();
    let op = OpenIdProvider::start(&emrex_tests::oidc::OpConfig {
        host: Some(host.clone()),
        ..dev_support::op_config(ncp)
    });
    let browser = RunOptions {
        hosts: [(host.clone(), host.clone())].into(),
        ..RunOptions::default()
    };
    let dir = tempfile::tempdir().expect("tmp");
    let secret = dir.path().join("oidc-secret");
    std::fs::write(&secret, "test-only-secret").expect("secret");
    let publish: Vec<String> = [smp, ncp, emreg, sis]
        .iter()
        .map(|p| format!("--publish=127.0.0.1:{p}:{p}"))
        .collect();
    let mount = format!(
        "--volume={}:/run/secrets/oidc-client-secret:ro",
        secret.display()
    );
    // The data directory (SQLite files, the development key and gRPC token) on a volume the
    // container's user owns, as a Pod's volume with fsGroup would be.
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("data dir");
    std::os::unix::fs::chown(&data, Some(65532), Some(65532)).expect("chown the data dir");
    let data_mount = format!("--volume={}:/data", data.display());
    let mut options: Vec<&str> = HARDENED.to_vec();
    options.extend(publish.iter().map(String::as_str));
    options.push(&mount);
    options.push(&data_mount);
    let ports: Vec<String> = [smp, ncp, emreg, sis].iter().map(u16::to_string).collect();
    let container = Container::start(
        &options,
        &image,
        &[
            "dev",
            "--listen",
            "0.0.0.0",
            "--data-dir",
            "/data",
            "--smp-port",
            &ports[0],
            "--ncp-port",
            &ports[1],
            "--emreg-port",
            &ports[2],
            "--smp-grpc-port",
            &ports[3],
            "--oidc-issuer",
            &op.issuer,
            "--oidc-client-secret-file",
            "/run/secrets/oidc-client-secret",
        ],
    );
    let ready: Value =
        serde_json::from_str(&container.wait_for_line("emrex-dev-ready ", Duration::from_secs(60)))
            .expect("ready JSON");
    let smp_url = format!("http://127.0.0.1:{smp}/");
    assert_eq!(ready["smp"], smp_url.as_str());
    assert_eq!(ready["ncp"], format!("http://127.0.0.1:{ncp}/").as_str());
    let sis_url = format!("http://127.0.0.1:{sis}");
    assert_eq!(ready["grpc_token_file"], "/data/DEV-ONLY-grpc-token");
    let token = std::fs::read_to_string(data.join("DEV-ONLY-grpc-token")).expect("token");

    // Every process in the container runs as 65532, on the host too (no user namespace).
    let users = container.top(&["huser", "user"]);
    assert!(!users.is_empty());
    for row in &users {
        assert_eq!(row, &["65532", "nonroot"], "{users:?}");
    }
    // EMREG's list, through the published port.
    let list = std::process::Command::new("curl")
        .args(["-sf", "--max-time", "10"])
        .arg(format!("http://127.0.0.1:{emreg}/ncp-list.json"))
        .output()
        .expect("curl");
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(list.contains("DEV-NCP"), "{list}");

    let (s, b) = (smp_url.clone(), browser.clone());
    let outcome = tokio::task::spawn_blocking(move || {
        flow_with(&s, dev_support::dev_login(), "image_dev_devlogin", &b)
    })
    .await
    .expect("browser");
    outcome.assert_ok().assert_no_csp_violations();
    let ex = newest_exchange(&sis_url, &token).await;
    assert_verified_demo_exchange(&ex);

    let (s, b) = (smp_url.clone(), browser.clone());
    let outcome = tokio::task::spawn_blocking(move || {
        flow_with(&s, dev_support::oidc_login(), "image_dev_oidc", &b)
    })
    .await
    .expect("browser");
    outcome.assert_ok().assert_no_csp_violations();
    let ex2 = newest_exchange(&sis_url, &token).await;
    assert_ne!(ex2.session_id, ex.session_id);
    assert_eq!(ex2.outcome, OutcomeKind::Verified as i32, "{}", ex2.detail);
    assert_eq!(
        ex2.person.as_ref().map(|p| p.given_names.as_str()),
        Some("Åsa")
    );

    // SIGTERM (what the kubelet sends) stops it cleanly within the grace period.
    assert_eq!(container.stop(10), 0, "{}", container.logs());
    drop(op);
}
