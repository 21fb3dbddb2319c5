//! Apache Santuario (xml-security for Java, Debian `libxml-security-java`) as a verifier and
//! signer: the XML-Signature library behind the Java SMP, the Finnish NCP and the DC4EU gateway,
//! i.e. what the peers that receive our documents actually run.
//!
//! A small harness (`tests/santuario/Santuario.java`) is compiled at first use with `javac`
//! against the jars in `/usr/share/java` (no build tool, no download) into
//! `tests/output/santuario-classes/`, and runs as one JVM per [`Santuario`] value that takes jobs
//! over a pipe, so many verifications cost one JVM start. Verification uses **secure validation**
//! (Santuario's hardened mode: MD5 and other weak or dangerous algorithms and transforms are
//! refused) and pins the key: the given certificate's public key, never KeyInfo's.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::keys::{KeyAlg, TestKey};
use crate::paths::{output_dir, workspace_dir};
use crate::tools::{DEFAULT_TIMEOUT, require_tool, run};
use crate::xmlsec::C14n;

/// The jars the harness needs (Debian `libxml-security-java` and its dependencies).
const JARS: &[&str] = &[
    "/usr/share/java/xmlsec.jar",
    "/usr/share/java/commons-codec.jar",
    "/usr/share/java/slf4j-api.jar",
    "/usr/share/java/slf4j-nop.jar",
];

/// How long one job may take (the first one includes the JVM's warm-up).
const JOB_TIMEOUT: Duration = Duration::from_secs(60);

fn classpath(classes: &Path) -> String {
    let mut parts = vec![classes.display().to_string()];
    for jar in JARS {
        assert!(
            Path::new(jar).is_file(),
            "{jar} is missing: install Apache Santuario with `apt-get install -y \
             libxml-security-java` (scripts/test.sh does); tests never skip a missing oracle"
        );
        parts.push((*jar).to_string());
    }
    parts.join(":")
}

/// Compiles the harness once per process (again only when its source is newer than the class).
fn compiled() -> &'static PathBuf {
    static CLASSES: OnceLock<PathBuf> = OnceLock::new();
    CLASSES.get_or_init(|| {
        let source = workspace_dir().join("tests/santuario/Santuario.java");
        let classes = output_dir("santuario-classes");
        let class = classes.join("Santuario.class");
        let stale = match (std::fs::metadata(&source), std::fs::metadata(&class)) {
            (Ok(s), Ok(c)) => match (s.modified(), c.modified()) {
                (Ok(s), Ok(c)) => s > c,
                _ => true,
            },
            _ => true,
        };
        if stale {
            let javac = require_tool("javac");
            let out = run(
                Command::new(javac)
                    .arg("-d")
                    .arg(&classes)
                    .arg("-cp")
                    .arg(classpath(&classes))
                    .arg(&source),
                DEFAULT_TIMEOUT,
            );
            assert!(
                out.status.success(),
                "javac Santuario.java failed:\n{}",
                out.stderr_text()
            );
        }
        classes
    })
}

/// One running harness (a JVM); dropped, it is killed.
#[derive(Debug)]
pub struct Santuario {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    dir: tempfile::TempDir,
    jobs: usize,
}

impl Santuario {
    /// Compiles the harness if needed and starts a JVM.
    ///
    /// # Panics
    /// When Java or the Santuario jars are missing (the message says what to install).
    pub fn start() -> Self {
        // One compilation at a time across the test threads of a process.
        static STARTING: Mutex<()> = Mutex::new(());
        let classes = {
            let _guard = STARTING.lock().unwrap_or_else(|e| e.into_inner());
            compiled().clone()
        };
        let java = require_tool("java");
        let mut child = Command::new(java)
            .arg("-cp")
            .arg(classpath(&classes))
            .arg("Santuario")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the Santuario harness");
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Santuario {
            child,
            stdin,
            lines,
            dir: tempfile::Builder::new()
                .prefix("emrex-santuario-")
                .tempdir()
                .expect("temp folder for Santuario jobs"),
            jobs: 0,
        }
    }

    fn job(&mut self, fields: &[&str]) -> Result<String, String> {
        writeln!(self.stdin, "{}", fields.join("\t")).expect("writing a job to Santuario");
        self.stdin.flush().expect("flushing a job to Santuario");
        let line = self
            .lines
            .recv_timeout(JOB_TIMEOUT)
            .unwrap_or_else(|e| panic!("Santuario did not answer {:?}: {e}", fields[0]));
        match line.strip_prefix("OK") {
            Some(rest) => Ok(rest.trim().to_string()),
            None => Err(line.strip_prefix("FAIL ").unwrap_or(&line).to_string()),
        }
    }

    fn file(&mut self, name: &str, bytes: &[u8]) -> PathBuf {
        self.jobs += 1;
        let path = self.dir.path().join(format!("{}-{name}", self.jobs));
        std::fs::write(&path, bytes).expect("writing a Santuario input");
        path
    }

    /// The Santuario version the harness runs, from Debian's versioned link to `xmlsec.jar`
    /// (`xmlsec-2.1.7.jar` → `2.1.7`); empty when there is none.
    pub fn version(&self) -> String {
        std::fs::read_dir("/usr/share/java")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let v = name.strip_prefix("xmlsec-")?.strip_suffix(".jar")?;
                v.starts_with(|c: char| c.is_ascii_digit())
                    .then(|| v.to_string())
            })
            .next()
            .unwrap_or_default()
    }

    /// Verifies `doc` with secure validation against the key of the certificate at
    /// `cert_pem_path` only. `Err` carries Santuario's reason.
    pub fn verify(&mut self, doc: &[u8], cert_pem_path: &Path) -> Result<(), String> {
        let path = self.file("verify.xml", doc);
        self.job(&[
            "verify",
            &path.display().to_string(),
            &cert_pem_path.display().to_string(),
        ])
        .map(|_| ())
    }

    /// Signs `doc` with `key` (RSA-SHA256 or ECDSA-SHA256, SHA-256 digest, the enveloped
    /// transform then `c14n`, KeyInfo with the certificate) and returns what Santuario wrote.
    ///
    /// # Panics
    /// When Santuario refuses to sign (the input is ours, so that is a test failure).
    pub fn sign(&mut self, doc: &[u8], key: &TestKey, c14n: C14n) -> Vec<u8> {
        let input = self.file("unsigned.xml", doc);
        let output = self.dir.path().join(format!("{}-signed.xml", self.jobs));
        let alg = match key.alg {
            KeyAlg::Rsa(_) => "rsa",
            KeyAlg::EcP256 => "ecdsa",
        };
        let mode = match c14n {
            C14n::Incl => "inclusive",
            C14n::Excl => "exclusive",
        };
        self.job(&[
            "sign",
            &input.display().to_string(),
            &key.key_path.display().to_string(),
            &key.cert_path.display().to_string(),
            alg,
            mode,
            &output.display().to_string(),
        ])
        .unwrap_or_else(|e| panic!("Santuario could not sign: {e}"));
        std::fs::read(&output).expect("reading Santuario's output")
    }
}

impl Drop for Santuario {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
