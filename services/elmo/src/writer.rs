//! Serializing the model as ELMO v1.7.
//!
//! Output: UTF-8 with an XML declaration, the v1 namespace as default namespace, elements in
//! exactly the order of the v1.7 XSD sequences, two-space indentation between elements (never
//! inside text), no signature (the enveloped signature is added by `emrex-xmldsig` over these
//! exact bytes).
//!
//! Contract: when [`crate::validate::validate`] reports no `Error`, the output validates
//! against the official v1.7 XSD. To keep that promise for values the schema cannot carry, the
//! writer *omits* the few optional, informational values outside their enumeration (citizenship
//! or issuer country not in the Europass list, gender outside ISO 5218, deprecated credit level
//! outside Bachelor/Master/PhD, LOS type outside the four types, malformed `xml:lang`), and maps
//! an unknown attachment type to `Other` (the schema's instruction). Validation reports each as
//! a warning. Data that matters (names, dates, statuses, credits) is always written as is.
//! v2-only fields (`alternativeName`) and extension contents are not written.

use crate::codes::{
    ATTACHMENT_TYPES, CREDIT_LEVELS, GENDERS, LOS_TYPES, is_europass_country, is_language_tag,
};
use crate::model::*;

/// Serializes `elmo` as an ELMO v1.7 document (see the module documentation for the contract).
pub fn to_xml_v17(elmo: &Elmo) -> String {
    let mut w = W {
        out: String::with_capacity(4096),
        depth: 0,
    };
    w.out
        .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    w.open("elmo", &[("xmlns", Some(NS_ELMO_V1))]);
    w.leaf("generatedDate", &[], &elmo.generated_date);
    w.learner(&elmo.learner);
    for r in &elmo.reports {
        w.report(r);
    }
    for a in &elmo.attachments {
        w.attachment(a);
    }
    if let Some(g) = &elmo.groups {
        w.groups(g);
    }
    w.close("elmo");
    w.out
}

struct W {
    out: String,
    depth: usize,
}

type Attrs<'a> = [(&'a str, Option<&'a str>)];

