//! The transcript's own words (headings, column names, statuses, the footer) in English,
//! German and French, chosen by [`crate::TranscriptOptions::lang`]; numbers and dates are
//! written the language's way by `emrex_i18n`. What the issuer wrote (titles, grades) stays as
//! written.

use emrex_i18n::Lang;

/// Every label of the transcript in one language.
#[derive(Debug)]
pub(crate) struct Labels {
    pub title: &'static str,
    pub no_reports: &'static str,
    pub name_not_given: &'static str,
    pub date_of_birth: &'static str,
    pub citizenship: &'static str,
    pub identifiers: &'static str,
    /// `{n}` more identifiers not printed.
    pub and_more: &'static str,
    pub issuer_not_named: &'static str,
    pub country: &'static str,
    pub issued: &'static str,
    pub no_learning_opportunities: &'static str,
    pub total_passed: &'static str,
    pub continued: &'static str,
    pub col_learning_opportunity: &'static str,
    pub col_date: &'static str,
    pub col_result: &'static str,
    pub col_status: &'static str,
    pub col_ects: &'static str,
    pub untitled: &'static str,
    pub passed: &'static str,
    pub failed: &'static str,
    pub in_progress: &'static str,
    /// `{n}` of `{total}`.
    pub page: &'static str,
}

/// The labels of `lang` (a BCP 47 tag; an unsupported one gets English).
pub(crate) fn labels(lang: &str) -> (&'static Labels, Lang) {
    let lang = Lang::from_tag(lang).unwrap_or(Lang::En);
    let l = match lang {
        Lang::En => &EN,
        Lang::De => &DE,
        Lang::Fr => &FR,
    };
    (l, lang)
}

const EN: Labels = Labels {
    title: "Transcript of Records — EMREX",
    no_reports: "The document contains no reports.",
    name_not_given: "(name not given)",
    date_of_birth: "Date of birth",
    citizenship: "Citizenship",
    identifiers: "Identifiers",
    and_more: "… and {n} more",
    issuer_not_named: "(issuing institution not named)",
    country: "Country",
    issued: "Issued",
    no_learning_opportunities: "No learning opportunities.",
    total_passed: "Total ECTS credits (passed)",
    continued: "continued",
    col_learning_opportunity: "Learning opportunity",
    col_date: "Date",
    col_result: "Result",
    col_status: "Status",
    col_ects: "ECTS",
    untitled: "(untitled)",
    passed: "passed",
    failed: "failed",
    in_progress: "in progress",
    page: "Page {n} of {total}",
};

const DE: Labels = Labels {
    title: "Leistungsübersicht — EMREX",
    no_reports: "Das Dokument enthält keine Leistungsnachweise.",
    name_not_given: "(Name nicht angegeben)",
    date_of_birth: "Geburtsdatum",
    citizenship: "Staatsangehörigkeit",
    identifiers: "Kennungen",
    and_more: "… und {n} weitere",
    issuer_not_named: "(ausstellende Einrichtung nicht genannt)",
    country: "Land",
    issued: "Ausgestellt",
    no_learning_opportunities: "Keine Leistungen.",
    total_passed: "ECTS-Punkte insgesamt (bestanden)",
    continued: "Fortsetzung",
    col_learning_opportunity: "Leistung",
    col_date: "Datum",
    col_result: "Note",
    col_status: "Status",
    col_ects: "ECTS",
    untitled: "(ohne Titel)",
    passed: "bestanden",
    failed: "nicht bestanden",
    in_progress: "laufend",
    page: "Seite {n} von {total}",
};

const FR: Labels = Labels {
    title: "Relevé de notes — EMREX",
    no_reports: "Le document ne contient aucun relevé.",
    name_not_given: "(nom non indiqué)",
    date_of_birth: "Date de naissance",
    citizenship: "Nationalité",
    identifiers: "Identifiants",
    and_more: "… et {n} de plus",
    issuer_not_named: "(établissement non nommé)",
    country: "Pays",
    issued: "Émis le",
    no_learning_opportunities: "Aucun enseignement.",
    total_passed: "Total des crédits ECTS (validés)",
    continued: "suite",
    col_learning_opportunity: "Enseignement",
    col_date: "Date",
    col_result: "Note",
    col_status: "Statut",
    col_ects: "ECTS",
    untitled: "(sans titre)",
    passed: "validé",
    failed: "non validé",
    in_progress: "en cours",
    page: "Page {n} sur {total}",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_label_and_placeholder() {
        for lang in Lang::ALL {
            let (l, back) = labels(lang.tag());
            assert_eq!(back, lang);
            assert!(!format!("{l:?}").contains(": \"\""), "{lang:?}");
            assert!(
                l.page.contains("{n}") && l.page.contains("{total}"),
                "{lang:?}"
            );
            assert!(l.and_more.contains("{n}"), "{lang:?}");
        }
        assert_eq!(labels("no").1, Lang::En, "unsupported: English");
        assert_eq!(labels("de-CH").1, Lang::De);
    }
}
