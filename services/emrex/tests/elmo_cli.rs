//! The `emrex elmo` command-line contract (exit codes, outputs) on the fixtures.

use std::process::{Command, Output};

fn fx(rel: &str) -> String {
    emrex_tests::fixtures_dir().join(rel).display().to_string()
}

fn emrex(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_emrex"))
        .args(args)
        .output()
        .expect("run emrex")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[track_caller]
fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn verify_accepts_real_danish_documents_only_with_the_legacy_flag() {
    let cert = fx("certs/dk-emrex-test.cer");
    for input in [
        "xml/signed/dk-elmo-tomcat-signed.xml",
        "xml/signed/dk-weblogic-fixed-ns0-prefixed.xml",
        "responses/dk-tomcat.elmo-param.txt",
        "responses/dk-weblogic-fixed.elmo-param.txt",
    ] {
        let ok = emrex(&[
            "elmo",
            "verify",
            "--cert",
            &cert,
            "--allow-sha1",
            &fx(input),
        ]);
        assert_exit(&ok, 0);
        let line = text(&ok.stdout);
        assert!(line.starts_with("valid: "), "{input}: {line}");
        assert_eq!(line.lines().count(), 1, "one-line summary");
        let strict = emrex(&["elmo", "verify", "--cert", &cert, &fx(input)]);
        assert_exit(&strict, 1);
        assert!(
            text(&strict.stderr).contains("legacy"),
            "{input}: {}",
            text(&strict.stderr)
        );
        // The refusal names the flag that accepts it.
        assert!(
            text(&strict.stderr).contains("--allow-sha1"),
            "{input}: {}",
            text(&strict.stderr)
        );
    }
}

#[test]
fn verify_reads_xml_parameters_and_whole_response_bodies() {
    let cert = fx("generated/GENERATED-TEST-ONLY-emp.crt");
    for input in [
        "generated/elmo-v1.7-example-rsa-sha256_c14n_sha256.xml",
        "generated/elmo-v1.7-example-rsa-sha256_c14n_sha256.elmo-param.txt",
        "generated/ncp-response-NCP_OK.form-urlencoded.txt",
    ] {
        assert_exit(&emrex(&["elmo", "verify", "--cert", &cert, &fx(input)]), 0);
    }
    let cancel = emrex(&[
        "elmo",
        "verify",
        "--cert",
        &cert,
        &fx("generated/ncp-response-NCP_CANCEL.form-urlencoded.txt"),
    ]);
    assert_exit(&cancel, 1);
    assert!(
        text(&cancel.stderr).contains("NCP_CANCEL"),
        "{}",
        text(&cancel.stderr)
    );
    let tampered = emrex(&[
        "elmo",
        "verify",
        "--cert",
        &cert,
        &fx("generated/NEGATIVE-tampered-familyName-rsa-sha256_c14n_sha256.xml"),
    ]);
    assert_exit(&tampered, 1);
    assert!(
        text(&tampered.stderr).contains("digest mismatch"),
        "{}",
        text(&tampered.stderr)
    );
    // A document by another provider.
    let other = emrex(&[
        "elmo",
        "verify",
        "--cert",
        &fx("certs/dk-emrex-test.cer"),
        &fx("generated/elmo-v1.7-example-rsa-sha256_c14n_sha256.xml"),
    ]);
    assert_exit(&other, 1);
}

#[test]
fn usage_errors_exit_with_2() {
    assert_exit(
        &emrex(&[
            "elmo",
            "verify",
            &fx("xml/signed/dk-elmo-tomcat-signed.xml"),
        ]),
        2,
    );
    assert_exit(
        &emrex(&[
            "elmo",
            "verify",
            "--cert",
            "/nonexistent.pem",
            &fx("xml/signed/dk-elmo-tomcat-signed.xml"),
        ]),
        2,
    );
    assert_exit(
        &emrex(&[
            "elmo",
            "verify",
            "--cert",
            &fx("certs/dk-emrex-test.cer"),
            "/nonexistent.xml",
        ]),
        2,
    );
    assert_exit(&emrex(&["elmo", "frobnicate"]), 2);
    // A file that is not a certificate.
    assert_exit(
        &emrex(&[
            "elmo",
            "verify",
            "--cert",
            &fx("SOURCES.md"),
            &fx("xml/signed/dk-elmo-tomcat-signed.xml"),
        ]),
        2,
    );
}

#[test]
fn sign_then_verify_round_trip_in_both_modes() {
    let dir = tempfile::tempdir().expect("tmp");
    let key = fx("generated/GENERATED-TEST-ONLY-emp.key");
    let cert = fx("generated/GENERATED-TEST-ONLY-emp.crt");
    for mode in ["inclusive", "exclusive"] {
        let out = dir.path().join(format!("signed-{mode}.xml"));
        let out_s = out.display().to_string();
        let signed = emrex(&[
            "elmo",
            "sign",
            "--key",
            &key,
            "--cert",
            &cert,
            "--c14n",
            mode,
            &fx("xml/unsigned/fi-my_elmo-2020.xml"),
            "-o",
            &out_s,
        ]);
        assert_exit(&signed, 0);
        assert_exit(&emrex(&["elmo", "verify", "--cert", &cert, &out_s]), 0);
        // Encode, then verify the parameter form too.
        let param = dir.path().join(format!("param-{mode}.txt"));
        let param_s = param.display().to_string();
        assert_exit(&emrex(&["elmo", "encode", &out_s, "-o", &param_s]), 0);
        assert!(
            std::fs::read_to_string(&param)
                .expect("param")
                .starts_with("H4sI")
        );
        assert_exit(&emrex(&["elmo", "verify", "--cert", &cert, &param_s]), 0);
        let decoded = emrex(&["elmo", "decode", &param_s]);
        assert_exit(&decoded, 0);
        assert_eq!(
            decoded.stdout,
            std::fs::read(&out).expect("signed"),
            "decode(encode(x)) == x"
        );
    }
    // Signed output to stdout; already-signed input is refused.
    let stdout = emrex(&[
        "elmo",
        "sign",
        "--key",
        &key,
        "--cert",
        &cert,
        &fx("xml/unsigned/dk-elmo-tomcat-unsigned.xml"),
    ]);
    assert_exit(&stdout, 0);
    assert!(text(&stdout.stdout).contains("<ds:Signature"));
    let again = emrex(&[
        "elmo",
        "sign",
        "--key",
        &key,
        "--cert",
        &cert,
        &fx("generated/elmo-v1.7-example-rsa-sha256_c14n_sha256.xml"),
    ]);
    assert_exit(&again, 1);
    // Not ELMO.
    let not_elmo = dir.path().join("x.xml");
    std::fs::write(&not_elmo, "<html><body>hi</body></html>").expect("write");
    assert_exit(
        &emrex(&[
            "elmo",
            "sign",
            "--key",
            &key,
            "--cert",
            &cert,
            &not_elmo.display().to_string(),
        ]),
        1,
    );
    // Key and certificate that do not belong together.
    assert_exit(
        &emrex(&[
            "elmo",
            "sign",
            "--key",
            &key,
            "--cert",
            &fx("certs/dk-emrex-test.cer"),
            &fx("xml/unsigned/fi-my_elmo-2020.xml"),
        ]),
        2,
    );
}

#[test]
fn inspect_prints_a_json_summary() {
    let out = emrex(&["elmo", "inspect", &fx("responses/dk-tomcat.elmo-param.txt")]);
    assert_exit(&out, 0);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(v.get("learner").is_some(), "{v}");
    assert!(
        v.get("reports")
            .and_then(|r| r.as_array())
            .is_some_and(|r| !r.is_empty()),
        "{v}"
    );
    let example = emrex(&[
        "elmo",
        "inspect",
        &fx("xml/elmo-schemas-examples/example-v1.7.0.xml"),
    ]);
    assert_exit(&example, 0);
    let v: serde_json::Value = serde_json::from_slice(&example.stdout).expect("json");
    assert!(text(&example.stdout).contains("Rygielski"), "{v}");
    assert!(v.get("attachments").is_some(), "{v}");
}

#[test]
fn validate_reports_problems_with_exit_1() {
    let good = emrex(&["elmo", "validate", &fx("xml/unsigned/fi-my_elmo-2020.xml")]);
    assert_exit(&good, 0);
    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("bad.xml");
    std::fs::write(
        &bad,
        r#"<elmo xmlns="https://github.com/emrex-eu/elmo-schemas/tree/v1"><generatedDate>yesterday</generatedDate><learner><givenNames>A</givenNames><familyName>B</familyName></learner></elmo>"#,
    )
    .expect("write");
    let out = emrex(&["elmo", "validate", &bad.display().to_string()]);
    assert_exit(&out, 1);
    assert!(!text(&out.stdout).is_empty(), "issues are listed");
}

#[test]
fn hostile_transport_input_is_refused_cleanly() {
    let dir = tempfile::tempdir().expect("tmp");
    // ~1 GB of zeros gzipped is ~1 MB; build a 200 MB bomb quickly by repeating a compressed block.
    let bomb_path = dir.path().join("bomb.txt");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "head -c 200000000 /dev/zero | gzip -9 | base64 -w0 > {}",
            bomb_path.display()
        ))
        .status()
        .expect("sh");
    assert!(status.success());
    let out = emrex(&["elmo", "decode", &bomb_path.display().to_string()]);
    assert_exit(&out, 1);
    let garbage = dir.path().join("garbage.txt");
    std::fs::write(&garbage, "this is !!! not base64").expect("write");
    assert_exit(
        &emrex(&["elmo", "decode", &garbage.display().to_string()]),
        1,
    );
}

