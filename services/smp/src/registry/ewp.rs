//! The EWP registry catalogue (`catalogue-v1.xml`) as the list of NCPs: what the EMREX
//! implementation guide (§4.1) names as the successor of the JSON EMP list.
//!
//! ```xml
//! <catalogue xmlns="https://github.com/erasmus-without-paper/ewp-specs-api-registry/tree/stable-v1">
//!   <host>
//!     <apis-implemented>
//!       <emrex-data-access-point xmlns="…/ewp-specs-api-emrex-data-access-point/blob/stable-v1/manifest-entry.xsd" version="1.0.0">
//!         <url>https://…/init</url> <name>Norway registry</name> <country-code>NO</country-code>
//!         <institution>…</institution>*  <certificate>base64 DER</certificate>+
//!       </emrex-data-access-point>
//! ```
//!
//! * Every host's `emrex-data-access-point` entries are read, in both namespaces seen in the
//!   wild: `ewp-specs-api-emrex-data-access-point` (the published manifest entry) and
//!   `ewp-specs-api-emrex-ncp` (the University of Warsaw's entry in the guide). Hosts without
//!   one (most of the catalogue: other EWP APIs) are passed over.
//! * Several `certificate`s per entry are all trusted (a key rollover: the old and the new one
//!   are listed during the overlap). A certificate that does not parse is dropped with a
//!   warning; the entry stays (nothing from it verifies if none parses).
//! * The EWP entry has no acronym: the `name` is the key the SMP uses (in the chooser and in the
//!   SIS API's `ncp_acronym`). A name that is already taken becomes `name (CC)`, then
//!   `name (host)`, with a warning; the same URL listed twice is kept once (certificates
//!   merged). No country names: the chooser shows the codes.
//! * Entries without an `https://` URL, a name or a two-letter country code are skipped with a
//!   warning (the manifest schema requires all three).
//! * Parsed with the strict DOM of `emrex-xmldsig` (no DTD, UTF-8, namespace-aware), under
//!   [`CatalogueLimits`]; exceeding one refuses the whole document, so the source keeps its last
//!   good snapshot.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use base64::Engine as _;
use emrex_xmldsig::PinnedCert;
use emrex_xmldsig::dom::{self, Element, Limits};

use super::jsonlist::{MAX_CERTIFICATES_PER_ENTRY, MAX_INSTITUTIONS};
use super::{RegistryNcp, Snapshot};

/// Namespace of the catalogue.
pub const NS_CATALOGUE: &str =
    "https://github.com/erasmus-without-paper/ewp-specs-api-registry/tree/stable-v1";
/// Namespace of the published `emrex-data-access-point` manifest entry.
pub const NS_EMREX_DATA_ACCESS_POINT: &str = "https://github.com/erasmus-without-paper/ewp-specs-api-emrex-data-access-point/blob/stable-v1/manifest-entry.xsd";
/// The older namespace of the same entry (`ewp-specs-api-emrex-ncp`), still in the wild.
pub const NS_EMREX_NCP: &str = "https://github.com/erasmus-without-paper/ewp-specs-api-emrex-ncp/blob/stable-v1/manifest-entry.xsd";
/// Local name of the entry in both namespaces.
pub const ENTRY: &str = "emrex-data-access-point";

/// Bounds on a catalogue. The real catalogue lists every EWP host and institution (a few MB,
/// on the order of 100 000 nodes); these leave room for growth and stop a hostile or broken one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogueLimits {
    /// Largest document accepted, in bytes.
    pub max_bytes: usize,
    /// Most `host` elements.
    pub max_hosts: usize,
    /// Most `emrex-data-access-point` entries over all hosts.
    pub max_entries: usize,
}

impl Default for CatalogueLimits {
    fn default() -> Self {
        Self {
            max_bytes: 16 * 1024 * 1024,
            max_hosts: 20_000,
            max_entries: 10_000,
        }
    }
}

impl CatalogueLimits {
    fn dom(&self) -> Limits {
        Limits {
            max_bytes: self.max_bytes,
            max_depth: 32,
            // The root declares a prefix for every EWP API namespace.
            max_attributes: 1024,
            max_nodes: 1_000_000,
            max_text_bytes: 1024 * 1024,
            max_name_bytes: 4096,
        }
    }
}

/// Switches for [`parse_catalogue`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogueOptions {
    /// Names of entries that still sign with SHA-1 (the catalogue has no such flag).
    pub legacy_names: BTreeSet<String>,
    pub limits: CatalogueLimits,
}

