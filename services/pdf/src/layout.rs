//! Page geometry, the drawing operations of a laid-out page, and line breaking.
//!
//! Layout happens before drawing so the total page count is known when footers ("Page n of
//! N") are written, and so layout can be tested without a PDF. Coordinates are points from the
//! top-left corner (krilla's convention); text `y` is the baseline.

use crate::fonts::Style;

/// A4 width in points.
pub(crate) const PAGE_WIDTH: f32 = 595.276;
/// A4 height in points.
pub(crate) const PAGE_HEIGHT: f32 = 841.89;
/// Left and right margin.
pub(crate) const MARGIN_X: f32 = 48.0;
/// Top margin (first baseline sits below it).
pub(crate) const MARGIN_TOP: f32 = 50.0;
/// Lowest point body content may reach; the footer lives below.
pub(crate) const CONTENT_BOTTOM: f32 = PAGE_HEIGHT - 62.0;
/// Baseline of the footer line.
pub(crate) const FOOTER_BASELINE: f32 = PAGE_HEIGHT - 34.0;
/// Width available between the margins.
pub(crate) const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN_X;

/// One drawing operation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    /// A single line of (sanitized) text with its left end at `x` and baseline at `y`.
    Text {
        x: f32,
        y: f32,
        size: f32,
        style: Style,
        text: String,
    },
    /// A horizontal rule from `x1` to `x2` at `y`, `width` points thick, in grey level `grey`.
    Rule {
        x1: f32,
        x2: f32,
        y: f32,
        width: f32,
        grey: u8,
    },
}

/// A laid-out page (without its footer, which needs the page count).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Page {
    pub(crate) ops: Vec<Op>,
}

