//! The EMREX 1.x entry point: what a client (SMP/EMC) sends when it hands a student over.
//!
//! Pure validation of the parameters (`sessionId`, `returnUrl` and the optional Polish USOS
//! extensions `allowToPickCourses` / `allowNotPassedCourses`); the HTTP handler only decodes the
//! form or query string and calls [`EntryRequest::from_params`].

use url::Url;

/// Longest accepted `sessionId`. The standard says "up to 32 characters", but the DC4EU gateway
/// sends a 36-character UUID; 64 covers every peer seen without inviting abuse.
pub const MAX_SESSION_ID: usize = 64;
/// Longest accepted `returnUrl`.
pub const MAX_RETURN_URL: usize = 2048;
/// Largest accepted entry request body (form POST) or query string.
pub const MAX_ENTRY_BYTES: usize = 8 * 1024;

/// How `returnUrl` is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReturnUrlPolicy {
    /// Accept `http://` when the host is loopback (`127.0.0.0/8`, `::1`, `localhost`). For
    /// development federations only.
    pub allow_http_loopback: bool,
    /// When not empty, the host must equal one of these, or end with `.` + one of these when
    /// the entry starts with `*.` (e.g. `*.uio.no`). Compared case-insensitively.
    pub allowed_hosts: Vec<String>,
}

/// The validated hand-over from the client (stored with the exchange as JSON).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EntryRequest {
    /// Echoed back unchanged; never interpreted.
    pub session_id: String,
    /// Where the response form is posted.
    pub return_url: Url,
    /// USOS extension `allowToPickCourses` (default true): the student may choose a subset.
    pub allow_pick: bool,
    /// USOS extension `allowNotPassedCourses` (default false here unless configured otherwise):
    /// failed and in-progress results may be sent.
    pub allow_not_passed: bool,
}

/// Why an entry request was refused. The message is shown to the student (the client's
/// `returnUrl` cannot be trusted with an error response when it is itself the problem).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("the request has no sessionId")]
    MissingSessionId,
    #[error("the sessionId is longer than {MAX_SESSION_ID} characters")]
    SessionIdTooLong,
    #[error("the sessionId may only contain letters, digits and - _ . : ~")]
    SessionIdCharacters,
    #[error("the request has no returnUrl")]
    MissingReturnUrl,
    #[error("the returnUrl is longer than {MAX_RETURN_URL} characters")]
    ReturnUrlTooLong,
    #[error("the returnUrl is not a valid absolute URL")]
    ReturnUrlInvalid,
    #[error("the returnUrl must use https")]
    ReturnUrlNotHttps,
    #[error("the returnUrl must not carry a user name, password or fragment")]
    ReturnUrlCredentials,
    #[error("results may not be sent to {0}: it is not on this provider's list of allowed clients")]
    ReturnUrlNotAllowed(String),
    #[error("parameter {0} appears more than once")]
    Duplicate(&'static str),
    #[error("parameter {name} must be true or false, not {value:?}")]
    BadFlag { name: &'static str, value: String },
}

impl EntryRequest {
    /// Validates decoded parameters (name, value pairs in request order). Unknown parameters
    /// are ignored ("additional parameters might be added at a later stage", TG §4.2).
    pub fn from_params<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
        policy: &ReturnUrlPolicy,
        default_allow_not_passed: bool,
    ) -> Result<Self, EntryError> {
        let mut session_id = None;
        let mut return_url = None;
        let mut allow_pick = None;
        let mut allow_not_passed = None;
        for (name, value) in params {
            let slot = match name {
                "sessionId" => &mut session_id,
                "returnUrl" => &mut return_url,
                "allowToPickCourses" => &mut allow_pick,
                "allowNotPassedCourses" => &mut allow_not_passed,
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(EntryError::Duplicate(match name {
                    "sessionId" => "sessionId",
                    "returnUrl" => "returnUrl",
                    "allowToPickCourses" => "allowToPickCourses",
                    _ => "allowNotPassedCourses",
                }));
            }
        }
        let session_id = check_session_id(session_id.unwrap_or_default())?;
        let return_url = check_return_url(return_url.unwrap_or_default(), policy)?;
        Ok(Self {
            session_id,
            return_url,
            allow_pick: flag("allowToPickCourses", allow_pick, true)?,
            allow_not_passed: flag(
                "allowNotPassedCourses",
                allow_not_passed,
                default_allow_not_passed,
            )?,
        })
    }

    /// The host the results will be delivered to, as shown to the student for consent.
    pub fn return_host(&self) -> String {
        return_host(&self.return_url)
    }
}

/// `host[:port]` of a URL, for showing where results go.
pub fn return_host(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => url.as_str().to_string(),
    }
}

fn check_session_id(s: &str) -> Result<String, EntryError> {
    if s.is_empty() {
        return Err(EntryError::MissingSessionId);
    }
    if s.chars().count() > MAX_SESSION_ID {
        return Err(EntryError::SessionIdTooLong);
    }
    // Real ids are hex, UUIDs, JSESSIONIDs (with `.node1` suffixes) or words; anything that
    // could break out of an attribute or a log line is refused.
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'~'))
    {
        return Err(EntryError::SessionIdCharacters);
    }
    Ok(s.to_string())
}

