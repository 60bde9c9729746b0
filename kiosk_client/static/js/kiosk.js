/*
 * kiosk.js — the deputy's tablet: the screen flow of enrollment, connection
 * proof, 签到 and ballots. An ES module; it leaves one job each to
 *   kiosk/storage.mjs     the device record and its non-extractable key (IndexedDB),
 *   kiosk/statements.mjs  what is signed (the twin of crypto/statements.py),
 *   kiosk/ballots.mjs     how each vote kind's ballot is drawn and read,
 *   kiosk/results.mjs     a result as large figures (表决结果 / 票决结果 / 测评结果).
 *
 * Protocol: docs/protocol.md. What is signed: docs/audit-log.md (canonical
 * JSON, ECDSA P-256 / SHA-256, raw r‖s, base64).
 *
 * Ballots: each submission gets a fresh nonce and is kept, unchanged, until
 * the server acknowledges it. A timeout or a reconnect resends the SAME
 * payload (same nonce, same signatures), and the server answers a known
 * nonce with the original receipt, so nothing is lost or counted twice. The
 * pending ballot lives in memory only: the choice is never written to the
 * tablet's storage.
 *
 * Trustee mode (docs/trustee-votes.md): a vote carrying ``trustees`` is sent encrypted
 * to the scrutineers' joint key (trustees/*.mjs): the marks per the vote's manifest,
 * H_C and H_V computed here from the vote (never taken from the server), the wire
 * ballot signed as an ``encrypted-ballot`` statement. The randomness stays inside
 * encryptBallot: it is never stored, shown or sent. The joint key's fingerprint is
 * shown small under the ballot, for a scrutineer to compare.
 *
 * After the receipt the tablet shows the deputy's own choice (您的选择): large in a
 * named vote; in a secret vote (无记名) only while the deputy holds a button, so that
 * a neighbour cannot read it. The choice is the one kept in memory; it is never sent
 * anywhere but in the ballot itself, and never logged.
 */
import { ballotKind, trusteeChoice } from "./kiosk/ballots.mjs";
import { keyFingerprint } from "./kiosk/fingerprint.mjs";
import { closeRecord, initRecord } from "./kiosk/record.mjs";
import { renderResult, resultHeading } from "./kiosk/results.mjs";
import { authStatement, ballotSignatures, base64, encryptedBallotStatement, newNonce, signStatement } from "./kiosk/statements.mjs";
import { forgetDevice, generateDeviceKey, loadDevice, saveDevice } from "./kiosk/storage.mjs";
import { encryptBallot, marksFromChoice, voteContext } from "./trustees/index.mjs";

const S = window.Screens;
const t = S.t;
const el = S.el;
const $ = (id) => document.getElementById(id);

const SCREENS = ["insecure", "loading", "enroll", "connecting", "signin", "waiting", "vote",
  "confirm", "sent", "result", "cancelled"];
const ACK_TIMEOUT_MS = 8000;
// When a whole hall reconnects at once (a server restart), the last tablet's answer comes after
// 3,000 others: a minute or more on a slow server. Past this, a fresh connection.
const AUTH_WAIT_MS = 120000;
const BALLOT_RETRY_MS = 1500;

let current = "loading";
let device = null; // {device, seat, server_key, keyPair}
let sio = null;
let authed = false; // this connection answered its challenge
let signedIn = false;
let present = false; // counted present (perhaps by staff): the PIN is still needed here
let member = null; // {name, seat}
let vote = null; // the public vote being shown (docs/protocol.md vote_opened)
let voteClosed = false;
let choice = null; // the kind's (kiosk/ballots.mjs): {subject: mark} or [candidate ids]
let pending = null; // {vote, payload} sent but not yet acknowledged
let sending = false;
let receipt = null; // the last receipt for `vote`
let submitted = null; // {vote, choice}: what the acknowledged ballot chose (memory only)
let stopCountdown = () => {};
let documentAsked = 0; // counts requests for a document link: only the latest one opens
let trusteeCtx = null; // {vote, key, ctx}: the trustee-mode vote's context, built once per vote