/// Breaks `text` into lines no wider than `max_width` (as measured by `measure`), at spaces,
/// and inside words only when a single word is wider than the line. At most `max_lines` lines
/// are returned; if the text needs more, the last one ends with "…". Empty text gives no line.
///
/// `text` must be sanitized (single spaces, no control characters). Work stops at the last
/// line allowed, so the cost is a few measurements per word shown, whatever the text's length.
pub(crate) fn wrap(
    text: &str,
    max_width: f32,
    max_lines: usize,
    measure: &dyn Fn(&str) -> f32,
) -> Vec<String> {
    let max_lines = max_lines.max(1);
    let max_width = max_width.max(0.0);
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !current.is_empty() {
            let candidate = format!("{current} {word}");
            if measure(&candidate) <= max_width {
                current = candidate;
                continue;
            }
            if lines.len() + 1 == max_lines {
                // The last line allowed is full and text remains: cut it here. The candidate
                // already overflows, so the cut falls inside it; the rest is never measured.
                lines.push(ellipsize(&candidate, max_width, measure));
                return lines;
            }
            lines.push(std::mem::take(&mut current));
        }
        // The word starts a line; split it if it is wider than a whole line.
        let mut rest = word;
        while measure(rest) > max_width {
            if lines.len() + 1 == max_lines {
                // `rest` alone overflows, so the cut falls inside it.
                lines.push(ellipsize(rest, max_width, measure));
                return lines;
            }
            let cut = fitting_prefix(rest, max_width, measure);
            lines.push(rest[..cut].to_string());
            rest = &rest[cut..];
        }
        current = rest.to_string();
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// Returns `text` if it fits in `max_width`, else its longest prefix that fits followed by
/// "…" (or just "…" when nothing fits).
pub(crate) fn ellipsize(text: &str, max_width: f32, measure: &dyn Fn(&str) -> f32) -> String {
    if measure(text) <= max_width {
        return text.to_string();
    }
    let bounds = boundaries(text);
    // Largest boundary whose prefix + "…" fits (prefix widths grow with the prefix).
    let fits = |end: usize| {
        let head = text[..end].trim_end();
        measure(&format!("{head}…")) <= max_width
    };
    let (mut lo, mut hi) = (0_usize, bounds.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if fits(bounds[mid - 1]) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    match lo {
        0 => "…".to_string(),
        n => format!("{}…", text[..bounds[n - 1]].trim_end()),
    }
}

/// Byte length of the longest prefix of `word` (at least one character cluster) that fits in
/// `max_width`.
fn fitting_prefix(word: &str, max_width: f32, measure: &dyn Fn(&str) -> f32) -> usize {
    let bounds = boundaries(word);
    let (mut lo, mut hi) = (1_usize, bounds.len());
    // Invariant: the prefix ending at bounds[lo-1] is the best known (always keep one cluster).
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if measure(&word[..bounds[mid - 1]]) <= max_width {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    bounds.get(lo - 1).copied().unwrap_or(word.len())
}

/// End offsets of the character clusters of `s` (a base character with its combining marks):
/// the places a line may be cut without separating an accent from its letter.
fn boundaries(s: &str) -> Vec<usize> {
    let mut out = Vec::new();
    for (i, c) in s.char_indices().skip(1) {
        if !is_combining(c) {
            out.push(i);
        }
    }
    if !s.is_empty() {
        out.push(s.len());
    }
    out
}

/// Combining marks and joiners (the common blocks; enough to keep accents on their letters).
fn is_combining(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{0483}'..='\u{0489}'
        | '\u{0591}'..='\u{05BD}'
        | '\u{0610}'..='\u{061A}'
        | '\u{064B}'..='\u{065F}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{200C}' | '\u{200D}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Monospace measure: 1 unit per character, so widths are character counts.
    fn mono(s: &str) -> f32 {
        s.chars().count() as f32
    }

    #[test]
    fn wraps_at_spaces() {
        let lines = wrap("Introduction to programming in Rust", 16.0, 5, &mono);
        assert_eq!(lines, ["Introduction to", "programming in", "Rust"]);
        for l in &lines {
            assert!(mono(l) <= 16.0);
        }
    }

    #[test]
    fn short_text_is_one_line_and_empty_text_none() {
        assert_eq!(wrap("Algebra", 16.0, 3, &mono), ["Algebra"]);
        assert!(wrap("", 16.0, 3, &mono).is_empty());
    }

    #[test]
    fn breaks_words_longer_than_a_line() {
        let lines = wrap("Donaudampfschifffahrtsgesellschaft ok", 10.0, 9, &mono);
        assert_eq!(lines, ["Donaudampf", "schifffahr", "tsgesellsc", "haft ok"]);
    }

    #[test]
    fn too_many_lines_end_with_an_ellipsis() {
        let lines = wrap("aaa bbb ccc ddd eee fff", 7.0, 2, &mono);
        assert_eq!(lines, ["aaa bbb", "ccc dd…"]);
        let lines = wrap(&"x".repeat(100), 10.0, 2, &mono);
        assert_eq!(lines.len(), 2);
        assert!(lines[1].ends_with('…') && mono(&lines[1]) <= 10.0);
    }

    #[test]
    fn ellipsize_cuts_to_width() {
        assert_eq!(ellipsize("Passed", 10.0, &mono), "Passed");
        assert_eq!(
            ellipsize("Passed with distinction", 10.0, &mono),
            "Passed wi…"
        );
        assert_eq!(ellipsize("Passed with", 8.0, &mono), "Passed…");
        assert_eq!(ellipsize("abc", 0.5, &mono), "…");
    }

    #[test]
    fn never_separates_a_combining_accent() {
        // "e" + U+0301 is one cluster: a cut may fall before or after it, not inside.
        let word = "e\u{301}e\u{301}e\u{301}e\u{301}";
        let lines = wrap(word, 3.0, 9, &mono);
        assert_eq!(lines.concat(), word);
        for l in &lines {
            assert!(!l.starts_with('\u{301}'), "{lines:?}");
        }
    }
}
