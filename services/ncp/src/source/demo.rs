//! Built-in synthetic students with realistic transcripts, for development federations, demos
//! and tests. Every person and result here is invented.
//!
//! The students cover what a client must cope with: several reports from institutions in
//! different countries, titles in several languages (with and without English), non-Latin and
//! accented names, nested programmes, failed and in-progress results, and a student with no
//! results at all.

use emrex_elmo::model::{
    Credit, Elmo, Identifier, Issuer, LangText, Learner, LearningOpportunityInstance,
    LearningOpportunitySpecification, LoiStatus, Report,
};

use super::{ResultsSource, SourceError};
use crate::student::Student;

/// Identifier type of the demo students' ids (`learner/identifier/@type`).
pub const DEMO_ID_TYPE: &str = "local";

/// A demo student as the dev login lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoStudent {
    /// Stable id (`demo-…`), also the `local` identifier.
    pub id: &'static str,
    pub given_names: &'static str,
    pub family_name: &'static str,
    pub birth_date: &'static str,
    pub citizenship: &'static str,
    /// One line for the dev login page, in English, German and French (the order of
    /// `Lang::ALL`).
    pub description: [&'static str; 3],
}

impl DemoStudent {
    /// The dev login page's line about this student, in `lang`.
    pub fn description(&self, lang: emrex_i18n::Lang) -> &'static str {
        let i = emrex_i18n::Lang::ALL
            .iter()
            .position(|l| *l == lang)
            .unwrap_or(0);
        self.description
            .get(i)
            .copied()
            .unwrap_or(self.description[0])
    }

    /// The login identity of this demo student.
    pub fn student(&self) -> Student {
        Student {
            given_names: self.given_names.to_string(),
            family_name: self.family_name.to_string(),
            birth_date: Some(self.birth_date.to_string()),
            identifiers: vec![(DEMO_ID_TYPE.to_string(), self.id.to_string())],
        }
    }
}

/// The demo students.
pub const STUDENTS: &[DemoStudent] = &[
    DemoStudent {
        id: "demo-asa",
        given_names: "Åsa",
        family_name: "Ødegård",
        birth_date: "1999-04-12",
        citizenship: "NO",
        description: [
            "two universities (Oslo, Stockholm), Norwegian/Swedish/English titles, one failed and one in-progress course",
            "zwei Universitäten (Oslo, Stockholm), norwegische/schwedische/englische Titel, eine nicht bestandene und eine laufende Lehrveranstaltung",
            "deux universités (Oslo, Stockholm), intitulés norvégiens/suédois/anglais, un cours non validé et un cours en cours",
        ],
    },
    DemoStudent {
        id: "demo-zoe",
        given_names: "Zoë Maria",
        family_name: "Łukasiewicz",
        birth_date: "2000-11-02",
        citizenship: "PL",
        description: [
            "a degree programme with nested courses (Polish/English titles)",
            "ein Studiengang mit verschachtelten Lehrveranstaltungen (polnische/englische Titel)",
            "un programme d'études avec des cours imbriqués (intitulés polonais/anglais)",
        ],
    },
    DemoStudent {
        id: "demo-athina",
        given_names: "Αθηνά",
        family_name: "Παπαδοπούλου",
        birth_date: "2001-06-30",
        citizenship: "GR",
        description: [
            "Greek name, Greek and English titles, one course without an English title",
            "griechischer Name, griechische und englische Titel, eine Lehrveranstaltung ohne englischen Titel",
            "nom grec, intitulés grecs et anglais, un cours sans intitulé anglais",
        ],
    },
    DemoStudent {
        id: "demo-jean",
        given_names: "Jean-Baptiste",
        family_name: "Lefèvre",
        birth_date: "1998-02-28",
        citizenship: "FR",
        description: [
            "French titles only, letter and numeric grades",
            "nur französische Titel, Buchstaben- und Zahlennoten",
            "intitulés en français uniquement, notes en lettres et en chiffres",
        ],
    },
    DemoStudent {
        id: "demo-empty",
        given_names: "Nils",
        family_name: "Tomhänt",
        birth_date: "2002-01-15",
        citizenship: "SE",
        description: [
            "no results at all (the NCP answers NCP_NO_RESULTS)",
            "gar keine Leistungen (der NCP antwortet NCP_NO_RESULTS)",
            "aucun résultat (le NCP répond NCP_NO_RESULTS)",
        ],
    },
];

