//! The pages' texts in English, German and French, chosen by `Accept-Language`.
//!
//! Adding a language: add a [`Lang`] variant, its tag in [`Lang::tag`] / [`Lang::ALL`], and a
//! `Texts` constant; the unit tests check that every text is non-empty and that placeholders
//! (`{host}`, `{n}`) survive translation.

/// A supported page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    De,
    Fr,
}

impl Lang {
    /// Every supported language.
    pub const ALL: [Lang; 3] = [Lang::En, Lang::De, Lang::Fr];

    /// BCP 47 tag (for `lang=` and title selection).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Fr => "fr",
        }
    }

    /// The best supported language for an `Accept-Language` header (RFC 9110 §12.5.4:
    /// quality values, primary-tag match), English when nothing matches.
    pub fn negotiate(accept_language: Option<&str>) -> Lang {
        let Some(header) = accept_language else {
            return Lang::En;
        };
        let mut best: Option<(f32, usize, Lang)> = None;
        for (pos, item) in header.split(',').take(32).enumerate() {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q <= 0.0 {
                continue;
            }
            let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
            let Some(lang) = Lang::ALL.into_iter().find(|l| l.tag() == primary) else {
                continue;
            };
            // Higher q wins; on ties, the earlier entry.
            if best.is_none_or(|(bq, bpos, _)| q > bq || (q == bq && pos < bpos)) {
                best = Some((q, pos, lang));
            }
        }
        best.map_or(Lang::En, |(_, _, l)| l)
    }

    /// The texts of this language.
    pub fn texts(self) -> &'static Texts {
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
    pub login_title: &'static str,
    pub login_intro: &'static str,
    pub login_oidc: &'static str,
    pub login_dev_heading: &'static str,
    pub login_dev_as: &'static str,
    pub select_title: &'static str,
    /// `{host}` is replaced with where the results go.
    pub select_intro: &'static str,
    pub select_all: &'static str,
    pub select_fixed: &'static str,
    pub col_course: &'static str,
    pub col_date: &'static str,
    pub col_result: &'static str,
    pub col_credits: &'static str,
    pub col_status: &'static str,
    pub status_passed: &'static str,
    pub status_failed: &'static str,
    pub status_in_progress: &'static str,
    /// `{host}` is replaced with where the results go.
    pub consent: &'static str,
    pub send: &'static str,
    pub cancel: &'static str,
    pub logged_in_as: &'static str,
    pub return_title: &'static str,
    pub return_intro: &'static str,
    pub return_button: &'static str,
    pub error_title: &'static str,
    pub error_expired: &'static str,
    pub error_finished: &'static str,
    pub error_forbidden: &'static str,
    pub error_need_consent: &'static str,
    pub error_nothing_selected: &'static str,
    pub error_bad_request: &'static str,
    pub error_internal: &'static str,
    pub error_too_busy: &'static str,
    pub error_unavailable: &'static str,
    pub no_results_sent: &'static str,
}

