//! Does the document belong to the person the exchange was started for?
//!
//! EMREX leaves this to the client ("ensure the results belong to the same person", using name
//! and birth date). Peers compare raw strings with a normalized Levenshtein threshold of 0.1 and
//! are case- and diacritic-sensitive (brief §3.4). We return a [`Verdict`] with a score and
//! machine-readable [`Reason`]s instead, so a human can resolve the unclear cases.
//!
//! # Rules
//!
//! Birth dates are compared as calendar days (an `xs:date` zone suffix is ignored):
//! different ⇒ **Mismatch**, except two differences that are typing slips far more often than
//! another person — day and month swapped (`1999-04-12` / `1999-12-04`, the US and European
//! orders) or exactly one digit different (`1999-04-12` / `1999-04-13`) — which are at most
//! **Review** ([`Reason::BirthDateSwapped`], [`Reason::BirthDateOneDigit`]): calling a student a
//! fraud over a swapped date is worse than asking a human; missing or unreadable on either
//! side ⇒ at most **Review**.
//!
//! Names are compared at increasing normalization levels; the first level at which both the
//! given names and the family name are equal decides:
//!
//! 1. as written ⇒ Match;
//! 2. NFKC, case folding (incl. `ß`→`ss`, final sigma), hyphens and whitespace runs → one
//!    space, apostrophes removed ⇒ Match ([`Reason::NormalizedEqual`]);
//! 3. additionally diacritics removed (NFD minus combining marks, plus `ø ł đ æ œ þ ð ı ħ ŧ`) ⇒
//!    Match ([`Reason::DiacriticsRemoved`]) — national systems often store names without them;
//! 4. when the two sides are written in different scripts, Greek and Cyrillic transliterated to
//!    Latin (ELOT 743 / ICAO 9303 style) ⇒ **Review** ([`Reason::Transliterated`]): spellings
//!    of transliterated names vary, so equality is evidence, not proof.
//!
//! Otherwise, at the most normalized level: swapped given/family names, the same name parts
//! grouped differently, or one side's given (family) names being a subset of the other's
//! ("Anna" vs "Anna Maria") ⇒ **Review**. Else the edit distance decides:
//! `(lev(family) + lev(given)) / max(len(full name))` ≤ [`NAME_DISTANCE_REVIEW`] (0.1, the
//! peers' auto-accept threshold; [`NAME_DISTANCE_REVIEW_TRANSLITERATED`] = 0.2 across scripts)
//! ⇒ **Review**, above ⇒ **Mismatch**. We do not auto-accept typos that peers accept: one letter
//! is also the difference between two siblings.
//!
//! The score is a heuristic in [0, 1] for sorting and display (1.0 = identical); the verdict
//! is what decisions must use.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::dates::parse_date;
use crate::model::{Elmo, Learner};

/// Largest combined normalized name distance still sent to review (same script).
pub const NAME_DISTANCE_REVIEW: f64 = 0.1;
/// Largest combined normalized name distance still sent to review after transliteration.
pub const NAME_DISTANCE_REVIEW_TRANSLITERATED: f64 = 0.2;

/// The identity facts compared.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Person {
    pub given_names: String,
    pub family_name: String,
    /// `YYYY-MM-DD`, optionally with an `xs:date` zone suffix.
    pub birth_date: Option<String>,
}

impl Person {
    pub fn new(
        given_names: impl Into<String>,
        family_name: impl Into<String>,
        birth_date: Option<&str>,
    ) -> Self {
        Self {
            given_names: given_names.into(),
            family_name: family_name.into(),
            birth_date: birth_date.map(str::to_string),
        }
    }
}

impl From<&Learner> for Person {
    fn from(l: &Learner) -> Self {
        Self {
            given_names: l.given_names.clone(),
            family_name: l.family_name.clone(),
            birth_date: l.bday.clone(),
        }
    }
}

/// Outcome class. Ordered: `Match < Review < Mismatch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Same person; import without asking.
    Match,
    /// Probably the same person, but a human should confirm.
    Review,
    /// Not the same person (or not provably): do not import.
    Mismatch,
}

/// Which side of the comparison a reason is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Expected,
    Actual,
}

