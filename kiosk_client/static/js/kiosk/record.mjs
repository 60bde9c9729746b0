/*
 * record.mjs — 我的履职 on the tablet: the deputy's own record (代表履职档案), in large
 * type, over the whole screen: attendance rate, sittings attended / on leave / absent,
 * and per vote 已按 or 未按 — the choice only of a named vote (a secret vote's record
 * carries none: the server never sends one). 返回 goes back to the waiting screen.
 *
 * The record is asked for over the tablet's authenticated Socket.IO connection
 * (``my_record``, no payload): the server answers for the seat this tablet's key is
 * bound to, never another (docs/records.md).
 *
 *   initRecord({S, ask, say})  bind the 我的履职 and 返回 buttons
 *   closeRecord()              hide the record (kiosk.js: when another screen comes)
 */

let ui = null;
let asked = 0; // counts requests: an answer arriving after 返回 opens nothing

const $ = (id) => document.getElementById(id);

export function initRecord(context) {
  ui = context;
  $("record-open").addEventListener("click", openRecord);
  $("record-back").addEventListener("click", closeRecord);
}

export function closeRecord() {
  asked++;
  const overlay = $("record-overlay");
  if (!overlay || overlay.hidden) return;
  overlay.hidden = true;
  document.body.classList.remove("document-shown");
}

async function openRecord() {
  const mine = ++asked;
  const { S } = ui;
  ui.say(S.t("kiosk.record_loading"), true);
  let answer;
  try {
    answer = await ui.ask("my_record", {});
  } catch (e) {
    if (mine === asked) ui.say(S.problem(e));
    return;
  }
  if (mine !== asked) return;
  if (!answer || !answer.ok) {
    ui.say(S.problem(answer));
    return;
  }
  ui.say("");
  const body = $("record-body");
  body.textContent = "";
  body.appendChild(renderRecord(S, answer.record));
  $("record-overlay").hidden = false;
  $("record-overlay").scrollTop = 0;
  document.body.classList.add("document-shown"); // the screen beneath must not scroll
  $("record-back").focus();
}

function tile(S, label, value) {
  return S.el("div", { class: "k-tile" },
    S.el("span", { class: "k-tile-label" }, label),
    S.el("span", { class: "k-tile-value" }, value === null || value === undefined ? "—" : String(value)));
}

/** The record as a DOM node (exported for the tests of the page). */
export function renderRecord(S, record) {
  const t = S.t;
  const box = S.el("div", { class: "k-record" });
  if (!record || !record.member) {
    box.appendChild(S.el("p", { class: "big" }, t("kiosk.record_none")));
    return box;
  }
  const a = record.attendance;
  box.appendChild(S.el("p", { class: "k-record-who" },
    [record.name, t("kiosk.seat", { seat: record.seat }), record.group].filter(Boolean).join(" · ")));
  box.appendChild(S.el("div", { class: "k-tiles" },
    tile(S, t("term.record.rate"), a.rate === null ? "—" : a.rate + "%"),
    tile(S, t("term.record.present"), a.present),
    tile(S, t("term.record.leave"), a.leave),
    tile(S, t("term.record.absent"), a.absent),
    tile(S, t("term.cast"), record.votes.pressed),
    tile(S, t("term.not_voted"), record.votes.not_pressed)));
  box.appendChild(S.el("p", { class: "muted" }, t("kiosk.record_rule")));
  if (!record.sittings.length) box.appendChild(S.el("p", { class: "big" }, t("kiosk.record_empty")));
  // newest first: the sitting in progress on top
  record.sittings.slice().reverse().forEach((s) => box.appendChild(sittingNode(S, s)));
  box.appendChild(S.el("h2", {}, t("kiosk.record_proposals")));
  if (!record.proposals.length) box.appendChild(S.el("p", { class: "muted" }, t("kiosk.record_no_proposals")));
  record.proposals.forEach((p) => box.appendChild(S.el("p", {}, p.title || "")));
  return box;
}

/** 出席 / 请假 / 缺席: the glossary's word for a sitting's status. */
function statusWord(S, status) {
  if (status === "present") return S.t("term.record.present");
  if (status === "leave") return S.t("term.record.leave");
  return S.t("term.record.absent");
}

function sittingNode(S, s) {
  const t = S.t;
  let status = statusWord(S, s.status);
  if (s.leave_withdrawn) status += " · " + t("term.record.leave_withdrawn");
  const node = S.el("section", { class: "k-record-sitting status-" + s.status },
    S.el("h2", {}, s.date + " " + s.title),
    S.el("p", { class: "k-record-status" }, status));
  if (s.leave_reason) node.appendChild(S.el("p", {}, t("kiosk.record_reason", { reason: s.leave_reason })));
  s.votes.forEach((v) => {
    const pressed = v.pressed ? t("term.cast") : t("term.not_voted");
    const line = S.el("div", { class: "k-record-vote " + (v.pressed ? "pressed" : "not-pressed") },
      S.el("p", { class: "k-record-vote-title" }, v.title),
      S.el("p", { class: "k-record-vote-mark" },
        pressed + " · " + (v.secret ? t("term.secret") : t("term.named"))));
    // Only a named vote has a choice; a secret one has no field to show.
    if (!v.secret && v.choice) line.appendChild(S.el("p", { class: "k-record-choice" },
      t("kiosk.record_choice", { choice: v.choice })));
    node.appendChild(line);
  });
  return node;
}
