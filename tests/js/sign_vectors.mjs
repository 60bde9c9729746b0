// Prints, as JSON {name: signature}, the page's own signature (statements.mjs, the TEST ONLY
// kiosk key) over each good kiosk vector, so that tests/test_js.py checks them with Python's
// crypto.KioskPublicKey: what the tablet signs is what the server and the verifier accept.

import { readFileSync } from "node:fs";

import { authStatement, ballotStatement, encryptedBallotStatement, participationStatement, signStatement } from "../../kiosk_client/static/js/kiosk/statements.mjs";

const FILE = JSON.parse(readFileSync(new URL("../vectors/statements.json", import.meta.url), "utf-8"));
const KIOSK = {
  ballot: (i) => ballotStatement(i.vote, i.seat, i.nonce, i.ballot),
  participation: (i) => participationStatement(i.vote, i.seat, i.nonce),
  "encrypted-ballot": (i) => encryptedBallotStatement(i.vote, i.seat, i.nonce, i.ballot),
  "kiosk-auth": (i) => authStatement(i.device, i.challenge),
};
const key = await globalThis.crypto.subtle.importKey("pkcs8", Buffer.from(FILE.keys.kiosk.private_pkcs8, "base64"),
  { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
const signed = {};
for (const v of FILE.vectors.filter((x) => x.key === "kiosk" && x.valid)) {
  signed[v.name] = await signStatement(key, KIOSK[v.statement](v.inputs));
}
process.stdout.write(JSON.stringify(signed) + "\n");