impl W {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn start_tag(&mut self, name: &str, attrs: &Attrs<'_>) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            if let Some(v) = v {
                self.out.push(' ');
                self.out.push_str(k);
                self.out.push_str("=\"");
                escape(&mut self.out, v, true);
                self.out.push('"');
            }
        }
    }

    fn open(&mut self, name: &str, attrs: &Attrs<'_>) {
        self.start_tag(name, attrs);
        self.out.push_str(">\n");
        self.depth += 1;
    }

    fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    fn empty(&mut self, name: &str, attrs: &Attrs<'_>) {
        self.start_tag(name, attrs);
        self.out.push_str("/>\n");
    }

    fn leaf(&mut self, name: &str, attrs: &Attrs<'_>, text: &str) {
        self.start_tag(name, attrs);
        self.out.push('>');
        escape(&mut self.out, text, false);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    fn opt(&mut self, name: &str, v: Option<&str>) {
        if let Some(v) = v {
            self.leaf(name, &[], v);
        }
    }

    fn lang_leaf(&mut self, name: &str, t: &LangText) {
        self.leaf(name, &[("xml:lang", valid_lang(&t.lang))], &t.text);
    }

    fn lang_leaves(&mut self, name: &str, ts: &[LangText]) {
        for t in ts {
            self.lang_leaf(name, t);
        }
    }

    fn identifiers(&mut self, ids: &[Identifier]) {
        for i in ids {
            self.leaf("identifier", &[("type", Some(&i.id_type))], &i.value);
        }
    }

    fn learner(&mut self, l: &Learner) {
        self.open("learner", &[]);
        self.opt("citizenship", country(&l.citizenship));
        self.identifiers(&l.identifiers);
        self.leaf("givenNames", &[], &l.given_names);
        self.leaf("familyName", &[], &l.family_name);
        self.opt("bday", l.bday.as_deref());
        self.opt("placeOfBirth", l.place_of_birth.as_deref());
        self.opt("birthName", l.birth_name.as_deref());
        self.opt("gender", in_enum(&l.gender, GENDERS));
        self.close("learner");
    }

    fn report(&mut self, r: &Report) {
        self.open("report", &[]);
        self.open("issuer", &[]);
        self.opt("country", country(&r.issuer.country));
        self.identifiers(&r.issuer.identifiers);
        self.lang_leaves("title", &r.issuer.titles);
        self.leaf("url", &[], r.issuer.url.as_deref().unwrap_or(""));
        self.close("issuer");
        for los in &r.learning_opportunities {
            self.los(los);
        }
        self.leaf("issueDate", &[], &r.issue_date);
        for g in &r.grading_schemes {
            if g.descriptions.is_empty() {
                self.empty("gradingScheme", &[("localId", Some(&g.local_id))]);
            } else {
                self.open("gradingScheme", &[("localId", Some(&g.local_id))]);
                self.lang_leaves("description", &g.descriptions);
                self.close("gradingScheme");
            }
        }
        for a in &r.attachments {
            self.attachment(a);
        }
        self.close("report");
    }

    fn los(&mut self, los: &LearningOpportunitySpecification) {
        self.open("learningOpportunitySpecification", &[]);
        self.identifiers(&los.identifiers);
        self.lang_leaves("title", &los.titles);
        self.opt("type", in_enum(&los.los_type, LOS_TYPES));
        self.opt("subjectArea", los.subject_area.as_deref());
        self.opt("iscedCode", los.isced_code.as_deref());
        self.opt("url", los.url.as_deref());
        self.lang_leaves("description", &los.descriptions);
        self.lang_leaves("descriptionHtml", &los.descriptions_html);
        self.open("specifies", &[]);
        match &los.specifies {
            Some(loi) => self.loi(loi),
            None => self.empty("learningOpportunityInstance", &[]),
        }
        self.close("specifies");
        for child in &los.has_part {
            self.open("hasPart", &[]);
            self.los(child);
            self.close("hasPart");
        }
        self.close("learningOpportunitySpecification");
    }

    fn loi(&mut self, loi: &LearningOpportunityInstance) {
        self.open("learningOpportunityInstance", &[]);
        self.identifiers(&loi.identifiers);
        self.opt("start", loi.start.as_deref());
        self.opt("date", loi.date.as_deref());
        if let Some(t) = &loi.academic_term {
            self.open("academicTerm", &[]);
            self.lang_leaves("title", &t.titles);
            self.leaf("start", &[], &t.start);
            self.leaf("end", &[], &t.end);
            self.close("academicTerm");
        }
        self.opt("status", loi.status.as_ref().map(LoiStatus::as_str));
        self.opt(
            "gradingSchemeLocalId",
            loi.grading_scheme_local_id.as_deref(),
        );
        self.opt("resultLabel", loi.result_label.as_deref());
        if let Some(s) = &loi.shortened_grading {
            self.open("shortenedGrading", &[]);
            self.leaf("percentageLower", &[], &s.percentage_lower);
            self.leaf("percentageEqual", &[], &s.percentage_equal);
            self.leaf("percentageHigher", &[], &s.percentage_higher);
            self.close("shortenedGrading");
        }
        if let Some(d) = &loi.result_distribution {
            self.open("resultDistribution", &[]);
            for c in &d.categories {
                self.empty(
                    "category",
                    &[("count", Some(&c.count)), ("label", Some(&c.label))],
                );
            }
            self.lang_leaves("description", &d.descriptions);
            self.close("resultDistribution");
        }
        for c in &loi.credits {
            self.open("credit", &[]);
            self.leaf("scheme", &[], &c.scheme);
            self.opt("level", in_enum(&c.level, CREDIT_LEVELS));
            self.opt("value", c.value.as_deref());
            self.close("credit");
        }
        for l in &loi.levels {
            self.open("level", &[]);
            self.leaf("type", &[], &l.level_type);
            if let Some(d) = &l.description {
                self.lang_leaf("description", d);
            }
            self.opt("value", l.value.as_deref());
            self.close("level");
        }
        self.opt(
            "languageOfInstruction",
            loi.language_of_instruction.as_deref(),
        );
        self.opt("engagementHours", loi.engagement_hours.as_deref());
        if !loi.attachment_refs.is_empty() {
            self.open("attachments", &[]);
            for r in &loi.attachment_refs {
                self.leaf("ref", &[], r);
            }
            self.close("attachments");
        }
        if let Some(g) = &loi.grouping {
            self.empty(
                "grouping",
                &[
                    ("typeref", g.typeref.as_deref()),
                    ("idref", g.idref.as_deref()),
                ],
            );
        }
        if let Some(ds) = &loi.diploma_supplement {
            self.diploma_supplement(ds);
        }
        self.close("learningOpportunityInstance");
    }

    fn diploma_supplement(&mut self, ds: &DiplomaSupplement) {
        self.open("diplomaSupplement", &[("xml:lang", valid_lang(&ds.lang))]);
        self.leaf("version", &[], &ds.version);
        self.leaf("issueDate", &[], &ds.issue_date);
        self.leaf("introduction", &[], &ds.introduction);
        for s in &ds.sections {
            self.ds_section(s);
        }
        self.close("diplomaSupplement");
    }

    fn ds_section(&mut self, s: &DsSection) {
        self.open("section", &[("number", Some(&s.number))]);
        self.leaf("title", &[], &s.title);
        if let Some(c) = &s.content {
            self.leaf("content", &[("type", c.content_type.as_deref())], &c.text);
        }
        for info in &s.additional_information {
            self.leaf("additionalInformation", &[], info);
        }
        for a in &s.attachments {
            self.attachment(a);
        }
        for sub in &s.sections {
            self.ds_section(sub);
        }
        self.close("section");
    }

    fn attachment(&mut self, a: &Attachment) {
        self.open("attachment", &[]);
        self.identifiers(&a.identifiers);
        self.lang_leaves("title", &a.titles);
        if let Some(t) = &a.attachment_type {
            let t = if ATTACHMENT_TYPES.contains(&t.as_str()) {
                t.as_str()
            } else {
                "Other"
            };
            self.leaf("type", &[], t);
        }
        self.lang_leaves("description", &a.descriptions);
        for c in &a.contents {
            self.leaf("content", &[("xml:lang", valid_lang(&c.lang))], &c.data);
        }
        self.close("attachment");
    }

    fn groups(&mut self, g: &Groups) {
        if g.group_types.is_empty() {
            self.empty("groups", &[]);
            return;
        }
        self.open("groups", &[]);
        for t in &g.group_types {
            self.open("groupType", &[("id", t.id.as_deref())]);
            self.lang_leaves("title", &t.titles);
            for gr in &t.groups {
                self.open(
                    "group",
                    &[
                        ("id", gr.id.as_deref()),
                        ("sortingKey", gr.sorting_key.as_deref()),
                    ],
                );
                self.lang_leaves("title", &gr.titles);
                self.close("group");
            }
            self.close("groupType");
        }
        self.close("groups");
    }
}

