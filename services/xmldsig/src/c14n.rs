//! Canonical XML 1.0 (<https://www.w3.org/TR/2001/REC-xml-c14n-20010315>) and Exclusive Canonical
//! XML 1.0 (<https://www.w3.org/TR/2002/REC-xml-exc-c14n-20020718/>), both *without comments*, over
//! the [`crate::dom`] tree.
//!
//! Only the node-sets the EMREX profile produces are supported, which keeps this small enough to
//! review and to test differentially against xmlsec1:
//!
//! * the whole document, optionally minus one element subtree (a `Reference URI=""` with the
//!   enveloped-signature transform), and
//! * one element subtree as a document subset (the `SignedInfo` element), where the apex element
//!   receives the namespace context (and, for inclusive C14N, the `xml:*` attributes) of its
//!   omitted ancestors.
//!
//! The input tree already has line ends and attribute values normalized by the parser, so this
//! module only renders: namespace declarations first (sorted by prefix, default first), then
//! attributes sorted by (namespace URI, local name), empty elements as start/end pairs, and the
//! C14N escaping rules for text and attribute values.

use std::collections::BTreeMap;

use crate::dom::{Attribute, Document, Element, Misc, NS_XML, Node, Pi};

/// Which canonicalization algorithm to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Canonical XML 1.0: every in-scope namespace is rendered where it changes.
    Inclusive,
    /// Exclusive Canonical XML 1.0 (without an InclusiveNamespaces prefix list): a namespace is
    /// rendered only on elements that visibly use it.
    Exclusive,
}

/// Where canonical bytes go: a buffer, or straight into a digest so large documents are hashed
/// without a second copy.
pub trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for aws_lc_rs::digest::Context {
    fn put(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

/// Canonical form of the whole document (comments removed), leaving out `exclude` and everything
/// below it when given (matched by identity, so pass a reference into `doc`).
pub fn document(doc: &Document, mode: Mode, exclude: Option<&Element>) -> Vec<u8> {
    let mut out = Vec::new();
    document_into(doc, mode, exclude, &mut out);
    out
}

/// Like [`document`], writing into any [`Sink`].
pub fn document_into(doc: &Document, mode: Mode, exclude: Option<&Element>, out: &mut dyn Sink) {
    let mut buffered = Buffered::new(out);
    let out: &mut dyn Sink = &mut buffered;
    // Processing instructions outside the root are kept, each separated from the root by a line
    // feed; comments are dropped (this is the "without comments" variant).
    for m in &doc.prolog {
        if let Misc::Pi(pi) = m {
            write_pi(pi, out);
            out.put(b"\n");
        }
    }
    let mut r = Renderer { mode, exclude, out };
    r.element(&doc.root, &Scope::new(), &Scope::new(), &[]);
    for m in &doc.epilog {
        if let Misc::Pi(pi) = m {
            out.put(b"\n");
            write_pi(pi, out);
        }
    }
}

/// Canonical form of the element reached by `path` (indices among child *elements*, starting at
/// the root's children; an empty path is the root) as a document subset consisting of that
/// element's subtree. Returns `None` when the path leads nowhere.
pub fn subtree(doc: &Document, path: &[usize], mode: Mode) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    subtree_into(doc, path, mode, &mut out)?;
    Some(out)
}

/// Like [`subtree`], writing into any [`Sink`].
pub fn subtree_into(doc: &Document, path: &[usize], mode: Mode, out: &mut dyn Sink) -> Option<()> {
    let mut scope = Scope::new();
    let mut xml_attrs: Vec<&Attribute> = Vec::new();
    let mut el = &doc.root;
    for &i in path {
        scope = scope.with(el);
        // Nearest ancestor wins for inherited xml:* attributes.
        for a in &el.attributes {
            if a.namespace.as_deref() == Some(NS_XML) {
                xml_attrs.retain(|x| x.name.local != a.name.local);
                xml_attrs.push(a);
            }
        }
        el = el.child_elements().nth(i)?;
    }
    let inherited: Vec<&Attribute> = match mode {
        Mode::Inclusive => xml_attrs,
        Mode::Exclusive => Vec::new(),
    };
    let mut buffered = Buffered::new(out);
    let mut r = Renderer {
        mode,
        exclude: None,
        out: &mut buffered,
    };
    r.element(el, &scope, &Scope::new(), &inherited);
    Some(())
}

/// Collects the many small pieces of canonical output (tags, names, `="`) into one buffer before
/// they reach the sink: a digest pays a call per `put`, and a canonical ELMO is tens of thousands
/// of pieces. Large pieces (attachments' text) go straight through. Flushed on drop.
struct Buffered<'s> {
    inner: &'s mut dyn Sink,
    buf: Vec<u8>,
}

