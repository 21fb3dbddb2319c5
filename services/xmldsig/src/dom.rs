//! A strict, namespace-aware XML tree built on quick-xml.
//!
//! This is the *one* parser of the project: the signature verifier canonicalizes this tree and the
//! ELMO reader reads its business data from the very same tree, so the two can never disagree about
//! what a document says (the parser-differential class of XML-signature bypasses).
//!
//! It is deliberately stricter than a general XML parser: no DTD at all (so no entities beyond the
//! five predefined ones, no default attributes, no external resources), UTF-8 only, every prefix must
//! be bound, no duplicate attributes (also not by expanded name), and hard limits on size, depth,
//! attributes, nodes and text length so hostile input is refused quickly.

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use std::sync::Arc;

/// The namespace bound to the `xml` prefix by definition.
pub const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";
/// The namespace of namespace declarations (`xmlns`, `xmlns:p`); never bindable.
pub const NS_XMLNS: &str = "http://www.w3.org/2000/xmlns/";

/// Resource limits for [`parse`]. Every limit is checked while reading, before memory is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted document, in bytes.
    pub max_bytes: usize,
    /// Deepest element nesting (the root is depth 1).
    pub max_depth: usize,
    /// Most attributes (including namespace declarations) on one element.
    pub max_attributes: usize,
    /// Most nodes (elements, text runs, comments, PIs) in the whole document.
    pub max_nodes: usize,
    /// Longest single text node, in bytes (ELMO carries base64 PDFs in text nodes).
    pub max_text_bytes: usize,
    /// Longest element or attribute name, and longest attribute value, in bytes.
    pub max_name_bytes: usize,
}

impl Default for Limits {
    /// Defaults sized for ELMO: a transcript with a few hundred courses and several PDF attachments
    /// is a few MB; nothing legitimate nests deeper than a few dozen levels.
    fn default() -> Self {
        Self {
            max_bytes: 32 * 1024 * 1024,
            max_depth: 100,
            max_attributes: 64,
            max_nodes: 1_000_000,
            max_text_bytes: 24 * 1024 * 1024,
            max_name_bytes: 1024,
        }
    }
}

/// Why a document was refused by the parser.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("document is {size} bytes, more than the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("document is not valid UTF-8 (at byte {0}); only UTF-8 is accepted")]
    NotUtf8(usize),
    #[error("documents encoded as UTF-16/UTF-32 are not accepted; send UTF-8")]
    WideEncoding,
    #[error("XML declaration names encoding {0:?}; only UTF-8 is accepted")]
    UnsupportedEncoding(String),
    #[error("XML version {0:?} is not supported; only 1.0")]
    UnsupportedVersion(String),
    #[error("document type declarations (DOCTYPE) are not allowed")]
    Doctype,
    #[error("element nesting deeper than the limit of {0}")]
    TooDeep(usize),
    #[error("more than {0} attributes on one element")]
    TooManyAttributes(usize),
    #[error("more than {0} nodes in the document")]
    TooManyNodes(usize),
    #[error("a text node is longer than the limit of {0} bytes")]
    TextTooLong(usize),
    #[error("a name or attribute value is longer than the limit of {0} bytes")]
    NameTooLong(usize),
    #[error("undefined entity reference &{0};")]
    UndefinedEntity(String),
    #[error("invalid character reference &{0};")]
    InvalidCharRef(String),
    #[error("character U+{0:04X} is not allowed in XML 1.0")]
    InvalidChar(u32),
    #[error("'<' is not allowed in an attribute value")]
    LtInAttribute,
    #[error("prefix {0:?} is not bound to a namespace")]
    UnboundPrefix(String),
    #[error("invalid namespace declaration: {0}")]
    BadNamespaceDeclaration(String),
    #[error("duplicate attribute {0}")]
    DuplicateAttribute(String),
    #[error("invalid name {0:?}")]
    BadName(String),
    #[error("no root element")]
    NoRoot,
    #[error("content after the root element")]
    ContentAfterRoot,
    #[error("text outside the root element")]
    TextOutsideRoot,
    #[error("XML declaration is not at the start of the document")]
    MisplacedDeclaration,
    #[error("malformed XML at byte {offset}: {message}")]
    Syntax { offset: u64, message: String },
}