// --- screens and messages ----------------------------------------------------------

function show(name) {
  closeDocument(); // a new screen (a vote opened, closed, cancelled) comes first
  concealChoice(); // a secret vote's choice never stays on a screen left behind
  if (name !== "waiting") closeRecord(); // 我的履职 gives way to a vote, a result, sign-in
  current = name;
  SCREENS.forEach((s) => {
    $("screen-" + s).hidden = s !== name;
  });
  window.scrollTo(0, 0);
}

function say(text, good) {
  const box = $("message");
  box.textContent = text || "";
  box.className = "message " + (good ? "good" : "bad");
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// --- enrollment ------------------------------------------------------------------------

async function enroll(event) {
  event.preventDefault();
  const code = $("enroll-code").value.replace(/\s+/g, "");
  if (!code) return;
  $("enroll-button").disabled = true;
  say(t("kiosk.enrolling"), true);
  try {
    const keyPair = await generateDeviceKey();
    const spki = await crypto.subtle.exportKey("spki", keyPair.publicKey);
    const response = await fetch("/api/kiosk/enroll", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code: code, public_key: base64(spki) }),
      credentials: "same-origin",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok || data.ok === false || !data.device) {
      say(data.message || t("kiosk.enroll_failed", { status: response.status }));
      return;
    }
    device = { device: data.device, seat: data.seat, server_key: data.server_key, keyPair: keyPair };
    await saveDevice(device);
    $("enroll-code").value = "";
    say(t("kiosk.enrolled", { seat: data.seat }), true);
    if (data.pending) showPending(); // a replacement tablet: the presidium decides
    connect();
  } catch (e) {
    say(t("kiosk.enroll_offline"));
  } finally {
    $("enroll-button").disabled = false;
  }
}

async function reenroll() {
  if (!window.confirm(t("kiosk.ask_reenroll"))) return;
  if (sio) sio.close();
  sio = null;
  device = null;
  await forgetDevice();
  $("who").textContent = t("kiosk.title");
  $("reenroll-box").hidden = true;
  say("");
  show("enroll");
}

// --- connection ------------------------------------------------------------------------

function connect() {
  show("connecting");
  sio = new window.SioClient({ auth: () => ({ device: device.device }) });
  S.bindConnection(sio, $("conn"));
  sio.on("challenge", onChallenge);
  sio.on("disconnect", () => {
    authed = false;
  });
  sio.on("connect_error", (err) => {
    if (err && err.error === "device_pending") {
      // Refused until the presidium confirms this replacement; sio.js keeps retrying.
      showPending();
      return;
    }
    say((err && err.message) || t("kiosk.refused"));
    $("reenroll-box").hidden = false;
    show("connecting");
  });
  sio.on("attendance", onAttendanceEvent);
  sio.on("vote_opened", onVoteOpened);
  sio.on("result", onResult);
  sio.on("vote_cancelled", onVoteCancelled);
  sio.on("announced", onAnnounced);
  sio.connect();
}

async function onChallenge(data) {
  authed = false;
  let answer;
  try {
    const signature = await signStatement(device.keyPair.privateKey, authStatement(device.device, data.challenge));
    answer = await sio.emitWithAck("authenticate", { device: device.device, signature: signature },
      AUTH_WAIT_MS);
  } catch (e) {
    say(S.problem(e));
    // The next connection brings a new challenge; on a timeout this one is dropped for it, or
    // the tablet would stay connected and unproven, and the server's late answer unheard.
    if (e && e.code === "timeout") sio.reconnect("no answer to authenticate");
    return;
  }
  if (!answer || !answer.ok) {
    say(S.problem(answer));
    if (answer && (answer.error === "unknown_device" || answer.error === "bad_signature")) {
      $("reenroll-box").hidden = false;
    }
    show("connecting");
    return;
  }
  authed = true;
  if (answer.seat) device.seat = answer.seat;
  member = answer.member || member;
  if (current === "connecting") say("");
  if (answer.state) applyState(answer.state);
  else await refreshState(); // a server that does not put the state in the answer
  sendPending(); // a ballot sent before the connection dropped: resend it unchanged
}

