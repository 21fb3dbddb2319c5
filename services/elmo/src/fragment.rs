//! Standalone XML fragments: how `extension` content is kept.
//!
//! ELMO's `extension` elements hold elements from other namespaces whose meaning the schema does
//! not define (the Norwegian `fsAssesmentName`, the Polish USOS `globalMeta`, …). A reader that
//! drops them loses what the issuer wrote; a model that kept a parsed tree would tie every user
//! of the crate to the DOM. So each child element is kept as text: a well-formed element that
//! declares every namespace it uses, independent of where it sat. [`XmlFragment`] can only hold
//! such text (it is checked when made and when deserialized), which is what lets the writers put
//! it back verbatim without producing a broken or namespace-shifted document.

use std::fmt;

use emrex_xmldsig::dom::{self, Element, Limits, NS_XML, Node};
use serde::{Deserialize, Serialize};

use crate::writer::escape;

/// One element, serialized with its own namespace declarations (comments and processing
/// instructions dropped, as canonical XML without comments does). See the module docs.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct XmlFragment(String);

/// Why a text is not an [`XmlFragment`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FragmentError {
    #[error("an XML fragment must start with an element (no declaration, comment or DTD)")]
    NotAnElement,
    #[error("XML fragment refused: {0}")]
    Xml(dom::ParseError),
    #[error("an XML fragment must contain exactly one element and nothing after it")]
    Trailing,
    #[error(
        "element <{0}> has no prefix and its fragment declares no default namespace for it \
         (it would change namespace where the fragment is inserted)"
    )]
    UndeclaredDefault(String),
}

impl XmlFragment {
    /// Serializes `el` and its subtree as a standalone fragment.
    pub fn from_element(el: &Element) -> Self {
        let mut out = String::new();
        write_element(el, &mut Scope::default(), &mut out);
        XmlFragment(out)
    }

    /// Checks `text` and wraps it. Limits are the DOM's defaults.
    pub fn parse(text: impl Into<String>) -> Result<Self, FragmentError> {
        let text = text.into();
        Self::element_of(&text)?;
        Ok(XmlFragment(text))
    }

    /// The fragment's XML text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The fragment parsed again (for inspection: namespaces, names).
    pub fn element(&self) -> Element {
        // Checked when made; a failure here would be a bug in this module.
        match Self::element_of(&self.0) {
            Ok(e) => e,
            Err(e) => unreachable!("an XmlFragment is always well-formed: {e}"),
        }
    }

    fn element_of(text: &str) -> Result<Element, FragmentError> {
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (Some('<'), Some(c)) if c != '?' && c != '!' && c != '/' => {}
            _ => return Err(FragmentError::NotAnElement),
        }
        let doc = dom::parse(text.as_bytes(), &Limits::default()).map_err(FragmentError::Xml)?;
        if !doc.prolog.is_empty() || !doc.epilog.is_empty() {
            return Err(FragmentError::Trailing);
        }
        check_defaults(&doc.root, false)?;
        Ok(doc.root)
    }
}

impl fmt::Debug for XmlFragment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for XmlFragment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for XmlFragment {
    type Error = FragmentError;
    fn try_from(s: String) -> Result<Self, FragmentError> {
        XmlFragment::parse(s)
    }
}

impl From<XmlFragment> for String {
    fn from(f: XmlFragment) -> String {
        f.0
    }
}

/// Every unprefixed element must get its namespace from a declaration inside the fragment.
fn check_defaults(el: &Element, declared: bool) -> Result<(), FragmentError> {
    let declared = declared || el.ns_decls.iter().any(|d| d.prefix.is_none());
    if el.name.prefix.is_none() && !declared {
        return Err(FragmentError::UndeclaredDefault(el.name.local.clone()));
    }
    for c in el.child_elements() {
        check_defaults(c, declared)?;
    }
    Ok(())
}

/// Namespace bindings already written in the output; `None` for the default namespace until
/// it has been declared once (at the fragment's root nothing is known).
#[derive(Clone, Default)]
struct Scope {
    default: Option<String>,
    prefixes: Vec<(String, String)>,
}

impl Scope {
    fn prefix(&self, p: &str) -> Option<&str> {
        self.prefixes
            .iter()
            .rev()
            .find(|(q, _)| q == p)
            .map(|(_, u)| u.as_str())
    }
}