impl<'s> Buffered<'s> {
    const CAPACITY: usize = 16 * 1024;

    fn new(inner: &'s mut dyn Sink) -> Self {
        Self {
            inner,
            buf: Vec::with_capacity(Self::CAPACITY),
        }
    }

    fn flush(&mut self) {
        if !self.buf.is_empty() {
            self.inner.put(&self.buf);
            self.buf.clear();
        }
    }
}

impl Sink for Buffered<'_> {
    fn put(&mut self, bytes: &[u8]) {
        if bytes.len() >= Self::CAPACITY / 2 {
            // Large pieces go straight through, after everything buffered before them: the
            // order of the bytes is the canonical form (the c14n fuzz target found a 9 KB text
            // written ahead of the 2.7 KB buffered before it).
            self.flush();
            self.inner.put(bytes);
            return;
        }
        if self.buf.len() + bytes.len() > Self::CAPACITY {
            self.flush();
        }
        self.buf.extend_from_slice(bytes);
    }
}

impl Drop for Buffered<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Namespace bindings by prefix; `""` is the default namespace and an empty URI means "none".
#[derive(Clone, Default)]
struct Scope<'a>(BTreeMap<&'a str, &'a str>);

impl<'a> Scope<'a> {
    fn new() -> Self {
        Self::default()
    }

    fn with(&self, el: &'a Element) -> Self {
        let mut s = self.clone();
        for d in &el.ns_decls {
            s.0.insert(d.prefix.as_deref().unwrap_or(""), d.uri.as_str());
        }
        s
    }

    fn get(&self, prefix: &str) -> &'a str {
        self.0.get(prefix).copied().unwrap_or("")
    }
}

struct Renderer<'o, 'x> {
    mode: Mode,
    exclude: Option<&'x Element>,
    out: &'o mut dyn Sink,
}

