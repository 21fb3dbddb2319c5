//! `emrex elmo convert --to elmo-1.7|elmo-2.1|ewp-tor-v3`: outputs validated by xmllint against
//! the official schemas, refusals with exit 1 and usage errors with exit 2.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use emrex_tests::{
    fixtures_dir, workspace_dir, xmllint_validate_elmo_v17, xmllint_validate_elmo_v21,
    xmllint_validate_ewp_tor_v3,
};

fn fx(rel: &str) -> String {
    fixtures_dir().join(rel).display().to_string()
}

fn emrex(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_emrex"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run emrex");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(bytes) = stdin {
        input.write_all(bytes).expect("write stdin");
    }
    drop(input);
    child.wait_with_output().expect("emrex finishes")
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
fn a_signed_real_document_converts_to_2_1_and_back() {
    let dk = fx("xml/signed/dk-elmo-tomcat-signed.xml");
    let v21 = emrex(&["elmo", "convert", "--to", "elmo-2.1", &dk], None);
    assert_exit(&v21, 0);
    assert!(
        text(&v21.stderr).contains("not signed"),
        "{}",
        text(&v21.stderr)
    );
    xmllint_validate_elmo_v21(&v21.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert!(text(&v21.stdout).contains("<dateOfBirth>1980-12-09</dateOfBirth>"));
    assert!(text(&v21.stdout).contains("<bday>1980-12-09</bday>"));

    let back = emrex(
        &["elmo", "convert", "--to", "elmo-1.7", "-"],
        Some(&v21.stdout),
    );
    assert_exit(&back, 0);
    xmllint_validate_elmo_v17(&back.stdout).unwrap_or_else(|e| panic!("{e}"));
    // The elmo form parameter is accepted as input too.
    let param = emrex(
        &[
            "elmo",
            "convert",
            "--to",
            "elmo-2.1",
            &fx("responses/dk-tomcat.elmo-param.txt"),
        ],
        None,
    );
    assert_exit(&param, 0);
    assert_eq!(param.stdout, v21.stdout);
}

#[test]
fn what_2_1_cannot_hold_is_refused_and_what_1_7_drops_is_named() {
    // A learning opportunity without identifier: 2.1.1 requires one.
    let fi = emrex(
        &[
            "elmo",
            "convert",
            "--to",
            "elmo-2.1",
            &fx("xml/unsigned/fi-my_elmo-2020.xml"),
        ],
        None,
    );
    assert_exit(&fi, 1);
    assert!(fi.stdout.is_empty());
    assert!(
        text(&fi.stderr).contains("requires at least one identifier"),
        "{}",
        text(&fi.stderr)
    );

    let every = workspace_dir().join("services/elmo/tests/data/elmo-2.1.1-every-element.xml");
    let to17 = emrex(
        &[
            "elmo",
            "convert",
            "--to",
            "elmo-1.7",
            &every.display().to_string(),
        ],
        None,
    );
    assert_exit(&to17, 0);
    xmllint_validate_elmo_v17(&to17.stdout).unwrap_or_else(|e| panic!("{e}"));
    let stderr = text(&to17.stderr);
    for dropped in [
        "alternativeName",
        "countryOfBirth",
        "resultOfRecognition",
        "enrolment",
    ] {
        assert!(
            stderr.contains(dropped),
            "{dropped} not named in:\n{stderr}"
        );
    }
}

#[test]
fn ewp_tor_v3_needs_the_mobility_and_validates() {
    let dk = fx("xml/signed/dk-elmo-tomcat-signed.xml");
    assert_exit(
        &emrex(&["elmo", "convert", "--to", "ewp-tor-v3", &dk], None),
        2,
    );
    assert_exit(&emrex(&["elmo", "convert", "--to", "elmo-3", &dk], None), 2);
    let out = emrex(
        &[
            "elmo",
            "convert",
            "--to",
            "ewp-tor-v3",
            "--omobility-id",
            "m-1",
            "--academic-year",
            "2024/2025",
            &dk,
        ],
        None,
    );
    assert_exit(&out, 0);
    xmllint_validate_ewp_tor_v3(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    // The EWP conventions the Danish document does not follow are named.
    assert!(text(&out.stderr).contains("esi"), "{}", text(&out.stderr));
    let bad_year = emrex(
        &[
            "elmo",
            "convert",
            "--to",
            "ewp-tor-v3",
            "--omobility-id",
            "m-1",
            "--academic-year",
            "2024/2026",
            &dk,
        ],
        None,
    );
    assert_exit(&bad_year, 1);
    assert!(text(&bad_year.stderr).contains("receiving-academic-year-id"));
}

/// `--to elm`: the ELM v3 credential as JSON on stdout, what it does not carry on stderr, the
/// issuer's options applied; a document without learning opportunities is refused with exit 1.
#[test]
fn elm_writes_the_credential_and_names_what_it_leaves_out() {
    let uio = workspace_dir()
        .join("services/elm/tests/fixtures/uio-testesen-elmo-1.7.xml")
        .display()
        .to_string();
    let out = emrex(
        &[
            "elmo",
            "convert",
            "--to",
            "elm",
            "--credential-id",
            "urn:uuid:6b1b1f3c-0000-4000-8000-000000000001",
            "--issuance-date",
            "2025-01-01T00:00:00Z",
            &uio,
        ],
        None,
    );
    assert_exit(&out, 0);
    let vc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(vc["id"], "urn:uuid:6b1b1f3c-0000-4000-8000-000000000001");
    assert_eq!(vc["validFrom"], "2025-01-01T00:00:00Z");
    assert_eq!(vc["type"][1], "EuropeanDigitalCredential");
    assert_eq!(vc["credentialSubject"]["familyName"]["und"], "Testesen");
    let titles: Vec<&str> = vc["credentialSubject"]["hasClaim"]
        .as_array()
        .expect("claims")
        .iter()
        .filter_map(|c| c["title"]["en"].as_str())
        .collect();
    assert_eq!(titles, ["Testing", "Fire Safety"]);
    let err = text(&out.stderr);
    assert!(err.contains("unsigned"), "{err}");
    assert!(
        err.contains("/extension: not mapped") && err.contains("groups: not mapped"),
        "{err}"
    );

    // Stdin works too; a document without learning opportunities has nothing to claim.
    let empty = br#"<elmo xmlns="https://github.com/emrex-eu/elmo-schemas/tree/v1"><generatedDate>2024-01-01T00:00:00Z</generatedDate><learner><givenNames>A</givenNames><familyName>B</familyName></learner><report><issuer><title>X</title><url>https://x.example/</url></issuer><issueDate>2024-01-01T00:00:00Z</issueDate></report></elmo>"#;
    let out = emrex(&["elmo", "convert", "--to", "elm", "-"], Some(empty));
    assert_exit(&out, 1);
    assert!(
        text(&out.stderr).contains("no learning opportunity"),
        "{}",
        text(&out.stderr)
    );
}
