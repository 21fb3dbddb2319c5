//! The answer to the client: return codes, and the signed ELMO of an `NCP_OK` response.
//!
//! `NCP_OK` steps (each timed): write ELMO v1.7 for the selection → render the transcript PDF
//! (which embeds that XML) → attach the PDF as `EMREX transcript` → sign through the Signer →
//! gzip + base64. The XML embedded in the PDF is the signed document minus the transcript
//! attachment and the signature (a document cannot contain itself); a client can compare the
//! two with `emrex elmo inspect`.

use std::time::{Instant, SystemTime};

use emrex_elmo::model::{Attachment, Elmo, LangText};

use crate::clients::{SignError, Signer};

/// The attachment type fi-smp and others look for.
pub const TRANSCRIPT_TYPE: &str = "EMREX transcript";

/// The four EMREX 1.x return codes (the `NCP_*` spellings every deployed client accepts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnCode {
    Ok,
    NoResults,
    Cancel,
    Error,
}

impl ReturnCode {
    /// As sent in `returnCode`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnCode::Ok => "NCP_OK",
            ReturnCode::NoResults => "NCP_NO_RESULTS",
            ReturnCode::Cancel => "NCP_CANCEL",
            ReturnCode::Error => "NCP_ERROR",
        }
    }
}

/// The four form fields (TG §4.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnFields {
    pub session_id: String,
    pub code: ReturnCode,
    pub message: String,
    /// base64(gzip(signed XML)); empty unless `NCP_OK`.
    pub elmo: String,
}

impl ReturnFields {
    /// A response without results.
    pub fn without_results(session_id: &str, code: ReturnCode, message: &str) -> Self {
        Self {
            session_id: session_id.to_string(),
            code,
            message: message.to_string(),
            elmo: String::new(),
        }
    }

    /// As (name, value) pairs in the order peers send them.
    pub fn pairs(&self) -> [(&'static str, &str); 4] {
        [
            ("sessionId", self.session_id.as_str()),
            ("returnCode", self.code.as_str()),
            ("returnMessage", self.message.as_str()),
            ("elmo", self.elmo.as_str()),
        ]
    }
}

/// Time spent per step of [`build_signed`], in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    pub elmo: f64,
    pub pdf: f64,
    pub sign: f64,
    pub encode: f64,
}

/// Why a response could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("transcript PDF: {0}")]
    Pdf(emrex_pdf::PdfError),
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error("PDF task failed: {0}")]
    Task(String),
}

// Printed in `Pdf`'s message, so not also a `source`.
impl From<emrex_pdf::PdfError> for BuildError {
    fn from(e: emrex_pdf::PdfError) -> Self {
        Self::Pdf(e)
    }
}

/// What the PDF says about the provider.
#[derive(Debug, Clone)]
pub struct PdfSettings {
    pub provider_name: String,
}

/// The unsigned v1.7 document with the transcript PDF attached, and the XML the PDF embeds
/// (pure, CPU-bound: call from a blocking task).
pub fn document_with_transcript(
    selected: &Elmo,
    generated: SystemTime,
    lang: &str,
    pdf: &PdfSettings,
    timings: &mut Timings,
) -> Result<(Vec<u8>, Vec<u8>), BuildError> {
    let t = Instant::now();
    let stamp = emrex_elmo::dates::format_date_time_utc(generated);
    let mut doc = selected.clone();
    doc.generated_date = stamp.clone();
    // Our own transcript replaces any the source carried; other attachments stay.
    doc.attachments
        .retain(|a| a.attachment_type.as_deref() != Some(TRANSCRIPT_TYPE));
    doc.has_signature = false;
    let inner_xml = emrex_elmo::to_xml_v17(&doc).into_bytes();
    timings.elmo += t.elapsed().as_secs_f64();

    let t = Instant::now();
    let pdf_bytes = emrex_pdf::transcript_pdf(
        &doc,
        &inner_xml,
        &emrex_pdf::TranscriptOptions {
            lang: lang.to_string(),
            provider_name: pdf.provider_name.clone(),
            generated_at: stamp,
        },
    )?;
    timings.pdf += t.elapsed().as_secs_f64();

    let t = Instant::now();
    let with_pdf = doc.with_attachment(Attachment::new(
        TRANSCRIPT_TYPE,
        LangText::with_lang("en", "EMREX transcript"),
        "application/pdf",
        &pdf_bytes,
    ));
    let xml = emrex_elmo::to_xml_v17(&with_pdf).into_bytes();
    timings.elmo += t.elapsed().as_secs_f64();
    Ok((xml, inner_xml))
}

/// Builds, signs and encodes the `elmo` parameter for `selected`.
pub async fn build_signed(
    selected: Elmo,
    lang: String,
    pdf: PdfSettings,
    signer: &Signer,
) -> Result<(String, Timings), BuildError> {
    let (xml, mut timings) = tokio::task::spawn_blocking(move || {
        let mut timings = Timings::default();
        document_with_transcript(&selected, SystemTime::now(), &lang, &pdf, &mut timings)
            .map(|(xml, _)| (xml, timings))
    })
    .await
    .map_err(|e| BuildError::Task(e.to_string()))??;

    let t = Instant::now();
    let signed = signer.sign(xml).await?;
    timings.sign = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let elmo = tokio::task::spawn_blocking(move || emrex_elmo::transport::encode(&signed))
        .await
        .map_err(|e| BuildError::Task(e.to_string()))?;
    timings.encode = t.elapsed().as_secs_f64();
    Ok((elmo, timings))
}