/// A qualified name as written (`prefix:local`), kept so canonical output keeps the author's prefixes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QName {
    pub prefix: Option<String>,
    pub local: String,
}

impl QName {
    fn split(raw: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::BadName(raw.to_string());
        match raw.split_once(':') {
            None => {
                if raw.is_empty() {
                    return Err(bad());
                }
                Ok(Self {
                    prefix: None,
                    local: raw.to_string(),
                })
            }
            Some((p, l)) => {
                if p.is_empty() || l.is_empty() || l.contains(':') {
                    return Err(bad());
                }
                Ok(Self {
                    prefix: Some(p.to_string()),
                    local: l.to_string(),
                })
            }
        }
    }
}

impl std::fmt::Display for QName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.prefix {
            Some(p) => write!(f, "{p}:{}", self.local),
            None => f.write_str(&self.local),
        }
    }
}

/// A namespace declaration written on an element: `xmlns="uri"` (prefix `None`) or `xmlns:p="uri"`.
/// `xmlns=""` (an undeclaration of the default namespace) has an empty `uri`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsDecl {
    pub prefix: Option<String>,
    pub uri: String,
}

/// An attribute (not a namespace declaration), with its value already normalized as XML 1.0
/// requires for CDATA attributes (there is no DTD, so every attribute is CDATA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: QName,
    /// Namespace of a prefixed attribute; unprefixed attributes are in no namespace.
    pub namespace: Option<String>,
    pub value: String,
}

/// A node in an element's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    /// Character data with references resolved and line ends normalized; adjacent text and CDATA
    /// sections are merged into one node.
    Text(String),
    Comment(String),
    Pi(Pi),
}

/// A processing instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pi {
    pub target: String,
    pub data: String,
}

/// Comments and processing instructions outside the root element (whitespace there is dropped,
/// as the XML data model does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Misc {
    Comment(String),
    Pi(Pi),
}

/// An element with resolved namespaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub name: QName,
    /// The element's namespace URI (`None` when it is in no namespace). Shared with the
    /// declaration in scope rather than copied: a document's elements are nearly all in one or
    /// two namespaces, and a copy per element was a tenth of the parse.
    pub namespace: Option<Arc<str>>,
    /// Namespace declarations written on this element, in document order.
    pub ns_decls: Vec<NsDecl>,
    /// Attributes other than namespace declarations, in document order.
    pub attributes: Vec<Attribute>,
    pub children: Vec<Node>,
}

impl Element {
    /// Local name of the element.
    pub fn local_name(&self) -> &str {
        &self.name.local
    }

    /// True when this element has the given namespace and local name.
    pub fn is(&self, namespace: &str, local: &str) -> bool {
        self.name.local == local && self.namespace.as_deref() == Some(namespace)
    }