function showPending() {
  $("waiting-heading").textContent = t("kiosk.pending_heading");
  $("waiting-text").textContent = t("kiosk.pending_text");
  $("waiting-attendance").textContent = "";
  say("");
  show("waiting");
}

function showWho() {
  $("who").textContent = member && member.name
    ? t("kiosk.seat_name", { seat: device.seat, name: member.name }) : t("kiosk.seat", { seat: device.seat });
}

/** The waiting screen's context: the body, the sitting and the agenda item (议程). */
function showContext(sitting, item) {
  $("waiting-context").hidden = !sitting;
  if (!sitting) return;
  $("waiting-body").textContent = sitting.body || "";
  $("waiting-sitting").textContent = sitting.title || "";
  $("waiting-item").textContent = agendaLine(item);
  $("waiting-item").hidden = !item || !item.title;
}

function agendaLine(item) {
  if (!item || !item.title) return "";
  return item.position ? t("kiosk.agenda_item_n", { n: item.position, title: item.title })
    : t("kiosk.agenda_item", { title: item.title });
}

let sittingShown = null; // the state's sitting {title, body}, for the waiting screen

/** A snapshot from the server (authenticate, state): choose the screen. */
function applyState(state) {
  if (state.member) member = state.member;
  showWho();
  if (state.attendance) onAttendance(state.attendance);
  sittingShown = state.sitting || null;
  showContext(sittingShown, state.open_vote ? state.open_vote.agenda_item : state.agenda_item);
  if (!state.sitting) {
    $("waiting-heading").textContent = t("kiosk.no_sitting_heading");
    $("waiting-text").textContent = t("kiosk.no_sitting_text");
    show("waiting");
    return;
  }
  $("waiting-heading").textContent = t("kiosk.signed_in_heading");
  $("waiting-text").textContent = t("kiosk.wait_text");
  signedIn = Boolean(state.signed_in);
  present = Boolean(state.present);
  const open = state.open_vote;
  if (!signedIn) {
    showSignIn(open);
    return;
  }
  if (isAttendee() || (open && !votesIn(open))) {
    if (open && (!vote || vote.id !== open.id)) {
      vote = open; // for the result's subject titles, as in onVoteOpened
      voteClosed = false;
    }
    showNotVoter();
    return;
  }
  if (open) {
    if (pending && pending.vote === open.id) showSent();
    else if (vote && vote.id === open.id && ["vote", "confirm", "sent"].indexOf(current) >= 0) {
      vote = open; // same vote, keep what the deputy was doing
      if (current === "vote") renderVote();
    } else startVote(open);
    return;
  }
  if (vote && !pending && (current === "result" || current === "cancelled")) return;
  show("waiting");
}

function onAttendance(q) {
  $("waiting-attendance").textContent = t("kiosk.attendance", {
    present_word: t("term.present"), present: q.present, members_word: t("term.members"), members: q.members,
  });
}

function onAttendanceEvent(q) {
  onAttendance(q);
  // Staff may have signed this seat in (代为签到) while the PIN screen was up.
  if (current === "signin" && authed && !$("pin").value) refreshState();
}

// --- 签到 -------------------------------------------------------------------------------

function showSignIn(openVote) {
  $("signin-member").textContent = member && member.name
    ? t("kiosk.seat_name", { seat: device.seat, name: member.name }) : t("kiosk.seat", { seat: device.seat });
  $("signin-vote-open").hidden = !openVote;
  // 代为签到 counted the deputy present; only their own PIN here lets this tablet vote.
  $("signin-proxy").hidden = !present;
  show("signin");
  $("pin").focus();
}

function buildKeypad() {
  const pad = $("keypad");
  const press = (key) => {
    const pin = $("pin");
    if (key === "clear") pin.value = "";
    else if (key === "back") pin.value = pin.value.slice(0, -1);
    else if (pin.value.length < 12) pin.value += key;
  };
  const label = { clear: t("kiosk.key_clear"), back: t("kiosk.key_back") };
  ["1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "back"].forEach((key) => {
    pad.appendChild(el("button", { type: "button", onclick: () => press(key) }, label[key] || key));
  });
}

