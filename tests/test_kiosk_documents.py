"""The tablets open the documents of the agenda (议程文件, docs/protocol.md
``document_link`` and ``GET /kiosk/documents/<id>``).

What a deputy's tablet would see: the vote names its agenda item's documents,
the kiosk asks for a link and the link downloads the bytes, with headers that
keep an uploaded page from running script in the kiosk's origin. What an
attacker would try: a forged, expired or borrowed token, a document of another
body or of no sitting, malformed payloads, a staff connection asking — each is
refused with its code, and the link gives a 403 page.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from tests.support.live import (
    LoggedIn,
    enroll_kiosk,
    kiosk_socket,
    staff_socket,
)
from voting_server.extensions import audit_log, sessions
from voting_server.models import AgendaItem, Body, BodyKind, BodyLevel, Document, Sitting, Vote
from voting_server.services import devices
from voting_server.services.kiosk_documents import LINK_TTL_S, SALT
from voting_server.services.transactions import write_transaction
from voting_server.sockets.errors import MESSAGES

PDF = b"%PDF-1.4\n% a draft regulation\n%%EOF\n"
# An upload that would run script if it were served as a page of the kiosk's origin.
HOSTILE_HTML = (
    b"<html><body><script>indexedDB.deleteDatabase('voting-kiosk')</script></body></html>"
)


def add_document(app: Flask, item_id: int, title: str, media_type: str, content: bytes) -> int:
    with app.app_context(), write_transaction(sessions()) as s:
        document = Document(
            agenda_item_id=item_id,
            title=title,
            filename=f"{title}.bin",
            media_type=media_type,
            content=content,
        )
        s.add(document)
        s.flush()
        return document.id


def first_voted_item(app: Flask) -> int:
    """The demo's first agenda item with a vote (the one the tablets show)."""
    with app.app_context(), sessions()() as s:
        vote = s.scalars(select(Vote).order_by(Vote.id).limit(1)).one()
        return vote.agenda_item_id


def other_body_document(app: Flask) -> int:
    """A document on the agenda of another body's current sitting."""
    with app.app_context(), write_transaction(sessions()) as s:
        body = Body(name="另一人大常委会", kind=BodyKind.STANDING_COMMITTEE, level=BodyLevel.COUNTY)
        sitting = Sitting(body=body, title="第一次会议", starts_at=datetime.now(UTC))
        item = AgendaItem(sitting=sitting, position=1, title="另一议程")
        document = Document(
            agenda_item=item,
            title="另一文件",
            filename="other.pdf",
            media_type="application/pdf",
            content=PDF,
        )
        s.add_all([body, sitting, item, document])
        s.flush()
        return document.id


def link(sio: Any, payload: Any) -> dict[str, Any]:
    answer = sio.emit("document_link", payload, callback=True)
    assert isinstance(answer, dict), answer
    return answer


def refused(answer: dict[str, Any], code: str) -> None:
    assert answer["ok"] is False, answer
    assert answer["error"] == code, answer
    assert answer["message"] == MESSAGES[code][0]  # Chinese unless the kiosk chose English


def expect_forbidden_page(app: Flask, url: str) -> None:
    response = app.test_client().get(url)
    assert response.status_code == 403
    assert response.mimetype == "text/html"
    assert "文件链接无效或已过期" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert PDF not in response.get_data()


@pytest.fixture
def documents(live_app: Flask) -> dict[str, int]:
    item = first_voted_item(live_app)
    return {
        "pdf": add_document(live_app, item, "条例草案", "application/pdf", PDF),
        "html": add_document(live_app, item, "说明", "text/html", HOSTILE_HTML),
        "other_body": other_body_document(live_app),
    }


