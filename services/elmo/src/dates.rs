//! Lexical handling of the XML Schema date types ELMO uses (`xs:date`, `xs:dateTime`).
//!
//! The model keeps dates as the strings the issuer wrote (so nothing is lost or reformatted
//! between reading, displaying and re-signing); this module answers "is this a valid
//! `xs:date`/`xs:dateTime`" for validation and turns birth dates into comparable values for
//! identity matching. `xs:date` may carry a zone (`1983-04-12Z`, `1983-04-12+02:00`); a birth
//! date is a calendar day, so the zone is ignored when comparing (schema annotation on `bday`).

use std::time::{SystemTime, UNIX_EPOCH};

/// A calendar day (proleptic Gregorian), without zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i64,
    pub month: u8,
    pub day: u8,
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Reads exactly `n` ASCII digits.
fn digits(s: &str, n: usize) -> Option<(u32, &str)> {
    let head = s.get(..n)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head.parse().ok()?, &s[n..]))
}

/// `-?YYYY-MM-DD`: returns the date and the rest of the input.
fn date_part(s: &str) -> Option<(Date, &str)> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let ylen = s.bytes().take_while(u8::is_ascii_digit).count();
    // xs:gYear: at least four digits, no leading zero when more than four.
    if ylen < 4 || (ylen > 4 && s.starts_with('0')) || ylen > 12 {
        return None;
    }
    let year: i64 = s[..ylen].parse().ok()?;
    if year == 0 {
        return None; // year 0000 is not allowed in XML Schema 1.0 (what xmllint implements)
    }
    let year = if neg { -year } else { year };
    let s = s[ylen..].strip_prefix('-')?;
    let (month, s) = digits(s, 2)?;
    let s = s.strip_prefix('-')?;
    let (day, s) = digits(s, 2)?;
    let month = u8::try_from(month).ok()?;
    let day = u8::try_from(day).ok()?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some((Date { year, month, day }, s))
}

/// `Z` or `(+|-)hh:mm` with |offset| ≤ 14:00, or nothing.
fn zone_ok(s: &str) -> bool {
    if s.is_empty() || s == "Z" {
        return true;
    }
    let Some(rest) = s.strip_prefix('+').or_else(|| s.strip_prefix('-')) else {
        return false;
    };
    let Some((hh, rest)) = digits(rest, 2) else {
        return false;
    };
    let Some(rest) = rest.strip_prefix(':') else {
        return false;
    };
    let Some((mm, rest)) = digits(rest, 2) else {
        return false;
    };
    rest.is_empty() && mm <= 59 && (hh < 14 || (hh == 14 && mm == 0))
}

/// Parses an `xs:date`, ignoring its optional zone. `None` when the lexical form is invalid.
pub fn parse_date(s: &str) -> Option<Date> {
    let (date, rest) = date_part(s)?;
    zone_ok(rest).then_some(date)
}

/// True when `s` is a valid `xs:date` (zone allowed).
pub fn is_date(s: &str) -> bool {
    parse_date(s).is_some()
}

/// Splits an `xs:dateTime` into the date and whether it carries a zone; `None` when invalid.
fn parse_date_time(s: &str) -> Option<(Date, bool)> {
    let (date, rest) = date_part(s)?;
    let rest = rest.strip_prefix('T')?;
    let (hh, rest) = digits(rest, 2)?;
    let rest = rest.strip_prefix(':')?;
    let (mm, rest) = digits(rest, 2)?;
    let rest = rest.strip_prefix(':')?;
    let (ss, mut rest) = digits(rest, 2)?;
    let mut frac_nonzero = false;
    if let Some(f) = rest.strip_prefix('.') {
        let n = f.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        frac_nonzero = f[..n].bytes().any(|b| b != b'0');
        rest = &f[n..];
    }
    let time_ok = if hh == 24 {
        mm == 0 && ss == 0 && !frac_nonzero
    } else {
        hh < 24 && mm < 60 && ss < 60
    };
    (time_ok && zone_ok(rest)).then_some((date, !rest.is_empty()))
}

/// True when `s` is a valid `xs:dateTime` (zone optional).
pub fn is_date_time(s: &str) -> bool {
    parse_date_time(s).is_some()
}

/// True when `s` is a valid `xs:dateTime` that carries a zone (ELMO says it SHOULD).
pub fn date_time_has_zone(s: &str) -> bool {
    matches!(parse_date_time(s), Some((_, true)))
}

