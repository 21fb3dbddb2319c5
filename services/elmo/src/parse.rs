//! Reading ELMO from the strict DOM of `emrex-xmldsig`.
//!
//! The signature verifier and this reader walk the *same* tree (`dom::Document`), so what was
//! verified is exactly what is read. On top of that tree the reader is:
//!
//! * **namespace-aware**: only elements in the document's ELMO namespace count, under any prefix
//!   (the Danish `ns0:` output). `<x:learner xmlns:x="urn:evil">` is not a learner — peers that
//!   look elements up by local name can be fooled that way; we cannot.
//! * **lenient where real documents need it** (brief §2.4): unknown elements and attributes are
//!   ignored (the schema's forward-compatibility rule), order is not enforced, missing required
//!   elements become empty values for [`crate::validate()`] to report, dates and tokens are
//!   whitespace-collapsed as their schema types define.
//! * **strict where ambiguity could be exploited**: a single-valued element that occurs twice
//!   (two `learner`s, two `familyName`s, two `issueDate`s…) is an error, never "first wins",
//!   because two consumers could otherwise read two different students out of one signed
//!   document.
//! * **blind to `ds:Signature`**: nothing inside it is read; only its presence as a child of the
//!   root is recorded.

use emrex_xmldsig::Verified;
use emrex_xmldsig::dom::{self, Document, Element, Limits, NS_XML, ParseError};

use crate::dates::convert_dtf;
use crate::model::*;

/// Namespace of XML-Signature elements.
const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
/// Prefix of the off-spec versioned v1 namespaces (`…/tree/v1.3.0`).
const NS_V1_VERSIONED_PREFIX: &str = "https://github.com/emrex-eu/elmo-schemas/tree/v1.";

/// Why a document could not be read as ELMO.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElmoError {
    #[error("XML refused: {0}")]
    Xml(ParseError),
    #[error("root element is {found}, not an ELMO <elmo> element")]
    NotElmo { found: String },
    #[error(
        "root <elmo> is in namespace {namespace:?}, which is not an ELMO namespace \
         (accepted: {NS_ELMO_V1}, {NS_ELMO_V1}.x.y, {NS_ELMO_V2}, {NS_ELMO_PURL})"
    )]
    UnsupportedNamespace { namespace: String },
    #[error("{path} occurs more than once but is single-valued; refusing the ambiguous document")]
    Duplicate { path: String },
    #[error("required element {path} is missing")]
    Missing { path: String },
    #[error("{path} and {other} disagree; refusing the ambiguous document")]
    Conflict { path: String, other: String },
}

// The parser's message is printed in `Xml`'s, so it is not also a `source`.
impl From<ParseError> for ElmoError {
    fn from(e: ParseError) -> Self {
        Self::Xml(e)
    }
}

/// Parses ELMO bytes: strict XML first ([`dom::parse`] under `limits`), then
/// [`from_document`].
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Elmo, ElmoError> {
    let doc = dom::parse(bytes, limits)?;
    from_document(&doc)
}

/// Reads ELMO from the tree whose signature [`emrex_xmldsig::verify`] checked — the only way a
/// received document should be read: a [`Verified`] cannot be built outside the verifier, so
/// what this returns was covered by the signature, parsed once, by the same parser.
pub fn from_verified(verified: &Verified) -> Result<Elmo, ElmoError> {
    from_document(verified.document())
}

