/*
 * display.js — the hall display (会场大屏), read from the back of the hall.
 *
 * What it shows is the server's: the state snapshot carries `display` = {stage, vote?,
 * item?, chosen} (voting_server/services/display.py) — the presidium's choice from the
 * console (会标 welcome, 签到情况 sign_in, 议程 agenda, the vote, a result, 黑屏 blank),
 * or, without one, the votes themselves: the open vote, else the last one that ended
 * (its result, or that it was cancelled), else the waiting screen (idle). A vote that
 * opens or closes takes the screen back, here as on the server, so a reload shows the
 * same stage. `display_stage` tells it of a new choice.
 *
 * Every figure and word is large enough to be read 30 m away (static/css/display.css);
 * the result stages are screens.js's per-kind renderers (Screens.renderStage).
 */
(function () {
  "use strict";

  const S = window.Screens;
  const t = S.t;
  const $ = (id) => document.getElementById(id);
  // stage → the section that shows it (idle and sign_in share the attendance figures)
  const SECTIONS = {
    welcome: "welcome", idle: "idle", sign_in: "idle", agenda: "agenda",
    vote: "open", result: "result", cancelled: "cancelled", blank: "blank",
  };
  const ALL_SECTIONS = ["welcome", "idle", "agenda", "open", "result", "cancelled", "blank"];

  const CONNECTION = {
    connecting: t("conn.connecting"), connected: t("conn.connected"), stalled: t("conn.stalled"),
    reconnecting: t("conn.reconnecting"), closed: t("conn.closed"),
  };

  const votes = new Map(); // id → public vote (titles of subjects and candidates, result)
  const reasons = new Map(); // vote id → the reason it was cancelled (from the event)
  let agenda = []; // the sitting's agenda items [{id, position, title, votes}]
  let sitting = null;
  let banner = null; // the sitting's title as the 会标's lines
  let attendance = null;
  let view = { stage: "idle" };
  let openVote = null;
  let stopCountdown = () => {};

  const sio = new window.SioClient({ auth: { body: Number(document.body.dataset.body) } }); // its body's rooms (docs/bodies.md)
  sio.onState((state) => {
    // No badge in the hall: a small dot, only while the display is cut off.
    const cut = state !== "connected";
    $("conn").hidden = !cut;
    $("conn").className = "hall-dot hall-dot-" + state;
    $("conn-text").textContent = cut ? CONNECTION[state] || state : "";
  });
  sio.on("connect", refresh);
  sio.on("attendance", showAttendance);
  sio.on("vote_opened", (vote) => {
    votes.set(vote.id, vote);
    openVote = vote;
    show({ stage: "vote", vote: vote.id }, null);
  });
  sio.on("participation", showParticipation);
  sio.on("vote_closed", (data) => {
    if (openVote && openVote.id === data.vote && view.stage === "vote") {
      stopCountdown();
      $("open-countdown").hidden = false;
      $("open-countdown").textContent = t("counting");
    }
  });
  sio.on("result", (data) => {
    const vote = votes.get(data.vote) || { id: data.vote, title: data.title };
    vote.result = data.result;
    vote.state = "closed";
    votes.set(vote.id, vote);
    if (openVote && openVote.id === data.vote) openVote = null;
    show({ stage: "result", vote: data.vote });
  });
  sio.on("announced", (data) => {
    const vote = votes.get(data.vote);
    if (vote) vote.state = "announced";
    if (view.stage === "result" && view.vote === data.vote) $("result-heading").textContent = headingOf(vote);
  });
  sio.on("vote_cancelled", (data) => {
    reasons.set(data.vote, data.reason || "");
    const vote = votes.get(data.vote);
    if (vote) vote.state = "cancelled";
    if (!openVote || openVote.id !== data.vote) return; // a draft cancelled: nothing on screen changes
    openVote = null;
    show({ stage: "cancelled", vote: data.vote });
  });
  sio.on("display_stage", refresh); // the presidium chose: read the stage and its data again
  sio.on("agenda_changed", refresh);
  sio.connect();

  async function refresh() {
    let answer;
    try {
      answer = await sio.emitWithAck("state", {}, 10000);
    } catch (e) {
      return; // the next connect refreshes again
    }
    if (!answer.ok) return;
    const state = answer.state;
    sitting = state.sitting;
    if (!sitting) {
      agenda = [];
      $("sitting").textContent = document.body.dataset.bodyName;
      show({ stage: "idle" });
      return;
    }
    $("sitting").textContent = t("console.sitting", { body: sitting.body, title: sitting.title });
    agenda = state.agenda || [];
    banner = state.banner || null;
    agenda.forEach((item) => item.votes.forEach((v) => votes.set(v.id, v)));
    openVote = state.open_vote;
    if (openVote) votes.set(openVote.id, openVote);
    showAttendance(state.attendance);
    show(state.display || { stage: openVote ? "vote" : "idle", vote: openVote && openVote.id },
      state.participation);
  }

  /** Put one stage on the screen. */
  function show(next, participation) {
    let stage = SECTIONS[next.stage] ? next.stage : "idle";
    const vote = next.vote ? votes.get(next.vote) : null;
    if (stage === "vote" && !(vote || openVote)) stage = "idle"; // the data is not here (yet)
    if (stage === "result" && !(vote && vote.result)) stage = "idle";
    view = Object.assign({}, next, { stage: stage });
    document.body.dataset.stage = stage;
    if (stage !== "vote") stopCountdown();
    if (stage === "welcome") showWelcome();
    else if (stage === "idle" || stage === "sign_in") showAttendancePanel(stage);
    else if (stage === "agenda") showAgenda(next.item);
    else if (stage === "vote") showOpen(votes.get(next.vote) || openVote, participation);
    else if (stage === "result") showResult(votes.get(next.vote));
    else if (stage === "cancelled") showCancelled(votes.get(next.vote), next.vote);
    ALL_SECTIONS.forEach((s) => {
      $("stage-" + s).hidden = s !== SECTIONS[stage];
    });
  }

  /** 会标: the sitting's title in the lines the server broke it into (…委员会 / 第N次会议). */
  function showWelcome() {
    const title = $("welcome-title");
    title.textContent = "";
    const lines = sitting ? banner || [sitting.title] : [document.body.dataset.bodyName];
    lines.forEach((line) => title.appendChild(S.el("span", { class: "hall-welcome-line" }, line)));
  }

  function showAttendancePanel(stage) {
    const signIn = stage === "sign_in";
    $("stage-idle").classList.toggle("sign-in", signIn);
    if (!sitting) {
      $("idle-title").textContent = t("no_sitting");
      $("idle-sitting").textContent = "";
      return;
    }
    $("idle-title").textContent = signIn ? t("display.sign_in") : t("wait_vote");
    $("idle-sitting").textContent = sitting.title;
  }

  function showAttendance(q) {
    if (!q) return;
    attendance = q;
    $("idle-members").textContent = q.members;
    $("idle-present").textContent = q.present;
    $("idle-absent").textContent = Math.max(0, q.members - q.present);
    const quorum = $("idle-quorum");
    quorum.textContent = "";
    quorum.appendChild(S.el("span", { class: "hall-quorum-need" },
      t("display.quorum", { quorum: t("term.quorum"), n: q.quorum_required })));
    quorum.appendChild(S.el("span", { class: q.quorate ? "hall-quorum-state ok" : "hall-quorum-state short" },
      q.quorate ? t("quorate") : t("display.quorum_short", { n: Math.max(0, q.quorum_required - q.present) })));
    const share = q.members ? Math.min(1, q.present / q.members) : 0;
    $("idle-bar").style.width = (share * 100).toFixed(1) + "%";
    $("idle-bar").classList.toggle("ok", q.quorate);
    $("idle-mark").style.left = (q.members ? (q.quorum_required / q.members) * 100 : 0).toFixed(1) + "%";
    if (openVote && $("open-voted").dataset.vote !== String(openVote.id)) {
      $("open-not-voted").textContent = q.present;
    }
  }

  function showAgenda(itemId) {
    const body = $("agenda-body");
    body.textContent = "";
    const item = agenda.find((i) => i.id === itemId);
    if (item) {
      $("agenda-heading").textContent = t("display.agenda_item", { n: item.position });
      body.appendChild(S.el("p", { class: "hall-agenda-title" }, item.title));
      const vote = item.votes[0]; // the item's explanation (议程说明) comes with its votes
      const about = vote && vote.agenda_item && vote.agenda_item.description;
      if (about) body.appendChild(S.el("p", { class: "hall-agenda-text-more" }, about));
      return;
    }
    $("agenda-heading").textContent = t("display.agenda");
    const list = S.el("ol", { class: "hall-agenda-list" + (agenda.length > 6 ? " dense" : "") });
    agenda.forEach((i) => list.appendChild(S.el("li", null,
      S.el("span", { class: "hall-agenda-n" }, t("display.item_n", { n: i.position })),
      S.el("span", { class: "hall-agenda-text" }, i.title))));
    body.appendChild(list);
  }

  /** 表决 / 票决 / 测评: the act of the vote's kind (the glossary's), else 表决. */
  function actOf(vote) {
    const key = "term.act." + (vote && vote.kind);
    const word = t(key);
    return word === key ? t("term.act") : word;
  }

  function showOpen(vote, participation) {
    openVote = vote;
    $("open-heading").textContent = t("display.in_progress", { act: actOf(vote) });
    $("open-title").textContent = vote.title;
    $("open-voted").textContent = "0";
    $("open-voted").dataset.vote = "";
    $("open-not-voted").textContent = attendance ? attendance.present : "–";
    if (participation) showParticipation(participation);
    stopCountdown();
    stopCountdown = S.countdown($("open-countdown"), vote.closes_at);
  }

  function showParticipation(p) {
    if (!openVote || openVote.id !== p.vote) return;
    $("open-voted").textContent = p.voted;
    $("open-voted").dataset.vote = String(p.vote);
    $("open-not-voted").textContent = p.not_voted;
  }

  function headingOf(vote) {
    return S.resultHeading(vote) + (vote && vote.state === "announced" ? t("heading.announced") : "");
  }

  function showResult(vote) {
    $("result-heading").textContent = headingOf(vote);
    $("result-title").textContent = vote.title || "";
    const body = $("result-body");
    body.textContent = "";
    body.appendChild(S.renderStage(vote, vote.result));
  }

  function showCancelled(vote, id) {
    $("cancelled-title").textContent = vote ? vote.title : "";
    $("cancelled-word").textContent = t("display.cancelled", { act: actOf(vote) });
    const reason = reasons.get(id);
    $("cancelled-reason").textContent = reason ? t("reason", { reason: reason }) : "";
  }
})();
