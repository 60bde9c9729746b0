"""Refusals: the domain's answer "no", by code, with what the caller may do next.

Every service refuses with ``Refusal(code, detail)``; a refusal changes
nothing. The codes are those of docs/protocol.md. What a person reads — the
Chinese message and its English, and the shape of a Socket.IO or HTTP answer
— is the shell's (sockets/errors.py): this module knows no language and no
transport, so the services import nothing of Flask.
"""

from __future__ import annotations

from collections.abc import Mapping

from audit.trustee_ceremony import CODES as CEREMONY_CODES  # the key ceremony's refusals

# A ``retry`` refusal may be resent unchanged (same nonce): the request was not refused
# for what it says but for the moment it came (rate limit, database away, server busy).
RETRYABLE: frozenset[str] = frozenset({"rate_limited", "database_unavailable", "server_busy"})

CODES: frozenset[str] = (
    RETRYABLE
    | frozenset(CEREMONY_CODES)
    | frozenset(
        {
            "invalid_payload",
            "not_authenticated",
            "forbidden",
            "unknown_device",
            "bad_signature",
            "unknown_vote",
            "vote_not_open",
            "vote_not_draft",
            "vote_not_closed",
            "vote_already_open",
            "no_quorum",
            "not_signed_in",
            "pin_required",
            "device_pending",
            "unknown_request",
            "already_signed_in",
            "wrong_seat",
            "invalid_ballot",
            "bad_proof",  # a trustee-mode ballot whose proofs do not verify
            "trustees_unsupported",
            "trustees_no_key",
            "awaiting_decryption",
            "decryption_not_trustee",
            "decryption_not_ready",
            "decryption_duplicate",
            "decryption_bad_proof",
            "already_voted",
            "nonce_reused",
            "pin_invalid",
            "pin_locked",
            "no_pin",
            "no_sitting",
            "unknown_member",
            "unknown_document",
            "unknown_agenda_item",
            "bad_configuration",
            "enrollment_invalid",
            "enrollment_unknown",
            "enrollment_used",
            "enrollment_expired",
            "unknown_seat",
            "unknown_user",
            "unknown_body",
            "username_taken",
            "invalid_username",
            "weak_password",
            "login_failed",
            "invalid_pin",
            "vote_has_result",
            "no_paper_count",
            "already_countersigned",
            "invalid_paper_count",
            "vote_still_open",
            "vote_never_opened",
            "cancel_without_reason",
            "present_differs",
            "not_designated",
            "invalid_designation",
            "voting_started",
            "not_a_voter",
            "too_few_attending",
            "requirement_not_met",
            "internal_error",
        }
    )
)


class Refusal(Exception):
    """Raised by services to refuse a request; the shell turns it into the answer.

    ``detail`` is for the record and the operator (a field name, a count), never
    translated; the code alone decides the message. ``data`` is what a screen needs to
    word it more precisely (a PIN's tries left, the end of a lock): plain JSON values,
    sent with the answer as ``data``."""

    def __init__(
        self, code: str, detail: str = "", *, data: Mapping[str, object] | None = None
    ) -> None:
        if code not in CODES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail
        self.data = dict(data) if data else None