    /// Value of an unqualified attribute (attributes without prefix are in no namespace).
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.namespace.is_none() && a.name.local == local)
            .map(|a| a.value.as_str())
    }

    /// Value of a namespaced attribute, e.g. `xml:lang` is `attr_ns(NS_XML, "lang")`.
    pub fn attr_ns(&self, namespace: &str, local: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.namespace.as_deref() == Some(namespace) && a.name.local == local)
            .map(|a| a.value.as_str())
    }

    /// Child elements, in order.
    pub fn child_elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    /// Child elements with the given namespace and local name.
    pub fn children_named<'a>(
        &'a self,
        namespace: &'a str,
        local: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.child_elements()
            .filter(move |e| e.is(namespace, local))
    }

    /// First child element with the given namespace and local name.
    pub fn first_child(&self, namespace: &str, local: &str) -> Option<&Element> {
        self.child_elements().find(|e| e.is(namespace, local))
    }

    /// The text of this element: every text node below it concatenated in document order.
    /// Comments and processing instructions do not cut the text (a comment inside a signed name
    /// must not truncate what a consumer reads, see the Duo class of SAML bugs).
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.collect_text(&mut out);
        out
    }

    fn collect_text(&self, out: &mut String) {
        for n in &self.children {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Element(e) => e.collect_text(out),
                Node::Comment(_) | Node::Pi(_) => {}
            }
        }
    }

    /// True if the element has child elements, comments or PIs (not just text).
    pub fn has_non_text_children(&self) -> bool {
        self.children.iter().any(|n| !matches!(n, Node::Text(_)))
    }

    /// Visits this element and every descendant element, depth first, in document order.
    pub fn descendants(&self) -> Descendants<'_> {
        Descendants { stack: vec![self] }
    }
}

/// Iterator over an element and its descendant elements (see [`Element::descendants`]).
#[derive(Debug)]
pub struct Descendants<'a> {
    stack: Vec<&'a Element>,
}

impl<'a> Iterator for Descendants<'a> {
    type Item = &'a Element;
    fn next(&mut self) -> Option<&'a Element> {
        let e = self.stack.pop()?;
        for child in e.children.iter().rev() {
            if let Node::Element(c) = child {
                self.stack.push(c);
            }
        }
        Some(e)
    }
}

/// A parsed document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub prolog: Vec<Misc>,
    pub root: Element,
    pub epilog: Vec<Misc>,
    /// Byte offset (in the input given to [`parse`]) where the root element's end tag starts, or
    /// `None` when the root was written as an empty-element tag. The signer inserts the enveloped
    /// signature here, so everything else stays byte-identical.
    pub root_end_offset: Option<usize>,
}

/// Parses a document under the given limits.
pub fn parse(input: &[u8], limits: &Limits) -> Result<Document, ParseError> {
    if input.len() > limits.max_bytes {
        return Err(ParseError::TooLarge {
            size: input.len(),
            limit: limits.max_bytes,
        });
    }
    if input.starts_with(&[0xFE, 0xFF])
        || input.starts_with(&[0xFF, 0xFE])
        || input.starts_with(&[0, 0])
        || (input.len() >= 2 && (input[0] == 0 || input[1] == 0))
    {
        return Err(ParseError::WideEncoding);
    }
    let (bom_len, body) = match input.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        Some(rest) => (3, rest),
        None => (0, input),
    };
    let text =
        std::str::from_utf8(body).map_err(|e| ParseError::NotUtf8(e.valid_up_to() + bom_len))?;
    let mut builder = Builder::new(limits);
    builder.run(text)?;
    let mut doc = builder.finish()?;
    doc.root_end_offset = doc.root_end_offset.map(|o| o + bom_len);
    Ok(doc)
}

struct Frame {
    element: Element,
    /// In-scope prefix bindings after this element's declarations (None key = default namespace).
    scope_len: usize,
}

struct Builder<'l> {
    limits: &'l Limits,
    prolog: Vec<Misc>,
    epilog: Vec<Misc>,
    root: Option<Element>,
    stack: Vec<Frame>,
    /// Namespace bindings in scope, innermost last (prefix, uri); `None` = default namespace.
    bindings: Vec<(Option<String>, Arc<str>)>,
    text: String,
    text_open: bool,
    nodes: usize,
    root_end_offset: Option<usize>,
    seen_anything: bool,
}

impl<'l> Builder<'l> {
    fn new(limits: &'l Limits) -> Self {
        Self {
            limits,
            prolog: Vec::new(),
            epilog: Vec::new(),
            root: None,
            stack: Vec::new(),
            bindings: Vec::new(),
            text: String::new(),
            text_open: false,
            nodes: 0,
            root_end_offset: None,
            seen_anything: false,
        }
    }

