/*
 * trustees/presented.mjs — what the scrutineer's page checks before it decrypts a vote
 * (docs/trustee-votes.md, "Before decrypting"): that the aggregates the server presents
 * are the per-option products of genuine, distinct, counted ballots, never one deputy's
 * ciphertexts passed off as a sum. The Python twin is audit/trustee_presented.py; both
 * refuse the cases of tests/vectors/trustee_presented.json naming the same field.
 *
 * Checked: each ballot names this vote; its tablet is enrolled at the ballot's seat and
 * its ECDSA P-256 signature (WebCrypto, raw r‖s) over the `encrypted-ballot` statement
 * verifies; members, seats, nonces and ciphertexts (each α) are distinct; each group has
 * `cast` ballots; the products are the presented aggregates. Not checked: the ballots'
 * range proofs (the server and the verifier check them; they cannot open a ballot).
 */
import { canonical, encryptedBallotStatement } from "../kiosk/statements.mjs";
import { aggregate } from "./decryption.mjs";
import { TrusteeCryptoError } from "./group.mjs";
import { checkLayout } from "./vote.mjs";

const FIELDS = ["ballot", "device", "kiosk_sig", "member", "nonce", "press", "seat", "vote"];
const IDENTITY_HEX = "0".repeat(64);
const ECDSA_P256 = { name: "ECDSA", namedCurve: "P-256" };

const isObject = (x) => x !== null && typeof x === "object" && !Array.isArray(x);

function fromBase64(text, field) {
  if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new TrusteeCryptoError(field, "not valid base64");
  }
  return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
}

function label(group, n, data) {
  const where = `ballots.${group}[${n}]`;
  return isObject(data) ? `${where} (member ${data.member} nonce ${data.nonce})` : where;
}

/** The ballot's shape, vote, seat and tablet, up to its signature; returns the device id. */
function checkHeader(voteId, data, deviceKeys, where) {
  const have = isObject(data) ? Object.keys(data).sort() : null;
  if (have === null || have.join(",") !== FIELDS.join(",")) {
    throw new TrusteeCryptoError(where, `fields ${have ? have.join(",") : typeof data}, expected ${FIELDS.join(",")}`);
  }
  if (data.vote !== voteId) throw new TrusteeCryptoError(`${where}.vote`, `${data.vote}, not vote ${voteId}`);
  if (!Number.isInteger(data.seat) || typeof data.nonce !== "string") {
    throw new TrusteeCryptoError(where, "seat is not an integer or nonce not text");
  }
  const device = String(data.device);
  const enrolled = Object.hasOwn(deviceKeys, device) ? deviceKeys[device] : undefined;
  if (!isObject(enrolled)) throw new TrusteeCryptoError(`${where}.device`, `device ${device} has no enrolled key`);
  if (enrolled.seat !== data.seat) {
    throw new TrusteeCryptoError(`${where}.device`, `device ${device} is at seat ${enrolled.seat}, not ${data.seat}`);
  }
  return device;
}

async function importKey(device, enrolled) {
  try {
    const der = fromBase64(enrolled.public_key, `device_keys.${device}`);
    return await globalThis.crypto.subtle.importKey("spki", der, ECDSA_P256, false, ["verify"]);
  } catch (error) {
    throw new TrusteeCryptoError(`device_keys.${device}`, `not a P-256 public key (${error.message})`);
  }
}

/** The signature's verdict: true, false, or a TrusteeCryptoError for bad base64. */
async function signatureVerdict(voteId, data, key, where) {
  let signature;
  try {
    signature = fromBase64(data.kiosk_sig, `${where}.kiosk_sig`);
  } catch (error) {
    return error;
  }
  const bytes = new TextEncoder().encode(canonical(encryptedBallotStatement(voteId, data.seat, data.nonce, data.ballot)));
  try {
    return await globalThis.crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, signature, bytes);
  } catch {
    return false;
  }
}

function alphas(ballot, where) {
  try {
    return ballot.contests.flatMap((c) => c.selections.map((s) => String(s.alpha)));
  } catch (error) {
    throw new TrusteeCryptoError(`${where}.ballot`, `not an encrypted ballot (${error.message})`);
  }
}

function checkDistinct(data, seen, where) {
  const values = { member: String(data.member), seat: String(data.seat), nonce: data.nonce };
  for (const [name, value] of Object.entries(values)) {
    if (seen[name].has(value)) throw new TrusteeCryptoError(`${where}.${name}`, `${name} ${value} already counted in ${seen[name].get(value)}`);
    seen[name].set(value, where);
  }
  for (const alpha of alphas(data.ballot, where)) {
    if (seen.alpha.has(alpha)) throw new TrusteeCryptoError(`${where}.ballot`, `a ciphertext already counted in ${seen.alpha.get(alpha)}`);
    seen.alpha.set(alpha, where);
  }
}