/// Why a comparison was not a plain, exact match. Serialized as `{"code": "...", ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Reason {
    /// Birth dates are both valid and different.
    BirthDateDiffers,
    /// Birth dates differ only by day and month being swapped.
    BirthDateSwapped,
    /// Birth dates differ in exactly one digit.
    BirthDateOneDigit,
    /// A birth date is missing.
    BirthDateMissing { side: Side },
    /// A birth date is not a valid `xs:date`.
    BirthDateInvalid { side: Side },
    /// A given-names or family-name value is empty.
    NameMissing { side: Side },
    /// Equal after Unicode (NFKC), case, whitespace, hyphen and apostrophe normalization.
    NormalizedEqual,
    /// Equal only after removing diacritics.
    DiacriticsRemoved,
    /// The two sides use different scripts; compared after Greek/Cyrillic → Latin
    /// transliteration.
    Transliterated,
    /// Given names and family name are swapped.
    NameOrderSwapped,
    /// The same name parts, split differently between given and family name.
    NamePartsRegrouped,
    /// One side's given names are a subset of the other's.
    GivenNamesSubset,
    /// One side's family-name parts are a subset of the other's.
    FamilyNameSubset,
    /// Normalized Levenshtein distance (0–1) between the family names.
    FamilyNameDistance { distance: f64 },
    /// Normalized Levenshtein distance (0–1) between the given names.
    GivenNamesDistance { distance: f64 },
}

impl Reason {
    /// A human-readable explanation.
    pub fn message(&self) -> String {
        let side = |s: &Side| match s {
            Side::Expected => "the expected person",
            Side::Actual => "the document",
        };
        match self {
            Reason::BirthDateDiffers => "birth dates differ".into(),
            Reason::BirthDateSwapped => {
                "birth dates differ only by day and month being swapped".into()
            }
            Reason::BirthDateOneDigit => "birth dates differ in one digit".into(),
            Reason::BirthDateMissing { side: s } => format!("birth date missing in {}", side(s)),
            Reason::BirthDateInvalid { side: s } => {
                format!("birth date of {} is not a valid date", side(s))
            }
            Reason::NameMissing { side: s } => format!("a name is empty in {}", side(s)),
            Reason::NormalizedEqual => {
                "names equal after case, spacing and Unicode normalization".into()
            }
            Reason::DiacriticsRemoved => "names equal only after removing diacritics".into(),
            Reason::Transliterated => {
                "names written in different scripts; compared after transliteration to Latin".into()
            }
            Reason::NameOrderSwapped => "given and family names are swapped".into(),
            Reason::NamePartsRegrouped => {
                "same name parts, split differently between given and family name".into()
            }
            Reason::GivenNamesSubset => "given names match only partially (one is a subset)".into(),
            Reason::FamilyNameSubset => {
                "family names match only partially (one is a subset)".into()
            }
            Reason::FamilyNameDistance { distance } => {
                format!("family names differ (normalized edit distance {distance:.2})")
            }
            Reason::GivenNamesDistance { distance } => {
                format!("given names differ (normalized edit distance {distance:.2})")
            }
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// Result of [`match_person`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityMatch {
    /// Heuristic similarity in [0, 1]; 1.0 = identical.
    pub score: f64,
    pub verdict: Verdict,
    pub reasons: Vec<Reason>,
}

/// Compares the person the exchange was started for (`expected`, e.g. from the login) with the
/// learner of a document (`actual`).
pub fn match_person(expected: &Person, actual: &Person) -> IdentityMatch {
    let mut reasons = Vec::new();
    let (mut verdict, name_score) = compare_names(expected, actual, &mut reasons);
    let date_factor = match compare_birth_dates(expected, actual, &mut reasons) {
        DateOutcome::Equal => 1.0,
        DateOutcome::Uncertain => {
            verdict = verdict.max(Verdict::Review);
            0.9
        }
        DateOutcome::Close => {
            verdict = verdict.max(Verdict::Review);
            0.7
        }
        DateOutcome::Differs => {
            verdict = Verdict::Mismatch;
            0.3
        }
    };
    IdentityMatch {
        score: (name_score * date_factor).clamp(0.0, 1.0),
        verdict,
        reasons,
    }
}

/// Matches `expected` against every learner the document names ([`Elmo::learners`]: pilot
/// format documents carry one per report) and returns the worst result.
pub fn match_elmo(expected: &Person, elmo: &Elmo) -> IdentityMatch {
    let mut worst: Option<IdentityMatch> = None;
    for l in elmo.learners() {
        let m = match_person(expected, &Person::from(l));
        let replace = match &worst {
            None => true,
            Some(w) => (m.verdict, -m.score) > (w.verdict, -w.score),
        };
        if replace {
            worst = Some(m);
        }
    }
    worst.unwrap_or_else(|| match_person(expected, &Person::default()))
}

enum DateOutcome {
    Equal,
    Uncertain,
    /// Different, but by a typing slip (swapped day and month, one digit).
    Close,
    Differs,
}

fn compare_birth_dates(e: &Person, a: &Person, reasons: &mut Vec<Reason>) -> DateOutcome {
    let read = |p: &Person, side: Side, reasons: &mut Vec<Reason>| match p
        .birth_date
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => {
            reasons.push(Reason::BirthDateMissing { side });
            None
        }
        Some(s) => {
            let d = parse_date(s);
            if d.is_none() {
                reasons.push(Reason::BirthDateInvalid { side });
            }
            d
        }
    };
    let de = read(e, Side::Expected, reasons);
    let da = read(a, Side::Actual, reasons);
    match (de, da) {
        (Some(x), Some(y)) if x == y => DateOutcome::Equal,
        (Some(x), Some(y)) if x.year == y.year && x.day == y.month && x.month == y.day => {
            reasons.push(Reason::BirthDateSwapped);
            DateOutcome::Close
        }
        (Some(x), Some(y)) if one_digit_apart(&x.to_string(), &y.to_string()) => {
            reasons.push(Reason::BirthDateOneDigit);
            DateOutcome::Close
        }
        (Some(_), Some(_)) => {
            reasons.push(Reason::BirthDateDiffers);
            DateOutcome::Differs
        }
        _ => DateOutcome::Uncertain,
    }
}

/// Whether two equally long strings differ in exactly one character.
fn one_digit_apart(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).filter(|(x, y)| x != y).count() == 1
}