/// The demo source.
#[derive(Debug, Clone, Default)]
pub struct DemoSource {
    /// `issueDate`/`generatedDate` written into the documents (fixed, so output is stable).
    pub issue_date: String,
}

impl DemoSource {
    /// A demo source stamping documents with `issue_date` (`xs:dateTime`).
    pub fn new(issue_date: impl Into<String>) -> Self {
        Self {
            issue_date: issue_date.into(),
        }
    }

    /// The demo student a login identity refers to: by the `local` identifier, else by exact
    /// names and birth date.
    pub fn find(student: &Student) -> Option<&'static DemoStudent> {
        if let Some(id) = student.identifier(DEMO_ID_TYPE)
            && let Some(s) = STUDENTS.iter().find(|s| s.id == id)
        {
            return Some(s);
        }
        STUDENTS.iter().find(|s| {
            s.given_names == student.given_names
                && s.family_name == student.family_name
                && student.birth_date.as_deref() == Some(s.birth_date)
        })
    }

    /// The full transcript of a demo student (no results: a document without reports).
    pub fn transcript(&self, s: &DemoStudent) -> Elmo {
        let learner = Learner::new(s.given_names, s.family_name)
            .with_bday(s.birth_date)
            .with_citizenship(s.citizenship)
            .with_identifier(DEMO_ID_TYPE, s.id);
        let mut elmo = Elmo::new(learner, self.issue_date.clone());
        let d = &self.issue_date;
        match s.id {
            "demo-asa" => {
                elmo = elmo
                    .with_report(
                        report(
                            d,
                            &[("nb", "Universitetet i Oslo"), ("en", "University of Oslo")],
                            "uio.no",
                            "NO",
                            "https://www.uio.no",
                        )
                        .with_learning_opportunity(course(
                            "INF1000",
                            &[
                                ("nb", "Grunnkurs i objektorientert programmering"),
                                ("en", "Introduction to Object-oriented Programming"),
                            ],
                            "2019-12-13",
                            "B",
                            "10",
                            LoiStatus::Passed,
                        ))
                        .with_learning_opportunity(course(
                            "MAT1100",
                            &[("nb", "Kalkulus"), ("en", "Calculus")],
                            "2019-12-09",
                            "C",
                            "10",
                            LoiStatus::Passed,
                        ))
                        .with_learning_opportunity(course(
                            "EXPHIL03",
                            &[
                                ("nb", "Examen philosophicum"),
                                ("en", "Examen philosophicum"),
                            ],
                            "2020-05-28",
                            "A",
                            "10",
                            LoiStatus::Passed,
                        ))
                        .with_learning_opportunity(course(
                            "FYS-MEK1110",
                            &[("nb", "Mekanikk"), ("en", "Mechanics")],
                            "2020-06-05",
                            "F",
                            "10",
                            LoiStatus::Failed,
                        ))
                        .with_learning_opportunity(course(
                            "IN2010",
                            &[
                                ("nb", "Algoritmer og datastrukturer"),
                                ("en", "Algorithms and Data Structures"),
                            ],
                            "",
                            "",
                            "10",
                            LoiStatus::InProgress,
                        )),
                    )
                    .with_report(
                        report(
                            d,
                            &[
                                ("sv", "Stockholms universitet"),
                                ("en", "Stockholm University"),
                            ],
                            "su.se",
                            "SE",
                            "https://www.su.se",
                        )
                        .with_learning_opportunity(course(
                            "DA2004",
                            &[
                                ("sv", "Programmeringsteknik för matematiker"),
                                ("en", "Programming Techniques for Mathematicians"),
                            ],
                            "2021-01-15",
                            "A",
                            "7.5",
                            LoiStatus::Passed,
                        ))
                        .with_learning_opportunity(course(
                            "SV1010",
                            &[("sv", "Svenska som främmande språk, nybörjarkurs")],
                            "2021-01-20",
                            "G",
                            "7.5",
                            LoiStatus::Passed,
                        )),
                    );
            }
            "demo-zoe" => {
                let programme = LearningOpportunitySpecification::new(
                    LangText::with_lang("pl", "Informatyka, studia pierwszego stopnia"),
                    LearningOpportunityInstance::default()
                        .with_status(LoiStatus::InProgress)
                        .with_credit(Credit::ects("180")),
                )
                .with_title(LangText::with_lang(
                    "en",
                    "Computer Science, first-cycle studies",
                ))
                .with_identifier("local", "1000-INF")
                .with_type("Degree Programme")
                .with_part(course(
                    "1000-211bWPI",
                    &[
                        ("pl", "Wstęp do programowania"),
                        ("en", "Introduction to Programming"),
                    ],
                    "2020-02-10",
                    "5",
                    "10",
                    LoiStatus::Passed,
                ))
                .with_part(course(
                    "1000-213bMAD",
                    &[
                        ("pl", "Matematyka dyskretna"),
                        ("en", "Discrete Mathematics"),
                    ],
                    "2020-02-14",
                    "4,5",
                    "6",
                    LoiStatus::Passed,
                ))
                .with_part(course(
                    "1000-214bJAO",
                    &[
                        ("pl", "Języki, automaty i obliczenia"),
                        ("en", "Languages, Automata and Computations"),
                    ],
                    "2021-06-25",
                    "2",
                    "6",
                    LoiStatus::Failed,
                ));
                elmo = elmo.with_report(
                    report(
                        d,
                        &[
                            ("pl", "Uniwersytet Warszawski"),
                            ("en", "University of Warsaw"),
                        ],
                        "uw.edu.pl",
                        "PL",
                        "https://www.uw.edu.pl",
                    )
                    .with_learning_opportunity(programme),
                );
            }
            "demo-athina" => {
                elmo = elmo.with_report(
                    report(
                        d,
                        &[
                            ("el", "Εθνικό και Καποδιστριακό Πανεπιστήμιο Αθηνών"),
                            ("en", "National and Kapodistrian University of Athens"),
                        ],
                        "uoa.gr",
                        "GR",
                        "https://www.uoa.gr",
                    )
                    .with_learning_opportunity(course(
                        "ΜΑΘ101",
                        &[("el", "Γραμμική Άλγεβρα"), ("en", "Linear Algebra")],
                        "2021-02-01",
                        "8.5",
                        "6",
                        LoiStatus::Passed,
                    ))
                    .with_learning_opportunity(course(
                        "ΙΣΤ210",
                        &[("el", "Αρχαία Ελληνική Ιστορία")],
                        "2021-06-20",
                        "7",
                        "5",
                        LoiStatus::Passed,
                    ))
                    .with_learning_opportunity(course(
                        "ΦΥΣ120",
                        &[("el", "Φυσική Ι"), ("en", "Physics I")],
                        "",
                        "",
                        "6",
                        LoiStatus::InProgress,
                    )),
                );
            }
            "demo-jean" => {
                elmo = elmo.with_report(
                    report(
                        d,
                        &[("fr", "Université Claude Bernard Lyon 1")],
                        "univ-lyon1.fr",
                        "FR",
                        "https://www.univ-lyon1.fr",
                    )
                    .with_learning_opportunity(course(
                        "LIFAP1",
                        &[("fr", "Algorithmique et programmation")],
                        "2018-01-19",
                        "14/20",
                        "6",
                        LoiStatus::Passed,
                    ))
                    .with_learning_opportunity(course(
                        "LIFMC",
                        &[("fr", "Mathématiques pour l'informatique")],
                        "2018-06-02",
                        "12.5/20",
                        "6",
                        LoiStatus::Passed,
                    ))
                    .with_learning_opportunity(course(
                        "LIFBDW",
                        &[("fr", "Bases de données et programmation web")],
                        "2019-01-18",
                        "16/20",
                        "3",
                        LoiStatus::Passed,
                    )),
                );
            }
            _ => {}
        }
        elmo
    }
}

