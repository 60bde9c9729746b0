// The kiosk page's statements (kiosk_client/static/js/kiosk/statements.mjs) against the
// vectors the Python suite checks (tests/vectors/statements.json): the same inputs give
// the same bytes, the file's signatures verify exactly when valid, and what the page
// signs with the TEST ONLY kiosk key verifies with the file's public key.
// Run: node --test tests/js  (tests/test_js.py runs it in the Python suite).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  authStatement,
  ballotSignatures,
  ballotStatement,
  canonical,
  encryptedBallotStatement,
  newNonce,
  participationStatement,
  signStatement,
  statementBytes,
} from "../../kiosk_client/static/js/kiosk/statements.mjs";

const FILE = JSON.parse(readFileSync(new URL("../vectors/statements.json", import.meta.url), "utf-8"));
const subtle = globalThis.crypto.subtle;
const ECDSA = { name: "ECDSA", hash: "SHA-256" };
const P256 = { name: "ECDSA", namedCurve: "P-256" };

// The page's builders, by the vector's statement kind (the kiosk signs no server statement).
const KIOSK = {
  ballot: (i) => ballotStatement(i.vote, i.seat, i.nonce, i.ballot),
  participation: (i) => participationStatement(i.vote, i.seat, i.nonce),
  "encrypted-ballot": (i) => encryptedBallotStatement(i.vote, i.seat, i.nonce, i.ballot),
  "kiosk-auth": (i) => authStatement(i.device, i.challenge),
};
const kioskVectors = FILE.vectors.filter((v) => v.key === "kiosk");

const fromBase64 = (text) => Uint8Array.from(Buffer.from(text, "base64"));
const hex = (bytes) => Buffer.from(bytes).toString("hex");

function publicKey() {
  return subtle.importKey("spki", fromBase64(FILE.keys.kiosk.public_spki), P256, false, ["verify"]);
}

function privateKey() {
  return subtle.importKey("pkcs8", fromBase64(FILE.keys.kiosk.private_pkcs8), P256, false, ["sign"]);
}

test("there are kiosk vectors of every kind, good and tampered", () => {
  for (const kind of Object.keys(KIOSK)) {
    assert.ok(kioskVectors.some((v) => v.statement === kind && v.valid), kind);
    assert.ok(kioskVectors.some((v) => v.statement === kind && !v.valid), kind);
  }
});

test("the page builds the vectors' canonical bytes from their inputs", () => {
  for (const v of kioskVectors) {
    const statement = KIOSK[v.statement](v.inputs);
    assert.equal(canonical(statement), v.canonical, v.name);
    assert.equal(hex(statementBytes(statement)), v.canonical_hex, v.name);
  }
});

test("canonical JSON matches Python's for the server's entries too (key order beyond the BMP)", () => {
  for (const v of FILE.vectors.filter((x) => x.statement === "entry")) {
    assert.equal(hex(statementBytes(v.inputs.entry)), v.canonical_hex, v.name);
  }
});

test("each vector's signature verifies in WebCrypto exactly when it is valid", async () => {
  const key = await publicKey();
  for (const v of kioskVectors) {
    const bytes = statementBytes(KIOSK[v.statement](v.inputs));
    const ok = await subtle.verify(ECDSA, key, fromBase64(v.signature), bytes);
    assert.equal(ok, v.valid, v.name);
  }
});

test("what the page signs with the test key verifies with the file's public key", async () => {
  const [pub, priv] = [await publicKey(), await privateKey()];
  for (const v of kioskVectors.filter((x) => x.valid)) {
    const statement = KIOSK[v.statement](v.inputs);
    const signature = await signStatement(priv, statement);
    assert.equal(fromBase64(signature).length, 64, "raw r‖s"); // what crypto.KioskPublicKey reads
    assert.ok(await subtle.verify(ECDSA, pub, fromBase64(signature), Buffer.from(v.canonical_hex, "hex")), v.name);
  }
});

test("a ballot carries the ballot's and the participation's signatures", async () => {
  const byName = Object.fromEntries(FILE.vectors.map((v) => [v.name, v]));
  const i = byName["ballot-motion"].inputs;
  const signed = await ballotSignatures(await privateKey(), i.vote, i.seat, i.nonce, i.ballot);
  const pub = await publicKey();
  const over = (name) => Buffer.from(byName[name].canonical_hex, "hex");
  assert.ok(await subtle.verify(ECDSA, pub, fromBase64(signed.signature), over("ballot-motion")));
  assert.ok(await subtle.verify(ECDSA, pub, fromBase64(signed.participation_signature), over("participation")));
  assert.ok(!(await subtle.verify(ECDSA, pub, fromBase64(signed.signature), over("participation"))));
});

test("a nonce is 32 URL-safe characters, new each time", () => {
  const a = newNonce();
  assert.match(a, /^[A-Za-z0-9_-]{32}$/);
  assert.notEqual(a, newNonce());
});
