//! Conversions between the model and the generated protobuf types (`emrex.registry.v1`).
//!
//! Conversions are total and do no validation: a proto value becomes a model value field by field,
//! and the store validates it. Server-set fields (`revision`, `updated_unix`) are dropped on the way
//! in so a client cannot forge them.

use emrex_proto::registry::v1 as pb;

use crate::model::{Country, Entry, Snapshot};

impl From<Entry> for pb::Entry {
    fn from(e: Entry) -> Self {
        pb::Entry {
            acronym: e.acronym,
            country_code: e.country_code,
            institutions: e.institutions,
            url: e.url,
            certificates_pem: e.certificates,
            legacy_algorithms: e.legacy_algorithms,
            metadata: e.metadata.into_iter().collect(),
            credential_issuer: e.credential_issuer,
            revision: e.revision,
            updated_unix: e.updated_unix,
        }
    }
}

impl From<pb::Entry> for Entry {
    /// Input direction: `revision` and `updated_unix` are ignored (set by the store).
    fn from(e: pb::Entry) -> Self {
        Entry {
            acronym: e.acronym,
            country_code: e.country_code,
            institutions: e.institutions,
            url: e.url,
            certificates: e.certificates_pem,
            legacy_algorithms: e.legacy_algorithms,
            metadata: e.metadata.into_iter().collect(),
            credential_issuer: e.credential_issuer,
            revision: 0,
            updated_unix: 0,
        }
    }
}

impl From<Country> for pb::Country {
    fn from(c: Country) -> Self {
        pb::Country {
            country_code: c.code,
            country_name: c.name,
            single_fetch: c.single_fetch,
        }
    }
}

impl From<pb::Country> for Country {
    fn from(c: pb::Country) -> Self {
        Country {
            code: c.country_code,
            name: c.country_name,
            single_fetch: c.single_fetch,
        }
    }
}

impl From<Snapshot> for pb::ListResponse {
    fn from(s: Snapshot) -> Self {
        pb::ListResponse {
            entries: s.entries.into_iter().map(Into::into).collect(),
            countries: s.countries.into_iter().map(Into::into).collect(),
            revision: s.revision,
            generation: s.generation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_drops_server_fields_on_input() {
        let mut e = Entry {
            acronym: "CSC".into(),
            country_code: "FI".into(),
            institutions: vec!["All".into()],
            url: "https://x.example/".into(),
            certificates: vec!["pem".into()],
            legacy_algorithms: true,
            revision: 7,
            updated_unix: 99,
            ..Entry::default()
        };
        e.metadata.insert("k".into(), "v".into());
        let wire: pb::Entry = e.clone().into();
        assert_eq!(wire.revision, 7);
        assert_eq!(wire.metadata.get("k").map(String::as_str), Some("v"));
        let back: Entry = wire.into();
        assert_eq!(
            back,
            Entry {
                revision: 0,
                updated_unix: 0,
                ..e
            }
        );
        let c = Country {
            code: "FI".into(),
            name: "Finland".into(),
            single_fetch: true,
        };
        assert_eq!(Country::from(pb::Country::from(c.clone())), c);
    }
}
