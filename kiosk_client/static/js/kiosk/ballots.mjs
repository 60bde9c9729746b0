/*
 * ballots.mjs — how each vote kind's ballot is drawn and read on the tablet.
 *
 * BALLOTS maps a kind (motion 议案表决, selection 选举, evaluation 测评) to its
 * renderer:
 *   empty()                   the choice before any key is pressed
 *   render(body, ui)          draw the keys into ``body``
 *   missing(vote, choice)     subjects still unmarked (null: the kind needs none)
 *   summarize(list, ui)       the confirmation screen's lines
 *   ballot(vote, choice)      the ballot as signed and sent (the ``tally`` format)
 *   chosen(S, vote, choice)   what was chosen, for "您的选择" after pressing:
 *                             [{title, mark, cls}] (``title`` null for a lone subject)
 *   options(vote, choice)     trustee mode: the chosen option ids per contest of the
 *                             vote's manifest, {contestId: [optionId…]} (trusteeChoice)
 * ``ui`` is {S (window.Screens), vote, choice, choose(newChoice), say(text)}:
 * ``choose`` stores the choice and draws the screen again.
 *
 * A kind whose votes differ in how they are drawn (an evaluation by marks, or by
 * scores: 现场打分) gives ``variant(vote)``, the renderer of that vote.
 */

/** Motion and evaluation: one row of three large keys per subject. */
function marksKind(marksOf) {
  return {
    empty: () => ({}),

    render(body, ui) {
      const el = ui.S.el;
      const choice = ui.choice;
      ui.vote.subjects.forEach((subject) => {
        const row = el("div", { class: "marks" + (choice[subject.id] ? " marked" : "") });
        marksOf(ui.S).forEach((mark) => {
          const chosen = choice[subject.id] === mark.id;
          row.appendChild(el("button", {
            type: "button",
            class: "mark " + mark.cls + (chosen ? " chosen" : ""),
            "aria-pressed": chosen ? "true" : "false",
            onclick: () => {
              ui.say("");
              ui.choose(Object.assign({}, choice, { [subject.id]: mark.id }));
            },
          }, mark.label));
        });
        body.appendChild(el("div", { class: "subject" },
          el("div", { class: "subject-title" }, subject.title), row));
      });
    },

    missing: (vote, choice) => vote.subjects.filter((s) => !choice[s.id]).length,

    summarize(list, ui) {
      const el = ui.S.el;
      const label = (id) => (marksOf(ui.S).find((m) => m.id === id) || { label: id }).label;
      ui.vote.subjects.forEach((s) => {
        list.appendChild(el("li", null, ui.S.t("kiosk.subject_mark", { title: s.title }),
          el("strong", null, label(ui.choice[s.id]))));
      });
    },

    chosen(S, vote, choice) {
      const lone = vote.subjects.length === 1;
      return vote.subjects.map((s) => {
        const mark = marksOf(S).find((m) => m.id === choice[s.id]);
        return { title: lone ? null : s.title, mark: mark ? mark.label : "—", cls: mark ? mark.cls : "" };
      });
    },

    ballot(vote, choice) {
      const ballot = {};
      vote.subjects.forEach((s) => {
        if (choice[s.id]) ballot[s.id] = choice[s.id];
      });
      return ballot;
    },

    // one contest per subject, named by its id; a mark the layout has no option for
    // (弃权) is nothing marked
    options(vote, choice) {
      const chosen = {};
      vote.subjects.forEach((s) => {
        chosen[s.id] = choice[s.id] ? [choice[s.id]] : [];
      });
      return chosen;
    },
  };
}

