/*
 * results.mjs — a vote's result on the tablet: large figures, never a table.
 *
 * An 800 px wide tablet held by an older deputy: a table of seven columns broke its
 * headers onto two lines (赞/成, 通过所/需). Here every figure is a tile — a word
 * over a number, each on one line — and the verdict (通过 / 入选 / 满意) is the
 * largest word of its subject. Every domain word is the glossary's (term.<key>,
 * rules/glossary.py). The hall display keeps its own renderers (screens.js).
 *
 *   renderResult(S, vote, result)  the whole result as a DOM node
 *   resultHeading(S, vote, result) 表决结果 / 票决结果 / 测评结果
 */

/** The kind of a result: the vote's, or the one its shape names (a vote not seen open). */
function kindOf(vote, result) {
  if (vote && vote.kind) return vote.kind;
  if (result && result.selection) return "selection";
  const first = result && result.subjects && Object.values(result.subjects)[0];
  return first && ("satisfied" in first || "mean" in first) ? "evaluation" : "motion";
}

/** 表决结果 / 票决结果 / 测评结果: the glossary's word for the kind's result. */
export function resultHeading(S, vote, result) {
  const key = "term.result." + kindOf(vote, result);
  const word = S.t(key);
  return word === key ? S.t("term.result") : word;
}

/** One figure: its word above, its number below; ``cls`` colours it (yes / no / abstain). */
function tile(S, label, value, cls) {
  return S.el("div", { class: "k-tile" + (cls ? " " + cls : "") },
    S.el("span", { class: "k-tile-label" }, label),
    S.el("span", { class: "k-tile-value" }, value === null || value === undefined ? "—" : value));
}

function titleOf(vote, id) {
  const list = (vote && (vote.subjects || vote.candidates)) || [];
  const found = list.find((o) => o.id === id);
  return found ? found.title : id;
}

/** 应到 / 实到 / 已按 / 未按. */
function turnout(S, result) {
  return S.el("div", { class: "k-tiles k-turnout" },
    tile(S, S.t("term.members"), result.members), tile(S, S.t("term.present"), result.present),
    tile(S, S.t("term.cast"), result.cast), tile(S, S.t("term.not_voted"), result.not_voted));
}

function banner(S, result) {
  if (result.void) {
    return S.el("p", { class: "banner banner-bad" },
      S.t("result.void") + (result.reason ? S.t("detail", { detail: result.reason }) : ""));
  }
  if (result.quorum === false) return S.el("p", { class: "banner banner-bad" }, S.t("result.no_quorum"));
  return null;
}

/** A subject's card: its title (unless it is the vote's own), the tiles, the verdict. */
function card(S, title, tiles, verdict, notes) {
  return S.el("section", { class: "k-subject" },
    title ? S.el("h2", { class: "k-subject-title" }, title) : null,
    S.el("div", { class: "k-tiles" }, ...tiles),
    verdict,
    ...(notes || []).map((n) => S.el("p", { class: "k-note" }, n)));
}

function verdictOf(S, text, cls) {
  return S.el("p", { class: "k-verdict " + cls }, text);
}

function motion(S, vote, result) {
  const ids = Object.keys(result.subjects);
  return ids.map((id) => {
    const s = result.subjects[id];
    const tiles = [tile(S, S.t("term.mark.yes"), s.yes, "yes"), tile(S, S.t("term.mark.no"), s.no, "no"),
      tile(S, S.t("term.mark.abstain"), s.abstain, "abstain")];
    if (s.invalid) tiles.push(tile(S, S.t("term.col.invalid"), s.invalid));
    const title = titleOf(vote, id);
    const needed = S.t("kiosk.label_value", { label: S.t("term.col.required"),
      value: S.t("term.at_least_votes", { n: s.required }) });
    return card(S, ids.length > 1 || title !== (vote && vote.title) ? title : null, tiles,
      verdictOf(S, s.passed ? S.t("term.verdict.passed") : S.t("term.verdict.failed"), s.passed ? "pass" : "fail"),
      [needed]);
  });
}

