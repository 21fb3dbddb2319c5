//! Log setup: one `tracing` subscriber per process, plain or JSON, filtered by
//! [`LogConfig::filter`]. `log` records (rustls, hyper) are bridged into it.
//!
//! Plain lines are coloured only when standard output is a terminal and `NO_COLOR` is unset or
//! empty (<https://no-color.org>): a log file or a pipe to `grep`/a collector gets no ANSI escape
//! codes (issue #16 item 13).

use std::ffi::OsStr;
use std::io::IsTerminal as _;

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::{LogConfig, LogFormat};

/// The filter string was not valid `EnvFilter` syntax.
#[derive(Debug, thiserror::Error)]
#[error("invalid log filter {filter:?}: {error}")]
pub struct TelemetryError {
    filter: String,
    /// Printed in the message, so not a `source`: said once.
    error: tracing_subscriber::filter::ParseError,
}

/// Whether [`init_tracing`] installed the subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TracingInit {
    /// This call installed the global subscriber.
    Installed,
    /// A global subscriber was already set (a second call, or a test harness); nothing changed.
    AlreadySet,
}

/// Installs the global subscriber described by `config`.
///
/// Safe to call more than once: later calls return [`TracingInit::AlreadySet`], which is what
/// tests that each set up logging want. An invalid filter is an error rather than a silent
/// "log nothing".
pub fn init_tracing(config: &LogConfig) -> Result<TracingInit, TelemetryError> {
    let filter = EnvFilter::try_new(&config.filter).map_err(|source| TelemetryError {
        filter: config.filter.clone(),
        error: source,
    })?;
    let registry = tracing_subscriber::registry().with(filter);
    let colour = colour_wanted(
        std::io::stdout().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let result = match config.format {
        LogFormat::Plain => registry.with(fmt::layer().with_ansi(colour)).try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true),
            )
            .try_init(),
    };
    Ok(match result {
        Ok(()) => TracingInit::Installed,
        Err(_) => TracingInit::AlreadySet,
    })
}

/// Whether plain log lines get ANSI colours: only on a terminal (`on_terminal`: standard output,
/// where the lines go, is one), and not when `NO_COLOR` (`no_color`) is set to anything non-empty.
pub fn colour_wanted(on_terminal: bool, no_color: Option<&OsStr>) -> bool {
    on_terminal && no_color.is_none_or(OsStr::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour_wanted(true, None));
        assert!(colour_wanted(true, Some(OsStr::new(""))));
        assert!(!colour_wanted(true, Some(OsStr::new("1"))));
        assert!(!colour_wanted(false, None));
        assert!(!colour_wanted(false, Some(OsStr::new(""))));
    }

    #[test]
    fn second_call_is_ignored_and_bad_filter_is_an_error() {
        let config = LogConfig {
            format: LogFormat::Json,
            filter: "off".to_string(),
        };
        let first = init_tracing(&config).expect("valid filter");
        let second = init_tracing(&config).expect("valid filter");
        // Another test in this binary may have won the race for the first call.
        assert!(first == TracingInit::Installed || first == TracingInit::AlreadySet);
        assert_eq!(second, TracingInit::AlreadySet);

        let bad = LogConfig {
            format: LogFormat::Plain,
            filter: "=[".to_string(),
        };
        let err = init_tracing(&bad).expect_err("bad filter");
        assert!(err.to_string().contains("=["), "{err}");
    }
}
