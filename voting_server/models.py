"""Persistent records: bodies, members, sittings, agendas, votes, attendance.

SQLAlchemy 2.x typed mappings. The schema itself is created only by the
Alembic migrations (``voting_server/migrations``); a test checks that the
migrated schema and these mappings agree.

Vocabulary of votes (kinds, thresholds, key policies) is imported from
``rules.kinds``; the enums defined here are about records, not rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from rules.congress import (
    DEFAULT_ELECTORATE,
    DEFAULT_PRESIDIUM,
    DEFAULT_ROLE,
    Electorate,
    MemberRole,
    PresidiumSeat,
)
from rules.duties import BASIS_MAX
from rules.kinds import (
    DEFAULT_KEY_POLICY,
    DEFAULT_LIVE_TALLY,
    DEFAULT_SECRET,
    KeyPolicy,
    LiveTally,
    VoteSpec,
    kind_of,
)
from rules.lifecycle import VoteState  # the column's values; importers of models keep it
from rules.records import LEAVE_REASON_MAX
from rules.schema import SchemaError, parse_vote_config

# Every constraint gets a predictable name, so later migrations (and SQLite's
# batch mode, which rebuilds tables) can refer to it.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

PRESENT_REASON_MAX = 200  # why a paper count's 实到 differs from the sign-ins
NAME_MAX = 50  # a member's name: Chinese names are 2–4 characters, transliterations longer
GROUP_MAX = 100
TITLE_MAX = 500  # agenda and vote titles quote whole draft names: 关于《……条例（草案）》的表决
SEAT_MAX = 99_999
VENUE_MAX = 50  # 主会场 / 第一分会场 …


class BodyKind(StrEnum):
    CONGRESS = "congress"  # 人民代表大会
    STANDING_COMMITTEE = "standing_committee"  # 常务委员会


class BodyLevel(StrEnum):
    CITY = "city"  # 市
    COUNTY = "county"  # 县（区）
    TOWNSHIP = "township"  # 乡镇 (no standing committee at this level)


class SittingStatus(StrEnum):
    PLANNED = "planned"  # 筹备: agenda being prepared
    OPEN = "open"  # 举行中: members sign in, votes can be opened
    CLOSED = "closed"  # 闭会


class AttendanceMethod(StrEnum):
    KIOSK_PIN = "kiosk_pin"  # the member signed in at the seat's tablet with a PIN
    OPERATOR = "operator"  # 工作人员代为签到, e.g. a failed tablet


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so values are
    stored as naive UTC and made aware again on load. Naive datetimes are
    refused: whose local time would they be?
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()}: give a timezone-aware time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _enum(cls: type[StrEnum], name: str) -> SAEnum:
    """A string column holding the enum's values (not its Python names), with a CHECK."""
    return SAEnum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,  # room for values added later without altering the column
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Body(Base):
    """A people's congress or its standing committee (e.g. 示例市人大常委会)."""

    __tablename__ = "bodies"
    __table_args__ = (
        CheckConstraint("member_count >= 0", name="member_count_nonnegative"),
        # 乡镇人大 has a presidium but no standing committee (地方组织法).
        CheckConstraint(
            "NOT (kind = 'standing_committee' AND level = 'township')", name="no_township_committee"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[BodyKind] = mapped_column(_enum(BodyKind, "body_kind"))
    level: Mapped[BodyLevel] = mapped_column(_enum(BodyLevel, "body_level"))
    # 全体组成人员 (应到): the statutory base of thresholds — deputies only, never the
    # 列席 attendees on the roster. Set from the roster.
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    # What the hall display (会场大屏) shows, as the presidium chose it (services/display.py):
    # a stage name, its agenda item or vote, and when. None: it follows the votes.
    display_stage: Mapped[str | None] = mapped_column(String(16))
    display_target: Mapped[int | None] = mapped_column(Integer)
    display_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    members: Mapped[list[Member]] = relationship(back_populates="body", order_by="Member.seat")
    sittings: Mapped[list[Sitting]] = relationship(
        back_populates="body", order_by="Sitting.starts_at"
    )

    def __repr__(self) -> str:
        return f"<Body {self.id} {self.name!r}>"


class Member(Base):
    """A seat-holder of a body (代表 / 组成人员), or an attendee (列席) with a seat's
    tablet who never votes. Removed members stay, inactive."""

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("body_id", "seat"),
        CheckConstraint(f"seat BETWEEN 1 AND {SEAT_MAX}", name="seat_range"),
        # The presidium is elected from the deputies (rules/congress.py).
        CheckConstraint("role = 'deputy' OR presidium = 'none'", name="presidium_deputies_only"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id"))  # indexed by (body_id, seat)
    seat: Mapped[int] = mapped_column(Integer)  # 座位号
    name: Mapped[str] = mapped_column(String(NAME_MAX))  # 姓名
    group_name: Mapped[str | None] = mapped_column(String(GROUP_MAX))  # 代表团 / 组别
    role: Mapped[MemberRole] = mapped_column(
        _enum(MemberRole, "member_role"), default=DEFAULT_ROLE, server_default=DEFAULT_ROLE.value
    )
    presidium: Mapped[PresidiumSeat] = mapped_column(
        _enum(PresidiumSeat, "presidium_seat"),
        default=DEFAULT_PRESIDIUM,
        server_default=DEFAULT_PRESIDIUM.value,
    )
    pin_hash: Mapped[str | None] = mapped_column(String(255))  # set at kiosk enrollment
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Wrong PINs in a row, and until when sign-in is refused after too many.
    pin_failures: Mapped[int] = mapped_column(Integer, default=0)
    pin_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    body: Mapped[Body] = relationship(back_populates="members")

    def __repr__(self) -> str:
        return f"<Member {self.body_id}/{self.seat} {self.name!r}>"


class Sitting(Base):
    """A sitting (会议) of a body, e.g. 第二十次会议."""

    __tablename__ = "sittings"

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[SittingStatus] = mapped_column(
        _enum(SittingStatus, "sitting_status"), default=SittingStatus.PLANNED
    )

    body: Mapped[Body] = relationship(back_populates="sittings")
    agenda_items: Mapped[list[AgendaItem]] = relationship(
        back_populates="sitting", order_by="AgendaItem.position"
    )
    attendances: Mapped[list[Attendance]] = relationship(back_populates="sitting")


class AgendaItem(Base):
    """An item of a sitting's agenda (议程), in order."""

    __tablename__ = "agenda_items"
    __table_args__ = (UniqueConstraint("sitting_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sittings.id"))  # indexed by the unique pair
    position: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 … in the order of the agenda
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")

    sitting: Mapped[Sitting] = relationship(back_populates="agenda_items")
    documents: Mapped[list[Document]] = relationship(
        back_populates="agenda_item", order_by="Document.id"
    )
    votes: Mapped[list[Vote]] = relationship(back_populates="agenda_item", order_by="Vote.id")


class Document(Base):
    """A document of an agenda item (a draft, a report), shown on the tablets."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    agenda_item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(127))  # e.g. application/pdf
    # Deferred: listing an agenda's documents must not load every PDF.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)

    agenda_item: Mapped[AgendaItem] = relationship(back_populates="documents")


class Vote(Base):
    """One vote (表决 / 票决 / 测评) on an agenda item.

    ``config`` is the canonical vote configuration (``VoteSpec.to_json()``,
    every default explicit, so a later change of defaults cannot change a
    stored vote); ``titles`` maps each subject or candidate id to the title
    shown on the tablets. Set both with ``configure``; read with ``spec``.
    """

    __tablename__ = "votes"

    id: Mapped[int] = mapped_column(primary_key=True)
    agenda_item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    # A registered kind's name (rules.kinds.registry). No CHECK lists the kinds: a kind
    # is added by registering its module, not by migrating the database (0007).
    kind: Mapped[str] = mapped_column(String(32))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    titles: Mapped[dict[str, str]] = mapped_column(JSON)
    secret: Mapped[bool] = mapped_column(Boolean, default=DEFAULT_SECRET)  # 无记名
    key_policy: Mapped[KeyPolicy] = mapped_column(
        _enum(KeyPolicy, "key_policy"), default=DEFAULT_KEY_POLICY
    )
    live_tally: Mapped[LiveTally] = mapped_column(
        _enum(LiveTally, "live_tally"), default=DEFAULT_LIVE_TALLY
    )
    state: Mapped[VoteState] = mapped_column(
        _enum(VoteState, "vote_state"), default=VoteState.DRAFT
    )
    # 再次投票 / 另行投票 / a re-run after a void vote: the vote this one repeats.
    rerun_of_id: Mapped[int | None] = mapped_column(ForeignKey("votes.id"), index=True)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # deadline, if any
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Snapshot at opening: 应到 is fixed for the vote even if the roster changes.
    members_at_open: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # as published at close
    manual: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")  # 人工计票
    # Who votes: the body's deputies, or only its presidium (主席团会议).
    electorate: Mapped[Electorate] = mapped_column(
        _enum(Electorate, "electorate"),
        default=DEFAULT_ELECTORATE,
        server_default=DEFAULT_ELECTORATE.value,
    )
    # The vote that must have been adopted before this one may open (e.g. the presidium's
    # 提交大会表决 before the congress's livelihood-project ballot).
    requires_vote_id: Mapped[int | None] = mapped_column(ForeignKey("votes.id"), index=True)
    # Trustee mode (docs/trustee-votes.md): a secret vote whose ballots are encrypted on
    # the tablets to the sitting's joint key; ``trustee_data`` is set at open (the
    # ``trustees`` object of ``vote_opened`` and the public shares), gains the aggregates
    # at close and each scrutineer's decryption shares (services/trustee_votes.py).
    trustees: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    trustee_data: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    agenda_item: Mapped[AgendaItem] = relationship(back_populates="votes")
    rerun_of: Mapped[Vote | None] = relationship(remote_side=[id], foreign_keys=[rerun_of_id])
    requires_vote: Mapped[Vote | None] = relationship(
        remote_side=[id], foreign_keys=[requires_vote_id]
    )

    def owner_body_id(self) -> int:
        """The body whose sitting holds this vote: its entries go to that body's log."""
        return self.agenda_item.sitting.body_id

    def configure(self, config: Mapping[str, Any], titles: Mapping[str, str]) -> VoteSpec:
        """Validate and store a vote configuration (CONTRACTS.md §2 ``vote`` object).

        ``titles`` must give a non-empty title for exactly the subject (or
        candidate) ids of the configuration. Raises SchemaError naming the field.
        """
        spec = parse_vote_config(dict(config))
        ids = _ids(spec)
        missing = [i for i in ids if i not in titles]
        extra = [k for k in titles if k not in ids]
        if missing or extra:
            raise SchemaError(
                "titles", f"need titles for exactly {list(ids)}; missing {missing}, extra {extra}"
            )
        for i in ids:
            title = titles[i]
            if not isinstance(title, str) or not title.strip() or len(title) > TITLE_MAX:
                raise SchemaError(
                    f"titles.{i}", f"a title of 1 to {TITLE_MAX} characters is needed"
                )
        self.kind = spec.kind
        self.config = spec.to_json()
        self.titles = {i: titles[i].strip() for i in ids}
        return spec

    def spec(self) -> VoteSpec:
        """The stored configuration, validated again (it may have been edited in the database)."""
        spec = parse_vote_config(self.config)
        if spec.kind != self.kind:
            raise SchemaError("kind", f"column says {self.kind}, config says {spec.kind}")
        return spec

    def options(self) -> list[tuple[str, str]]:
        """(id, title) of each subject or candidate, in ballot order."""
        return [(i, self.titles[i]) for i in _ids(self.spec())]


def _ids(spec: VoteSpec) -> tuple[str, ...]:
    return kind_of(spec.kind).items(spec)


class Attendance(Base):
    """A member's sign-in (签到) for a sitting: 实到 counts these rows."""

    __tablename__ = "attendances"
    __table_args__ = (UniqueConstraint("sitting_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sittings.id"))  # indexed by the unique pair
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    signed_in_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    method: Mapped[AttendanceMethod] = mapped_column(_enum(AttendanceMethod, "attendance_method"))
    # The tablet on which the member entered their own PIN in this sitting (None: marked
    # present by staff, 代为签到, and no PIN yet). Only that tablet's ballots are accepted.
    pin_device: Mapped[str | None] = mapped_column(String(40))

    sitting: Mapped[Sitting] = relationship(back_populates="attendances")
    member: Mapped[Member] = relationship()


class StaffRole(StrEnum):
    """Who a staff account acts as; each role sees and does only its own part."""

    PRESIDIUM = "presidium"  # 主持人 / 主席团: opens, closes, cancels, announces
    SECRETARIAT = "secretariat"  # 秘书处: roster, agenda, devices, staff accounts
    SCRUTINEER = "scrutineer"  # 监票人: reads the log, countersigns
    DISPLAY = "display"  # 大屏: read-only hall display


class StaffUser(Base):
    """A staff account. Passwords are stored only as argon2id hashes."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(NAME_MAX))
    role: Mapped[StaffRole] = mapped_column(_enum(StaffRole, "staff_role"))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StaffScope(Base):
    """A body a staff account serves. An account with no scope row serves every body
    (a platform account, e.g. a city's 人大常委会办公室); docs/bodies.md."""

    __tablename__ = "staff_scopes"

    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id"), primary_key=True, index=True)


class StaffSession(Base):
    """One staff login (one browser): the cookie carries a random token, this row its
    SHA-256, so a copy of the database opens no session. Logout, a password change
    or deactivation sets ``ended_at``; idle and absolute limits are checked against
    ``last_seen_at`` and ``created_at`` (views/auth.py, services/staff_sessions.py)."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(token), hex
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(
        String(16)
    )  # logout, password, deactivated, role_changed, scope_changed


class EnrollmentCode(Base):
    """A one-time code that lets one tablet register its key for one seat.

    Only the code's SHA-256 is stored; the code itself is shown once (and as a
    QR code) to the operator who sets up the tablet.
    """

    __tablename__ = "enrollment_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id"), index=True)
    seat: Mapped[int] = mapped_column(Integer)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    venue: Mapped[str | None] = mapped_column(String(VENUE_MAX))  # given to the tablet it enrolls


class Device(Base):
    """A kiosk tablet bound to a seat by its own P-256 public key."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # random, public
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id"), index=True)
    seat: Mapped[int] = mapped_column(Integer, index=True)
    public_key: Mapped[str] = mapped_column(Text)  # base64 DER SubjectPublicKeyInfo
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # 分会场: where the tablet stands (主会场 / 第一分会场); sign-ins and ballots at every
    # venue count in the one sitting, the console shows sign-in per venue.
    venue: Mapped[str | None] = mapped_column(String(VENUE_MAX))
    # A replacement tablet awaiting the presidium's confirmation (DeviceReplacement):
    # it may not connect, and no ballot of it counts, until confirmed.
    pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class ReplacementStatus(StrEnum):
    PENDING = "pending"  # 等待主持人确认
    CONFIRMED = "confirmed"  # the new tablet replaced the old one
    REJECTED = "rejected"  # refused by the presidium
    SUPERSEDED = "superseded"  # a later request for the same seat replaced this one


class DeviceReplacement(Base):
    """A request to enroll another tablet for a seat that already had one (更换表决器).

    The secretariat's enrollment code makes the request; only the presidium decides it.
    ``sitting_id`` is the sitting in progress when it was decided: the console warns of
    the replacements of the current sitting until that sitting is closed.
    """

    __tablename__ = "device_replacements"

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id"), index=True)
    seat: Mapped[int] = mapped_column(Integer)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), unique=True)  # the new one
    old_device_id: Mapped[str | None] = mapped_column(String(40))  # active when requested
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[ReplacementStatus] = mapped_column(
        _enum(ReplacementStatus, "replacement_status"), default=ReplacementStatus.PENDING
    )
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sitting_id: Mapped[int | None] = mapped_column(ForeignKey("sittings.id"), index=True)


class AuditEntry(Base):
    """One line of the audit log (docs/audit-log.md), stored exactly as exported."""

    __tablename__ = "audit_entries"

    # One log per body (docs/bodies.md): each body's entries are their own hash chain
    # from index 0, so the key is the pair.
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id"), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(40), index=True)
    line: Mapped[str] = mapped_column(Text)  # canonical JSON; its UTF-8 bytes are the leaf
    hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the line, hex


class Press(Base):
    """One press of the ballot keys (按键) as acknowledged to the kiosk.

    Named votes keep the ballot. Secret votes keep it only sealed under the
    vote key, and erase it at close (docs/secret-ballot.md).
    """

    __tablename__ = "presses"
    __table_args__ = (
        UniqueConstraint("vote_id", "nonce"),
        UniqueConstraint("vote_id", "member_id", "press_no"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    nonce: Mapped[str] = mapped_column(String(64))
    press_no: Mapped[int] = mapped_column(Integer)  # 1, 2, … for this member in this vote
    # The ballot's entry in its vote's body's log. No foreign key: an entry's key is
    # (body_id, idx), and the body is the vote's already (0008, docs/bodies.md).
    entry_idx: Mapped[int] = mapped_column(Integer, index=True)
    receipt: Mapped[dict[str, Any]] = mapped_column(JSON)
    ballot: Mapped[Any | None] = mapped_column(JSON)  # named votes only
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # secret votes, until close


class PaperCount(Base):
    """A hand count (人工计票) entered for a vote whose electronic count failed.

    Pending until two scrutineers countersign it (``Countersignature``);
    then its result is published like an electronic one, marked manual.
    ``ballots`` are the paper ballots, entered as such or made from the
    counts (``rules.paper.ballots_from_counts``).
    """

    __tablename__ = "paper_counts"

    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id"), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))  # "counts" or "ballots"
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    ballots: Mapped[list[Any]] = mapped_column(JSON)
    present: Mapped[int] = mapped_column(Integer)  # 实到 at the paper vote
    # The sitting's signed-in count when the count was entered, and why ``present``
    # differs from it (required then; printed on the sheet).
    attendance: Mapped[int | None] = mapped_column(Integer)
    present_reason: Mapped[str | None] = mapped_column(String(PRESENT_REASON_MAX))
    entered_by: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SittingScrutineer(Base):
    """A scrutineer (监票人) of a sitting, designated by the presidium before its
    first vote opens: only they countersign the sitting's paper counts and results."""

    __tablename__ = "sitting_scrutineers"

    sitting_id: Mapped[int] = mapped_column(ForeignKey("sittings.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), primary_key=True)
    designated_by: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    designated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    basis: Mapped[str] = mapped_column(String(BASIS_MAX))  # e.g. 经大会全体会议表决通过

    user: Mapped[StaffUser] = relationship(foreign_keys=[user_id])


class Countersignature(Base):
    """A staff member's signature under a paper count or a published result (会签)."""

    __tablename__ = "countersignatures"
    __table_args__ = (UniqueConstraint("vote_id", "subject", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id"), index=True)
    subject: Mapped[str] = mapped_column(String(16))  # "paper_count" or "result"
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    role: Mapped[str] = mapped_column(String(32))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())

    user: Mapped[StaffUser] = relationship()


# --- tracked items (督办事项, issue 18; rules/supervision.py, docs/supervision.md) ----------

DEPARTMENT_MAX = 64  # a department's name doubles as its subject id in generated votes
SUBJECT_MAX = 64  # rules.kinds.config.Id


class TrackedItem(Base):
    """A livelihood project, a special-report topic or a rectification, followed across
    sittings. ``state`` changes only through ``services.supervision`` (one ``ItemEvent``
    and one ``item_changed`` log entry per change, in ``body_id``'s log). ``subject`` is
    its id in the votes generated from it: a project's candidate id, or a department's
    stable id linking its evaluations over the years."""

    __tablename__ = "tracked_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # rules.supervision.ItemKind
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    department: Mapped[str | None] = mapped_column(String(DEPARTMENT_MAX))  # 责任单位
    year: Mapped[int] = mapped_column(Integer, index=True)
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX), index=True)
    # Who proposed it (征集): a deputy of the body, or the public / a department by name.
    source: Mapped[str] = mapped_column(String(16))  # deputy, public, department, complaints, …
    proposer_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    proposer_name: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(32))
    pending_vote_id: Mapped[int | None] = mapped_column(ForeignKey("votes.id"), index=True)
    reports: Mapped[list[str]] = mapped_column(JSON, default=list)  # progress periods reported
    round: Mapped[int] = mapped_column(Integer, default=1)  # 整改轮次
    deadline: Mapped[str | None] = mapped_column(String(10))  # 整改期限 YYYY-MM-DD
    issues: Mapped[str | None] = mapped_column(Text)  # 整改问题
    opened_by_vote_id: Mapped[int | None] = mapped_column(ForeignKey("votes.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    events: Mapped[list[ItemEvent]] = relationship(back_populates="item", order_by="ItemEvent.id")


class ItemDocument(Base):
    """A report of a tracked item (进度报告, 整改报告), as uploaded by the secretariat."""

    __tablename__ = "item_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("tracked_items.id"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(127))
    sha256: Mapped[str] = mapped_column(String(64))  # named in the log entry
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class ItemEvent(Base):
    """One change of a tracked item: who (a staff account, or the system citing a vote),
    when, from what to what, and the log entry that records it."""

    __tablename__ = "item_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("tracked_items.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    role: Mapped[str] = mapped_column(String(16))  # the staff role, or "system"
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")
    document_id: Mapped[int | None] = mapped_column(ForeignKey("item_documents.id"))
    vote_id: Mapped[int | None] = mapped_column(ForeignKey("votes.id"), index=True)
    period: Mapped[str | None] = mapped_column(String(16))
    log_index: Mapped[int] = mapped_column(Integer)  # the item_changed entry in the body's log

    item: Mapped[TrackedItem] = relationship(back_populates="events")
    document: Mapped[ItemDocument | None] = relationship()
    by: Mapped[StaffUser | None] = relationship()


# --- deputies' records (履职档案): leave (请假), issue 18 -------------------------------------


class Leave(Base):
    """A member's leave (请假) for a sitting, recorded by the secretariat before or during
    it. Recording again replaces the reason (each time logged). A member on leave who
    signs in after all is present: the row stays, shown as withdrawn (rules/records.py)."""

    __tablename__ = "leaves"
    __table_args__ = (UniqueConstraint("sitting_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sittings.id"))  # indexed by the pair
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    reason: Mapped[str] = mapped_column(String(LEAVE_REASON_MAX))
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# --- the trustees' key ceremony (密钥仪式, issue 20; docs/trustees.md) ------------------------


class TrusteeCeremony(Base):
    """A key ceremony of a sitting (audit/trustee_ceremony.py): its trustees are the
    sitting's designated scrutineers when it started. ``started`` is the logged
    ``trustee_ceremony_started`` data; ``status`` the phase it reached as last stored
    (``commitments`` … ``done``, ``failed``); ``key`` the ``trustee_key`` data once done."""

    __tablename__ = "trustee_ceremonies"

    id: Mapped[int] = mapped_column(primary_key=True)
    ceremony_id: Mapped[str] = mapped_column(String(64), unique=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id"))
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sittings.id"), index=True)
    n: Mapped[int] = mapped_column(Integer)
    k: Mapped[int] = mapped_column(Integer)
    started: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    started_by: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    key: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class TrusteePost(Base):
    """One trustee's step in a ceremony (``commitments``, ``shares``, ``verdicts``), as
    logged: ``data`` is the entry's data, ``log_index`` its index in the body's log."""

    __tablename__ = "trustee_posts"
    __table_args__ = (UniqueConstraint("ceremony_id", "step", "trustee_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ceremony_id: Mapped[int] = mapped_column(ForeignKey("trustee_ceremonies.id"))  # the pair's
    step: Mapped[str] = mapped_column(String(16))
    trustee_index: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    log_index: Mapped[int] = mapped_column(Integer)
