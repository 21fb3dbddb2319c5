// Independent JOSE / SD-JWT VC verifiers for the Rust tests (emrex_tests::sdjwt). None of this code
// shares anything with ours: npm `jose` checks the Signer's JWS, `@sd-jwt/sd-jwt-vc` (with
// `@sd-jwt/crypto-nodejs`) checks the issued SD-JWT VC and makes and checks key binding.
//
//   node oracle.mjs < request.json      (one JSON object on stdin, one JSON verdict on stdout)
//
// request.mode:
//   "jws":     {jws, jwks, typ}                      -> {header, payload, viaJwks, viaX5c}
//   "verify":  {credential, issuerJwk}                -> {header, payload, disclosures}
//   "present": {credential, issuerJwk, frame, holderPrivateJwk, aud, nonce}
//                                                     -> {presentation, header, payload, kb}
//   "wallet":  {alg, aud, nonce}                      -> {proof, publicJwk, privateJwk}
//              a wallet's fresh key and its OpenID4VCI key proof (proof_type jwt), made by jose
// The verdict always has `ok`; on failure `error` says why (exit code stays 0 so the caller can
// assert on refusals; a usage error exits 2).
import { readFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import * as jose from 'jose';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { digest, generateSalt, ES256 } from '@sd-jwt/crypto-nodejs';

const { subtle } = webcrypto;
const b64urlToBytes = (s) => Uint8Array.from(Buffer.from(s, 'base64url'));

// RS256 is not in @sd-jwt/crypto-nodejs: WebCrypto's RSASSA-PKCS1-v1_5 with SHA-256.
async function rs256Verifier(publicJwk) {
  const key = await subtle.importKey('jwk', publicJwk,
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['verify']);
  return async (data, sig) => subtle.verify('RSASSA-PKCS1-v1_5', key, b64urlToBytes(sig),
    new TextEncoder().encode(data));
}
async function rs256Signer(privateJwk) {
  const key = await subtle.importKey('jwk', privateJwk,
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
  return async (data) => Buffer.from(await subtle.sign('RSASSA-PKCS1-v1_5', key,
    new TextEncoder().encode(data))).toString('base64url');
}
const verifierFor = async (jwk) => (jwk.kty === 'RSA' ? rs256Verifier(jwk) : ES256.getVerifier(jwk));
const signerFor = async (jwk) => (jwk.kty === 'RSA' ? rs256Signer(jwk) : ES256.getSigner(jwk));
const algFor = (jwk) => (jwk.kty === 'RSA' ? 'RS256' : 'ES256');

async function jws(req) {
  const jwks = jose.createLocalJWKSet(req.jwks);
  const viaJwks = await jose.jwtVerify(req.jws, jwks, { typ: req.typ, algorithms: ['ES256', 'RS256'] });
  const header = viaJwks.protectedHeader;
  if (!Array.isArray(header.x5c) || header.x5c.length === 0) throw new Error('no x5c header');
  const pem = `-----BEGIN CERTIFICATE-----\n${header.x5c[0].match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----\n`;
  const certKey = await jose.importX509(pem, header.alg);
  const viaX5c = await jose.compactVerify(req.jws, certKey);
  // compactVerify throws unless the signature verifies with the certificate's key.
  const samePayload = Buffer.from(viaX5c.payload).equals(Buffer.from(req.jws.split('.')[1], 'base64url'));
  return { header, payload: viaJwks.payload, viaJwks: true, viaX5c: samePayload };
}

async function instance(req) {
  const holder = req.holderPrivateJwk;
  return new SDJwtVcInstance({
    hasher: digest,
    hashAlg: 'sha-256',
    saltGenerator: generateSalt,
    verifier: await verifierFor(req.issuerJwk),
    // Key binding: the KB-JWT must verify with the key the credential binds (cnf.jwk).
    kbVerifier: async (data, sig, payload) => {
      if (!payload?.cnf?.jwk) throw new Error('credential has no cnf.jwk');
      return (await verifierFor(payload.cnf.jwk))(data, sig);
    },
    kbSigner: holder ? await signerFor(holder) : undefined,
    kbSignAlg: holder ? algFor(holder) : undefined,
  });
}

async function verify(req) {
  const sdjwt = await instance(req);
  const res = await sdjwt.verify(req.credential);
  const decoded = await sdjwt.decode(req.credential);
  const disclosures = (decoded.disclosures ?? []).map((d) => ({ salt: d.salt, key: d.key ?? null, value: d.value, digest: d._digest ?? null }));
  return { header: res.header, payload: res.payload, disclosures };
}

async function present(req) {
  const sdjwt = await instance(req);
  const presentation = await sdjwt.present(req.credential, req.frame, {
    kb: { payload: { iat: Math.floor(Date.now() / 1000), aud: req.aud, nonce: req.nonce } },
  });
  const res = await sdjwt.verify(presentation, { keyBindingNonce: req.nonce });
  return { presentation, header: res.header, payload: res.payload, kb: res.kb };
}

async function wallet(req) {
  const { publicKey, privateKey } = await jose.generateKeyPair(req.alg, { extractable: true });
  const publicJwk = await jose.exportJWK(publicKey);
  const privateJwk = await jose.exportJWK(privateKey);
  const proof = await new jose.SignJWT({ nonce: req.nonce })
    .setProtectedHeader({ alg: req.alg, typ: 'openid4vci-proof+jwt', jwk: publicJwk })
    .setAudience(req.aud)
    .setIssuedAt()
    .sign(privateKey);
  return { proof, publicJwk, privateJwk };
}

const modes = { jws, verify, present, wallet };
let req;
try {
  req = JSON.parse(readFileSync(0, 'utf8'));
} catch (e) {
  console.error(`usage: node oracle.mjs < request.json (${e.message})`);
  process.exit(2);
}
if (!modes[req.mode]) {
  console.error(`unknown mode ${JSON.stringify(req.mode)}; one of ${Object.keys(modes).join(', ')}`);
  process.exit(2);
}
try {
  console.log(JSON.stringify({ ok: true, ...(await modes[req.mode](req)) }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e?.message ?? e) }));
}
