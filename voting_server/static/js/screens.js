/*
 * screens.js — what the kiosk, the presidium console and the hall display
 * share: the page's strings, the connection badge, refusal messages, the
 * countdown, and the result tables (CONTRACTS.md §2 result format).
 *
 * Plain DOM, no framework: these pages must run offline on the hall LAN and
 * be easy to audit. Every string a deputy or staff member reads comes from
 * the server in the page's language (voting_server/i18n.py, <script id="i18n">):
 * Chinese by default, English on request. No script holds a string of its own.
 */
(function (global) {
  "use strict";

  const stringsNode = document.getElementById("i18n");
  const I18N = stringsNode ? JSON.parse(stringsNode.textContent) : {};

  /** The page's string for key, with %(name)s filled from vars; the key itself if unknown. */
  function t(key, vars) {
    const text = Object.prototype.hasOwnProperty.call(I18N, key) ? I18N[key] : key;
    if (!vars) return text;
    return text.replace(/%\((\w+)\)s/g, (whole, name) =>
      Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : whole);
  }

  const byPrefix = (prefix, ids) => {
    const out = {};
    ids.forEach((id) => {
      out[id] = t(prefix + id);
    });
    return out;
  };
  // The names of the vote kinds: one "kind.<name>" string per kind registered on the
  // server (rules/kinds), so a kind added there is named here without a change.
  const KIND = {};
  Object.keys(I18N).forEach((key) => {
    if (key.indexOf("kind.") === 0) KIND[key.slice(5)] = I18N[key];
  });
  const STATE = byPrefix("state.", ["draft", "open", "closed", "cancelled", "announced"]);
  const MOTION_MARKS = [
    { id: "yes", label: t("mark.yes"), cls: "yes" },
    { id: "no", label: t("mark.no"), cls: "no" },
    { id: "abstain", label: t("mark.abstain"), cls: "abstain" },
  ];
  const EVALUATION_MARKS = [
    { id: "satisfied", label: t("mark.satisfied"), cls: "yes" },
    { id: "basic", label: t("mark.basic"), cls: "abstain" },
    { id: "unsatisfied", label: t("mark.unsatisfied"), cls: "no" },
  ];
  const CONNECTION = byPrefix("conn.", ["connecting", "connected", "stalled", "reconnecting", "closed"]);

  /** Create an element: el("td", {class: "n"}, "text", child, …). Text is never parsed as HTML. */
  function el(tag, attrs) {
    const node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach((k) => {
        if (attrs[k] === null || attrs[k] === undefined || attrs[k] === false) return;
        if (k === "class") node.className = attrs[k];
        else if (k === "text") node.textContent = attrs[k];
        else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), attrs[k]);
        else node.setAttribute(k, attrs[k] === true ? "" : attrs[k]);
      });
    }
    for (let i = 2; i < arguments.length; i++) {
      const child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** Show the connection state in a badge; the state is always visible. */
  function bindConnection(sio, badge) {
    sio.onState((state) => {
      badge.textContent = CONNECTION[state] || state;
      badge.className = "conn conn-" + state;
    });
  }

  /** The message of a refusal (in the connection's language) or of a failed emitWithAck. */
  function problem(answerOrError) {
    if (!answerOrError) return t("problem.generic");
    if (answerOrError.message && answerOrError.ok === false) {
      return answerOrError.message + (answerOrError.detail ? t("detail", { detail: answerOrError.detail }) : "");
    }
    if (answerOrError.code === "offline") return t("problem.offline");
    if (answerOrError.code === "timeout") return t("problem.timeout");
    if (answerOrError.code === "disconnected") return t("problem.disconnected");
    return t("problem.generic");
  }

  // The server's clock, as rendered into the page (data-server-now, ms since
  // the epoch): countdowns follow the server's deadline, not a tablet's clock.
  const serverNow = Number(document.body && document.body.dataset.serverNow);
  const clockOffset = serverNow ? serverNow - Date.now() : 0;

  /** Milliseconds left until an ISO deadline, by the server's clock; null without one. */
  function remainingMs(closesAt) {
    if (!closesAt) return null;
    return Math.max(0, Date.parse(closesAt) - (Date.now() + clockOffset));
  }

  function formatRemaining(ms) {
    const s = Math.ceil(ms / 1000);
    const mm = String(Math.floor(s / 60)).padStart(2, "0");
    const ss = String(s % 60).padStart(2, "0");
    return mm + ":" + ss;
  }

  /** Tick a countdown into node every 250 ms; returns a function that stops it. */
  function countdown(node, closesAt) {
    if (!closesAt) {
      node.textContent = "";
      node.hidden = true;
      return () => {};
    }
    node.hidden = false;
    const tick = () => {
      const left = remainingMs(closesAt);
      node.textContent = left > 0 ? t("countdown.left", { time: formatRemaining(left) }) : t("countdown.over");
    };
    tick();
    const timer = setInterval(tick, 250);
    return () => clearInterval(timer);
  }

  function titleOf(vote, id) {
    const list = (vote && (vote.subjects || vote.candidates)) || [];
    const found = list.find((o) => o.id === id);
    return found ? found.title : id;
  }

  // --- results (CONTRACTS.md §2) ---------------------------------------------------------

  function summaryRow(result) {
    const cell = (label, value) =>
      el("div", { class: "figure" }, el("span", { class: "figure-label" }, label),
        el("span", { class: "figure-value" }, value));
    return el("div", { class: "figures" },
      cell(t("fig.members"), result.members), cell(t("fig.present"), result.present),
      cell(t("fig.cast"), result.cast), cell(t("fig.not_voted"), result.not_voted));
  }

  function outcomeBanner(result) {
    if (result.void) {
      return el("p", { class: "banner banner-bad" },
        t("result.void") + (result.reason ? t("detail", { detail: result.reason }) : ""));
    }
    if (result.quorum === false) {
      return el("p", { class: "banner banner-bad" }, t("result.no_quorum"));
    }
    return null;
  }

  function motionTable(vote, result) {
    const anyInvalid = Object.values(result.subjects).some((s) => s.invalid);
    const head = el("tr", null, el("th", null, t("col.subject")), el("th", { class: "n" }, t("mark.yes")),
      el("th", { class: "n" }, t("mark.no")), el("th", { class: "n" }, t("mark.abstain")),
      anyInvalid ? el("th", { class: "n" }, t("col.invalid")) : null,
      el("th", { class: "n" }, t("col.required")), el("th", null, t("col.result")));
    const rows = Object.keys(result.subjects).map((id) => {
      const s = result.subjects[id];
      return el("tr", null, el("td", null, titleOf(vote, id)),
        el("td", { class: "n yes-text" }, s.yes), el("td", { class: "n no-text" }, s.no),
        el("td", { class: "n abstain-text" }, s.abstain),
        anyInvalid ? el("td", { class: "n" }, s.invalid) : null,
        el("td", { class: "n" }, s.required),
        el("td", { class: s.passed ? "verdict pass" : "verdict fail" },
          s.passed ? t("verdict.passed") : t("verdict.failed")));
    });
    return el("table", { class: "result" }, el("thead", null, head), el("tbody", null, ...rows));
  }

  /** The candidates in ballot order, each with its ballot number (序号: its place on the
   * ballot, 1, 2, 3 …, not its rank); a counted id the vote does not list comes last. */
  function ballotOrder(vote, sel) {
    const order = (vote.candidates || []).map((c) => c.id);
    Object.keys(sel.votes).forEach((id) => {
      if (order.indexOf(id) < 0) order.push(id);
    });
    return order.map((id, i) => ({ id: id, number: i + 1 }));
  }

  /** 入选 / 须再次投票 / 未入选 of a candidate: [word, class]. */
  function selectionVerdict(sel, id) {
    const runoff = (sel.runoff && sel.runoff.candidates) || [];
    if (sel.selected.indexOf(id) >= 0) return [t("term.verdict.selected"), "pass"];
    if (runoff.indexOf(id) >= 0) return [t("term.verdict.runoff"), "warn"];
    return [t("term.verdict.not_selected"), ""];
  }

  function selectionTable(vote, result) {
    const sel = result.selection;
    const runoff = (sel.runoff && sel.runoff.candidates) || [];
    const rows = ballotOrder(vote, sel).map((c) => {
      const [word, cls] = selectionVerdict(sel, c.id);
      return el("tr", null, el("td", { class: "n" }, c.number), el("td", null, titleOf(vote, c.id)),
        el("td", { class: "n" }, sel.votes[c.id] || 0), el("td", { class: "verdict " + cls }, word));
    });
    const notes = [
      t("sel.summary", { seats: vote.seats || "?", selected: sel.selected.length, required: sel.required }),
    ];
    if (sel.invalid) notes.push(t("sel.invalid", { n: sel.invalid }));
    if (sel.runoff) notes.push(t("sel.runoff", { n: runoff.length, seats: sel.runoff.seats }));
    if (sel.unfilled) notes.push(t("sel.unfilled", { n: sel.unfilled }));
    return el("div", null,
      el("p", { class: "notes" }, notes.join(t("sel.join")) + t("sel.end")),
      el("table", { class: "result" + (rows.length > 8 ? " dense" : "") },
        el("thead", null, el("tr", null, el("th", { class: "n" }, t("col.number")),
          el("th", null, t("col.candidate")), el("th", { class: "n" }, t("col.votes")),
          el("th", null, t("col.result")))),
        el("tbody", null, ...rows)));
  }

  // An evaluation's result in columns, for the console's table and the hall's stage alike:
  // marks (满意 / 基本满意 / 不满意, 满意率) or scores (现场打分: 有效, 平均分, 去掉最高分最低分);
  // the outcome (满意 / 不满意, or the three grades' 满意 / 基本满意 / 不满意) and 名次; under
  // each department, when attending deputies voted, its 组成人员 / 列席代表 / 全体 lines.
  const GROUPS = ["members", "attending", "all"];
  const VERDICT_CLASS = { satisfactory: "pass", satisfied: "pass", basic: "warn",
    unsatisfactory: "fail", unsatisfied: "fail" };

  function evaluationColumns(result) {
    const ids = Object.keys(result.subjects);
    const first = ids.length ? result.subjects[ids[0]] : {};
    const scored = "mean" in first;
    const anyInvalid = ids.some((id) => result.subjects[id].invalid);
    const judged = ids.some((id) => "outcome" in result.subjects[id]);
    const counts = scored
      ? [["col.valid", "n", (s) => s.valid], anyInvalid ? ["col.invalid", "n", (s) => s.invalid] : null,
        ["col.mean", "n rate", (s) => (s.mean === null ? "—" : s.mean)],
        ["col.trimmed", "n", (s) => (s.trimmed ? "✓" : "—")]]
      : [["mark.satisfied", "n", (s) => s.satisfied], ["mark.basic", "n", (s) => s.basic],
        ["mark.unsatisfied", "n", (s) => s.unsatisfied],
        anyInvalid ? ["col.invalid", "n", (s) => s.invalid] : null,
        ["col.rate", "n rate", (s) => (s.satisfaction_rate === null ? "—" : s.satisfaction_rate + "%")]];
    return { ids: ids, judged: judged, counts: counts.filter(Boolean), grouped: "members" in first };
  }

  /** Rows and heads of an evaluation's result; ``c`` names the classes of the two places. */
  function evaluationParts(vote, result, c) {
    const cols = evaluationColumns(result);
    const rows = [];
    cols.ids.forEach((id) => {
      const s = result.subjects[id];
      const verdict = s.outcome ? t(["term", "verdict", s.outcome].join(".")) : "—";
      rows.push(el("tr", null, el("td", { class: c.name }, titleOf(vote, id)),
        ...cols.counts.map((col) => el("td", { class: col[1].replace("rate", c.rate) }, col[2](s))),
        cols.judged ? el("td", { class: c.verdict + " " + (VERDICT_CLASS[s.outcome] || "") }, verdict) : null,
        el("td", { class: "n " + c.rank }, s.rank === null || s.rank === undefined ? "—" : s.rank)));
      if (!cols.grouped) return;
      GROUPS.forEach((group) => {
        const g = s[group] || {};
        rows.push(el("tr", { class: "group-row" }, el("td", { class: c.name + " group" }, t(["term", "group", group].join("."))),
          ...cols.counts.map((col) => el("td", { class: col[1].replace("rate", "") }, col[2](g))),
          cols.judged ? el("td", null, "") : null, el("td", null, "")));
      });
    });
    const heads = [[t("term.col.evaluated")], ...cols.counts.map((col) => [t(["term", col[0]].join(".")), "n"])];
    if (cols.judged) heads.push([t("term.col.result")]);
    heads.push([t("term.col.rank"), "n"]);
    return { heads: heads, rows: rows };
  }

  /** Under the table: the overall rate (总体满意率), and whose marks decided (列席代表). */
  function evaluationNotes(result) {
    const notes = [];
    if ("overall_rate" in result) {
      notes.push(t("eval.overall", { word: t("term.overall_rate"),
        rate: result.overall_rate === null ? "—" : result.overall_rate + "%" }));
    }
    if (result.outcome_on) {
      notes.push(t("eval.decided_by", { group: t(["term", "group", result.outcome_on].join(".")) }));
    }
    return notes;
  }

  function evaluationTable(vote, result) {
    const parts = evaluationParts(vote, result, { name: "", rate: "", verdict: "verdict", rank: "" });
    return el("div", null,
      el("table", { class: "result" },
        el("thead", null, el("tr", null, ...parts.heads.map((h) => el("th", { class: h[1] || "" }, h[0])))),
        el("tbody", null, ...parts.rows)),
      ...evaluationNotes(result).map((n) => el("p", { class: "notes" }, n)));
  }

  /** A kind without a renderer of its own: each subject's counts, as the result gives them. */
  function genericTable(vote, result) {
    const subjects = result.subjects || {};
    const ids = Object.keys(subjects);
    const first = ids.length ? subjects[ids[0]] : {};
    const columns = Object.keys(first).filter((k) => typeof first[k] === "number");
    return el("table", { class: "result" },
      el("thead", null, el("tr", null, el("th", null, ""),
        ...columns.map((c) => el("th", { class: "n" }, t(["mark", c].join(".")))))),
      el("tbody", null, ...ids.map((id) => el("tr", null, el("td", null, titleOf(vote, id)),
        ...columns.map((c) => el("td", { class: "n" }, subjects[id][c]))))));
  }

  // One renderer per vote kind: the table of its result, its stage on the hall display
  // (renderStage) and what that result is called (the glossary's 表决结果, 票决结果, 测评结果).
  // A kind registered on the server without an entry here is shown by genericTable under
  // the plain heading (表决结果); registerKind adds an entry.
  const RENDERERS = {
    motion: { table: motionTable, stage: motionStage, heading: "term.result.motion" },
    selection: { table: selectionTable, stage: selectionStage, heading: "term.result.selection" },
    evaluation: { table: evaluationTable, stage: evaluationStage, heading: "term.result.evaluation" },
  };
  const GENERIC = { table: genericTable, stage: genericStage, heading: "term.result" };

  function registerKind(name, renderer) {
    RENDERERS[name] = renderer;
  }

  /** The renderer of a vote's kind; without the vote, the one the result's shape names. */
  function rendererOf(vote, result) {
    if (vote && vote.kind) return RENDERERS[vote.kind] || GENERIC;
    if (result && result.selection) return RENDERERS.selection;
    const first = result && result.subjects && Object.values(result.subjects)[0];
    return first && ("satisfied" in first || "mean" in first) ? RENDERERS.evaluation : RENDERERS.motion;
  }

  /** The whole result of a vote as a DOM node: figures, banner, and the kind's table. */
  function renderResult(vote, result) {
    const box = el("div", { class: "result-box" }, summaryRow(result), outcomeBanner(result));
    if (result.selection || result.subjects) box.appendChild(rendererOf(vote, result).table(vote, result));
    return box;
  }

  /** What the result of a vote is called: 表决结果, 票决结果, 测评结果. */
  function resultHeading(vote) {
    return t(rendererOf(vote, null).heading);
  }

  // --- the hall display's result stages (display.js, static/css/display.css) -------------
  // Read from 30 m: the four figures in a column on the left, the kind's own stage on the
  // right — a motion's 赞成 / 反对 / 弃权 and 通过 as figures, a ballot's candidates in
  // ballot order, an evaluation's departments. Every word is the glossary's (term.*).

  /** One large figure: its label over its numeral (class hall-num: the size rule's). */
  function hallFigure(label, value, cls) {
    return el("div", { class: "figure hall-figure " + (cls || "") },
      el("span", { class: "figure-label hall-label" }, label), el("span", { class: "figure-value hall-num" }, value));
  }

  /** 应到 / 实到 / 已按 / 未按. */
  function hallFigures(result) {
    return el("div", { class: "hall-four" },
      hallFigure(t("term.members"), result.members), hallFigure(t("term.present"), result.present),
      hallFigure(t("term.cast"), result.cast), hallFigure(t("term.not_voted"), result.not_voted));
  }

  /** The outcome in one word, as large as the figures: 通过 / 未通过 (class hall-outcome). */
  function hallOutcome(passed, extra) {
    return el("div", { class: "hall-verdict " + (passed ? "pass" : "fail") },
      el("span", { class: "hall-outcome" }, passed ? t("term.verdict.passed") : t("term.verdict.failed")),
      extra ? el("span", { class: "hall-required" }, extra) : null);
  }

  /** A table sized by its number of rows (--rows): few rows, large type. */
  function hallTable(heads, rows) {
    const table = el("table", { class: "hall-table" },
      el("thead", null, el("tr", null, ...heads.map((h) => el("th", { class: h[1] || "" }, h[0])))),
      el("tbody", null, ...rows));
    table.style.setProperty("--rows", String(Math.max(1, rows.length))); // CSSOM: allowed by the CSP
    return table;
  }

  function required(n) {
    return t("term.col.required") + " " + t("term.at_least_votes", { n: n });
  }

  function motionStage(vote, result) {
    const ids = Object.keys(result.subjects);
    const anyInvalid = ids.some((id) => result.subjects[id].invalid);
    if (ids.length === 1) {
      const s = result.subjects[ids[0]];
      return el("div", { class: "hall-motion" },
        el("div", { class: "hall-marks" }, hallFigure(t("term.mark.yes"), s.yes, "yes"),
          hallFigure(t("term.mark.no"), s.no, "no"), hallFigure(t("term.mark.abstain"), s.abstain, "abstain"),
          anyInvalid ? hallFigure(t("term.col.invalid"), s.invalid, "") : null),
        hallOutcome(s.passed, required(s.required)));
    }
    // several subjects (分项表决): one row each, the verdict in its own column
    const rows = ids.map((id) => {
      const s = result.subjects[id];
      return el("tr", null, el("td", { class: "hall-name" }, titleOf(vote, id)),
        el("td", { class: "n yes" }, s.yes), el("td", { class: "n no" }, s.no),
        el("td", { class: "n abstain" }, s.abstain), anyInvalid ? el("td", { class: "n" }, s.invalid) : null,
        el("td", { class: "hall-cell-verdict " + (s.passed ? "pass" : "fail") },
          s.passed ? t("term.verdict.passed") : t("term.verdict.failed")));
    });
    const first = result.subjects[ids[0]];
    return el("div", { class: "hall-motion several" },
      hallTable([[t("term.col.subject")], [t("term.mark.yes"), "n"], [t("term.mark.no"), "n"],
        [t("term.mark.abstain"), "n"], anyInvalid ? [t("term.col.invalid"), "n"] : null,
        [t("term.col.result")]].filter(Boolean), rows),
      first ? el("p", { class: "hall-note" }, required(first.required)) : null);
  }

  function selectionStage(vote, result) {
    const sel = result.selection;
    const rows = ballotOrder(vote, sel).map((c) => {
      const [word, cls] = selectionVerdict(sel, c.id);
      return el("tr", { class: cls ? "is-" + cls : "" }, el("td", { class: "n hall-number" }, c.number),
        el("td", { class: "hall-name" }, titleOf(vote, c.id)), el("td", { class: "n" }, sel.votes[c.id] || 0),
        el("td", { class: "hall-cell-verdict " + cls }, word));
    });
    const notes = [t("display.sel_note", {
      seats: vote.seats || "?", selected: sel.selected.length, verdict: t("term.verdict.selected"),
      at_least: t("term.at_least_votes", { n: sel.required }),
    })];
    if (sel.invalid) notes.push(t("sel.invalid", { n: sel.invalid }));
    if (sel.runoff) notes.push(t("sel.runoff", { n: (sel.runoff.candidates || []).length, seats: sel.runoff.seats }));
    if (sel.unfilled) notes.push(t("sel.unfilled", { n: sel.unfilled }));
    return el("div", { class: "hall-selection" },
      el("p", { class: "hall-note" }, notes.join(t("sel.join")) + t("sel.end")),
      hallTable([[t("term.col.number"), "n"], [t("term.col.candidate")], [t("term.col.votes"), "n"],
        [t("term.col.result")]], rows));
  }

  function evaluationStage(vote, result) {
    const parts = evaluationParts(vote, result,
      { name: "hall-name", rate: "hall-rate", verdict: "hall-cell-verdict", rank: "hall-rank" });
    return el("div", { class: "hall-evaluation" },
      hallTable(parts.heads, parts.rows),
      ...evaluationNotes(result).map((n) => el("p", { class: "hall-note" }, n)));
  }

  function genericStage(vote, result) {
    return el("div", { class: "hall-generic" }, genericTable(vote, result));
  }

  /** A vote's whole result for the hall: the four figures, a void / no-quorum banner, and
   * the kind's own stage (RENDERERS[kind].stage; a kind without one: its counts). */
  function renderStage(vote, result) {
    const renderer = rendererOf(vote, result);
    const banner = outcomeBanner(result);
    if (banner) banner.className = "hall-banner";
    const main = el("div", { class: "hall-main" }, banner);
    if (result.selection || result.subjects) main.appendChild((renderer.stage || genericStage)(vote, result));
    return el("div", { class: "hall-result" }, hallFigures(result), main);
  }

  global.Screens = {
    t: t,
    resultHeading: resultHeading,
    renderStage: renderStage,
    hall: { figure: hallFigure, outcome: hallOutcome, table: hallTable }, // for a kind's stage
    registerKind: registerKind,
    KIND: KIND,
    STATE: STATE,
    MOTION_MARKS: MOTION_MARKS,
    EVALUATION_MARKS: EVALUATION_MARKS,
    el: el,
    bindConnection: bindConnection,
    problem: problem,
    countdown: countdown,
    remainingMs: remainingMs,
    titleOf: titleOf,
    renderResult: renderResult,
  };
})(window);
