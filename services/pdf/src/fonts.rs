//! The compiled-in font (DejaVu Sans, regular and bold) and text measurement.
//!
//! Text is measured with rustybuzz, the shaper krilla's `draw_text` uses, so a width computed
//! here is the width krilla will draw (kerning and combining marks included). Every string is
//! passed through [`Face::sanitize`] before it is measured or drawn: characters the font lacks
//! become U+FFFD instead of the `.notdef` glyph, which PDF/A forbids and which would extract as
//! nothing.

use std::cell::RefCell;

use krilla::text::Font;
use rustybuzz::{Direction, Script, ShapePlan};

use crate::{MAX_TEXT_CHARS, PdfError};

/// Font style of a piece of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Regular,
    Bold,
}

/// One face: the krilla font to draw with and the rustybuzz face to measure with.
pub(crate) struct Face {
    pub(crate) pdf: Font,
    shaper: rustybuzz::Face<'static>,
    units_per_em: f32,
    /// Shape plans by (direction, script): compiling a plan costs more than shaping a short
    /// line, and a transcript uses one or two scripts.
    plans: RefCell<Vec<(Direction, Script, ShapePlan)>>,
}

impl std::fmt::Debug for Face {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Face")
            .field("units_per_em", &self.units_per_em)
            .finish_non_exhaustive()
    }
}

impl Face {
    fn load(bytes: &'static [u8], name: &'static str) -> Result<Self, PdfError> {
        let pdf = Font::new(bytes.into(), 0).ok_or(PdfError::Font(name))?;
        let shaper = rustybuzz::Face::from_slice(bytes, 0).ok_or(PdfError::Font(name))?;
        let units_per_em = shaper.units_per_em() as f32;
        if units_per_em <= 0.0 {
            return Err(PdfError::Font(name));
        }
        Ok(Self {
            pdf,
            shaper,
            units_per_em,
            plans: RefCell::new(Vec::new()),
        })
    }

    /// Width of `text` (already sanitized) at `size` points, as krilla will draw it.
    pub(crate) fn width(&self, text: &str, size: f32) -> f32 {
        if text.is_empty() {
            return 0.0;
        }
        let mut buffer = rustybuzz::UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.guess_segment_properties();
        let (direction, script) = (buffer.direction(), buffer.script());
        if direction == Direction::Invalid {
            return Self::advance(
                &rustybuzz::shape(&self.shaper, &[], buffer),
                size,
                self.units_per_em,
            );
        }
        let mut plans = self.plans.borrow_mut();
        let index = match plans
            .iter()
            .position(|(d, s, _)| *d == direction && *s == script)
        {
            Some(i) => i,
            None => {
                let language = buffer.language();
                let plan = ShapePlan::new(
                    &self.shaper,
                    direction,
                    Some(script),
                    language.as_ref(),
                    &[],
                );
                plans.push((direction, script, plan));
                plans.len() - 1
            }
        };
        let shaped = rustybuzz::shape_with_plan(&self.shaper, &plans[index].2, buffer);
        Self::advance(&shaped, size, self.units_per_em)
    }

    fn advance(shaped: &rustybuzz::GlyphBuffer, size: f32, units_per_em: f32) -> f32 {
        let advance: i64 = shaped
            .glyph_positions()
            .iter()
            .map(|p| i64::from(p.x_advance))
            .sum();
        advance as f32 * size / units_per_em
    }

    /// Makes `text` safe to draw with this face: cut to [`MAX_TEXT_CHARS`], control characters
    /// and line breaks turned into spaces, invisible format characters (zero-width spaces, bidi
    /// controls, BOM, variation selectors, soft hyphen) dropped, private-use and unsupported
    /// characters replaced by U+FFFD, and whitespace collapsed.
    pub(crate) fn sanitize(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len().min(4 * MAX_TEXT_CHARS));
        let mut pending_space = false;
        for (i, c) in text.chars().enumerate() {
            if i == MAX_TEXT_CHARS {
                if !out.is_empty() {
                    out.push('…');
                }
                break;
            }
            let c = if c.is_control() || c.is_whitespace() {
                ' '
            } else if is_invisible_format(c) {
                continue;
            } else if is_private_use(c) || self.shaper.glyph_index(c).is_none() {
                '\u{FFFD}'
            } else {
                c
            };
            if c == ' ' {
                pending_space = !out.is_empty();
                continue;
            }
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
        out
    }
}

/// Characters that render as nothing and only steer shaping or bidi; dropping them keeps the
/// PDF free of glyphs the font may lack and of code points PDF/A disallows (U+FEFF, U+FFFE).
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}'
        | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFF8}'
        | '\u{FFFE}' | '\u{FFFF}'
        | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
}

fn is_private_use(c: char) -> bool {
    matches!(c, '\u{E000}'..='\u{F8FF}' | '\u{F0000}'..='\u{10FFFF}')
}

/// The two faces used on every page.
#[derive(Debug)]
pub(crate) struct Fonts {
    regular: Face,
    bold: Face,
}

impl Fonts {
    /// Loads the compiled-in DejaVu Sans faces (parsing only; nothing is read from disk).
    pub(crate) fn load() -> Result<Self, PdfError> {
        Ok(Self {
            regular: Face::load(dejavu::sans::regular(), "DejaVu Sans")?,
            bold: Face::load(dejavu::sans::bold(), "DejaVu Sans Bold")?,
        })
    }

    pub(crate) fn face(&self, style: Style) -> &Face {
        match style {
            Style::Regular => &self.regular,
            Style::Bold => &self.bold,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_keeps_names_and_replaces_what_the_font_lacks() {
        let fonts = Fonts::load().expect("font");
        let f = fonts.face(Style::Regular);
        assert_eq!(f.sanitize("Åsa  Ødegård"), "Åsa Ødegård");
        assert_eq!(f.sanitize("Zoë Łukasiewicz"), "Zoë Łukasiewicz");
        assert_eq!(f.sanitize("Αθηνά"), "Αθηνά");
        assert_eq!(f.sanitize(" a\tb\nc\u{200B}d\u{FEFF} "), "a b cd");
        // CJK is not in DejaVu Sans; private use is never drawn.
        assert_eq!(f.sanitize("山田\u{E000}"), "\u{FFFD}\u{FFFD}\u{FFFD}");
        let long = "x".repeat(MAX_TEXT_CHARS + 10);
        assert_eq!(f.sanitize(&long).chars().count(), MAX_TEXT_CHARS + 1);
    }

    #[test]
    fn widths_grow_with_text_and_size() {
        let fonts = Fonts::load().expect("font");
        let f = fonts.face(Style::Regular);
        let a = f.width("Transcript", 10.0);
        assert!(a > 30.0 && a < 80.0, "{a}");
        assert!((f.width("Transcript", 20.0) - 2.0 * a).abs() < 0.01);
        assert!(fonts.face(Style::Bold).width("Transcript", 10.0) > a);
        assert_eq!(f.width("", 10.0), 0.0);
    }
}