async function signIn(event) {
  event.preventDefault();
  const pin = $("pin").value;
  if (!/^[0-9]{4,12}$/.test(pin)) {
    say(t("kiosk.pin_format"));
    return;
  }
  $("signin-button").disabled = true;
  try {
    const answer = await sio.emitWithAck("sign_in", { pin: pin }, ACK_TIMEOUT_MS);
    $("pin").value = "";
    if (answer.ok || answer.error === "already_signed_in") {
      signedIn = true;
      say(t("kiosk.signed_in"), true);
      await refreshState();
    } else {
      say(pinProblem(answer));
    }
  } catch (e) {
    say(S.problem(e));
  } finally {
    $("signin-button").disabled = false;
  }
}

/** A refused PIN, worded with what the server says comes next: the tries left before
 * the seat is locked, or the time (北京时间, HH:MM) the lock ends. */
function pinProblem(answer) {
  const data = (answer && answer.data) || {};
  if (answer && answer.error === "pin_invalid" && data.tries_left > 0) {
    return t("kiosk.pin_tries_left", { n: data.tries_left });
  }
  if (answer && answer.error === "pin_locked" && data.locked_until_time) {
    return t("kiosk.pin_locked_until", { time: data.locked_until_time });
  }
  return S.problem(answer);
}

async function refreshState() {
  try {
    const answer = await sio.emitWithAck("state", {}, ACK_TIMEOUT_MS);
    if (answer.ok) {
      applyState(answer.state);
      return;
    }
    say(S.problem(answer));
  } catch (e) {
    say(S.problem(e));
  }
  // Still without a screen to show (e.g. right after connecting): try again shortly.
  if (current === "connecting" && authed) setTimeout(refreshState, 3000);
}

// --- the open vote ---------------------------------------------------------------------

function onVoteOpened(v) {
  if (!authed) return;
  if (!signedIn) {
    showSignIn(v);
    return;
  }
  say("");
  showContext(sittingShown, v.agenda_item); // the waiting screen names the item being voted
  if (!votesIn(v)) {
    // Kept although it shows no keys: the result screen names the subjects from it
    // (without it a 列席 tablet showed "report" instead of the motion's title).
    vote = v;
    voteClosed = false;
    showNotVoter();
    return;
  }
  startVote(v);
}

/** A 列席 attendee: signs in, reads documents and results, never votes. */
function isAttendee() {
  return Boolean(member && member.role === "attendee");
}

/** Whether this seat's member votes in ``v``: never an attendee; in a presidium vote
 * (主席团会议) only the presidium's members. The server refuses the others' ballots
 * all the same (not_a_voter): this only spares them keys that cannot count. */
function votesIn(v) {
  // 列席代表参加测评: an attendee votes where the evaluation admits them
  if (isAttendee()) return Boolean(v.admit_attending) && v.electorate !== "presidium";
  return v.electorate !== "presidium" || !member || member.presidium !== "none";
}

/** The notice shown instead of the vote keys. */
function showNotVoter() {
  if (isAttendee()) {
    $("waiting-heading").textContent = t("kiosk.attendee_heading");
    $("waiting-text").textContent = t("kiosk.attendee_text");
  } else {
    $("waiting-heading").textContent = t("kiosk.signed_in_heading");
    $("waiting-text").textContent = t("kiosk.presidium_only_text");
  }
  show("waiting");
}

function startVote(v) {
  if (!vote || vote.id !== v.id) {
    choice = ballotKind(v).empty();
    receipt = null;
    submitted = null;
  }
  vote = v;
  voteClosed = false;
  $("vote-title").textContent = v.title;
  // The agenda item (议程) the vote belongs to, with its explanation for the deputy.
  const item = v.agenda_item || {};
  $("vote-agenda").textContent = agendaLine(item);
  $("vote-document-text").textContent = item.description || "";
  $("vote-document").hidden = !item.description;
  renderDocuments(item.documents || []);
  $("vote-kind").textContent = t("kiosk.vote_kind", {
    kind: S.KIND[v.kind],
    ballot: v.secret ? t("term.secret") : t("term.named"),
    policy: v.key_policy === "last_press" ? t("kiosk.can_change") : t("kiosk.final"),
  });
  stopCountdown();
  stopCountdown = S.countdown($("vote-countdown"), v.closes_at);
  showFingerprint(v);
  renderVote();
  show("vote");
  if (v.trustees) setTimeout(() => trusteeContext(v), 0); // ready before the deputy presses
}

