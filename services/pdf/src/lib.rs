//! The human-readable "EMREX transcript" PDF.
//!
//! An EMREX provider (NCP) sends the student's results as an ELMO XML document; people (the
//! student, an admissions officer) want to *read* them, so the NCP also attaches a PDF rendering
//! of the same data. [`transcript_pdf`] makes that PDF:
//!
//! * A4 pages laid out by hand (title, learner, then per report the issuer and a table of the
//!   learning opportunities with a total of passed ECTS credits), with page breaks and a footer
//!   `provider · generated at · Page n of N`.
//! * Text drawn with an embedded DejaVu Sans subset and a ToUnicode map, so `pdftotext`, search
//!   and screen readers get the real characters back (names like "Åsa Ødegård" or "Αθηνά").
//! * The ELMO XML itself embedded as the attachment `elmo.xml` (`application/xml`,
//!   relationship `Source`), so the PDF alone still carries the machine-readable data. The output
//!   aims at PDF/A-3u, the archival profile that allows such attachments; if the validator ever
//!   refuses a document the same content is written as a plain PDF 1.7 instead, because a
//!   transcript without the archival label is better than no transcript.
//!
//! The crate does no I/O and needs no font files at run time: the font is compiled in.
//! Input is untrusted (it may come from another institution), so everything is bounded: see
//! [`MAX_LEARNING_OPPORTUNITIES`], [`MAX_EMBEDDED_XML_BYTES`], [`MAX_REPORTS`] and
//! [`MAX_TEXT_CHARS`].

mod content;
mod credits;
mod fonts;
mod labels;
mod layout;
mod render;

use emrex_elmo::Elmo;

/// Most learning opportunities (over all reports, the whole `hasPart` trees) a transcript may
/// have. Real transcripts have tens to a few hundred; 5000 already makes a ~300-page PDF, and
/// more is an attack on the renderer rather than a study record.
pub const MAX_LEARNING_OPPORTUNITIES: usize = 5000;

/// Largest ELMO XML accepted for embedding (16 MiB). The EMREX transport budget for the whole
/// `elmo` parameter is far below this; anything larger is not a transcript.
pub const MAX_EMBEDDED_XML_BYTES: usize = 16 * 1024 * 1024;

/// Most reports (issuing institutions) a transcript may have. Each report starts a new block
/// with its own heading, so this bounds the page count of documents with many empty reports.
pub const MAX_REPORTS: usize = 1000;

/// Longest text (in characters) taken from any one field before layout; longer text is cut and
/// ends with "…". Titles are a few dozen characters; this keeps the cost of measuring and
/// wrapping hostile values small.
pub const MAX_TEXT_CHARS: usize = 1000;

/// What the caller decides about a transcript PDF (the data itself comes from the [`Elmo`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptOptions {
    /// BCP 47 language tag used to pick titles (issuer, courses) when the ELMO document has
    /// them in several languages, e.g. `"en"`; falls back to English, then to the first title.
    /// Also recorded as the PDF's document language, and the language of the transcript's own
    /// words ("Date of birth", statuses, the footer) and of its numbers and dates: English,
    /// German or French (`emrex_i18n`); other tags get English labels.
    pub lang: String,
    /// Who produced the PDF, printed in the footer of every page, e.g. `"EMREX NCP
    /// (development)"`, so a printed page says where it came from.
    pub provider_name: String,
    /// Human-readable timestamp printed in the footer (e.g. `"2026-05-01 12:00 UTC"`). Taken
    /// as given rather than read from a clock so the caller controls time zone and format and
    /// the output stays reproducible.
    pub generated_at: String,
}

/// Why no PDF was made.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The document has more learning opportunities than [`MAX_LEARNING_OPPORTUNITIES`].
    #[error(
        "the transcript has more than {max} learning opportunities (counted {count}); refusing to render it"
    )]
    TooManyLearningOpportunities {
        /// How many were counted (counting stops just past the limit).
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The document has more reports than [`MAX_REPORTS`].
    #[error(
        "the transcript has {count} reports, more than the {max} allowed; refusing to render it"
    )]
    TooManyReports {
        /// How many reports the document has.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The XML to embed is larger than [`MAX_EMBEDDED_XML_BYTES`].
    #[error("the ELMO XML to embed is {size} bytes, more than the {max} allowed")]
    EmbeddedXmlTooLarge {
        /// Size of the XML given.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The compiled-in font could not be read (a build problem, not an input problem).
    #[error("the built-in font could not be loaded: {0}")]
    Font(&'static str),
    /// krilla refused to write the PDF.
    #[error("writing the PDF failed: {0}")]
    Render(String),
}

/// Renders `elmo` as the EMREX transcript PDF and embeds `embedded_xml` (normally the exact
/// bytes of the ELMO document being sent, signed or not) as the attachment `elmo.xml`.
///
/// The XML is embedded as given and not parsed or compared with `elmo`: the caller knows which
/// bytes it sends, and re-serializing here could differ from them (and break a signature).
///
/// Refuses absurd input instead of producing an absurd PDF: see the `MAX_*` constants.
pub fn transcript_pdf(
    elmo: &Elmo,
    embedded_xml: &[u8],
    opts: &TranscriptOptions,
) -> Result<Vec<u8>, PdfError> {
    if embedded_xml.len() > MAX_EMBEDDED_XML_BYTES {
        return Err(PdfError::EmbeddedXmlTooLarge {
            size: embedded_xml.len(),
            max: MAX_EMBEDDED_XML_BYTES,
        });
    }
    if elmo.reports.len() > MAX_REPORTS {
        return Err(PdfError::TooManyReports {
            count: elmo.reports.len(),
            max: MAX_REPORTS,
        });
    }
    let count = elmo
        .reports
        .iter()
        .flat_map(|r| r.all_learning_opportunities())
        .take(MAX_LEARNING_OPPORTUNITIES + 1)
        .count();
    if count > MAX_LEARNING_OPPORTUNITIES {
        return Err(PdfError::TooManyLearningOpportunities {
            count,
            max: MAX_LEARNING_OPPORTUNITIES,
        });
    }

    let fonts = fonts::Fonts::load()?;
    let pages = content::layout_transcript(elmo, opts, &fonts);
    render::render(&pages, &fonts, elmo, embedded_xml, opts)
}