/// Converts a date written with a Java `SimpleDateFormat`-style pattern (the legacy pilot
/// format's `dtf` attribute, e.g. `dd-MM-yyyy`, `dd.MM.yyyy`, `yyyy-MM-dd`) to `YYYY-MM-DD`.
///
/// Supports `yyyy`, `MM`/`M`, `dd`/`d` and literal separators. A lower-case `mm` is read as the
/// month when the pattern has no `M` (the pilot documents write `yyyy-mm-dd`). Returns `None`
/// when the pattern or the value does not fit, so the caller can keep the raw value.
pub fn convert_dtf(value: &str, pattern: &str) -> Option<String> {
    let month_letter = if pattern.contains('M') { 'M' } else { 'm' };
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.trim().chars().collect();
    let (mut year, mut month, mut day) = (None, None, None);
    let (mut i, mut j) = (0, 0);
    while i < p.len() {
        let c = p[i];
        let run = p[i..].iter().take_while(|&&x| x == c).count();
        if c == 'y' || c == month_letter || c == 'd' {
            let max = if c == 'y' { run.max(4) } else { 2 };
            if c == 'y' && run < 4 {
                return None; // two-digit years are ambiguous
            }
            let n = v[j..]
                .iter()
                .take(max)
                .take_while(|ch| ch.is_ascii_digit())
                .count();
            if n == 0 || (c == 'y' && n != run) {
                return None;
            }
            let num: u32 = v[j..j + n].iter().collect::<String>().parse().ok()?;
            match c {
                'y' => year = Some(i64::from(num)),
                'd' => day = Some(u8::try_from(num).ok()?),
                _ => month = Some(u8::try_from(num).ok()?),
            }
            j += n;
        } else if c.is_ascii_alphabetic() {
            return None; // hours, era, … : not a plain date pattern
        } else {
            for _ in 0..run {
                if v.get(j) != Some(&c) {
                    return None;
                }
                j += 1;
            }
        }
        i += run;
    }
    if j != v.len() {
        return None;
    }
    let text = format!("{:04}-{:02}-{:02}", year?, month?, day?);
    is_date(&text).then_some(text)
}

/// Formats a point in time as an `xs:dateTime` in UTC with second precision
/// (`2024-05-01T12:00:00Z`), e.g. for `generatedDate` and `issueDate` of a new document.
pub fn format_date_time_utc(t: SystemTime) -> String {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX / 2),
    };
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates() {
        for ok in [
            "1983-04-12",
            "1983-04-12Z",
            "2014-11-28+02:00",
            "2000-02-29",
            "-0044-03-15",
            "12345-01-01",
            "1983-04-12-14:00",
        ] {
            assert!(is_date(ok), "{ok}");
        }
        for bad in [
            "",
            "1983-4-12",
            "1983-04-31",
            "1900-02-29",
            "0000-01-01",
            "01983-01-01",
            " 1983-04-12",
            "1983-04-12+14:30",
            "1983-04-12+2:00",
            "1983-04-12T00:00:00",
            "12.04.1983",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
        assert_eq!(
            parse_date("1983-04-12+02:00"),
            Some(Date {
                year: 1983,
                month: 4,
                day: 12
            })
        );
    }

    #[test]
    fn date_times() {
        for ok in [
            "2015-10-31T12:00:00+02:00",
            "2020-12-10T11:57:17.318+02:00",
            "2015-08-01T10:00:00Z",
            "2015-08-01T10:00:00",
            "2015-08-01T24:00:00Z",
        ] {
            assert!(is_date_time(ok), "{ok}");
        }
        for bad in [
            "2015-10-31",
            "2015-10-31 12:00:00",
            "2015-10-31T12:00",
            "2015-10-31T25:00:00",
            "2015-10-31T24:00:01",
            "2015-10-31T12:00:60",
            "2015-10-31T12:00:00.",
            " 2016-01-08T09:58:18.908+01:00 ",
        ] {
            assert!(!is_date_time(bad), "{bad}");
        }
        assert!(date_time_has_zone("2015-08-01T10:00:00Z"));
        assert!(!date_time_has_zone("2015-08-01T10:00:00"));
    }

    #[test]
    fn dtf_patterns() {
        assert_eq!(
            convert_dtf("18-07-1966", "dd-MM-yyyy").as_deref(),
            Some("1966-07-18")
        );
        assert_eq!(
            convert_dtf("18.07.1966", "dd.MM.yyyy").as_deref(),
            Some("1966-07-18")
        );
        assert_eq!(
            convert_dtf("2012-07-15", "yyyy-mm-dd").as_deref(),
            Some("2012-07-15")
        );
        assert_eq!(
            convert_dtf("1.7.1966", "d.M.yyyy").as_deref(),
            Some("1966-07-01")
        );
        assert_eq!(convert_dtf("2012 Syksy", "yyyy-MM-dd"), None);
        assert_eq!(convert_dtf("31-02-1966", "dd-MM-yyyy"), None);
        assert_eq!(convert_dtf("18-07-66", "dd-MM-yy"), None);
        assert_eq!(convert_dtf("10:00", "HH:mm"), None);
    }

    #[test]
    fn formats_utc() {
        assert_eq!(format_date_time_utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_723); // 2000-02-29 01:02:03
        assert_eq!(format_date_time_utc(t), "2000-02-29T01:02:03Z");
        assert!(is_date_time(&format_date_time_utc(SystemTime::now())));
    }
}
