"""Kiosk enrollment and PINs: one-time codes, device keys in the audit log,
re-enrollment, the enrollment API and the secretariat's pages."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from flask import Flask
from sqlalchemy import func, select

from audit.verify import verify_log
from crypto import KioskKey, b64encode
from tests.support.bodies import only_body_id
from tests.support.live import (
    LoggedIn,
    body_id,
    enroll_kiosk,
    post_form,
)
from voting_server.extensions import audit_log, sessions
from voting_server.models import AuditEntry, Device, EnrollmentCode, Member
from voting_server.services import devices
from voting_server.services.audit_log import iter_lines
from voting_server.services.passwords import verify_secret
from voting_server.services.transactions import write_transaction
from voting_server.sockets.errors import Refusal
from voting_server.views.admin import enrollment_url


def _issue(app: Flask, seat: int, **kwargs: Any) -> str:
    with app.app_context(), write_transaction(sessions()) as s:
        return devices.issue_enrollment_code(s, body_id(app), seat, None, **kwargs)


def _enroll(app: Flask, code: str, public_key: str, **kwargs: Any) -> Device:
    with app.app_context(), write_transaction(sessions()) as s:
        device = devices.enroll_device(s, audit_log(), code, public_key, **kwargs)
        s.expunge(device)
    return device


def _snapshot(app: Flask) -> tuple[Any, ...]:
    """Everything enrollment may change: log, devices, codes."""
    with app.app_context(), sessions()() as s:
        return (
            s.scalars(select(AuditEntry.hash).order_by(AuditEntry.idx)).all(),
            s.execute(select(Device.id, Device.seat, Device.revoked_at)).all(),
            s.execute(select(EnrollmentCode.id, EnrollmentCode.used_at)).all(),
        )


def _entries(app: Flask) -> list[dict[str, Any]]:
    with app.app_context(), sessions()() as s:
        return [json.loads(line) for line in iter_lines(s, only_body_id(s))]


def _verifies(app: Flask) -> None:
    with app.app_context(), sessions()() as s:
        lines = list(iter_lines(s, only_body_id(s)))
        report = verify_log(lines, audit_log().key.public_bytes)
    assert report.ok, report.errors


def _refused(app: Flask, code: str, action: Any) -> Refusal:
    before = _snapshot(app)
    with pytest.raises(Refusal) as refused:
        action()
    assert refused.value.code == code, refused.value
    assert _snapshot(app) == before
    return refused.value


# --- enrollment codes and devices ----------------------------------------------------------


def test_a_code_is_eight_unambiguous_characters_stored_only_as_its_hash(live_app: Flask) -> None:
    code = _issue(live_app, 5)
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", code)
    with live_app.app_context(), sessions()() as s:
        record = s.scalars(select(EnrollmentCode)).one()
        assert record.seat == 5 and record.used_at is None
        assert code.replace("-", "") not in record.code_hash
        assert record.code_hash == devices.code_hash(code.lower().replace("-", " "))
        assert record.expires_at - record.created_at == timedelta(hours=24)


def test_a_good_code_enrolls_the_key_for_its_seat_and_logs_it(live_app: Flask) -> None:
    key = KioskKey.generate()
    code = _issue(live_app, 7)
    device = _enroll(live_app, code.lower().replace("-", ""), key.public.spki_b64)
    assert re.fullmatch(r"kd_[A-Za-z0-9_-]{16}", device.id)
    assert (device.seat, device.revoked_at) == (7, None)
    entry = _entries(live_app)[-1]
    assert entry["type"] == "device_enrolled"
    assert entry["data"] == {"device": device.id, "seat": 7, "public_key": key.public.spki_b64}
    with live_app.app_context(), sessions()() as s:
        assert s.scalars(select(EnrollmentCode.used_at)).one() is not None
    _verifies(live_app)


def test_used_expired_and_unknown_codes_and_foreign_keys_change_nothing(live_app: Flask) -> None:
    key = KioskKey.generate().public.spki_b64
    used = _issue(live_app, 1)
    _enroll(live_app, used, key)
    expired = _issue(live_app, 2, now=datetime.now(UTC) - timedelta(hours=25))
    fresh = _issue(live_app, 3)
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    ed = ed25519.Ed25519PrivateKey.generate().public_key()
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER

    other_key = KioskKey.generate().public.spki_b64
    for code, public_key, error, detail in [
        (used, other_key, "enrollment_used", "used"),
        (expired, other_key, "enrollment_expired", "expired"),
        ("ABCD-EFGH", other_key, "enrollment_unknown", "unknown"),
        (fresh, b64encode(p384.public_bytes(der, spki)), "invalid_payload", "P-256"),
        (fresh, b64encode(ed.public_bytes(der, spki)), "invalid_payload", "elliptic"),
        (fresh, "not base64!", "invalid_payload", "base64"),
        (fresh, b64encode(b"\x30\x03\x02\x01\x00"), "invalid_payload", "SubjectPublicKeyInfo"),
        (fresh, key, "enrollment_invalid", "another seat"),  # seat 1's tablet for seat 3
    ]:
        refused = _refused(live_app, error, lambda c=code, k=public_key: _enroll(live_app, c, k))
        assert detail in refused.detail, (detail, refused.detail)
    _enroll(live_app, fresh, other_key)  # the refusals left the fresh code usable


def test_a_second_tablet_for_an_active_seat_waits_for_the_presidium(live_app: Flask) -> None:
    """更换表决器: the secretariat's code makes a request, never a swap. The old tablet
    stays the seat's; the new one is pending — it cannot connect — and logged so."""
    old = enroll_kiosk(live_app, 9)
    new = enroll_kiosk(live_app, 9)
    requested = _entries(live_app)[-1]
    assert requested["type"] == "device_enrollment_requested"
    assert requested["data"] == {"device": new.device_id, "seat": 9, "replaces": old.device_id,
                                 "public_key": new.key.public.spki_b64}  # fmt: skip
    with live_app.app_context(), sessions()() as s:
        assert devices.usable_device(s, new.device_id) is None
        assert devices.is_pending(s, new.device_id)
        assert [d.id for d in devices.active_devices(s, old.body_id, 9)] == [old.device_id]
        (request,) = devices.replacement_requests(s, old.body_id)
        assert (request["device"], request["seat"], request["replaces"]) == (
            new.device_id, 9, old.device_id)  # fmt: skip
    # A third tablet supersedes the pending request: one request per seat at a time.
    third = enroll_kiosk(live_app, 9)
    revoked, requested = _entries(live_app)[-2:]
    assert revoked["data"] == {"device": new.device_id, "reason": "superseded"}
    assert requested["data"]["device"] == third.device_id
    with live_app.app_context(), sessions()() as s:
        assert [r["device"] for r in devices.replacement_requests(s, old.body_id)] == [
            third.device_id
        ]
    _verifies(live_app)


