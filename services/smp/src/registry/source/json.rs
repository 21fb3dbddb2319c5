//! The `json` source: an EMREX 1.x list over HTTP(S), fetched every `refresh` with
//! `If-None-Match`, bounded by timeouts and [`MAX_DOCUMENT_BYTES`] while streaming; `https://`
//! only, except `http://` for loopback hosts; redirects must keep the scheme (at most 5).

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use emrex_runtime::shutdown::Shutdown;
use emrex_runtime::tls::TlsError;
use reqwest::header::{self, HeaderValue};
use reqwest::{StatusCode, Url};

use super::backoff::{Backoff, sleep_or_shutdown};
use super::{Inner, RegistryError};
use crate::registry::jsonlist::{ListError, MAX_DOCUMENT_BYTES, ParseOptions, parse_list};

/// Warnings of one JSON list written to the log.
const MAX_LOGGED_WARNINGS: usize = 50;

/// Why a JSON list URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    /// Not a URL at all.
    #[error("{0}")]
    Parse(url::ParseError),
    /// `https://user:password@…`: credentials do not belong in configuration URLs.
    #[error("must not contain a user name or password")]
    Credentials,
    /// `http://` to a host that is not loopback.
    #[error("http:// is allowed only for loopback hosts; use https://")]
    PlainHttp,
    /// Neither `https://` nor `http://`.
    #[error("unsupported scheme {0:?}; use https://")]
    Scheme(String),
}

/// Why the extra CA bundle (`ca_file`) cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CaFileError {
    /// Reading or parsing the PEM file (its message names the file).
    #[error(transparent)]
    Read(#[from] TlsError),
    /// A certificate of the file that the HTTP client does not accept.
    #[error("a certificate in {} is not usable", path.display())]
    Certificate {
        path: std::path::PathBuf,
        #[source]
        source: reqwest::Error,
    },
}

/// Why one fetch of the list failed (retried with backoff; the last good snapshot stays).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No response (connection, TLS, timeout, a refused redirect).
    #[error("GET {url}")]
    Request {
        url: Url,
        #[source]
        source: reqwest::Error,
    },
    /// A response other than `200` (or `304` after an ETag).
    #[error("GET {url}: HTTP {status}")]
    Status { url: Url, status: StatusCode },
    /// The list is larger than [`MAX_DOCUMENT_BYTES`] (announced or while streaming).
    #[error("GET {url}: the list is larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge { url: Url },
    /// The document is not a usable list.
    #[error("GET {url}")]
    Invalid {
        url: Url,
        #[source]
        source: ListError,
    },
    /// The parsing task did not finish (it panicked or the runtime is shutting down).
    #[error("parsing the registry list did not finish")]
    ParseTask(#[source] tokio::task::JoinError),
}

/// 127.0.0.0/8, ::1 and the name `localhost` (as EMREG's dev mode).
fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `url` if the SMP may fetch a registry list from it.
pub(super) fn check_url(url: &str) -> Result<Url, RegistryError> {
    let bad = |problem: UrlProblem| RegistryError::Url {
        url: url.to_string(),
        problem,
    };
    let parsed = Url::parse(url).map_err(|e| bad(UrlProblem::Parse(e)))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad(UrlProblem::Credentials));
    }
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&parsed) => Ok(parsed),
        "http" => Err(bad(UrlProblem::PlainHttp)),
        other => Err(bad(UrlProblem::Scheme(other.to_string()))),
    }
}

