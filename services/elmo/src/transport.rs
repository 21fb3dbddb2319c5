//! The `elmo` form parameter of the EMP → EMC response: `base64(gzip(xml))`.
//!
//! [`encode`] produces exactly what the Technical Guide specifies and every EMP sends: gzip
//! (RFC 1952, header mtime 0 so output is reproducible), then standard base64 with padding and
//! no line breaks.
//!
//! [`decode`] is lenient about *spelling*, like the peers' decoders (brief §1.3), and strict
//! about *resources*, because the parameter arrives from the student's browser and is hostile
//! until its signature has been checked:
//!
//! * accepted: base64 of gzip (detected by the gzip magic bytes, not by trying), base64 of plain
//!   XML (the DC4EU gateway sample), missing padding, embedded whitespace/line breaks, the
//!   URL-safe alphabet (`-`/`_`), and raw XML (the 2015 pilot mockup sent the document
//!   unencoded);
//! * concatenated gzip members are decoded and joined, as RFC 1952 §2.2 defines and gunzip and
//!   Java's `GZIPInputStream` do; bytes after the last member that are not another member are
//!   refused ([`TransportError::TrailingData`]) rather than silently dropped;
//! * every size is bounded by a [`Budget`]: the encoded length is checked first, inflation is
//!   incremental and stops as soon as the output would exceed `max_decoded_bytes` or
//!   `max_ratio` × the compressed size — a gzip bomb is refused after at most that many bytes,
//!   never fully inflated;
//! * the gzip CRC-32 and length trailer are checked.
//!
//! The result is bytes, not text: whether they are well-formed UTF-8 XML is the parser's
//! decision (the Danish WebLogic sample decodes fine here and is refused there).

use std::io::{Read, Write};

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use flate2::Compression;
use flate2::GzBuilder;
use flate2::bufread::GzDecoder;

/// Resource limits for [`decode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Longest accepted parameter (base64 text, whitespace included), in bytes.
    pub max_encoded_bytes: usize,
    /// Largest decoded document, in bytes.
    pub max_decoded_bytes: usize,
    /// Largest accepted inflated/compressed size ratio. Real ELMO compresses 3–30× (XML) or
    /// barely at all (embedded base64 PDFs); zeros compress ~1000×.
    pub max_ratio: usize,
}

impl Default for Budget {
    /// 16 MiB encoded, 32 MiB decoded (the default XML parser limit), ratio 100. Transcripts
    /// with PDF attachments are hundreds of KB; these leave an order of magnitude of headroom.
    fn default() -> Self {
        Self {
            max_encoded_bytes: 16 * 1024 * 1024,
            max_decoded_bytes: 32 * 1024 * 1024,
            max_ratio: 100,
        }
    }
}

/// Why an `elmo` parameter was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("the elmo parameter is empty")]
    Empty,
    #[error("the elmo parameter is {size} bytes, more than the limit of {limit}")]
    EncodedTooLarge { size: usize, limit: usize },
    #[error("the elmo parameter is not valid base64: {0}")]
    Base64(String),
    #[error("the decoded elmo parameter is neither gzip nor XML")]
    UnknownContent,
    #[error("the gzip data is corrupt: {0}")]
    Gzip(String),
    #[error("the decoded document exceeds the limit of {limit} bytes")]
    DecodedTooLarge { limit: usize },
    #[error(
        "the gzip data inflates to more than {ratio}x its compressed size of {compressed} bytes; \
         refusing a likely decompression bomb"
    )]
    RatioExceeded { ratio: usize, compressed: usize },
    #[error("{0} bytes of trailing data after the gzip stream")]
    TrailingData(usize),
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const CHUNK: usize = 64 * 1024;

