//! The logged-in student, as the login established them.

use serde::{Deserialize, Serialize};

/// Who the student is, from the login (OpenID Connect claims mapped by configuration, or the
/// dev login's demo student). Never logged: it is personal data.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Student {
    pub given_names: String,
    pub family_name: String,
    /// `YYYY-MM-DD` when the login asserted it.
    pub birth_date: Option<String>,
    /// `(type, value)` pairs, e.g. `("schac", "urn:schac:personalUniqueCode:…")`.
    pub identifiers: Vec<(String, String)>,
}

impl std::fmt::Debug for Student {
    // Personal data stays out of logs and panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Student")
            .field("identifiers", &self.identifiers.len())
            .finish_non_exhaustive()
    }
}

impl Student {
    /// The value of the first identifier of `id_type` (case-insensitive type).
    pub fn identifier(&self, id_type: &str) -> Option<&str> {
        self.identifiers
            .iter()
            .find(|(t, _)| t.eq_ignore_ascii_case(id_type))
            .map(|(_, v)| v.as_str())
    }

    /// For identity matching against a document's learner.
    pub fn person(&self) -> emrex_elmo::Person {
        emrex_elmo::Person::new(
            self.given_names.clone(),
            self.family_name.clone(),
            self.birth_date.as_deref(),
        )
    }

    /// Full name for pages.
    pub fn display_name(&self) -> String {
        format!("{} {}", self.given_names, self.family_name)
            .trim()
            .to_string()
    }
}
