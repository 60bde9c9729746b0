/*
 * trustee.js — the scrutineer's trustee page (监票人密钥页, docs/trustees.md and
 * docs/trustee-votes.md). An ES module. The page asks the JSON API (/api/trustees/)
 * what this trustee must do next and does it on this device:
 *
 *   1. 生成密钥   draw the polynomial, keep it (IndexedDB) and post its commitments;
 *   2. 交换份额   check everybody's commitments, post each other trustee's share,
 *                 encrypted to that trustee;
 *   3. 核对份额   open the shares addressed to this trustee, check each (Feldman), post
 *                 the verdicts; keep the secret share;
 *   4. 备份密钥   the encrypted backup file (passphrase typed twice; PBKDF2 + AES-GCM,
 *                 trustees/backup.mjs), and the restore from it; the joint key's
 *                 fingerprint, large, computed here from the commitments;
 *   5. 解密计票   every second, the sitting's trustee-mode votes awaiting decryption;
 *                 for each, first the sums recomputed here from the counted ballots
 *                 (each signed by its tablet, one per deputy: a server presenting one
 *                 ballot as a sum is refused), then the partial decryptions of the
 *                 sums with their proofs.
 *
 * What is kept: one IndexedDB record per ceremony and account, the plain form of what
 * the backup file encrypts ({ceremony: {id, n, k}, seat, coefficients, secret_share},
 * hex) plus the joint key and whether the backup was downloaded. Scalars cannot be
 * non-extractable CryptoKeys; the record never leaves the browser except encrypted in
 * the backup file. No secret is ever sent, logged or shown.
 *
 * One obvious action at a time: the main panel says what happens now; a press is asked
 * only where the trustee decides (generate, back up, restore). Every refusal shows the
 * server's message (Chinese by default) and its detail.
 */
import * as T from "/kiosk-static/js/trustees/index.mjs";
import { scalarFromHex, scalarToHex } from "/kiosk-static/js/trustees/group.mjs";
import { keyFingerprint } from "/kiosk-static/js/kiosk/fingerprint.mjs";
import { objectStore } from "/kiosk-static/js/kiosk/storage.mjs";

const S = window.Screens;
const t = S.t;
const el = S.el;
const $ = (id) => document.getElementById(id);

const ROOT = $("trustee");
const SITTING = Number(ROOT.dataset.sitting);
const USER = Number(ROOT.dataset.user);
const CSRF = ROOT.dataset.csrf;
const API = "/api/trustees";
const POLL_MS = 1000;
const STEPS = ["commitments", "shares", "verdicts", "backup", "decrypt"];

let ceremony = null; // the last ceremony state from the server
let record = null; // this trustee's secrets for `ceremony` (IndexedDB), or null
let busy = false; // a step is being computed or posted
let generateAsked = null; // the ceremony the trustee pressed the generate button for
const votesSeen = new Map(); // vote id → its last state, for the list
const votesRefused = new Map(); // vote id → why its sums were refused: never decrypted here
const votesChecked = new Map(); // vote id → how many signed ballots its sums were checked on

// --- the server -------------------------------------------------------------------------

/** A refusal (`{ok: false, error, message, detail}`) or a failed request, to show. */
class Problem extends Error {
  constructor(text, answer) {
    super(text);
    this.answer = answer || null;
  }
}