const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Encodes document bytes for the `elmo` parameter: standard padded base64 of gzip.
///
/// Gzip level 1 (`Compression::fast()`), chosen by measurement (`services/elmo/benches/
/// transport.rs`, docs/benchmarks.md): on the 474 KB test ELMO, whose bulk is an already
/// compressed PDF attachment, level 1 is ≈ 6× faster than the default level 6 and even slightly
/// smaller; on the 18 KB example it is ≈ 4× faster for 1 KB more (5.2 KB instead of 4.2 KB of
/// gzip). Every receiver inflates any level the same way, so this is ours to choose.
pub fn encode(xml: &[u8]) -> String {
    let mut gz = GzBuilder::new()
        .mtime(0)
        .write(Vec::with_capacity(xml.len() / 4 + 64), Compression::fast());
    // Writing into a Vec cannot fail.
    let compressed = gz
        .write_all(xml)
        .and_then(|()| gz.finish())
        .unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(compressed)
}

/// Decodes an `elmo` parameter (already form-URL-decoded) to document bytes, within `budget`.
pub fn decode(param: &str, budget: &Budget) -> Result<Vec<u8>, TransportError> {
    if param.len() > budget.max_encoded_bytes {
        return Err(TransportError::EncodedTooLarge {
            size: param.len(),
            limit: budget.max_encoded_bytes,
        });
    }
    let trimmed = param.trim_matches(|c: char| c.is_ascii_whitespace());
    if trimmed.is_empty() {
        return Err(TransportError::Empty);
    }
    let trimmed_bytes = trimmed.trim_start_matches('\u{feff}').as_bytes();
    if trimmed_bytes.first() == Some(&b'<') {
        // Raw XML, as the 2015 pilot sent it.
        return within(param.as_bytes().to_vec(), budget);
    }
    let bytes = decode_base64(trimmed)?;
    if bytes.starts_with(&GZIP_MAGIC) {
        gunzip(&bytes, budget)
    } else if looks_like_xml(&bytes) {
        within(bytes, budget)
    } else {
        Err(TransportError::UnknownContent)
    }
}

fn within(bytes: Vec<u8>, budget: &Budget) -> Result<Vec<u8>, TransportError> {
    if bytes.len() > budget.max_decoded_bytes {
        return Err(TransportError::DecodedTooLarge {
            limit: budget.max_decoded_bytes,
        });
    }
    Ok(bytes)
}

/// Standard or URL-safe alphabet, padding optional, ASCII whitespace ignored.
fn decode_base64(s: &str) -> Result<Vec<u8>, TransportError> {
    let mut clean = Vec::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b' ' | b'\t' | b'\r' | b'\n' | 0x0c => {}
            b'-' => clean.push(b'+'),
            b'_' => clean.push(b'/'),
            b => clean.push(b),
        }
    }
    LENIENT_B64
        .decode(&clean)
        .map_err(|e| TransportError::Base64(e.to_string()))
}

/// Plain XML after base64: optional BOM (UTF-8 or UTF-16, the XML parser decides about the
/// latter), optional whitespace, then `<`.
fn looks_like_xml(b: &[u8]) -> bool {
    if b.starts_with(&[0xFE, 0xFF]) || b.starts_with(&[0xFF, 0xFE]) {
        return true;
    }
    let b = b.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(b);
    b.iter()
        .find(|c| !c.is_ascii_whitespace())
        .is_some_and(|&c| c == b'<')
}