// --- trustee mode (docs/trustee-votes.md) ----------------------------------------------

/** The joint key's fingerprint, small under a trustee-mode ballot; hidden otherwise. */
function showFingerprint(v) {
  const box = $("vote-fingerprint");
  let fingerprint = null;
  try {
    fingerprint = v.trustees ? keyFingerprint(v.trustees.joint_key) : null;
  } catch (e) {
    fingerprint = null; // a malformed key: encrypting will refuse it and say so
  }
  box.textContent = fingerprint ? t("kiosk.trustee_fingerprint", { fingerprint: fingerprint }) : "";
  box.hidden = !fingerprint;
}

/** H_C, H_V and the joint key's table for vote ``v``, computed here from the vote. */
function trusteeContext(v) {
  const tr = v.trustees;
  if (!trusteeCtx || trusteeCtx.vote !== v.id || trusteeCtx.key !== tr.joint_key) {
    const ctx = voteContext({ ceremony: { id: tr.ceremony_id, n: tr.n, k: tr.k }, voteId: String(v.id),
      layout: tr.manifest, jointKey: tr.joint_key });
    trusteeCtx = { vote: v.id, key: tr.joint_key, ctx: ctx };
  }
  return trusteeCtx.ctx;
}

/** The ``ballot`` payload of a trustee-mode vote: ``{vote, nonce, encrypted, sig}``. */
async function encryptedPayload(v, chosen) {
  if (!member || member.id === undefined || member.id === null) throw new Error("no member signed in");
  const marks = marksFromChoice(v.trustees.manifest, trusteeChoice(v, chosen));
  const nonce = newNonce();
  const encrypted = encryptBallot(trusteeContext(v), { memberId: String(member.id), nonce: nonce, marks: marks });
  const sig = await signStatement(device.keyPair.privateKey,
    encryptedBallotStatement(v.id, device.seat, nonce, encrypted));
  return { vote: v.id, nonce: nonce, encrypted: encrypted, sig: sig };
}

// --- the agenda item's documents (议程文件) ---------------------------------------------

/** One large button per document; pressing it asks for a link (document_link). */
function renderDocuments(docs) {
  const list = $("vote-documents-list");
  list.textContent = "";
  docs.forEach((d) => {
    list.appendChild(el("button", {
      type: "button", id: "document-open-" + d.id, class: "document-open",
      onclick: () => openDocument(d),
    }, d.title));
  });
  $("vote-documents").hidden = docs.length === 0;
}

async function openDocument(d) {
  const asked = ++documentAsked;
  say(t("kiosk.document_opening"), true);
  let answer;
  try {
    answer = await sio.emitWithAck("document_link", { document: d.id }, ACK_TIMEOUT_MS);
  } catch (e) {
    if (asked === documentAsked) say(S.problem(e));
    return;
  }
  if (asked !== documentAsked) return; // another document asked for, or the screen changed
  if (!answer || !answer.ok) {
    say(S.problem(answer));
    return;
  }
  say("");
  $("document-title").textContent = d.title;
  $("document-frame").src = answer.url;
  $("document-overlay").hidden = false;
  document.body.classList.add("document-shown"); // the vote screen must not scroll underneath
  $("document-back").focus();
}

function closeDocument() {
  documentAsked++; // a link still on its way must not open over the new screen
  if ($("document-overlay").hidden) return;
  $("document-overlay").hidden = true;
  document.body.classList.remove("document-shown");
  $("document-frame").src = "about:blank";
}

