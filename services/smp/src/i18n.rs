//! The SMP's page texts in English, German and French. Which language a request gets is
//! `emrex_web::PageLang`'s job (`?lang=`, the remembered choice, `Accept-Language`); numbers
//! and dates are `emrex_i18n::Lang`'s.
//!
//! Every outcome a student can meet has a sentence they understand and what to do next; the
//! technical detail (return codes, verification errors, identity scores) stays behind a
//! disclosure for the institution's staff, in the SIS API and in the logs.

pub use emrex_i18n::Lang;

/// The texts of a language.
pub trait LangTexts {
    /// The SMP's texts in this language.
    fn texts(self) -> &'static Texts;
}

impl LangTexts for Lang {
    fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::De => &DE,
            Lang::Fr => &FR,
        }
    }
}

/// What one outcome says to the student.
#[derive(Debug)]
pub struct OutcomeText {
    /// The page's heading.
    pub title: &'static str,
    /// What happened, in plain words.
    pub said: &'static str,
    /// What to do now.
    pub next: &'static str,
}

/// Every text the SMP's pages show.
#[derive(Debug)]
pub struct Texts {
    pub dev_banner: &'static str,
    pub skip_link: &'static str,
    pub languages: &'static str,
    pub site: &'static str,
    pub countries_title: &'static str,
    pub countries_heading: &'static str,
    pub countries_intro: &'static str,
    pub no_ncps: &'static str,
    /// `{country}`.
    pub country_heading: &'static str,
    pub you: &'static str,
    pub you_hint: &'static str,
    pub given_names: &'static str,
    pub family_name: &'static str,
    pub birth_date: &'static str,
    pub where_results: &'static str,
    pub back_to_countries: &'static str,
    pub go_title: &'static str,
    /// `{institution}`.
    pub go_heading: &'static str,
    pub go_intro: &'static str,
    pub go_button: &'static str,
    pub verified: OutcomeText,
    pub review: OutcomeText,
    pub mismatch: OutcomeText,
    pub signature_invalid: OutcomeText,
    pub undecodable: OutcomeText,
    pub stale: OutcomeText,
    pub cancelled: OutcomeText,
    pub no_results: OutcomeText,
    pub provider_error: OutcomeText,
    pub pending: OutcomeText,
    pub tech_summary: &'static str,
    pub tech_code: &'static str,
    pub tech_message: &'static str,
    pub tech_detail: &'static str,
    pub col_institution: &'static str,
    pub col_course: &'static str,
    pub col_date: &'static str,
    pub col_result: &'static str,
    pub col_credits: &'static str,
    pub col_status: &'static str,
    pub status_passed: &'static str,
    pub status_failed: &'static str,
    pub status_in_progress: &'static str,
    pub download_pdf: &'static str,
    pub start_again: &'static str,
    pub error_title: &'static str,
    pub unavailable: &'static str,
    pub no_chooser: &'static str,
    pub no_country: &'static str,
    pub unknown_ncp: &'static str,
    pub form_too_large: &'static str,
    pub bad_names_too_long: &'static str,
    pub bad_no_name: &'static str,
    pub bad_birth_date: &'static str,
    pub exchange_unknown: &'static str,
    pub exchange_completed: &'static str,
    pub exchange_expired: &'static str,
    pub return_unknown: &'static str,
    pub return_replayed: &'static str,
    pub return_expired: &'static str,
    pub return_malformed: &'static str,
    pub return_too_large: &'static str,
    pub return_not_stored: &'static str,
    pub link_invalid: &'static str,
    pub no_pdf: &'static str,
    /// ELMO 2.1 under a course title: `{type}` (a document type below).
    pub document: &'static str,
    pub document_diploma: &'static str,
    pub document_certificate: &'static str,
    pub document_enrolment: &'static str,
    pub document_admission: &'static str,
    /// `{date}`.
    pub enrolled: &'static str,
    /// `{date}`, `{institution}`.
    pub enrolled_at: &'static str,
    /// `{start}`, `{end}`.
    pub academic_year: &'static str,
    /// A report's status (ELMO 2.1): `{institution}`, `{status}` (one of the `report_*` texts).
    pub report_from: &'static str,
    pub report_full: &'static str,
    pub report_selection: &'static str,
    pub report_partial_temporary: &'static str,
    pub report_partial_permanent: &'static str,
    pub report_error_temporary: &'static str,
    pub report_error_permanent: &'static str,
    pub report_unknown: &'static str,
    /// `{institution}`.
    pub recognitions_by: &'static str,
    pub col_recognition: &'static str,
    pub col_decision: &'static str,
    pub col_based_on: &'static str,
    pub col_recognised_as: &'static str,
    pub recognition_positive: &'static str,
    pub recognition_partially_positive: &'static str,
    pub recognition_negative: &'static str,
}

