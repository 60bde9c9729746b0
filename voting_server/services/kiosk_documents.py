"""The documents (议程文件) a kiosk may open: those of its body's current sitting.

A kiosk asks for a document over its authenticated Socket.IO connection
(``document_link``) and gets a short-lived signed link; the tablet's browser
then fetches the document over plain HTTP with that link, without a session
(the kiosk has none: it proves itself with its device key). The token names
the document and the device, so a link is good for that document only, and
only while the device is enrolled and the document is on the current agenda.
"""

from __future__ import annotations

from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from voting_server.models import Document
from voting_server.services import attendance, devices

LINK_TTL_S = 600  # a link is fetched at once; ten minutes covers a slow tablet
SALT = "voting.kiosk-document-link"  # its own salt: no other signed value is a link


def _serializer(secret_key: str | bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def sitting_document(session: Session, body_id: int, document_id: int) -> Document | None:
    """The document if it belongs to an agenda item of the body's current sitting."""
    sitting = attendance.current_sitting(session, body_id)
    if sitting is None:
        return None
    document = session.get(Document, document_id)
    if document is None or document.agenda_item.sitting_id != sitting.id:
        return None
    return document


def issue_token(secret_key: str | bytes, document_id: int, device_id: str) -> str:
    return _serializer(secret_key).dumps({"document": document_id, "device": device_id})


def token_device(secret_key: str | bytes, token: str, document_id: int) -> str | None:
    """The device a valid, unexpired token for ``document_id`` was issued to, else None."""
    try:
        claims = _serializer(secret_key).loads(token, max_age=LINK_TTL_S)
    except BadData:  # bad signature, expired, malformed
        return None
    if not isinstance(claims, dict) or claims.get("document") != document_id:
        return None
    device = claims.get("device")
    return device if isinstance(device, str) else None


def linked_document(
    session: Session, secret_key: str | bytes, token: str, document_id: int
) -> Document | None:
    """The document a link opens: the token is valid for it, its device still enrolled,
    and the document still on the current agenda of the device's body; else None."""
    device_id = token_device(secret_key, token, document_id)
    if device_id is None:
        return None
    device = devices.usable_device(session, device_id)
    if device is None:
        return None
    return sitting_document(session, device.body_id, document_id)
