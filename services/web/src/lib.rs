//! What the browser-facing EMREX pages share: the NCP (provider) and the SMP (client) both
//! serve server-rendered pages to students, and both must answer with the same security
//! headers, the same Content-Security-Policy discipline and the same page shell. Keeping that
//! in one place means a fix (a header, a policy, an accessibility detail) reaches both.
//!
//! * [`headers`]: the security headers as axum middleware ([`headers::secure`]), the base
//!   Content-Security-Policy, and the hash-allowed auto-submit script;
//! * [`page`]: the page shell ([`page::Shell`]), the refusal page, and the small response
//!   builders (HTML, stylesheet, redirect).
//!
//! Services keep their own texts and stylesheets; this crate knows nothing about exchanges.

pub mod headers;
pub mod page;

pub use headers::{BASE_CSP, PLAIN_CSP, auto_submit_csp, script_hash, secure, security_headers};
pub use page::{Link, Shell, attachment, html, html_with_csp, redirect, refusal, stylesheet};