def test_revoking_first_does_not_let_the_secretariat_skip_the_presidium(
    live_app: Flask,
) -> None:
    old = enroll_kiosk(live_app, 12)
    with live_app.app_context(), write_transaction(sessions()) as s:
        devices.revoke_device(s, audit_log(), old.device_id, "平板丢失")
    new = enroll_kiosk(live_app, 12)
    assert _entries(live_app)[-1]["data"]["replaces"] is None
    with live_app.app_context(), sessions()() as s:
        assert devices.is_pending(s, new.device_id)
        assert devices.active_devices(s, old.body_id, 12) == []
    _verifies(live_app)


def test_a_new_code_voids_the_seats_earlier_unused_code(live_app: Flask) -> None:
    first = _issue(live_app, 4)
    second = _issue(live_app, 4)
    key = KioskKey.generate().public.spki_b64
    _refused(live_app, "enrollment_expired", lambda: _enroll(live_app, first, key))
    assert _enroll(live_app, second, key).seat == 4


def test_codes_are_only_for_seats_held_by_active_members(live_app: Flask) -> None:
    for seat in (0, 62, 99):
        _refused(live_app, "unknown_seat", lambda seat=seat: _issue(live_app, seat))
    with live_app.app_context(), write_transaction(sessions()) as s:
        codes = devices.issue_enrollment_codes(s, body_id(live_app), None)
    assert list(codes) == list(range(1, 62)) and len(set(codes.values())) == 61


def test_revoking_a_device_is_logged_and_cannot_be_repeated(live_app: Flask) -> None:
    kiosk = enroll_kiosk(live_app, 11)
    with live_app.app_context(), write_transaction(sessions()) as s:
        devices.revoke_device(s, audit_log(), kiosk.device_id, "平板丢失")
    assert _entries(live_app)[-1]["data"] == {"device": kiosk.device_id, "reason": "平板丢失"}

    def again() -> None:
        with live_app.app_context(), write_transaction(sessions()) as s:
            devices.revoke_device(s, audit_log(), kiosk.device_id, "again")

    _refused(live_app, "unknown_device", again)
    _verifies(live_app)