/** Selection: a checklist that refuses a choice beyond the N seats. */
const selection = {
  empty: () => [],

  render(body, ui) {
    const S = ui.S;
    const el = S.el;
    const vote = ui.vote;
    const choice = ui.choice;
    const seats = vote.seats;
    body.appendChild(el("p", { class: "counter", id: "selection-counter" },
      S.t("kiosk.selection_counter", { n: choice.length, seats: seats })));
    vote.candidates.forEach((candidate, index) => {
      const chosen = choice.indexOf(candidate.id) >= 0;
      body.appendChild(el("button", {
        type: "button",
        class: "candidate" + (chosen ? " chosen" : ""),
        "aria-pressed": chosen ? "true" : "false",
        onclick: () => {
          if (chosen) {
            ui.say("");
            ui.choose(choice.filter((id) => id !== candidate.id));
          } else if (choice.length >= seats) {
            // Said twice: at the top of the page and in the counter that stays in view.
            const refused = S.t("kiosk.selection_full", { seats: seats });
            ui.say(refused);
            const counter = body.querySelector("#selection-counter");
            if (!counter.querySelector(".refused")) counter.appendChild(el("span", { class: "refused" }, refused));
          } else {
            ui.say("");
            ui.choose(choice.concat([candidate.id]));
          }
        },
      }, el("span", { class: "box" }, chosen ? "✔" : ""), (index + 1) + ". " + candidate.title));
    });
  },

  missing: () => null, // fewer names than seats is a valid ballot

  summarize(list, ui) {
    const S = ui.S;
    const el = S.el;
    const vote = ui.vote;
    const picked = vote.candidates.filter((c) => ui.choice.indexOf(c.id) >= 0);
    list.appendChild(el("li", null, el("strong", null,
      picked.length ? S.t("kiosk.picked", { n: picked.length, seats: vote.seats }) : S.t("kiosk.picked_none"))));
    picked.forEach((c) => list.appendChild(el("li", null, c.title)));
  },

  // in ballot order, numbered as on the ballot; none chosen is a line of its own
  chosen(S, vote, choice) {
    const picked = vote.candidates.map((c, i) => ({ c: c, n: i + 1 }))
      .filter((x) => choice.indexOf(x.c.id) >= 0);
    if (!picked.length) return [{ title: null, mark: S.t("kiosk.picked_none"), cls: "" }];
    return picked.map((x) => ({ title: null, mark: x.n + ". " + x.c.title, cls: "project" }));
  },

  // in the order the candidates are listed, whatever the order they were pressed in
  ballot: (vote, choice) => vote.candidates.map((c) => c.id).filter((id) => choice.indexOf(id) >= 0),

  // the layout's one contest holds the candidates
  options: (vote, choice) => ({ [vote.trustees.manifest[0].id]: selection.ballot(vote, choice) }),
};

/** The digits a score may have: as many as its highest value. */
function digitsOf(vote) {
  return String(vote.scores.max).length;
}

/** A score that counts: an integer in the vote's range. */
function inRange(vote, value) {
  return Number.isInteger(value) && value >= vote.scores.min && value <= vote.scores.max;
}

/** 现场打分: per department a large number pad (1–9, 清除, 0) beside a big display of the
 * score and its range ("0–100 分"). A digit that would take the score above the highest
 * is refused and said; a score below the lowest shows in red and cannot be submitted. */