/// A parsed catalogue: the snapshot and what was skipped or changed on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCatalogue {
    pub snapshot: Snapshot,
    /// Hosts in the document (with or without an EMREX entry).
    pub hosts: usize,
    pub warnings: Vec<CatalogueWarning>,
}

/// Something in the catalogue that was skipped, merged or renamed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogueWarning {
    /// An entry was skipped (`host` is the 1-based host index).
    EntrySkipped { host: usize, reason: String },
    /// A certificate could not be read; the entry is kept without it.
    BadCertificate { name: String, error: String },
    /// An entry has no usable certificate: it is listed, but nothing from it can verify.
    NoCertificate { name: String },
    /// The name was taken by an earlier entry; this one is listed under `listed_as`.
    Renamed { name: String, listed_as: String },
    /// The same URL was listed again (another host); its certificates were merged.
    Merged { name: String, url: String },
}

impl fmt::Display for CatalogueWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EntrySkipped { host, reason } => {
                write!(f, "host[{host}]: {ENTRY} skipped: {reason}")
            }
            Self::BadCertificate { name, error } => {
                write!(f, "{name}: certificate ignored: {error}")
            }
            Self::NoCertificate { name } => write!(
                f,
                "{name}: no usable certificate; documents from it cannot be verified"
            ),
            Self::Renamed { name, listed_as } => {
                write!(f, "{name}: the name is taken; listed as {listed_as:?}")
            }
            Self::Merged { name, url } => {
                write!(f, "{name}: {url} is listed again; certificates merged")
            }
        }
    }
}

/// Why a catalogue was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error("the catalogue is {size} bytes; at most {limit} are accepted")]
    TooLarge { size: usize, limit: usize },
    /// Not well-formed, not UTF-8, a DTD, or over a parser limit.
    #[error("the catalogue is not usable XML: {0}")]
    Xml(dom::ParseError),
    #[error("the root element is {found}, not an EWP registry <catalogue>")]
    NotACatalogue { found: String },
    #[error("the catalogue has more than {limit} hosts")]
    TooManyHosts { limit: usize },
    #[error("the catalogue has more than {limit} {ENTRY} entries")]
    TooManyEntries { limit: usize },
    #[error("host[{host}]: {name} lists more than {limit} {what}")]
    TooMany {
        host: usize,
        name: String,
        what: &'static str,
        limit: usize,
    },
}

