// A wallet for the Rust tests (emrex_tests::sdjwt::wallet): npm `@openid4vc/openid4vci` (the
// OpenID4VCI client of the OpenWallet Foundation's oid4vc-ts, written against OpenID4VCI 1.0)
// takes a credential offer the way a holder's wallet does, with its own ES256 key made by npm
// `jose`. Nothing here shares code with the NCP.
//
//   node wallet.mjs < request.json      (one JSON object on stdin, one JSON verdict on stdout)
//
// request: {offerUri, txCode}
//   -> {ok, version, offer, issuerMetadata, credentialConfigurationId, tokenResponse, nonce,
//       credentialResponse, credential, publicJwk, privateJwk}
// The client parses the offer URI, fetches the issuer and authorization-server metadata, gets a
// token with the pre-authorized code and the transaction code, a c_nonce from the nonce endpoint,
// signs its key proof and requests the credential. On failure `ok` is false and `error` says why
// (with the server's error response when there was one); the exit code stays 0.
import { readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import * as jose from 'jose';
import { Openid4vciClient, setGlobalConfig } from '@openid4vc/openid4vci';
import { clientAuthenticationAnonymous } from '@openid4vc/oauth2';

const req = JSON.parse(readFileSync(0, 'utf8'));

// The test NCP listens on loopback over plain HTTP.
setGlobalConfig({ allowInsecureUrls: true });

const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
const publicJwk = await jose.exportJWK(publicKey);
const privateJwk = await jose.exportJWK(privateKey);

const hashes = { 'sha-256': 'sha256', 'sha-384': 'sha384', 'sha-512': 'sha512' };
const callbacks = {
  hash: (data, alg) => new Uint8Array(createHash(hashes[alg]).update(data).digest()),
  generateRandom: (n) => new Uint8Array(randomBytes(n)),
  clientAuthentication: clientAuthenticationAnonymous(),
  signJwt: async (_signer, { header, payload }) => {
    const jwt = await new jose.SignJWT(payload).setProtectedHeader(header).sign(privateKey);
    return { jwt, signerJwk: publicJwk };
  },
};

async function run() {
  const client = new Openid4vciClient({ callbacks });
  const offer = await client.resolveCredentialOffer(req.offerUri);
  const issuerMetadata = await client.resolveIssuerMetadata(offer.credential_issuer);
  const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer: offer,
    issuerMetadata,
    txCode: req.txCode,
  });
  const credentialConfigurationId = offer.credential_configuration_ids[0];
  const { c_nonce: nonce } = await client.requestNonce({ issuerMetadata });
  const { jwt } = await client.createCredentialRequestJwtProof({
    issuerMetadata,
    credentialConfigurationId,
    signer: { method: 'jwk', alg: 'ES256', publicJwk },
    nonce,
  });
  const response = await client.retrieveCredentials({
    issuerMetadata,
    accessToken: accessTokenResponse.access_token,
    credentialConfigurationId,
    proofs: { jwt: [jwt] },
  });
  if (!response.ok) {
    throw Object.assign(new Error('credential request failed'), { response: response.credentialErrorResponseResult ?? response });
  }
  const credentialResponse = response.credentialResponse;
  return {
    version: issuerMetadata.originalDraftVersion ?? null,
    offer,
    issuerMetadata: issuerMetadata.credentialIssuer,
    authorizationServers: issuerMetadata.authorizationServers,
    credentialConfigurationId,
    tokenResponse: accessTokenResponse,
    nonce,
    credentialResponse,
    credential: credentialResponse.credentials?.[0]?.credential ?? null,
    publicJwk,
    privateJwk,
  };
}

try {
  console.log(JSON.stringify({ ok: true, ...(await run()) }));
} catch (e) {
  const detail = e?.response ?? e?.errorResponse ?? null;
  console.log(JSON.stringify({ ok: false, error: String(e?.message ?? e), detail: detail ? JSON.parse(JSON.stringify(detail, (_k, v) => (typeof v === 'function' ? undefined : v))) : null }));
}