fn valid_lang(lang: &Option<String>) -> Option<&str> {
    lang.as_deref().filter(|l| is_language_tag(l))
}

fn country(c: &Option<String>) -> Option<&str> {
    c.as_deref().filter(|c| is_europass_country(c))
}

fn in_enum<'a>(v: &'a Option<String>, allowed: &[&str]) -> Option<&'a str> {
    v.as_deref().filter(|v| allowed.contains(v))
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Escapes text or an attribute value. Characters XML 1.0 cannot carry at all become U+FFFD so
/// the output is always well-formed; CR (and TAB/LF in attributes) are written as references
/// so they survive end-of-line and attribute-value normalization.
fn escape(out: &mut String, s: &str, attr: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\r' => out.push_str("&#xD;"),
            '\n' if attr => out.push_str("&#xA;"),
            '\t' if attr => out.push_str("&#x9;"),
            c if !is_xml_char(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;
    use crate::testutil::fixture;
    use emrex_xmldsig::dom::Limits;

    fn reparse(e: &Elmo) -> Elmo {
        parse(to_xml_v17(e).as_bytes(), &Limits::default()).expect("writer output parses")
    }

    #[test]
    fn round_trips_the_v17_example() {
        let bytes = fixture("xml/elmo-schemas-examples/example-v1.7.0.xml");
        let mut original = parse(&bytes, &Limits::default()).expect("parse example");
        let again = reparse(&original);
        // The writer never emits a signature; everything else must survive.
        assert!(original.has_signature && !again.has_signature);
        original.has_signature = false;
        assert_eq!(original, again);
        // And writing is deterministic.
        assert_eq!(to_xml_v17(&original), to_xml_v17(&again));
    }

    #[test]
    fn round_trips_every_v1_fixture() {
        for rel in [
            "xml/unsigned/fi-my_elmo-2020.xml",
            "xml/signed/dk-weblogic-fixed-ns0-prefixed.xml",
            "xml/negative/se-elmo-1.0-signature-broken.xml",
            "xml/negative/no-emrex-1.0-signature-broken.xml",
            "xml/negative/no-vitnemalsportalen-2023-pretty-printed-signature-broken.xml",
        ] {
            let original = parse(&fixture(rel), &Limits::default()).expect(rel);
            let again = reparse(&original);
            assert_eq!(original.learner, again.learner, "{rel}");
            assert_eq!(original.reports.len(), again.reports.len(), "{rel}");
            for (a, b) in original.reports.iter().zip(&again.reports) {
                assert_eq!(
                    a.all_learning_opportunities().count(),
                    b.all_learning_opportunities().count(),
                    "{rel}"
                );
                assert_eq!(a.issue_date, b.issue_date, "{rel}");
            }
        }
    }

    #[test]
    fn escapes_and_sanitizes() {
        let mut e = Elmo::new(
            Learner::new("A & B <C> \"q\"", "x\r\ny\u{1}z"),
            "2020-01-01T00:00:00Z",
        );
        e.learner.identifiers.push(Identifier::new("t\"\n\t", "v"));
        let xml = to_xml_v17(&e);
        assert!(xml.contains("<givenNames>A &amp; B &lt;C&gt; \"q\"</givenNames>"));
        assert!(xml.contains("type=\"t&quot;&#xA;&#x9;\""));
        let back = reparse(&e);
        assert_eq!(back.learner.given_names, "A & B <C> \"q\"");
        // xs:token collapse on reading turns CR LF into one space; the control char is replaced.
        assert_eq!(back.learner.family_name, "x y\u{FFFD}z");
    }

    #[test]
    fn omits_values_outside_enumerations() {
        let mut e = Elmo::new(
            Learner::new("A", "B").with_citizenship("XK"),
            "2020-01-01T00:00:00Z",
        );
        e.learner.gender = Some("3".into());
        let loi = LearningOpportunityInstance::default().with_credit(Credit {
            scheme: "ECTS".into(),
            level: Some("-".into()),
            value: Some("10.000".into()),
        });
        let mut att = Attachment::new("Weird", LangText::new("t"), "application/pdf", b"%PDF");
        att.contents[0].lang = Some("en_GB".into());
        e = e.with_report(
            Report::new(
                Issuer::new(
                    LangText::with_lang("en", "U"),
                    Identifier::new("pic", "1"),
                    "u",
                ),
                "2020-01-01T00:00:00Z",
            )
            .with_learning_opportunity(
                LearningOpportunitySpecification::new(LangText::new("C"), loi).with_type("Degree"),
            )
            .with_attachment(att),
        );
        let xml = to_xml_v17(&e);
        for absent in ["XK", "<gender>", "<level>", "Degree", "en_GB"] {
            assert!(!xml.contains(absent), "{absent} in {xml}");
        }
        assert!(xml.contains("<type>Other</type>"));
        assert!(xml.contains("<value>10.000</value>"));
    }
}
