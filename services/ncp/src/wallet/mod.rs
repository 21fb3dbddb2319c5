//! Wallet issuance: after consent, the NCP offers the student the same consented results as an
//! SD-JWT VC of type `urn:eudi:elm:1` (the European Learning Model) over OpenID4VCI 1.0, with
//! the pre-authorized code flow and a transaction code. The NCP is credential issuer and its own
//! authorization server; the credential is signed by the Signer (`SignJws`), never by the NCP.
//!
//! * [`issuer`]: the claims, what is disclosable, the offer and the metadata (pure);
//! * [`store`]: offers, access tokens and c_nonces in the NCP's database;
//! * the endpoints are in `http::wallet`.
//!
//! docs/ncp.md ("Wallet issuance") describes the flow for a registrar.

pub mod issuer;
pub mod store;

use std::time::Duration;

use emrex_elmo::Elmo;
use emrex_sdjwt::{CredentialSpec, IssueLimits, Jwk, JwtType, SdJwtVc};
use serde_json::Value;

use crate::clients::Signer;
use crate::config::{WalletConfig, WalletFormat};
use crate::exchange::StoreError;
use crate::i18n::{Lang, LangTexts};
pub use store::WalletStore;

/// The wallet issuance of one NCP.
#[derive(Debug, Clone)]
pub struct Wallet {
    pub store: WalletStore,
    pub config: WalletConfig,
    /// The credential issuer identifier: `http.public_url` without a trailing slash.
    pub issuer: String,
}

/// An offer made for a student, ready for the page.
#[derive(Debug, Clone)]
pub struct MadeOffer {
    pub uri: String,
    pub qr_svg: String,
    pub tx_code: String,
    pub minutes: u64,
}

/// Why no offer could be made (the results still go to the client).
#[derive(Debug, thiserror::Error)]
pub enum OfferError {
    #[error("the results cannot be expressed in ELM")]
    Claims(#[from] issuer::ClaimsError),
    #[error("storing the offer")]
    Store(#[from] StoreError),
    #[error("the offer does not fit in a QR code")]
    Qr(#[from] qrcode::types::QrError),
}

/// Limits of the credential built from the claims: large enough for a transcript of a few
/// hundred courses without the PDF (about 4 KB each), small enough for a wallet.
pub fn issue_limits() -> IssueLimits {
    IssueLimits {
        max_claims_bytes: 2 * 1024 * 1024,
        max_disclosures: 4096,
        ..IssueLimits::default()
    }
}

impl Wallet {
    /// Converts the consented `selected` ELMO to the credential's claims and stores an offer.
    pub async fn make_offer(&self, selected: &Elmo, lang: Lang) -> Result<MadeOffer, OfferError> {
        let claims = issuer::claims(selected)?;
        let new = self
            .store
            .create_offer(&claims, self.config.offer_ttl)
            .await?;
        let offer = issuer::offer(
            &self.issuer,
            &self.config.formats,
            &new.pre_authorized_code,
            lang.texts().wallet_tx_description,
        );
        let uri = issuer::offer_uri(&offer);
        let qr_svg = qr_svg(&uri)?;
        Ok(MadeOffer {
            uri,
            qr_svg,
            tx_code: new.tx_code,
            minutes: self.config.offer_ttl.as_secs().div_ceil(60),
        })
    }

    /// Builds and signs (through the Signer) the credential of `claims` for `holder`.
    pub async fn issue(
        &self,
        signer: &Signer,
        claims: &Value,
        holder: Jwk,
        format: WalletFormat,
        now: i64,
    ) -> Result<SdJwtVc, emrex_sdjwt::IssueError> {
        let ttl = i64::try_from(self.config.credential_ttl.as_secs()).unwrap_or(i64::MAX);
        let spec = CredentialSpec {
            issuer: self.issuer.clone(),
            vct: issuer::VCT.into(),
            issued_at: now,
            expires_at: Some(now.saturating_add(ttl)),
            not_before: None,
            subject: None,
            holder,
            claims: claims.as_object().cloned().unwrap_or_default(),
            disclosable: issuer::disclosable(claims),
            decoys: 2,
            typ: match format {
                WalletFormat::DcSdJwt => JwtType::DcSdJwt,
                WalletFormat::VcSdJwt => JwtType::VcSdJwt,
            },
        };
        emrex_sdjwt::issue(&spec, &issue_limits(), signer).await
    }

    /// The offer lifetime.
    pub fn offer_ttl(&self) -> Duration {
        self.config.offer_ttl
    }
}

/// The QR code of `uri` as an SVG document (black on white, with the quiet zone).
pub fn qr_svg(uri: &str) -> Result<String, qrcode::types::QrError> {
    let code = qrcode::QrCode::with_error_correction_level(uri, qrcode::EcLevel::L)?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    // Inline in HTML: without the XML declaration the renderer puts first.
    let start = svg.find("<svg").unwrap_or(0);
    Ok(svg[start..].to_string())
}
