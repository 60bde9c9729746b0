/*
 * console.js — the presidium console (主席团控制台).
 *
 * The Socket.IO connection is authorized by the staff login's session cookie
 * (sent with the WebSocket handshake); the server checks the role on every
 * event, so the secretariat's read-only view is a convenience, not the guard.
 *
 * The page keeps no state of its own: on every change broadcast it asks the
 * server for a fresh `state` snapshot and seat map and redraws, so a console that
 * missed events (reconnect, second operator) always shows the truth. Only what
 * the chair opened (a past result's details) is remembered across redraws.
 */
(function () {
  "use strict";

  const S = window.Screens;
  const t = S.t;
  const el = S.el;
  const $ = (id) => document.getElementById(id);
  const canAct = document.body.dataset.canAct === "true";
  // A glossary word (rules/glossary.py), as the page's strings carry it: term.<key>.
  const word = (key) => t(["term", key].join("."));
  const roster = JSON.parse($("roster").textContent); // [{id, seat, name, group, attendee, presidium}]
  const ACK_TIMEOUT_MS = 15000; // closing a large vote counts it before answering

  let snapshot = null;
  let stopCountdown = () => {};

  function say(text, good) {
    $("message").textContent = text || "";
    $("message").className = "message " + (good ? "good" : "bad");
  }

  // --- connection ------------------------------------------------------------------------

  const sio = new window.SioClient({ auth: { body: Number(document.body.dataset.body) } }); // its body's rooms (docs/bodies.md)
  // Shared with the page's other part, the display control (display_control.js): one
  // connection and one state per console, announced as a "console-state" event.
  const shared = (window.ConsoleConnection = { sio: sio, state: null });
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
  sio.on("seat_signed_in", (d) => { // the seat map, without asking again
    if (!seats || !d || !Array.isArray(d.seats)) return;
    d.seats.forEach((seat) => seats.present.add(seat));
    paintSoon();
  });
  sio.on("live_tally", showLiveTally);
  sio.on("decryption", showDecryption); // a scrutineer's share of a closed trustee-mode vote
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
      const map = await sio.emitWithAck("seat_map", {}, ACK_TIMEOUT_MS);
      if (map.ok) showSeatMap(map.seat_map);
      else say(S.problem(map));
    } catch (e) {
      if (e.code !== "offline") say(S.problem(e));
    }
  }

  // --- drawing ---------------------------------------------------------------------------

  function render(state) {
    snapshot = state;
    shared.state = state;
    document.dispatchEvent(new CustomEvent("console-state", { detail: state }));
    if (!state.sitting) {
      $("sitting-title").textContent = t("no_sitting");
      $("agenda").textContent = "";
      $("live").hidden = true;
      $("after").hidden = true;
      $("idle").hidden = false;
      return;
    }
    $("sitting-title").textContent = t("console.sitting", { body: state.sitting.body, title: state.sitting.title });
    showAttendance(state.attendance);
    showKiosks(state.kiosks);
    showVenues(state.venues);
    showDevices(state.devices);
    renderPanel(state);
    renderAgenda(state);
    paintSeats(); // at once: a vote that closed takes its 已按 off the map before the map's own answer
  }

  function showAttendance(q) {
    if (!q) return;
    $("members").textContent = q.members;
    $("present").textContent = q.present;
    $("absent").textContent = Math.max(0, q.members - q.present);
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
        el("th", { class: "n" }, t("console.present_of_members", { present: word("present"), members: word("members") })))),
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

  // --- the live panel (现场面板) -------------------------------------------------------

  /** The panel: the open vote (已按 / 未按, countdown, 结束表决 / 取消表决); else a
   * trustee-mode vote closed after the last result and awaiting its scrutineers
   * (等待监票人解密, with the paper fallback); else the last result with its read-aloud
   * line (宣读稿); else idle. */
  function renderPanel(state) {
    const open = state.open_vote;
    stopCountdown();
    $("live").hidden = !open;
    $("panel").classList.toggle("panel-open", Boolean(open));
    let last = open ? null : lastResult(state);
    let waiting = open ? null : awaitingVote(state);
    // the later of the two leads; a vote still waiting behind a later result keeps its
    // line and its 改为人工计票 in the agenda
    if (waiting && last) {
      if (last.id > waiting.id) waiting = null;
      else last = null;
    }
    showAwaiting(waiting);
    $("after").hidden = !last;
    $("idle").hidden = Boolean(open || last || waiting);
    if (open) {
      $("live-title").textContent = open.title;
      stopCountdown = S.countdown($("live-countdown"), open.closes_at);
      if (state.participation) showParticipation(state.participation);
      else { // not told to this role (the secretariat): unknown, not zero
        $("live-voted").textContent = "–";
        $("live-not-voted").textContent = "–";
      }
      if ($("live-close")) {
        $("live-close").onclick = () => closeVote(open);
        $("live-cancel").onclick = () => cancelVote(open);
      }
    }
    $("live-breakdown").textContent = "";
    if (open && state.live) showLiveTally(state.live);
    if (last) {
      $("after-state").textContent = S.STATE[last.state] || last.state;
      $("after-heading").textContent = t("console.result_of", { heading: S.resultHeading(last), title: last.title });
      $("read-aloud").textContent = readAloud(last, last.result).trim();
      const announce = $("after-announce");
      if (announce) {
        announce.hidden = last.state !== "closed";
        announce.onclick = () => announceVote(last);
      }
    }
  }

  /** A closed trustee-mode vote without its result: k scrutineers have not decrypted yet. */
  const isAwaiting = (v) => v.state === "closed" && !v.result && Boolean(v.decryption && v.decryption.awaiting);

  /** The latest vote awaiting decryption, or null. */
  function awaitingVote(state) {
    let found = null;
    state.agenda.forEach((item) => item.votes.forEach((v) => {
      if (isAwaiting(v) && (!found || v.id > found.id)) found = v;
    }));
    return found;
  }

  /** 等待监票人解密（已有 x / 需要 k 名）, what the scrutineers do, and 改为人工计票. */
  function showAwaiting(vote) {
    const box = $("awaiting");
    box.hidden = !vote;
    box.dataset.vote = vote ? vote.id : "";
    if (!vote) return;
    const d = vote.decryption;
    const n = vote.trustees ? vote.trustees.n : d.k;
    $("awaiting-title").textContent = vote.title;
    $("awaiting-count").textContent = t("console.awaiting", { shares: d.shares, k: d.k });
    $("awaiting-help").textContent = t("console.awaiting_help", { n: n, k: d.k });
    if ($("awaiting-paper")) $("awaiting-paper").onclick = () => paperFallback(vote);
  }

  /** A scrutineer's share came in: the figure at once, then the server's state (whose
   * vote carries the same figure, or the result once k shares are in). */
  function showDecryption(d) {
    if (!snapshot || !snapshot.agenda || !d) return;
    snapshot.agenda.forEach((item) => item.votes.forEach((v) => {
      if (v.id === d.vote && v.decryption) v.decryption = { shares: d.shares, k: d.k, awaiting: d.awaiting };
    }));
    if (snapshot.sitting && !snapshot.open_vote) {
      renderPanel(snapshot);
      renderAgenda(snapshot);
    }
    refresh();
  }

  /** The vote counted last (the highest id with a result: a re-run comes after its vote). */
  function lastResult(state) {
    let last = null;
    state.agenda.forEach((item) => item.votes.forEach((v) => {
      if (v.result && (v.state === "closed" || v.state === "announced") && (!last || v.id > last.id)) last = v;
    }));
    return last;
  }

  function showParticipation(p) {
    if (!snapshot || !snapshot.open_vote || snapshot.open_vote.id !== p.vote) return;
    $("live-voted").textContent = p.voted;
    $("live-not-voted").textContent = p.not_voted;
    if (seats && p.voted_seats) {
      seats.vote = p.vote;
      seats.pressed = new Set(p.voted_seats);
      paintSoon();
    }
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
        const marks = "yes" in c ? ["yes", "no", "abstain"] : ["satisfied", "basic", "unsatisfied"];
        const text = marks.map((m) => t("console.live_count", { word: word("mark." + m), n: c[m] }))
          .join(t("console.live_sep"));
        rows.push(el("tr", null, el("td", null, S.titleOf(vote, id)), el("td", null, text)));
      });
    }
    box.appendChild(el("table", { class: "result" }, el("caption", null, t("console.live_caption")),
      el("tbody", null, ...rows)));
  }

  // --- the read-aloud line (宣读稿) ------------------------------------------------------
  // Built from the result and the glossary's words (term.*), so that what the chair reads
  // says what the hall display and the sheet say.

  const people = (key, n) => t("console.read.people", { word: word(key), n: n });
  const votes = (key, n) => t("console.read.votes", { word: word(key), n: n });
  // One sentence of the line; the sentences follow each other ("。" in Chinese, ". " in English).
  const sentence = (parts) => t("console.read.sentence", { text: parts.filter(Boolean).join(t("console.read.sep")) });

  function readAloud(vote, r) {
    if (!r) return "";
    const head = [t("console.read.sitting") + people("members", r.members), people("present", r.present)];
    if (r.void || r.quorum === false) {
      return sentence([...head, r.void ? t("result.void") : t("result.no_quorum")]);
    }
    if (r.selection) return readSelection(vote, r, head);
    const ids = Object.keys(r.subjects || {});
    const first = ids.length ? r.subjects[ids[0]] : null;
    if (first && "yes" in first) {
      const counts = (s) => [votes("mark.yes", s.yes), votes("mark.no", s.no), votes("mark.abstain", s.abstain),
        s.invalid ? votes("col.invalid", s.invalid) : null];
      const verdict = (s) => word(s.passed ? "verdict.passed" : "verdict.failed");
      if (ids.length === 1) {
        return sentence([...head, ...counts(first), people("not_voted", r.not_voted), verdict(first)]);
      }
      return sentence([...head, people("not_voted", r.not_voted)]) + ids.map((id) =>
        t("console.read.subject", { title: S.titleOf(vote, id) }) +
        sentence([...counts(r.subjects[id]), verdict(r.subjects[id])])).join("");
    }
    if (first && "satisfied" in first) {
      return sentence([...head, people("cast", r.cast)]) + ids.map((id) => {
        const s = r.subjects[id];
        const parts = [votes("mark.satisfied", s.satisfied), votes("mark.basic", s.basic),
          votes("mark.unsatisfied", s.unsatisfied), s.invalid ? votes("col.invalid", s.invalid) : null];
        if (s.satisfaction_rate !== null && s.satisfaction_rate !== undefined) {
          parts.push(t("console.read.rate", { word: word("col.rate"), rate: s.satisfaction_rate + "%" }));
        }
        // 满意 / 不满意, or a grade of the three (满意 / 基本满意 / 不满意)
        if (s.outcome) {
          parts.push(t("console.read.outcome", { word: word("result.evaluation"), verdict: word("verdict." + s.outcome) }));
        }
        if (s.rank !== null && s.rank !== undefined) parts.push(t("console.read.rank", { n: s.rank }));
        return t("console.read.subject", { title: S.titleOf(vote, id) }) + sentence(parts);
      }).join("") + ("overall_rate" in r && r.overall_rate !== null
        ? sentence([t("console.read.rate", { word: word("overall_rate"), rate: r.overall_rate + "%" })]) : "");
    }
    if (first && "mean" in first) { // 现场打分
      return sentence([...head, people("cast", r.cast)]) + ids.map((id) => {
        const s = r.subjects[id];
        const parts = [votes("col.valid", s.valid), s.invalid ? votes("col.invalid", s.invalid) : null,
          t("console.read.mean", { word: word("col.mean"), mean: s.mean === null ? "—" : s.mean })];
        if (s.outcome) {
          parts.push(t("console.read.outcome", { word: word("result.evaluation"), verdict: word("verdict." + s.outcome) }));
        }
        if (s.rank !== null && s.rank !== undefined) parts.push(t("console.read.rank", { n: s.rank }));
        return t("console.read.subject", { title: S.titleOf(vote, id) }) + sentence(parts);
      }).join("");
    }
    return sentence([...head, people("cast", r.cast), people("not_voted", r.not_voted)]);
  }

  function readSelection(vote, r, head) {
    const sel = r.selection;
    const listOf = (ids) => ids.map((id) => t("console.read.candidate",
      { title: S.titleOf(vote, id), n: sel.votes[id] || 0 })).join(t("list.sep"));
    let out = sentence([...head, people("cast", r.cast), people("not_voted", r.not_voted)]);
    out += sentence([t("console.read.selected", { word: word("verdict.selected"), n: sel.selected.length,
      list: sel.selected.length ? listOf(sel.selected) : t("console.read.none") })]);
    const runoff = (sel.runoff && sel.runoff.candidates) || [];
    if (runoff.length) out += sentence([t("console.read.runoff", { word: word("verdict.runoff"), list: listOf(runoff) })]);
    if (sel.unfilled) out += sentence([t("sel.unfilled", { n: sel.unfilled })]);
    return out;
  }

  /** Copy the read-aloud line; without the clipboard API (plain HTTP on the LAN), by selection. */
  async function copyReadAloud() {
    const node = $("read-aloud");
    try {
      if (!navigator.clipboard) throw new Error("no clipboard");
      await navigator.clipboard.writeText(node.textContent);
    } catch (e) {
      const range = document.createRange();
      range.selectNodeContents(node);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      if (!document.execCommand("copy")) {
        say(t("console.copy_select"), true);
        return;
      }
    }
    say(t("console.copied"), true);
  }
  $("read-copy").addEventListener("click", copyReadAloud);

  // --- the seat map (座位图) and its lists ------------------------------------------------
  // Drawn once from the roster; coloured from the server's lists (seat_map), then kept
  // up to date by seat_signed_in and participation (已按 seats) without asking again.

  const seatCells = new Map(); // seat → its cell
  const rosterBySeat = new Map(roster.map((m) => [m.seat, m]));
  let seats = null; // {present, tablets, offline, pressed: Set of seats; vote}
  let paintDue = false;

  function buildSeatMap() {
    const box = $("seat-map");
    box.textContent = "";
    const groups = [];
    const byName = new Map();
    const grouped = roster.some((m) => m.group);
    roster.forEach((m) => {
      const name = m.attendee ? "\u0000attendee" : (m.group || "");
      if (!byName.has(name)) {
        byName.set(name, []);
        groups.push(name);
      }
      byName.get(name).push(m);
    });
    groups.forEach((name) => {
      const cells = byName.get(name).map((m) => {
        const cell = el("span", { class: "seat absent" + (m.attendee ? " attendee" : ""), "data-seat": m.seat }, m.seat);
        seatCells.set(m.seat, cell);
        return cell;
      });
      const label = name === "\u0000attendee" ? word("attendee") : name || (grouped ? t("console.ungrouped") : null);
      box.appendChild(el("div", { class: "seat-group" }, label ? el("div", { class: "seat-group-name" }, label) : null,
        el("div", { class: "seat-row" }, ...cells)));
    });
  }
  buildSeatMap();

  function paintSoon() {
    if (paintDue) return;
    paintDue = true;
    requestAnimationFrame(() => {
      paintDue = false;
      paintSeats();
    });
  }

  function paintSeats() {
    if (!seats) return;
    const open = snapshot && snapshot.open_vote;
    const pressedShown = Boolean(open) && seats.vote === open.id;
    seatCells.forEach((cell, seat) => {
      const m = rosterBySeat.get(seat);
      const present = seats.present.has(seat);
      const pressed = pressedShown && seats.pressed.has(seat);
      const offline = seats.offline.has(seat);
      const state = pressed ? "pressed" : present ? "present" : "absent";
      cell.className = "seat " + state + (m.attendee ? " attendee" : "") + (offline ? " offline" : "");
      const status = [t(pressed ? "term.cast" : present ? "console.seat_present" : "console.seat_absent")];
      if (offline) status.push(t("console.seat_offline"));
      if (m.attendee) status.push(word("attendee"));
      cell.title = t("console.seat_title", { seat: seat, name: m.name, status: status.join(t("list.sep")) });
    });
    const absent = roster.filter((m) => !seats.present.has(m.seat));
    const deputiesAbsent = absent.filter((m) => !m.attendee);
    fillList($("absent-list"), [...deputiesAbsent, ...absent.filter((m) => m.attendee)]);
    $("absent-count").textContent = t("console.n_people", { n: deputiesAbsent.length });
    const notPressedBox = $("not-pressed-box");
    notPressedBox.hidden = !pressedShown;
    if (pressedShown) {
      const inElectorate = (m) => !m.attendee && (open.electorate !== "presidium" || m.presidium);
      const waiting = roster.filter((m) => inElectorate(m) && seats.present.has(m.seat) && !seats.pressed.has(m.seat));
      fillList($("not-pressed-list"), waiting);
      $("not-pressed-count").textContent = t("console.n_people", { n: waiting.length });
    }
    const offline = roster.filter((m) => seats.offline.has(m.seat));
    $("offline-box").hidden = !offline.length;
    fillList($("offline-list"), offline);
    $("offline-count").textContent = t("console.n_people", { n: offline.length });
  }

  const LIST_MAX = 300; // a list longer than this names the first ones and says how many more

  function fillList(node, members) {
    node.textContent = "";
    if (!members.length) {
      node.appendChild(el("span", { class: "muted" }, t("console.list_none")));
      return;
    }
    members.slice(0, LIST_MAX).forEach((m) => {
      node.appendChild(el("span", { class: "who", "data-seat": m.seat },
        t("console.seat_who", { seat: m.seat, name: m.name }) + (m.attendee ? t("console.attendee_mark", { word: word("attendee") }) : "")));
    });
    if (members.length > LIST_MAX) {
      node.appendChild(el("span", { class: "muted" }, t("console.list_more", { n: members.length - LIST_MAX })));
    }
  }

  function showSeatMap(map) {
    if (!map) {
      seats = null;
      return;
    }
    seats = {
      present: new Set(map.present), tablets: new Set(map.tablets), offline: new Set(map.offline),
      pressed: new Set(map.pressed), vote: map.vote,
    };
    paintSeats();
  }

  // --- the agenda: past votes collapsed ---------------------------------------------------

  /** A result in a row of its own, collapsed: its summary line names the outcome. */
  const expanded = new Set(); // votes whose result the chair opened: kept open on redraw

  function resultRow(vote) {
    const details = el("details", { class: "past-result", open: expanded.has(vote.id),
      ontoggle: (event) => (event.target.open ? expanded.add(vote.id) : expanded.delete(vote.id)) },
      el("summary", null, t("console.result_of", { heading: S.resultHeading(vote), title: vote.title }),
        el("span", { class: "verdict-line" }, shortVerdict(vote.result))),
      el("p", { class: "read-aloud small" }, readAloud(vote, vote.result).trim()),
      S.renderResult(vote, vote.result),
      vote.by_delegation ? breakdownTable(vote.by_delegation) : null);
    return el("tr", { class: "result-row" }, el("td", { colspan: "4" }, details));
  }

  /** The outcome in a few words for a collapsed result (通过 / 未通过 per subject, 入选 N 项). */
  function shortVerdict(r) {
    if (!r) return "";
    if (r.void) return word("verdict.void");
    if (r.selection) return t("console.n_selected", { word: word("verdict.selected"), n: r.selection.selected.length });
    const subjects = Object.values(r.subjects || {});
    if (subjects.length && "passed" in subjects[0]) {
      return subjects.map((s) => word(s.passed ? "verdict.passed" : "verdict.failed")).join(t("list.sep"));
    }
    return "";
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
      const itemLine = el("div", { class: "item-line" }, t("console.item_line", { n: item.position, title: item.title }));
      if (!item.votes.length) {
        rows.push(el("tr", null, el("td", null, itemLine),
          el("td", { colspan: "3", class: "muted" }, t("console.no_votes"))));
      }
      item.votes.forEach((vote) => {
        rows.push(el("tr", { "data-vote": vote.id, class: vote.state === "open" ? "row-open" : null },
          el("td", null, itemLine.cloneNode(true), el("div", { class: "vote-title" }, vote.title),
            vote.rerun_of ? el("div", { class: "muted" }, t("console.rerun_mark")) : null),
          el("td", { class: "kind" }, S.KIND[vote.kind], el("div", { class: "muted" }, word(vote.secret ? "secret" : "named"))),
          el("td", { class: "state state-" + vote.state },
            isAwaiting(vote) ? t("console.state_awaiting") : S.STATE[vote.state] || vote.state,
            isAwaiting(vote) ? el("div", { class: "awaiting-line" }, t("console.awaiting_short",
              { shares: vote.decryption.shares, k: vote.decryption.k })) : null),
          el("td", null, actions(vote, state, rerunOf))));
        if (vote.result) rows.push(resultRow(vote));
      });
    });
    box.appendChild(el("table", { class: "agenda" },
      el("thead", null, el("tr", null, el("th", null, t("console.col.vote")),
        el("th", null, t("console.col.kind")), el("th", null, t("console.col.state")),
        el("th", null, t("console.col.actions")))),
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
      // never opened: 撤回 (withdraw), not 取消表决 — nobody has pressed (lifecycle draft → cancelled)
      button(t("console.withdraw"), "", () => withdrawVote(vote));
    } else if (vote.state === "open") {
      button(t("console.close"), "danger", () => closeVote(vote));
      button(t("console.cancel"), "", () => cancelVote(vote));
    } else if (isAwaiting(vote)) { // no result to announce: k scrutineers, or paper
      button(t("console.paper_fallback"), "", () => paperFallback(vote));
    } else if (vote.state === "closed") {
      button(t("console.announce"), "primary", () => announceVote(vote));
    }
    if (["closed", "announced", "cancelled"].indexOf(vote.state) >= 0 && !rerunOf.has(vote.id)) {
      button(t("console.rerun"), "", () => rerun(vote));
    }
    return box;
  }

  // --- confirmation dialog ---------------------------------------------------------------

  const COUNTDOWN_MIN_S = 10;
  const COUNTDOWN_MAX_S = 7200; // bounds.py DURATION_S: the server refuses anything else

  /** A whole number typed in a field ("" → 0); null if anything but ASCII digits. */
  function digits(text) {
    const v = text.trim();
    if (v === "") return 0;
    return /^[0-9]{1,5}$/.test(v) ? Number(v) : null;
  }

  /** The countdown chosen in the dialog: seconds, null (none), or an error message. */
  function chosenCountdown() {
    const chosen = document.querySelector("input[name=countdown]:checked");
    const value = chosen ? chosen.value : "";
    if (value === "") return { seconds: null };
    if (value !== "custom") return { seconds: Number(value) };
    const minutes = digits($("confirm-minutes").value);
    const secs = digits($("confirm-seconds").value);
    if (minutes === null || secs === null) return { error: t("console.bad_countdown") };
    const total = minutes * 60 + secs;
    if (total < COUNTDOWN_MIN_S || total > COUNTDOWN_MAX_S) return { error: t("console.bad_countdown") };
    return { seconds: total };
  }

  // Typing a time chooses 自定义.
  ["confirm-minutes", "confirm-seconds"].forEach((id) => $(id).addEventListener("input", () => {
    $("countdown-custom").checked = true;
  }));

  /** Ask before every action. Resolves {seconds, reason} or null when declined.
   * opts.seconds: offer the countdown; opts.reason: ask for a reason (opts.reasonLabel,
   * opts.needReason: its label and the message when it is left empty; opts.reasonText:
   * a reason written in advance, which the chair may change). */
  function ask(text, opts) {
    opts = opts || {};
    const dialog = $("confirm-dialog");
    $("confirm-text").textContent = text;
    $("confirm-seconds-box").hidden = !opts.seconds;
    $("confirm-reason-box").hidden = !opts.reason;
    $("confirm-reason-label").textContent = opts.reasonLabel || t("console.reason_cancel");
    document.querySelector("input[name=countdown][value='']").checked = true;
    $("confirm-minutes").value = "";
    $("confirm-seconds").value = "";
    $("confirm-reason").value = opts.reasonText || "";
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
        if (opts.seconds) {
          const countdown = chosenCountdown();
          if (countdown.error) {
            $("confirm-error").textContent = countdown.error;
            return;
          }
          if (countdown.seconds) out.seconds = countdown.seconds;
        }
        if (opts.reason) {
          out.reason = $("confirm-reason").value.trim();
          if (!out.reason) {
            $("confirm-error").textContent = opts.needReason || t("console.need_reason");
            return;
          }
        }
        finish(out);
      };
      dialog.showModal();
      (opts.reason ? $("confirm-reason") : $("confirm-yes")).focus();
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

  /** 改为人工计票: a trustee-mode vote closed that fewer than k scrutineers can decrypt is
   * cancelled with a reason (rules/lifecycle.py cancellable), so that the secretariat can
   * enter the paper count (docs/results.md). Its encrypted ballots are never counted. */
  async function paperFallback(vote) {
    const k = vote.decryption ? vote.decryption.k : "";
    const answer = await ask(t("console.ask_paper_fallback", { title: vote.title }), {
      reason: true, reasonLabel: t("console.reason_paper_fallback"),
      reasonText: t("console.paper_fallback_reason", { k: k }),
    });
    if (!answer) return;
    act("cancel_vote", { vote: vote.id, reason: answer.reason }, t("console.done_paper_fallback"));
  }

  /** 撤回: a vote never opened leaves the agenda (the lifecycle's draft → cancelled, with
   * its reason in the log like any cancellation). */
  async function withdrawVote(vote) {
    const answer = await ask(t("console.ask_withdraw", { title: vote.title }), {
      reason: true, reasonLabel: t("console.reason_withdraw"), needReason: t("console.need_withdraw_reason"),
    });
    if (!answer) return;
    act("cancel_vote", { vote: vote.id, reason: answer.reason }, t("console.done_withdraw"));
  }

  async function rerun(vote) {
    if (!(await ask(t("console.ask_rerun", { title: vote.title })))) return;
    act("rerun_vote", { vote: vote.id }, t("console.done_rerun"));
  }

  async function announceVote(vote) {
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