impl Texts {
    /// A learning opportunity's status as the page says it.
    pub fn status<'a>(&'a self, status: &'a emrex_elmo::model::LoiStatus) -> &'a str {
        use emrex_elmo::model::LoiStatus;
        match status {
            LoiStatus::Passed => self.status_passed,
            LoiStatus::Failed => self.status_failed,
            LoiStatus::InProgress => self.status_in_progress,
            LoiStatus::Other(s) => s,
        }
    }

    /// An ELMO 2.1 `documentType` as the page says it (an unknown one as written).
    pub fn document_type<'a>(&'a self, value: &'a str) -> &'a str {
        match value {
            "Diploma" => self.document_diploma,
            "Certificate" => self.document_certificate,
            "Enrolment" => self.document_enrolment,
            "Admission" => self.document_admission,
            other => other,
        }
    }

    /// What an ELMO 2.1 report status code means for the student: what they received.
    pub fn report_status(&self, code: &str) -> &'static str {
        match code {
            "FULL" => self.report_full,
            "SELECTION" => self.report_selection,
            "PARTIAL_TEMPORARY" => self.report_partial_temporary,
            "PARTIAL_PERMANENT" => self.report_partial_permanent,
            "ERROR_TEMPORARY" => self.report_error_temporary,
            "ERROR_PERMANENT" => self.report_error_permanent,
            _ => self.report_unknown,
        }
    }

    /// An ELMO 2.1 recognition decision (an unknown one as written).
    pub fn recognition_status<'a>(&'a self, value: &'a str) -> &'a str {
        match value {
            "Positive" => self.recognition_positive,
            "Partially Positive" => self.recognition_partially_positive,
            "Negative" => self.recognition_negative,
            other => other,
        }
    }
}

