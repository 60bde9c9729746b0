/*
 * display.js — the hall display (会场大屏), read from the back of the hall.
 *
 * Four stages: idle (应到 / 实到), open (title, 已按 / 未按, countdown), result
 * (the full result table), cancelled. The last result stays on screen until
 * the next vote opens; the vote shown is remembered in sessionStorage so a
 * reload or reconnect of the projector PC shows the same thing again.
 */
(function () {
  "use strict";

  const S = window.Screens;
  const t = S.t;
  const $ = (id) => document.getElementById(id);
  const STAGES = ["idle", "open", "result", "cancelled"];
  const SHOWN = "display-vote"; // sessionStorage key: the vote whose result is on screen

  const votes = new Map(); // id → public vote (titles of subjects and candidates)
  let openVote = null;
  let attendance = null;
  let stopCountdown = () => {};

  function stage(name) {
    STAGES.forEach((s) => {
      $("stage-" + s).hidden = s !== name;
    });
  }

  const sio = new window.SioClient({ auth: { body: Number(document.body.dataset.body) } }); // its body's rooms (docs/bodies.md)
  S.bindConnection(sio, $("conn"));
  sio.on("connect", refresh);
  sio.on("attendance", showAttendance);
  sio.on("vote_opened", (vote) => {
    votes.set(vote.id, vote);
    showOpen(vote, null);
  });
  sio.on("participation", showParticipation);
  sio.on("vote_closed", (data) => {
    if (openVote && openVote.id === data.vote) {
      stopCountdown();
      $("open-countdown").hidden = false;
      $("open-countdown").textContent = t("counting");
    }
  });
  sio.on("result", (data) => showResult(votes.get(data.vote) || { id: data.vote, title: data.title },
    data.result, false));
  sio.on("announced", (data) => {
    if (Number(sessionStorage.getItem(SHOWN)) === data.vote && !$("stage-result").hidden) {
      $("result-heading").textContent = S.resultHeading(votes.get(data.vote)) + t("heading.announced");
    }
  });
  sio.on("vote_cancelled", (data) => {
    const vote = votes.get(data.vote);
    if (!openVote || openVote.id !== data.vote) return; // a draft cancelled: nothing on screen changes
    openVote = null;
    stopCountdown();
    $("cancelled-title").textContent = vote ? vote.title : "";
    $("cancelled-reason").textContent = data.reason ? t("reason", { reason: data.reason }) : "";
    sessionStorage.removeItem(SHOWN);
    stage("cancelled");
  });
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
    if (!state.sitting) {
      $("sitting").textContent = t("app.name");
      $("idle-title").textContent = t("no_sitting");
      stage("idle");
      return;
    }
    $("sitting").textContent = state.sitting.title;
    $("idle-title").textContent = t("wait_vote");
    (state.agenda || []).forEach((item) => item.votes.forEach((v) => votes.set(v.id, v)));
    showAttendance(state.attendance);
    if (state.open_vote) {
      showOpen(state.open_vote, state.participation);
      return;
    }
    openVote = null;
    const shown = votes.get(Number(sessionStorage.getItem(SHOWN)));
    if (shown && shown.result) showResult(shown, shown.result, shown.state === "announced");
    else stage("idle");
  }

  function showAttendance(q) {
    if (!q) return;
    attendance = q;
    $("idle-members").textContent = q.members;
    $("idle-present").textContent = q.present;
    $("idle-quorum").textContent = q.quorate ? t("quorate") : t("not_quorate", { required: q.quorum_required });
    if (openVote && $("open-voted").dataset.vote !== String(openVote.id)) {
      $("open-not-voted").textContent = q.present;
    }
  }

  function showOpen(vote, participation) {
    openVote = vote;
    sessionStorage.setItem(SHOWN, String(vote.id));
    $("open-title").textContent = vote.title;
    $("open-voted").textContent = "0";
    $("open-voted").dataset.vote = "";
    $("open-not-voted").textContent = attendance ? attendance.present : "–";
    if (participation) showParticipation(participation);
    stopCountdown();
    stopCountdown = S.countdown($("open-countdown"), vote.closes_at);
    stage("open");
  }

  function showParticipation(p) {
    if (!openVote || openVote.id !== p.vote) return;
    $("open-voted").textContent = p.voted;
    $("open-voted").dataset.vote = String(p.vote);
    $("open-not-voted").textContent = p.not_voted;
  }

  function showResult(vote, result, announced) {
    openVote = null;
    stopCountdown();
    sessionStorage.setItem(SHOWN, String(vote.id));
    $("result-heading").textContent = S.resultHeading(vote) + (announced ? t("heading.announced") : "");
    $("result-title").textContent = vote.title || "";
    const body = $("result-body");
    body.textContent = "";
    body.appendChild(S.renderResult(vote, result));
    stage("result");
  }
})();
