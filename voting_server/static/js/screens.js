/*
 * screens.js — what the kiosk, the presidium console and the hall display
 * share: Chinese labels, the connection badge, refusal messages, the
 * countdown, and the result tables (CONTRACTS.md §2 result format).
 *
 * Plain DOM, no framework: these pages must run offline on the hall LAN and
 * be easy to audit. Every string a deputy or staff member reads is Chinese.
 */
(function (global) {
  "use strict";

  const KIND = { motion: "表决", selection: "民生实事项目票决", evaluation: "满意度测评" };
  const STATE = {
    draft: "未开始",
    open: "表决中",
    closed: "已结束（待宣布）",
    cancelled: "已取消",
    announced: "已宣布",
  };
  const MOTION_MARKS = [
    { id: "yes", label: "赞成", cls: "yes" },
    { id: "no", label: "反对", cls: "no" },
    { id: "abstain", label: "弃权", cls: "abstain" },
  ];
  const EVALUATION_MARKS = [
    { id: "satisfied", label: "满意", cls: "yes" },
    { id: "basic", label: "基本满意", cls: "abstain" },
    { id: "unsatisfied", label: "不满意", cls: "no" },
  ];
  const CONNECTION = {
    connecting: "正在连接…",
    connected: "已连接",
    stalled: "连接不稳定，正在重试…",
    reconnecting: "正在重新连接…",
    closed: "未连接",
  };

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

  /** The Chinese message of a refusal or of a failed emitWithAck. */
  function problem(answerOrError) {
    if (!answerOrError) return "操作失败，请重试";
    if (answerOrError.message && answerOrError.ok === false) {
      return answerOrError.message + (answerOrError.detail ? "（" + answerOrError.detail + "）" : "");
    }
    if (answerOrError.code === "offline") return "未连接到表决系统，请稍候再试";
    if (answerOrError.code === "timeout") return "服务器没有及时响应，请重试";
    if (answerOrError.code === "disconnected") return "连接中断，请稍候再试";
    return "操作失败，请重试";
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
      node.textContent = left > 0 ? "剩余时间 " + formatRemaining(left) : "时间到，正在结束表决…";
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
      cell("应到", result.members), cell("实到", result.present),
      cell("已按", result.cast), cell("未按", result.not_voted));
  }

  function outcomeBanner(result) {
    if (result.void) {
      return el("p", { class: "banner banner-bad" },
        "表决无效：收回的选票多于实到人数，须重新表决" + (result.reason ? "（" + result.reason + "）" : ""));
    }
    if (result.quorum === false) {
      return el("p", { class: "banner banner-bad" }, "出席人数未过半数，表决不生效");
    }
    return null;
  }

  function motionTable(vote, result) {
    const anyInvalid = Object.values(result.subjects).some((s) => s.invalid);
    const head = el("tr", null, el("th", null, "表决事项"), el("th", { class: "n" }, "赞成"),
      el("th", { class: "n" }, "反对"), el("th", { class: "n" }, "弃权"),
      anyInvalid ? el("th", { class: "n" }, "无效") : null,
      el("th", { class: "n" }, "通过所需"), el("th", null, "结果"));
    const rows = Object.keys(result.subjects).map((id) => {
      const s = result.subjects[id];
      return el("tr", null, el("td", null, titleOf(vote, id)),
        el("td", { class: "n yes-text" }, s.yes), el("td", { class: "n no-text" }, s.no),
        el("td", { class: "n abstain-text" }, s.abstain),
        anyInvalid ? el("td", { class: "n" }, s.invalid) : null,
        el("td", { class: "n" }, s.required),
        el("td", { class: s.passed ? "verdict pass" : "verdict fail" }, s.passed ? "通过" : "未通过"));
    });
    return el("table", { class: "result" }, el("thead", null, head), el("tbody", null, ...rows));
  }

  function selectionTable(vote, result) {
    const sel = result.selection;
    const order = (vote.candidates || []).map((c) => c.id);
    Object.keys(sel.votes).forEach((id) => {
      if (order.indexOf(id) < 0) order.push(id);
    });
    // Most votes first; equal votes keep the candidates' original order (RULES.md).
    const ranked = order.slice().sort((a, b) => (sel.votes[b] || 0) - (sel.votes[a] || 0) ||
      order.indexOf(a) - order.indexOf(b));
    const runoff = (sel.runoff && sel.runoff.candidates) || [];
    const rows = ranked.map((id, i) => {
      let verdict = el("td", { class: "verdict" }, "未入选");
      if (sel.selected.indexOf(id) >= 0) verdict = el("td", { class: "verdict pass" }, "入选");
      else if (runoff.indexOf(id) >= 0) verdict = el("td", { class: "verdict warn" }, "须再次投票");
      return el("tr", null, el("td", { class: "n" }, i + 1), el("td", null, titleOf(vote, id)),
        el("td", { class: "n" }, sel.votes[id] || 0), verdict);
    });
    const notes = [
      "应选 " + (vote.seats || "?") + " 项，入选 " + sel.selected.length + " 项；入选须得票 " +
        sel.required + " 票以上",
    ];
    if (sel.invalid) notes.push("无效票 " + sel.invalid + " 张");
    if (sel.runoff) {
      notes.push("得票相等的 " + runoff.length + " 个项目须再次投票，产生其余 " + sel.runoff.seats + " 项");
    }
    if (sel.unfilled) notes.push("尚有 " + sel.unfilled + " 项空缺，可另行投票");
    return el("div", null,
      el("p", { class: "notes" }, notes.join("；") + "。"),
      el("table", { class: "result" + (rows.length > 8 ? " dense" : "") },
        el("thead", null, el("tr", null, el("th", { class: "n" }, "序号"), el("th", null, "候选项目"),
          el("th", { class: "n" }, "得票"), el("th", null, "结果"))),
        el("tbody", null, ...rows)));
  }

  function evaluationTable(vote, result) {
    const ids = Object.keys(result.subjects);
    const anyInvalid = ids.some((id) => result.subjects[id].invalid);
    const rows = ids.map((id) => {
      const s = result.subjects[id];
      let outcome = el("td", { class: "verdict" }, "—");
      if (s.outcome === "satisfactory") outcome = el("td", { class: "verdict pass" }, "满意");
      if (s.outcome === "unsatisfactory") outcome = el("td", { class: "verdict fail" }, "不满意");
      return el("tr", null, el("td", null, titleOf(vote, id)),
        el("td", { class: "n" }, s.satisfied), el("td", { class: "n" }, s.basic),
        el("td", { class: "n" }, s.unsatisfied),
        anyInvalid ? el("td", { class: "n" }, s.invalid) : null,
        el("td", { class: "n" }, s.satisfaction_rate === null ? "—" : s.satisfaction_rate + "%"),
        outcome, el("td", { class: "n" }, s.rank === null || s.rank === undefined ? "—" : s.rank));
    });
    return el("table", { class: "result" },
      el("thead", null, el("tr", null, el("th", null, "测评对象"), el("th", { class: "n" }, "满意"),
        el("th", { class: "n" }, "基本满意"), el("th", { class: "n" }, "不满意"),
        anyInvalid ? el("th", { class: "n" }, "无效") : null,
        el("th", { class: "n" }, "满意率"), el("th", null, "测评结果"), el("th", { class: "n" }, "名次"))),
      el("tbody", null, ...rows));
  }

  /** The whole result of a vote as a DOM node: figures, banner, and the kind's table. */
  function renderResult(vote, result) {
    const box = el("div", { class: "result-box" }, summaryRow(result), outcomeBanner(result));
    if (result.selection) box.appendChild(selectionTable(vote, result));
    else if (vote && vote.kind === "evaluation") box.appendChild(evaluationTable(vote, result));
    else if (result.subjects) {
      const first = Object.values(result.subjects)[0];
      box.appendChild(first && "satisfied" in first ? evaluationTable(vote, result) : motionTable(vote, result));
    }
    return box;
  }

  /** What the result of a vote is called: 表决结果, 票决结果, 测评结果. */
  function resultHeading(vote) {
    const kind = vote && vote.kind;
    return kind === "selection" ? "票决结果" : kind === "evaluation" ? "测评结果" : "表决结果";
  }

  global.Screens = {
    resultHeading: resultHeading,
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