#[test]
fn demo_runs_end_to_end_and_its_files_work_with_the_tools() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path().join("demo");
    let out = emrex(&["elmo", "demo", "--dir", &d.display().to_string()]);
    assert_exit(&out, 0);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("refused: the document was changed after signing"),
        "{stdout}"
    );
    // The throwaway key is still a private key: owner-only.
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |name: &str| {
            std::fs::metadata(d.join(name))
                .expect("stat")
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("ncp-key.pem"), 0o600);
        assert_eq!(
            mode("ncp-cert.pem") & 0o044,
            0o044,
            "the certificate stays readable"
        );
    }
    let cert = d.join("ncp-cert.pem").display().to_string();
    assert_exit(
        &emrex(&[
            "elmo",
            "verify",
            "--cert",
            &cert,
            &d.join("elmo-param.txt").display().to_string(),
        ]),
        0,
    );
    assert_exit(
        &emrex(&[
            "elmo",
            "validate",
            &d.join("transcript-signed.xml").display().to_string(),
        ]),
        0,
    );
    // Another run makes another key: the first certificate must not verify the second document.
    let d2 = dir.path().join("demo2");
    assert_exit(
        &emrex(&["elmo", "demo", "--dir", &d2.display().to_string()]),
        0,
    );
    assert_exit(
        &emrex(&[
            "elmo",
            "verify",
            "--cert",
            &cert,
            &d2.join("elmo-param.txt").display().to_string(),
        ]),
        1,
    );
}

