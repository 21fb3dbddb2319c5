//! The pages' texts in English, German and French. Which language a request gets (`?lang=`,
//! the remembered choice, `Accept-Language`) is `emrex_web::PageLang`'s job; how numbers and
//! dates are written is `emrex_i18n::Lang`'s.
//!
//! Adding a language: add it to `emrex_i18n::Lang` and a `Texts` constant here; the unit tests
//! check that every text is non-empty and that placeholders (`{host}`, `{n}`) survive
//! translation.

pub use emrex_i18n::Lang;

/// The texts of a language.
pub trait LangTexts {
    /// The NCP's texts in this language.
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

/// Every text the pages show.
#[derive(Debug)]
pub struct Texts {
    pub dev_banner: &'static str,
    pub skip_link: &'static str,
    /// The accessible name of the language switch.
    pub languages: &'static str,
    pub login_title: &'static str,
    pub login_intro: &'static str,
    pub login_oidc: &'static str,
    pub login_dev_heading: &'static str,
    pub login_dev_as: &'static str,
    pub select_title: &'static str,
    /// `{host}` is replaced with where the results go.
    pub select_intro: &'static str,
    /// The intro when the client asked for everything (`allowToPickCourses=false`); `{host}`.
    pub select_intro_fixed: &'static str,
    pub select_fixed: &'static str,
    /// The checkbox column's header (for screen readers).
    pub select_column: &'static str,
    /// The button that ticks every offered result.
    pub select_all: &'static str,
    /// Why some results are not listed (`allowNotPassedCourses=false`); `{n}` is how many.
    pub hidden_note: &'static str,
    /// A programme shown only as the heading of results that are offered.
    pub not_offered: &'static str,
    pub col_course: &'static str,
    pub col_date: &'static str,
    pub col_result: &'static str,
    pub col_credits: &'static str,
    pub col_status: &'static str,
    pub status_passed: &'static str,
    pub status_failed: &'static str,
    pub status_in_progress: &'static str,
    /// ELMO's learning-opportunity types: `Course`, `Module`, `Degree Programme`, `Class`.
    pub kind_course: &'static str,
    pub kind_module: &'static str,
    pub kind_programme: &'static str,
    pub kind_class: &'static str,
    /// `{host}` is replaced with where the results go.
    pub consent: &'static str,
    /// The consent when everything is sent; `{host}`.
    pub consent_fixed: &'static str,
    pub send: &'static str,
    pub send_fixed: &'static str,
    pub cancel: &'static str,
    pub logged_in_as: &'static str,
    pub return_title: &'static str,
    pub return_intro: &'static str,
    pub return_button: &'static str,
    pub error_title: &'static str,
    pub error_expired: &'static str,
    /// An exchange that existed and expired: the way back follows.
    pub error_expired_known: &'static str,
    pub error_finished: &'static str,
    /// The link back to the client; `{host}`.
    pub back_to: &'static str,
    pub error_forbidden: &'static str,
    pub error_need_consent: &'static str,
    pub error_nothing_selected: &'static str,
    pub error_bad_request: &'static str,
    pub error_internal: &'static str,
    pub error_too_busy: &'static str,
    pub error_unavailable: &'static str,
    pub no_results_sent: &'static str,
}

impl Texts {
    /// A learning-opportunity type as the page says it (a type ELMO does not define is shown
    /// as the document writes it).
    pub fn kind<'a>(&'a self, los_type: &'a str) -> &'a str {
        match los_type.trim().to_ascii_lowercase().as_str() {
            "course" => self.kind_course,
            "module" => self.kind_module,
            "degree programme" | "degree program" => self.kind_programme,
            "class" => self.kind_class,
            _ => los_type,
        }
    }
}

const EN: Texts = Texts {
    dev_banner: "Development mode: test logins and demo data. Never use this instance for real students.",
    skip_link: "Skip to content",
    languages: "Language",
    login_title: "Send your study results",
    login_intro: "Log in to see your results. You can then choose which of them to send.",
    login_oidc: "Log in",
    login_dev_heading: "Development login: choose a demo student",
    login_dev_as: "Continue as",
    select_title: "Choose the results to send",
    select_intro: "These are your results. The ones you choose will be sent, digitally signed, to {host}.",
    select_intro_fixed: "These are your results. They will be sent, digitally signed, to {host}.",
    select_fixed: "The receiving service asked for all your results; you can send them or cancel.",
    select_column: "Choose",
    select_all: "Select all results",
    hidden_note: "Failed results and results still in progress are not listed ({n} in all): the receiving service accepts passed results only.",
    not_offered: "not offered",
    col_course: "Course",
    col_date: "Date",
    col_result: "Grade",
    col_credits: "ECTS credits",
    col_status: "Status",
    status_passed: "passed",
    status_failed: "failed",
    status_in_progress: "in progress",
    kind_course: "Course",
    kind_module: "Module",
    kind_programme: "Degree programme",
    kind_class: "Class",
    consent: "I agree that the selected results, my name and my date of birth are sent to {host}.",
    consent_fixed: "I agree that these results, my name and my date of birth are sent to {host}.",
    send: "Send the selected results",
    send_fixed: "Send these results",
    cancel: "Cancel and return",
    logged_in_as: "Logged in as",
    return_title: "Returning you to the receiving service",
    return_intro: "If nothing happens, press the button.",
    return_button: "Continue",
    error_title: "This cannot be done",
    error_expired: "This transfer has expired or does not exist. Please go back to the service that sent you here and start again.",
    error_expired_known: "This transfer has expired and nothing was sent. Please start again at the service that sent you here.",
    error_finished: "This transfer is already finished. To send results again, start again at the service that sent you here.",
    back_to: "Back to {host}",
    error_forbidden: "This transfer was started in another browser, or the form was not sent from this page.",
    error_need_consent: "Please tick the consent box before sending.",
    error_nothing_selected: "Please choose at least one result, or cancel.",
    error_bad_request: "The request from the receiving service is not valid:",
    error_internal: "Something went wrong on our side. Please try again later.",
    error_too_busy: "Too many transfers are in progress. Please try again in a few minutes.",
    error_unavailable: "This service is briefly unavailable. Nothing was lost: please go back and try again in a moment.",
    no_results_sent: "No results were sent.",
};

const DE: Texts = Texts {
    dev_banner: "Entwicklungsmodus: Test-Anmeldungen und Demodaten. Diese Instanz niemals für echte Studierende verwenden.",
    skip_link: "Zum Inhalt springen",
    languages: "Sprache",
    login_title: "Studienleistungen übermitteln",
    login_intro: "Melden Sie sich an, um Ihre Leistungen zu sehen. Danach wählen Sie aus, welche übermittelt werden.",
    login_oidc: "Anmelden",
    login_dev_heading: "Entwicklungs-Anmeldung: Demo-Studierende wählen",
    login_dev_as: "Weiter als",
    select_title: "Zu übermittelnde Leistungen wählen",
    select_intro: "Das sind Ihre Leistungen. Die gewählten werden digital signiert an {host} übermittelt.",
    select_intro_fixed: "Das sind Ihre Leistungen. Sie werden digital signiert an {host} übermittelt.",
    select_fixed: "Der empfangende Dienst hat alle Ihre Leistungen angefordert; Sie können sie übermitteln oder abbrechen.",
    select_column: "Auswahl",
    select_all: "Alle Leistungen auswählen",
    hidden_note: "Nicht bestandene und noch laufende Leistungen sind nicht aufgeführt (insgesamt {n}): Der empfangende Dienst nimmt nur bestandene Leistungen an.",
    not_offered: "nicht wählbar",
    col_course: "Lehrveranstaltung",
    col_date: "Datum",
    col_result: "Note",
    col_credits: "ECTS-Punkte",
    col_status: "Status",
    status_passed: "bestanden",
    status_failed: "nicht bestanden",
    status_in_progress: "laufend",
    kind_course: "Lehrveranstaltung",
    kind_module: "Modul",
    kind_programme: "Studiengang",
    kind_class: "Kurs",
    consent: "Ich bin einverstanden, dass die gewählten Leistungen, mein Name und mein Geburtsdatum an {host} übermittelt werden.",
    consent_fixed: "Ich bin einverstanden, dass diese Leistungen, mein Name und mein Geburtsdatum an {host} übermittelt werden.",
    send: "Gewählte Leistungen übermitteln",
    send_fixed: "Diese Leistungen übermitteln",
    cancel: "Abbrechen und zurück",
    logged_in_as: "Angemeldet als",
    return_title: "Sie werden zum empfangenden Dienst zurückgeleitet",
    return_intro: "Falls nichts passiert, drücken Sie die Schaltfläche.",
    return_button: "Weiter",
    error_title: "Das ist nicht möglich",
    error_expired: "Diese Übermittlung ist abgelaufen oder existiert nicht. Bitte gehen Sie zu dem Dienst zurück, der Sie hierher geschickt hat, und beginnen Sie erneut.",
    error_expired_known: "Diese Übermittlung ist abgelaufen; es wurde nichts übermittelt. Bitte beginnen Sie erneut bei dem Dienst, der Sie hierher geschickt hat.",
    error_finished: "Diese Übermittlung ist bereits abgeschlossen. Um erneut Leistungen zu übermitteln, beginnen Sie erneut bei dem Dienst, der Sie hierher geschickt hat.",
    back_to: "Zurück zu {host}",
    error_forbidden: "Diese Übermittlung wurde in einem anderen Browser begonnen, oder das Formular stammt nicht von dieser Seite.",
    error_need_consent: "Bitte bestätigen Sie die Einwilligung vor dem Übermitteln.",
    error_nothing_selected: "Bitte wählen Sie mindestens eine Leistung aus oder brechen Sie ab.",
    error_bad_request: "Die Anfrage des empfangenden Dienstes ist ungültig:",
    error_internal: "Bei uns ist ein Fehler aufgetreten. Bitte versuchen Sie es später erneut.",
    error_too_busy: "Zu viele Übermittlungen laufen gerade. Bitte versuchen Sie es in einigen Minuten erneut.",
    error_unavailable: "Dieser Dienst ist kurz nicht erreichbar. Es ging nichts verloren: Bitte gehen Sie zurück und versuchen Sie es gleich noch einmal.",
    no_results_sent: "Es wurden keine Leistungen übermittelt.",
};

const FR: Texts = Texts {
    dev_banner: "Mode développement : connexions de test et données fictives. N'utilisez jamais cette instance pour de vrais étudiants.",
    skip_link: "Aller au contenu",
    languages: "Langue",
    login_title: "Transmettre vos résultats d'études",
    login_intro: "Connectez-vous pour voir vos résultats. Vous choisirez ensuite lesquels transmettre.",
    login_oidc: "Se connecter",
    login_dev_heading: "Connexion de développement : choisissez un étudiant fictif",
    login_dev_as: "Continuer en tant que",
    select_title: "Choisissez les résultats à transmettre",
    select_intro: "Voici vos résultats. Ceux que vous choisissez seront transmis, signés numériquement, à {host}.",
    select_intro_fixed: "Voici vos résultats. Ils seront transmis, signés numériquement, à {host}.",
    select_fixed: "Le service destinataire a demandé tous vos résultats ; vous pouvez les transmettre ou annuler.",
    select_column: "Choix",
    select_all: "Sélectionner tous les résultats",
    hidden_note: "Les résultats non validés ou encore en cours ne sont pas listés ({n} au total) : le service destinataire n'accepte que les résultats validés.",
    not_offered: "non proposé",
    col_course: "Cours",
    col_date: "Date",
    col_result: "Note",
    col_credits: "Crédits ECTS",
    col_status: "Statut",
    status_passed: "validé",
    status_failed: "non validé",
    status_in_progress: "en cours",
    kind_course: "Cours",
    kind_module: "Module",
    kind_programme: "Programme d'études",
    kind_class: "Séance",
    consent: "J'accepte que les résultats choisis, mon nom et ma date de naissance soient transmis à {host}.",
    consent_fixed: "J'accepte que ces résultats, mon nom et ma date de naissance soient transmis à {host}.",
    send: "Transmettre les résultats choisis",
    send_fixed: "Transmettre ces résultats",
    cancel: "Annuler et revenir",
    logged_in_as: "Connecté(e) en tant que",
    return_title: "Retour vers le service destinataire",
    return_intro: "Si rien ne se passe, appuyez sur le bouton.",
    return_button: "Continuer",
    error_title: "Action impossible",
    error_expired: "Ce transfert a expiré ou n'existe pas. Veuillez revenir au service qui vous a envoyé ici et recommencer.",
    error_expired_known: "Ce transfert a expiré et rien n'a été transmis. Veuillez recommencer depuis le service qui vous a envoyé ici.",
    error_finished: "Ce transfert est déjà terminé. Pour transmettre à nouveau des résultats, recommencez depuis le service qui vous a envoyé ici.",
    back_to: "Retour à {host}",
    error_forbidden: "Ce transfert a été commencé dans un autre navigateur, ou le formulaire ne provient pas de cette page.",
    error_need_consent: "Veuillez cocher la case de consentement avant de transmettre.",
    error_nothing_selected: "Veuillez choisir au moins un résultat, ou annuler.",
    error_bad_request: "La demande du service destinataire n'est pas valide :",
    error_internal: "Une erreur s'est produite de notre côté. Veuillez réessayer plus tard.",
    error_too_busy: "Trop de transferts sont en cours. Veuillez réessayer dans quelques minutes.",
    error_unavailable: "Ce service est brièvement indisponible. Rien n'a été perdu : revenez en arrière et réessayez dans un instant.",
    no_results_sent: "Aucun résultat n'a été transmis.",
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
            for (name, text) in [
                ("select_intro", t.select_intro),
                ("select_intro_fixed", t.select_intro_fixed),
                ("consent", t.consent),
                ("consent_fixed", t.consent_fixed),
                ("back_to", t.back_to),
            ] {
                assert!(text.contains("{host}"), "{lang:?} {name}");
            }
            assert!(t.hidden_note.contains("{n}"), "{lang:?}");
        }
    }

    #[test]
    fn pages_in_other_languages_are_translated_not_copied() {
        let en = format!("{:?}", Lang::En.texts());
        for lang in [Lang::De, Lang::Fr] {
            let t = lang.texts();
            // A text left in English in another language is a missed translation.
            for (name, text) in [
                ("skip_link", t.skip_link),
                ("kind_course", t.kind_course),
                ("select_all", t.select_all),
                ("hidden_note", t.hidden_note),
                ("error_expired", t.error_expired),
            ] {
                assert!(
                    !en.contains(&format!("\"{text}\"")),
                    "{lang:?} {name} is English"
                );
            }
        }
    }

    #[test]
    fn elmo_types_are_translated_and_others_shown_as_written() {
        let t = Lang::De.texts();
        assert_eq!(t.kind("Course"), "Lehrveranstaltung");
        assert_eq!(t.kind("degree programme"), "Studiengang");
        assert_eq!(t.kind("Semester project"), "Semester project");
    }
}