/** What a kind's renderer (kiosk/ballots.mjs) may read and change. */
function ballotUi() {
  return {
    S: S,
    vote: vote,
    choice: choice,
    say: say,
    choose: (next) => {
      choice = next;
      renderVote();
    },
  };
}

function renderVote() {
  const body = $("vote-body");
  body.textContent = "";
  ballotKind(vote).render(body, ballotUi());
  updateNext();
}

function updateNext() {
  const next = $("vote-next");
  const missing = ballotKind(vote).missing(vote, choice);
  if (missing === null) {
    next.disabled = false;
    return;
  }
  next.disabled = missing > 0;
  next.textContent = missing > 0 ? t("kiosk.missing", { n: missing }) : t("kiosk.next");
}

function showConfirm() {
  if (voteClosed) return;
  $("confirm-title").textContent = vote.title;
  const list = $("confirm-summary");
  list.textContent = "";
  ballotKind(vote).summarize(list, ballotUi());
  $("confirm-policy").textContent = vote.key_policy === "last_press"
    ? t("kiosk.policy_last") : t("kiosk.policy_first");
  say("");
  show("confirm");
}

async function submit() {
  if (voteClosed || pending) return;
  $("confirm-send").disabled = true;
  try {
    let payload;
    if (vote.trustees) {
      try {
        payload = await encryptedPayload(vote, choice);
      } catch (e) {
        say(t("kiosk.encrypt_failed"));
        return;
      }
    } else {
      const ballot = ballotKind(vote).ballot(vote, choice);
      const nonce = newNonce();
      const signed = await ballotSignatures(device.keyPair.privateKey, vote.id, device.seat, nonce, ballot);
      payload = { vote: vote.id, nonce: nonce, ballot: ballot,
        signature: signed.signature, participation_signature: signed.participation_signature };
    }
    pending = {
      vote: vote.id,
      // a copy: the receipt's screen shows what THIS ballot chose, whatever is pressed later
      choice: Array.isArray(choice) ? choice.slice() : Object.assign({}, choice),
      payload: payload, // resent unchanged until acknowledged: the same ciphertexts and nonce
    };
  } catch (e) {
    say(t("kiosk.sign_failed"));
    return;
  } finally {
    $("confirm-send").disabled = false;
  }
  showSent();
  sendPending();
}

function showSent(note) {
  const waiting = Boolean(pending);
  $("sent-heading").textContent = waiting ? t("kiosk.sending") : receipt ? t("kiosk.sent") : t("kiosk.voted");
  $("sent-receipt").hidden = waiting || !receipt;
  if (receipt && !waiting) {
    // The receipt is for checking later (验证回执): small, below the choice.
    const box = $("sent-receipt");
    box.textContent = "";
    box.appendChild(el("div", null, t("kiosk.receipt", { entry: receipt.entry })));
    box.appendChild(el("div", null, t("kiosk.receipt_press", { press: receipt.press,
      hash: receipt.entry_hash.slice(0, 12) })));
    if (receipt.secret) box.appendChild(el("div", null, t("kiosk.receipt_secret")));
  }
  const mine = !waiting && submitted && vote && submitted.vote === vote.id ? submitted : null;
  const secret = Boolean(vote && vote.secret);
  $("sent-choice").hidden = !mine || secret;
  $("sent-secret").hidden = !mine || !secret;
  $("sent-secret-note").hidden = !mine || !secret;
  $("sent-choice").textContent = "";
  if (mine && !secret) renderChoice($("sent-choice"), mine);
  const canChange = !waiting && !voteClosed && vote && vote.key_policy === "last_press";
  $("sent-change").hidden = !canChange;
  $("sent-policy").textContent = note || (waiting ? t("kiosk.wait_here")
    : canChange ? t("kiosk.change_until_close") : t("kiosk.wait_close"));
  if (!vote || !vote.closes_at || voteClosed) $("sent-countdown").hidden = true;
  else {
    stopCountdown();
    stopCountdown = S.countdown($("sent-countdown"), vote.closes_at);
  }
  if (current !== "result" && current !== "cancelled") show("sent");
}