impl Renderer<'_, '_> {
    /// `parent_scope`: namespaces in scope at the parent; `rendered`: namespaces as rendered by the
    /// nearest output ancestor; `inherited_xml`: `xml:*` attributes the apex inherits.
    fn element<'a>(
        &mut self,
        el: &'a Element,
        parent_scope: &Scope<'a>,
        rendered: &Scope<'a>,
        inherited_xml: &[&'a Attribute],
    ) {
        if self.exclude.is_some_and(|x| std::ptr::eq(x, el)) {
            return;
        }
        let scope_owned;
        let scope = if el.ns_decls.is_empty() {
            parent_scope
        } else {
            scope_owned = parent_scope.with(el);
            &scope_owned
        };

        // Namespace nodes to render on this element, in prefix order (default first).
        let mut decls: Vec<(&'a str, &'a str)> = Vec::new();
        let mut consider = |p: &'a str, uri: &'a str| {
            let before = rendered.get(p);
            if uri != before {
                decls.push((p, uri));
            }
        };
        match self.mode {
            Mode::Inclusive => {
                for (p, u) in &scope.0 {
                    consider(p, u);
                }
            }
            Mode::Exclusive => {
                let mut used: Vec<&'a str> = Vec::with_capacity(1 + el.attributes.len());
                used.push(el.name.prefix.as_deref().unwrap_or(""));
                for a in &el.attributes {
                    if let Some(p) = a.name.prefix.as_deref()
                        && p != "xml"
                    {
                        used.push(p);
                    }
                }
                used.sort_unstable();
                used.dedup();
                for p in used {
                    consider(p, scope.get(p));
                }
            }
        }

        let rendered_owned;
        let rendered_here = if decls.is_empty() {
            rendered
        } else {
            let mut r = rendered.clone();
            for (p, u) in &decls {
                r.0.insert(p, u);
            }
            rendered_owned = r;
            &rendered_owned
        };

        // Attributes: own ones plus inherited xml:* that the element does not override.
        let mut attrs: Vec<&Attribute> = el.attributes.iter().collect();
        for a in inherited_xml {
            if !el
                .attributes
                .iter()
                .any(|o| o.namespace.as_deref() == Some(NS_XML) && o.name.local == a.name.local)
            {
                attrs.push(a);
            }
        }
        attrs.sort_by(|a, b| {
            (a.namespace.as_deref().unwrap_or(""), a.name.local.as_str())
                .cmp(&(b.namespace.as_deref().unwrap_or(""), b.name.local.as_str()))
        });

        let out = &mut *self.out;
        out.put(b"<");
        write_qname(el, out);
        for (p, u) in &decls {
            if p.is_empty() {
                out.put(b" xmlns=\"");
            } else {
                out.put(b" xmlns:");
                out.put(p.as_bytes());
                out.put(b"=\"");
            }
            escape_attr(u, out);
            out.put(b"\"");
        }
        for a in attrs {
            out.put(b" ");
            if let Some(p) = &a.name.prefix {
                out.put(p.as_bytes());
                out.put(b":");
            }
            out.put(a.name.local.as_bytes());
            out.put(b"=\"");
            escape_attr(&a.value, out);
            out.put(b"\"");
        }
        out.put(b">");

        for child in &el.children {
            match child {
                Node::Element(c) => self.element(c, scope, rendered_here, &[]),
                Node::Text(t) => escape_text(t, self.out),
                Node::Pi(pi) => write_pi(pi, self.out),
                Node::Comment(_) => {}
            }
        }
        let out = &mut *self.out;
        out.put(b"</");
        write_qname(el, out);
        out.put(b">");
    }
}

fn write_qname(el: &Element, out: &mut dyn Sink) {
    if let Some(p) = &el.name.prefix {
        out.put(p.as_bytes());
        out.put(b":");
    }
    out.put(el.name.local.as_bytes());
}

fn write_pi(pi: &Pi, out: &mut dyn Sink) {
    out.put(b"<?");
    out.put(pi.target.as_bytes());
    if !pi.data.is_empty() {
        out.put(b" ");
        out.put(pi.data.as_bytes());
    }
    out.put(b"?>");
}

/// Text nodes: `&`, `<`, `>` and carriage return are escaped.
///
/// Most text (and nearly all of its bytes: base64 attachments) needs no escaping at all, so the
/// special bytes are searched with memchr's vectorized scans and the runs between them copied
/// whole.
fn escape_text(s: &str, out: &mut dyn Sink) {
    let bytes = s.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        let rest = &bytes[start..];
        let next = match (
            memchr::memchr3(b'&', b'<', b'>', rest),
            memchr::memchr(b'\r', rest),
        ) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => break,
        };
        out.put(&rest[..next]);
        out.put(match rest[next] {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            _ => b"&#xD;",
        });
        start += next + 1;
    }
    out.put(&bytes[start..]);
}

