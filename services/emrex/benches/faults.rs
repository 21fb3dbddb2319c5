//! The fault benchmark (issue #13): is any student's exchange lost while the federation is
//! rolled, killed and re-keyed under load?
//!
//! On loopback, as real processes of the `emrex` binary: two replicas each of EMREG, the NCP and
//! the SMP and one Signer, all on one real PostgreSQL (each service in its own schema), behind a
//! real HAProxy (round robin, no stickiness, health checks on `/ready`, connection failures
//! retried on another server — what a Kubernetes Service or ingress does). A bounded load of
//! complete exchanges (SMP chooser → NCP entry → dev login → choice → send → return POST →
//! result page) runs at a fixed concurrency while a schedule, driven by progress, SIGTERMs every
//! replica in turn (a rolling update), SIGKILLs one NCP and one SMP replica, restarts PostgreSQL,
//! and rotates the Signer's key (the next certificate published in EMREG first, the old one
//! removed later).
//!
//! Each simulated student does what a person does: a request that fails without an answer, or
//! answers "briefly unavailable" (502/503/504), is tried again (up to 6 times, backing off); any
//! other answer is taken as it is. An exchange ends **verified**, with a **clean error** (a page
//! or a return code the student can read and act on — counted by step and status), or **lost**
//! (no answer at all after the retries, or a page that makes no sense). The table also counts
//! duplicated responses (an NCP exchange answered twice), SMP records completed that no student
//! saw complete, and verification failures caused by the key rotation.
//!
//! Run with scripts/fault-bench.sh (it installs HAProxy and PostgreSQL when missing);
//! `EMREX_FAULT_EXCHANGES` (default 2000) and `EMREX_FAULT_CONCURRENCY` (default 16) bound it.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

const TOKEN: &str = "fault-bench-token-TEST-ONLY";
const ATTEMPTS: usize = 6;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ------------------------------------------------------------------------------------------
// Processes

/// One `emrex` process we can stop, kill and start again with the same configuration.
struct Proc {
    name: String,
    args: Vec<String>,
    admin: u16,
    log: PathBuf,
    child: Option<Child>,
}