/** Send the pending ballot until the server answers it; resend the same payload. */
async function sendPending() {
  if (sending) return;
  sending = true;
  try {
    while (pending && authed && sio && sio.connected) {
      let answer;
      try {
        answer = await sio.emitWithAck("ballot", pending.payload, ACK_TIMEOUT_MS);
      } catch (e) {
        if (e.code === "timeout") {
          showSent(t("kiosk.resending"));
          continue;
        }
        showSent(t("kiosk.resend_later"));
        break; // onChallenge calls sendPending again after the reconnect
      }
      const sent = pending;
      if (answer.ok) {
        pending = null;
        onReceipt(sent, answer.receipt);
      } else if (answer.retry) {
        showSent(t("kiosk.busy"));
        await sleep(BALLOT_RETRY_MS);
      } else {
        pending = null;
        onRefused(sent, answer);
      }
    }
  } finally {
    sending = false;
  }
}

function onReceipt(sent, r) {
  if (!vote || vote.id !== sent.vote) return;
  receipt = r;
  submitted = { vote: sent.vote, choice: sent.choice };
  say("");
  showSent();
}

function onRefused(sent, answer) {
  if (answer.error === "already_voted") {
    say(S.problem(answer));
    showSent();
    return;
  }
  if (answer.error === "vote_not_open") {
    say(t("kiosk.too_late"));
    return;
  }
  if (answer.error === "not_signed_in" || answer.error === "pin_required") {
    signedIn = false;
    say(S.problem(answer));
    showSignIn(vote);
    return;
  }
  say(S.problem(answer));
  if (vote && vote.id === sent.vote && !voteClosed) show("vote");
}

// --- 您的选择: the deputy's own choice after pressing -----------------------------------

/** "您的选择：赞成" on one line for a lone subject; else the heading and a line each. */
function renderChoice(box, mine) {
  const lines = ballotKind(vote).chosen(S, vote, mine.choice);
  if (lines.length === 1 && !lines[0].title && lines[0].cls !== "project") {
    box.appendChild(el("p", { class: "k-choice-one" },
      el("span", { class: "k-choice-label" }, t("kiosk.your_choice_is")),
      el("span", { class: "k-choice-mark " + lines[0].cls }, lines[0].mark)));
    return;
  }
  box.appendChild(el("p", { class: "k-choice-label" }, t("kiosk.your_choice")));
  box.appendChild(el("ul", { class: "k-choice-list" }, ...lines.map((line) => el("li", null,
    line.title ? el("span", { class: "k-choice-title" }, line.title) : null,
    el("span", { class: "k-choice-mark " + line.cls }, line.mark)))));
}

/** Show a secret vote's choice while the button is held; built on press, removed on release. */
function revealChoice(event) {
  if (event) event.preventDefault(); // a long touch must not select text or open a menu
  if (!submitted || !vote || submitted.vote !== vote.id || current !== "sent") return;
  const box = $("sent-secret-choice");
  box.textContent = "";
  renderChoice(box, submitted);
  box.hidden = false;
  $("sent-reveal").setAttribute("aria-pressed", "true");
}

function concealChoice() {
  const box = $("sent-secret-choice");
  if (!box) return;
  box.hidden = true;
  box.textContent = "";
  $("sent-reveal").setAttribute("aria-pressed", "false");
}

function bindReveal() {
  const button = $("sent-reveal");
  button.addEventListener("pointerdown", (event) => {
    try {
      button.setPointerCapture(event.pointerId); // a finger sliding off still "holds"
    } catch (e) {
      // no capture (an old browser, a synthetic event): pointerleave ends the hold instead
    }
    revealChoice(event);
  });
  ["pointerup", "pointercancel", "lostpointercapture", "pointerleave"].forEach((name) =>
    button.addEventListener(name, concealChoice));
  button.addEventListener("contextmenu", (event) => event.preventDefault());
  // The keyboard (an attached keyboard, a switch): held Space or Enter shows it too.
  button.addEventListener("keydown", (event) => {
    if ((event.key === " " || event.key === "Enter") && !event.repeat) revealChoice(event);
  });
  button.addEventListener("keyup", concealChoice);
  button.addEventListener("blur", concealChoice);
  window.addEventListener("blur", concealChoice);
  document.addEventListener("visibilitychange", concealChoice);
}