/** The candidates in ballot order (序号 is the number on the ballot), each with its votes. */
function selection(S, vote, result) {
  const sel = result.selection;
  const order = ((vote && vote.candidates) || []).map((c) => c.id);
  Object.keys(sel.votes).forEach((id) => {
    if (order.indexOf(id) < 0) order.push(id);
  });
  const runoff = (sel.runoff && sel.runoff.candidates) || [];
  const selected = S.t("term.verdict.selected");
  const notes = [
    S.t("kiosk.sel_summary", { seats: (vote && vote.seats) || "?", word: selected, n: sel.selected.length }),
    S.t("kiosk.sel_required", { word: selected, at_least: S.t("term.at_least_votes", { n: sel.required }) }),
  ];
  if (sel.invalid) notes.push(S.t("sel.invalid", { n: sel.invalid }));
  if (sel.runoff) notes.push(S.t("sel.runoff", { n: runoff.length, seats: sel.runoff.seats }));
  if (sel.unfilled) notes.push(S.t("sel.unfilled", { n: sel.unfilled }));
  const rows = order.map((id, i) => {
    let verdict = S.el("span", { class: "k-row-verdict" }, S.t("term.verdict.not_selected"));
    if (sel.selected.indexOf(id) >= 0) verdict = S.el("span", { class: "k-row-verdict pass" }, selected);
    else if (runoff.indexOf(id) >= 0) verdict = S.el("span", { class: "k-row-verdict warn" }, S.t("term.verdict.runoff"));
    const chosen = sel.selected.indexOf(id) >= 0;
    return S.el("li", { class: "k-row" + (chosen ? " chosen" : "") },
      S.el("span", { class: "k-row-number" }, i + 1),
      S.el("span", { class: "k-row-title" }, titleOf(vote, id)),
      S.el("span", { class: "k-row-votes" }, S.t("kiosk.n_votes", { n: sel.votes[id] || 0 })),
      verdict);
  });
  return [
    S.el("div", { class: "k-notes" }, ...notes.map((n) => S.el("p", { class: "k-note" }, n))),
    S.el("ol", { class: "k-rows" }, ...rows),
  ];
}

const VERDICT_CLASS = { satisfactory: "pass", satisfied: "pass", basic: "warn",
  unsatisfactory: "fail", unsatisfied: "fail" };

/** One group's line under a department (列席代表参加测评): 组成人员 / 列席代表 / 全体. */
function groupNote(S, group, g) {
  const value = "mean" in g
    ? S.t("kiosk.label_value", { label: S.t("term.col.mean"), value: g.mean === null ? "—" : g.mean })
    : S.t("kiosk.label_value", { label: S.t("term.col.rate"),
      value: g.satisfaction_rate === null ? "—" : g.satisfaction_rate + "%" });
  return S.t("kiosk.label_value", { label: S.t(["term", "group", group].join(".")), value: value });
}

/** Per department: the three marks (or, for scores, 有效 and 平均分), then 满意率, 名次 and
 * the outcome on one row; under it the three groups' lines when attending deputies voted;
 * the overall rate (总体满意率) after the last department. */
function evaluation(S, vote, result) {
  const cards = Object.keys(result.subjects).map((id) => {
    const s = result.subjects[id];
    const scored = "mean" in s;
    const tiles = scored
      ? [tile(S, S.t("term.col.valid"), s.valid), tile(S, S.t("term.col.mean"), s.mean, "rate")]
      : [tile(S, S.t("term.mark.satisfied"), s.satisfied, "yes"),
        tile(S, S.t("term.mark.basic"), s.basic, "abstain"),
        tile(S, S.t("term.mark.unsatisfied"), s.unsatisfied, "no")];
    if (s.invalid) tiles.push(tile(S, S.t("term.col.invalid"), s.invalid));
    const verdict = s.outcome
      ? verdictOf(S, S.t(["term", "verdict", s.outcome].join(".")), VERDICT_CLASS[s.outcome] || "none")
      : verdictOf(S, "—", "none");
    const outcome = S.el("div", { class: "k-tiles k-outcome" },
      scored ? null
        : tile(S, S.t("term.col.rate"), s.satisfaction_rate === null ? null : s.satisfaction_rate + "%", "rate"),
      tile(S, S.t("term.col.rank"), s.rank === null || s.rank === undefined ? null : s.rank, "rank"),
      "outcome" in s || !scored ? verdict : null);
    const notes = [];
    if (scored && s.trimmed) notes.push(S.t("kiosk.trimmed"));
    if ("members" in s) ["members", "attending", "all"].forEach((g) => notes.push(groupNote(S, g, s[g] || {})));
    return card(S, titleOf(vote, id), tiles, outcome, notes);
  });
  if ("overall_rate" in result) {
    cards.push(S.el("p", { class: "k-note k-overall" }, S.t("eval.overall", { word: S.t("term.overall_rate"),
      rate: result.overall_rate === null ? "—" : result.overall_rate + "%" })));
  }
  return cards;
}

/** A kind without a renderer here: each subject's numbers as tiles, under its title. */
function generic(S, vote, result) {
  return Object.keys(result.subjects || {}).map((id) => {
    const s = result.subjects[id];
    const word = (k) => {
      const key = ["term", "mark", k].join(".");
      const found = S.t(key);
      return found === key ? k : found;
    };
    const tiles = Object.keys(s).filter((k) => typeof s[k] === "number").map((k) => tile(S, word(k), s[k]));
    return card(S, titleOf(vote, id), tiles, null);
  });
}

const KINDS = { motion: motion, selection: selection, evaluation: evaluation };

/** The whole result: the four figures, a banner if void, then the kind's cards. */
export function renderResult(S, vote, result) {
  const kind = kindOf(vote, result);
  const box = S.el("div", { class: "k-result k-result-" + kind }, turnout(S, result), banner(S, result));
  if (result.selection || result.subjects) {
    (KINDS[kind] || generic)(S, vote, result).forEach((node) => box.appendChild(node));
  }
  return box;
}