/// Reads ELMO from an already parsed document that is not signed (yet): a document about to be
/// signed, or one inspected without trust. Received documents are read with [`from_verified`].
pub fn from_document(doc: &Document) -> Result<Elmo, ElmoError> {
    let root = &doc.root;
    let format = detect_format(root)?;
    let ns = format.namespace().to_string();
    let rd = Reader {
        ns: &ns,
        purl: format == ElmoFormat::LegacyPurl,
    };
    let path = Path::root();

    let mut reports = Vec::new();
    for (i, r) in rd.all(root, "report").enumerate() {
        reports.push(rd.report(r, &path.nth("report", i))?);
    }
    let learner = if rd.purl {
        // The pilot format has no document-level learner: use the first report's, and keep
        // every report's own learner on the report (`Elmo::learners`).
        reports
            .iter()
            .find_map(|r| r.legacy_learner.clone())
            .ok_or_else(|| ElmoError::Missing {
                path: path.child("report").child("learner").render(),
            })?
    } else {
        let el = rd
            .one(root, "learner", &path)?
            .ok_or_else(|| ElmoError::Missing {
                path: path.child("learner").render(),
            })?;
        rd.learner(el, &path.child("learner"))?
    };
    let mut attachments = Vec::new();
    for (i, a) in rd.all(root, "attachment").enumerate() {
        attachments.push(rd.attachment(a, &path.nth("attachment", i))?);
    }
    let groups = rd.one(root, "groups", &path)?.map(|g| rd.groups(g));
    Ok(Elmo {
        generated_date: rd.token(root, "generatedDate", &path)?.unwrap_or_default(),
        learner,
        reports,
        attachments,
        groups,
        has_extension: rd.all(root, "extension").next().is_some(),
        has_signature: root.child_elements().any(|c| c.is(NS_DSIG, "Signature")),
        format,
    })
}

/// Decides the dialect from the root element, or explains why it is not ELMO.
pub fn detect_format(root: &Element) -> Result<ElmoFormat, ElmoError> {
    let ns = root.namespace.as_deref().unwrap_or("");
    if root.local_name() != "elmo" {
        return Err(ElmoError::NotElmo {
            found: clark(ns, root.local_name()),
        });
    }
    match ns {
        NS_ELMO_V1 => Ok(ElmoFormat::V1),
        NS_ELMO_V2 => Ok(ElmoFormat::V2),
        NS_ELMO_PURL => Ok(ElmoFormat::LegacyPurl),
        _ => match ns.strip_prefix(NS_V1_VERSIONED_PREFIX) {
            Some(v)
                if !v.is_empty()
                    && !v.starts_with('.')
                    && !v.ends_with('.')
                    && v.chars().all(|c| c.is_ascii_digit() || c == '.') =>
            {
                Ok(ElmoFormat::V1OffSpecNamespace(ns.to_string()))
            }
            _ => Err(ElmoError::UnsupportedNamespace {
                namespace: ns.to_string(),
            }),
        },
    }
}

fn clark(ns: &str, local: &str) -> String {
    if ns.is_empty() {
        format!("<{local}> (no namespace)")
    } else {
        format!("<{{{ns}}}{local}>")
    }
}

/// `xs:token` whitespace rule: runs of XML whitespace become one space, ends are trimmed.
/// (Only XML whitespace: a no-break space is content.)
pub(crate) fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for part in s
        .split(['\u{20}', '\t', '\n', '\r'])
        .filter(|p| !p.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(part);
    }
    out
}

/// A location in the document, rendered only when an error is reported.
#[derive(Clone, Copy)]
struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    name: &'a str,
    index: Option<usize>,
}

impl<'a> Path<'a> {
    fn root() -> Path<'static> {
        Path {
            parent: None,
            name: "elmo",
            index: None,
        }
    }

    fn child<'b>(&'b self, name: &'b str) -> Path<'b> {
        Path {
            parent: Some(self),
            name,
            index: None,
        }
    }

    fn nth<'b>(&'b self, name: &'b str, index: usize) -> Path<'b> {
        Path {
            parent: Some(self),
            name,
            index: Some(index),
        }
    }

    fn render(&self) -> String {
        let mut segs = Vec::new();
        let mut cur = Some(self);
        while let Some(p) = cur {
            segs.push(match p.index {
                Some(i) => format!("{}[{}]", p.name, i + 1),
                None => p.name.to_string(),
            });
            cur = p.parent;
        }
        segs.reverse();
        format!("/{}", segs.join("/"))
    }
}