const EN: Texts = Texts {
    dev_banner: "Development mode: test logins and demo data. Never use this instance for real students.",
    login_title: "Send your study results",
    login_intro: "Log in to see your results. You can then choose which of them to send.",
    login_oidc: "Log in",
    login_dev_heading: "Development login: choose a demo student",
    login_dev_as: "Continue as",
    select_title: "Choose the results to send",
    select_intro: "These are your results. The ones you choose will be sent, digitally signed, to {host}.",
    select_all: "Select all",
    select_fixed: "The receiving service asked for all your results; you can send them or cancel.",
    col_course: "Course",
    col_date: "Date",
    col_result: "Grade",
    col_credits: "ECTS credits",
    col_status: "Status",
    status_passed: "passed",
    status_failed: "failed",
    status_in_progress: "in progress",
    consent: "I agree that the selected results, my name and my date of birth are sent to {host}.",
    send: "Send the selected results",
    cancel: "Cancel and return",
    logged_in_as: "Logged in as",
    return_title: "Returning you to the receiving service",
    return_intro: "If nothing happens, press the button.",
    return_button: "Continue",
    error_title: "This cannot be done",
    error_expired: "This transfer has expired or does not exist. Please start again from the service that sent you here.",
    error_finished: "This transfer is already finished. Please start again from the service that sent you here.",
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
    login_title: "Studienleistungen übermitteln",
    login_intro: "Melden Sie sich an, um Ihre Leistungen zu sehen. Danach wählen Sie aus, welche übermittelt werden.",
    login_oidc: "Anmelden",
    login_dev_heading: "Entwicklungs-Anmeldung: Demo-Studierende wählen",
    login_dev_as: "Weiter als",
    select_title: "Zu übermittelnde Leistungen wählen",
    select_intro: "Das sind Ihre Leistungen. Die gewählten werden digital signiert an {host} übermittelt.",
    select_all: "Alle auswählen",
    select_fixed: "Der empfangende Dienst hat alle Ihre Leistungen angefordert; Sie können sie übermitteln oder abbrechen.",
    col_course: "Lehrveranstaltung",
    col_date: "Datum",
    col_result: "Note",
    col_credits: "ECTS-Punkte",
    col_status: "Status",
    status_passed: "bestanden",
    status_failed: "nicht bestanden",
    status_in_progress: "laufend",
    consent: "Ich bin einverstanden, dass die gewählten Leistungen, mein Name und mein Geburtsdatum an {host} übermittelt werden.",
    send: "Gewählte Leistungen übermitteln",
    cancel: "Abbrechen und zurück",
    logged_in_as: "Angemeldet als",
    return_title: "Sie werden zum empfangenden Dienst zurückgeleitet",
    return_intro: "Falls nichts passiert, drücken Sie die Schaltfläche.",
    return_button: "Weiter",
    error_title: "Das ist nicht möglich",
    error_expired: "Diese Übermittlung ist abgelaufen oder existiert nicht. Bitte beginnen Sie erneut bei dem Dienst, der Sie hierher geschickt hat.",
    error_finished: "Diese Übermittlung ist bereits abgeschlossen. Bitte beginnen Sie erneut bei dem Dienst, der Sie hierher geschickt hat.",
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
    login_title: "Transmettre vos résultats d'études",
    login_intro: "Connectez-vous pour voir vos résultats. Vous choisirez ensuite lesquels transmettre.",
    login_oidc: "Se connecter",
    login_dev_heading: "Connexion de développement : choisissez un étudiant fictif",
    login_dev_as: "Continuer en tant que",
    select_title: "Choisissez les résultats à transmettre",
    select_intro: "Voici vos résultats. Ceux que vous choisissez seront transmis, signés numériquement, à {host}.",
    select_all: "Tout sélectionner",
    select_fixed: "Le service destinataire a demandé tous vos résultats ; vous pouvez les transmettre ou annuler.",
    col_course: "Cours",
    col_date: "Date",
    col_result: "Note",
    col_credits: "Crédits ECTS",
    col_status: "Statut",
    status_passed: "validé",
    status_failed: "non validé",
    status_in_progress: "en cours",
    consent: "J'accepte que les résultats choisis, mon nom et ma date de naissance soient transmis à {host}.",
    send: "Transmettre les résultats choisis",
    cancel: "Annuler et revenir",
    logged_in_as: "Connecté(e) en tant que",
    return_title: "Retour vers le service destinataire",
    return_intro: "Si rien ne se passe, appuyez sur le bouton.",
    return_button: "Continuer",
    error_title: "Action impossible",
    error_expired: "Ce transfert a expiré ou n'existe pas. Veuillez recommencer depuis le service qui vous a envoyé ici.",
    error_finished: "Ce transfert est déjà terminé. Veuillez recommencer depuis le service qui vous a envoyé ici.",
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
    fn negotiation_follows_quality_values() {
        assert_eq!(Lang::negotiate(None), Lang::En);
        assert_eq!(Lang::negotiate(Some("de-DE,de;q=0.9,en;q=0.8")), Lang::De);
        assert_eq!(Lang::negotiate(Some("en;q=0.5, fr-CA;q=0.9")), Lang::Fr);
        assert_eq!(Lang::negotiate(Some("fi, sv;q=0.8")), Lang::En);
        assert_eq!(Lang::negotiate(Some("fi, de;q=0.1")), Lang::De);
        assert_eq!(Lang::negotiate(Some("de;q=0, fr;q=0.2")), Lang::Fr);
        assert_eq!(Lang::negotiate(Some(";;;,,,q=abc")), Lang::En);
    }

    #[test]
    fn every_language_has_every_text_and_placeholder() {
        for lang in Lang::ALL {
            let t = lang.texts();
            let dbg = format!("{t:?}");
            assert!(!dbg.contains(": \"\""), "{lang:?} has an empty text");
            assert!(t.select_intro.contains("{host}"), "{lang:?}");
            assert!(t.consent.contains("{host}"), "{lang:?}");
        }
    }
}