const scores = {
  empty: () => ({}),

  render(body, ui) {
    const S = ui.S;
    const el = S.el;
    const vote = ui.vote;
    const choice = ui.choice;
    const range = S.t("kiosk.score_range", { min: vote.scores.min, max: vote.scores.max });
    vote.subjects.forEach((subject) => {
      const value = choice[subject.id];
      const given = value !== undefined;
      const low = given && !inRange(vote, value);
      const display = el("div", { class: "score-display" + (given ? " given" : "") + (low ? " low" : ""),
        role: "status", "aria-live": "polite" },
      el("span", { class: "score-value" }, given ? String(value) : "—"),
      el("span", { class: "score-unit" }, S.t("term.score")));
      const note = el("div", { class: "score-range" }, range);
      const side = el("div", { class: "score-side" }, display, note);
      if (low) side.appendChild(el("div", { class: "score-low" }, S.t("kiosk.score_too_low", { min: vote.scores.min })));
      const press = (digit) => () => {
        const next = given ? value * 10 + digit : digit;
        if (next > vote.scores.max || String(next).length > digitsOf(vote)) {
          ui.say(S.t("kiosk.score_too_high", { title: subject.title, max: vote.scores.max }));
          return; // out of range: not entered
        }
        ui.say("");
        ui.choose(Object.assign({}, choice, { [subject.id]: next }));
      };
      const clear = () => {
        ui.say("");
        const next = Object.assign({}, choice);
        delete next[subject.id];
        ui.choose(next);
      };
      const pad = el("div", { class: "score-pad", role: "group",
        "aria-label": S.t("kiosk.score_pad", { title: subject.title }) });
      [1, 2, 3, 4, 5, 6, 7, 8, 9].forEach((d) => pad.appendChild(
        el("button", { type: "button", class: "score-key", onclick: press(d) }, String(d))));
      pad.appendChild(el("button", { type: "button", class: "score-key clear", onclick: clear },
        S.t("kiosk.key_clear")));
      pad.appendChild(el("button", { type: "button", class: "score-key", onclick: press(0) }, "0"));
      body.appendChild(el("div", { class: "subject score-subject", "data-subject": subject.id },
        el("div", { class: "subject-title" }, subject.title),
        el("div", { class: "score-row" }, side, pad)));
    });
  },

  missing: (vote, choice) => vote.subjects.filter((s) => !inRange(vote, choice[s.id])).length,

  summarize(list, ui) {
    const S = ui.S;
    const el = S.el;
    ui.vote.subjects.forEach((s) => {
      list.appendChild(el("li", { class: "score-line" }, S.t("kiosk.subject_mark", { title: s.title }),
        el("strong", null, S.t("kiosk.score_value", { score: ui.choice[s.id] }))));
    });
  },

  chosen(S, vote, choice) {
    const lone = vote.subjects.length === 1;
    return vote.subjects.map((s) => ({
      title: lone ? null : s.title,
      mark: choice[s.id] === undefined ? "—" : S.t("kiosk.score_value", { score: choice[s.id] }),
      cls: "score",
    }));
  },

  // integers, as the server counts and signs them (a JSON number, never "85")
  ballot(vote, choice) {
    const ballot = {};
    vote.subjects.forEach((s) => {
      if (inRange(vote, choice[s.id])) ballot[s.id] = choice[s.id];
    });
    return ballot;
  },
};

const evaluationMarks = marksKind((S) => S.EVALUATION_MARKS);

export const BALLOTS = {
  motion: marksKind((S) => S.MOTION_MARKS),
  selection: selection,
  // 三档 and the default mark the same three keys; 现场打分 has a number pad
  evaluation: Object.assign({}, evaluationMarks, {
    variant: (vote) => (vote.scores ? scores : evaluationMarks),
  }),
};

/** The renderer of a vote's kind (of the vote's variant, where the kind has several). */
export function ballotKind(vote) {
  const kind = BALLOTS[vote.kind];
  if (!kind) throw new Error("no ballot renderer for vote kind " + vote.kind);
  return kind.variant ? kind.variant(vote) : kind;
}

/**
 * Trustee mode (docs/trustee-votes.md): the deputy's choice as the option ids chosen per
 * contest of the vote's manifest (``vote.trustees.manifest``), for trustees/ballot.mjs's
 * marksFromChoice. A mark the manifest has no option for (a motion's 弃权: abstain is
 * nothing marked) is dropped; a contest the manifest does not have is left for
 * marksFromChoice to refuse.
 */
export function trusteeChoice(vote, choice) {
  const kind = ballotKind(vote);
  if (!kind.options) throw new Error("no trustee-mode ballot for vote kind " + vote.kind);
  const layout = vote.trustees.manifest;
  const chosen = kind.options(vote, choice);
  const out = {};
  Object.keys(chosen).forEach((id) => {
    const contest = layout.find((c) => c.id === id);
    out[id] = contest ? chosen[id].filter((option) => contest.options.includes(option)) : chosen[id];
  });
  return out;
}