impl ResultsSource for DemoSource {
    async fn results(
        &self,
        student: &Student,
        _languages: &[String],
    ) -> Result<Option<Elmo>, SourceError> {
        Ok(Self::find(student).map(|s| self.transcript(s)))
    }

    async fn healthy(&self) -> bool {
        true
    }

    fn kind(&self) -> &'static str {
        "demo"
    }
}

fn report(date: &str, titles: &[(&str, &str)], schac: &str, country: &str, url: &str) -> Report {
    let mut issuer = Issuer::new(
        LangText::with_lang(titles[0].0, titles[0].1),
        Identifier::new("schac", schac),
        url,
    )
    .with_country(country);
    for (lang, text) in &titles[1..] {
        issuer = issuer.with_title(LangText::with_lang(*lang, *text));
    }
    Report::new(issuer, date)
}

fn course(
    id: &str,
    titles: &[(&str, &str)],
    date: &str,
    result: &str,
    ects: &str,
    status: LoiStatus,
) -> LearningOpportunitySpecification {
    let mut loi = LearningOpportunityInstance::default()
        .with_status(status)
        .with_credit(Credit::ects(ects));
    if !date.is_empty() {
        loi = loi.with_date(date);
    }
    if !result.is_empty() {
        loi = loi.with_result(result);
    }
    let mut los = LearningOpportunitySpecification::course(
        id,
        LangText::with_lang(titles[0].0, titles[0].1),
        loi,
    );
    for (lang, text) in &titles[1..] {
        los = los.with_title(LangText::with_lang(*lang, *text));
    }
    los
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_transcript_is_valid_v17_and_about_its_student() {
        let src = DemoSource::new("2026-01-01T00:00:00Z");
        for s in STUDENTS {
            let elmo = src.transcript(s);
            let xml = emrex_elmo::to_xml_v17(&elmo);
            let back = emrex_elmo::parse(xml.as_bytes(), &emrex_elmo::Limits::default())
                .expect("round trip");
            assert_eq!(back.learner.family_name, s.family_name);
            if s.id == "demo-empty" {
                assert!(back.reports.is_empty());
                continue;
            }
            let issues = emrex_elmo::validate(&back);
            assert!(
                !emrex_elmo::validate::has_errors(&issues),
                "{}: {issues:?}",
                s.id
            );
            super::super::check_learner(&s.student(), &elmo).expect("learner");
        }
        for s in STUDENTS {
            super::super::check_learner(&s.student(), &src.transcript(s)).expect("learner");
        }
        assert!(src.transcript(&STUDENTS[4]).reports.is_empty());
        assert_eq!(src.transcript(&STUDENTS[0]).reports.len(), 2);
    }

    #[test]
    fn lookup_by_identifier_then_by_name() {
        let by_id = Student {
            identifiers: vec![("local".into(), "demo-zoe".into())],
            ..Default::default()
        };
        assert_eq!(DemoSource::find(&by_id).map(|s| s.id), Some("demo-zoe"));
        let by_name = Student {
            given_names: "Jean-Baptiste".into(),
            family_name: "Lefèvre".into(),
            birth_date: Some("1998-02-28".into()),
            identifiers: vec![],
        };
        assert_eq!(DemoSource::find(&by_name).map(|s| s.id), Some("demo-jean"));
        let stranger = Student {
            given_names: "Jean-Baptiste".into(),
            family_name: "Lefèvre".into(),
            birth_date: Some("1998-02-27".into()),
            identifiers: vec![],
        };
        assert!(DemoSource::find(&stranger).is_none());
    }
}