const EN: Texts = Texts {
    dev_banner: "Development mode: demo federation. Never use for real students.",
    skip_link: "Skip to content",
    languages: "Language",
    site: "EMREX SMP",
    countries_title: "Fetch your results",
    countries_heading: "Fetch your study results",
    countries_intro: "Choose the country of the institution that holds your results. You will log in there, choose results, and they come back here, digitally signed.",
    no_ncps: "No results providers are registered yet.",
    country_heading: "Fetch your results from {country}",
    you: "You",
    you_hint: "The results must belong to this person; they are checked when they come back.",
    given_names: "Given names",
    family_name: "Family name",
    birth_date: "Date of birth",
    where_results: "Where are your results?",
    back_to_countries: "Back to the countries",
    go_title: "Going to the results provider",
    go_heading: "Going to {institution}",
    go_intro: "If nothing happens, press the button.",
    go_button: "Continue",
    verified: OutcomeText {
        title: "Your results have arrived",
        said: "Your results arrived, signed by the institution that holds them, and they are yours.",
        next: "Nothing more to do: your institution can use them now. You can download the transcript below.",
    },
    review: OutcomeText {
        title: "Your results are being checked",
        said: "Your results arrived and are signed, but your name or date of birth there differs slightly from ours.",
        next: "A member of staff will check that they are yours. You need to do nothing now.",
    },
    mismatch: OutcomeText {
        title: "Your results were not imported",
        said: "The results that arrived are in another person's name, so they were not imported.",
        next: "If you logged in as someone else at the provider, start again and log in as yourself. Otherwise, contact your institution.",
    },
    signature_invalid: OutcomeText {
        title: "Your results were not imported",
        said: "The results could not be confirmed as coming from the institution that holds them, so they were not imported.",
        next: "Please try again later. If it happens again, contact your institution and give them the details below.",
    },
    undecodable: OutcomeText {
        title: "Your results were not imported",
        said: "The answer from the results provider could not be read, so nothing was imported.",
        next: "Please try again later. If it happens again, contact your institution and give them the details below.",
    },
    stale: OutcomeText {
        title: "Your results were not imported",
        said: "The results that arrived were made for an earlier transfer, not for this one, so they were not imported.",
        next: "Please start again and fetch your results anew.",
    },
    cancelled: OutcomeText {
        title: "Transfer cancelled",
        said: "You cancelled at the results provider. Nothing was sent.",
        next: "You can start again whenever you like.",
    },
    no_results: OutcomeText {
        title: "No results were sent",
        said: "The results provider found no results it could send for you.",
        next: "If you expected results, check with the institution that holds them, or try another provider.",
    },
    provider_error: OutcomeText {
        title: "The transfer did not work",
        said: "The results provider could not complete the transfer. Nothing was imported.",
        next: "Please try again later.",
    },
    pending: OutcomeText {
        title: "Waiting for your results",
        said: "The results provider has not answered yet.",
        next: "Finish at the results provider; you will come back here.",
    },
    tech_summary: "Technical details (for your institution's staff)",
    tech_code: "Provider's answer",
    tech_message: "Provider's message",
    tech_detail: "Verification",
    col_institution: "Institution",
    col_course: "Course",
    col_date: "Date",
    col_result: "Grade",
    col_credits: "ECTS credits",
    col_status: "Status",
    status_passed: "passed",
    status_failed: "failed",
    status_in_progress: "in progress",
    download_pdf: "Download the transcript (PDF)",
    start_again: "Start again",
    error_title: "This cannot be done",
    unavailable: "This service is briefly unavailable. Nothing was lost: please try again in a moment.",
    no_chooser: "This service starts transfers from your institution's student system. Please start there.",
    no_country: "No results provider is registered for this country. Please choose another.",
    unknown_ncp: "This results provider is not registered (any more). Please choose another.",
    form_too_large: "The form is too large.",
    bad_names_too_long: "Names may have at most 200 characters.",
    bad_no_name: "Please enter your name.",
    bad_birth_date: "Please enter your date of birth as a date (year, month, day).",
    exchange_unknown: "This transfer does not exist. Please start again.",
    exchange_completed: "This transfer is already completed. To fetch results again, start again.",
    exchange_expired: "This transfer has expired. Please start again.",
    return_unknown: "This answer does not belong to a transfer of this service. Nothing was imported. Please start again.",
    return_replayed: "This transfer is already completed; the answer was not used again.",
    return_expired: "This transfer expired before the results arrived, so nothing was imported. Please start again.",
    return_malformed: "The answer from the results provider is not well formed, so nothing was recorded. Please go back and try again, or start again.",
    return_too_large: "The answer from the results provider is too large, so nothing was recorded.",
    return_not_stored: "The results could not be stored just now. Nothing was lost at the provider: please go back and try again.",
    link_invalid: "This link is not valid or has expired. Your institution's system keeps the result; ask it, or start the transfer again.",
    no_pdf: "This transfer has no transcript PDF.",
    document: "Document: {type}",
    document_diploma: "diploma",
    document_certificate: "certificate",
    document_enrolment: "enrolment",
    document_admission: "admission",
    enrolled: "Enrolled {date}",
    enrolled_at: "Enrolled {date} at {institution}",
    academic_year: "(academic year {start} – {end})",
    report_from: "From {institution}: {status}.",
    report_full: "the complete record",
    report_selection: "the results you selected",
    report_partial_temporary: "part of the record: some results could not be fetched now; try again later for the rest",
    report_partial_permanent: "part of the record: some results cannot be provided",
    report_error_temporary: "no results: the provider had a temporary problem; try again later",
    report_error_permanent: "no results: the provider cannot provide them",
    report_unknown: "a status this service does not know",
    recognitions_by: "Recognitions by {institution}",
    col_recognition: "Recognition",
    col_decision: "Decision",
    col_based_on: "Based on",
    col_recognised_as: "Recognised as",
    recognition_positive: "recognised",
    recognition_partially_positive: "partly recognised",
    recognition_negative: "not recognised",
};

