//! `emrex elmo …`: the ELMO tools. Each function reads its inputs, calls the libraries and
//! reports; the logic lives in emrex-xmldsig and emrex-elmo.

use emrex_elmo::Elmo;
use emrex_xmldsig::{C14nMethod, PinnedCert, Policy, SignOptions, SigningKey, Verified};

use crate::cli::{
    C14n, ConvertArgs, ConvertTarget, DecodeArgs, ElmoCommand, EncodeArgs, InputArgs, SignArgs,
    VerifyArgs,
};
use crate::input::say;
use crate::input::{self, Failure, Outcome};

pub fn run(cmd: ElmoCommand) -> Outcome {
    match cmd {
        ElmoCommand::Sign(a) => sign(a),
        ElmoCommand::Verify(a) => verify(a),
        ElmoCommand::Inspect(a) => inspect(a),
        ElmoCommand::Validate(a) => validate(a),
        ElmoCommand::Encode(a) => encode(a),
        ElmoCommand::Decode(a) => decode(a),
        ElmoCommand::Convert(a) => convert(a),
        ElmoCommand::Demo(a) => crate::demo::run(&a.dir),
    }
}

fn sign(a: SignArgs) -> Outcome {
    let key_pem = input::read(&a.key)?;
    let cert = input::read(&a.cert)?;
    let key = SigningKey::from_pem(&key_pem, &cert)
        .map_err(|e| Failure::Usage(format!("{}: {e}", a.key.display())))?;
    let doc = input::read(&a.input)?;
    // Only ELMO is signed: refuse anything the ELMO reader does not accept.
    emrex_elmo::parse(&doc, &Default::default())
        .map_err(|e| Failure::Invalid(format!("not an ELMO document: {e}")))?;
    let options = SignOptions {
        c14n: match a.c14n {
            C14n::Inclusive => C14nMethod::Inclusive,
            C14n::Exclusive => C14nMethod::Exclusive,
        },
        ..SignOptions::default()
    };
    let signed =
        emrex_xmldsig::sign(&doc, &key, &options).map_err(|e| Failure::Invalid(e.to_string()))?;
    input::write(a.output.as_deref(), &signed)
}

fn verify(a: VerifyArgs) -> Outcome {
    let mut certs = Vec::new();
    for path in &a.certs {
        let bytes = input::read(path)?;
        let mut all = PinnedCert::all_from_pem(&bytes)
            .or_else(|_| PinnedCert::from_pem_or_der(&bytes).map(|c| vec![c]))
            .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?;
        certs.append(&mut all);
    }
    let (xml, _) = input::to_xml(&input::read(&a.input)?)?;
    let policy = Policy {
        allow_legacy: a.allow_sha1,
        ..Policy::default()
    };
    let verified = emrex_xmldsig::verify(&xml, &certs, &policy).map_err(|e| {
        // The library speaks of "an explicit legacy flag"; here that flag has a name.
        let hint = if matches!(e, emrex_xmldsig::VerifyError::LegacyNotAllowed(_)) {
            "; pass --allow-sha1 to accept it from a provider known to sign with SHA-1"
        } else {
            ""
        };
        Failure::Invalid(format!("{e}{hint}"))
    })?;
    // Business data comes from the verified tree, never from a second parse.
    let elmo = emrex_elmo::from_verified(&verified).map_err(|e| {
        Failure::Invalid(format!(
            "the signature is valid but the document is not ELMO: {e}"
        ))
    })?;
    say!("{}", summary_line(&verified, &elmo));
    Ok(())
}

fn summary_line(v: &Verified, elmo: &Elmo) -> String {
    let alg = v.algorithms();
    let keyinfo = match v.keyinfo_matches_signer() {
        Some(true) => "",
        Some(false) => "; KeyInfo holds a different certificate (ignored)",
        None => "; no KeyInfo certificate",
    };
    format!(
        "valid: signed by {} (SHA-256 {}), {:?}/{:?}, SignedInfo C14N {:?}{}{}; learner {} {}; {} report(s)",
        v.signer().subject(),
        v.signer().sha256_hex(),
        alg.signature,
        alg.digest,
        alg.signed_info_c14n,
        if alg.is_legacy() {
            " (legacy SHA-1)"
        } else {
            ""
        },
        keyinfo,
        elmo.learner.given_names,
        elmo.learner.family_name,
        elmo.reports.len()
    )
}

fn inspect(a: InputArgs) -> Outcome {
    let (xml, _) = input::to_xml(&input::read(&a.input)?)?;
    let elmo = emrex_elmo::parse(&xml, &Default::default())
        .map_err(|e| Failure::Invalid(e.to_string()))?;
    let summary = emrex_elmo::summarize(&elmo);
    let json =
        serde_json::to_string_pretty(&summary).map_err(|e| Failure::Invalid(e.to_string()))?;
    say!("{json}");
    Ok(())
}

