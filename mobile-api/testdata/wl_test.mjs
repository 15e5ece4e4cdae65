// Runs the driver app's own module (web/wl.mjs) under Node.js, as the Go
// test TestDriverAppCrypto drives it:
//
//   node wl_test.mjs input.json
//
// input: {jwks, issuer, now, tickets: {name: url-or-token}, template, from_key}
// output (stdout, JSON): {tickets: {name: "ok" | reason}, claims: {name: …},
//   jwk, kid, canonical, sig}: every ticket checked offline against the
//   JWKS, and the template signed with a fresh non-extractable key as the
//   taking party.
import { readFile } from 'node:fs/promises';
import * as wl from '../web/wl.mjs';

const input = JSON.parse(await readFile(process.argv[2], 'utf8'));
const out = { tickets: {}, claims: {} };
for (const [name, url] of Object.entries(input.tickets)) {
  try {
    out.claims[name] = await wl.verifyTicket(wl.tokenFrom(url), input.jwks, { issuer: input.issuer, now: input.now });
    out.tickets[name] = 'ok';
  } catch (e) {
    if (!(e instanceof wl.TicketError)) throw e;
    out.tickets[name] = e.reason;
  }
}
const pair = await wl.generateKey();
if (pair.privateKey.extractable) throw new Error('the private key is extractable');
out.jwk = await wl.publicJWK(pair.publicKey);
out.kid = await wl.thumbprint(out.jwk);
const { canonical } = wl.prepare(input.template, {
  fromKey: input.from_key, toKey: out.kid, time: wl.statementTime(new Date(input.now)),
  place: { lat_e6: 23129110, lon_e6: 113264385, text: '装卸区 "B" <东门>' },
});
out.canonical = canonical;
out.sig = await wl.signCanonical(pair.privateKey, canonical);
if (!(await wl.verifyCanonical(out.jwk, canonical, out.sig))) throw new Error('own signature does not verify');
process.stdout.write(JSON.stringify(out) + '\n');
