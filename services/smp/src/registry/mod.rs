//! Where the SMP learns which NCPs exist and which certificates their documents verify with.
//!
//! * [`jsonlist`]: the EMREX 1.x JSON lists (`ncp-list.json` / `emp-list.json`), parsed leniently
//!   into a [`Snapshot`].
//! * [`ewp`]: the EWP registry catalogue (`catalogue-v1.xml`), its `emrex-data-access-point`
//!   entries as a [`Snapshot`].
//! * [`source`]: [`RegistryConfig`] (where the list comes from: our EMREG over gRPC with live
//!   Watch, or a JSON list or the EWP catalogue over HTTP(S) refreshed with ETags) and
//!   [`RegistryView`], the always current snapshot the rest of the SMP reads.
//!
//! All sources give snapshots in one canonical form ([`Snapshot::from_parts`]): countries that
//! have at least one NCP, ordered by code; NCPs ordered by country, then acronym.

pub mod ewp;
pub mod jsonlist;
pub mod source;

pub use jsonlist::{ListError, ListKey, ListWarning, ParseOptions, ParsedList, parse_list};
pub use source::{RegistryConfig, RegistryError, RegistryStatus, RegistryView};

use std::collections::BTreeMap;

use emrex_xmldsig::PinnedCert;

/// One NCP as the registry lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub countries: Vec<RegistryCountry>,
    pub ncps: Vec<RegistryNcp>,
}

impl Snapshot {
    /// The canonical snapshot of `ncps` with the country settings `listed`:
    ///
    /// * NCPs ordered by country code, then acronym (country codes upper-cased); each NCP's
    ///   certificates newest first (latest notBefore, then SHA-256 fingerprint), so the same
    ///   registry read over gRPC or as a JSON list gives equal snapshots;
    /// * countries: exactly those with at least one NCP (a country without NCPs offers students
    ///   nothing to pick), ordered by code. A listed country keeps its name and `single_fetch`;
    ///   one that is not listed gets its code as name and `single_fetch` true exactly when it has
    ///   more than one NCP (the rule EMREG's JSON list uses). The first listing of a code wins.
    pub fn from_parts(listed: Vec<RegistryCountry>, mut ncps: Vec<RegistryNcp>) -> Snapshot {
        for n in &mut ncps {
            n.country_code.make_ascii_uppercase();
            n.certificates.sort_by(|a, b| {
                (b.validity().0, a.sha256_fingerprint())
                    .cmp(&(a.validity().0, b.sha256_fingerprint()))
            });
        }
        ncps.sort_by(|a, b| {
            (a.country_code.as_str(), a.acronym.as_str())
                .cmp(&(b.country_code.as_str(), b.acronym.as_str()))
        });
        let mut per_country: BTreeMap<&str, usize> = BTreeMap::new();
        for n in &ncps {
            *per_country.entry(n.country_code.as_str()).or_default() += 1;
        }
        let mut settings: BTreeMap<String, RegistryCountry> = BTreeMap::new();
        for mut c in listed {
            c.code.make_ascii_uppercase();
            settings.entry(c.code.clone()).or_insert(c);
        }
        let countries = per_country
            .iter()
            .map(|(&code, &count)| {
                settings.remove(code).unwrap_or_else(|| RegistryCountry {
                    code: code.to_string(),
                    name: code.to_string(),
                    single_fetch: count > 1,
                })
            })
            .collect();
        Snapshot { countries, ncps }
    }

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