@pytest.mark.slow
def test_the_vote_lists_its_documents_and_a_kiosk_downloads_one(
    live_app: Flask, presidium: LoggedIn, documents: dict[str, int]
) -> None:
    console = staff_socket(live_app, presidium.client)
    state = console.emit("state", {}, callback=True)["state"]
    listed = next(
        vote["agenda_item"]["documents"]
        for item in state["agenda"]
        for vote in item["votes"]
        if item["id"] == first_voted_item(live_app)
    )
    assert listed == [
        {"id": documents["pdf"], "title": "条例草案", "media_type": "application/pdf"},
        {"id": documents["html"], "title": "说明", "media_type": "text/html"},
    ]  # titles and types, never the content

    sio, _ = kiosk_socket(live_app, enroll_kiosk(live_app, seat=4))
    for name, content, media_type in (
        ("pdf", PDF, "application/pdf"),
        ("html", HOSTILE_HTML, "text/html"),
    ):
        answer = link(sio, {"document": documents[name]})
        assert answer["ok"] is True, answer
        url = answer["url"]
        assert url.startswith(f"/kiosk/documents/{documents[name]}?t=")
        response = live_app.test_client().get(url)  # no session, no cookie
        assert response.status_code == 200
        assert response.get_data() == content
        assert response.mimetype == media_type
        assert response.headers["Content-Disposition"].startswith("inline")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        # HTML runs in no origin of ours; a PDF goes to the browser's viewer (which
        # refuses a sandboxed document), its type pinned by nosniff. Either may be
        # shown only in a frame of this server's own pages (the kiosk's).
        csp = response.headers.get("Content-Security-Policy")
        sandbox = "" if name == "pdf" else "sandbox; "
        assert csp == f"{sandbox}frame-ancestors 'self'"
        assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert response.headers["Cache-Control"] == "no-store"


def test_forged_expired_or_borrowed_links_are_403(
    live_app: Flask, documents: dict[str, int]
) -> None:
    kiosk = enroll_kiosk(live_app, seat=5)
    sio, _ = kiosk_socket(live_app, kiosk)
    pdf, html = documents["pdf"], documents["html"]
    token = link(sio, {"document": pdf})["url"].split("?t=", 1)[1]
    secret = live_app.config["SECRET_KEY"]

    # Signed with another key: a forgery.
    forged = URLSafeTimedSerializer("not the server's key", salt=SALT).dumps(
        {"document": pdf, "device": kiosk.device_id}
    )
    expect_forbidden_page(live_app, f"/kiosk/documents/{pdf}?t={forged}")
    # The right key, another salt: a value the server signed for something else.
    other_salt = URLSafeTimedSerializer(secret, salt="another-purpose").dumps(
        {"document": pdf, "device": kiosk.device_id}
    )
    expect_forbidden_page(live_app, f"/kiosk/documents/{pdf}?t={other_salt}")

    # Issued by the server's key more than ten minutes ago.
    class Earlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - LINK_TTL_S - 60

    expired = URLSafeTimedSerializer(secret, salt=SALT, signer=Earlier).dumps(
        {"document": pdf, "device": kiosk.device_id}
    )
    expect_forbidden_page(live_app, f"/kiosk/documents/{pdf}?t={expired}")

    # The PDF's token at the other document's address; a tampered token; none at all.
    expect_forbidden_page(live_app, f"/kiosk/documents/{html}?t={token}")
    expect_forbidden_page(live_app, f"/kiosk/documents/{pdf}?t={token[:-2]}xx")
    expect_forbidden_page(live_app, f"/kiosk/documents/{pdf}")

    # The genuine link works until the device is revoked (停用).
    assert live_app.test_client().get(f"/kiosk/documents/{pdf}?t={token}").status_code == 200
    with live_app.app_context(), write_transaction(sessions()) as s:
        devices.revoke_device(s, audit_log(), kiosk.device_id, "测试停用")
    expect_forbidden_page(live_app, f"/kiosk/documents/{pdf}?t={token}")


@pytest.mark.slow
def test_documents_outside_the_sitting_and_malformed_payloads_are_refused(
    live_app: Flask, presidium: LoggedIn, documents: dict[str, int]
) -> None:
    sio, _ = kiosk_socket(live_app, enroll_kiosk(live_app, seat=6))
    refused(link(sio, {"document": documents["other_body"]}), "unknown_document")
    refused(link(sio, {"document": 999_999}), "unknown_document")
    for payload in (
        None,
        [],
        "1",
        {},
        {"document": 0},
        {"document": -1},
        {"document": "1"},
        {"document": 1.0},
        {"document": True},
        {"document": documents["pdf"], "extra": 1},
    ):
        refused(link(sio, payload), "invalid_payload")

    # Only a kiosk asks for links: staff open documents on the agenda pages.
    console = staff_socket(live_app, presidium.client)
    refused(link(console, {"document": documents["pdf"]}), "forbidden")