    fn count_node(&mut self) -> Result<(), ParseError> {
        self.nodes += 1;
        if self.nodes > self.limits.max_nodes {
            return Err(ParseError::TooManyNodes(self.limits.max_nodes));
        }
        Ok(())
    }

    fn run(&mut self, text: &str) -> Result<(), ParseError> {
        let mut reader = Reader::from_str(text);
        {
            let cfg = reader.config_mut();
            cfg.trim_text(false);
            cfg.expand_empty_elements = false;
            cfg.check_end_names = true;
            cfg.check_comments = true;
            cfg.allow_dangling_amp = false;
            cfg.allow_unmatched_ends = false;
        }
        loop {
            let pos = reader.buffer_position() as usize;
            let event = reader.read_event().map_err(|e| ParseError::Syntax {
                offset: reader.error_position(),
                message: e.to_string(),
            })?;
            let first = !self.seen_anything;
            self.seen_anything = true;
            match event {
                Event::Decl(d) => {
                    if !first || pos != 0 {
                        return Err(ParseError::MisplacedDeclaration);
                    }
                    let version = d.version().map_err(|e| ParseError::Syntax {
                        offset: 0,
                        message: e.to_string(),
                    })?;
                    if version.as_ref() != "1.0" {
                        return Err(ParseError::UnsupportedVersion(version.into_owned()));
                    }
                    if let Some(enc) = d.encoding() {
                        let enc = enc.map_err(|e| ParseError::Syntax {
                            offset: 0,
                            message: e.to_string(),
                        })?;
                        let e = enc.to_ascii_lowercase();
                        if e != "utf-8" && e != "utf8" {
                            return Err(ParseError::UnsupportedEncoding(enc.into_owned()));
                        }
                    }
                }
                Event::DocType(_) => return Err(ParseError::Doctype),
                Event::Start(s) => {
                    self.flush_text()?;
                    self.start(&s)?;
                }
                Event::Empty(s) => {
                    self.flush_text()?;
                    self.start(&s)?;
                    self.end(None)?;
                }
                Event::End(_) => {
                    self.flush_text()?;
                    let offset = pos;
                    self.end(Some(offset))?;
                }
                Event::Text(t) => {
                    let raw = t.xml10_content();
                    self.push_text(&raw, true)?;
                }
                Event::GeneralRef(r) => {
                    let name: &str = &r;
                    let resolved = resolve_reference(name)?;
                    self.push_text(resolved.encode_utf8(&mut [0u8; 4]), false)?;
                }
                Event::CData(c) => {
                    let raw = c.xml10_content();
                    check_chars(&raw)?;
                    self.push_text(&raw, false)?;
                }
                Event::Comment(c) => {
                    self.flush_text()?;
                    let content = c.xml10_content().into_owned();
                    check_chars(&content)?;
                    self.count_node()?;
                    match self.stack.last_mut() {
                        Some(f) => f.element.children.push(Node::Comment(content)),
                        None => self.misc(Misc::Comment(content)),
                    }
                }
                Event::PI(p) => {
                    self.flush_text()?;
                    let target = p.target().to_string();
                    if target.eq_ignore_ascii_case("xml") {
                        return Err(ParseError::MisplacedDeclaration);
                    }
                    if target.contains(':') {
                        return Err(ParseError::BadName(target));
                    }
                    // `content()` includes the whitespace that separates target and data.
                    let data =
                        normalize_eol(p.content().trim_start_matches([' ', '\t', '\r', '\n']));
                    check_chars(&data)?;
                    self.count_node()?;
                    let pi = Pi { target, data };
                    match self.stack.last_mut() {
                        Some(f) => f.element.children.push(Node::Pi(pi)),
                        None => self.misc(Misc::Pi(pi)),
                    }
                }
                Event::Eof => break,
            }
        }
        self.flush_text()?;
        if !self.stack.is_empty() {
            return Err(ParseError::Syntax {
                offset: text.len() as u64,
                message: "unexpected end of document: unclosed elements".into(),
            });
        }
        Ok(())
    }

