"""The lifecycle table (rules/lifecycle.py), on its own: every step it allows,
every state it refuses a step in, and who may take each — written out here by
hand from docs/lifecycle.md, so a change to the table shows up as a failure."""

from __future__ import annotations

import pytest

from rules.duties import PRESIDIUM, ROLES, SCRUTINEER, SECRETARIAT
from rules.lifecycle import (
    ANYONE,
    INITIAL,
    PAPER,
    SERVER,
    STATES,
    SUBJECTS,
    TABLET,
    Action,
    LifecycleError,
    State,
    VoteState,
    log_name,
    role_error,
    staff_roles,
    transition,
)
from voting_server import models

DRAFT, OPEN, CLOSED, CANCELLED, ANNOUNCED = VoteState

# (state, action) → the state after it; every pair not listed is refused.
ALLOWED: dict[tuple[State, Action], State] = {
    (DRAFT, Action.EDIT): DRAFT,
    (DRAFT, Action.OPEN): OPEN,
    (OPEN, Action.PRESS): OPEN,
    (OPEN, Action.CLOSE): CLOSED,
    (CLOSED, Action.COUNT): CLOSED,
    (DRAFT, Action.CANCEL): CANCELLED,
    (OPEN, Action.CANCEL): CANCELLED,
    (CLOSED, Action.ANNOUNCE): ANNOUNCED,
    (CLOSED, Action.RERUN): CLOSED,
    (ANNOUNCED, Action.RERUN): ANNOUNCED,
    (CANCELLED, Action.RERUN): CANCELLED,
    (PAPER, Action.RERUN): PAPER,
    (CANCELLED, Action.ENTER_PAPER_COUNT): PAPER,
    (PAPER, Action.ENTER_PAPER_COUNT): PAPER,  # a corrected count replaces the first
    (PAPER, Action.COUNTERSIGN_PAPER_COUNT): PAPER,
    (PAPER, Action.PUBLISH_PAPER_COUNT): CLOSED,
    (CLOSED, Action.COUNTERSIGN_RESULT): CLOSED,
    (ANNOUNCED, Action.COUNTERSIGN_RESULT): ANNOUNCED,
}

# action → who may take it (SERVER: the server on its own or its command line)
ACTORS: dict[Action, set[str | None]] = {
    Action.EDIT: {SECRETARIAT},
    Action.OPEN: {PRESIDIUM},
    Action.PRESS: {TABLET},
    Action.CLOSE: {PRESIDIUM, SERVER},
    Action.COUNT: {SERVER},
    Action.CANCEL: {PRESIDIUM, SERVER},
    Action.ANNOUNCE: {PRESIDIUM},
    Action.RERUN: {PRESIDIUM},
    Action.ENTER_PAPER_COUNT: {SECRETARIAT},
    Action.COUNTERSIGN_PAPER_COUNT: {SCRUTINEER},
    Action.PUBLISH_PAPER_COUNT: {SERVER},
    Action.COUNTERSIGN_RESULT: {PRESIDIUM, SCRUTINEER},
}
EVERYONE: tuple[str | None, ...] = (*ROLES, TABLET, SERVER)


def test_the_stored_states_are_the_database_column_values() -> None:
    assert models.VoteState is VoteState  # the models re-export the lifecycle's
    assert [s.value for s in VoteState] == ["draft", "open", "closed", "cancelled", "announced"]
    assert INITIAL is DRAFT and PAPER.value == "paper" and PAPER not in list(VoteState)


@pytest.mark.parametrize(("state", "action"), sorted(ALLOWED, key=str))
def test_every_allowed_step_leads_where_the_table_says(state: State, action: Action) -> None:
    assert transition(state, action) == ALLOWED[(state, action)]
    for actor in ACTORS[action]:
        assert transition(state, action, actor) == ALLOWED[(state, action)]


def test_every_other_step_is_refused_naming_the_state() -> None:
    refused = [(s, a) for s in STATES for a in Action if (s, a) not in ALLOWED]
    assert len(refused) == len(STATES) * len(Action) - len(ALLOWED)
    for state, action in refused:
        with pytest.raises(LifecycleError) as err:
            transition(state, action, next(iter(ACTORS[action])))
        assert not err.value.role_refused and err.value.state == state
        assert f"{action.value} of a vote that is {state.value} (expected " in str(err.value)


def test_refusal_messages() -> None:
    with pytest.raises(LifecycleError, match=r"^open of a vote that is closed \(expected draft\)$"):
        transition(CLOSED, Action.OPEN)
    with pytest.raises(
        LifecycleError, match=r"^cancel of a vote that is announced \(expected draft or open\)$"
    ):
        transition(ANNOUNCED, Action.CANCEL, PRESIDIUM)
    with pytest.raises(LifecycleError, match=r"^role secretariat may not open$") as err:
        transition(DRAFT, Action.OPEN, SECRETARIAT)
    assert err.value.role_refused
    with pytest.raises(LifecycleError, match=r"^the server may not announce$"):
        transition(CLOSED, Action.ANNOUNCE, SERVER)
    # the duties of a paper count answer in rules/duties.py's words
    with pytest.raises(LifecycleError, match=r"^a paper count is entered by the secretariat$"):
        transition(CANCELLED, Action.ENTER_PAPER_COUNT, PRESIDIUM)


@pytest.mark.parametrize("action", list(Action))
def test_only_the_listed_actors_may_take_each_step(action: Action) -> None:
    state = next(s for s, a in ALLOWED if a is action)
    for actor in EVERYONE:
        allowed = actor in ACTORS[action]
        assert (role_error(action, actor) is None) is allowed, (action, actor)
        if not allowed:
            with pytest.raises(LifecycleError):
                transition(state, action, actor)
    assert transition(state, action, ANYONE) == ALLOWED[(state, action)]


def test_the_log_calls_a_draft_configured() -> None:
    assert [log_name(s) for s in STATES] == [
        "configured", "open", "closed", "cancelled", "announced", "paper"
    ]  # fmt: skip
    assert SUBJECTS == ("paper_count", "result")


def test_the_console_checks_the_staff_roles_of_each_step() -> None:
    # the server and the tablets are not staff: the console's handlers need the roles only
    assert staff_roles(Action.OPEN) == staff_roles(Action.CLOSE) == (PRESIDIUM,)
    assert staff_roles(Action.COUNTERSIGN_RESULT) == (PRESIDIUM, SCRUTINEER)
    assert staff_roles(Action.PRESS) == staff_roles(Action.PUBLISH_PAPER_COUNT) == ()