/// Attribute values: `&`, `<`, `"`, tab, line feed and carriage return are escaped.
fn escape_attr(s: &str, out: &mut dyn Sink) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let rep: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'"' => b"&quot;",
            b'\t' => b"&#x9;",
            b'\n' => b"&#xA;",
            b'\r' => b"&#xD;",
            _ => continue,
        };
        out.put(&bytes[start..i]);
        out.put(rep);
        start = i + 1;
    }
    out.put(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dom::{Limits, parse};

    fn c14n(s: &str, mode: Mode) -> String {
        let d = parse(s.as_bytes(), &Limits::default()).expect("parse");
        String::from_utf8(document(&d, mode, None)).expect("utf8")
    }

    #[test]
    fn buffered_sink_keeps_the_order_of_large_and_small_pieces() {
        // Every size class around the buffer's thresholds, after every fill level.
        let cap = Buffered::CAPACITY;
        let sizes = [
            1,
            cap / 2 - 1,
            cap / 2,
            cap / 2 + 1,
            cap - 1,
            cap,
            cap + 1,
            3 * cap,
        ];
        for &before in &sizes {
            for &large in &sizes {
                for &after in &sizes {
                    let pieces = [vec![b'a'; before], vec![b'b'; large], vec![b'c'; after]];
                    let mut out = Vec::new();
                    {
                        let mut sink = Buffered::new(&mut out);
                        for p in &pieces {
                            sink.put(p);
                        }
                    }
                    assert_eq!(out, pieces.concat(), "sizes {before}, {large}, {after}");
                }
            }
        }
    }

    #[test]
    fn a_text_between_half_and_whole_buffer_stays_inside_its_element() {
        // The shape the c14n fuzz target found: a short head, then one text node of 8-16 KB
        // (an attachment), which was written ahead of the buffered head.
        for len in [8 * 1024, 9 * 1024, 12 * 1024, 16 * 1024 - 20] {
            let doc = format!("<r><a>head</a><c>{}</c></r>", "Q".repeat(len));
            for mode in [Mode::Inclusive, Mode::Exclusive] {
                assert_eq!(c14n(&doc, mode), doc, "text of {len} bytes ({mode:?})");
            }
        }
    }

    #[test]
    fn spec_example_3_2_start_and_end_tags() {
        // From C14N 1.0 §3.3 (without the DTD-dependent parts).
        let input = r#"<doc>
   <e1   />
   <e2   ></e2>
   <e3   name = "elem3"   id="elem3"   />
   <e4   name="elem4"   id="elem4"   ></e4>
   <e5 a:attr="out" b:attr="sorted" attr2="all" attr="I'm"
      xmlns:b="http://www.ietf.org"
      xmlns:a="http://www.w3.org"
      xmlns="http://example.org"/>
   <e6 xmlns="" xmlns:a="http://www.w3.org">
      <e7 xmlns="http://www.ietf.org">
         <e8 xmlns="" xmlns:a="http://www.w3.org">
            <e9 xmlns="" xmlns:a="http://www.ietf.org"/>
         </e8>
      </e7>
   </e6>
</doc>"#;
        let expected = r#"<doc>
   <e1></e1>
   <e2></e2>
   <e3 id="elem3" name="elem3"></e3>
   <e4 id="elem4" name="elem4"></e4>
   <e5 xmlns="http://example.org" xmlns:a="http://www.w3.org" xmlns:b="http://www.ietf.org" attr="I'm" attr2="all" b:attr="sorted" a:attr="out"></e5>
   <e6 xmlns:a="http://www.w3.org">
      <e7 xmlns="http://www.ietf.org">
         <e8 xmlns="">
            <e9 xmlns:a="http://www.ietf.org"></e9>
         </e8>
      </e7>
   </e6>
</doc>"#;
        assert_eq!(c14n(input, Mode::Inclusive), expected);
    }

    #[test]
    fn spec_example_3_4_character_modifications() {
        let input = "<doc>\r\n   <text>First line&#x0d;&#10;Second line</text>\n   <value>&#x32;</value>\n   <compute><![CDATA[value>\"0\" && value<\"10\" ?\"valid\":\"error\"]]></compute>\n   <compute expr='value>\"0\" &amp;&amp; value&lt;\"10\" ?\"valid\":\"error\"'>valid</compute>\n   <norm attr=' &apos;   &#x20;&#13;&#xa;&#9;   &apos; '/>\n</doc>";
        let expected = "<doc>\n   <text>First line&#xD;\nSecond line</text>\n   <value>2</value>\n   <compute>value&gt;\"0\" &amp;&amp; value&lt;\"10\" ?\"valid\":\"error\"</compute>\n   <compute expr=\"value>&quot;0&quot; &amp;&amp; value&lt;&quot;10&quot; ?&quot;valid&quot;:&quot;error&quot;\">valid</compute>\n   <norm attr=\" '    &#xD;&#xA;&#x9;   ' \"></norm>\n</doc>";
        assert_eq!(c14n(input, Mode::Inclusive), expected);
    }

    #[test]
    fn pis_and_comments_outside_the_root() {
        let input = "<?xml version=\"1.0\"?>\n\n<?xml-stylesheet   href=\"doc.xsl\"\n   type=\"text/xsl\"   ?>\n\n<doc>Hello, world!<!-- Comment 1 --></doc>\n\n<?pi-without-data     ?>\n\n<!-- Comment 2 -->\n\n<!-- Comment 3 -->";
        let expected = "<?xml-stylesheet href=\"doc.xsl\"\n   type=\"text/xsl\"   ?>\n<doc>Hello, world!</doc>\n<?pi-without-data?>";
        assert_eq!(c14n(input, Mode::Inclusive), expected);
    }

    #[test]
    fn exclusive_renders_only_visibly_used_namespaces() {
        let input =
            r#"<a xmlns="urn:a" xmlns:u="urn:u" xmlns:v="urn:v"><b u:x="1"><c xmlns=""/></b></a>"#;
        assert_eq!(
            c14n(input, Mode::Exclusive),
            r#"<a xmlns="urn:a"><b xmlns:u="urn:u" u:x="1"><c xmlns=""></c></b></a>"#
        );
        assert_eq!(
            c14n(input, Mode::Inclusive),
            r#"<a xmlns="urn:a" xmlns:u="urn:u" xmlns:v="urn:v"><b u:x="1"><c xmlns=""></c></b></a>"#
        );
    }

    #[test]
    fn subtree_apex_gets_context() {
        let input = r#"<r xmlns="urn:r" xmlns:p="urn:p" xml:lang="en"><s xmlns="urn:s"><t a="1"><p:u/></t></s></r>"#;
        let d = parse(input.as_bytes(), &Limits::default()).expect("parse");
        let inc =
            String::from_utf8(subtree(&d, &[0, 0], Mode::Inclusive).expect("path")).expect("utf8");
        assert_eq!(
            inc,
            r#"<t xmlns="urn:s" xmlns:p="urn:p" a="1" xml:lang="en"><p:u></p:u></t>"#
        );
        let exc =
            String::from_utf8(subtree(&d, &[0, 0], Mode::Exclusive).expect("path")).expect("utf8");
        assert_eq!(
            exc,
            r#"<t xmlns="urn:s" a="1"><p:u xmlns:p="urn:p"></p:u></t>"#
        );
        assert!(subtree(&d, &[3], Mode::Inclusive).is_none());
    }

    #[test]
    fn excluded_subtree_leaves_surrounding_whitespace() {
        let input = "<r>\n <a/>\n <sig><x/></sig>\n</r>";
        let d = parse(input.as_bytes(), &Limits::default()).expect("parse");
        let sig = d.root.child_elements().nth(1).expect("sig");
        let out = String::from_utf8(document(&d, Mode::Inclusive, Some(sig))).expect("utf8");
        assert_eq!(out, "<r>\n <a></a>\n \n</r>");
    }
}
