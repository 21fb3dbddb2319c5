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

/// Writes to a file, or standard output when no path is given. A reader that stopped reading
/// (`… | head`) is not an error: the output was simply not wanted any more.
pub fn write(path: Option<&Path>, bytes: &[u8]) -> Outcome {
    match path {
        Some(p) => std::fs::write(p, bytes)
            .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", p.display()))),
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(bytes).and_then(|_| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::Usage(
                    format!("cannot write to standard output: {e}"),
                )),
                _ => Ok(()),
            }
        }
    }
}

/// `println!` for the ELMO tools. `println!` panics with a backtrace when standard output is a
/// pipe whose reader has gone (`emrex elmo inspect F | head`); this ends the program quietly
/// instead, with success, as `cat` does (issue #16 item 16).
macro_rules! say {
    () => { $crate::input::say_line(format_args!("")) };
    ($($arg:tt)*) => { $crate::input::say_line(format_args!($($arg)*)) };
}
pub(crate) use say;

/// One line on standard output (see [`say!`]); any other write error exits 2 with a message.
pub fn say_line(line: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(line).and_then(|()| out.write_all(b"\n")) {
        drop(out);
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(2);
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
    // A response body without any `elmo=` (an NCP_CANCEL or NCP_ERROR often omits it) is a form
    // all the same: say there is no document rather than decode the form as base64.
    let is_response = ["returnCode", "sessionId"]
        .iter()
        .any(|f| form_field(text, f).is_some());
    let elmo = form_field(text, "elmo").or_else(|| is_response.then(String::new));
    if let Some(param) = elmo {
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

    #[test]
    fn a_response_without_an_elmo_field_says_there_is_no_document() {
        for body in [
            "sessionId=abc&returnCode=NCP_CANCEL&returnMessage=The+student+cancelled",
            "returnCode=NCP_ERROR",
            "sessionId=abc&returnCode=NCP_CANCEL&returnMessage=&elmo=",
        ] {
            let Err(Failure::Invalid(msg)) = to_xml(body.as_bytes()) else {
                panic!("{body}: not refused as invalid");
            };
            assert!(msg.contains("no elmo document"), "{body}: {msg}");
            assert!(msg.contains("NCP_"), "{body}: {msg}");
        }
        // Base64 padding is not a form field.
        let Err(Failure::Invalid(msg)) = to_xml(b"H4sIAAAA==") else {
            panic!("garbage accepted");
        };
        assert!(!msg.contains("no elmo document"), "{msg}");
    }
}
