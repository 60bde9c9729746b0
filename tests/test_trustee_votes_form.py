"""The secretariat's vote form and trustee mode (监票人密钥加密, docs/trustee-votes.md):
the checkbox appears once the sitting's scrutineers have completed a key ceremony (before,
a note says the ceremony comes first); a secret motion, selection or evaluation is saved
in trustee mode; a named vote or live scoring is refused under the field, in Chinese,
and nothing is saved."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.support.live import LoggedIn, post_form
from tests.test_operator_pages import _new_vote_id, _text, _vote_form
from tests.test_trustee_ceremony_api import Sitting, players_for, run_ceremony
from voting_server.extensions import sessions
from voting_server.models import Vote

NEW = "/admin/sittings/items/1/votes/new"
CREATE = "/admin/sittings/items/1/votes"
CHECKBOX = 'name="trustees" value="1"'
NOTE = "监票人密钥加密须先由本次会议指定的监票人完成密钥仪式。"


def _key_ceremony(app: Flask) -> None:
    sitting = Sitting(app)
    state = sitting.start()
    assert run_ceremony(sitting, players_for(sitting, state), state["ceremony_id"])["phase"] == (
        "done"
    )


def _votes(app: Flask) -> int:
    with app.app_context(), sessions()() as s:
        return s.scalar(select(func.count()).select_from(Vote)) or 0


def test_without_a_key_ceremony_the_form_says_it_comes_first(
    live_app: Flask, secretariat: LoggedIn
) -> None:
    page = _text(secretariat.client.get(NEW))
    assert NOTE in page and CHECKBOX not in page


def test_after_the_ceremony_a_secret_selection_is_saved_in_trustee_mode(
    live_app: Flask, secretariat: LoggedIn
) -> None:
    _key_ceremony(live_app)
    page = _text(secretariat.client.get(NEW))
    assert CHECKBOX in page and "监票人密钥加密（可验证无记名）" in page and NOTE not in page
    form = _vote_form(secret="1", live_tally="hidden", key_policy="last_press", trustees="1")
    made = post_form(secretariat.client, CREATE, form)
    assert made.status_code == 302, _text(made)
    vote_id = _new_vote_id(made)
    with live_app.app_context(), sessions()() as s:
        vote = s.get(Vote, vote_id)
        assert vote is not None and vote.trustees and vote.secret
    assert f"{CHECKBOX} checked" in _text(secretariat.client.get(made.headers["Location"]))
    # unticked and saved again: back to the vote-key mode
    saved = post_form(secretariat.client, f"/admin/sittings/votes/{vote_id}",
                      {k: v for k, v in form.items() if k != "trustees"})  # fmt: skip
    assert saved.status_code == 302, _text(saved)
    with live_app.app_context(), sessions()() as s:
        vote = s.get(Vote, vote_id)
        assert vote is not None and not vote.trustees


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"secret": "0"}, "记名表决公开每位代表的选择，不能采用监票人密钥加密。"),
        ({"secret": "1", "live_tally": "hidden", "kind": "evaluation",
          "items": "县教育局\n县民政局", "eval_rule": "scores", "score_min": "0",
          "score_max": "100", "score_trim": "0", "score_pass": "60"},
         "只有无记名的议案、选举或测评表决才能采用监票人密钥加密"),
    ],
)  # fmt: skip
def test_a_named_vote_or_live_scoring_is_refused_trustee_mode(
    live_app: Flask, secretariat: LoggedIn, fields: dict[str, Any], message: str
) -> None:
    _key_ceremony(live_app)
    before = _votes(live_app)
    response = post_form(secretariat.client, CREATE, _vote_form(trustees="1", **fields))
    assert response.status_code == 400
    page = _text(response)
    assert 'id="trustees-error"' in page and message in page
    assert _votes(live_app) == before
