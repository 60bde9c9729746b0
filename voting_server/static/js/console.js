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
  const t = S.t;
  const el = S.el;
  const $ = (id) => document.getElementById(id);
  const canAct = document.body.dataset.canAct === "true";
  const roster = JSON.parse($("roster").textContent); // [{id, seat, name, group, attendee}]
  const ACK_TIMEOUT_MS = 15000; // closing a large vote counts it before answering

  let snapshot = null;
  let stopCountdown = () => {};

  function say(text, good) {
    $("message").textContent = text || "";
    $("message").className = "message " + (good ? "good" : "bad");
  }

  // --- connection ------------------------------------------------------------------------

  const sio = new window.SioClient({ auth: { body: Number(document.body.dataset.body) } }); // its body's rooms (docs/bodies.md)
  S.bindConnection(sio, $("conn"));
  sio.on("connect", () => {
    say("");
    refresh();
  });
  sio.on("connect_error", (err) => {
    const detail = err && err.message ? t("console.connect_error_detail", { message: err.message }) : "";
    say(t("console.connect_error", { error: detail }));
  });
  ["vote_opened", "vote_closed", "result", "vote_cancelled", "announced", "agenda_changed"]
    .forEach((event) => sio.on(event, refresh));
  sio.on("attendance", (q) => {
    const wasQuorate = snapshot && snapshot.attendance ? snapshot.attendance.quorate : null;
    showAttendance(q);
    if (snapshot && snapshot.sitting && wasQuorate !== q.quorate) renderAgenda(snapshot); // 开始表决 on/off
    // 分会场: the per-venue figures come with ``state``; read it again at most every 2 s
    if (snapshot && snapshot.venues && snapshot.venues.length > 1 && !venuesDue) {
      venuesDue = setTimeout(() => { venuesDue = null; refresh(); }, 2000);
    }
  });
  sio.on("kiosks_changed", refresh);
  sio.on("devices_changed", refresh); // a replacement tablet asked, or was decided
  sio.on("participation", showParticipation);
  sio.on("live_tally", showLiveTally);
  sio.connect();

  let venuesDue = null;

  /** Sign-in per venue (分会场), when the tablets stand at more than one. */
  function showVenues(venues) {
    const line = $("venues");
    if (!line) return;
    const named = (venues || []).filter((v) => v.venue);
    line.hidden = named.length === 0;
    if (line.hidden) return;
    line.textContent = venues.map((v) => t("console.venue", {
      venue: v.venue || t("console.venue_none"), present: v.deputies, attendees: v.attendees,
    })).join(" · ");
  }

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
      $("sitting-title").textContent = t("no_sitting");
      $("agenda").textContent = "";
      $("live").hidden = true;
      return;
    }
    $("sitting-title").textContent = t("console.sitting", { body: state.sitting.body, title: state.sitting.title });
    showAttendance(state.attendance);
    showKiosks(state.kiosks);
    showVenues(state.venues);
    showDevices(state.devices);
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
      banner.textContent = t("console.quorate");
      banner.className = "banner banner-good";
    } else {
      banner.textContent = t("console.not_quorate", { present: q.present, required: q.quorum_required });
      banner.className = "banner banner-bad";
    }
    showDelegations(q.by_delegation);
    if (snapshot) snapshot.attendance = q;
  }

  /** 分团签到: 应到 / 实到 per delegation, while the sitting is open (absent without any). */
  function showDelegations(groups) {
    const box = $("delegations");
    box.textContent = "";
    box.hidden = !groups;
    if (!groups) return;
    const rows = groups.map((g) => el("tr", { class: g.present < g.members ? "" : "complete" },
      el("th", { scope: "row" }, g.group === null ? t("console.ungrouped") : g.group),
      el("td", { class: "n" }, String(g.present) + " / " + String(g.members))));
    box.appendChild(el("table", { class: "result delegations" },
      el("caption", null, t("console.by_delegation")),
      el("thead", null, el("tr", null, el("th", null, t("console.delegation")),
        el("th", { class: "n" }, t("console.present_of_members")))),
      el("tbody", null, ...rows)));
  }

  /** A closed named vote's 分团表决情况: the sheet's table, as the server sends it. */
  function breakdownTable(view) {
    return el("table", { class: "result breakdown", "data-testid": "breakdown" },
      el("caption", null, view.title),
      el("thead", null, el("tr", null, ...view.head.map((h, i) => el("th", i ? { class: "n" } : null, h)))),
      el("tbody", null, ...view.rows.map((row) =>
        el("tr", null, ...row.map((cell, i) => el("td", i ? { class: "n" } : null, cell))))));
  }

  /** Enrolled tablets that are not connected: their deputies cannot press (终端离线). */
  function showKiosks(k) {
    const banner = $("kiosks");
    banner.hidden = !k;
    if (!k) return;
    if (!k.enrolled) {
      banner.textContent = t("console.kiosks_none");
      banner.className = "banner banner-warn";
    } else if (k.offline.length) {
      const seats = k.offline.slice(0, 30).join(t("list.sep")) + (k.offline.length > 30 ? t("list.more") : "");
      banner.textContent = t("console.kiosks_offline", { n: k.offline.length, seats: seats });
      banner.className = "banner banner-bad";
    } else {
      banner.textContent = t("console.kiosks_online", { n: k.online });
      banner.className = "banner banner-good";
    }
  }

  /** 北京时间 hh:mm:ss of an ISO instant. */
  function clockTime(iso) {
    return new Date(iso).toLocaleTimeString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" });
  }

  /** Replacement tablets (更换表决器): the requests awaiting the presidium, and the
   * warning of every replacement confirmed in this sitting, until the sitting ends. */
  function showDevices(d) {
    const requests = (d && d.requests) || [];
    const replaced = (d && d.replaced) || [];
    const banner = $("devices-replaced");
    banner.hidden = !replaced.length;
    banner.textContent = replaced.length ? t("console.devices_replaced", {
      list: replaced.map((r) => t("console.device_replaced_item",
        { seat: r.seat, name: r.member || "", time: clockTime(r.decided_at) })).join(t("list.sep")),
    }) : "";
    const box = $("device-requests");
    box.hidden = !requests.length;
    const list = $("device-request-list");
    list.textContent = "";
    requests.forEach((r) => {
      const who = { seat: r.seat, name: r.member || "", time: clockTime(r.requested_at) };
      const buttons = canAct ? [
        el("button", { type: "button", class: "primary", onclick: () => decideDevice(r, true) },
          t("console.confirm_device")),
        el("button", { type: "button", onclick: () => decideDevice(r, false) }, t("console.reject_device")),
      ] : [];
      list.appendChild(el("li", { "data-device": r.device },
        el("span", null, t("console.device_request", who)), " ", ...buttons));
    });
  }

  async function decideDevice(r, confirm) {
    const who = { seat: r.seat, name: r.member || "" };
    if (!(await ask(t(confirm ? "console.ask_confirm_device" : "console.ask_reject_device", who)))) return;
    act(confirm ? "confirm_device" : "reject_device", { device: r.device },
      t(confirm ? "console.done_confirm_device" : "console.done_reject_device", who));
  }

  function renderLive(state) {
    const open = state.open_vote;
    stopCountdown();
    $("live").hidden = !open;
    if (!open) return;
    $("live-title").textContent = t("console.live_title", { title: open.title });
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
          el("td", { class: "n" }, t("console.n_votes", { n: live.counts.votes[id] }))));
      });
    } else {
      Object.keys(live.counts).forEach((id) => {
        const c = live.counts[id];
        const text = "yes" in c ? t("console.live_motion", c) : t("console.live_evaluation", c);
        rows.push(el("tr", null, el("td", null, S.titleOf(vote, id)), el("td", null, text)));
      });
    }
    box.appendChild(el("table", { class: "result" }, el("caption", null, t("console.live_caption")),
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
          el("td", { colspan: "4", class: "muted" }, t("console.no_votes"))));
      }
      item.votes.forEach((vote) => {
        rows.push(el("tr", { "data-vote": vote.id },
          el("td", null, item.position + ". " + item.title),
          el("td", null, vote.title, vote.rerun_of ? el("div", { class: "muted" }, t("console.rerun_mark")) : null),
          el("td", null, S.KIND[vote.kind], el("div", { class: "muted" }, vote.secret ? t("console.secret") : t("console.named"))),
          el("td", { class: "state-" + vote.state }, S.STATE[vote.state] || vote.state),
          el("td", null, actions(vote, state, rerunOf))));
        if (vote.result) {
          rows.push(el("tr", { class: "result-row" },
            el("td", { colspan: "5" }, el("strong", null, t("console.result_of", { heading: S.resultHeading(vote), title: vote.title })),
              S.renderResult(vote, vote.result),
              vote.by_delegation ? breakdownTable(vote.by_delegation) : null)));
        }
      });
    });
    box.appendChild(el("table", null,
      el("thead", null, el("tr", null, el("th", null, t("console.col.item")),
        el("th", null, t("console.col.vote")), el("th", null, t("console.col.kind")),
        el("th", null, t("console.col.state")), el("th", null, t("console.col.actions")))),
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
      const hint = anotherOpen ? t("console.hint.other_open") : !quorate ? t("console.hint.no_quorum") : null;
      button(t("console.open"), "primary", () => openVote(vote), Boolean(hint), hint);
      button(t("console.cancel"), "", () => cancelVote(vote));
    } else if (vote.state === "open") {
      button(t("console.close"), "danger", () => closeVote(vote));
      button(t("console.cancel"), "", () => cancelVote(vote));
    } else if (vote.state === "closed") {
      button(t("console.announce"), "primary", () => announce(vote));
    }
    if (["closed", "announced", "cancelled"].indexOf(vote.state) >= 0 && !rerunOf.has(vote.id)) {
      button(t("console.rerun"), "", () => rerun(vote));
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
            $("confirm-error").textContent = t("console.bad_seconds");
            return;
          }
          out.seconds = seconds;
        }
        if (opts.reason) {
          out.reason = $("confirm-reason").value.trim();
          if (!out.reason) {
            $("confirm-error").textContent = t("console.need_reason");
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
      say(t("console.check_state", { problem: S.problem(e) }));
      refresh();
    }
  }

  async function openVote(vote) {
    const answer = await ask(t("console.ask_open", { title: vote.title }), { seconds: true });
    if (!answer) return;
    const payload = { vote: vote.id };
    if (answer.seconds) payload.duration_s = answer.seconds;
    act("open_vote", payload, t("console.done_open"));
  }

  async function closeVote(vote) {
    if (!(await ask(t("console.ask_close", { title: vote.title })))) return;
    act("close_vote", { vote: vote.id }, t("console.done_close"));
  }

  async function cancelVote(vote) {
    const answer = await ask(t("console.ask_cancel", { title: vote.title }), { reason: true });
    if (!answer) return;
    act("cancel_vote", { vote: vote.id, reason: answer.reason }, t("console.done_cancel"));
  }

  async function rerun(vote) {
    if (!(await ask(t("console.ask_rerun", { title: vote.title })))) return;
    act("rerun_vote", { vote: vote.id }, t("console.done_rerun"));
  }

  async function announce(vote) {
    if (!(await ask(t("console.ask_announce", { title: vote.title })))) return;
    act("announce", { vote: vote.id }, t("console.done_announce"));
  }

  // --- operator sign-in (代为签到) ---------------------------------------------------------

  /** "5", "4-31", "4,7,9" (also 、，and spaces) → seat numbers; null when malformed. */
  function parseSeats(text) {
    const seats = [];
    const parts = text.trim().split(/[\s,\uFF0C\u3001]+/).filter(Boolean);
    for (const part of parts) {
      const m = /^(\d{1,5})(?:\s*[-\u2013~\uFF5E]\s*(\d{1,5}))?$/.exec(part);
      if (!m) return null;
      const from = Number(m[1]);
      const to = m[2] ? Number(m[2]) : from;
      if (to < from || to - from > 5000) return null;
      for (let seat = from; seat <= to; seat++) if (seats.indexOf(seat) < 0) seats.push(seat);
    }
    return seats.length ? seats : null;
  }

  /** 分团签到: a delegation's name → its deputies (列席 attendees belong to none). */
  function delegationMembers(text) {
    const name = text.trim();
    return name ? roster.filter((m) => m.group === name && !m.attendee) : [];
  }

  $("operator-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const group = delegationMembers($("operator-seat").value);
    const seats = group.length ? group.map((m) => m.seat) : parseSeats($("operator-seat").value);
    if (!seats) {
      say(t("console.seats_format"));
      return;
    }
    const unknown = seats.filter((seat) => !roster.some((m) => m.seat === seat));
    if (unknown.length) {
      say(t("console.no_seat", { seat: unknown.slice(0, 10).join(t("list.sep")) }));
      return;
    }
    const members = seats.map((seat) => roster.find((m) => m.seat === seat));
    if (members.length === 1) {
      const who = { seat: members[0].seat, name: members[0].name };
      if (!(await ask(t("console.ask_sign_in", who)))) return;
      await act("mark_attendance", { member: members[0].id }, t("console.done_sign_in", who));
      $("operator-seat").value = "";
      return;
    }
    const many = { n: members.length, seats: seats.join(t("list.sep")) };
    const question = group.length
      ? t("console.ask_sign_in_group", { group: group[0].group, n: members.length })
      : t("console.ask_sign_in_many", many);
    if (!(await ask(question))) return;
    // One event per member, as for one seat: each sign-in is its own audit entry.
    let done = 0;
    const already = [];
    for (const member of members) {
      let answer;
      try {
        answer = await sio.emitWithAck("mark_attendance", { member: member.id }, ACK_TIMEOUT_MS);
      } catch (e) {
        say(t("console.sign_in_stopped", { problem: S.problem(e), done: done }));
        refresh();
        return;
      }
      if (answer.ok) done += 1;
      else if (answer.error === "already_signed_in") already.push(member.seat);
      else {
        say(t("console.sign_in_failed", { problem: S.problem(answer), seat: member.seat, done: done }));
        refresh();
        return;
      }
    }
    say(already.length
      ? t("console.done_sign_in_many_already", { done: done, seats: already.join(t("list.sep")) })
      : t("console.done_sign_in_many", { done: done }), true);
    $("operator-seat").value = "";
    refresh();
  });
})();