    fn misc(&mut self, m: Misc) {
        if self.root.is_some() {
            self.epilog.push(m);
        } else {
            self.prolog.push(m);
        }
    }

    /// Appends character data. `check` is true for raw text (checked for legal characters and
    /// stray markup); resolved references and CDATA were checked by the caller.
    fn push_text(&mut self, s: &str, check: bool) -> Result<(), ParseError> {
        if check {
            check_chars(s)?;
        }
        if self.stack.is_empty() {
            if s.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n')) && check {
                return Ok(());
            }
            return Err(ParseError::TextOutsideRoot);
        }
        if self.text.len() + s.len() > self.limits.max_text_bytes {
            return Err(ParseError::TextTooLong(self.limits.max_text_bytes));
        }
        self.text.push_str(s);
        self.text_open = true;
        Ok(())
    }

    fn flush_text(&mut self) -> Result<(), ParseError> {
        if !self.text_open {
            return Ok(());
        }
        self.text_open = false;
        let t = std::mem::take(&mut self.text);
        self.count_node()?;
        if let Some(f) = self.stack.last_mut() {
            f.element.children.push(Node::Text(t));
        }
        Ok(())
    }

    fn lookup(&self, prefix: Option<&str>) -> Option<&str> {
        if prefix == Some("xml") {
            return Some(NS_XML);
        }
        self.bindings
            .iter()
            .rev()
            .find(|(p, _)| p.as_deref() == prefix)
            .map(|(_, u)| &**u)
    }

    /// Like [`Self::lookup`], sharing the bound URI (no copy).
    fn lookup_shared(&self, prefix: Option<&str>) -> Option<Arc<str>> {
        if prefix == Some("xml") {
            return Some(Arc::from(NS_XML));
        }
        self.bindings
            .iter()
            .rev()
            .find(|(p, _)| p.as_deref() == prefix)
            .map(|(_, u)| Arc::clone(u))
    }

    fn start(&mut self, s: &BytesStart<'_>) -> Result<(), ParseError> {
        if self.root.is_some() {
            return Err(ParseError::ContentAfterRoot);
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(ParseError::TooDeep(self.limits.max_depth));
        }
        self.count_node()?;
        let name_ref = s.name();
        let raw_name: &str = name_ref.as_ref();
        if raw_name.len() > self.limits.max_name_bytes {
            return Err(ParseError::NameTooLong(self.limits.max_name_bytes));
        }
        check_name(raw_name)?;
        let name = QName::split(raw_name)?;
        let scope_len = self.bindings.len();

        let mut ns_decls = Vec::new();
        let mut raw_attrs: Vec<(QName, String)> = Vec::new();
        let mut attrs = s.attributes();
        attrs.with_checks(true);
        for (i, a) in attrs.enumerate() {
            if i >= self.limits.max_attributes {
                return Err(ParseError::TooManyAttributes(self.limits.max_attributes));
            }
            let a = a.map_err(|e| match e {
                quick_xml::events::attributes::AttrError::Duplicated(..) => {
                    ParseError::DuplicateAttribute(format!("on <{raw_name}>"))
                }
                other => ParseError::Syntax {
                    offset: 0,
                    message: format!("attribute on <{raw_name}>: {other}"),
                },
            })?;
            let key: &str = a.key.as_ref();
            if key.len() > self.limits.max_name_bytes || a.value.len() > self.limits.max_text_bytes
            {
                return Err(ParseError::NameTooLong(self.limits.max_name_bytes));
            }
            check_name(key)?;
            let value = normalize_attr_value(&a.value)?;
            if key == "xmlns" {
                if value == NS_XML || value == NS_XMLNS {
                    return Err(ParseError::BadNamespaceDeclaration(format!(
                        "the default namespace cannot be {value}"
                    )));
                }
                ns_decls.push(NsDecl {
                    prefix: None,
                    uri: value,
                });
            } else if let Some(p) = key.strip_prefix("xmlns:") {
                if p.is_empty() || p.contains(':') {
                    return Err(ParseError::BadName(key.to_string()));
                }
                if p == "xmlns" {
                    return Err(ParseError::BadNamespaceDeclaration(
                        "the xmlns prefix cannot be declared".into(),
                    ));
                }
                if value.is_empty() {
                    return Err(ParseError::BadNamespaceDeclaration(format!(
                        "prefix {p:?} cannot be undeclared in XML 1.0"
                    )));
                }
                if (p == "xml") != (value == NS_XML) || value == NS_XMLNS {
                    return Err(ParseError::BadNamespaceDeclaration(format!(
                        "prefix {p:?} cannot be bound to {value}"
                    )));
                }
                if p == "xml" {
                    // Declaring xml to its own namespace is legal and meaningless; C14N never
                    // renders it, so it is not kept.
                    continue;
                }
                ns_decls.push(NsDecl {
                    prefix: Some(p.to_string()),
                    uri: value,
                });
            } else {
                raw_attrs.push((QName::split(key)?, value));
            }
        }
        for d in &ns_decls {
            self.bindings
                .push((d.prefix.clone(), Arc::from(d.uri.as_str())));
        }
        let namespace = match &name.prefix {
            Some(p) => Some(
                self.lookup_shared(Some(p))
                    .ok_or_else(|| ParseError::UnboundPrefix(p.clone()))?,
            ),
            None => self.lookup_shared(None).filter(|u| !u.is_empty()),
        };
        let mut attributes: Vec<Attribute> = Vec::with_capacity(raw_attrs.len());
        for (qn, value) in raw_attrs {
            let ns = match &qn.prefix {
                Some(p) => Some(
                    self.lookup(Some(p))
                        .ok_or_else(|| ParseError::UnboundPrefix(p.clone()))?
                        .to_string(),
                ),
                None => None,
            };
            if attributes
                .iter()
                .any(|a| a.namespace == ns && a.name.local == qn.local)
            {
                return Err(ParseError::DuplicateAttribute(format!(
                    "{qn} (same expanded name) on <{raw_name}>"
                )));
            }
            attributes.push(Attribute {
                name: qn,
                namespace: ns,
                value,
            });
        }
        self.stack.push(Frame {
            element: Element {
                name,
                namespace,
                ns_decls,
                attributes,
                children: Vec::new(),
            },
            scope_len,
        });
        Ok(())
    }

    fn end(&mut self, end_offset: Option<usize>) -> Result<(), ParseError> {
        let frame = self.stack.pop().ok_or_else(|| ParseError::Syntax {
            offset: 0,
            message: "end tag without start tag".into(),
        })?;
        self.bindings.truncate(frame.scope_len);
        match self.stack.last_mut() {
            Some(parent) => parent.element.children.push(Node::Element(frame.element)),
            None => {
                self.root_end_offset = end_offset;
                self.root = Some(frame.element);
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Document, ParseError> {
        let root = self.root.ok_or(ParseError::NoRoot)?;
        Ok(Document {
            prolog: self.prolog,
            root,
            epilog: self.epilog,
            root_end_offset: self.root_end_offset,
        })
    }
}

/// XML 1.0 end-of-line handling: CRLF and lone CR become LF.
fn normalize_eol(s: &str) -> String {
    if !s.contains('\r') {
        return s.to_string();
    }
    s.replace("\r\n", "\n").replace('\r', "\n")
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Refuses characters XML 1.0 does not allow. A `&str` cannot hold surrogates, so the only
/// illegal characters are C0 controls other than tab, LF and CR, and U+FFFE / U+FFFF; checking
/// bytes first keeps this fast on large base64 attachments.
fn check_chars(s: &str) -> Result<(), ParseError> {
    let bytes = s.as_bytes();
    // A branch-free pass per 64-byte chunk (the compiler vectorizes it); the byte is looked for
    // only in a chunk that has one.
    let illegal = |b: u8| b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r';
    for chunk in bytes.chunks(64) {
        if chunk.iter().fold(false, |acc, &b| acc | illegal(b))
            && let Some(&b) = chunk.iter().find(|&&b| illegal(b))
        {
            return Err(ParseError::InvalidChar(u32::from(b)));
        }
    }
    if bytes.contains(&0xEF)
        && let Some(c) = s.chars().find(|c| matches!(c, '\u{FFFE}' | '\u{FFFF}'))
    {
        return Err(ParseError::InvalidChar(c as u32));
    }
    Ok(())
}

/// A conservative name check: quick-xml accepts more than XML allows, and names end up in
/// canonical output, so refuse the characters that would change its meaning.
fn check_name(name: &str) -> Result<(), ParseError> {
    let bad = name.is_empty()
        || name.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
        || name.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(
                    c,
                    '<' | '>'
                        | '&'
                        | '"'
                        | '\''
                        | '='
                        | '/'
                        | '?'
                        | '!'
                        | '('
                        | ')'
                        | '['
                        | ']'
                        | ';'
                        | ','
                )
        });
    if bad {
        return Err(ParseError::BadName(name.to_string()));
    }
    Ok(())
}

/// Resolves `&name;` (without the `&` and `;`): the five predefined entities and character
/// references. Anything else is an error, because without a DTD no other entity exists.
fn resolve_reference(name: &str) -> Result<char, ParseError> {
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => {
            if let Some(num) = name.strip_prefix('#') {
                let code = if let Some(hex) = num.strip_prefix('x') {
                    if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                        return Err(ParseError::InvalidCharRef(name.to_string()));
                    }
                    u32::from_str_radix(hex, 16)
                } else {
                    if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit()) {
                        return Err(ParseError::InvalidCharRef(name.to_string()));
                    }
                    num.parse::<u32>()
                }
                .map_err(|_| ParseError::InvalidCharRef(name.to_string()))?;
                let c = char::from_u32(code)
                    .ok_or_else(|| ParseError::InvalidCharRef(name.to_string()))?;
                if !is_xml_char(c) {
                    return Err(ParseError::InvalidCharRef(name.to_string()));
                }
                c
            } else {
                return Err(ParseError::UndefinedEntity(name.to_string()));
            }
        }
    };
    Ok(c)
}