// --- end of a vote ---------------------------------------------------------------------

// The result closes the vote on the tablet: the server sends tablets no separate
// vote_closed (one frame per tablet at the moment the whole hall waits for).
function onResult(data) {
  if (vote && vote.id === data.vote) {
    voteClosed = true;
    stopCountdown();
    $("sent-change").hidden = true;
    if (!pending) say("");
  }
  if (!signedIn || !authed) return;
  const shown = vote && vote.id === data.vote ? vote : { id: data.vote, title: data.title };
  if (!vote || vote.id !== data.vote) vote = shown;
  voteClosed = true;
  stopCountdown();
  $("result-heading").textContent = resultHeading(S, shown, data.result);
  $("result-title").textContent = shown.title || data.title || "";
  $("result-body").textContent = "";
  $("result-body").appendChild(renderResult(S, shown, data.result));
  show("result");
}

function onAnnounced(data) {
  if (current === "result" && vote && vote.id === data.vote) {
    $("result-body").appendChild(el("p", { class: "banner banner-good" },
      t("kiosk.announced", { result: resultHeading(S, vote, null) })));
  }
}

function onVoteCancelled(data) {
  if (!vote || vote.id !== data.vote) return;
  voteClosed = true;
  pending = null; // the server refuses ballots for a cancelled vote: nothing to resend
  stopCountdown();
  if (!signedIn) return;
  $("cancelled-reason").textContent = data.reason ? t("reason", { reason: data.reason }) : "";
  say("");
  show("cancelled");
}

// --- the venue CA (docs/tls.md) --------------------------------------------------------

/** The enrollment QR code carries the venue CA's fingerprint (#…&caf=): say so if this
 * server serves under another CA, and show the server's for checking by eye. */
/** Show the server's CA fingerprint; warn when the QR code's (``expected``) differs. */
function checkVenueCa(expected) {
  const box = $("enroll-ca");
  if (!expected || !box) return;
  box.hidden = false;
  if (expected !== box.dataset.serverCa) say(t("kiosk.ca_mismatch"));
}

// --- start -----------------------------------------------------------------------------

async function start() {
  buildKeypad();
  bindReveal();
  $("enroll-form").addEventListener("submit", enroll);
  $("signin-form").addEventListener("submit", signIn);
  $("reenroll-button").addEventListener("click", reenroll);
  $("vote-next").addEventListener("click", showConfirm);
  $("confirm-back").addEventListener("click", () => show("vote"));
  $("document-back").addEventListener("click", closeDocument);
  $("confirm-send").addEventListener("click", submit);
  initRecord({ S: S, say: say, ask: (event, payload) => sio.emitWithAck(event, payload, ACK_TIMEOUT_MS) });
  $("sent-change").addEventListener("click", () => {
    if (voteClosed) return;
    renderVote();
    show("vote");
  });
  if (!window.isSecureContext || !window.crypto || !window.crypto.subtle || !window.indexedDB) {
    show("insecure");
    return;
  }
  try {
    device = await loadDevice();
  } catch (e) {
    device = null;
  }
  // The seat's QR code opens BASE_URL/kiosk#enroll=CODE (docs/protocol.md): the code
  // is filled in for staff to confirm with 登记. The fragment is then removed from the
  // address bar; it never reaches the server's logs.
  // It may carry the venue CA's fingerprint too (#enroll=CODE&caf=HEX, docs/tls.md).
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const scanned = /^[A-Za-z0-9-]{4,40}$/.test(fragment.get("enroll") || "") ? fragment.get("enroll") : null;
  const venueCa = (fragment.get("caf") || "").toLowerCase();
  if (window.location.hash) history.replaceState(null, "", window.location.pathname + window.location.search);
  if (device && device.keyPair && device.device) connect();
  else {
    if (scanned) $("enroll-code").value = scanned.toUpperCase();
    show("enroll");
    checkVenueCa(venueCa);
  }
}

start();