/// Parses a catalogue (see the module documentation for what is read and accepted).
pub fn parse_catalogue(
    bytes: &[u8],
    options: &CatalogueOptions,
) -> Result<ParsedCatalogue, CatalogueError> {
    let limits = options.limits;
    if bytes.len() > limits.max_bytes {
        return Err(CatalogueError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let doc = dom::parse(bytes, &limits.dom()).map_err(CatalogueError::Xml)?;
    if !doc.root.is(NS_CATALOGUE, "catalogue") {
        return Err(CatalogueError::NotACatalogue {
            found: format!(
                "<{{{}}}{}>",
                doc.root.namespace.as_deref().unwrap_or(""),
                doc.root.local_name()
            ),
        });
    }
    let mut warnings = Vec::new();
    let mut ncps: Vec<RegistryNcp> = Vec::new();
    let mut by_url: HashMap<String, usize> = HashMap::new();
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut hosts = 0;
    let mut entries = 0;
    for host in doc.root.children_named(NS_CATALOGUE, "host") {
        hosts += 1;
        if hosts > limits.max_hosts {
            return Err(CatalogueError::TooManyHosts {
                limit: limits.max_hosts,
            });
        }
        let Some(apis) = host.first_child(NS_CATALOGUE, "apis-implemented") else {
            continue;
        };
        for e in apis.child_elements().filter(|e| {
            e.local_name() == ENTRY
                && matches!(
                    e.namespace.as_deref(),
                    Some(NS_EMREX_DATA_ACCESS_POINT | NS_EMREX_NCP)
                )
        }) {
            entries += 1;
            if entries > limits.max_entries {
                return Err(CatalogueError::TooManyEntries {
                    limit: limits.max_entries,
                });
            }
            let Some(entry) = read_entry(e, hosts, &mut warnings)? else {
                continue;
            };
            if let Some(&i) = by_url.get(&entry.url) {
                warnings.push(CatalogueWarning::Merged {
                    name: ncps[i].acronym.clone(),
                    url: entry.url.clone(),
                });
                for c in entry.certificates {
                    if !ncps[i].certificates.contains(&c) {
                        ncps[i].certificates.push(c);
                    }
                }
                continue;
            }
            let mut ncp = entry;
            let name = ncp.acronym.clone();
            let host_name = url::Url::parse(&ncp.url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_default();
            let listed_as = [
                name.clone(),
                format!("{name} ({})", ncp.country_code),
                format!("{name} ({host_name})"),
                format!("{name} ({})", ncp.url),
            ]
            .into_iter()
            .find(|n| !names.contains(n));
            let Some(listed_as) = listed_as else {
                // Same name, country, host and URL: the URL check above caught it already.
                continue;
            };
            if listed_as != name {
                warnings.push(CatalogueWarning::Renamed {
                    name,
                    listed_as: listed_as.clone(),
                });
            }
            ncp.legacy_algorithms = options.legacy_names.contains(&listed_as);
            ncp.acronym = listed_as.clone();
            names.insert(listed_as);
            by_url.insert(ncp.url.clone(), ncps.len());
            ncps.push(ncp);
        }
    }
    for n in &ncps {
        if n.certificates.is_empty() {
            warnings.push(CatalogueWarning::NoCertificate {
                name: n.acronym.clone(),
            });
        }
    }
    Ok(ParsedCatalogue {
        snapshot: Snapshot::from_parts(Vec::new(), ncps),
        hosts,
        warnings,
    })
}

/// One entry, or `None` (with a warning) when it lacks what a client needs.
fn read_entry(
    e: &Element,
    host: usize,
    warnings: &mut Vec<CatalogueWarning>,
) -> Result<Option<RegistryNcp>, CatalogueError> {
    let ns = e.namespace.as_deref().unwrap_or("");
    let text = |local: &str| -> Option<String> {
        e.first_child(ns, local)
            .map(|c| c.text().trim().to_string())
            .filter(|t| !t.is_empty())
    };
    let mut skip = |reason: String| {
        warnings.push(CatalogueWarning::EntrySkipped { host, reason });
        Ok(None)
    };
    let Some(name) = text("name") else {
        return skip("no name".into());
    };
    let url = match text("url") {
        None => return skip(format!("{name}: no url")),
        Some(u) => match url::Url::parse(&u) {
            Ok(p) if p.scheme() == "https" && p.host_str().is_some() => u,
            _ => return skip(format!("{name}: url {u:?} is not an https:// URL")),
        },
    };
    let country = text("country-code")
        .unwrap_or_default()
        .to_ascii_uppercase();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return skip(format!(
            "{name}: country-code {country:?} is not two letters"
        ));
    }
    let institutions: Vec<String> = e
        .children_named(ns, "institution")
        .map(|i| i.text().trim().to_string())
        .filter(|i| !i.is_empty())
        .collect();
    if institutions.len() > MAX_INSTITUTIONS {
        return Err(CatalogueError::TooMany {
            host,
            name,
            what: "institutions",
            limit: MAX_INSTITUTIONS,
        });
    }
    let raw_certs: Vec<String> = e
        .children_named(ns, "certificate")
        .map(Element::text)
        .collect();
    if raw_certs.len() > MAX_CERTIFICATES_PER_ENTRY {
        return Err(CatalogueError::TooMany {
            host,
            name,
            what: "certificates",
            limit: MAX_CERTIFICATES_PER_ENTRY,
        });
    }
    let mut certificates: Vec<PinnedCert> = Vec::new();
    for raw in raw_certs {
        // xs:base64Binary allows whitespace anywhere.
        let compact: String = raw.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let parsed = base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .map_err(|e| format!("not base64: {e}"))
            .and_then(|der| PinnedCert::from_der(&der).map_err(|e| e.to_string()));
        match parsed {
            Ok(c) if !certificates.contains(&c) => certificates.push(c),
            Ok(_) => {}
            Err(error) => warnings.push(CatalogueWarning::BadCertificate {
                name: name.clone(),
                error,
            }),
        }
    }
    Ok(Some(RegistryNcp {
        institutions: if institutions.is_empty() {
            vec![name.clone()]
        } else {
            institutions
        },
        acronym: name,
        country_code: country,
        url,
        certificates,
        legacy_algorithms: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_checked_before_parsing() {
        let options = CatalogueOptions {
            limits: CatalogueLimits {
                max_bytes: 10,
                ..CatalogueLimits::default()
            },
            ..CatalogueOptions::default()
        };
        assert_eq!(
            parse_catalogue(b"<catalogue>...</catalogue>", &options),
            Err(CatalogueError::TooLarge {
                size: 26,
                limit: 10
            })
        );
    }
}