const DE: Texts = Texts {
    dev_banner: "Entwicklungsmodus: Demo-Verbund. Niemals für echte Studierende verwenden.",
    skip_link: "Zum Inhalt springen",
    languages: "Sprache",
    site: "EMREX SMP",
    countries_title: "Leistungen abrufen",
    countries_heading: "Studienleistungen abrufen",
    countries_intro: "Wählen Sie das Land der Einrichtung, bei der Ihre Leistungen liegen. Sie melden sich dort an, wählen Leistungen aus, und sie kommen digital signiert hierher zurück.",
    no_ncps: "Es sind noch keine Leistungsanbieter registriert.",
    country_heading: "Leistungen abrufen aus: {country}",
    you: "Sie",
    you_hint: "Die Leistungen müssen dieser Person gehören; das wird bei der Rückkehr geprüft.",
    given_names: "Vornamen",
    family_name: "Familienname",
    birth_date: "Geburtsdatum",
    where_results: "Wo liegen Ihre Leistungen?",
    back_to_countries: "Zurück zu den Ländern",
    go_title: "Weiter zum Leistungsanbieter",
    go_heading: "Weiter zu {institution}",
    go_intro: "Falls nichts passiert, drücken Sie die Schaltfläche.",
    go_button: "Weiter",
    verified: OutcomeText {
        title: "Ihre Leistungen sind angekommen",
        said: "Ihre Leistungen sind angekommen, von der Einrichtung signiert, die sie führt, und sie gehören Ihnen.",
        next: "Sie müssen nichts weiter tun: Ihre Einrichtung kann sie jetzt verwenden. Unten können Sie das Transcript herunterladen.",
    },
    review: OutcomeText {
        title: "Ihre Leistungen werden geprüft",
        said: "Ihre Leistungen sind signiert angekommen, aber Ihr Name oder Geburtsdatum weicht dort leicht von unseren Angaben ab.",
        next: "Eine Mitarbeiterin oder ein Mitarbeiter prüft, dass sie Ihnen gehören. Sie müssen jetzt nichts tun.",
    },
    mismatch: OutcomeText {
        title: "Ihre Leistungen wurden nicht übernommen",
        said: "Die angekommenen Leistungen lauten auf eine andere Person und wurden deshalb nicht übernommen.",
        next: "Falls Sie sich beim Anbieter als jemand anderes angemeldet haben, beginnen Sie erneut und melden Sie sich mit Ihrem eigenen Konto an. Andernfalls wenden Sie sich an Ihre Einrichtung.",
    },
    signature_invalid: OutcomeText {
        title: "Ihre Leistungen wurden nicht übernommen",
        said: "Es ließ sich nicht bestätigen, dass die Leistungen von der Einrichtung stammen, die sie führt; sie wurden deshalb nicht übernommen.",
        next: "Bitte versuchen Sie es später erneut. Wenn es wieder passiert, wenden Sie sich mit den Angaben unten an Ihre Einrichtung.",
    },
    undecodable: OutcomeText {
        title: "Ihre Leistungen wurden nicht übernommen",
        said: "Die Antwort des Leistungsanbieters war nicht lesbar; es wurde nichts übernommen.",
        next: "Bitte versuchen Sie es später erneut. Wenn es wieder passiert, wenden Sie sich mit den Angaben unten an Ihre Einrichtung.",
    },
    stale: OutcomeText {
        title: "Ihre Leistungen wurden nicht übernommen",
        said: "Die angekommenen Leistungen wurden für eine frühere Übermittlung erstellt, nicht für diese; sie wurden deshalb nicht übernommen.",
        next: "Bitte beginnen Sie erneut und rufen Sie Ihre Leistungen neu ab.",
    },
    cancelled: OutcomeText {
        title: "Übermittlung abgebrochen",
        said: "Sie haben beim Leistungsanbieter abgebrochen. Es wurde nichts übermittelt.",
        next: "Sie können jederzeit neu beginnen.",
    },
    no_results: OutcomeText {
        title: "Es wurden keine Leistungen übermittelt",
        said: "Der Leistungsanbieter hat keine Leistungen gefunden, die er für Sie übermitteln kann.",
        next: "Wenn Sie Leistungen erwartet haben, fragen Sie bei der Einrichtung nach, die sie führt, oder versuchen Sie einen anderen Anbieter.",
    },
    provider_error: OutcomeText {
        title: "Die Übermittlung hat nicht funktioniert",
        said: "Der Leistungsanbieter konnte die Übermittlung nicht abschließen. Es wurde nichts übernommen.",
        next: "Bitte versuchen Sie es später erneut.",
    },
    pending: OutcomeText {
        title: "Warten auf Ihre Leistungen",
        said: "Der Leistungsanbieter hat noch nicht geantwortet.",
        next: "Schließen Sie den Vorgang beim Leistungsanbieter ab; Sie kommen danach hierher zurück.",
    },
    tech_summary: "Technische Angaben (für die Mitarbeitenden Ihrer Einrichtung)",
    tech_code: "Antwort des Anbieters",
    tech_message: "Meldung des Anbieters",
    tech_detail: "Prüfung",
    col_institution: "Einrichtung",
    col_course: "Lehrveranstaltung",
    col_date: "Datum",
    col_result: "Note",
    col_credits: "ECTS-Punkte",
    col_status: "Status",
    status_passed: "bestanden",
    status_failed: "nicht bestanden",
    status_in_progress: "laufend",
    download_pdf: "Transcript herunterladen (PDF)",
    start_again: "Neu beginnen",
    error_title: "Das ist nicht möglich",
    unavailable: "Dieser Dienst ist kurz nicht erreichbar. Es ging nichts verloren: Bitte versuchen Sie es gleich noch einmal.",
    no_chooser: "Dieser Dienst beginnt Übermittlungen aus dem Studierendensystem Ihrer Einrichtung. Bitte beginnen Sie dort.",
    no_country: "Für dieses Land ist kein Leistungsanbieter registriert. Bitte wählen Sie ein anderes.",
    unknown_ncp: "Dieser Leistungsanbieter ist nicht (mehr) registriert. Bitte wählen Sie einen anderen.",
    form_too_large: "Das Formular ist zu groß.",
    bad_names_too_long: "Namen dürfen höchstens 200 Zeichen lang sein.",
    bad_no_name: "Bitte geben Sie Ihren Namen ein.",
    bad_birth_date: "Bitte geben Sie Ihr Geburtsdatum als Datum ein (Jahr, Monat, Tag).",
    exchange_unknown: "Diese Übermittlung existiert nicht. Bitte beginnen Sie neu.",
    exchange_completed: "Diese Übermittlung ist bereits abgeschlossen. Um erneut Leistungen abzurufen, beginnen Sie neu.",
    exchange_expired: "Diese Übermittlung ist abgelaufen. Bitte beginnen Sie neu.",
    return_unknown: "Diese Antwort gehört zu keiner Übermittlung dieses Dienstes. Es wurde nichts übernommen. Bitte beginnen Sie neu.",
    return_replayed: "Diese Übermittlung ist bereits abgeschlossen; die Antwort wurde nicht erneut verwendet.",
    return_expired: "Diese Übermittlung ist abgelaufen, bevor die Leistungen ankamen; es wurde nichts übernommen. Bitte beginnen Sie neu.",
    return_malformed: "Die Antwort des Leistungsanbieters ist fehlerhaft aufgebaut; es wurde nichts gespeichert. Bitte gehen Sie zurück und versuchen Sie es erneut, oder beginnen Sie neu.",
    return_too_large: "Die Antwort des Leistungsanbieters ist zu groß; es wurde nichts gespeichert.",
    return_not_stored: "Die Leistungen konnten gerade nicht gespeichert werden. Beim Anbieter ging nichts verloren: Bitte gehen Sie zurück und versuchen Sie es erneut.",
    link_invalid: "Dieser Link ist ungültig oder abgelaufen. Das System Ihrer Einrichtung bewahrt das Ergebnis auf; fragen Sie dort nach oder beginnen Sie die Übermittlung neu.",
    no_pdf: "Zu dieser Übermittlung gibt es kein Transcript als PDF.",
    document: "Dokument: {type}",
    document_diploma: "Diplom",
    document_certificate: "Zertifikat",
    document_enrolment: "Einschreibung",
    document_admission: "Zulassung",
    enrolled: "Eingeschrieben am {date}",
    enrolled_at: "Eingeschrieben am {date} bei {institution}",
    academic_year: "(Studienjahr {start} – {end})",
    report_from: "Von {institution}: {status}.",
    report_full: "die vollständige Leistungsübersicht",
    report_selection: "die von Ihnen ausgewählten Ergebnisse",
    report_partial_temporary: "ein Teil der Leistungsübersicht: einige Ergebnisse konnten gerade nicht abgerufen werden; versuchen Sie es später für den Rest noch einmal",
    report_partial_permanent: "ein Teil der Leistungsübersicht: einige Ergebnisse können nicht bereitgestellt werden",
    report_error_temporary: "keine Ergebnisse: beim Anbieter gab es ein vorübergehendes Problem; versuchen Sie es später noch einmal",
    report_error_permanent: "keine Ergebnisse: der Anbieter kann sie nicht bereitstellen",
    report_unknown: "ein Status, den dieser Dienst nicht kennt",
    recognitions_by: "Anerkennungen durch {institution}",
    col_recognition: "Anerkennung",
    col_decision: "Entscheidung",
    col_based_on: "Grundlage",
    col_recognised_as: "Anerkannt als",
    recognition_positive: "anerkannt",
    recognition_partially_positive: "teilweise anerkannt",
    recognition_negative: "nicht anerkannt",
};