/// Issue #16 item 16: `emrex elmo inspect FILE | head` — the reader goes away before the output
/// is written; the command ends quietly instead of panicking with a broken-pipe backtrace.
#[test]
fn a_closed_standard_output_ends_quietly() {
    use std::process::Stdio;
    for args in [
        vec!["elmo", "inspect"],
        vec!["elmo", "validate"],
        vec!["elmo", "decode"],
    ] {
        let input = if args[1] == "decode" {
            fx("generated/elmo-v1.7-example-rsa-sha256_c14n_sha256.elmo-param.txt")
        } else {
            fx("xml/unsigned/fi-my_elmo-2020.xml")
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_emrex"))
            .args(&args)
            .arg(&input)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // Close the reading end at once: the command's first write meets a closed pipe.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_exit(&out, 0);
    }
}

/// Issue #16 item 16: an NCP response without any `elmo=` (a cancel) says there is no document
/// instead of "Invalid symbol 61".
#[test]
fn a_response_without_elmo_says_there_is_no_document() {
    let dir = tempfile::tempdir().expect("tmp");
    let body = dir.path().join("cancel.txt");
    std::fs::write(
        &body,
        "sessionId=3f2c9a7e&returnCode=NCP_CANCEL&returnMessage=The+student+cancelled\n",
    )
    .expect("write");
    for cmd in ["decode", "inspect"] {
        let out = emrex(&["elmo", cmd, &body.display().to_string()]);
        assert_exit(&out, 1);
        let stderr = text(&out.stderr);
        assert!(stderr.contains("no elmo document"), "{cmd}: {stderr}");
        assert!(stderr.contains("NCP_CANCEL"), "{cmd}: {stderr}");
        assert!(!stderr.contains("Invalid symbol"), "{cmd}: {stderr}");
    }
}

/// Issue #16 item 16: an RSA key with an EC certificate is "does not belong to the certificate",
/// not aws-lc-rs's "UnexpectedError".
#[test]
fn a_key_of_another_kind_than_the_certificate_is_named_as_such() {
    let dir = tempfile::tempdir().expect("tmp");
    let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let cert = rcgen::CertificateParams::new(vec!["ec.test.invalid".into()])
        .expect("params")
        .self_signed(&ec)
        .expect("cert");
    let cert_path = dir.path().join("ec.crt");
    std::fs::write(&cert_path, cert.pem()).expect("write");
    let out = emrex(&[
        "elmo",
        "sign",
        "--key",
        &fx("generated/GENERATED-TEST-ONLY-emp.key"),
        "--cert",
        &cert_path.display().to_string(),
        &fx("xml/unsigned/fi-my_elmo-2020.xml"),
    ]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("does not belong to the certificate"),
        "{stderr}"
    );
    assert!(!stderr.contains("UnexpectedError"), "{stderr}");
    assert_exit(&out, 2);
}