fn gunzip(compressed: &[u8], budget: &Budget) -> Result<Vec<u8>, TransportError> {
    let by_ratio = budget.max_ratio.saturating_mul(compressed.len());
    let limit = by_ratio.min(budget.max_decoded_bytes);
    let over = || {
        if by_ratio < budget.max_decoded_bytes {
            TransportError::RatioExceeded {
                ratio: budget.max_ratio,
                compressed: compressed.len(),
            }
        } else {
            TransportError::DecodedTooLarge {
                limit: budget.max_decoded_bytes,
            }
        }
    };
    let mut out: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; CHUNK];
    let mut rest = compressed;
    while !rest.is_empty() {
        if !rest.starts_with(&GZIP_MAGIC) {
            return Err(TransportError::TrailingData(rest.len()));
        }
        let before = rest.len();
        let mut dec = GzDecoder::new(rest);
        loop {
            let n = dec
                .read(&mut buf)
                .map_err(|e| TransportError::Gzip(e.to_string()))?;
            if n == 0 {
                break;
            }
            if out.len() + n > limit {
                return Err(over());
            }
            out.extend_from_slice(&buf[..n]);
        }
        rest = dec.into_inner();
        if rest.len() >= before {
            // Cannot happen with a complete member; guards against looping forever.
            return Err(TransportError::Gzip("gzip member consumed no input".into()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{fixture, fixtures_dir};
    use flate2::write::GzEncoder;
    use std::time::{Duration, Instant};

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).expect("write");
        e.finish().expect("finish")
    }

    fn b64(data: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(data)
    }

    const DOC: &[u8] = b"<?xml version=\"1.0\"?><elmo>\xc3\xa6</elmo>";

    #[test]
    fn round_trip_and_header() {
        let p = encode(DOC);
        assert!(p.starts_with("H4sI"), "{p}");
        assert!(!p.contains(['\n', '-', '_']));
        assert_eq!(decode(&p, &Budget::default()).expect("decode"), DOC);
        // Reproducible: mtime is zero.
        assert_eq!(p, encode(DOC));
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&p)
            .expect("b64");
        assert_eq!(&raw[4..8], &[0, 0, 0, 0]);
    }

    #[test]
    fn lenient_spellings() {
        let gz = gzip(DOC);
        let std = b64(&gz);
        let unpadded = std.trim_end_matches('=').to_string();
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&gz);
        let wrapped: String = std
            .as_bytes()
            .chunks(10)
            .map(|c| std::str::from_utf8(c).expect("ascii"))
            .collect::<Vec<_>>()
            .join("\r\n ");
        for p in [
            std.clone(),
            unpadded,
            url_safe,
            wrapped,
            format!("\n{std}\n"),
        ] {
            assert_eq!(decode(&p, &Budget::default()).expect(&p), DOC, "{p}");
        }
        // Plain XML in base64, and raw XML.
        assert_eq!(decode(&b64(DOC), &Budget::default()).expect("plain"), DOC);
        let raw = std::str::from_utf8(DOC).expect("utf8");
        assert_eq!(decode(raw, &Budget::default()).expect("raw"), DOC);
    }

    #[test]
    fn refuses_garbage() {
        let b = Budget::default();
        assert_eq!(decode("", &b), Err(TransportError::Empty));
        assert_eq!(decode("  \n", &b), Err(TransportError::Empty));
        assert!(matches!(
            decode("H4sI*!", &b),
            Err(TransportError::Base64(_))
        ));
        assert!(matches!(decode("A", &b), Err(TransportError::Base64(_))));
        assert_eq!(
            decode(&b64(b"%PDF-1.4 not xml"), &b),
            Err(TransportError::UnknownContent)
        );
        // Truncated gzip and a corrupted CRC.
        let gz = gzip(DOC);
        assert!(matches!(
            decode(&b64(&gz[..gz.len() - 6]), &b),
            Err(TransportError::Gzip(_))
        ));
        let mut bad = gz.clone();
        let n = bad.len();
        bad[n - 8] ^= 0xff;
        assert!(matches!(
            decode(&b64(&bad), &b),
            Err(TransportError::Gzip(_))
        ));
        let small = Budget {
            max_encoded_bytes: 10,
            ..Budget::default()
        };
        assert!(matches!(
            decode(&encode(DOC), &small),
            Err(TransportError::EncodedTooLarge { .. })
        ));
    }

    #[test]
    fn concatenated_members_and_trailing_data() {
        let mut two = gzip(b"<a>");
        two.extend(gzip(b"</a>"));
        assert_eq!(
            decode(&b64(&two), &Budget::default()).expect("two"),
            b"<a></a>"
        );
        let mut trailing = gzip(DOC);
        trailing.extend_from_slice(b"\0\0garbage");
        assert_eq!(
            decode(&b64(&trailing), &Budget::default()),
            Err(TransportError::TrailingData(9))
        );
    }

    #[test]
    fn ratio_and_size_limits() {
        let xml = format!("<elmo>{}</elmo>", "<x/>".repeat(10_000));
        let p = encode(xml.as_bytes());
        let tight_ratio = Budget {
            max_ratio: 2,
            ..Budget::default()
        };
        assert!(matches!(
            decode(&p, &tight_ratio),
            Err(TransportError::RatioExceeded { ratio: 2, .. })
        ));
        let tight_size = Budget {
            max_decoded_bytes: 1000,
            ..Budget::default()
        };
        assert_eq!(
            decode(&p, &tight_size),
            Err(TransportError::DecodedTooLarge { limit: 1000 })
        );
        assert_eq!(
            decode(&b64(xml.as_bytes()), &tight_size),
            Err(TransportError::DecodedTooLarge { limit: 1000 })
        );
        // 10 000 identical empty elements compress ~500x: refused by the default ratio too,
        // while real documents (a few x to a few tens of x) pass.
        assert!(matches!(
            decode(&p, &Budget::default()),
            Err(TransportError::RatioExceeded { ratio: 100, .. })
        ));
        let real = fixture("xml/negative/se-elmo-1.0-signature-broken.xml");
        assert_eq!(
            decode(&encode(&real), &Budget::default()).expect("real"),
            real
        );
    }

    #[test]
    fn gzip_bomb_is_refused_quickly() {
        // 1 GiB of zeros as 1024 gzip members of 1 MiB each (~1 MiB compressed in total).
        let member = gzip(&vec![0u8; 1024 * 1024]);
        let bomb: Vec<u8> = member.repeat(1024);
        assert!(bomb.len() < 2 * 1024 * 1024, "{}", bomb.len());
        let param = b64(&bomb);
        let t = Instant::now();
        let err = decode(&param, &Budget::default()).expect_err("bomb");
        assert_eq!(
            err,
            TransportError::DecodedTooLarge {
                limit: 32 * 1024 * 1024
            }
        );
        assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());

        // A single member of 64 MiB of zeros: refused by the ratio before the size limit.
        let one = gzip(&vec![0u8; 64 * 1024 * 1024]);
        let t = Instant::now();
        let err = decode(&b64(&one), &Budget::default()).expect_err("bomb");
        assert!(
            matches!(err, TransportError::RatioExceeded { ratio: 100, .. }),
            "{err}"
        );
        assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    }

    #[test]
    fn fixture_responses_decode() {
        let dir = fixtures_dir().join("responses");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).expect("responses dir") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("ascii param");
            let bytes = decode(&text, &Budget::default())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                bytes.len() > 1000 && looks_like_xml(&bytes),
                "{}",
                path.display()
            );
            n += 1;
        }
        assert_eq!(n, 5);
        let tomcat = decode(
            &String::from_utf8(fixture("responses/dk-tomcat.elmo-param.txt")).expect("ascii"),
            &Budget::default(),
        )
        .expect("decode");
        assert_eq!(tomcat, fixture("xml/signed/dk-elmo-tomcat-signed.xml"));
        let broken = decode(
            &String::from_utf8(fixture(
                "responses/dk-weblogic-broken-latin1.elmo-param.txt",
            ))
            .expect("ascii"),
            &Budget::default(),
        )
        .expect("decode");
        assert!(std::str::from_utf8(&broken).is_err());
    }

    #[test]
    fn generated_param_matches_signed_bytes() {
        let param = String::from_utf8(fixture(
            "generated/elmo-v1.7-example-rsa-sha256_c14n_sha256.elmo-param.txt",
        ))
        .expect("ascii");
        let bytes = decode(&param, &Budget::default()).expect("decode");
        assert_eq!(
            bytes,
            fixture("generated/elmo-v1.7-example-rsa-sha256_c14n_sha256.xml")
        );
        assert_eq!(
            decode(&encode(&bytes), &Budget::default()).expect("again"),
            bytes
        );
    }
}