const FR: Texts = Texts {
    dev_banner: "Mode développement : fédération de démonstration. Ne jamais utiliser pour de vrais étudiants.",
    skip_link: "Aller au contenu",
    languages: "Langue",
    site: "EMREX SMP",
    countries_title: "Récupérer vos résultats",
    countries_heading: "Récupérer vos résultats d'études",
    countries_intro: "Choisissez le pays de l'établissement qui détient vos résultats. Vous vous y connecterez, choisirez des résultats, et ils reviendront ici, signés numériquement.",
    no_ncps: "Aucun fournisseur de résultats n'est encore enregistré.",
    country_heading: "Récupérer vos résultats : {country}",
    you: "Vous",
    you_hint: "Les résultats doivent appartenir à cette personne ; c'est vérifié à leur retour.",
    given_names: "Prénoms",
    family_name: "Nom de famille",
    birth_date: "Date de naissance",
    where_results: "Où sont vos résultats ?",
    back_to_countries: "Retour aux pays",
    go_title: "Vers le fournisseur de résultats",
    go_heading: "Vers {institution}",
    go_intro: "Si rien ne se passe, appuyez sur le bouton.",
    go_button: "Continuer",
    verified: OutcomeText {
        title: "Vos résultats sont arrivés",
        said: "Vos résultats sont arrivés, signés par l'établissement qui les détient, et ils sont bien les vôtres.",
        next: "Vous n'avez rien d'autre à faire : votre établissement peut les utiliser. Vous pouvez télécharger le relevé ci-dessous.",
    },
    review: OutcomeText {
        title: "Vos résultats sont en cours de vérification",
        said: "Vos résultats sont arrivés signés, mais votre nom ou votre date de naissance y diffère légèrement de nos données.",
        next: "Un membre du personnel vérifiera qu'ils sont bien les vôtres. Vous n'avez rien à faire pour l'instant.",
    },
    mismatch: OutcomeText {
        title: "Vos résultats n'ont pas été importés",
        said: "Les résultats reçus sont au nom d'une autre personne ; ils n'ont donc pas été importés.",
        next: "Si vous vous êtes connecté sous l'identité de quelqu'un d'autre chez le fournisseur, recommencez avec votre propre compte. Sinon, contactez votre établissement.",
    },
    signature_invalid: OutcomeText {
        title: "Vos résultats n'ont pas été importés",
        said: "Il n'a pas été possible de confirmer que les résultats proviennent de l'établissement qui les détient ; ils n'ont donc pas été importés.",
        next: "Veuillez réessayer plus tard. Si cela se reproduit, contactez votre établissement avec les détails ci-dessous.",
    },
    undecodable: OutcomeText {
        title: "Vos résultats n'ont pas été importés",
        said: "La réponse du fournisseur de résultats était illisible ; rien n'a été importé.",
        next: "Veuillez réessayer plus tard. Si cela se reproduit, contactez votre établissement avec les détails ci-dessous.",
    },
    stale: OutcomeText {
        title: "Vos résultats n'ont pas été importés",
        said: "Les résultats reçus ont été établis pour un transfert précédent, pas pour celui-ci ; ils n'ont donc pas été importés.",
        next: "Veuillez recommencer et récupérer vos résultats à nouveau.",
    },
    cancelled: OutcomeText {
        title: "Transfert annulé",
        said: "Vous avez annulé chez le fournisseur de résultats. Rien n'a été transmis.",
        next: "Vous pouvez recommencer quand vous le souhaitez.",
    },
    no_results: OutcomeText {
        title: "Aucun résultat n'a été transmis",
        said: "Le fournisseur de résultats n'a trouvé aucun résultat à transmettre pour vous.",
        next: "Si vous attendiez des résultats, renseignez-vous auprès de l'établissement qui les détient, ou essayez un autre fournisseur.",
    },
    provider_error: OutcomeText {
        title: "Le transfert n'a pas abouti",
        said: "Le fournisseur de résultats n'a pas pu terminer le transfert. Rien n'a été importé.",
        next: "Veuillez réessayer plus tard.",
    },
    pending: OutcomeText {
        title: "En attente de vos résultats",
        said: "Le fournisseur de résultats n'a pas encore répondu.",
        next: "Terminez chez le fournisseur de résultats ; vous reviendrez ensuite ici.",
    },
    tech_summary: "Détails techniques (pour le personnel de votre établissement)",
    tech_code: "Réponse du fournisseur",
    tech_message: "Message du fournisseur",
    tech_detail: "Vérification",
    col_institution: "Établissement",
    col_course: "Cours",
    col_date: "Date",
    col_result: "Note",
    col_credits: "Crédits ECTS",
    col_status: "Statut",
    status_passed: "validé",
    status_failed: "non validé",
    status_in_progress: "en cours",
    download_pdf: "Télécharger le relevé (PDF)",
    start_again: "Recommencer",
    error_title: "Action impossible",
    unavailable: "Ce service est brièvement indisponible. Rien n'a été perdu : veuillez réessayer dans un instant.",
    no_chooser: "Ce service commence les transferts depuis le système de scolarité de votre établissement. Veuillez commencer là-bas.",
    no_country: "Aucun fournisseur de résultats n'est enregistré pour ce pays. Veuillez en choisir un autre.",
    unknown_ncp: "Ce fournisseur de résultats n'est pas (ou plus) enregistré. Veuillez en choisir un autre.",
    form_too_large: "Le formulaire est trop volumineux.",
    bad_names_too_long: "Les noms peuvent comporter au plus 200 caractères.",
    bad_no_name: "Veuillez saisir votre nom.",
    bad_birth_date: "Veuillez saisir votre date de naissance sous forme de date (année, mois, jour).",
    exchange_unknown: "Ce transfert n'existe pas. Veuillez recommencer.",
    exchange_completed: "Ce transfert est déjà terminé. Pour récupérer à nouveau des résultats, recommencez.",
    exchange_expired: "Ce transfert a expiré. Veuillez recommencer.",
    return_unknown: "Cette réponse n'appartient à aucun transfert de ce service. Rien n'a été importé. Veuillez recommencer.",
    return_replayed: "Ce transfert est déjà terminé ; la réponse n'a pas été réutilisée.",
    return_expired: "Ce transfert a expiré avant l'arrivée des résultats ; rien n'a été importé. Veuillez recommencer.",
    return_malformed: "La réponse du fournisseur de résultats est mal formée ; rien n'a été enregistré. Revenez en arrière et réessayez, ou recommencez.",
    return_too_large: "La réponse du fournisseur de résultats est trop volumineuse ; rien n'a été enregistré.",
    return_not_stored: "Les résultats n'ont pas pu être enregistrés pour l'instant. Rien n'a été perdu chez le fournisseur : revenez en arrière et réessayez.",
    link_invalid: "Ce lien n'est pas valide ou a expiré. Le système de votre établissement conserve le résultat ; renseignez-vous auprès de lui, ou recommencez le transfert.",
    no_pdf: "Ce transfert n'a pas de relevé en PDF.",
    document: "Document : {type}",
    document_diploma: "diplôme",
    document_certificate: "certificat",
    document_enrolment: "inscription",
    document_admission: "admission",
    enrolled: "Inscription le {date}",
    enrolled_at: "Inscription le {date} à {institution}",
    academic_year: "(année universitaire {start} – {end})",
    report_from: "De {institution} : {status}.",
    report_full: "le relevé complet",
    report_selection: "les résultats que vous avez choisis",
    report_partial_temporary: "une partie du relevé : certains résultats n'ont pas pu être récupérés pour l'instant ; réessayez plus tard pour le reste",
    report_partial_permanent: "une partie du relevé : certains résultats ne peuvent pas être fournis",
    report_error_temporary: "aucun résultat : le fournisseur a eu un problème temporaire ; réessayez plus tard",
    report_error_permanent: "aucun résultat : le fournisseur ne peut pas les fournir",
    report_unknown: "un statut que ce service ne connaît pas",
    recognitions_by: "Reconnaissances par {institution}",
    col_recognition: "Reconnaissance",
    col_decision: "Décision",
    col_based_on: "Sur la base de",
    col_recognised_as: "Reconnu comme",
    recognition_positive: "reconnue",
    recognition_partially_positive: "partiellement reconnue",
    recognition_negative: "non reconnue",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_text_and_placeholder() {
        for lang in Lang::ALL {
            let t = lang.texts();
            let dbg = format!("{t:?}");
            assert!(!dbg.contains(": \"\""), "{lang:?} has an empty text");
            assert!(t.country_heading.contains("{country}"), "{lang:?}");
            assert!(t.go_heading.contains("{institution}"), "{lang:?}");
            assert!(t.document.contains("{type}"), "{lang:?}");
            assert!(t.enrolled.contains("{date}"), "{lang:?}");
            for p in ["{date}", "{institution}"] {
                assert!(t.enrolled_at.contains(p), "{lang:?} {p}");
            }
            for p in ["{start}", "{end}"] {
                assert!(t.academic_year.contains(p), "{lang:?} {p}");
            }
            for p in ["{institution}", "{status}"] {
                assert!(t.report_from.contains(p), "{lang:?} {p}");
            }
            assert!(t.recognitions_by.contains("{institution}"), "{lang:?}");
            // Every code ELMO 2.1 defines has words of its own.
            for code in emrex_elmo::codes::REPORT_STATUS_CODES {
                assert_ne!(t.report_status(code), t.report_unknown, "{lang:?} {code}");
            }
            for value in emrex_elmo::codes::RECOGNITION_STATUSES {
                assert_ne!(t.recognition_status(value), *value, "{lang:?} {value}");
            }
            for value in emrex_elmo::codes::DOCUMENT_TYPES {
                assert_ne!(t.document_type(value), *value, "{lang:?} {value}");
            }
        }
    }

    #[test]
    fn no_outcome_speaks_in_codes() {
        for lang in Lang::ALL {
            let t = lang.texts();
            // The ELMO document type "Certificate" is a word students use; the signature's
            // certificate is not.
            let dbg = format!("{t:?}").replace(
                &format!("document_certificate: {:?}", t.document_certificate),
                "",
            );
            for jargon in ["NCP_", "EMP_", "certificate", "edit distance", "base64"] {
                assert!(!dbg.contains(jargon), "{lang:?} says {jargon}");
            }
        }
    }

    #[test]
    fn other_languages_are_translated_not_copied() {
        for lang in [Lang::De, Lang::Fr] {
            let t = lang.texts();
            assert_ne!(t.verified.title, EN.verified.title);
            assert_ne!(t.cancelled.said, EN.cancelled.said);
            assert_ne!(t.skip_link, EN.skip_link);
            assert_ne!(t.return_malformed, EN.return_malformed);
            assert_ne!(t.report_partial_temporary, EN.report_partial_temporary);
            assert_ne!(t.recognitions_by, EN.recognitions_by);
            assert_ne!(t.col_recognised_as, EN.col_recognised_as);
        }
    }
}
