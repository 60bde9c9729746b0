"""The scrutineer's trustee page (监票人密钥页, docs/trustees.md): one page on which a
designated scrutineer's own browser takes part in the sitting's key ceremony and, later,
decrypts the trustee-mode votes' sums. The page only serves the HTML; everything it does
goes through the JSON API of views/trustees.py, and every secret stays in the browser
(static/js/trustee.js).

- ``GET /trustees/``: the page for the selected body's sitting in progress.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from voting_server.extensions import db
from voting_server.models import StaffRole
from voting_server.services import attendance
from voting_server.views.auth import current_user, login_required, message_page
from voting_server.views.common import no_body_page, selected_body

bp = Blueprint("trustee_page", __name__, url_prefix="/trustees")


@bp.get("/")
@login_required(StaffRole.SCRUTINEER)
def index() -> ResponseReturnValue:
    body = selected_body()
    if body is None:
        return no_body_page()
    sitting = attendance.current_sitting(db(), body.id)
    if sitting is None:
        return message_page(gettext("监票人密钥"), gettext("目前没有进行中的会议。"), 404)
    user = current_user()
    assert user is not None  # login_required
    return render_template("trustees/page.html", body=body, sitting=sitting, user=user)
