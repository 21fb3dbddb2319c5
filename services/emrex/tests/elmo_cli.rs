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