fn check_return_url(s: &str, policy: &ReturnUrlPolicy) -> Result<Url, EntryError> {
    if s.is_empty() {
        return Err(EntryError::MissingReturnUrl);
    }
    if s.len() > MAX_RETURN_URL {
        return Err(EntryError::ReturnUrlTooLong);
    }
    let url = Url::parse(s).map_err(|_| EntryError::ReturnUrlInvalid)?;
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_http_loopback && is_loopback(&url) => {}
        _ => return Err(EntryError::ReturnUrlNotHttps),
    }
    let host = url.host_str().ok_or(EntryError::ReturnUrlInvalid)?;
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(EntryError::ReturnUrlCredentials);
    }
    if !policy.allowed_hosts.is_empty() && !host_allowed(host, &policy.allowed_hosts) {
        return Err(EntryError::ReturnUrlNotAllowed(host.to_string()));
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let host = host.to_ascii_lowercase();
    allowed.iter().any(|pattern| {
        let pattern = pattern.to_ascii_lowercase();
        match pattern.strip_prefix("*.") {
            Some(suffix) => host
                .strip_suffix(suffix)
                .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1),
            None => host == pattern,
        }
    })
}

fn flag(name: &'static str, value: Option<&str>, default: bool) -> Result<bool, EntryError> {
    match value.map(str::trim) {
        None | Some("") => Ok(default),
        Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") || v == "0" => Ok(false),
        Some(v) => Err(EntryError::BadFlag {
            name,
            value: v.chars().take(20).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(params: &[(&str, &str)], policy: &ReturnUrlPolicy) -> Result<EntryRequest, EntryError> {
        EntryRequest::from_params(params.iter().copied(), policy, false)
    }

    #[test]
    fn accepts_what_real_clients_send() {
        let p = ReturnUrlPolicy::default();
        for sid in [
            "0123456789abcdef0123456789abcdef",
            "0f8fad5b-d9cb-469f-a165-70867728950e",
            "mySession12345",
            "8A3F2C.node1",
        ] {
            let r = req(
                &[
                    ("sessionId", sid),
                    ("returnUrl", "https://smp.example.org/return"),
                ],
                &p,
            )
            .expect(sid);
            assert_eq!(r.session_id, sid);
            assert!(r.allow_pick);
            assert!(!r.allow_not_passed);
            assert_eq!(r.return_host(), "smp.example.org");
        }
    }

    #[test]
    fn refuses_bad_session_ids() {
        let p = ReturnUrlPolicy::default();
        let url = ("returnUrl", "https://smp.example.org/r");
        assert_eq!(req(&[url], &p), Err(EntryError::MissingSessionId));
        let long = "a".repeat(65);
        assert_eq!(
            req(&[("sessionId", &long), url], &p),
            Err(EntryError::SessionIdTooLong)
        );
        for bad in ["a b", "a\"b", "<x>", "a\nb", "é"] {
            assert_eq!(
                req(&[("sessionId", bad), url], &p),
                Err(EntryError::SessionIdCharacters),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn return_url_must_be_https_unless_loopback_in_development() {
        let strict = ReturnUrlPolicy::default();
        let dev = ReturnUrlPolicy {
            allow_http_loopback: true,
            ..Default::default()
        };
        let sid = ("sessionId", "abc");
        for (url, strict_ok, dev_ok) in [
            ("https://smp.example.org/r", true, true),
            ("http://smp.example.org/r", false, false),
            ("http://127.0.0.1:8080/r", false, true),
            ("http://[::1]:8080/r", false, true),
            ("http://localhost/r", false, true),
            ("javascript:alert(1)", false, false),
            ("ftp://smp.example.org/", false, false),
            ("data:text/html,x", false, false),
        ] {
            assert_eq!(
                req(&[sid, ("returnUrl", url)], &strict).is_ok(),
                strict_ok,
                "{url}"
            );
            assert_eq!(
                req(&[sid, ("returnUrl", url)], &dev).is_ok(),
                dev_ok,
                "{url}"
            );
        }
        assert_eq!(
            req(
                &[sid, ("returnUrl", "https://u:p@smp.example.org/")],
                &strict
            ),
            Err(EntryError::ReturnUrlCredentials)
        );
        assert_eq!(
            req(&[sid, ("returnUrl", "/relative")], &strict),
            Err(EntryError::ReturnUrlInvalid)
        );
    }

    #[test]
    fn allow_list_matches_hosts_and_subdomains() {
        let p = ReturnUrlPolicy {
            allowed_hosts: vec!["smp.example.org".into(), "*.uio.no".into()],
            ..Default::default()
        };
        let sid = ("sessionId", "abc");
        assert!(req(&[sid, ("returnUrl", "https://SMP.example.org/x")], &p).is_ok());
        assert!(req(&[sid, ("returnUrl", "https://emrex.uio.no/x")], &p).is_ok());
        for bad in [
            "https://uio.no/x",
            "https://eviluio.no/x",
            "https://smp.example.org.evil.com/x",
        ] {
            assert!(
                matches!(
                    req(&[sid, ("returnUrl", bad)], &p),
                    Err(EntryError::ReturnUrlNotAllowed(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn flags_and_duplicates() {
        let p = ReturnUrlPolicy::default();
        let base = [("sessionId", "abc"), ("returnUrl", "https://s.example/r")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v = base.to_vec();
            v.extend_from_slice(extra);
            req(&v, &p)
        };
        let r = with(&[
            ("allowToPickCourses", "false"),
            ("allowNotPassedCourses", "TRUE"),
        ])
        .expect("flags");
        assert!(!r.allow_pick && r.allow_not_passed);
        assert!(matches!(
            with(&[("allowToPickCourses", "maybe")]),
            Err(EntryError::BadFlag { .. })
        ));
        assert_eq!(
            with(&[("sessionId", "other")]),
            Err(EntryError::Duplicate("sessionId"))
        );
        // Unknown parameters are ignored.
        assert!(with(&[("lang", "fi")]).is_ok());
    }
}