/** Per contest per option, (∏ α, ∏ β) over the ballots; the identity pair for none. */
function products(layout, ballots, group) {
  return layout.map((contest, c) => contest.options.map((_, o) => {
    if (ballots.length === 0) return { alpha: IDENTITY_HEX, beta: IDENTITY_HEX };
    try {
      return aggregate(ballots.map((b) => b.ballot.contests[c].selections[o]));
    } catch (error) {
      throw new TrusteeCryptoError(`${group}: contests[${c}].selections[${o}]`, error.message);
    }
  }));
}

function checkProducts(layout, counted, presented) {
  const groups = Object.keys(counted);
  if (!isObject(presented) || Object.keys(presented).sort().join(",") !== [...groups].sort().join(",")) {
    const got = isObject(presented) ? Object.keys(presented).sort().join(",") : typeof presented;
    throw new TrusteeCryptoError("aggregates", `groups ${got}, expected ${[...groups].sort().join(",")}`);
  }
  for (const group of groups) {
    const expected = products(layout, counted[group], group);
    const given = presented[group];
    layout.forEach((contest, c) => contest.options.forEach((option, o) => {
      const pair = given?.[c]?.[o];
      if (!isObject(pair) || pair.alpha !== expected[c][o].alpha || pair.beta !== expected[c][o].beta || Object.keys(pair).length !== 2) {
        throw new TrusteeCryptoError(`aggregates.${group}[${c}][${o}] (contest '${contest.id}' option '${option}')`,
          "not the product of the counted ballots' ciphertexts");
      }
    }));
    if (!Array.isArray(given) || given.length !== layout.length || given.some((row, c) => !Array.isArray(row) || row.length !== layout[c].options.length)) {
      throw new TrusteeCryptoError(`aggregates.${group}`, "more contests or options than the layout");
    }
  }
}

/**
 * Resolves to `{ballots: n}` (the number of ballots checked) when `presentedAggregates`
 * (`{group: [[{alpha, beta}…]…]}`) are the per-option products of `countedBallots`
 * (`{group: [data…]}`, the `encrypted_ballot` entries' data as logged): each signed by
 * its seat's enrolled tablet (`deviceKeys`: `{device: {seat, public_key}}`, base64 SPKI)
 * for vote `voteId`, one per member, seat, nonce and ciphertext, `cast[group]` per group.
 * `manifest` is the vote's layout. Rejects with a TrusteeCryptoError whose `field` names
 * the group, the ballot (position, member, nonce) or the aggregate (contest, option).
 */
export async function checkPresentedAggregates({ voteId, manifest }, countedBallots, deviceKeys, presentedAggregates, cast) {
  const vote = Number(voteId);
  const layout = checkLayout(manifest);
  if (!isObject(countedBallots) || !isObject(cast) || !isObject(deviceKeys)) throw new TrusteeCryptoError("ballots", "not an object of groups");
  const groups = Object.keys(countedBallots);
  if (groups.slice().sort().join(",") !== Object.keys(cast).sort().join(",")) {
    throw new TrusteeCryptoError("ballots", `groups ${groups.slice().sort().join(",")}, the cast names ${Object.keys(cast).sort().join(",")}`);
  }
  // the signatures first, all at once (WebCrypto runs them off the page's thread); then
  // every check in order, so that the first mismatch is the one Python names
  const keys = new Map();
  const verdicts = new Map();
  const pending = [];
  for (const group of groups) {
    if (!Array.isArray(countedBallots[group])) continue;
    countedBallots[group].forEach((data, n) => {
      const where = label(group, n, data);
      let device;
      try {
        device = checkHeader(vote, data, deviceKeys, where);
      } catch {
        return; // refused in order below
      }
      if (!keys.has(device)) keys.set(device, importKey(device, deviceKeys[device]).catch((error) => error));
      pending.push(keys.get(device).then((key) => (key instanceof Error ? key : signatureVerdict(vote, data, key, where)))
        .then((verdict) => verdicts.set(data, verdict)));
    });
  }
  await Promise.all(pending);
  const seen = { member: new Map(), seat: new Map(), nonce: new Map(), alpha: new Map() };
  let count = 0;
  for (const group of groups) {
    const ballots = countedBallots[group];
    if (!Array.isArray(ballots)) throw new TrusteeCryptoError(`ballots.${group}`, "not a list");
    if (ballots.length !== cast[group]) throw new TrusteeCryptoError(`ballots.${group}`, `${ballots.length} ballots, but ${cast[group]} were cast`);
    ballots.forEach((data, n) => {
      const where = label(group, n, data);
      const device = checkHeader(vote, data, deviceKeys, where);
      const verdict = verdicts.get(data);
      if (verdict instanceof Error) throw verdict;
      if (verdict !== true) throw new TrusteeCryptoError(`${where}.kiosk_sig`, `does not verify with device ${device}'s key: a forged ballot`);
      checkDistinct(data, seen, where);
    });
    count += ballots.length;
  }
  checkProducts(layout, countedBallots, presentedAggregates);
  return { ballots: count };
}
