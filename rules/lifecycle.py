"""The life of a vote (表决的流程): its states, the steps between them, and who
may take each. Pure: no I/O, no clock, no database.

The server's services ask ``transition`` before they change a vote, and the
offline verifier (audit/verify.py) replays every log entry through it, so a
step the server refuses is a step the verifier rejects. docs/lifecycle.md is
the table for people; who may act is in rules/duties.py where it concerns
paper counts and countersignatures (分权), and is read from there.

    draft ──open──▶ open ──close──▶ closed ──announce──▶ announced
      │               │                ▲
      └────cancel─────┴──▶ cancelled ──enter paper count──▶ paper ──publish──┘

A re-run (再次表决) leaves the vote as it is and makes a new draft.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from rules.duties import (
    COUNTERSIGNERS,
    PAPER_COUNT_ENTERERS,
    PRESIDIUM,
    SECRETARIAT,
    paper_count_error,
)


class VoteState(StrEnum):
    """The states a vote is stored in (the column ``votes.state``: these values
    are in the database and its CHECK constraint, so they never change)."""

    DRAFT = "draft"  # configured, not yet opened
    OPEN = "open"  # 表决开始: ballots accepted until closes_at or closed by the presidium
    CLOSED = "closed"  # 表决结束: counted, not yet announced
    CANCELLED = "cancelled"  # withdrawn by the presidium; a re-run points here via rerun_of
    ANNOUNCED = "announced"  # 宣布表决结果


class PaperState(StrEnum):
    """A state that is not stored: a cancelled vote with a hand count (人工计票)
    entered and awaiting its countersignatures. The server keeps such a vote
    ``cancelled`` beside its paper count row; the log names it by its entries."""

    PAPER = "paper"


State = VoteState | PaperState
PAPER = PaperState.PAPER
STATES: tuple[State, ...] = (*VoteState, PAPER)
INITIAL = VoteState.DRAFT  # a new vote; the log first shows it as ``vote_configured``


class Action(StrEnum):
    EDIT = "edit"  # change a draft: its configuration, title, documents (秘书处)
    OPEN = "open"  # 表决开始
    PRESS = "press"  # a deputy's ballot (or participation, in a secret vote)
    CLOSE = "close"  # 表决结束, by the presidium or at the deadline
    COUNT = "count"  # release the sealed ballots (secret) and log the result
    CANCEL = "cancel"  # by the presidium with a reason, or by the server (a lost vote key)
    ANNOUNCE = "announce"  # 宣布表决结果
    RERUN = "rerun"  # 再次表决: a new draft like this vote; this one stays as it is
    ENTER_PAPER_COUNT = "enter_paper_count"  # 人工计票, entered (or corrected)
    COUNTERSIGN_PAPER_COUNT = "countersign_paper_count"  # 会签 of the hand count
    PUBLISH_PAPER_COUNT = "publish_paper_count"  # its result, once countersigned
    COUNTERSIGN_RESULT = "countersign_result"  # 会签 of a published result


# Who acts, besides the staff roles of rules/duties.py.
SERVER = None  # the server on its own (a deadline, a lost key) or its command line
TABLET = "tablet"  # the deputy's own tablet, after the deputy's PIN
Actor = str | None


@dataclass(frozen=True)
class Step:
    """One action: the states it may be taken in, the state it leads to
    (None: the state does not change), and who may take it."""

    sources: frozenset[State]
    target: State | None
    actors: frozenset[Actor]


def _step(sources: set[State], target: State | None, actors: set[Actor]) -> Step:
    return Step(frozenset(sources), target, frozenset(actors))


_V = VoteState
STEPS: Mapping[Action, Step] = {
    Action.EDIT: _step({_V.DRAFT}, None, {SECRETARIAT}),
    Action.OPEN: _step({_V.DRAFT}, _V.OPEN, {PRESIDIUM}),
    Action.PRESS: _step({_V.OPEN}, None, {TABLET}),
    Action.CLOSE: _step({_V.OPEN}, _V.CLOSED, {PRESIDIUM, SERVER}),
    Action.COUNT: _step({_V.CLOSED}, None, {SERVER}),
    Action.CANCEL: _step({_V.DRAFT, _V.OPEN}, _V.CANCELLED, {PRESIDIUM, SERVER}),
    Action.ANNOUNCE: _step({_V.CLOSED}, _V.ANNOUNCED, {PRESIDIUM}),
    Action.RERUN: _step({_V.CLOSED, _V.ANNOUNCED, _V.CANCELLED, PAPER}, None, {PRESIDIUM}),
    Action.ENTER_PAPER_COUNT: _step({_V.CANCELLED, PAPER}, PAPER, set(PAPER_COUNT_ENTERERS)),
    Action.COUNTERSIGN_PAPER_COUNT: _step({PAPER}, None, set(COUNTERSIGNERS["paper_count"])),
    Action.PUBLISH_PAPER_COUNT: _step({PAPER}, _V.CLOSED, {SERVER}),
    Action.COUNTERSIGN_RESULT: _step(
        {_V.CLOSED, _V.ANNOUNCED}, None, set(COUNTERSIGNERS["result"])
    ),
}

# What a countersignature (会签) is of: its ``subject`` in the log and on the pages.
COUNTERSIGN_ACTIONS: Mapping[str, Action] = {
    "paper_count": Action.COUNTERSIGN_PAPER_COUNT,
    "result": Action.COUNTERSIGN_RESULT,
}
SUBJECTS = tuple(COUNTERSIGN_ACTIONS)


class Unchecked(StrEnum):
    """``transition``'s role argument when the caller checks who acts elsewhere
    (e.g. a log entry that does not record a role)."""

    ANYONE = "anyone"


ANYONE = Unchecked.ANYONE


class LifecycleError(ValueError):
    """A step refused: ``state`` is not one ``action`` may be taken in, or
    ``role`` may not take it (then ``role_refused`` is true)."""

    def __init__(self, state: State, action: Action, message: str, role_refused: bool) -> None:
        super().__init__(message)
        self.state, self.action, self.role_refused = state, action, role_refused
        self.expected = STEPS[action].sources


def _actor_name(role: Actor) -> str:
    return "the server" if role is SERVER else f"role {role}"


def transition(state: State, action: Action, role: Actor | Unchecked = ANYONE) -> State:
    """The state after taking ``action`` in ``state`` as ``role``; raises
    ``LifecycleError`` naming what did not match (the state first).

    ``role``: a role of rules/duties.py, ``TABLET``, ``SERVER`` (None), or
    ``ANYONE`` when the caller checks who acts on its own."""
    step = STEPS[action]
    if state not in step.sources:
        expected = " or ".join(sorted(s.value for s in step.sources))
        message = f"{action.value} of a vote that is {state.value} (expected {expected})"
        raise LifecycleError(state, action, message, role_refused=False)
    if not isinstance(role, Unchecked):
        error = role_error(action, role)
        if error is not None:
            raise LifecycleError(state, action, error, role_refused=True)
    return state if step.target is None else step.target


def allowed(state: State, action: Action) -> bool:
    """Whether ``action`` may be taken in ``state`` (by whoever may take it)."""
    return state in STEPS[action].sources


def cancellable(state: State, awaiting_decryption: bool = False) -> bool:
    """Whether a vote may be cancelled: a draft or an open vote, or a trustee-mode vote
    closed whose result its scrutineers cannot decrypt (``awaiting_decryption``: closed,
    no result), which then goes to a paper count (docs/trustee-votes.md)."""
    return allowed(state, Action.CANCEL) or (awaiting_decryption and state is VoteState.CLOSED)


def role_error(action: Action, role: Actor) -> str | None:
    """Why ``role`` may not take ``action``, or None. The duties of a paper count
    answer in rules/duties.py's words; a countersignature also needs the signer to
    be designated for the sitting (``duties.countersign_error``)."""
    if action is Action.ENTER_PAPER_COUNT:
        return paper_count_error(role)
    if role not in STEPS[action].actors:
        return f"{_actor_name(role)} may not {action.value}"
    return None


def actors(action: Action) -> frozenset[Actor]:
    """Who may take ``action``."""
    return STEPS[action].actors


def staff_roles(action: Action) -> tuple[str, ...]:
    """The staff roles (rules/duties.py) that may take ``action``: what a console
    or page checks before it asks a service (the server and tablets are not staff)."""
    return tuple(sorted(a for a in STEPS[action].actors if a is not SERVER and a != TABLET))


def log_name(state: State) -> str:
    """A state as the log knows it: a draft is first logged by ``vote_configured``
    (when it opens or is cancelled), so the verifier calls it configured."""
    return "configured" if state is VoteState.DRAFT else state.value