/// Both name fields of one side at one normalization level.
#[derive(Clone, PartialEq)]
struct Names {
    given: String,
    family: String,
}

impl Names {
    fn map(&self, f: impl Fn(&str) -> String) -> Names {
        Names {
            given: f(&self.given),
            family: f(&self.family),
        }
    }

    fn full(&self) -> String {
        format!("{} {}", self.given, self.family)
    }
}

fn compare_names(e: &Person, a: &Person, reasons: &mut Vec<Reason>) -> (Verdict, f64) {
    let raw_e = Names {
        given: e.given_names.clone(),
        family: e.family_name.clone(),
    };
    let raw_a = Names {
        given: a.given_names.clone(),
        family: a.family_name.clone(),
    };
    let l1e = raw_e.map(fold);
    let l1a = raw_a.map(fold);
    let mut verdict = Verdict::Match;
    for (names, side) in [(&l1e, Side::Expected), (&l1a, Side::Actual)] {
        if names.given.is_empty() || names.family.is_empty() {
            reasons.push(Reason::NameMissing { side });
            verdict = Verdict::Review;
        }
    }
    if l1e.given.is_empty() && l1e.family.is_empty()
        || l1a.given.is_empty() && l1a.family.is_empty()
    {
        return (Verdict::Mismatch, 0.0);
    }
    if raw_e == raw_a {
        let score = if verdict == Verdict::Match { 1.0 } else { 0.9 };
        return (verdict, score);
    }
    if l1e == l1a {
        reasons.push(Reason::NormalizedEqual);
        return (verdict, 0.99);
    }
    let l2e = l1e.map(strip_diacritics);
    let l2a = l1a.map(strip_diacritics);
    if l2e == l2a {
        reasons.push(Reason::DiacriticsRemoved);
        return (verdict, 0.95);
    }
    let translit = scripts(&l2e.full()) != scripts(&l2a.full())
        && (has_greek_or_cyrillic(&l2e.full()) || has_greek_or_cyrillic(&l2a.full()));
    let (ce, ca, base) = if translit {
        reasons.push(Reason::Transliterated);
        (l2e.map(transliterate), l2a.map(transliterate), 0.85)
    } else {
        (l2e, l2a, 0.95)
    };
    if ce == ca {
        return (Verdict::Review, base);
    }
    verdict = verdict.max(Verdict::Review);
    let tokens = |s: &str| {
        s.split(' ')
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    if ce.given == ca.family && ce.family == ca.given {
        reasons.push(Reason::NameOrderSwapped);
        return (verdict, base * 0.8);
    }
    let mut te = tokens(&ce.full());
    let mut ta = tokens(&ca.full());
    te.sort();
    ta.sort();
    if te == ta {
        reasons.push(Reason::NamePartsRegrouped);
        return (verdict, base * 0.75);
    }
    let given_sub = proper_subset(&tokens(&ce.given), &tokens(&ca.given));
    let family_sub = proper_subset(&tokens(&ce.family), &tokens(&ca.family));
    let given_eq = ce.given == ca.given;
    let family_eq = ce.family == ca.family;
    if (given_sub || given_eq) && (family_sub || family_eq) {
        if given_sub {
            reasons.push(Reason::GivenNamesSubset);
        }
        if family_sub {
            reasons.push(Reason::FamilyNameSubset);
        }
        let factor = if given_sub && family_sub { 0.7 } else { 0.75 };
        return (verdict, base * factor);
    }
    let lev_f = strsim::levenshtein(&ce.family, &ca.family);
    let lev_g = strsim::levenshtein(&ce.given, &ca.given);
    let norm = |lev: usize, x: &str, y: &str| {
        let m = x.chars().count().max(y.chars().count());
        if m == 0 { 0.0 } else { lev as f64 / m as f64 }
    };
    if lev_f > 0 {
        reasons.push(Reason::FamilyNameDistance {
            distance: round3(norm(lev_f, &ce.family, &ca.family)),
        });
    }
    if lev_g > 0 {
        reasons.push(Reason::GivenNamesDistance {
            distance: round3(norm(lev_g, &ce.given, &ca.given)),
        });
    }
    let full_len = ce
        .full()
        .chars()
        .count()
        .max(ca.full().chars().count())
        .max(1);
    let combined = (lev_f + lev_g) as f64 / full_len as f64;
    let threshold = if translit {
        NAME_DISTANCE_REVIEW_TRANSLITERATED
    } else {
        NAME_DISTANCE_REVIEW
    };
    let v = if combined <= threshold {
        Verdict::Review
    } else {
        Verdict::Mismatch
    };
    (v, (base * (1.0 - combined)).max(0.0))
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn proper_subset(small: &[String], big: &[String]) -> bool {
    let (small, big) = if small.len() <= big.len() {
        (small, big)
    } else {
        (big, small)
    };
    // An empty side counts as a subset: the other side's name parts are unconfirmed, not wrong.
    small.len() < big.len() && small.iter().all(|t| big.contains(t))
}

/// Level 2 normalization: NFKC, case folding, hyphens/whitespace → single spaces, apostrophes
/// removed.
pub(crate) fn fold(s: &str) -> String {
    let mut lowered = String::with_capacity(s.len());
    for c in s.nfkc() {
        match c {
            'ß' | 'ẞ' => lowered.push_str("ss"),
            'ς' => lowered.push('σ'),
            c => lowered.extend(c.to_lowercase()),
        }
    }
    let mut out = String::with_capacity(lowered.len());
    let mut pending_space = false;
    for c in lowered.nfkc() {
        let c = match c {
            '\u{00AD}' | '\'' | '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{02B9}' | '`'
            | '\u{00B4}' => {
                continue;
            }
            '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' => ' ',
            c if c.is_whitespace() => ' ',
            c => c,
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

/// Level 3: removes combining marks after canonical decomposition, and folds the letters whose
/// "diacritic" is not a combining mark.
pub(crate) fn strip_diacritics(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        match c {
            'ø' => out.push('o'),
            'ł' => out.push('l'),
            'đ' | 'ð' => out.push('d'),
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            'þ' => out.push_str("th"),
            'ı' => out.push('i'),
            'ħ' => out.push('h'),
            'ŧ' => out.push('t'),
            c => out.push(c),
        }
    }
    out.nfc().collect()
}

#[derive(PartialEq, Eq)]
struct Scripts {
    latin: bool,
    greek: bool,
    cyrillic: bool,
    other: bool,
}

fn is_greek(c: char) -> bool {
    matches!(c, '\u{0370}'..='\u{03FF}' | '\u{1F00}'..='\u{1FFF}')
}

fn is_cyrillic(c: char) -> bool {
    matches!(c, '\u{0400}'..='\u{052F}')
}

fn scripts(s: &str) -> Scripts {
    let mut r = Scripts {
        latin: false,
        greek: false,
        cyrillic: false,
        other: false,
    };
    for c in s.chars().filter(|c| c.is_alphabetic()) {
        if c.is_ascii_alphabetic() || matches!(c, '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}')
        {
            r.latin = true;
        } else if is_greek(c) {
            r.greek = true;
        } else if is_cyrillic(c) {
            r.cyrillic = true;
        } else {
            r.other = true;
        }
    }
    r
}

fn has_greek_or_cyrillic(s: &str) -> bool {
    s.chars().any(|c| is_greek(c) || is_cyrillic(c))
}

/// Greek (ELOT 743, the Greek passport standard) and Cyrillic (ICAO 9303 machine-readable
/// passport table) to Latin, on text already folded to lower case without diacritics. Other
/// characters pass through.
pub(crate) fn transliterate(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let word_start = i == 0 || !chars[i - 1].is_alphabetic();
        let digraph = match (c, next) {
            ('ο', Some('υ')) => Some("ou"),
            ('α', Some('υ')) => Some("av"),
            ('ε', Some('υ')) => Some("ev"),
            ('η', Some('υ')) => Some("iv"),
            ('μ', Some('π')) => Some(if word_start { "b" } else { "mb" }),
            ('ν', Some('τ')) => Some(if word_start { "d" } else { "nt" }),
            ('γ', Some('γ')) => Some("ng"),
            ('γ', Some('κ')) => Some(if word_start { "g" } else { "gk" }),
            ('γ', Some('ξ')) => Some("nx"),
            ('γ', Some('χ')) => Some("nch"),
            _ => None,
        };
        if let Some(d) = digraph {
            out.push_str(d);
            i += 2;
            continue;
        }
        let t: &str = match c {
            // Greek
            'α' => "a",
            'β' => "v",
            'γ' => "g",
            'δ' => "d",
            'ε' => "e",
            'ζ' => "z",
            'η' => "i",
            'θ' => "th",
            'ι' => "i",
            'κ' => "k",
            'λ' => "l",
            'μ' => "m",
            'ν' => "n",
            'ξ' => "x",
            'ο' => "o",
            'π' => "p",
            'ρ' => "r",
            'σ' | 'ς' => "s",
            'τ' => "t",
            'υ' => "y",
            'φ' => "f",
            'χ' => "ch",
            'ψ' => "ps",
            'ω' => "o",
            // Cyrillic (ICAO 9303); й ё ї ў ѓ ќ lost their marks in the previous level.
            'а' => "a",
            'б' => "b",
            'в' => "v",
            'г' | 'ґ' => "g",
            'д' | 'ђ' => "d",
            'е' | 'э' => "e",
            'є' => "ie",
            'ж' => "zh",
            'з' => "z",
            'ѕ' | 'џ' => "dz",
            'и' | 'і' => "i",
            'ј' => "j",
            'к' => "k",
            'л' => "l",
            'љ' => "lj",
            'м' => "m",
            'н' => "n",
            'њ' => "nj",
            'о' => "o",
            'п' => "p",
            'р' => "r",
            'с' => "s",
            'т' => "t",
            'ћ' => "c",
            'у' => "u",
            'ф' => "f",
            'х' => "kh",
            'ц' => "ts",
            'ч' => "ch",
            'ш' => "sh",
            'щ' => "shch",
            'ъ' => "ie",
            'ы' => "y",
            'ь' => "",
            'ю' => "iu",
            'я' => "ia",
            _ => {
                out.push(c);
                i += 1;
                continue;
            }
        };
        out.push_str(t);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(g: &str, f: &str, d: Option<&str>) -> Person {
        Person::new(g, f, d)
    }

    fn codes(m: &IdentityMatch) -> Vec<String> {
        m.reasons
            .iter()
            .map(|r| {
                serde_json::to_value(r).expect("json")["code"]
                    .as_str()
                    .expect("code")
                    .to_string()
            })
            .collect()
    }

    const D: Option<&str> = Some("1983-04-12");

    /// given, family, birth date (expected) · given, family, birth date (actual) · verdict · reason codes
    type Case<'a> = (
        &'a str,
        &'a str,
        Option<&'a str>,
        &'a str,
        &'a str,
        Option<&'a str>,
        Verdict,
        &'a [&'a str],
    );

    #[test]
    fn table() {
        use Verdict::*;
        #[rustfmt::skip]
        let cases: &[Case<'_>] = &[
            // identical
            ("Wojciech Łukasz", "Rygielski", D, "Wojciech Łukasz", "Rygielski", D, Match, &[]),
            // zone on xs:date ignored
            ("Anna", "Nowak", Some("1983-04-12+02:00"), "Anna", "Nowak", Some("1983-04-12Z"), Match, &[]),
            // case, width, spacing, hyphens
            ("ANNA-MARIA", "NOWAK", D, "anna  maria", "Nowak", D, Match, &["normalized_equal"]),
            ("Ｊｅｎｓ", "Hansen", D, "Jens", " Hansen ", D, Match, &["normalized_equal"]),
            ("Sean", "O’Brien", D, "Sean", "OBrien", D, Match, &["normalized_equal"]),
            ("Thomas", "Strauß", D, "THOMAS", "STRAUSS", D, Match, &["normalized_equal"]),
            // diacritics
            ("Kaisa", "Keränen", D, "Kaisa", "Keranen", D, Match, &["diacritics_removed"]),
            ("Søren", "Kierkegård", D, "Soren", "Kierkegard", D, Match, &["diacritics_removed"]),
            ("Wojciech Łukasz", "Rygielski", D, "Wojciech Lukasz", "Rygielski", D, Match, &["diacritics_removed"]),
            // non-Latin, same script: compared in its own script
            ("Γιώργος", "Παπαδόπουλος", D, "ΓΙΩΡΓΟΣ", "ΠΑΠΑΔΟΠΟΥΛΟΣ", D, Match, &["diacritics_removed"]),
            ("Иван", "Петров", D, "ИВАН", "ПЕТРОВ", D, Match, &["normalized_equal"]),
            ("Иван", "Петров", D, "Иван", "Петрова", D, Review, &["family_name_distance"]),
            // transliteration
            ("Γιώργος", "Παπαδόπουλος", D, "Giorgos", "Papadopoulos", D, Review, &["transliterated"]),
            ("Юлия", "Жукова", D, "Iuliia", "Zhukova", D, Review, &["transliterated"]),
            ("Юлия", "Жукова", D, "Yulia", "Zhukova", D, Review, &["transliterated", "given_names_distance"]),
            ("Γιώργος", "Παπαδόπουλος", D, "Dimitrios", "Papadopoulos", D, Mismatch, &["transliterated", "given_names_distance"]),
            // structure
            ("Anna", "Nowak", D, "Anna Maria", "Nowak", D, Review, &["given_names_subset"]),
            ("Maria", "García", D, "Maria", "García López", D, Review, &["family_name_subset"]),
            ("Nowak", "Anna", D, "Anna", "Nowak", D, Review, &["name_order_swapped"]),
            ("Anna Maria", "Nowak", D, "Anna", "Maria Nowak", D, Review, &["name_parts_regrouped"]),
            // distance
            ("Jens", "Hansen", D, "Jens", "Hanssen", D, Review, &["family_name_distance"]),
            ("Anna", "Nowak", D, "Maria", "Nowak", D, Mismatch, &["given_names_distance"]),
            ("Anna", "Nowak", D, "Eve", "Smith", D, Mismatch, &["family_name_distance", "given_names_distance"]),
            // birth dates
            ("Anna", "Nowak", D, "Anna", "Nowak", Some("1983-05-21"), Mismatch, &["birth_date_differs"]),
            ("Anna", "Nowak", D, "Anna", "Nowak", Some("1984-04-12"), Review, &["birth_date_one_digit"]),
            // a typing slip, not another person
            ("Anna", "Nowak", D, "Anna", "Nowak", Some("1983-12-04"), Review, &["birth_date_swapped"]),
            ("Anna", "Nowak", D, "Anna", "Nowak", Some("1983-04-13"), Review, &["birth_date_one_digit"]),
            ("Anna", "Nowak", D, "Anna", "Nowak", Some("1983-04-21"), Mismatch, &["birth_date_differs"]),
            // …but a slip does not excuse another name
            ("Anna", "Nowak", D, "Eve", "Smith", Some("1983-12-04"), Mismatch, &["family_name_distance", "given_names_distance", "birth_date_swapped"]),
            ("Anna", "Nowak", D, "Anna", "Nowak", None, Review, &["birth_date_missing"]),
            ("Anna", "Nowak", None, "Anna", "Nowak", D, Review, &["birth_date_missing"]),
            ("Anna", "Nowak", D, "Anna", "Nowak", Some("12.04.1983"), Review, &["birth_date_invalid"]),
            ("Anna", "Nowak", D, "Anna Maria", "Nowak", Some("1990-01-01"), Mismatch, &["given_names_subset", "birth_date_differs"]),
            // missing names
            ("", "Nowak", D, "Anna", "Nowak", D, Review, &["name_missing", "given_names_subset"]),
            ("Anna", "Nowak", D, "", "", D, Mismatch, &["name_missing"]),
            ("", "Nowak", D, "", "Nowak", D, Review, &["name_missing", "name_missing"]),
        ];
        for (g1, f1, d1, g2, f2, d2, verdict, want) in cases {
            let m = match_person(&p(g1, f1, *d1), &p(g2, f2, *d2));
            let case = format!("{g1} {f1} {d1:?} vs {g2} {f2} {d2:?}: {m:?}");
            assert_eq!(m.verdict, *verdict, "{case}");
            assert_eq!(codes(&m), *want, "{case}");
            assert!((0.0..=1.0).contains(&m.score), "{case}");
            if want.is_empty() {
                assert_eq!(m.score, 1.0, "{case}");
            } else {
                assert!(m.score < 1.0, "{case}");
            }
        }
    }

    #[test]
    fn transliteration_tables() {
        let t = |s: &str| transliterate(&strip_diacritics(&fold(s)));
        assert_eq!(t("Γιώργος Παπαδόπουλος"), "giorgos papadopoulos");
        assert_eq!(t("Ευάγγελος Μπακογιάννης"), "evangelos bakogiannis");
        assert_eq!(t("Дмитрий Щербаков"), "dmitrii shcherbakov");
        assert_eq!(t("Олександр Їжак"), "oleksandr izhak");
        assert_eq!(t("Ђорђе Његош"), "dorde njegosh");
    }

    #[test]
    fn scores_order_by_closeness() {
        let e = p("Anna", "Nowak", D);
        let s = |g: &str, f: &str| match_person(&e, &p(g, f, D)).score;
        assert!(s("Anna", "Nowak") > s("ANNA", "NOWAK"));
        assert!(s("ANNA", "NOWAK") > s("Ánna", "Nowák"));
        assert!(s("Ánna", "Nowák") > s("Anna", "Nowakk"));
        assert!(s("Anna", "Nowakk") > s("Maria", "Nowak"));
    }

    #[test]
    fn reasons_serialize_and_explain() {
        let m = match_person(&p("Jens", "Hansen", D), &p("Jens", "Hanssen", None));
        let json = serde_json::to_value(&m).expect("json");
        assert_eq!(json["verdict"], "review");
        assert_eq!(json["reasons"][0]["code"], "family_name_distance");
        assert_eq!(
            json["reasons"][1],
            serde_json::json!({"code": "birth_date_missing", "side": "actual"})
        );
        assert_eq!(
            m.reasons[1].to_string(),
            "birth date missing in the document"
        );
    }

    #[test]
    fn from_learner_and_whole_document() {
        let mut elmo = Elmo::new(
            Learner::new("Kaisa", "Keränen").with_bday("1966-07-18"),
            "2020-01-01T00:00:00Z",
        );
        let expected = p("Kaisa", "Keränen", Some("1966-07-18"));
        assert_eq!(match_elmo(&expected, &elmo).verdict, Verdict::Match);
        // A second (pilot-format) learner who is someone else makes the document a mismatch.
        elmo.reports.push(crate::model::Report {
            legacy_learner: Some(Learner::new("Eve", "Keränen").with_bday("1966-07-18")),
            ..Default::default()
        });
        let m = match_elmo(&expected, &elmo);
        assert_eq!(m.verdict, Verdict::Mismatch);
    }
}
