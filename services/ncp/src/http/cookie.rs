//! The cookie that binds an exchange to the browser that started it.
//!
//! One cookie per exchange, named after it, holding a random secret whose hash the exchange
//! keeps: a link to `/x/{id}` opened in another browser is refused. `HttpOnly` (no script reads
//! it), `SameSite=Lax` (it travels on the top-level navigation back from the identity provider,
//! not on cross-site POSTs), and with TLS `Secure` and the `__Host-` prefix (no subdomain can
//! set or shadow it).

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

/// The cookie's name for exchange `id`.
pub fn name(secure: bool, id: &str) -> String {
    if secure {
        format!("__Host-emrex-ncp-{id}")
    } else {
        format!("emrex-ncp-{id}")
    }
}

/// The value of cookie `name` in the request, if sent.
pub fn read<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `Set-Cookie` binding exchange `id` to this browser with `secret` for `max_age_secs`.
pub fn bind(secure: bool, id: &str, secret: &str, max_age_secs: u64) -> String {
    let name = name(secure, id);
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={secret}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}")
}

/// `Set-Cookie` dropping the binding of exchange `id` (the exchange is over).
pub fn expire(secure: bool, id: &str) -> String {
    let name = name(secure, id);
    if secure {
        format!("{name}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax")
    } else {
        format!("{name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax")
    }
}

/// Appends `set_cookie` to `response` (our own values: ids and secrets are URL-safe ASCII).
pub fn append(response: &mut Response, set_cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(set_cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_attributes() {
        assert_eq!(name(true, "a1"), "__Host-emrex-ncp-a1");
        assert_eq!(name(false, "a1"), "emrex-ncp-a1");
        assert_eq!(
            bind(true, "a1", "s3", 900),
            "__Host-emrex-ncp-a1=s3; Path=/; Max-Age=900; HttpOnly; SameSite=Lax; Secure"
        );
        assert_eq!(
            bind(false, "a1", "s3", 900),
            "emrex-ncp-a1=s3; Path=/; Max-Age=900; HttpOnly; SameSite=Lax"
        );
        assert_eq!(
            expire(true, "a1"),
            "__Host-emrex-ncp-a1=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax"
        );
    }

    #[test]
    fn reads_the_named_cookie_from_any_cookie_header() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("x=1; emrex-ncp-b=2"),
        );
        h.append(header::COOKIE, HeaderValue::from_static("emrex-ncp-a=3"));
        assert_eq!(read(&h, "emrex-ncp-a"), Some("3"));
        assert_eq!(read(&h, "emrex-ncp-b"), Some("2"));
        assert_eq!(read(&h, "emrex-ncp"), None);
    }
}