# --- PINs ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_issue_pins_gives_every_active_member_a_new_hashed_pin(live_app: Flask) -> None:
    body = body_id(live_app)
    with live_app.app_context(), write_transaction(sessions()) as s:
        member = s.scalar(select(Member).where(Member.body_id == body, Member.seat == 2))
        assert member is not None
        member.pin_failures, member.pin_locked_until = 4, datetime.now(UTC) + timedelta(hours=1)
        s.scalar(select(Member).where(Member.body_id == body, Member.seat == 61)).active = False  # type: ignore[union-attr]
    with live_app.app_context(), write_transaction(sessions()) as s:
        pins = devices.issue_pins(s, body)
    assert list(pins) == list(range(1, 61))
    assert all(re.fullmatch(r"[0-9]{6}", pin) for pin in pins.values())
    with live_app.app_context(), sessions()() as s:
        members = {m.seat: m for m in s.scalars(select(Member).where(Member.body_id == body))}
        for seat in (1, 2, 60):
            assert verify_secret(members[seat].pin_hash, pins[seat])
            assert pins[seat] not in (members[seat].pin_hash or "")
        assert (members[2].pin_failures, members[2].pin_locked_until) == (0, None)
        assert members[61].pin_hash is None


def test_set_pin_checks_the_pin_and_the_member(live_app: Flask) -> None:
    with live_app.app_context(), write_transaction(sessions()) as s:
        member_id = s.scalar(select(Member.id).where(Member.seat == 3))
        assert member_id is not None
        devices.set_pin(s, member_id, "004711")
        for pin, code in [("4711", "invalid_pin"), ("00471a", "invalid_pin")]:
            with pytest.raises(Refusal) as refused:
                devices.set_pin(s, member_id, pin)
            assert refused.value.code == code
        with pytest.raises(Refusal) as refused:
            devices.set_pin(s, 10_000, "123456")
        assert refused.value.code == "unknown_member"
    with live_app.app_context(), sessions()() as s:
        assert verify_secret(s.get(Member, member_id).pin_hash, "004711")  # type: ignore[union-attr]


# --- the enrollment API ------------------------------------------------------------------------


def test_a_used_an_expired_and_a_mistyped_code_each_say_what_to_do(live_app: Flask) -> None:
    """Staff at the tablet must know whether to retype the code or issue a new one: the
    three faults answer three codes and three Chinese messages, and change nothing."""
    client = live_app.test_client()
    used = _issue(live_app, 14)
    _enroll(live_app, used, KioskKey.generate().public.spki_b64)
    expired = _issue(live_app, 15, now=datetime.now(UTC) - timedelta(hours=25))
    mistyped = _issue(live_app, 16)
    mistyped = mistyped[:-1] + ("2" if mistyped[-1] != "2" else "3")  # one character off
    messages = {}
    for code, error in [(used, "enrollment_used"), (expired, "enrollment_expired"),
                        (mistyped, "enrollment_unknown")]:  # fmt: skip
        before = _snapshot(live_app)
        key = KioskKey.generate().public.spki_b64
        response = client.post("/api/kiosk/enroll", json={"code": code, "public_key": key})
        answer = response.get_json()
        assert (response.status_code, answer["ok"], answer["error"]) == (409, False, error)
        assert _snapshot(live_app) == before
        messages[error] = answer["message"]
    assert messages == {
        "enrollment_used": "该登记码已使用过，请为本座位重新生成登记码",
        "enrollment_expired": "该登记码已过期或已作废，请为本座位重新生成登记码",
        "enrollment_unknown": "登记码有误：没有这个登记码，请核对后重新输入",
    }


def test_the_enrollment_api_answers_device_seat_and_server_key(live_app: Flask) -> None:
    client = live_app.test_client()
    key = KioskKey.generate()
    code = _issue(live_app, 12)
    response = client.post(
        "/api/kiosk/enroll", json={"code": code, "public_key": key.public.spki_b64}
    )
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    with live_app.app_context():
        server_key = audit_log().key.public_b64
    assert answer == {"ok": True, "device": answer["device"], "seat": 12, "pending": False,
                      "server_key": server_key}  # fmt: skip
    assert answer["device"].startswith("kd_")

    again = client.post("/api/kiosk/enroll", json={"code": code, "public_key": key.public.spki_b64})
    assert again.status_code == 409
    refusal = again.get_json()
    assert refusal["ok"] is False and refusal["error"] == "enrollment_used"
    assert refusal["message"] == "该登记码已使用过，请为本座位重新生成登记码"