async function api(path, body) {
  const init = body === undefined
    ? { headers: { Accept: "application/json" }, credentials: "same-origin" }
    : { method: "POST", credentials: "same-origin", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": CSRF } };
  let response;
  try {
    response = await fetch(API + path, init);
  } catch {
    throw new Problem(t("problem.offline"));
  }
  let answer = null;
  try {
    answer = await response.json();
  } catch {
    throw new Problem(t("problem.generic"));
  }
  if (!answer || answer.ok === false || !response.ok) throw new Problem(S.problem(answer), answer);
  return answer;
}

/** The text to show for anything thrown: a refusal's message, or a failed check named. */
function describe(error) {
  if (error instanceof Problem) return error.message;
  if (error instanceof T.TrusteeCryptoError || (error && error.field)) {
    return t("trustee.check_failed", { detail: error.message });
  }
  return t("problem.generic");
}

// --- the browser's storage ----------------------------------------------------------------

const secretsStore = objectStore("congress-trustee", "secrets");

/** An operation on the secrets' store; any failure of the browser's storage is said so. */
async function storeOp(mode, work) {
  try {
    return await secretsStore(mode, work);
  } catch {
    throw new Problem(t("trustee.storage_failed"));
  }
}

const recordKey = (ceremonyId) => USER + ":" + ceremonyId;
const loadRecord = (ceremonyId) => storeOp("readonly", (s) => s.get(recordKey(ceremonyId)));
const saveRecord = (r) => storeOp("readwrite", (s) => s.put(r, recordKey(r.ceremony.id)));

/** The record's secrets in the backup module's shape (bigints). */
function secretsOf(r) {
  return {
    ceremony: r.ceremony,
    seat: r.seat,
    coefficients: r.coefficients.map(scalarOf),
    secretShare: r.secret_share === null ? null : scalarOf(r.secret_share),
  };
}

// scalars are kept as the spec's 64 hex digits (32 bytes, little-endian)
const scalarHex = (x) => scalarToHex(x);
const scalarOf = (hex) => scalarFromHex(hex, "stored scalar");

// --- the screen ---------------------------------------------------------------------------

let shown = ""; // what the main panel shows: drawn again only when it changes

/** The main panel: heading, text, and at most one button (the next action). */
function panel(heading, text, action) {
  const now = [heading, text, action ? action.id : ""].join("\n");
  if (now === shown) return;
  shown = now;
  $("trustee-heading").textContent = heading;
  $("trustee-text").textContent = text || "";
  const actions = $("trustee-actions");
  actions.textContent = "";
  if (action) {
    actions.appendChild(el("button", { type: "button", class: "primary", id: action.id, onclick: action.run },
      action.label));
  }
}

function problem(text) {
  const box = $("trustee-problem");
  box.textContent = text || "";
  box.hidden = !text;
}

function steps(current, doneUpTo) {
  const at = STEPS.indexOf(current);
  const done = doneUpTo === undefined ? at : STEPS.indexOf(doneUpTo) + 1;
  document.querySelectorAll("#trustee-steps li").forEach((li) => {
    const i = STEPS.indexOf(li.dataset.step);
    li.className = i === at ? "current" : i < done ? "done" : "";
    if (i === at) li.setAttribute("aria-current", "step");
    else li.removeAttribute("aria-current");
  });
}

/** Who has done the current phase's step: "1号 张三 ✔ 已完成" … */
function progress(state) {
  const box = $("trustee-progress");
  box.textContent = "";
  if (!state || !state.trustees || !["commitments", "shares", "verdicts"].includes(state.phase)) return;
  const done = state.trustees.filter((x) => x[state.phase]).length;
  box.appendChild(el("div", null, t("trustee.progress", { done: done, n: state.n })));
  state.trustees.forEach((x) => {
    box.appendChild(el("span", { class: "who " + (x[state.phase] ? "yes" : "no") },
      t("trustee.who", { index: x.index, name: x.name }) + " " +
      (x[state.phase] ? t("trustee.posted") : t("trustee.not_posted"))));
  });
}

function show(id, visible) {
  $(id).hidden = !visible;
}

// --- the ceremony -------------------------------------------------------------------------

/** Every trustee's commitments, checked (Schnorr), as points, in seat order. */
function checkedCommitments(state, hC) {
  const all = [];
  for (let i = 1; i <= state.n; i++) all.push(T.checkCommitments(hC, i, state.k, state.commitments[String(i)]));
  return all;
}

function baseHash(state) {
  return T.ceremonyHash(state.ceremony_id, state.n, state.k);
}

/** 生成我的密钥: asked here, done by the loop (never two steps at once). */
function generate() {
  generateAsked = ceremony.ceremony_id;
  panel(t("trustee.working"), t("trustee.generate_working"));
  if (!busy) tick();
}

/** Draws the polynomial and keeps it before anything is posted: a reload finds it. */
async function drawPolynomial() {
  const coefficients = T.newPolynomial(ceremony.k);
  record = { ceremony: { id: ceremony.ceremony_id, n: ceremony.n, k: ceremony.k }, seat: ceremony.you,
    coefficients: coefficients.map(scalarHex), secret_share: null, joint_key: null, backed_up: false };
  await saveRecord(record);
}

async function postCommitments() {
  const hC = baseHash(ceremony);
  const coefficients = record.coefficients.map(scalarOf);
  const published = T.commitToPolynomial(hC, record.seat, coefficients);
  ceremony = await api(`/ceremonies/${ceremony.ceremony_id}/commitments`, { commitments: published });
}

async function postShares() {
  const hC = baseHash(ceremony);
  checkedCommitments(ceremony, hC); // every proof, before anything is sent to anybody
  const coefficients = record.coefficients.map(scalarOf);
  const shares = [];
  for (let l = 1; l <= ceremony.n; l++) {
    if (l === record.seat) continue;
    const key = ceremony.commitments[String(l)][0].commitment;
    const sealed = await T.encryptShare(hC, record.seat, l, key, T.evaluatePolynomial(coefficients, l));
    shares.push({ recipient: l, alpha: sealed.alpha, beta: sealed.beta, ct: sealed.ct });
  }
  ceremony = await api(`/ceremonies/${ceremony.ceremony_id}/shares`, { shares: shares });
}

/** The shares sent to this trustee, opened and checked: [{sender, share, ok}]. */
async function openShares(state) {
  const hC = baseHash(state);
  const all = checkedCommitments(state, hC);
  const a0 = scalarOf(record.coefficients[0]);
  const opened = [];
  for (const sent of [...state.shares_for_you].sort((x, y) => x.sender - y.sender)) {
    const share = await T.decryptShare(hC, sent.sender, record.seat, a0,
      { alpha: sent.alpha, beta: sent.beta, ct: sent.ct });
    opened.push({ sender: sent.sender, share: share, ok: T.feldmanHolds(all[sent.sender - 1], record.seat, share) });
  }
  return { opened, all };
}

/** s_i = Σ P_j(i), this trustee's own P_i(i) included. */
function secretShareOf(opened) {
  const own = T.evaluatePolynomial(record.coefficients.map(scalarOf), record.seat);
  return T.secretShare([own, ...opened.map((o) => o.share)]);
}

async function postVerdicts() {
  const { opened } = await openShares(ceremony);
  if (opened.length !== ceremony.n - 1) throw new Problem(t("trustee.shares_missing"));
  if (opened.every((o) => o.ok)) {
    record.secret_share = scalarHex(secretShareOf(opened));
    await saveRecord(record);
  }
  const verdicts = opened.map((o) => (o.ok ? { sender: o.sender, verdict: "verified" }
    : { sender: o.sender, verdict: "complaint", share: scalarHex(o.share) }));
  ceremony = await api(`/ceremonies/${ceremony.ceremony_id}/verdicts`, { verdicts: verdicts });
}

/** Once done: the secret share (recomputed after a restore) and the joint key checked here. */
async function finishKey() {
  if (record.secret_share === null) {
    const { opened } = await openShares(ceremony);
    if (!opened.every((o) => o.ok)) throw new Problem(t("trustee.shares_bad"));
    record.secret_share = scalarHex(secretShareOf(opened));
  }
  const all = checkedCommitments(ceremony, baseHash(ceremony));
  const joint = T.jointKey(all);
  if (!ceremony.key || ceremony.key.joint_key !== joint) throw new Problem(t("trustee.key_mismatch"));
  const mine = ceremony.key.public_shares && ceremony.key.public_shares[String(record.seat)];
  if (mine !== T.publicShare(all, record.seat)) throw new Problem(t("trustee.key_mismatch"));
  if (record.joint_key !== joint) {
    record.joint_key = joint;
    await saveRecord(record);
  }
}

/** Do what the ceremony's state asks of this trustee now, and draw the screen. */
/** The key is made and backed up: the page waits for a vote to end. */
function ready() {
  steps("decrypt", "backup");
  panel(t("trustee.ready_heading"), t("trustee.ready_text"));
}

async function ceremonyStep() {
  const state = ceremony;
  show("trustee-key", false);
  show("trustee-backup", false);
  show("trustee-restore", false);
  progress(state);
  if (!state.ceremony_id) {
    steps(null);
    panel(t("trustee.none_heading"), t("trustee.none_text"));
    return;
  }
  if (state.phase === "failed") {
    steps(null);
    const who = (state.complaints || []).map((c) => t("trustee.who_short", { index: c.sender })).join(t("trustee.list_separator"));
    panel(t("trustee.failed_heading"), t("trustee.failed_text", { who: who }));
    return;
  }
  record = (await loadRecord(state.ceremony_id)) || null;
  const me = state.trustees.find((x) => x.index === state.you) || {};
  if (!record && (me.commitments || state.phase !== "commitments")) {
    steps(state.phase === "done" ? "backup" : state.phase);
    panel(t("trustee.lost_heading"), t("trustee.lost_text"));
    show("trustee-restore", true);
    return;
  }
  if (state.phase === "done") {
    await finishKey();
    $("trustee-fingerprint").textContent = keyFingerprint(record.joint_key);
    show("trustee-key", true);
    if (!record.backed_up) {
      steps("backup");
      panel(t("trustee.backup_heading"), t("trustee.backup_text"));
      show("trustee-backup", true);
    } else {
      ready();
    }
    return;
  }
  steps(state.phase);
  if (state.next === "wait") {
    const waiting = { commitments: t("trustee.wait_commitments"), shares: t("trustee.wait_shares"),
      verdicts: t("trustee.wait_verdicts") };
    panel(waiting[state.phase], t("trustee.wait_text"));
    return;
  }
  if (state.next === "commitments") {
    if (!record && generateAsked !== state.ceremony_id) {
      panel(t("trustee.generate_heading"), t("trustee.generate_text"),
        { id: "trustee-generate", label: t("trustee.generate_button"), run: generate });
      return;
    }
    panel(t("trustee.working"), t("trustee.generate_working"));
    if (!record) await drawPolynomial();
    await postCommitments(); // drawn now, or before a reload and not yet posted
  } else if (state.next === "shares") {
    panel(t("trustee.working"), t("trustee.shares_working"));
    await postShares();
  } else if (state.next === "verdicts") {
    panel(t("trustee.working"), t("trustee.verdicts_working"));
    await postVerdicts();
  }
  progress(ceremony);
}

// --- the backup file --------------------------------------------------------------------

async function downloadBackup(event) {
  event.preventDefault();
  const pass = $("backup-pass").value;
  const again = $("backup-pass2").value;
  const say = (text) => {
    $("backup-problem").textContent = text || "";
    $("backup-problem").hidden = !text;
  };
  if ([...pass].length < 8) return say(t("trustee.pass_short"));
  if (pass !== again) return say(t("trustee.pass_mismatch"));
  say("");
  const button = $("backup-download");
  button.disabled = true;
  button.textContent = t("trustee.backup_working");
  try {
    const text = await T.backupTrustee(secretsOf(record), pass);
    const name = `trustee-backup-${record.ceremony.id.slice(0, 8)}-seat${record.seat}.json`;
    const link = el("a", { href: URL.createObjectURL(new Blob([text], { type: "application/json" })), download: name });
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    record.backed_up = true;
    await saveRecord(record);
    $("backup-pass").value = "";
    $("backup-pass2").value = "";
    $("backup-done").textContent = t("trustee.backup_done", { file: name });
    $("backup-done").hidden = false;
  } catch (e) {
    say(describe(e));
  } finally {
    button.disabled = false;
    button.textContent = t("trustee.backup_button");
  }
  tick();
}

async function restoreBackup(event) {
  event.preventDefault();
  const say = (text) => {
    $("restore-problem").textContent = text || "";
    $("restore-problem").hidden = !text;
  };
  const file = $("restore-file").files[0];
  if (!file) return say(t("trustee.restore_no_file"));
  const button = $("restore-go");
  button.disabled = true;
  button.textContent = t("trustee.restore_working");
  try {
    let secrets;
    try {
      secrets = await T.restoreTrustee(await file.text(), $("restore-pass").value);
    } catch (e) {
      const field = e && e.field;
      say(field === "backup" && /passphrase/.test(e.message) ? t("trustee.restore_wrong")
        : field === "passphrase" ? t("trustee.pass_short") : t("trustee.restore_malformed"));
      return;
    }
    if (!ceremony || secrets.ceremony.id !== ceremony.ceremony_id || secrets.seat !== ceremony.you) {
      say(t("trustee.restore_other"));
      return;
    }
    record = { ceremony: secrets.ceremony, seat: secrets.seat, coefficients: secrets.coefficients.map(scalarHex),
      secret_share: secrets.secretShare === null ? null : scalarHex(secrets.secretShare),
      joint_key: null, backed_up: true };
    await saveRecord(record);
    $("restore-pass").value = "";
    say("");
  } catch (e) {
    say(describe(e));
  } finally {
    button.disabled = false;
    button.textContent = t("trustee.restore_button");
  }
  tick();
}

// --- decryption -------------------------------------------------------------------------

function voteLine(id, v, status, ok) {
  const list = $("trustee-vote-list");
  let li = list.querySelector(`li[data-vote="${CSS.escape(String(id))}"]`);
  if (!li) {
    li = el("li", { "data-vote": String(id) });
    list.appendChild(li);
  }
  li.textContent = "";
  li.appendChild(el("span", { class: "title" }, (v && v.title) || t("trustee.vote_number", { id: id })));
  if (v && v.k) {
    const x = (v.shares || []).length;
    li.appendChild(el("span", { class: "state" }, t("trustee.vote_progress", { x: Math.min(x, v.k), k: v.k })));
  }
  li.appendChild(el("span", { class: "state" + (ok ? " ok" : "") }, status));
}

/** Partial decryptions of every sum of `v` (GET votes/<vote>) with this trustee's share. */
function partials(v) {
  const ctx = T.voteContext({ ceremony: { id: v.ceremony_id, n: v.n, k: v.k }, voteId: String(v.vote),
    layout: v.manifest, jointKey: v.joint_key });
  const s = scalarOf(record.secret_share);
  const shares = {};
  Object.keys(v.aggregates).forEach((group) => {
    shares[group] = v.aggregates[group].map((contest) => contest.map((sum) => T.partialDecrypt(ctx.hV, v.you, s, sum)));
  });
  return shares;
}

/** Every counted ballot of vote `id` and the keys of the tablets that signed them,
 * page by page (GET votes/<vote>/ballots). */
async function countedBallots(id) {
  const ballots = {};
  const devices = {};
  let offset = 0;
  for (;;) {
    const page = await api(`/votes/${encodeURIComponent(id)}/ballots?offset=${offset}`);
    Object.entries(page.ballots || {}).forEach(([group, list]) => {
      ballots[group] = (ballots[group] || []).concat(list);
    });
    Object.assign(devices, page.devices || {});
    if (page.next === null || page.next === undefined) return { ballots, devices };
    offset = page.next;
  }
}

/** Decrypt only sums recomputed here: the server shows sums of the counted ballots,
 * and a server that showed one deputy's ballot as a "sum" would have it opened by k
 * scrutineers (docs/trustee-votes.md, "Before decrypting"). Returns the ballots checked. */
async function checkSums(id, v) {
  const { ballots, devices } = await countedBallots(id);
  const checked = await T.checkPresentedAggregates({ voteId: String(v.vote), manifest: v.manifest },
    ballots, devices, v.aggregates, v.cast);
  return checked.ballots;
}

async function decryptVote(id, v) {
  if (votesRefused.has(String(id))) {
    voteLine(id, v, votesRefused.get(String(id)));
    return;
  }
  if (!record || record.ceremony.id !== v.ceremony_id || record.secret_share === null) {
    voteLine(id, v, t("trustee.vote_no_key"));
    return;
  }
  if (v.joint_key !== record.joint_key) {
    voteLine(id, v, t("trustee.key_mismatch"));
    return;
  }
  voteLine(id, v, t("trustee.vote_checking"));
  let checked;
  try {
    checked = await checkSums(id, v);
  } catch (e) {
    if (e instanceof Problem) throw e; // the server did not answer: asked again next tick
    const why = t("trustee.sums_refused", { detail: e && e.message ? e.message : String(e) });
    votesRefused.set(String(id), why);
    voteLine(id, v, why);
    return;
  }
  voteLine(id, v, t("trustee.vote_decrypting"));
  panel(t("trustee.decrypt_heading"), t("trustee.decrypt_text"));
  steps("decrypt", "backup");
  let answer;
  try {
    answer = await api(`/votes/${encodeURIComponent(id)}/decryption`, { shares: partials(v) });
  } catch (e) {
    // k other trustees were quicker (the result is in), or this page's post already
    // landed before a reload: nothing is missing, the list shows the vote's state
    const code = e instanceof Problem && e.answer ? e.answer.error : null;
    if (code !== "vote_has_result" && code !== "decryption_duplicate") throw e;
    answer = await api(`/votes/${encodeURIComponent(id)}`);
  }
  votesChecked.set(String(id), checked);
  votesSeen.set(String(id), answer);
  const [status, ok] = describeVote(answer);
  voteLine(id, answer, status, ok);
  ready(); // not "decrypting" above a vote the list says is done
}

/** [what the list says of vote v, whether it is over]. */
function describeVote(v) {
  // kept across the page's polls: each GET answers afresh, without what this page checked
  const n = votesChecked.get(String(v.vote));
  const checked = n === undefined ? "" : " " + t("trustee.ballots_checked", { n: n });
  if (v.result) return [t("trustee.vote_counted") + checked, true];
  if (v.state === "cancelled") return [t("trustee.vote_cancelled"), true];
  if (v.aggregates === null || v.state === "open") return [t("trustee.vote_open"), false];
  if (v.you !== null && (v.shares || []).includes(v.you)) return [t("trustee.vote_mine_done") + checked, false];
  return [t("trustee.vote_waiting"), false];
}

async function votesStep() {
  if (!record || record.secret_share === null || !record.backed_up) return false;
  show("trustee-votes", true);
  const answer = await api(`/sittings/${SITTING}/votes`);
  const listed = Array.isArray(answer) ? answer : answer.votes || [];
  const ids = listed.map((item) => String(typeof item === "object" ? item.vote : item));
  // a vote that left the list (counted, or cancelled) is asked once more for its end
  for (const id of votesSeen.keys()) if (!ids.includes(id) && !votesSeen.get(id).final) ids.push(id);
  let pending = false;
  for (const id of ids) {
    const v = await api(`/votes/${encodeURIComponent(id)}`);
    const item = listed.find((x) => typeof x === "object" && String(x.vote) === id);
    if (item && item.title && !v.title) v.title = item.title;
    if (v.next === "decrypt") {
      await decryptVote(id, v);
      pending = true;
      continue;
    }
    const [status, ok] = describeVote(v);
    v.final = ok || !listed.some((x) => String(typeof x === "object" ? x.vote : x) === id);
    votesSeen.set(id, v);
    voteLine(id, v, status, ok);
    if (!ok) pending = true;
  }
  if ($("trustee-vote-list").children.length === 0) {
    $("trustee-vote-list").appendChild(el("li", { class: "none" }, t("trustee.no_votes")));
  } else {
    const none = $("trustee-vote-list").querySelector("li.none");
    if (none) none.remove();
  }
  return pending;
}

// --- the loop ---------------------------------------------------------------------------

let timer = null;

async function tick() {
  if (timer) clearTimeout(timer);
  timer = null;
  if (busy) return;
  busy = true;
  try {
    ceremony = await api(`/sittings/${SITTING}`);
    await ceremonyStep();
    if (ceremony.phase === "done") await votesStep();
    problem("");
  } catch (e) {
    problem(describe(e));
  } finally {
    busy = false;
  }
  // every second: the ceremony's next step and a closed vote's sums come without a reload
  timer = setTimeout(tick, POLL_MS);
}

$("backup-form").addEventListener("submit", downloadBackup);
$("restore-form").addEventListener("submit", restoreBackup);
tick();