impl Proc {
    fn new(name: &str, args: Vec<String>, admin: u16, dir: &Path) -> Self {
        Self {
            name: name.into(),
            args,
            admin,
            log: dir.join(format!("{name}.log")),
            child: None,
        }
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_emrex"))
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn emrex");
        self.child = Some(child);
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = format!("http://127.0.0.1:{}/ready", self.admin);
        let http = reqwest::Client::new();
        loop {
            if let Ok(r) = http.get(&url).send().await
                && r.status().is_success()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not become ready (log: {})",
                self.name,
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, then wait for a clean exit (the drain and shutdown).
    async fn terminate(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A rolling restart of this replica: SIGTERM, wait for exit 0, start, wait until ready.
    async fn roll(&mut self, events: &Events) {
        let clean = self.terminate().await;
        events.note(format!(
            "{}: SIGTERM → {}",
            self.name,
            if clean { "exit 0" } else { "NOT a clean exit" }
        ));
        if !clean {
            events.unclean.fetch_add(1, Ordering::SeqCst);
        }
        self.spawn();
        self.wait_ready().await;
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What the fault schedule did, when.
#[derive(Default)]
struct Events {
    start: std::sync::OnceLock<Instant>,
    lines: std::sync::Mutex<Vec<String>>,
    unclean: AtomicUsize,
}

impl Events {
    fn note(&self, what: String) {
        let t = self.start.get_or_init(Instant::now).elapsed().as_secs_f64();
        let line = format!("{t:7.1} s  {what}");
        eprintln!("{line}");
        self.lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(line);
    }
}

// ------------------------------------------------------------------------------------------
// The federation

struct Federation {
    /// Configuration, keys and every process's log (kept after the run).
    dir: PathBuf,
    signer: Proc,
    emreg: Vec<Proc>,
    ncp: Vec<Proc>,
    smp: Vec<Proc>,
    haproxy: Child,
    smp_lb: u16,
    ncp_lb: u16,
    emreg_admin_grpc: Vec<u16>,
}

impl Drop for Federation {
    fn drop(&mut self) {
        let _ = self.haproxy.kill();
        let _ = self.haproxy.wait();
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// A key pair for the Signer (RSA 2048, test-only, made now).
fn signing_pair(dir: &Path, tag: &str) -> (PathBuf, PathBuf, String) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
        .or_else(|_| rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256))
        .expect("key");
    let mut params = rcgen::CertificateParams::new(vec!["ncp.fault.invalid".into()]).expect("p");
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("fault bench NCP {tag} (TEST-ONLY)"),
    );
    let cert = params.self_signed(&key).expect("cert");
    let (k, c) = (
        dir.join(format!("{tag}.key")),
        dir.join(format!("{tag}.crt")),
    );
    write(&k, &key.serialize_pem());
    write(&c, &cert.pem());
    (k, c, cert.pem())
}

impl Federation {
    async fn start(pg_url: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("emrex-fault-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("run directory");
        let d = dir.as_path();
        let token_file = d.join("token");
        write(&token_file, TOKEN);
        let keys = d.join("link-keys");
        write(
            &keys,
            "ZmF1bHQtYmVuY2ggbGluayBrZXksIFRFU1QtT05MWSwgMzIgYnl0ZXM=\n",
        );
        let (lb_ncp, lb_smp, lb_emreg_http, lb_emreg_grpc) =
            (free_port(), free_port(), free_port(), free_port());
        let common = |admin: u16| {
            format!(
                "[admin]\nlisten = \"127.0.0.1:{admin}\"\n[log]\nfilter = \"warn\"\n\
                 [shutdown]\ndrain_delay = \"1s\"\ntimeout = \"15s\"\n\
                 [auth]\nallow_dev_bearer_tokens = true\ndev_bearer_tokens = [\"{TOKEN}\"]\n"
            )
        };

        // The Signer.
        let (sk, sc, _) = signing_pair(d, "signer");
        let (signer_grpc, signer_admin) = (free_port(), free_port());
        let cfg = d.join("signer.toml");
        write(
            &cfg,
            &format!(
                "{}[grpc]\nlisten = \"127.0.0.1:{signer_grpc}\"\n[keys]\nkey_file = \"{}\"\n\
                 cert_file = \"{}\"\nnext_cert_file = \"{}\"\n",
                common(signer_admin),
                sk.display(),
                sc.display(),
                d.join("signer-next.crt").display()
            ),
        );
        let signer = Proc::new(
            "signer",
            vec![
                "signer".into(),
                "--config".into(),
                cfg.display().to_string(),
            ],
            signer_admin,
            d,
        );

        // Two replicas each.
        let mut backends: HashMap<&str, Vec<(u16, u16)>> = HashMap::new();
        let mut emreg = Vec::new();
        let mut emreg_admin_grpc = Vec::new();
        for i in 1..=2 {
            let (grpc, http, admin) = (free_port(), free_port(), free_port());
            let cfg = d.join(format!("emreg{i}.toml"));
            write(
                &cfg,
                &format!(
                    "dev_mode = true\n{}[grpc]\nlisten = \"127.0.0.1:{grpc}\"\n[http]\n\
                     listen = \"127.0.0.1:{http}\"\n[store]\nurl = \"{pg_url}\"\n",
                    common(admin)
                ),
            );
            emreg.push(Proc::new(
                &format!("emreg{i}"),
                vec!["emreg".into(), "--config".into(), cfg.display().to_string()],
                admin,
                d,
            ));
            emreg_admin_grpc.push(grpc);
            backends
                .entry("emreg_grpc")
                .or_default()
                .push((grpc, admin));
            backends
                .entry("emreg_http")
                .or_default()
                .push((http, admin));
        }
        let mut ncp = Vec::new();
        for i in 1..=2 {
            let (grpc, http, admin) = (free_port(), free_port(), free_port());
            let cfg = d.join(format!("ncp{i}.toml"));
            write(
                &cfg,
                &format!(
                    "dev_mode = true\nprovider_name = \"Fault bench NCP\"\n{}[grpc]\n\
                     listen = \"127.0.0.1:{grpc}\"\n[http]\nlisten = \"127.0.0.1:{http}\"\n\
                     public_url = \"http://127.0.0.1:{lb_ncp}\"\n[store]\nurl = \"{pg_url}\"\n\
                     [signer]\ntoken_file = \"{}\"\n[signer.client]\n\
                     endpoint = \"http://127.0.0.1:{signer_grpc}\"\ntimeout = \"20s\"\n",
                    common(admin),
                    token_file.display()
                ),
            );
            ncp.push(Proc::new(
                &format!("ncp{i}"),
                vec!["ncp".into(), "--config".into(), cfg.display().to_string()],
                admin,
                d,
            ));
            backends.entry("ncp").or_default().push((http, admin));
        }
        let mut smp = Vec::new();
        for i in 1..=2 {
            let (grpc, http, admin) = (free_port(), free_port(), free_port());
            let cfg = d.join(format!("smp{i}.toml"));
            write(
                &cfg,
                &format!(
                    "dev_mode = true\n{}[grpc]\nlisten = \"127.0.0.1:{grpc}\"\n[http]\n\
                     listen = \"127.0.0.1:{http}\"\npublic_url = \"http://127.0.0.1:{lb_smp}\"\n\
                     chooser = true\n[store]\nurl = \"{pg_url}\"\n[links]\nkey_file = \"{}\"\n\
                     [registry]\nkind = \"grpc\"\ntoken_file = \"{}\"\n[registry.client]\n\
                     endpoint = \"http://127.0.0.1:{lb_emreg_grpc}\"\n",
                    common(admin),
                    keys.display(),
                    token_file.display()
                ),
            );
            smp.push(Proc::new(
                &format!("smp{i}"),
                vec!["smp".into(), "--config".into(), cfg.display().to_string()],
                admin,
                d,
            ));
            backends.entry("smp").or_default().push((http, admin));
        }

        // HAProxy: round robin, no stickiness; a replica leaves the rotation when its /ready
        // fails (the drain) and a connection that fails is tried on the other replica.
        let mut conf = String::from(
            "global\n  maxconn 4096\n\ndefaults\n  timeout connect 1s\n  timeout client 60s\n  \
             timeout server 60s\n  retries 3\n  option redispatch 1\n\n",
        );
        for (name, port, mode) in [
            ("ncp", lb_ncp, "http"),
            ("smp", lb_smp, "http"),
            ("emreg_http", lb_emreg_http, "http"),
            ("emreg_grpc", lb_emreg_grpc, "tcp"),
        ] {
            conf.push_str(&format!(
                "frontend {name}\n  mode {mode}\n  bind 127.0.0.1:{port}\n  default_backend {name}\n\n\
                 backend {name}\n  mode {mode}\n  balance roundrobin\n"
            ));
            if mode == "http" {
                conf.push_str("  option http-server-close\n  retry-on conn-failure\n");
            }
            conf.push_str(
                "  option httpchk GET /ready\n  http-check expect status 200\n  \
                 default-server inter 200ms fall 1 rise 1\n",
            );
            for (i, (port, admin)) in backends[name].iter().enumerate() {
                conf.push_str(&format!(
                    "  server s{i} 127.0.0.1:{port} check port {admin}\n"
                ));
            }
            conf.push('\n');
        }
        let hcfg = d.join("haproxy.cfg");
        write(&hcfg, &conf);
        let haproxy = Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(&hcfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haproxy (apt-get install haproxy)");

        let mut fed = Federation {
            dir,
            signer,
            emreg,
            ncp,
            smp,
            haproxy,
            smp_lb: lb_smp,
            ncp_lb: lb_ncp,
            emreg_admin_grpc,
        };
        fed.signer.spawn();
        fed.signer.wait_ready().await;
        for p in fed.emreg.iter_mut() {
            p.spawn();
        }
        for p in &fed.emreg {
            p.wait_ready().await;
        }
        let cert = std::fs::read_to_string(fed.dir.join("signer.crt")).expect("cert");
        fed.register(vec![cert]).await;
        for p in fed.ncp.iter_mut().chain(fed.smp.iter_mut()) {
            p.spawn();
        }
        for p in fed.ncp.iter().chain(fed.smp.iter()) {
            p.wait_ready().await;
        }
        // HAProxy's first health checks.
        tokio::time::sleep(Duration::from_millis(600)).await;
        fed
    }

    /// Lists the NCP (behind its load balancer) in EMREG with `certificates`, through whichever
    /// EMREG replica answers.
    async fn register(&self, certificates: Vec<String>) {
        use emrex_proto::registry::v1 as pb;
        let entry = pb::Entry {
            acronym: "FAULT".into(),
            country_code: "NO".into(),
            institutions: vec!["Fault bench university".into()],
            url: format!("http://127.0.0.1:{}/", self.ncp_lb),
            certificates_pem: certificates,
            ..Default::default()
        };
        for _ in 0..50 {
            for port in &self.emreg_admin_grpc {
                let Ok(channel) =
                    tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}"))
                        .expect("uri")
                        .connect()
                        .await
                else {
                    continue;
                };
                let mut client =
                    pb::registry_admin_client::RegistryAdminClient::new(channel.clone());
                let mut req = tonic::Request::new(pb::SetCountryRequest {
                    country: Some(pb::Country {
                        country_code: "NO".into(),
                        country_name: "Norway (fault bench)".into(),
                        single_fetch: false,
                    }),
                });
                req.metadata_mut().insert(
                    "authorization",
                    format!("Bearer {TOKEN}").parse().expect("h"),
                );
                if client.set_country(req).await.is_err() {
                    continue;
                }
                let mut req = tonic::Request::new(pb::UpsertRequest {
                    entry: Some(entry.clone()),
                });
                req.metadata_mut().insert(
                    "authorization",
                    format!("Bearer {TOKEN}").parse().expect("h"),
                );
                if client.upsert(req).await.is_ok() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("could not register the NCP in EMREG");
    }

    /// The Signer's key rotation, as the operator does it: the next certificate is published
    /// (EMREG lists both, the Signer lists it as next), then the Signer switches (its files are
    /// replaced; it reloads within a second), and the old certificate leaves EMREG after a
    /// grace period.
    async fn rotate(&self, events: &Events) {
        let d = self.dir.as_path();
        let old = std::fs::read_to_string(d.join("signer.crt")).expect("old cert");
        let (nk, nc, new_pem) = signing_pair(d, "next");
        std::fs::copy(&nc, d.join("signer-next.crt")).expect("next cert");
        self.register(vec![old, new_pem.clone()]).await;
        events.note("rotation: next certificate published in EMREG".into());
        // Watch propagation is well under a second; leave the SMPs ample time.
        tokio::time::sleep(Duration::from_secs(3)).await;
        // Replace key and certificate atomically (rename), as a Secret update does.
        std::fs::copy(&nk, d.join("signer.key.new")).expect("copy");
        std::fs::copy(&nc, d.join("signer.crt.new")).expect("copy");
        std::fs::rename(d.join("signer.key.new"), d.join("signer.key")).expect("rename");
        std::fs::rename(d.join("signer.crt.new"), d.join("signer.crt")).expect("rename");
        let _ = std::fs::remove_file(d.join("signer-next.crt"));
        events.note("rotation: the Signer's key replaced by the next one".into());
        tokio::time::sleep(Duration::from_secs(8)).await;
        self.register(vec![new_pem]).await;
        events.note("rotation: the old certificate removed from EMREG".into());
    }

    fn restart_postgres(&self, events: &Events) {
        let out = Command::new("bash")
            .arg(workspace().join("scripts/postgres-test-db.sh"))
            .env("EMREX_PG_DIR", pg_dir())
            .env("EMREX_PG_RESTART", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("restart PostgreSQL");
        events.note(format!("PostgreSQL restarted ({out})"));
    }
}

fn workspace() -> PathBuf {
    emrex_tests::workspace_dir()
}

fn pg_dir() -> String {
    std::env::var("EMREX_FAULT_PG_DIR").unwrap_or_else(|_| "/tmp/emrex-fault-pg".into())
}

// ------------------------------------------------------------------------------------------
// A student

/// What a request came back with after a student's retries.
enum Answer {
    Page {
        status: u16,
        location: Option<String>,
        body: String,
    },
    Nothing(String),
}

struct Student {
    http: reqwest::Client,
    cookies: HashMap<String, String>,
    retries: usize,
}

impl Student {
    fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            cookies: HashMap::new(),
            retries: 0,
        }
    }

    async fn request(&mut self, url: &str, form: Option<&[(&str, &str)]>) -> Answer {
        let body = form.map(|f| {
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(f)
                .finish()
        });
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                self.retries += 1;
                tokio::time::sleep(Duration::from_millis(250 * attempt as u64)).await;
            }
            let cookie = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            let req = match &body {
                Some(b) => self
                    .http
                    .post(url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(b.clone()),
                None => self.http.get(url),
            };
            let r = match req.header("cookie", cookie).send().await {
                Ok(r) => r,
                Err(e) => {
                    last = format!("{e}");
                    continue;
                }
            };
            for v in r.headers().get_all("set-cookie") {
                if let Some((k, v)) = v
                    .to_str()
                    .ok()
                    .and_then(|s| s.split(';').next())
                    .and_then(|s| s.split_once('='))
                {
                    if v.is_empty() {
                        self.cookies.remove(k);
                    } else {
                        self.cookies.insert(k.into(), v.into());
                    }
                }
            }
            let status = r.status().as_u16();
            let location = r
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let text = match r.text().await {
                Ok(t) => t,
                Err(e) => {
                    last = format!("body: {e}");
                    continue;
                }
            };
            if matches!(status, 502..=504) {
                last = format!("HTTP {status}");
                continue;
            }
            return Answer::Page {
                status,
                location,
                body: text,
            };
        }
        Answer::Nothing(last)
    }
}

fn input(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let i = html.find(&needle)? + needle.len();
    let end = html[i..].find('"')?;
    Some(
        html[i..i + end]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&#39;", "'")
            .replace("&amp;", "&"),
    )
}

fn inputs(html: &str, name: &str) -> Vec<String> {
    let needle = format!("name=\"{name}\" value=\"");
    html.match_indices(&needle)
        .filter_map(|(i, _)| {
            let s = &html[i + needle.len()..];
            s.find('"').map(|e| s[..e].to_string())
        })
        .collect()
}

/// How one exchange ended.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum End {
    Verified,
    /// A page or return code the student can read (step, status or outcome).
    CleanError(String),
    /// The verification failed although nothing was tampered with.
    RotationFailure(String),
    /// No answer after the retries, or an answer that makes no sense.
    Lost(String),
}

struct Exchange {
    end: End,
    started: bool,
    ncp_exchange: Option<String>,
    ok_answers: usize,
    session: Option<String>,
    retries: usize,
}

async fn exchange(smp: u16) -> Exchange {
    let mut s = Student::new();
    let mut x = Exchange {
        end: End::Lost("not started".into()),
        started: false,
        ncp_exchange: None,
        ok_answers: 0,
        session: None,
        retries: 0,
    };
    x.end = run(&mut s, smp, &mut x).await;
    x.retries = s.retries;
    x
}

/// `$answer` as a page, or the exchange ends (a clean error page, or lost).
macro_rules! page {
    ($answer:expr, $step:expr) => {
        match $answer {
            Answer::Nothing(why) => return End::Lost(format!("{}: {why}", $step)),
            Answer::Page {
                status,
                location,
                body,
            } => (status, location, body),
        }
    };
}

async fn run(s: &mut Student, smp: u16, x: &mut Exchange) -> End {
    let smp = format!("http://127.0.0.1:{smp}");
    let (status, _, go) = page!(
        s.request(
            &format!("{smp}/start"),
            Some(&[
                ("given_names", "Åsa"),
                ("family_name", "Ødegård"),
                ("birth_date", "1999-04-12"),
                ("ncp", "FAULT"),
            ]),
        )
        .await,
        "start"
    );
    if status != 200 {
        return End::CleanError(format!("start: HTTP {status}"));
    }
    let (Some(session), Some(ret)) = (input(&go, "sessionId"), input(&go, "returnUrl")) else {
        return End::Lost("start: no hand-over form".into());
    };
    x.started = true;
    x.session = Some(session.clone());
    let Some(ncp) = go
        .split("action=\"")
        .nth(1)
        .and_then(|a| a.split('"').next())
        .map(str::to_string)
    else {
        return End::Lost("start: no NCP address".into());
    };
    let (status, location, body) = page!(
        s.request(&ncp, Some(&[("sessionId", &session), ("returnUrl", &ret)]))
            .await,
        "entry"
    );
    let Some(path) = location.filter(|_| status == 303) else {
        return End::CleanError(format!("entry: HTTP {status} {}", short(&body)));
    };
    let base = ncp.trim_end_matches('/');
    let url = format!("{base}{path}");
    x.ncp_exchange = Some(path.clone());
    let (status, _, login) = page!(s.request(&url, None).await, "login page");
    let Some(csrf) = input(&login, "csrf").filter(|_| status == 200) else {
        return End::CleanError(format!("login page: HTTP {status}"));
    };
    let (status, _, body) = page!(
        s.request(
            &format!("{url}/login/dev"),
            Some(&[("csrf", &csrf), ("student", "demo-asa")]),
        )
        .await,
        "login"
    );
    if status != 303 {
        return End::CleanError(format!("login: HTTP {status} {}", short(&body)));
    }
    let (status, _, choose) = page!(s.request(&url, None).await, "choice page");
    let courses = inputs(&choose, "course");
    if status != 200 || courses.len() < 2 {
        return End::CleanError(format!("choice page: HTTP {status}"));
    }
    let (status, _, answer) = page!(
        s.request(
            &format!("{url}/send"),
            Some(&[
                ("csrf", &csrf),
                ("course", &courses[0]),
                ("course", &courses[1]),
                ("consent", "yes"),
            ]),
        )
        .await,
        "send"
    );
    if status != 200 {
        return End::CleanError(format!("send: HTTP {status} {}", short(&answer)));
    }
    let fields: Vec<(String, String)> = ["sessionId", "returnCode", "returnMessage", "elmo"]
        .iter()
        .map(|n| (n.to_string(), input(&answer, n).unwrap_or_default()))
        .collect();
    let code = fields[1].1.clone();
    if code == "NCP_OK" {
        x.ok_answers += 1;
    }
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, location, body) = page!(s.request(&ret, Some(&pairs)).await, "return");
    let Some(result) = location.filter(|_| status == 303) else {
        return End::CleanError(format!("return: HTTP {status} {}", short(&body)));
    };
    let (status, _, page) = page!(s.request(&format!("{smp}{result}"), None).await, "result");
    if status != 200 {
        return End::CleanError(format!("result: HTTP {status}"));
    }
    let kind = page
        .split("data-kind=\"")
        .nth(1)
        .and_then(|k| k.split('"').next())
        .unwrap_or("?")
        .to_string();
    match kind.as_str() {
        "Verified" => End::Verified,
        "SignatureInvalid" => End::RotationFailure(format!("result: {kind} (return code {code})")),
        "?" => End::Lost("result: no outcome on the page".into()),
        other => End::CleanError(format!("result: {other} (return code {code})")),
    }
}

fn short(body: &str) -> String {
    body.split("role=\"alert\"")
        .nth(1)
        .and_then(|s| s.split('>').nth(1))
        .and_then(|s| s.split('<').next())
        .map(|s| format!("\"{s}\""))
        .unwrap_or_default()
}

// ------------------------------------------------------------------------------------------

async fn count_completed(pg_url: &str) -> i64 {
    use sqlx::Connection as _;
    let Ok(mut conn) = sqlx::PgConnection::connect(pg_url).await else {
        return -1;
    };
    sqlx::query_scalar("SELECT count(*) FROM smp.exchanges WHERE status = 'completed'")
        .fetch_one(&mut conn)
        .await
        .unwrap_or(-1)
}

fn main() {
    let total = env_or("EMREX_FAULT_EXCHANGES", 2000);
    let concurrency = env_or("EMREX_FAULT_CONCURRENCY", 16);
    let pg_url = std::env::var("EMREX_FAULT_POSTGRES_URL")
        .expect("EMREX_FAULT_POSTGRES_URL (scripts/fault-bench.sh sets it)");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        // A fresh database: each service's schema dropped.
        {
            use sqlx::Connection as _;
            let mut conn = sqlx::PgConnection::connect(&pg_url).await.expect("postgres");
            for schema in ["emreg", "smp", "ncp"] {
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")))
                    .execute(&mut conn)
                    .await
                    .expect("drop schema");
            }
        }
        let fed = Arc::new(Mutex::new(Federation::start(&pg_url).await));
        let (smp_lb, log_dir) = {
            let f = fed.lock().await;
            (f.smp_lb, f.dir.clone())
        };
        let events = Arc::new(Events::default());
        events.note(format!(
            "federation up: {total} exchanges at {concurrency} concurrent students (logs in {})",
            log_dir.display()
        ));

        let done = Arc::new(AtomicUsize::new(0));
        let next = Arc::new(AtomicUsize::new(0));
        let results = Arc::new(std::sync::Mutex::new(Vec::new()));
        let started_at = Instant::now();
        let mut students = Vec::new();
        for _ in 0..concurrency {
            let (done, next, results) = (done.clone(), next.clone(), results.clone());
            students.push(tokio::spawn(async move {
                while next.fetch_add(1, Ordering::SeqCst) < total {
                    let x = exchange(smp_lb).await;
                    results.lock().unwrap_or_else(|p| p.into_inner()).push(x);
                    done.fetch_add(1, Ordering::SeqCst);
                }
            }));
        }

        // The fault schedule, by progress.
        let schedule = {
            let (fed, events, done) = (fed.clone(), events.clone(), done.clone());
            tokio::spawn(async move {
                let at = |fraction: f64| {
                    let done = done.clone();
                    let target = (total as f64 * fraction) as usize;
                    async move {
                        while done.load(Ordering::SeqCst) < target {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                };
                at(0.08).await;
                for i in 0..2 {
                    let mut f = fed.lock().await;
                    f.emreg[i].roll(&events).await;
                }
                at(0.18).await;
                for i in 0..2 {
                    let mut f = fed.lock().await;
                    f.ncp[i].roll(&events).await;
                }
                at(0.28).await;
                for i in 0..2 {
                    let mut f = fed.lock().await;
                    f.smp[i].roll(&events).await;
                }
                at(0.40).await;
                {
                    let mut f = fed.lock().await;
                    f.ncp[0].kill();
                    events.note("ncp1: SIGKILL".into());
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    f.ncp[0].spawn();
                    f.ncp[0].wait_ready().await;
                    events.note("ncp1: back".into());
                }
                at(0.50).await;
                {
                    let mut f = fed.lock().await;
                    f.smp[1].kill();
                    events.note("smp2: SIGKILL".into());
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    f.smp[1].spawn();
                    f.smp[1].wait_ready().await;
                    events.note("smp2: back".into());
                }
                at(0.60).await;
                fed.lock().await.restart_postgres(&events);
                at(0.70).await;
                fed.lock().await.rotate(&events).await;
                events.note("fault schedule complete".into());
            })
        };
        for s in students {
            s.await.expect("student");
        }
        let elapsed = started_at.elapsed();
        schedule.await.expect("schedule");
        let results = std::mem::take(&mut *results.lock().unwrap_or_else(|p| p.into_inner()));

        // The table.
        let started = results.iter().filter(|x| x.started).count();
        let verified = results.iter().filter(|x| x.end == End::Verified).count();
        let mut clean: HashMap<String, usize> = HashMap::new();
        let mut lost: HashMap<String, usize> = HashMap::new();
        let mut rotation: HashMap<String, usize> = HashMap::new();
        for x in &results {
            match &x.end {
                End::CleanError(w) => *clean.entry(w.clone()).or_default() += 1,
                End::Lost(w) => *lost.entry(w.clone()).or_default() += 1,
                End::RotationFailure(w) => *rotation.entry(w.clone()).or_default() += 1,
                End::Verified => {}
            }
        }
        let lost_started = results
            .iter()
            .filter(|x| x.started && matches!(x.end, End::Lost(_)))
            .count();
        let duplicated = results.iter().filter(|x| x.ok_answers > 1).count();
        let mut sessions: HashMap<&str, usize> = HashMap::new();
        for x in &results {
            if let Some(s) = &x.session {
                *sessions.entry(s).or_default() += 1;
            }
        }
        let duplicated_sessions = sessions.values().filter(|n| **n > 1).count();
        let seen_completed = results
            .iter()
            .filter(|x| matches!(x.end, End::Verified | End::RotationFailure(_)) || matches!(&x.end, End::CleanError(w) if w.starts_with("result:")))
            .count();
        let completed_in_db = count_completed(&pg_url).await;
        let retries: usize = results.iter().map(|x| x.retries).sum();
        let unclean = events.unclean.load(Ordering::SeqCst);

        println!();
        println!("## Fault benchmark ({total} exchanges, {concurrency} concurrent students, {:.1} s)", elapsed.as_secs_f64());
        println!();
        println!("| figure | count |");
        println!("| --- | ---: |");
        println!("| exchanges attempted | {} |", results.len());
        println!("| started (SMP hand-over page received) | {started} |");
        println!("| completed, verified | {verified} |");
        println!("| ended with a clean error page or return code | {} |", clean.values().sum::<usize>());
        println!("| **lost** (started, then no answer or nonsense) | **{lost_started}** |");
        println!("| lost before starting (no hand-over page) | {} |", results.iter().filter(|x| !x.started && matches!(x.end, End::Lost(_))).count());
        println!("| **duplicated** (an NCP exchange answered twice, or one session in two exchanges) | **{}** |", duplicated + duplicated_sessions);
        println!("| **verification failures from the key rotation** | **{}** |", rotation.values().sum::<usize>());
        println!("| SMP records completed (database) / completions students saw | {completed_in_db} / {seen_completed} |");
        println!("| requests a student had to try again | {retries} |");
        println!("| replicas that did not exit 0 on SIGTERM | {unclean} |");
        println!("| exchanges per second | {:.1} |", results.len() as f64 / elapsed.as_secs_f64());
        for (title, map) in [("clean errors", &clean), ("lost", &lost), ("rotation failures", &rotation)] {
            if map.is_empty() {
                continue;
            }
            println!();
            println!("{title}, by where they ended:");
            let mut rows: Vec<_> = map.iter().collect();
            rows.sort();
            for (w, n) in rows {
                println!("  {n:5}  {w}");
            }
        }
        println!();
        println!("fault schedule:");
        for line in events.lines.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            println!("  {line}");
        }
        let _ = std::io::stdout().flush();
        println!("(configuration and logs: {})", log_dir.display());
        println!(
            "figure fault_lost {lost_started}\nfigure fault_duplicated {}\nfigure fault_rotation_failures {}",
            duplicated + duplicated_sessions,
            rotation.values().sum::<usize>()
        );
    });
}
