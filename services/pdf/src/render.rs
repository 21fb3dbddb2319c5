//! Laid-out pages to PDF bytes with krilla: footer, metadata, embedded XML, PDF/A-3u.

use std::time::SystemTime;

use emrex_elmo::Elmo;
use emrex_elmo::dates::{format_date_time_utc, parse_date};
use krilla::Document;
use krilla::SerializeSettings;
use krilla::color::rgb;
use krilla::configure::{Archival, ConfigurationBuilder};
use krilla::embed::{AssociationKind, EmbeddedFile, MimeType};
use krilla::error::KrillaError;
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::{DateTime, Metadata};
use krilla::page::PageSettings;
use krilla::paint::Stroke;
use krilla::text::TextDirection;

use crate::fonts::{Fonts, Style};
use crate::labels::labels;
use crate::layout::{
    CONTENT_WIDTH, FOOTER_BASELINE, MARGIN_X, Op, PAGE_HEIGHT, PAGE_WIDTH, Page, ellipsize,
};
use crate::{PdfError, TranscriptOptions};

/// File name of the embedded ELMO XML, as a receiver looks it up.
pub(crate) const EMBEDDED_NAME: &str = "elmo.xml";
const EMBEDDED_MIME: &str = "application/xml";
const FOOTER_SIZE: f32 = 8.0;

/// Writes the pages as PDF/A-3u; if krilla's validator refuses the content (it should not:
/// text is sanitized to what the font covers), writes a plain PDF 1.7 with the same content.
pub(crate) fn render(
    pages: &[Page],
    fonts: &Fonts,
    elmo: &Elmo,
    embedded_xml: &[u8],
    opts: &TranscriptOptions,
) -> Result<Vec<u8>, PdfError> {
    match render_with(pages, fonts, elmo, embedded_xml, opts, true) {
        Err(RenderError::Validation) => {
            render_with(pages, fonts, elmo, embedded_xml, opts, false).map_err(PdfError::from)
        }
        other => other.map_err(PdfError::from),
    }
}

enum RenderError {
    Validation,
    Other(String),
}

impl From<RenderError> for PdfError {
    fn from(e: RenderError) -> Self {
        match e {
            RenderError::Validation => PdfError::Render("PDF validation failed".into()),
            RenderError::Other(m) => PdfError::Render(m),
        }
    }
}

fn render_with(
    pages: &[Page],
    fonts: &Fonts,
    elmo: &Elmo,
    embedded_xml: &[u8],
    opts: &TranscriptOptions,
    archival: bool,
) -> Result<Vec<u8>, RenderError> {
    let mut settings = SerializeSettings {
        enable_tagging: false,
        ..SerializeSettings::default()
    };
    if archival {
        settings.configuration = ConfigurationBuilder::new()
            .with_archival_validator(Archival::A3_U)
            .finish()
            .map_err(|e| RenderError::Other(format!("PDF/A configuration: {e:?}")))?;
    }
    let mut doc = Document::new_with(settings);
    let date = pdf_date(&elmo.generated_date);

    let mut metadata = Metadata::new()
        .title(document_title(elmo, labels(&opts.lang).0.title))
        .creator(format!("emrex-pdf {}", env!("CARGO_PKG_VERSION")))
        .creation_date(date);
    let lang = opts.lang.trim();
    if !lang.is_empty()
        && lang.len() <= 35
        && lang.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        metadata = metadata.language(lang.to_string());
    }
    doc.set_metadata(metadata);

    let embedded = EmbeddedFile {
        path: EMBEDDED_NAME.to_string(),
        mime_type: MimeType::new(EMBEDDED_MIME),
        description: Some("ELMO XML: the machine-readable transcript this PDF shows".to_string()),
        association_kind: AssociationKind::Source,
        data: embedded_xml.to_vec().into(),
        modification_date: Some(date),
        compress: Some(true),
        location: None,
    };
    doc.embed_file(embedded)
        .ok_or_else(|| RenderError::Other("the XML could not be embedded".into()))?;

    let total = pages.len();
    let footer_left = footer_left(fonts, opts, total);
    for (i, page) in pages.iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
            .ok_or_else(|| RenderError::Other("invalid page size".into()))?;
        let mut pdf_page = doc.start_page_with(settings);
        let mut surface = pdf_page.surface();
        let footer = footer_ops(fonts, &opts.lang, &footer_left, i + 1, total);
        for op in page.ops.iter().chain(&footer) {
            match op {
                Op::Text {
                    x,
                    y,
                    size,
                    style,
                    text,
                } => surface.draw_text(
                    Point::from_xy(*x, *y),
                    fonts.face(*style).pdf.clone(),
                    *size,
                    text,
                    false,
                    TextDirection::Auto,
                ),
                Op::Rule {
                    x1,
                    x2,
                    y,
                    width,
                    grey,
                } => {
                    let mut pb = PathBuilder::new();
                    pb.move_to(*x1, *y);
                    pb.line_to(*x2, *y);
                    if let Some(path) = pb.finish() {
                        surface.set_stroke(Some(Stroke {
                            paint: rgb::Color::new(*grey, *grey, *grey).into(),
                            width: *width,
                            ..Stroke::default()
                        }));
                        surface.draw_path(&path);
                        surface.set_stroke(None);
                    }
                }
            }
        }
        surface.finish();
        pdf_page.finish();
    }
    doc.finish().map_err(|e| match e {
        KrillaError::Validation(_) if archival => RenderError::Validation,
        other => RenderError::Other(other.to_string()),
    })
}

