//! Exact sums of credit values (`xs:decimal` as written, e.g. `7.5`, `10.000`).
//!
//! Floats would print `37.49999` for a sum of halves on a transcript; this keeps a fixed
//! number of decimal places instead.

/// Decimal places kept; ECTS values use at most one or two in practice.
const SCALE_DIGITS: u32 = 6;
const SCALE: i128 = 10_i128.pow(SCALE_DIGITS);

/// A sum of decimals in millionths.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CreditSum {
    micros: i128,
}

impl CreditSum {
    /// Adds `value` if it is an `xs:decimal` with at most six decimal places and of sane size;
    /// returns false (and adds nothing) otherwise.
    pub(crate) fn add(&mut self, value: &str) -> bool {
        match parse_micros(value.trim()).and_then(|v| self.micros.checked_add(v)) {
            Some(sum) => {
                self.micros = sum;
                true
            }
            None => false,
        }
    }
}

impl std::fmt::Display for CreditSum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.micros < 0 { "-" } else { "" };
        let abs = self.micros.unsigned_abs();
        let int = abs / SCALE.unsigned_abs();
        let frac = abs % SCALE.unsigned_abs();
        if frac == 0 {
            return write!(f, "{sign}{int}");
        }
        let frac = format!("{frac:0width$}", width = SCALE_DIGITS as usize);
        write!(f, "{sign}{int}.{}", frac.trim_end_matches('0'))
    }
}

fn parse_micros(s: &str) -> Option<i128> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, s.get(1..)?),
        Some(b'+') => (false, s.get(1..)?),
        _ => (false, s),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    if int.len() > 18 || frac.len() > SCALE_DIGITS as usize {
        return None;
    }
    let int_value: i128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac_value: i128 = if frac.is_empty() {
        0
    } else {
        let digits = u32::try_from(frac.len()).ok()?;
        frac.parse::<i128>().ok()? * 10_i128.pow(SCALE_DIGITS - digits)
    };
    let v = int_value * SCALE + frac_value;
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(values: &[&str]) -> (String, usize) {
        let mut s = CreditSum::default();
        let bad = values.iter().filter(|v| !s.add(v)).count();
        (s.to_string(), bad)
    }

    #[test]
    fn sums_exactly() {
        assert_eq!(sum(&["7.5", "10.000", "2.25", "0.25"]), ("20".into(), 0));
        assert_eq!(sum(&["7.5", "7.5", "7.5"]), ("22.5".into(), 0));
        assert_eq!(sum(&[".5", "5.", "+1"]), ("6.5".into(), 0));
        assert_eq!(sum(&["-1.5"]), ("-1.5".into(), 0));
        assert_eq!(sum(&[]), ("0".into(), 0));
    }

    #[test]
    fn skips_what_is_not_a_decimal() {
        assert_eq!(
            sum(&["7,5", "", "-", ".", "1e3", "0.0000001", "5"]),
            ("5".into(), 6)
        );
        assert_eq!(sum(&["1234567890123456789"]), ("0".into(), 1));
    }
}
