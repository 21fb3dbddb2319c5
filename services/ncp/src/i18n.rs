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
    /// The consent page's wallet option.
    pub wallet_option: &'static str,
    pub wallet_option_hint: &'static str,
    pub wallet_title: &'static str,
    /// `{host}`: where the results go.
    pub wallet_intro: &'static str,
    pub wallet_scan: &'static str,
    pub wallet_same_device: &'static str,
    pub wallet_code_label: &'static str,
    pub wallet_code_help: &'static str,
    /// `{n}`: minutes.
    pub wallet_lasts: &'static str,
    /// The button to the receiving service; `{host}`.
    pub wallet_continue: &'static str,
    /// The wallet offer could not be made (the results still go); `{host}`.
    pub wallet_failed: &'static str,
    /// The transaction code's description in the offer (the wallet shows it).
    pub wallet_tx_description: &'static str,
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
    wallet_option: "Also keep these results in my digital wallet",
    wallet_option_hint: "After sending, you get a QR code to scan with your wallet app. The same results go to your wallet, nothing more.",
    wallet_title: "Keep your results in your wallet",
    wallet_intro: "Your results are ready to go to {host}. Before you continue, you can add the same results to your digital wallet app.",
    wallet_scan: "Scan this QR code with your wallet app:",
    wallet_same_device: "Is the wallet app on this device? Open the offer in your wallet app",
    wallet_code_label: "Your code",
    wallet_code_help: "Your wallet app will ask for this code. Type it in there. Do not give it to anyone.",
    wallet_lasts: "The offer works for {n} min and only once. If you continue without it, your results are still sent.",
    wallet_continue: "Continue to {host}",
    wallet_failed: "Your results could not be prepared for a wallet this time, but they will still be sent to {host}.",
    wallet_tx_description: "The 6-digit code shown on the EMREX page",
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
    wallet_option: "Diese Ergebnisse auch in meiner digitalen Brieftasche (Wallet) speichern",
    wallet_option_hint: "Nach dem Senden erhalten Sie einen QR-Code für Ihre Wallet-App. Dieselben Ergebnisse kommen in Ihre Wallet, nicht mehr.",
    wallet_title: "Ergebnisse in Ihrer Wallet speichern",
    wallet_intro: "Ihre Ergebnisse sind bereit für {host}. Bevor Sie weitergehen, können Sie dieselben Ergebnisse in Ihre Wallet-App übernehmen.",
    wallet_scan: "Scannen Sie diesen QR-Code mit Ihrer Wallet-App:",
    wallet_same_device: "Ist die Wallet-App auf diesem Gerät? Angebot in der Wallet-App öffnen",
    wallet_code_label: "Ihr Code",
    wallet_code_help: "Ihre Wallet-App fragt nach diesem Code. Geben Sie ihn dort ein. Geben Sie ihn niemandem weiter.",
    wallet_lasts: "Das Angebot gilt {n} Min. und nur einmal. Wenn Sie ohne es weitergehen, werden Ihre Ergebnisse trotzdem gesendet.",
    wallet_continue: "Weiter zu {host}",
    wallet_failed: "Ihre Ergebnisse konnten diesmal nicht für eine Wallet vorbereitet werden, sie werden aber an {host} gesendet.",
    wallet_tx_description: "Der 6-stellige Code auf der EMREX-Seite",
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
    wallet_option: "Garder aussi ces résultats dans mon portefeuille numérique",
    wallet_option_hint: "Après l'envoi, vous obtenez un code QR à scanner avec votre application de portefeuille. Les mêmes résultats y vont, rien de plus.",
    wallet_title: "Garder vos résultats dans votre portefeuille",
    wallet_intro: "Vos résultats sont prêts à partir vers {host}. Avant de continuer, vous pouvez ajouter les mêmes résultats à votre application de portefeuille numérique.",
    wallet_scan: "Scannez ce code QR avec votre application de portefeuille :",
    wallet_same_device: "L'application de portefeuille est sur cet appareil ? Ouvrir l'offre dans l'application",
    wallet_code_label: "Votre code",
    wallet_code_help: "Votre application de portefeuille vous demandera ce code. Saisissez-le là-bas. Ne le donnez à personne.",
    wallet_lasts: "L'offre est valable {n} min et une seule fois. Si vous continuez sans elle, vos résultats sont quand même envoyés.",
    wallet_continue: "Continuer vers {host}",
    wallet_failed: "Vos résultats n'ont pas pu être préparés pour un portefeuille cette fois, mais ils seront envoyés à {host}.",
    wallet_tx_description: "Le code à 6 chiffres affiché sur la page EMREX",
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
                ("wallet_intro", t.wallet_intro),
                ("wallet_continue", t.wallet_continue),
                ("wallet_failed", t.wallet_failed),
            ] {
                assert!(text.contains("{host}"), "{lang:?} {name}");
            }
            assert!(t.hidden_note.contains("{n}"), "{lang:?}");
            assert!(t.wallet_lasts.contains("{n}"), "{lang:?}");
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
                ("wallet_option", t.wallet_option),
                ("wallet_code_help", t.wallet_code_help),
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