fn write_element(el: &Element, parent: &mut Scope, out: &mut String) {
    let mut scope = parent.clone();
    out.push('<');
    let name = el.name.to_string();
    out.push_str(&name);
    // The element's own declarations first (they may bind prefixes used only in attribute
    // values, such as xsi:type QNames), then whatever the names need that is not yet in scope.
    for d in &el.ns_decls {
        declare(d.prefix.as_deref(), &d.uri, &mut scope, out);
    }
    let own_ns = el.namespace.as_deref().unwrap_or("");
    match el.name.prefix.as_deref() {
        None => {
            if scope.default.as_deref() != Some(own_ns) {
                declare(None, own_ns, &mut scope, out);
            }
        }
        Some(p) => {
            if scope.prefix(p) != Some(own_ns) {
                declare(Some(p), own_ns, &mut scope, out);
            }
        }
    }
    for a in &el.attributes {
        if let (Some(p), Some(ns)) = (a.name.prefix.as_deref(), a.namespace.as_deref())
            && ns != NS_XML
            && scope.prefix(p) != Some(ns)
        {
            declare(Some(p), ns, &mut scope, out);
        }
    }
    for a in &el.attributes {
        out.push(' ');
        out.push_str(&a.name.to_string());
        out.push_str("=\"");
        escape(out, &a.value, true);
        out.push('"');
    }
    if el.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for n in &el.children {
        match n {
            Node::Element(c) => write_element(c, &mut scope, out),
            Node::Text(t) => escape(out, t, false),
            Node::Comment(_) | Node::Pi(_) => {}
        }
    }
    out.push_str("</");
    out.push_str(&name);
    out.push('>');
}

/// Writes `xmlns[:prefix]="uri"` and records the binding in `scope`.
fn declare(prefix: Option<&str>, uri: &str, scope: &mut Scope, out: &mut String) {
    match prefix {
        None => {
            out.push_str(" xmlns=\"");
            scope.default = Some(uri.to_string());
        }
        Some(p) => {
            out.push_str(" xmlns:");
            out.push_str(p);
            out.push_str("=\"");
            scope.prefixes.push((p.to_string(), uri.to_string()));
        }
    }
    escape(out, uri, true);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_children(xml: &str) -> Vec<Element> {
        dom::parse(xml.as_bytes(), &Limits::default())
            .expect("parse")
            .root
            .child_elements()
            .cloned()
            .collect()
    }

    #[test]
    fn inherited_namespaces_are_declared_on_the_fragment() {
        let kids = root_children(
            r#"<r xmlns="urn:elmo" xmlns:n="urn:no" xmlns:x="urn:x"><n:e type="t" x:a="1">A &amp; B<!-- c --><n:f>v</n:f><g xmlns="">g</g></n:e><h xmlns="urn:other"><i/></h></r>"#,
        );
        let f = XmlFragment::from_element(&kids[0]);
        assert_eq!(
            f.as_str(),
            r#"<n:e xmlns:n="urn:no" xmlns:x="urn:x" type="t" x:a="1">A &amp; B<n:f>v</n:f><g xmlns="">g</g></n:e>"#
        );
        let g = XmlFragment::from_element(&kids[1]);
        assert_eq!(g.as_str(), r#"<h xmlns="urn:other"><i/></h>"#);
        // The text is a fragment: parsing it again gives the same names and namespaces.
        let back = f.element();
        assert_eq!(back.namespace.as_deref(), Some("urn:no"));
        let inner: Vec<_> = back.child_elements().collect();
        assert_eq!(inner[1].namespace, None);
        assert_eq!(XmlFragment::from_element(&back), f);
    }

    #[test]
    fn unprefixed_elements_in_no_namespace_get_an_explicit_empty_default() {
        let kids = root_children(r#"<r xmlns:p="urn:p"><plain a="&quot;">x</plain></r>"#);
        let f = XmlFragment::from_element(&kids[0]);
        assert_eq!(f.as_str(), r#"<plain xmlns="" a="&quot;">x</plain>"#);
    }

    #[test]
    fn parse_refuses_what_would_break_or_shift_the_host_document() {
        for (bad, why) in [
            ("", "empty"),
            ("text", "not an element"),
            ("<?xml version=\"1.0\"?><a xmlns=\"u\"/>", "declaration"),
            ("<!-- c --><a xmlns=\"u\"/>", "comment first"),
            ("<a xmlns=\"u\"/><b xmlns=\"u\"/>", "two elements"),
            ("<a xmlns=\"u\"><b></a>", "not well-formed"),
            ("<p:a/>", "unbound prefix"),
            ("<a/>", "default namespace undeclared"),
            ("<p:a xmlns:p=\"u\"><b/></p:a>", "child default undeclared"),
            ("<a xmlns=\"u\"/><!-- after -->", "trailing comment"),
        ] {
            assert!(XmlFragment::parse(bad).is_err(), "{why}: {bad}");
        }
        assert!(XmlFragment::parse("<a xmlns=\"\"/>").is_ok());
        assert!(XmlFragment::parse("<p:a xmlns:p=\"u\"><b xmlns=\"\"/></p:a>").is_ok());
    }

    #[test]
    fn serde_checks_the_text() {
        let ok: XmlFragment = serde_json::from_str(r#""<a xmlns=\"u\">x</a>""#).expect("valid");
        assert_eq!(ok.as_str(), "<a xmlns=\"u\">x</a>");
        assert!(serde_json::from_str::<XmlFragment>(r#""</elmo><evil>""#).is_err());
        assert_eq!(
            serde_json::to_string(&ok).expect("json"),
            r#""<a xmlns=\"u\">x</a>""#
        );
    }
}
