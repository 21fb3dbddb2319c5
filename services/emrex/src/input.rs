//! Reading command inputs: files or standard input, and recognising what was given (XML, the
//! `elmo` form parameter, or a whole form-urlencoded NCP response body).

use std::io::{Read, Write};
use std::path::Path;

use emrex_elmo::transport::{self, Budget};

/// How a command ended, and so its exit status.
#[derive(Debug)]
pub enum Failure {
    /// Bad invocation or unreadable arguments: exit 2.
    Usage(String),
    /// The input is not acceptable (invalid signature, malformed document): exit 1.
    Invalid(String),
}

pub type Outcome = Result<(), Failure>;

pub trait IntoExitCode {
    fn into_exit_code(self) -> std::process::ExitCode;
}

impl IntoExitCode for Outcome {
    fn into_exit_code(self) -> std::process::ExitCode {
        match self {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(Failure::Invalid(msg)) => {
                eprintln!("invalid: {msg}");
                std::process::ExitCode::from(1)
            }
            Err(Failure::Usage(msg)) => {
                eprintln!("error: {msg}");
                std::process::ExitCode::from(2)
            }
        }
    }
}

/// Largest input accepted from a file or standard input (a form body with a big PDF is a few MB).
const MAX_INPUT: u64 = 64 * 1024 * 1024;

/// Reads a file, or standard input for `-`.
pub fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    let mut buf = Vec::new();
    let res = if path.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .take(MAX_INPUT + 1)
            .read_to_end(&mut buf)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(MAX_INPUT + 1).read_to_end(&mut buf))
    };
    res.map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    if buf.len() as u64 > MAX_INPUT {
        return Err(Failure::Invalid(format!(
            "{} is larger than {MAX_INPUT} bytes",
            path.display()
        )));
    }
    Ok(buf)
}

/// Writes to a file, or standard output when no path is given.
pub fn write(path: Option<&Path>, bytes: &[u8]) -> Outcome {
    match path {
        Some(p) => std::fs::write(p, bytes)
            .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", p.display()))),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)
                .and_then(|_| out.flush())
                .map_err(|e| Failure::Usage(format!("cannot write to standard output: {e}")))
        }
    }
}

/// What an input turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Xml,
    Parameter,
    FormBody,
}

/// Turns any accepted input into XML bytes, decoding the transport form with budgets.
pub fn to_xml(bytes: &[u8]) -> Result<(Vec<u8>, Kind), Failure> {
    let trimmed = trim_ascii_start(bytes);
    if trimmed.starts_with(b"<")
        || trimmed.starts_with(&[0xEF, 0xBB, 0xBF])
        || trimmed.starts_with(&[0xFF, 0xFE])
        || trimmed.starts_with(&[0xFE, 0xFF])
    {
        return Ok((bytes.to_vec(), Kind::Xml));
    }
    let text = std::str::from_utf8(trimmed)
        .map_err(|_| Failure::Invalid("input is neither XML nor a base64 `elmo` parameter".into()))?
        .trim();
    if let Some(param) = form_field(text, "elmo") {
        if param.is_empty() {
            let code = form_field(text, "returnCode").unwrap_or_default();
            let msg = form_field(text, "returnMessage").unwrap_or_default();
            return Err(Failure::Invalid(format!(
                "the response carries no elmo document (returnCode={code:?}, returnMessage={msg:?})"
            )));
        }
        let xml = transport::decode(&param, &Budget::default())
            .map_err(|e| Failure::Invalid(e.to_string()))?;
        return Ok((xml, Kind::FormBody));
    }
    let xml =
        transport::decode(text, &Budget::default()).map_err(|e| Failure::Invalid(e.to_string()))?;
    Ok((xml, Kind::Parameter))
}

fn trim_ascii_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[n..]
}

/// The value of `name` in an `application/x-www-form-urlencoded` body, if the text is one.
fn form_field(text: &str, name: &str) -> Option<String> {
    if !text.contains('=') {
        return None;
    }
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (percent_decode(k)? == name)
            .then(|| percent_decode(v))
            .flatten()
    })
}

/// Decodes `+` and `%XX` as HTML forms encode them; `None` on a malformed escape or non-UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_are_decoded() {
        let body = "sessionId=abc&returnCode=NCP_OK&returnMessage=all+good%21&elmo=H4sI%2B%2F%3D";
        assert_eq!(form_field(body, "elmo").as_deref(), Some("H4sI+/="));
        assert_eq!(
            form_field(body, "returnMessage").as_deref(),
            Some("all good!")
        );
        assert_eq!(form_field(body, "missing"), None);
        assert_eq!(form_field("H4sIAAAA", "elmo"), None);
        assert_eq!(percent_decode("%zz"), None);
    }
}