/// Attribute-value normalization for CDATA attributes (XML 1.0 §3.3.3): literal CR LF / CR / LF /
/// TAB become a space first, then references are replaced (a `&#xA;` reference stays a newline).
fn normalize_attr_value(raw: &str) -> Result<String, ParseError> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\r' => {
                if let Some((_, '\n')) = chars.peek() {
                    chars.next();
                }
                out.push(' ');
            }
            '\n' | '\t' => out.push(' '),
            '<' => return Err(ParseError::LtInAttribute),
            '&' => {
                let rest = &raw[i + 1..];
                let end = rest
                    .find(';')
                    .ok_or_else(|| ParseError::InvalidCharRef(rest.chars().take(12).collect()))?;
                let name = &rest[..end];
                out.push(resolve_reference(name)?);
                for _ in 0..=end {
                    chars.next();
                }
            }
            c if !is_xml_char(c) => return Err(ParseError::InvalidChar(c as u32)),
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Document, ParseError> {
        parse(s.as_bytes(), &Limits::default())
    }

    #[test]
    fn resolves_namespaces_and_prefixes() {
        let d = p(r#"<a xmlns="urn:a" xmlns:b="urn:b"><b:c b:x="1" y="2"/><d xmlns=""/></a>"#)
            .expect("parse");
        assert_eq!(d.root.namespace.as_deref(), Some("urn:a"));
        let kids: Vec<_> = d.root.child_elements().collect();
        assert!(kids[0].is("urn:b", "c"));
        assert_eq!(kids[0].attr_ns("urn:b", "x"), Some("1"));
        assert_eq!(kids[0].attr("y"), Some("2"));
        assert_eq!(kids[1].namespace, None);
    }

    #[test]
    fn text_joins_across_comments_cdata_and_references() {
        let d = p("<a>Ada<!-- x -->Eve<![CDATA[<&>]]>&#x41;&amp;\r\n.</a>").expect("parse");
        assert_eq!(d.root.text(), "AdaEve<&>A&\n.");
    }

    #[test]
    fn attribute_values_are_normalized() {
        let d = p("<a v=\"x\ty\r\nz&#xA;&#9;&lt;\"/>").expect("parse");
        assert_eq!(d.root.attr("v"), Some("x y z\n\t<"));
    }

    #[test]
    fn refuses_doctype_entities_and_unbound_prefixes() {
        assert_eq!(
            p("<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>"),
            Err(ParseError::Doctype)
        );
        assert!(matches!(
            p("<a>&e;</a>"),
            Err(ParseError::UndefinedEntity(_))
        ));
        assert!(matches!(p("<x:a/>"), Err(ParseError::UnboundPrefix(_))));
        assert!(matches!(
            p("<a xmlns:p=''/>"),
            Err(ParseError::BadNamespaceDeclaration(_))
        ));
    }

    #[test]
    fn refuses_duplicate_attributes_also_by_expanded_name() {
        assert!(matches!(
            p("<a x='1' x='2'/>"),
            Err(ParseError::DuplicateAttribute(_))
        ));
        assert!(matches!(
            p("<a xmlns:p='urn:x' xmlns:q='urn:x' p:x='1' q:x='2'/>"),
            Err(ParseError::DuplicateAttribute(_))
        ));
    }

    #[test]
    fn refuses_other_encodings() {
        assert!(matches!(
            p("<?xml version='1.0' encoding='ISO-8859-1'?><a/>"),
            Err(ParseError::UnsupportedEncoding(_))
        ));
        assert_eq!(
            parse(b"<a>\xe6</a>", &Limits::default()),
            Err(ParseError::NotUtf8(3))
        );
        assert_eq!(
            parse(b"\xff\xfe<\0a\0/\0>\0", &Limits::default()),
            Err(ParseError::WideEncoding)
        );
        assert!(matches!(
            p("<a>&#0;</a>"),
            Err(ParseError::InvalidCharRef(_))
        ));
        assert!(matches!(p("<a>\u{1}</a>"), Err(ParseError::InvalidChar(1))));
        assert!(matches!(
            p("<a>\u{FFFF}</a>"),
            Err(ParseError::InvalidChar(0xFFFF))
        ));
        assert!(p("<a>\u{FFFD}\u{10000}\t</a>").is_ok());
    }

    #[test]
    fn enforces_limits() {
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        assert!(parse(b"<a><b><c/></b></a>", &limits).is_ok());
        assert_eq!(
            parse(b"<a><b><c><d/></c></b></a>", &limits),
            Err(ParseError::TooDeep(3))
        );
        let limits = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        assert!(matches!(
            parse(b"<a>0123456789</a>", &limits),
            Err(ParseError::TooLarge { .. })
        ));
    }

    #[test]
    fn records_root_end_offset() {
        let s = "\u{feff}<a><b/></a>\n";
        let d = parse(s.as_bytes(), &Limits::default()).expect("parse");
        let off = d.root_end_offset.expect("offset");
        assert_eq!(&s.as_bytes()[off..], b"</a>\n");
    }

    #[test]
    fn refuses_second_root_and_text_outside() {
        assert_eq!(p("<a/><b/>"), Err(ParseError::ContentAfterRoot));
        assert_eq!(p("<a/>x"), Err(ParseError::TextOutsideRoot));
        assert!(p("<?pi x?>\n<a/>\n<!--c-->").is_ok());
    }
}