/// Title in the PDF's document information: the heading and the learner's name, so a file
/// manager or viewer tab says whose transcript it is.
fn document_title(elmo: &Elmo, title: &str) -> String {
    let name: String = format!(
        "{} {}",
        elmo.learner.given_names.trim(),
        elmo.learner.family_name.trim()
    )
    .trim()
    .chars()
    .take(200)
    .collect();
    if name.is_empty() {
        title.to_string()
    } else {
        format!("{title}: {name}")
    }
}

/// "provider · generated at", sanitized and cut to the room the widest page number
/// ("Page N of N") leaves, once for all pages.
fn footer_left(fonts: &Fonts, opts: &TranscriptOptions, total: usize) -> String {
    let face = fonts.face(Style::Regular);
    let parts: Vec<String> = [&opts.provider_name, &opts.generated_at]
        .iter()
        .map(|s| face.sanitize(s))
        .filter(|s| !s.is_empty())
        .collect();
    let left = parts.join(" · ");
    let measure = |s: &str| face.width(s, FOOTER_SIZE);
    let room = CONTENT_WIDTH - measure(&page_label(&opts.lang, total, total)) - 12.0;
    if left.is_empty() || room <= 0.0 {
        return String::new();
    }
    ellipsize(&left, room, &measure)
}

fn page_label(lang: &str, n: usize, total: usize) -> String {
    labels(lang)
        .0
        .page
        .replace("{n}", &n.to_string())
        .replace("{total}", &total.to_string())
}

fn footer_ops(fonts: &Fonts, lang: &str, left: &str, n: usize, total: usize) -> Vec<Op> {
    let face = fonts.face(Style::Regular);
    let page = page_label(lang, n, total);
    let page_w = face.width(&page, FOOTER_SIZE);
    let right = MARGIN_X + CONTENT_WIDTH;
    let mut ops = vec![
        Op::Rule {
            x1: MARGIN_X,
            x2: right,
            y: FOOTER_BASELINE - FOOTER_SIZE - 4.0,
            width: 0.4,
            grey: 160,
        },
        Op::Text {
            x: right - page_w,
            y: FOOTER_BASELINE,
            size: FOOTER_SIZE,
            style: Style::Regular,
            text: page,
        },
    ];
    if !left.is_empty() {
        ops.push(Op::Text {
            x: MARGIN_X,
            y: FOOTER_BASELINE,
            size: FOOTER_SIZE,
            style: Style::Regular,
            text: left.to_string(),
        });
    }
    ops
}

/// The PDF creation date (also the embedded file's date, which PDF/A-3 requires): the ELMO
/// `generatedDate`, so the same document always gives the same PDF; the current time when that
/// is missing or unreadable.
fn pdf_date(generated: &str) -> DateTime {
    parse_date_time(generated)
        .or_else(|| parse_date_time(&format_date_time_utc(SystemTime::now())))
        .unwrap_or_else(|| DateTime::new(1970).month(1).day(1))
}

/// Reads `xs:dateTime` (`YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]`) or `xs:date`.
fn parse_date_time(s: &str) -> Option<DateTime> {
    let s = s.trim();
    let (date_part, time_part) = s.split_once('T').unwrap_or((s, ""));
    let date = parse_date(date_part)?;
    let year = u16::try_from(date.year).ok().filter(|y| *y <= 9999)?;
    let mut dt = DateTime::new(year).month(date.month).day(date.day);
    let num = |from: usize| -> Option<u8> { time_part.get(from..from + 2)?.parse().ok() };
    if let (Some(h), Some(m), Some(sec)) = (num(0), num(3), num(6)) {
        dt = dt.hour(h).minute(m).second(sec);
        // Zone: after the seconds and an optional fraction.
        let rest = time_part.get(8..).unwrap_or("");
        let zone = rest.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
        if zone == "Z" {
            dt = dt.utc_offset_hour(0).utc_offset_minute(0);
        } else if let (Some(sign), Some(zh), Some(zm)) = (
            zone.chars().next(),
            zone.get(1..3).and_then(|v| v.parse::<i8>().ok()),
            zone.get(4..6).and_then(|v| v.parse::<u8>().ok()),
        ) {
            let zh = if sign == '-' { -zh } else { zh };
            dt = dt.utc_offset_hour(zh).utc_offset_minute(zm);
        }
    }
    Some(dt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_elmo_dates() {
        let dt = |s: &str| parse_date_time(s).map(|d| format!("{d:?}"));
        assert!(dt("2024-06-01T12:30:05Z").is_some_and(|d| d.contains("hour: Some(12)")));
        assert!(
            dt("2024-06-01T12:30:05.123+02:00")
                .is_some_and(|d| d.contains("utc_offset_hour: Some(2)"))
        );
        assert!(dt("2024-06-01").is_some_and(|d| d.contains("hour: None")));
        assert!(dt("").is_none());
        assert!(dt("yesterday").is_none());
    }
}
