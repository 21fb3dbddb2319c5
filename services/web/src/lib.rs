//! What the browser-facing EMREX pages share: the NCP (provider) and the SMP (client) both
//! serve server-rendered pages to students, and both must answer with the same security
//! headers, the same Content-Security-Policy discipline and the same page shell. Keeping that
//! in one place means a fix (a header, a policy, an accessibility detail) reaches both.
//!
//! * [`headers`]: the security headers as axum middleware ([`headers::secure`]), the base
//!   Content-Security-Policy, and the hash-allowed auto-submit script;
//! * [`page`]: the page shell ([`page::Shell`]) with the language switch, the styles every
//!   page shares ([`page::COMMON_STYLE`]: focus ring, phone layout of tables), the refusal
//!   page, and the small response builders (HTML, stylesheet, redirect);
//! * [`lang`]: the page language of a request (`?lang=`, the remembered choice,
//!   `Accept-Language`) as the [`lang::PageLang`] extractor, and the middleware that remembers
//!   the choice;
//! * [`contrast`]: WCAG contrast ratios, for the services' tests of their colours;
//! * [`body`]: request bodies read up to a limit ([`body::read_bounded`]), so an oversized post
//!   gets its 413 page instead of a connection reset.
//!
//! Services keep their own texts and stylesheets; this crate knows nothing about exchanges.

pub mod body;
pub mod contrast;
pub mod headers;
pub mod lang;
pub mod page;

pub use body::read_bounded;
pub use emrex_i18n::Lang;
pub use headers::{BASE_CSP, PLAIN_CSP, auto_submit_csp, script_hash, secure, security_headers};
pub use lang::{PageLang, here_without_lang, remember_language};
pub use page::{
    COMMON_STYLE, LangSwitch, Link, Shell, attachment, html, html_with_csp, redirect, refusal,
    stylesheet,
};
