// wl.mjs — what the driver's phone computes, with nothing but WebCrypto:
// RFC 8785 canonical JSON, P-256 keys and their RFC 7638 key ids, party
// signatures (IEEE P1363, base64url), and the offline check of a QR
// ticket against the gateway's published keys (JWKS). No DOM, no storage:
// the same module runs in the browser and under Node.js for the tests.

const subtle = globalThis.crypto.subtle;
const utf8 = new TextEncoder();
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGN = { name: 'ECDSA', hash: 'SHA-256' };

export const TICKET_TYPE = 'wl-ticket+jwt';
export const DEFAULT_ISSUER = 'wasteledger';

// RFC 8785 for values from JSON.parse: JSON.stringify already writes
// strings and numbers as JCS requires; only member order needs fixing, and
// Array.prototype.sort compares UTF-16 code units, JCS's order. The same
// function as manifest/signature/testdata/webcrypto.mjs.
export function jcs(v) {
  if (Array.isArray(v)) return '[' + v.map(jcs).join(',') + ']';
  if (v !== null && typeof v === 'object') {
    return '{' + Object.keys(v).sort().filter((k) => v[k] !== undefined)
      .map((k) => JSON.stringify(k) + ':' + jcs(v[k])).join(',') + '}';
  }
  return JSON.stringify(v);
}

export function b64url(bytes) {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function unb64url(s) {
  if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) throw new TicketError('malformed', 'not unpadded base64url');
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export async function sha256(text) {
  return new Uint8Array(await subtle.digest('SHA-256', utf8.encode(text)));
}

// The key id of a public JWK: RFC 7638 thumbprint.
export async function thumbprint(jwk) {
  const { crv, kty, x, y } = jwk;
  return b64url(await sha256(JSON.stringify({ crv, kty, x, y })));
}

// A new device key. The private half is not extractable: it never leaves
// the browser's key store (IndexedDB keeps the CryptoKey object itself).
export function generateKey(extractable = false) {
  return subtle.generateKey(ECDSA, extractable, ['sign', 'verify']);
}

// The public half as the ledger registers it.
export async function publicJWK(publicKey) {
  const j = await subtle.exportKey('jwk', publicKey);
  return { crv: j.crv, kty: j.kty, x: j.x, y: j.y };
}

// A party signature over canonical statement text.
export async function signCanonical(privateKey, canonical) {
  return b64url(await subtle.sign(SIGN, privateKey, utf8.encode(canonical)));
}

export async function verifyCanonical(publicJwk, canonical, sig) {
  const raw = unb64url(sig);
  if (raw.length !== 64) return false;
  const key = await subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: publicJwk.x, y: publicJwk.y }, ECDSA, false, ['verify']);
  return subtle.verify(SIGN, key, raw, utf8.encode(canonical));
}

// The token in what a scanner or a paste produced: a ticket URL
// (…#t=<token> or ?t=<token>) or the bare token.
export function tokenFrom(s) {
  s = String(s || '').trim();
  for (const mark of ['#t=', '?t=', '&t=']) {
    const i = s.lastIndexOf(mark);
    if (i >= 0) return s.slice(i + mark.length).split(/[&#]/)[0];
  }
  return s;
}

export class TicketError extends Error {
  constructor(reason, detail) {
    super(`ticket ${reason}: ${detail}`);
    this.reason = reason;
  }
}

function strictObject(bytes, members) {
  let v;
  try { v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)); } catch { throw new TicketError('malformed', 'not JSON'); }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new TicketError('malformed', 'not an object');
  for (const k of Object.keys(v)) if (!members.includes(k)) throw new TicketError('malformed', `unexpected member ${k}`);
  return v;
}

// verifyTicket checks a QR ticket offline, as the gateway's Verify does:
// three unpadded base64url parts, header exactly {alg: ES256, kid, typ},
// a kid of the cached JWKS, a valid P1363 signature over header.payload,
// well-formed claims, the issuer, not expired. It resolves to the claims
// and the key id, or throws a TicketError. Whether the paper is the
// current version needs the ledger (the scan endpoint).
export async function verifyTicket(token, jwks, { issuer = DEFAULT_ISSUER, now = Date.now() } = {}) {
  if (typeof token !== 'string' || token.length === 0 || token.length > 1024) throw new TicketError('malformed', 'empty or too long');
  const parts = token.split('.');
  if (parts.length !== 3) throw new TicketError('malformed', 'a ticket has three parts');
  const header = strictObject(unb64url(parts[0]), ['alg', 'kid', 'typ']);
  if (header.alg !== 'ES256') throw new TicketError('bad_algorithm', `algorithm ${header.alg} is not accepted`);
  if (header.typ !== TICKET_TYPE) throw new TicketError('malformed', 'not a ticket');
  const jwk = (jwks && Array.isArray(jwks.keys) ? jwks.keys : []).find((k) => k.kid === header.kid && k.kty === 'EC' && k.crv === 'P-256');
  if (!header.kid || !jwk) throw new TicketError('unknown_key', `key ${header.kid} is not one of the gateway's published keys`);
  let sig;
  try { sig = unb64url(parts[2]); } catch { throw new TicketError('bad_signature', 'signature is not base64url'); }
  if (sig.length !== 64 || b64url(sig) !== parts[2]) throw new TicketError('bad_signature', 'signature is not 64 bytes r‖s');
  const key = await subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, ECDSA, false, ['verify']);
  if (!(await subtle.verify(SIGN, key, sig, utf8.encode(parts[0] + '.' + parts[1])))) {
    throw new TicketError('bad_signature', 'the ticket was altered or not issued by this gateway');
  }
  const c = strictObject(unb64url(parts[1]), ['iss', 'mid', 'h', 'v', 'st', 'iat', 'exp']);
  if (typeof c.mid !== 'string' || !/^\d{14}$/.test(c.mid) || typeof c.h !== 'string' || c.h.length !== 43 ||
      !Number.isInteger(c.v) || c.v < 1 || typeof c.st !== 'string' || !Number.isInteger(c.iat) || !Number.isInteger(c.exp)) {
    throw new TicketError('malformed', 'claims');
  }
  if (c.iss !== issuer) throw new TicketError('wrong_issuer', `issued by ${c.iss}`);
  if (now / 1000 >= c.exp) throw new TicketError('expired', `expired at ${new Date(c.exp * 1000).toISOString()}`);
  return { manifest: c.mid, hash: c.h, version: c.v, status: c.st, issued: c.iat, expires: c.exp, kid: header.kid };
}

// Device time as a statement carries it: RFC 3339, UTC, whole seconds.
export function statementTime(d = new Date()) {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// prepare turns a statement template into the statement to sign: the
// parties' key ids, the device's time and position. It returns the
// statement object and its canonical text, the exact signed bytes.
export function prepare(template, { fromKey, toKey, time, place, vehicle }) {
  const st = JSON.parse(JSON.stringify(template));
  st.from = { org: st.from.org, key: fromKey };
  if (st.to) st.to = { org: st.to.org, key: toKey };
  st.time = time;
  if (place) st.place = place; else delete st.place;
  if (vehicle) st.vehicle = vehicle;
  return { statement: st, canonical: jcs(st) };
}
