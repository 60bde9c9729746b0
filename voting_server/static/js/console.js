/*
 * console.js — the presidium console (主席团控制台).
 *
 * The Socket.IO connection is authorized by the staff login's session cookie
 * (sent with the WebSocket handshake); the server checks the role on every
 * event, so the secretariat's read-only view is a convenience, not the guard.
 *
 * The page keeps no state of its own: on every change broadcast it asks the
 * server for a fresh `state` snapshot and redraws, so a console that missed
 * events (reconnect, second operator) always shows the truth.
 */
(function () {
  "use strict";

  const S = window.Screens;
  const el = S.el;
  const $ = (id) => document.getElementById(id);
  const canAct = document.body.dataset.canAct === "true";
  const roster = JSON.parse($("roster").textContent); // [{id, seat, name}]
  const ACK_TIMEOUT_MS = 15000; // closing a large vote counts it before answering

  let snapshot = null;
  let stopCountdown = () => {};

  function say(text, good) {
    $("message").textContent = text || "";
    $("message").className = "message " + (good ? "good" : "bad");
  }

  // --- connection ------------------------------------------------------------------------

  const sio = new window.SioClient({});
  S.bindConnection(sio, $("conn"));
  sio.on("connect", () => {
    say("");
    refresh();
  });
  sio.on("connect_error", (err) => {
    say("无法连接表决系统" + (err && err.message ? "：" + err.message : "") + "。如已退出登录，请重新登录。");
  });
  ["vote_opened", "vote_closed", "result", "vote_cancelled", "announced", "agenda_changed"]
    .forEach((event) => sio.on(event, refresh));
  sio.on("attendance", (q) => {
    const wasQuorate = snapshot && snapshot.attendance ? snapshot.attendance.quorate : null;
    showAttendance(q);
    if (snapshot && snapshot.sitting && wasQuorate !== q.quorate) renderAgenda(snapshot); // 开始表决 on/off
  });
  sio.on("kiosks_changed", refresh);
  sio.on("participation", showParticipation);
  sio.on("live_tally", showLiveTally);
  sio.connect();

  async function refresh() {
    try {
      const answer = await sio.emitWithAck("state", {}, ACK_TIMEOUT_MS);
      if (answer.ok) render(answer.state);
      else say(S.problem(answer));
    } catch (e) {
      if (e.code !== "offline") say(S.problem(e));
    }
  }

  // --- drawing ---------------------------------------------------------------------------

  function render(state) {
    snapshot = state;
    if (!state.sitting) {
      $("sitting-title").textContent = "当前没有进行中的会议";
      $("agenda").textContent = "";
      $("live").hidden = true;
      return;
    }
    $("sitting-title").textContent = state.sitting.body + "　" + state.sitting.title;
    showAttendance(state.attendance);
    showKiosks(state.kiosks);
    renderLive(state);
    renderAgenda(state);
  }

  function showAttendance(q) {
    if (!q) return;
    $("members").textContent = q.members;
    $("present").textContent = q.present;
    $("required").textContent = q.quorum_required;
    const banner = $("quorum");
    if (q.quorate) {
      banner.textContent = "已达到法定人数，可以表决";
      banner.className = "banner banner-good";
    } else {
      banner.textContent = "⚠ 未达到法定人数（实到 " + q.present + "，需 " + q.quorum_required +
        "），不能开始表决";
      banner.className = "banner banner-bad";
    }
    if (snapshot) snapshot.attendance = q;
  }

  /** Enrolled tablets that are not connected: their deputies cannot press (终端离线). */
  function showKiosks(k) {
    const banner = $("kiosks");
    banner.hidden = !k;
    if (!k) return;
    if (!k.enrolled) {
      banner.textContent = "尚无已登记的代表终端";
      banner.className = "banner banner-warn";
    } else if (k.offline.length) {
      const seats = k.offline.slice(0, 30).join("、") + (k.offline.length > 30 ? " 等" : "");
      banner.textContent = "⚠ " + k.offline.length + " 台代表终端未连接（第 " + seats + " 座），" +
        "这些代表无法按键";
      banner.className = "banner banner-bad";
    } else {
      banner.textContent = "代表终端全部在线（" + k.online + " 台）";
      banner.className = "banner banner-good";
    }
  }

  function renderLive(state) {
    const open = state.open_vote;
    stopCountdown();
    $("live").hidden = !open;
    if (!open) return;
    $("live-title").textContent = "正在表决：" + open.title;
    stopCountdown = S.countdown($("live-countdown"), open.closes_at);
    if (state.participation) showParticipation(state.participation);
    else {
      $("live-voted").textContent = "0";
      $("live-not-voted").textContent = state.attendance ? state.attendance.present : "–";
    }
    $("live-breakdown").textContent = "";
    if (state.live) showLiveTally(state.live);
  }

  function showParticipation(p) {
    if (!snapshot || !snapshot.open_vote || snapshot.open_vote.id !== p.vote) return;
    $("live-voted").textContent = p.voted;
    $("live-not-voted").textContent = p.not_voted;
  }

  /** Running counts: named votes whose live-tally policy is `breakdown` only. */
  function showLiveTally(live) {
    if (!snapshot || !snapshot.open_vote || snapshot.open_vote.id !== live.vote || !live.counts) return;
    const vote = snapshot.open_vote;
    const box = $("live-breakdown");
    box.textContent = "";
    const rows = [];
    if (live.counts.votes) {
      Object.keys(live.counts.votes).forEach((id) => {
        rows.push(el("tr", null, el("td", null, S.titleOf(vote, id)),
          el("td", { class: "n" }, live.counts.votes[id] + " 票")));
      });
    } else {
      Object.keys(live.counts).forEach((id) => {
        const c = live.counts[id];
        const text = "yes" in c
          ? "赞成 " + c.yes + "　反对 " + c.no + "　弃权 " + c.abstain
          : "满意 " + c.satisfied + "　基本满意 " + c.basic + "　不满意 " + c.unsatisfied;
        rows.push(el("tr", null, el("td", null, S.titleOf(vote, id)), el("td", null, text)));
      });
    }
    box.appendChild(el("table", { class: "result" }, el("caption", null, "实时计数"),
      el("tbody", null, ...rows)));
  }

  function renderAgenda(state) {
    const box = $("agenda");
    box.textContent = "";
    const rerunOf = new Set();
    state.agenda.forEach((item) => item.votes.forEach((v) => {
      if (v.rerun_of) rerunOf.add(v.rerun_of);
    }));
    const rows = [];
    state.agenda.forEach((item) => {
      if (!item.votes.length) {
        rows.push(el("tr", null, el("td", null, item.position + ". " + item.title),
          el("td", { colspan: "4", class: "muted" }, "无表决事项")));
      }
      item.votes.forEach((vote) => {
        rows.push(el("tr", { "data-vote": vote.id },
          el("td", null, item.position + ". " + item.title),
          el("td", null, vote.title, vote.rerun_of ? el("div", { class: "muted" }, "（重新表决）") : null),
          el("td", null, S.KIND[vote.kind], el("div", { class: "muted" }, vote.secret ? "无记名" : "记名")),
          el("td", { class: "state-" + vote.state }, S.STATE[vote.state] || vote.state),
          el("td", null, actions(vote, state, rerunOf))));
        if (vote.result) {
          rows.push(el("tr", { class: "result-row" },
            el("td", { colspan: "5" }, el("strong", null, S.resultHeading(vote) + "：" + vote.title),
              S.renderResult(vote, vote.result))));
        }
      });
    });
    box.appendChild(el("table", null,
      el("thead", null, el("tr", null, el("th", null, "议程"), el("th", null, "表决事项"),
        el("th", null, "方式"), el("th", null, "状态"), el("th", null, "操作"))),
      el("tbody", null, ...rows)));
  }

  function actions(vote, state, rerunOf) {
    const box = el("div", { class: "vote-actions" });
    if (!canAct) return box;
    const button = (label, cls, handler, disabled, hint) =>
      box.appendChild(el("button", { type: "button", class: cls, onclick: handler, disabled: disabled,
        title: hint || null }, label));
    const anotherOpen = Boolean(state.open_vote) && state.open_vote.id !== vote.id;
    const quorate = state.attendance && state.attendance.quorate;
    if (vote.state === "draft") {
      const hint = anotherOpen ? "另一项表决正在进行" : !quorate ? "未达到法定人数" : null;
      button("开始表决", "primary", () => openVote(vote), Boolean(hint), hint);
      button("取消表决", "", () => cancelVote(vote));
    } else if (vote.state === "open") {
      button("结束表决", "danger", () => closeVote(vote));
      button("取消表决", "", () => cancelVote(vote));
    } else if (vote.state === "closed") {
      button("宣布结果", "primary", () => announce(vote));
    }
    if (["closed", "announced", "cancelled"].indexOf(vote.state) >= 0 && !rerunOf.has(vote.id)) {
      button("重新表决", "", () => rerun(vote));
    }
    return box;
  }

  // --- confirmation dialog ---------------------------------------------------------------

  /** Ask before every action. Resolves {seconds, reason} or null when declined. */
  function ask(text, opts) {
    opts = opts || {};
    const dialog = $("confirm-dialog");
    $("confirm-text").textContent = text;
    $("confirm-seconds-box").hidden = !opts.seconds;
    $("confirm-reason-box").hidden = !opts.reason;
    $("confirm-seconds").value = "";
    $("confirm-reason").value = "";
    $("confirm-error").textContent = "";
    return new Promise((resolve) => {
      const finish = (value) => {
        $("confirm-form").onsubmit = null;
        $("confirm-no").onclick = null;
        dialog.oncancel = null;
        dialog.close();
        resolve(value);
      };
      $("confirm-no").onclick = () => finish(null);
      dialog.oncancel = () => finish(null);
      $("confirm-form").onsubmit = (event) => {
        event.preventDefault();
        const out = {};
        if (opts.seconds && $("confirm-seconds").value !== "") {
          const seconds = Number($("confirm-seconds").value);
          if (!Number.isInteger(seconds) || seconds < 10 || seconds > 7200) {
            $("confirm-error").textContent = "限时须为 10 至 7200 秒的整数，或不填";
            return;
          }
          out.seconds = seconds;
        }
        if (opts.reason) {
          out.reason = $("confirm-reason").value.trim();
          if (!out.reason) {
            $("confirm-error").textContent = "请填写取消原因";
            return;
          }
        }
        finish(out);
      };
      dialog.showModal();
      (opts.reason ? $("confirm-reason") : opts.seconds ? $("confirm-seconds") : $("confirm-yes")).focus();
    });
  }

  async function act(event, payload, done) {
    say("");
    try {
      const answer = await sio.emitWithAck(event, payload, ACK_TIMEOUT_MS);
      if (answer.ok) {
        say(done, true);
        refresh();
      } else say(S.problem(answer));
    } catch (e) {
      say(S.problem(e) + "。请刷新状态核实后再操作。");
      refresh();
    }
  }

  async function openVote(vote) {
    const answer = await ask("开始表决：“" + vote.title + "”？", { seconds: true });
    if (!answer) return;
    const payload = { vote: vote.id };
    if (answer.seconds) payload.duration_s = answer.seconds;
    act("open_vote", payload, "表决已开始");
  }

  async function closeVote(vote) {
    if (!(await ask("结束表决：“" + vote.title + "”？结束后立即计票，不能再按键。"))) return;
    act("close_vote", { vote: vote.id }, "表决已结束");
  }

  async function cancelVote(vote) {
    const answer = await ask("取消表决：“" + vote.title + "”？已按的票全部作废。", { reason: true });
    if (!answer) return;
    act("cancel_vote", { vote: vote.id, reason: answer.reason }, "表决已取消");
  }

  async function rerun(vote) {
    if (!(await ask("重新表决：为“" + vote.title + "”另建一次表决？原表决记录保留。"))) return;
    act("rerun_vote", { vote: vote.id }, "已新建表决，请在议程中开始");
  }

  async function announce(vote) {
    if (!(await ask("宣布表决结果：“" + vote.title + "”？"))) return;
    act("announce", { vote: vote.id }, "已宣布表决结果");
  }

  // --- operator sign-in (代为签到) ---------------------------------------------------------

  /** "5", "4-31", "4,7,9" (also 、，and spaces) → seat numbers; null when malformed. */
  function parseSeats(text) {
    const seats = [];
    const parts = text.trim().split(/[\s,，、]+/).filter(Boolean);
    for (const part of parts) {
      const m = /^(\d{1,5})(?:\s*[-–~～]\s*(\d{1,5}))?$/.exec(part);
      if (!m) return null;
      const from = Number(m[1]);
      const to = m[2] ? Number(m[2]) : from;
      if (to < from || to - from > 5000) return null;
      for (let seat = from; seat <= to; seat++) if (seats.indexOf(seat) < 0) seats.push(seat);
    }
    return seats.length ? seats : null;
  }

  $("operator-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const seats = parseSeats($("operator-seat").value);
    if (!seats) {
      say("请填写座位号，如 5、4-31 或 4,7,9");
      return;
    }
    const unknown = seats.filter((seat) => !roster.some((m) => m.seat === seat));
    if (unknown.length) {
      say("没有第 " + unknown.slice(0, 10).join("、") + " 座");
      return;
    }
    const members = seats.map((seat) => roster.find((m) => m.seat === seat));
    if (members.length === 1) {
      const member = members[0];
      if (!(await ask("为第 " + member.seat + " 座 " + member.name + " 代为签到？"))) return;
      await act("mark_attendance", { member: member.id }, "已为第 " + member.seat + " 座 " + member.name + " 签到");
      $("operator-seat").value = "";
      return;
    }
    if (!(await ask("为 " + members.length + " 位代表代为签到（第 " + seats.join("、") + " 座）？"))) return;
    // One event per member, as for one seat: each sign-in is its own audit entry.
    let done = 0;
    const already = [];
    for (const member of members) {
      let answer;
      try {
        answer = await sio.emitWithAck("mark_attendance", { member: member.id }, ACK_TIMEOUT_MS);
      } catch (e) {
        say(S.problem(e) + "。已签到 " + done + " 人，请核实后再操作。");
        refresh();
        return;
      }
      if (answer.ok) done += 1;
      else if (answer.error === "already_signed_in") already.push(member.seat);
      else {
        say(S.problem(answer) + "（第 " + member.seat + " 座）。已签到 " + done + " 人。");
        refresh();
        return;
      }
    }
    say("已为 " + done + " 位代表代为签到" +
      (already.length ? "；第 " + already.join("、") + " 座此前已签到" : ""), true);
    $("operator-seat").value = "";
    refresh();
  });
})();
