//! WCAG contrast, so a colour choice in a stylesheet is a tested fact rather than a claim: each
//! service's tests check the colours its stylesheet puts on white.

/// The WCAG 2 contrast ratio of two sRGB colours (1.0 to 21.0).
pub fn ratio(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

fn luminance(c: [u8; 3]) -> f64 {
    let lin = |v: u8| {
        let s = f64::from(v) / 255.0;
        if s <= 0.039_28 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2])
}

/// `#rrggbb` as a colour.
pub fn hex(s: &str) -> Option<[u8; 3]> {
    let h = s.strip_prefix('#')?;
    if h.len() != 6 {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(h.get(i..i + 2)?, 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

/// The colours of every `outline: … #rrggbb` in a stylesheet (the focus rings).
pub fn outline_colours(css: &str) -> Vec<[u8; 3]> {
    css.match_indices("outline:")
        .filter_map(|(i, _)| {
            let decl = css[i..].split([';', '}']).next()?;
            decl.split_whitespace().find_map(hex)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ratios() {
        assert!((ratio([0, 0, 0], [255, 255, 255]) - 21.0).abs() < 0.01);
        assert!((ratio([255, 255, 255], [255, 255, 255]) - 1.0).abs() < 0.01);
        // #767676 is the classic 4.54:1 grey.
        assert!((ratio([0x76, 0x76, 0x76], [255, 255, 255]) - 4.54).abs() < 0.01);
        assert_eq!(hex("#b45309"), Some([0xb4, 0x53, 0x09]));
        assert_eq!(hex("b45309"), None);
        assert_eq!(
            outline_colours("a { outline: 3px solid #f2a900; } b{outline:none}"),
            [[0xf2, 0xa9, 0x00]]
        );
    }
}
