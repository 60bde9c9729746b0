/*
 * display_control.js — the console's control of the hall display (会场大屏):
 * templates/_display_control.html. The presidium chooses what the hall sees — 会标,
 * 签到情况, 议程 (one item or all), the vote in progress, a result, 黑屏 — or lets the
 * screen follow the votes again. It sends `display_stage` {stage, target?} on the
 * console's own connection (console.js `ConsoleConnection`) and draws from the state the
 * console already fetched; the server validates, keeps the choice and tells the display
 * (docs/protocol.md). The secretariat sees the current stage without the buttons
 * working (the server refuses them in any case).
 */
(function () {
  "use strict";

  const root = document.getElementById("display-control");
  const shared = window.ConsoleConnection;
  if (!root || !window.Screens || !shared) return;
  const S = window.Screens;
  const t = S.t;
  const $ = (id) => document.getElementById(id);
  const canAct = root.dataset.canAct === "true";
  const buttons = Array.from(root.querySelectorAll("button[data-stage]"));
  const itemPick = $("display-agenda-item");
  const votePick = $("display-result-vote");
  const NAMES = {
    idle: t("display_control.stage.idle"), welcome: t("display_control.stage.welcome"),
    sign_in: t("display_control.stage.sign_in"), agenda: t("display_control.stage.agenda"),
    blank: t("display_control.stage.blank"),
  };
  let openVote = null;
  let busy = false;

  const sio = shared.sio;
  sio.on("display_stage", showStage);
  document.addEventListener("console-state", (e) => apply(e.detail));
  if (shared.state) apply(shared.state);

  buttons.forEach((button) => button.addEventListener("click", () => choose(button.dataset.stage)));

  /** Draw from the console's state (what it fetched on connect and after every change). */
  function apply(state) {
    if (!state.sitting) {
      showStage({ stage: "idle", chosen: "auto" });
      return;
    }
    openVote = state.open_vote;
    fill(itemPick, t("display_control.all_items"), (state.agenda || []).map((item) =>
      [item.id, t("display.item_n", { n: item.position }) + " " + item.title]));
    const counted = [];
    (state.agenda || []).forEach((item) => item.votes.forEach((v) => {
      if (v.result) counted.push([v.id, v.title]);
    }));
    fill(votePick, t("display_control.latest"), counted.reverse());
    showStage(state.display || { stage: "idle", chosen: "auto" });
  }

  /** Replace a picker's options, keeping the chosen one if it is still there. */
  function fill(select, first, options) {
    const kept = select.value;
    select.textContent = "";
    select.appendChild(S.el("option", { value: "" }, first));
    options.forEach(([value, label]) => select.appendChild(S.el("option", { value: String(value) }, label)));
    if (options.some(([value]) => String(value) === kept)) select.value = kept;
  }

  /** A stage's name on the console: the glossary's words where it has them. */
  function stageName(stage) {
    if (stage === "vote") return t("display.in_progress", { act: t("term.act") });
    if (stage === "result") return t("term.result");
    if (stage === "cancelled") return t("display.cancelled", { act: t("term.act") });
    return NAMES[stage] || stage;
  }

  /** What the display shows now; the button of the stage in force is pressed. */
  function showStage(view) {
    const name = stageName(view.stage);
    $("display-control-now").textContent = view.chosen === "auto"
      ? t("display_control.following", { stage: name }) : name;
    buttons.forEach((button) => {
      button.setAttribute("aria-pressed", String(button.dataset.stage === view.chosen));
      button.disabled = !canAct || busy || (button.dataset.stage === "vote" && !openVote) ||
        (button.dataset.stage === "result" && votePick.options.length < 2);
    });
    itemPick.disabled = !canAct;
    votePick.disabled = !canAct || votePick.options.length < 2;
  }

  async function choose(stage) {
    const payload = { stage: stage };
    if (stage === "agenda" && itemPick.value) payload.target = Number(itemPick.value);
    if (stage === "result" && votePick.value) payload.target = Number(votePick.value);
    busy = true;
    $("display-control-message").textContent = "";
    let answer;
    try {
      answer = await sio.emitWithAck("display_stage", payload, 10000);
    } catch (e) {
      answer = e;
    }
    busy = false;
    if (answer && answer.ok) showStage(answer.display);
    else {
      $("display-control-message").textContent = S.problem(answer);
      if (shared.state) apply(shared.state); // the stage in force, as last known
    }
  }
})();