@pytest.mark.slow
@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"code": "ABCD-EFGH"},
        {"code": "ABCD-EFGH", "public_key": 5},
        {"code": "ABCD-EFGH", "public_key": "x", "extra": 1},
        {"code": "A" * 100, "public_key": "x"},
    ],
)
def test_the_enrollment_api_refuses_malformed_requests_with_400(live_app: Flask, body: Any) -> None:
    client = live_app.test_client()
    before = _snapshot(live_app)
    if body is None:
        response = client.post("/api/kiosk/enroll", data="code=1", content_type="text/plain")
    else:
        response = client.post("/api/kiosk/enroll", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_payload"
    assert _snapshot(live_app) == before


def test_the_enrollment_api_slows_down_guessing_per_address(live_app: Flask) -> None:
    client = live_app.test_client()
    key = KioskKey.generate().public.spki_b64
    for i in range(10):
        response = client.post(
            "/api/kiosk/enroll", json={"code": f"WRONG{i:03d}", "public_key": key}
        )
        assert response.status_code == 409
    code = _issue(live_app, 13)
    response = client.post("/api/kiosk/enroll", json={"code": code, "public_key": key})
    assert response.status_code == 429
    assert (
        response.get_json()["error"] == "rate_limited" and int(response.headers["Retry-After"]) > 0
    )
    other = live_app.test_client()
    response = other.post(
        "/api/kiosk/enroll",
        json={"code": code, "public_key": key},
        environ_base={"REMOTE_ADDR": "10.0.0.8"},
    )
    assert response.status_code == 200


# --- the secretariat's pages ---------------------------------------------------------------


def test_an_enrollment_code_page_shows_the_code_and_a_qr_once(
    live_app: Flask,
    secretariat: LoggedIn,
) -> None:
    client = secretariat.client
    response = post_form(client, "/admin/enrollment", {"seat": "8"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    code = re.search(r'<p class="code">([2-9A-Z]{4}-[2-9A-Z]{4})</p>', html)
    assert code, html
    assert "第 8 座" in html and "只显示这一次" in html and '<svg class="qr"' in html
    assert "0123456789" not in html
    kiosk = live_app.test_client().post(
        "/api/kiosk/enroll",
        json={"code": code.group(1), "public_key": KioskKey.generate().public.spki_b64},
    )
    assert kiosk.get_json()["seat"] == 8
    assert "无法生成登记码" in post_form(client, "/admin/enrollment", {"seat": "99"}).get_data(
        as_text=True
    )
    # The devices page lists the seat as enrolled.
    page = client.get("/admin/devices").get_data(as_text=True)
    assert "已登记 <strong>1</strong> / 61" in page
    assert kiosk.get_json()["device"] in page


def test_the_qr_code_holds_the_server_address_and_the_code_only() -> None:
    assert (
        enrollment_url("https://10.0.0.5", "K7QM-4XPA") == "https://10.0.0.5/kiosk#enroll=K7QM-4XPA"
    )


def test_the_enrollment_sheet_has_a_code_for_every_seat_in_pages(
    live_app: Flask,
    secretariat: LoggedIn,
) -> None:
    response = post_form(secretariat.client, "/admin/enrollment/sheet", {"per_page": "6"})
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    codes = re.findall(r'<p class="code">([2-9A-Z]{4}-[2-9A-Z]{4})</p>', html)
    assert len(codes) == 61 and len(set(codes)) == 61
    assert html.count('<section class="page">') == 11  # 61 seats, 6 per page
    assert html.count('<svg class="qr"') == 61
    key = KioskKey.generate().public.spki_b64
    assert _enroll(live_app, codes[60], key).seat == 61


@pytest.mark.slow
def test_the_pin_slips_are_shown_once_and_the_pins_work(
    live_app: Flask,
    secretariat: LoggedIn,
) -> None:
    client = secretariat.client
    assert "只显示一次" in client.get("/admin/pins").get_data(as_text=True)
    response = post_form(client, "/admin/pins")
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "只显示这一次" in html
    slips = re.findall(
        r'<p class="seat">第 (\d+) 座　[^<]+</p>\s*<p>签到密码：</p>\s*<p class="pin">(\d{6})</p>',
        html,
    )
    assert len(slips) == 61
    with live_app.app_context(), sessions()() as s:
        hashes = {r.seat: r.pin_hash for r in s.execute(select(Member.seat, Member.pin_hash))}
        for seat, pin in slips[:3] + slips[-2:]:
            assert verify_secret(hashes[int(seat)], pin)


@pytest.mark.slow
def test_revoking_from_the_devices_page(live_app: Flask, secretariat: LoggedIn) -> None:
    kiosk = enroll_kiosk(live_app, 20)
    client = secretariat.client
    assert "停用终端" in client.get("/admin/devices").get_data(as_text=True)
    assert client.post(f"/admin/devices/{kiosk.device_id}/revoke").status_code == 400  # no token
    assert post_form(client, f"/admin/devices/{kiosk.device_id}/revoke").status_code == 302
    assert _entries(live_app)[-1]["data"] == {"device": kiosk.device_id, "reason": "秘书处停用"}
    with live_app.app_context(), sessions()() as s:
        assert s.scalar(select(func.count(Device.id)).where(Device.revoked_at.is_(None))) == 0
    assert post_form(client, f"/admin/devices/{kiosk.device_id}/revoke").status_code == 400
