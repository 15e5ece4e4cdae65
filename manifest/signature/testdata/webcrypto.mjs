// Cross-language proof of the wasteledger party signature scheme, using only
// what a browser has: WebCrypto (here Node.js's built-in crypto.webcrypto,
// Node 20+, no npm packages).
//
//   node webcrypto.mjs [path/to/vectors.json]
//
// 1. For every case of vectors.json: recompute the canonical form with the
//    tiny JCS below, compare it and its SHA-256 byte for byte, check the
//    key id (RFC 7638 thumbprint), verify the signature with WebCrypto and
//    compare the outcome with "expect", and sign with private_jwk.
// 2. Generate a fresh key, sign a fresh handover statement, and print
//    {checked, input, canonical, sha256, key_id, public_jwk, signature} as
//    JSON on stdout, for the Go side to verify.
// Any failed check is reported on stderr and the exit status is 1.

import { webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';

const { subtle } = webcrypto;
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGN = { name: 'ECDSA', hash: 'SHA-256' };
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n; // P-256 group order
const utf8 = new TextEncoder();

// RFC 8785 for values from JSON.parse: JSON.stringify already writes strings
// and numbers exactly as JCS requires (ECMAScript is JCS's reference); only
// the member order needs fixing. Array.prototype.sort compares strings as
// UTF-16 code units, which is JCS's order.
function jcs(v) {
  if (Array.isArray(v)) return '[' + v.map(jcs).join(',') + ']';
  if (v !== null && typeof v === 'object') {
    return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + jcs(v[k])).join(',') + '}';
  }
  return JSON.stringify(v);
}

const hex = (buf) => Buffer.from(buf).toString('hex');
const b64url = (buf) => Buffer.from(buf).toString('base64url');
const sha256 = async (bytes) => new Uint8Array(await subtle.digest('SHA-256', bytes));

// RFC 7638 thumbprint of an EC public JWK.
async function thumbprint(jwk) {
  const { crv, kty, x, y } = jwk;
  return b64url(await sha256(utf8.encode(JSON.stringify({ crv, kty, x, y }))));
}

// Strict signature decoding, as Verify in Go does: exactly 86 unpadded
// base64url characters (one spelling only), 64 bytes r‖s, 1 <= r, s < n.
// Returns null for a malformed signature.
function decodeSignature(sig) {
  if (typeof sig !== 'string' || !/^[A-Za-z0-9_-]{86}$/.test(sig)) return null;
  const b = Buffer.from(sig, 'base64url');
  if (b.length !== 64 || b.toString('base64url') !== sig) return null;
  const r = BigInt('0x' + b.subarray(0, 32).toString('hex'));
  const s = BigInt('0x' + b.subarray(32).toString('hex'));
  if (r < 1n || r >= N || s < 1n || s >= N) return null;
  return new Uint8Array(b);
}

async function verify(publicJwk, canonical, sig) {
  const raw = decodeSignature(sig);
  if (raw === null) return 'malformed';
  const key = await subtle.importKey('jwk', publicJwk, ECDSA, false, ['verify']);
  return (await subtle.verify(SIGN, key, raw, utf8.encode(canonical))) ? 'valid' : 'mismatch';
}

const failures = [];
const fail = (name, msg) => failures.push(`${name}: ${msg}`);

const path = process.argv[2] ?? new URL('./vectors.json', import.meta.url);
const vectors = JSON.parse(await readFile(path, 'utf8'));
let checked = 0;
for (const v of vectors) {
  const canonical = jcs(JSON.parse(v.input));
  if (canonical !== v.canonical) fail(v.name, `canonical form differs:\n  got  ${canonical}\n  want ${v.canonical}`);
  const sum = hex(await sha256(utf8.encode(v.canonical)));
  if (sum !== v.sha256) fail(v.name, `sha256 is ${sum}, want ${v.sha256}`);
  const kid = await thumbprint(v.public_jwk);
  if (kid !== v.key_id) fail(v.name, `thumbprint is ${kid}, want ${v.key_id}`);
  const outcome = await verify(v.public_jwk, v.canonical, v.signature);
  if (outcome !== v.expect) fail(v.name, `signature is ${outcome}, want ${v.expect}`);
  // The private key signs in WebCrypto, and the result passes the strict check.
  const priv = await subtle.importKey('jwk', v.private_jwk, ECDSA, false, ['sign']);
  const fresh = b64url(await subtle.sign(SIGN, priv, utf8.encode(v.canonical)));
  const again = await verify(v.public_jwk, v.canonical, fresh);
  if (again !== 'valid') fail(v.name, `WebCrypto signature with private_jwk is ${again}`);
  checked++;
}
if (checked === 0) fail('vectors.json', 'no vectors');

// A fresh key and statement, signed the way the driver's web app does it.
const { publicKey, privateKey } = await subtle.generateKey(ECDSA, true, ['sign', 'verify']);
const publicJwk = await subtle.exportKey('jwk', publicKey); // {crv, ext, key_ops, kty, x, y}
const keyId = await thumbprint(publicJwk);
const statement = {
  v: 1,
  manifest: '20264401000456',
  step: 'delivery',
  from: { org: '91440111MA59ABCD2K', key: keyId },
  to: { org: '91440183MA5DEFGH3L', key: 'HQoO7BGULaKLc1b0AJFTXxixLjJnPSV_6i_GiswSF0k' },
  vehicle: '粤A12345',
  lines: [
    { line: 1, code: '900-214-08', qty: 1185, unit: 'kg', packages: 4 },
    { line: 2, code: '900-041-49', qty: 35, unit: 'kg', packages: 1 },
  ],
  time: '2026-11-28T14:05:00Z',
  place: { lat_e6: 23396112, lon_e6: 113214385 },
  remark: '广州市白云区 "已过磅" <卸货区 B>\t\u2028😀',
  prev: b64url(await sha256(utf8.encode('previous version'))),
};
const canonical = jcs(statement);
const signature = b64url(await subtle.sign(SIGN, privateKey, utf8.encode(canonical)));
if ((await verify(publicJwk, canonical, signature)) !== 'valid') fail('fresh', 'own signature does not verify');

if (failures.length > 0) {
  for (const f of failures) console.error('FAIL ' + f);
  process.exit(1);
}
process.stdout.write(JSON.stringify({
  checked,
  input: JSON.stringify(statement, null, 2),
  canonical,
  sha256: hex(await sha256(utf8.encode(canonical))),
  key_id: keyId,
  public_jwk: publicJwk,
  signature,
}) + '\n');
