"""The bounds of everything a client sends: one home for the constrained types of
every payload model (the Socket.IO events, the kiosks' HTTP API; docs/protocol.md,
"Bounds").

An unbounded number once reached the database driver: a vote id of 2**63 made it
raise inside the group commit (issue 14). So every id, number and string a client
sends is bounded here, before any service sees it; a value out of bounds is an
``invalid_payload`` refusal naming the field. Strings are Unicode text (pydantic
refuses lone surrogates, which have no UTF-8 form for the log's canonical bytes).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from rules.kinds import SCORE_LIMIT
from voting_server.models import SEAT_MAX

# Every id column is an SQL INTEGER (32 bits on PostgreSQL, SERIAL): no row has a
# larger id, and a larger value must never reach a query.
MAX_ID = 2**31 - 1
DEVICE_ID_MAX = 40  # devices.id is String(40)
NONCE_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"  # presses.nonce is String(64)
SIGNATURE_MAX = 200  # base64 of a P-256 signature: 88 characters raw r‖s, 96 DER
MARK_MAX = 64  # a subject, candidate or mark of a ballot
BALLOT_ENTRIES_MAX = 500  # subjects of a motion or evaluation, candidates of a selection
BALLOTS_OFFSET_MAX = 999_999_999  # where a page of a vote's counted ballots starts
REASON_MAX = 200
PIN_PATTERN = r"^[0-9]{4,12}$"  # ASCII digits only: not '²', not '١٢'
DURATION_S = (10, 7200)  # a countdown: 10 seconds to 2 hours
ENROLLMENT_CODE_MAX = 32
PUBLIC_KEY_MAX = 1024  # base64 DER SPKI of a P-256 key: 124 characters

RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]
Seat = Annotated[int, Field(ge=1, le=SEAT_MAX)]
DeviceId = Annotated[str, Field(min_length=1, max_length=DEVICE_ID_MAX)]
Nonce = Annotated[str, Field(pattern=NONCE_PATTERN)]
Signature = Annotated[str, Field(min_length=1, max_length=SIGNATURE_MAX)]
Mark = Annotated[str, Field(max_length=MARK_MAX)]
# 现场打分: a department's score is an integer (the kind checks its range)
Score = Annotated[int, Field(ge=0, le=SCORE_LIMIT)]
Ballot = (
    Annotated[dict[Mark, Mark | Score], Field(max_length=BALLOT_ENTRIES_MAX)]
    | Annotated[list[Mark], Field(max_length=BALLOT_ENTRIES_MAX)]
)
# 监票人模式: an encrypted ballot (docs/trustee-crypto.md's wire form): 64 lowercase hex
# digits per element or scalar; a range proof has R + 1 values (R ≤ seats ≤ 500)
Hex32 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class RangeProofWire(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    c: Annotated[list[Hex32], Field(min_length=2, max_length=BALLOT_ENTRIES_MAX + 1)]
    v: Annotated[list[Hex32], Field(min_length=2, max_length=BALLOT_ENTRIES_MAX + 1)]


class SelectionWire(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    alpha: Hex32
    beta: Hex32
    proof: RangeProofWire


class ContestWire(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    selections: Annotated[list[SelectionWire], Field(min_length=1, max_length=BALLOT_ENTRIES_MAX)]
    proof: RangeProofWire


class EncryptedBallot(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    contests: Annotated[list[ContestWire], Field(min_length=1, max_length=BALLOT_ENTRIES_MAX)]


Reason = Annotated[str, Field(min_length=1, max_length=REASON_MAX)]
Pin = Annotated[str, Field(pattern=PIN_PATTERN)]
DurationS = Annotated[int, Field(ge=DURATION_S[0], le=DURATION_S[1])]
EnrollmentCode = Annotated[str, Field(min_length=1, max_length=ENROLLMENT_CODE_MAX)]
PublicKey = Annotated[str, Field(min_length=1, max_length=PUBLIC_KEY_MAX)]


class Payload(BaseModel):
    """A client's request body: exactly these fields, of exactly these JSON types (no
    "12" for 12, no 1.0 or true for 1), each within its bounds."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