struct Reader<'n> {
    ns: &'n str,
    purl: bool,
}

impl<'n> Reader<'n> {
    /// ELMO children with this local name.
    fn all<'e>(&self, parent: &'e Element, local: &'e str) -> impl Iterator<Item = &'e Element> + 'e
    where
        'n: 'e,
    {
        parent.children_named(self.ns, local)
    }

    /// The ELMO child with this local name, if any; an error if there are several.
    fn one<'e>(
        &self,
        parent: &'e Element,
        local: &str,
        path: &Path<'_>,
    ) -> Result<Option<&'e Element>, ElmoError> {
        let mut it = parent.child_elements().filter(|e| e.is(self.ns, local));
        let first = it.next();
        if it.next().is_some() {
            return Err(ElmoError::Duplicate {
                path: path.child(local).render(),
            });
        }
        Ok(first)
    }

    /// Collapsed text of an optional single-valued element; empty counts as absent (the schema
    /// asks servers to omit unknown optional values, and several write them empty).
    fn token(
        &self,
        parent: &Element,
        local: &str,
        path: &Path<'_>,
    ) -> Result<Option<String>, ElmoError> {
        Ok(self
            .one(parent, local, path)?
            .map(|e| collapse(&e.text()))
            .filter(|s| !s.is_empty()))
    }

    /// Like [`Reader::token`] for dates: in the pilot format a `dtf` attribute gives the
    /// pattern, and the value is converted to `YYYY-MM-DD` when the pattern is understood.
    fn date(
        &self,
        parent: &Element,
        local: &str,
        path: &Path<'_>,
    ) -> Result<Option<String>, ElmoError> {
        let Some(e) = self.one(parent, local, path)? else {
            return Ok(None);
        };
        let v = collapse(&e.text());
        if v.is_empty() {
            return Ok(None);
        }
        if self.purl
            && let Some(iso) = e.attr("dtf").and_then(|p| convert_dtf(&v, p.trim()))
        {
            return Ok(Some(iso));
        }
        Ok(Some(v))
    }

    fn lang_texts(&self, parent: &Element, local: &str, token: bool) -> Vec<LangText> {
        self.all(parent, local)
            .map(|e| {
                let t = e.text();
                LangText {
                    lang: lang_of(e),
                    text: if token { collapse(&t) } else { t },
                }
            })
            .collect()
    }

    fn identifiers(&self, parent: &Element) -> Vec<Identifier> {
        self.all(parent, "identifier")
            .map(|e| Identifier {
                id_type: e.attr("type").map(collapse).unwrap_or_default(),
                value: collapse(&e.text()),
            })
            .collect()
    }

    fn learner(&self, e: &Element, path: &Path<'_>) -> Result<Learner, ElmoError> {
        let bday = self.date(e, "bday", path)?;
        let dob = self.date(e, "dateOfBirth", path)?;
        let birth = match (dob, bday) {
            (Some(a), Some(b)) => {
                let same = match (crate::dates::parse_date(&a), crate::dates::parse_date(&b)) {
                    (Some(x), Some(y)) => x == y,
                    _ => a == b,
                };
                if !same {
                    return Err(ElmoError::Conflict {
                        path: path.child("dateOfBirth").render(),
                        other: path.child("bday").render(),
                    });
                }
                Some(a)
            }
            (a, b) => a.or(b),
        };
        let alternative_name = self.one(e, "alternativeName", path)?.map(|a| LangText {
            lang: lang_of(a),
            text: a.text(),
        });
        Ok(Learner {
            citizenship: self.token(e, "citizenship", path)?,
            identifiers: self.identifiers(e),
            given_names: self.token(e, "givenNames", path)?.unwrap_or_default(),
            family_name: self.token(e, "familyName", path)?.unwrap_or_default(),
            bday: birth,
            place_of_birth: self.token(e, "placeOfBirth", path)?,
            birth_name: self.token(e, "birthName", path)?,
            gender: self.token(e, "gender", path)?,
            alternative_name,
        })
    }

    fn report(&self, e: &Element, path: &Path<'_>) -> Result<Report, ElmoError> {
        let issuer = match self.one(e, "issuer", path)? {
            Some(i) => self.issuer(i, &path.child("issuer"))?,
            None => Issuer::default(),
        };
        let mut los = Vec::new();
        for (i, l) in self.all(e, "learningOpportunitySpecification").enumerate() {
            los.push(self.los(l, &path.nth("learningOpportunitySpecification", i))?);
        }
        let grading_schemes = self
            .all(e, "gradingScheme")
            .map(|g| GradingScheme {
                local_id: g.attr("localId").map(collapse).unwrap_or_default(),
                descriptions: self.lang_texts(g, "description", false),
            })
            .collect();
        let mut attachments = Vec::new();
        for (i, a) in self.all(e, "attachment").enumerate() {
            attachments.push(self.attachment(a, &path.nth("attachment", i))?);
        }
        // Only the pilot format defines report/learner; in v1 it is an unknown element (the
        // Swedish 2016 EMP leaves an empty one there) and is ignored.
        let legacy_learner = if self.purl {
            match self.one(e, "learner", path)? {
                Some(l) => Some(self.learner(l, &path.child("learner"))?),
                None => None,
            }
        } else {
            None
        };
        Ok(Report {
            issuer,
            learning_opportunities: los,
            issue_date: self.date(e, "issueDate", path)?.unwrap_or_default(),
            grading_schemes,
            attachments,
            legacy_learner,
        })
    }

    fn issuer(&self, e: &Element, path: &Path<'_>) -> Result<Issuer, ElmoError> {
        Ok(Issuer {
            country: self.token(e, "country", path)?,
            identifiers: self.identifiers(e),
            titles: self.lang_texts(e, "title", true),
            url: self.token(e, "url", path)?,
        })
    }

    fn los(
        &self,
        e: &Element,
        path: &Path<'_>,
    ) -> Result<LearningOpportunitySpecification, ElmoError> {
        let mut specifies = None;
        if let Some(s) = self.one(e, "specifies", path)? {
            let sp = path.child("specifies");
            if let Some(loi) = self.one(s, "learningOpportunityInstance", &sp)? {
                specifies = Some(self.loi(loi, &sp.child("learningOpportunityInstance"))?);
            }
        }
        if self.purl {
            // The pilot format puts credits on the specification, not the instance.
            let credits = self.credits(e, path)?;
            if let Some(loi) = specifies.as_mut()
                && loi.credits.is_empty()
            {
                loi.credits = credits;
            }
        }
        let mut has_part = Vec::new();
        for (i, hp) in self.all(e, "hasPart").enumerate() {
            let hpp = path.nth("hasPart", i);
            if let Some(child) = self.one(hp, "learningOpportunitySpecification", &hpp)? {
                has_part.push(self.los(child, &hpp.child("learningOpportunitySpecification"))?);
            }
        }
        Ok(LearningOpportunitySpecification {
            identifiers: self.identifiers(e),
            titles: self.lang_texts(e, "title", true),
            los_type: self.token(e, "type", path)?,
            subject_area: self.token(e, "subjectArea", path)?,
            isced_code: self.token(e, "iscedCode", path)?,
            url: self.token(e, "url", path)?,
            descriptions: self.lang_texts(e, "description", false),
            descriptions_html: self.lang_texts(e, "descriptionHtml", false),
            specifies,
            has_part,
        })
    }

    fn credits(&self, e: &Element, path: &Path<'_>) -> Result<Vec<Credit>, ElmoError> {
        let mut out = Vec::new();
        for (i, c) in self.all(e, "credit").enumerate() {
            let cp = path.nth("credit", i);
            out.push(Credit {
                scheme: self.token(c, "scheme", &cp)?.unwrap_or_default(),
                level: self.token(c, "level", &cp)?,
                value: self.token(c, "value", &cp)?,
            });
        }
        Ok(out)
    }

    fn loi(&self, e: &Element, path: &Path<'_>) -> Result<LearningOpportunityInstance, ElmoError> {
        let academic_term = match self.one(e, "academicTerm", path)? {
            Some(t) => {
                let tp = path.child("academicTerm");
                Some(AcademicTerm {
                    titles: self.lang_texts(t, "title", true),
                    start: self.date(t, "start", &tp)?.unwrap_or_default(),
                    end: self.date(t, "end", &tp)?.unwrap_or_default(),
                })
            }
            None => None,
        };
        // A present-but-empty status must not turn into the "absent ⇒ passed" default.
        let status = self
            .one(e, "status", path)?
            .map(|s| LoiStatus::from_text(&collapse(&s.text())));
        let shortened_grading = match self.one(e, "shortenedGrading", path)? {
            Some(s) => {
                let sp = path.child("shortenedGrading");
                Some(ShortenedGrading {
                    percentage_lower: self.token(s, "percentageLower", &sp)?.unwrap_or_default(),
                    percentage_equal: self.token(s, "percentageEqual", &sp)?.unwrap_or_default(),
                    percentage_higher: self.token(s, "percentageHigher", &sp)?.unwrap_or_default(),
                })
            }
            None => None,
        };
        let result_distribution =
            self.one(e, "resultDistribution", path)?
                .map(|d| ResultDistribution {
                    categories: self
                        .all(d, "category")
                        .map(|c| ResultCategory {
                            label: c.attr("label").map(collapse).unwrap_or_default(),
                            count: c.attr("count").map(collapse).unwrap_or_default(),
                        })
                        .collect(),
                    descriptions: self.lang_texts(d, "description", false),
                });
        let mut levels = Vec::new();
        for (i, l) in self.all(e, "level").enumerate() {
            let lp = path.nth("level", i);
            levels.push(Level {
                level_type: self.token(l, "type", &lp)?.unwrap_or_default(),
                description: self.one(l, "description", &lp)?.map(|d| LangText {
                    lang: lang_of(d),
                    text: d.text(),
                }),
                value: self.token(l, "value", &lp)?,
            });
        }
        let attachment_refs = match self.one(e, "attachments", path)? {
            Some(a) => self
                .all(a, "ref")
                .map(|r| collapse(&r.text()))
                .filter(|r| !r.is_empty())
                .collect(),
            None => Vec::new(),
        };
        let grouping = self.one(e, "grouping", path)?.map(|g| Grouping {
            typeref: g.attr("typeref").map(collapse),
            idref: g.attr("idref").map(collapse),
        });
        let diploma_supplement = match self.one(e, "diplomaSupplement", path)? {
            Some(d) => Some(self.diploma_supplement(d, &path.child("diplomaSupplement"))?),
            None => None,
        };
        let mut result_label = self.token(e, "resultLabel", path)?;
        if self.purl && result_label.is_none() {
            result_label = self.token(e, "result", path)?;
        }
        Ok(LearningOpportunityInstance {
            identifiers: self.identifiers(e),
            start: self.date(e, "start", path)?,
            date: self.date(e, "date", path)?,
            academic_term,
            status,
            grading_scheme_local_id: self.token(e, "gradingSchemeLocalId", path)?,
            result_label,
            shortened_grading,
            result_distribution,
            credits: self.credits(e, path)?,
            levels,
            language_of_instruction: self.token(e, "languageOfInstruction", path)?,
            engagement_hours: self.token(e, "engagementHours", path)?,
            attachment_refs,
            grouping,
            diploma_supplement,
        })
    }

    fn diploma_supplement(
        &self,
        e: &Element,
        path: &Path<'_>,
    ) -> Result<DiplomaSupplement, ElmoError> {
        let mut sections = Vec::new();
        for (i, s) in self.all(e, "section").enumerate() {
            sections.push(self.ds_section(s, &path.nth("section", i))?);
        }
        Ok(DiplomaSupplement {
            lang: lang_of(e),
            version: self.token(e, "version", path)?.unwrap_or_default(),
            issue_date: self.date(e, "issueDate", path)?.unwrap_or_default(),
            introduction: self
                .one(e, "introduction", path)?
                .map(Element::text)
                .unwrap_or_default(),
            sections,
        })
    }

    fn ds_section(&self, e: &Element, path: &Path<'_>) -> Result<DsSection, ElmoError> {
        let mut attachments = Vec::new();
        for (i, a) in self.all(e, "attachment").enumerate() {
            attachments.push(self.attachment(a, &path.nth("attachment", i))?);
        }
        let mut sections = Vec::new();
        for (i, s) in self.all(e, "section").enumerate() {
            sections.push(self.ds_section(s, &path.nth("section", i))?);
        }
        Ok(DsSection {
            number: e.attr("number").map(collapse).unwrap_or_default(),
            title: self.token(e, "title", path)?.unwrap_or_default(),
            content: self.one(e, "content", path)?.map(|c| DsContent {
                content_type: c.attr("type").map(collapse),
                text: collapse(&c.text()),
            }),
            additional_information: self
                .all(e, "additionalInformation")
                .map(Element::text)
                .collect(),
            attachments,
            sections,
        })
    }

    fn attachment(&self, e: &Element, path: &Path<'_>) -> Result<Attachment, ElmoError> {
        Ok(Attachment {
            identifiers: self.identifiers(e),
            titles: self.lang_texts(e, "title", true),
            attachment_type: self.token(e, "type", path)?,
            descriptions: self.lang_texts(e, "description", false),
            contents: self
                .all(e, "content")
                .map(|c| AttachmentContent {
                    lang: lang_of(c),
                    data: collapse(&c.text()),
                })
                .collect(),
        })
    }

    fn groups(&self, e: &Element) -> Groups {
        Groups {
            group_types: self
                .all(e, "groupType")
                .map(|t| GroupType {
                    id: t.attr("id").map(str::to_string),
                    titles: self.lang_texts(t, "title", true),
                    groups: self
                        .all(t, "group")
                        .map(|g| Group {
                            id: g.attr("id").map(str::to_string),
                            sorting_key: g.attr("sortingKey").map(str::to_string),
                            titles: self.lang_texts(g, "title", true),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

fn lang_of(e: &Element) -> Option<String> {
    e.attr_ns(NS_XML, "lang").map(|l| l.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Elmo, ElmoError> {
        parse(s.as_bytes(), &Limits::default())
    }

    const MIN: &str = r#"<elmo xmlns="https://github.com/emrex-eu/elmo-schemas/tree/v1">
        <generatedDate>2020-01-01T00:00:00Z</generatedDate>
        <learner><givenNames>Anna</givenNames><familyName>Nowak</familyName><bday>1990-01-02</bday></learner>
        <report><issuer><identifier type="pic">1</identifier><title xml:lang="en">U</title><url>u</url></issuer>
          <issueDate>2020-01-01T00:00:00Z</issueDate></report></elmo>"#;

    #[test]
    fn reads_minimal_document() {
        let e = p(MIN).expect("parse");
        assert_eq!(e.format, ElmoFormat::V1);
        assert_eq!(e.learner.given_names, "Anna");
        assert_eq!(e.learner.bday.as_deref(), Some("1990-01-02"));
        assert_eq!(e.reports.len(), 1);
        assert!(!e.has_signature);
    }

    #[test]
    fn any_prefix_and_off_spec_namespace() {
        let doc = MIN.replace("<", "<e:").replace("<e:/", "</e:").replace(
            "xmlns=\"https://github.com/emrex-eu/elmo-schemas/tree/v1\"",
            "xmlns:e=\"https://github.com/emrex-eu/elmo-schemas/tree/v1.3.0\"",
        );
        let e = p(&doc).expect("parse");
        assert_eq!(
            e.format,
            ElmoFormat::V1OffSpecNamespace(
                "https://github.com/emrex-eu/elmo-schemas/tree/v1.3.0".into()
            )
        );
        assert_eq!(e.learner.family_name, "Nowak");
        assert_eq!(e.reports[0].issuer.titles[0].lang.as_deref(), Some("en"));
    }

    #[test]
    fn foreign_namespace_elements_are_not_elmo() {
        // A learner in another namespace must be ignored, not read.
        let doc = MIN.replace(
            "<learner>",
            r#"<x:learner xmlns:x="urn:evil"><x:givenNames>Eve</x:givenNames></x:learner><learner>"#,
        );
        let e = p(&doc).expect("parse");
        assert_eq!(e.learner.given_names, "Anna");
        // …and a document whose only learner is foreign has no learner.
        let doc = MIN
            .replace("<learner>", r#"<x:learner xmlns:x="urn:evil">"#)
            .replace("</learner>", "</x:learner>");
        assert!(matches!(p(&doc), Err(ElmoError::Missing { .. })));
        // Elements *inside* a foreign element keep the ELMO default namespace, but are not
        // where the reader looks.
        let doc = MIN.replace(
            "<givenNames>Anna</givenNames>",
            r#"<x:wrap xmlns:x="urn:evil"><givenNames>Eve</givenNames></x:wrap><givenNames>Anna</givenNames>"#,
        );
        assert_eq!(p(&doc).expect("parse").learner.given_names, "Anna");
    }

    #[test]
    fn duplicates_are_errors() {
        let doc = MIN.replace(
            "<familyName>Nowak</familyName>",
            "<familyName>Nowak</familyName><familyName>Kowalska</familyName>",
        );
        assert_eq!(
            p(&doc),
            Err(ElmoError::Duplicate {
                path: "/elmo/learner/familyName".into()
            })
        );
        let doc = MIN.replace("</learner>", "</learner><learner/>");
        assert_eq!(
            p(&doc),
            Err(ElmoError::Duplicate {
                path: "/elmo/learner".into()
            })
        );
        let doc = MIN.replace(
            "<issueDate>",
            "<issueDate>2020-01-01T00:00:00Z</issueDate><issueDate>",
        );
        assert_eq!(
            p(&doc),
            Err(ElmoError::Duplicate {
                path: "/elmo/report[1]/issueDate".into()
            })
        );
    }

    #[test]
    fn root_errors() {
        assert!(matches!(
            p(r#"<elmo xmlns="urn:other"/>"#),
            Err(ElmoError::UnsupportedNamespace { .. })
        ));
        assert!(matches!(
            p("<elmo/>"),
            Err(ElmoError::UnsupportedNamespace { .. })
        ));
        assert!(matches!(
            p(r#"<report xmlns="https://github.com/emrex-eu/elmo-schemas/tree/v1"/>"#),
            Err(ElmoError::NotElmo { .. })
        ));
        assert!(matches!(
            p(r#"<elmo xmlns="https://github.com/emrex-eu/elmo-schemas/tree/v1.x"/>"#),
            Err(ElmoError::UnsupportedNamespace { .. })
        ));
        assert!(matches!(p("<elmo"), Err(ElmoError::Xml(_))));
    }

    #[test]
    fn signature_is_only_detected() {
        let doc = MIN.replace(
            "</elmo>",
            r#"<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><learner xmlns="https://github.com/emrex-eu/elmo-schemas/tree/v1"/></Signature></elmo>"#,
        );
        let e = p(&doc).expect("parse");
        assert!(e.has_signature);
        assert_eq!(e.learner.given_names, "Anna");
    }

    #[test]
    fn whitespace_comments_and_empty_optionals() {
        let doc = MIN
            .replace(
                "<generatedDate>2020-01-01T00:00:00Z",
                "<generatedDate>\n 2020-01-01T00:00:00Z ",
            )
            .replace("<givenNames>Anna", "<givenNames>  An<!-- x -->na \n Maria ")
            .replace("<url>u</url>", "<url> </url>");
        let e = p(&doc).expect("parse");
        assert_eq!(e.generated_date, "2020-01-01T00:00:00Z");
        assert_eq!(e.learner.given_names, "Anna Maria");
        assert_eq!(e.reports[0].issuer.url, None);
    }

    #[test]
    fn v2_date_of_birth() {
        let v2 = MIN.replace("tree/v1", "tree/v2");
        let doc = v2.replace(
            "<bday>1990-01-02</bday>",
            "<dateOfBirth>1990-01-03</dateOfBirth>",
        );
        let e = p(&doc).expect("parse");
        assert_eq!(e.format, ElmoFormat::V2);
        assert_eq!(e.learner.bday.as_deref(), Some("1990-01-03"));
        let doc = v2.replace(
            "<bday>",
            "<alternativeName xml:lang=\"el\">Άννα</alternativeName><dateOfBirth>1990-01-02Z</dateOfBirth><bday>",
        );
        let e = p(&doc).expect("same date, different zone");
        assert_eq!(e.learner.bday.as_deref(), Some("1990-01-02Z"));
        assert_eq!(
            e.learner.alternative_name,
            Some(LangText::with_lang("el", "Άννα"))
        );
        let doc = v2.replace("<bday>", "<dateOfBirth>1991-01-02</dateOfBirth><bday>");
        assert!(matches!(p(&doc), Err(ElmoError::Conflict { .. })));
    }

    #[test]
    fn empty_status_is_not_passed() {
        let doc = MIN.replace(
            "<issueDate>",
            "<learningOpportunitySpecification><title>T</title><specifies><learningOpportunityInstance><status/></learningOpportunityInstance></specifies></learningOpportunitySpecification><issueDate>",
        );
        let e = p(&doc).expect("parse");
        let loi = e.reports[0].learning_opportunities[0]
            .specifies
            .as_ref()
            .expect("loi");
        assert_eq!(loi.status, Some(LoiStatus::Other(String::new())));
        assert_ne!(loi.effective_status(), LoiStatus::Passed);
    }

    #[test]
    fn legacy_purl_minimal() {
        let doc = r#"<elmo xmlns="http://purl.org/net/elmo"><report>
            <learner><givenNames>Kaisa</givenNames><familyName>Keränen</familyName><bday dtf="dd-MM-yyyy">18-07-1966</bday></learner>
            <issuer><title xml:lang="en">U</title></issuer>
            <learningOpportunitySpecification><title>C</title><credit><scheme>ECTS</scheme><value>5</value></credit>
              <specifies><learningOpportunityInstance><result>4</result></learningOpportunityInstance></specifies>
            </learningOpportunitySpecification>
            <issueDate dtf="yyyy-MM-dd">2014-05-08</issueDate></report>
            <report><learner><givenNames>Kaisa</givenNames><familyName>Keranen</familyName></learner></report></elmo>"#;
        let e = p(doc).expect("parse");
        assert_eq!(e.format, ElmoFormat::LegacyPurl);
        assert_eq!(e.learner.bday.as_deref(), Some("1966-07-18"));
        assert_eq!(e.learners().count(), 3);
        let loi = e.reports[0].learning_opportunities[0]
            .specifies
            .as_ref()
            .expect("loi");
        assert_eq!(loi.result_label.as_deref(), Some("4"));
        assert_eq!(loi.credits, vec![Credit::new("ECTS", "5")]);
        assert_eq!(e.reports[0].issue_date, "2014-05-08");
    }

    #[test]
    fn path_rendering() {
        let r = Path::root();
        let a = r.nth("report", 1);
        let b = a.child("issuer");
        assert_eq!(b.render(), "/elmo/report[2]/issuer");
    }
}
