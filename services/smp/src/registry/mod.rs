//! Where the SMP learns which NCPs exist and which certificates their documents verify with.
//! Work in progress.

use emrex_xmldsig::PinnedCert;

/// One NCP as the registry lists it.
#[derive(Debug, Clone)]
pub struct RegistryNcp {
    pub acronym: String,
    pub country_code: String,
    pub institutions: Vec<String>,
    /// The EMREX entry point the browser POSTs to.
    pub url: String,
    /// Certificates its documents may verify with (several during a key rollover).
    pub certificates: Vec<PinnedCert>,
    /// The NCP still signs with SHA-1 (EMREG's `legacy_algorithms`): accept SHA-1 only for it.
    pub legacy_algorithms: bool,
}

/// A country of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryCountry {
    pub code: String,
    pub name: String,
    /// Several NCPs in this country: list them by their first institution.
    pub single_fetch: bool,
}

/// The whole list at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub countries: Vec<RegistryCountry>,
    pub ncps: Vec<RegistryNcp>,
}

impl Snapshot {
    /// The NCPs of a country.
    pub fn ncps_in<'a>(&'a self, country: &'a str) -> impl Iterator<Item = &'a RegistryNcp> + 'a {
        self.ncps
            .iter()
            .filter(move |n| n.country_code.eq_ignore_ascii_case(country))
    }

    /// The NCP with this acronym.
    pub fn by_acronym(&self, acronym: &str) -> Option<&RegistryNcp> {
        self.ncps.iter().find(|n| n.acronym == acronym)
    }
}