fn validate(a: InputArgs) -> Outcome {
    let (xml, _) = input::to_xml(&input::read(&a.input)?)?;
    let elmo = emrex_elmo::parse(&xml, &Default::default())
        .map_err(|e| Failure::Invalid(e.to_string()))?;
    let issues = emrex_elmo::validate(&elmo);
    let mut errors = 0;
    for issue in &issues {
        if issue.severity == emrex_elmo::Severity::Error {
            errors += 1;
        }
        say!("{issue}");
    }
    if errors > 0 {
        return Err(Failure::Invalid(format!(
            "{errors} error(s), {} warning(s)",
            issues.len() - errors
        )));
    }
    say!("ok: {} warning(s)", issues.len());
    Ok(())
}

fn encode(a: EncodeArgs) -> Outcome {
    let xml = input::read(&a.input)?;
    let mut param = emrex_elmo::transport::encode(&xml);
    param.push('\n');
    input::write(a.output.as_deref(), param.as_bytes())
}

fn decode(a: DecodeArgs) -> Outcome {
    let (xml, kind) = input::to_xml(&input::read(&a.input)?)?;
    if kind == input::Kind::Xml {
        return Err(Failure::Invalid("the input is already XML".into()));
    }
    input::write(a.output.as_deref(), &xml)
}

/// Writes the document in the target format. Warnings (what the target cannot carry, what is
/// omitted) go to standard error; errors (output would be schema-invalid) refuse with exit 1.
fn convert(a: ConvertArgs) -> Outcome {
    use emrex_elmo::{ElmoVersion, Severity};
    let (xml, _) = input::to_xml(&input::read(&a.input)?)?;
    let mut elmo = emrex_elmo::parse(&xml, &Default::default())
        .map_err(|e| Failure::Invalid(e.to_string()))?;
    let version = match a.to {
        ConvertTarget::Elmo17 => ElmoVersion::V1_7,
        ConvertTarget::Elmo21 | ConvertTarget::EwpTorV3 => ElmoVersion::V2_1,
        // Not an ELMO: no ELMO validation, its own report of what is not carried.
        ConvertTarget::Elm => return convert_elm(&a, &elmo),
    };
    if elmo.has_signature {
        eprintln!("note: the output is not signed (converting changes the signed bytes)");
        elmo.has_signature = false;
    }
    let mut issues = emrex_elmo::validate_for(&elmo, version);
    if a.to == ConvertTarget::EwpTorV3 {
        issues.extend(emrex_elmo::ewp::tor_warnings(&elmo));
    }
    let errors = issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .count();
    for issue in &issues {
        eprintln!("{issue}");
    }
    if errors > 0 {
        return Err(Failure::Invalid(format!(
            "cannot write ELMO {version}: {errors} error(s)"
        )));
    }
    let out = match a.to {
        ConvertTarget::Elmo17 | ConvertTarget::Elmo21 | ConvertTarget::Elm => {
            emrex_elmo::to_xml(&elmo, version)
        }
        ConvertTarget::EwpTorV3 => {
            // clap requires both with ewp-tor-v3; an empty value is the library's to refuse.
            let tor = emrex_elmo::ewp::Tor {
                omobility_id: a.omobility_id.as_deref().unwrap_or_default(),
                receiving_academic_year_id: a.academic_year.as_deref().unwrap_or_default(),
                elmo: &elmo,
            };
            emrex_elmo::ewp::tor_get_response(&[tor])
                .map_err(|e| Failure::Invalid(e.to_string()))?
        }
    };
    input::write(a.output.as_deref(), out.as_bytes())
}

/// `--to elm`: the ELM v3 credential as JSON on the output; what the credential does not carry
/// goes to standard error, one line per field.
fn convert_elm(a: &ConvertArgs, elmo: &Elmo) -> Outcome {
    if elmo.has_signature {
        eprintln!("note: the credential is unsigned (it gets its own proof when issued)");
    }
    let options = emrex_elm::Options {
        credential_id: a.credential_id.clone(),
        issuance_date: a.issuance_date.clone(),
        attachments: !a.no_attachments,
        ..Default::default()
    };
    let (mut json, not_mapped) =
        emrex_elm::convert_to_json(elmo, &options).map_err(|e| Failure::Invalid(e.to_string()))?;
    for n in &not_mapped {
        eprintln!("{n}");
    }
    json.push('\n');
    input::write(a.output.as_deref(), json.as_bytes())
}