/// The HTTP client for `url`: timeouts, the redirect policy, and the extra CA bundle.
pub(super) fn http_client(
    url: &Url,
    ca_file: Option<&Path>,
    timeout: Duration,
) -> Result<reqwest::Client, RegistryError> {
    let scheme = url.scheme().to_string();
    let redirects = reqwest::redirect::Policy::custom(move |attempt| {
        let target = attempt.url();
        if attempt.previous().len() > 5 {
            attempt.error("more than 5 redirects")
        } else if target.scheme() != scheme {
            let message = format!("redirect from {scheme}:// to {}://", target.scheme());
            attempt.error(message)
        } else if target.scheme() == "http" && !is_loopback(target) {
            attempt.error("redirect to http:// on a host that is not loopback")
        } else {
            attempt.follow()
        }
    });
    let mut builder = reqwest::Client::builder()
        .redirect(redirects)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
        .user_agent(concat!("emrex-smp/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = ca_file {
        for der in emrex_runtime::tls::load_certificates(path).map_err(CaFileError::from)? {
            let cert = reqwest::Certificate::from_der(&der).map_err(|source| {
                CaFileError::Certificate {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().map_err(RegistryError::HttpClient)
}

/// A JSON list being followed.
pub(super) struct JsonSource {
    pub(super) client: reqwest::Client,
    pub(super) url: Url,
    pub(super) refresh: Duration,
    pub(super) options: ParseOptions,
    /// The ETag of the document the current snapshot comes from.
    pub(super) etag: Option<HeaderValue>,
}

enum Fetched {
    NotModified,
    Document {
        body: Vec<u8>,
        etag: Option<HeaderValue>,
    },
}

impl JsonSource {
    /// Fetches every `refresh` (after a failure: with backoff) until `shutdown`.
    pub(super) async fn run(mut self, inner: Arc<Inner>, shutdown: Shutdown) {
        let initial = self.refresh.min(Duration::from_secs(1));
        let mut backoff = Backoff::new(initial, self.refresh.min(Duration::from_secs(300)));
        loop {
            let outcome = tokio::select! {
                r = self.update(&inner) => r,
                () = shutdown.triggered() => return,
            };
            let delay = match outcome {
                Ok(()) => {
                    inner.succeeded();
                    backoff.reset();
                    self.refresh
                }
                Err(e) => {
                    inner.failed(&e);
                    backoff.next_delay()
                }
            };
            if !sleep_or_shutdown(delay, &shutdown).await {
                return;
            }
        }
    }

    /// One fetch; publishes a new snapshot when the document changed.
    async fn update(&mut self, inner: &Inner) -> Result<(), FetchError> {
        let (body, etag) = match self.fetch().await? {
            Fetched::NotModified => {
                tracing::debug!(url = %self.url, "registry list not modified");
                return Ok(());
            }
            Fetched::Document { body, etag } => (body, etag),
        };
        let options = self.options.clone();
        let parsed = tokio::task::spawn_blocking(move || parse_list(&body, &options))
            .await
            .map_err(FetchError::ParseTask)?
            .map_err(|source| FetchError::Invalid {
                url: self.url.clone(),
                source,
            })?;
        let warnings = parsed.warnings.len();
        let changed = inner.publish(parsed.snapshot);
        // Warnings once per new document, and not thousands of lines for a broken one.
        for w in parsed.warnings.iter().take(MAX_LOGGED_WARNINGS) {
            if changed {
                tracing::warn!(url = %self.url, "registry list: {w}");
            } else {
                tracing::debug!(url = %self.url, "registry list: {w}");
            }
        }
        if changed && warnings > MAX_LOGGED_WARNINGS {
            tracing::warn!(
                url = %self.url,
                "registry list: {} more warnings not shown",
                warnings - MAX_LOGGED_WARNINGS
            );
        }
        if changed {
            tracing::info!(url = %self.url, key = ?parsed.key, warnings, "registry list loaded");
        }
        // Only now: a document that failed to parse is fetched again in full next time.
        self.etag = etag;
        Ok(())
    }

    async fn fetch(&self) -> Result<Fetched, FetchError> {
        let url = || self.url.clone();
        let failed = |source| FetchError::Request { url: url(), source };
        let mut request = self
            .client
            .get(self.url.clone())
            .header(header::ACCEPT, "application/json");
        if let Some(etag) = &self.etag {
            request = request.header(header::IF_NONE_MATCH, etag.clone());
        }
        let mut response = request.send().await.map_err(failed)?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NOT_MODIFIED if self.etag.is_some() => return Ok(Fetched::NotModified),
            status => return Err(FetchError::Status { url: url(), status }),
        }
        let too_large = || FetchError::TooLarge { url: url() };
        if response
            .content_length()
            .is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(too_large());
        }
        let etag = response.headers().get(header::ETAG).cloned();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched::Document { body, etag })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_without_credentials() {
        for ok in [
            "https://emreg.example/ncp-list.json",
            "http://127.0.0.1:9/l.json",
            "http://127.8.0.1/l.json",
            "http://localhost/l.json",
            "http://[::1]:9/l.json",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        let problem = |url: &str| match check_url(url) {
            Err(RegistryError::Url { problem, .. }) => problem,
            other => panic!("{url}: {other:?}"),
        };
        assert_eq!(problem("http://emreg.example/l"), UrlProblem::PlainHttp);
        assert_eq!(problem("http://127.0.0.1.example/l"), UrlProblem::PlainHttp);
        assert_eq!(
            problem("https://u:p@emreg.example/l"),
            UrlProblem::Credentials
        );
        assert_eq!(
            problem("ftp://127.0.0.1/l"),
            UrlProblem::Scheme("ftp".into())
        );
        assert!(matches!(problem("not a url"), UrlProblem::Parse(_)));
    }
}
