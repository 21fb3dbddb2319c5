//! What the handlers extract from a request before they act: a bounded form and the exchange
//! bound to this browser (the language is `emrex_web::PageLang`). The checks every exchange handler needs — body
//! size, exchange known and not finished, the browser's cookie, the CSRF token — live here
//! once, in that order, and fail as a [`Refusal`].

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use super::{MAX_FORM_BYTES, Ncp, Refusal, cookie};
use crate::exchange::{Exchange, ExchangeError, Stage};

/// An `application/x-www-form-urlencoded` body, read up to a limit.
#[derive(Debug, Clone, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    /// Reads `body`, refusing (413) more than `limit` bytes.
    pub async fn read(body: Body, limit: usize) -> Result<Form, Refusal> {
        let bytes = emrex_web::read_bounded(body, limit)
            .await
            .ok_or_else(Refusal::too_large)?;
        Ok(Form::parse(&bytes))
    }

    /// The pairs of an encoded form or query string.
    pub fn parse(encoded: &[u8]) -> Form {
        Form(url::form_urlencoded::parse(encoded).into_owned().collect())
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every pair, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Loads exchange `id` for the browser that sent `headers`: known, not finished, its cookie
/// matches, and — for a POST (`csrf` is `Some`) — the form's CSRF token matches. A finished
/// exchange's refusal links back to the client it answered.
pub async fn authorize(
    ncp: &Ncp,
    id: &str,
    headers: &HeaderMap,
    csrf: Option<Option<&str>>,
) -> Result<Exchange, Refusal> {
    let ex = ncp.store.get(id).await?;
    if matches!(ex.stage, Stage::Finished) {
        return Err(Refusal::from(ExchangeError::Finished).with_back(&ex.request.return_url));
    }
    let name = cookie::name(ncp.settings.secure_cookies, id);
    if !ex.browser_matches(cookie::read(headers, &name)) {
        return Err(Refusal::forbidden("forbidden"));
    }
    if let Some(token) = csrf
        && !token.is_some_and(|t| ex.csrf_matches(t))
    {
        return Err(Refusal::forbidden("csrf"));
    }
    Ok(ex)
}

/// The exchange of the path's `{id}`, for the browser it is bound to (a GET: no CSRF token).
#[derive(Debug)]
pub struct Bound(pub Exchange);

impl FromRequestParts<Arc<Ncp>> for Bound {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, ncp: &Arc<Ncp>) -> Result<Self, Refusal> {
        let Path(id) = Path::<String>::from_request_parts(parts, ncp)
            .await
            .map_err(|_| Refusal::not_found())?;
        authorize(ncp, &id, &parts.headers, None).await.map(Bound)
    }
}

/// A form POSTed on the path's exchange from the browser it is bound to, with its CSRF token:
/// the body is read (at most [`MAX_FORM_BYTES`]) before anything is looked up.
#[derive(Debug)]
pub struct BoundForm {
    pub exchange: Exchange,
    pub form: Form,
}

impl FromRequest<Arc<Ncp>> for BoundForm {
    type Rejection = Refusal;

    async fn from_request(request: Request, ncp: &Arc<Ncp>) -> Result<Self, Refusal> {
        let (mut parts, body) = request.into_parts();
        let Path(id) = Path::<String>::from_request_parts(&mut parts, ncp)
            .await
            .map_err(|_| Refusal::not_found())?;
        let form = Form::read(body, MAX_FORM_BYTES).await?;
        let exchange = authorize(ncp, &id, &parts.headers, Some(form.get("csrf"))).await?;
        Ok(BoundForm { exchange, form })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_in_order() {
        let f = Form::parse(b"csrf=t&course=a&course=b%20c&consent=yes&course=");
        assert_eq!(f.get("csrf"), Some("t"));
        assert_eq!(f.get("nope"), None);
        assert_eq!(f.all("course").collect::<Vec<_>>(), ["a", "b c", ""]);
        assert_eq!(f.pairs().count(), 5);
    }

    #[tokio::test]
    async fn an_oversized_form_is_refused() {
        let r = Form::read(Body::from(vec![b'a'; 11]), 10).await;
        assert_eq!(r.err().map(|r| r.status().as_u16()), Some(413));
        let ok = Form::read(Body::from("a=1"), 10).await;
        assert_eq!(
            ok.ok()
                .and_then(|f| f.get("a").map(str::to_owned))
                .as_deref(),
            Some("1")
        );
    }
}
