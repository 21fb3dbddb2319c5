//! The languages the student-facing parts of EMREX speak (the NCP's and the SMP's pages, the
//! transcript PDF), and the few things that differ between them besides the texts: how a
//! request's language is chosen, and how numbers and dates are written.
//!
//! The texts themselves live with each service (they are that service's sentences); this crate
//! is what they must agree on, so that a student who picked German at the SMP is not shown
//! "7.5" at the NCP and "7,5" in the PDF. No dependencies: the PDF crate uses it as well as the
//! web services.
//!
//! Adding a language: a [`Lang`] variant, its entry in [`Lang::ALL`], [`Lang::tag`],
//! [`Lang::native_name`], the number and date rules below, and a texts table in every service
//! (their unit tests fail until each has one).

/// A supported language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    De,
    Fr,
}

impl Lang {
    /// Every supported language, in the order the language switch lists them.
    pub const ALL: [Lang; 3] = [Lang::En, Lang::De, Lang::Fr];

    /// The BCP 47 tag (`lang=` attributes, `?lang=`, the PDF's document language).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Fr => "fr",
        }
    }

    /// The language's name in itself, as the language switch shows it (a German speaker looks
    /// for "Deutsch", not "German").
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::De => "Deutsch",
            Lang::Fr => "Français",
        }
    }

    /// The language of a tag (`de`, `de-AT`, `FR`), when supported.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.tag() == primary)
    }

    /// The best supported language for an `Accept-Language` header (RFC 9110 §12.5.4: quality
    /// values, primary-tag match), English when nothing matches.
    pub fn negotiate(accept_language: Option<&str>) -> Lang {
        let Some(header) = accept_language else {
            return Lang::En;
        };
        let mut best: Option<(f32, usize, Lang)> = None;
        for (pos, item) in header.split(',').enumerate().take(32) {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q <= 0.0 {
                continue;
            }
            let Some(lang) = Lang::from_tag(tag) else {
                continue;
            };
            // Higher q wins; on ties, the earlier entry.
            if best.is_none_or(|(bq, bpos, _)| q > bq || (q == bq && pos < bpos)) {
                best = Some((q, pos, lang));
            }
        }
        best.map_or(Lang::En, |(_, _, l)| l)
    }

    /// A decimal number as written in a document (`7.5`, `10`, `-0.25`), with this language's
    /// decimal separator (`7,5` in German and French). Anything that is not a plain decimal
    /// (a grade such as `B+`, `5/6`, a value with units) is returned unchanged: it is the
    /// issuer's text, not ours to reformat.
    pub fn decimal(self, value: &str) -> String {
        let v = value.trim();
        let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
        let plain = match digits.split_once('.') {
            Some((int, frac)) => {
                !int.is_empty()
                    && !frac.is_empty()
                    && int.bytes().all(|b| b.is_ascii_digit())
                    && frac.bytes().all(|b| b.is_ascii_digit())
            }
            None => false,
        };
        match self {
            Lang::De | Lang::Fr if plain => v.replacen('.', ",", 1),
            _ => value.to_string(),
        }
    }

    /// The calendar day of an `xs:date` or `xs:dateTime` (`2026-01-15`, `2026-01-15T10:00:00Z`,
    /// `2026-01-15+02:00`) written the way this language writes dates: `15 Jan 2026`,
    /// `15.01.2026`, `15/01/2026`. Text that is not such a date is returned unchanged.
    pub fn date(self, value: &str) -> String {
        let Some((year, month, day)) = calendar_day(value.trim()) else {
            return value.to_string();
        };
        match self {
            Lang::En => {
                const MONTHS: [&str; 12] = [
                    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                    "Dec",
                ];
                let m = MONTHS[usize::from(month - 1)];
                format!("{day} {m} {year}")
            }
            Lang::De => format!("{day:02}.{month:02}.{year}"),
            Lang::Fr => format!("{day:02}/{month:02}/{year}"),
        }
    }
}

/// `YYYY-MM-DD` at the start of `s`, followed by nothing, a time (`T…`) or a zone; the month
/// and day in range (a day past the month's end is not checked: the issuer's text is shown
/// reformatted, not validated — validation is emrex-elmo's job).
fn calendar_day(s: &str) -> Option<(u32, u8, u8)> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let year = num(0..4)?;
    let month = u8::try_from(num(5..7)?).ok()?;
    let day = u8::try_from(num(8..10)?).ok()?;
    let rest = &s[10..];
    let rest_ok = rest.is_empty()
        || rest.starts_with('T')
        || rest == "Z"
        || ((rest.starts_with('+') || rest.starts_with('-')) && rest.len() == 6);
    ((1..=12).contains(&month) && (1..=31).contains(&day) && rest_ok).then_some((year, month, day))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_quality_values() {
        assert_eq!(Lang::negotiate(None), Lang::En);
        assert_eq!(Lang::negotiate(Some("de-DE,de;q=0.9,en;q=0.8")), Lang::De);
        assert_eq!(Lang::negotiate(Some("en;q=0.5, fr-CA;q=0.9")), Lang::Fr);
        assert_eq!(Lang::negotiate(Some("fi, sv;q=0.8")), Lang::En);
        assert_eq!(Lang::negotiate(Some("fi, de;q=0.1")), Lang::De);
        assert_eq!(Lang::negotiate(Some("de;q=0, fr;q=0.2")), Lang::Fr);
        assert_eq!(Lang::negotiate(Some(";;;,,,q=abc")), Lang::En);
    }

    #[test]
    fn tags_round_trip_and_regional_tags_map_to_their_language() {
        for l in Lang::ALL {
            assert_eq!(Lang::from_tag(l.tag()), Some(l));
            assert!(!l.native_name().is_empty());
        }
        assert_eq!(Lang::from_tag("de-AT"), Some(Lang::De));
        assert_eq!(Lang::from_tag("FR_ca"), Some(Lang::Fr));
        assert_eq!(Lang::from_tag("fi"), None);
        assert_eq!(Lang::from_tag(""), None);
    }

    #[test]
    fn decimals_get_the_languages_separator_and_grades_stay_as_written() {
        assert_eq!(Lang::De.decimal("7.5"), "7,5");
        assert_eq!(Lang::Fr.decimal("-0.25"), "-0,25");
        assert_eq!(Lang::En.decimal("7.5"), "7.5");
        assert_eq!(Lang::De.decimal("10"), "10");
        for as_written in ["B+", "5/6", "1.0.2", ".5", "5.", "7.5 ECTS", ""] {
            assert_eq!(Lang::De.decimal(as_written), as_written);
        }
    }

    #[test]
    fn dates_are_written_the_languages_way() {
        assert_eq!(Lang::En.date("2026-01-15"), "15 Jan 2026");
        assert_eq!(Lang::De.date("2026-01-15"), "15.01.2026");
        assert_eq!(Lang::Fr.date("2026-01-15T10:00:00Z"), "15/01/2026");
        assert_eq!(Lang::De.date("2026-12-03+02:00"), "03.12.2026");
        for as_written in ["spring 2024", "2026-13-01", "2026-01-15x", "15.01.2026", ""] {
            assert_eq!(Lang::De.date(as_written), as_written);
        }
    }
}
