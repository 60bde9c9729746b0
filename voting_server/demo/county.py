"""The demo county (示例县): what ``voting-server demo`` loads (issue 16).

Three bodies on one server:

- 示例县人民代表大会, a county congress: 250 deputies in 12 delegations (代表团,
  named by electoral unit), a presidium (主席团) of 25 with one executive chair
  (执行主席), and 8 列席 attendees with tablets of their own. Its session sitting
  holds the livelihood-project procedure of docs/congress.md (候选项目 presented
  with a document → 分团审议 → the presidium's own vote to submit the list → the
  congress's ballot, which requires that vote) and a motion.
- 示例县人民代表大会常务委员会, its standing committee: 35 组成人员, a sitting with
  the special-inquiry evaluation (满意度测评) of three departments.
- 示例镇人民代表大会, a township congress: 50 deputies, no delegations, a presidium
  of 7, a sitting with a motion.

Staff accounts are per body (presidium, two scrutineers, display); the county's
secretariat serves its two bodies, the town's serves the town alone.

Loading is idempotent like the city demo's (``city.py``): what exists (bodies by
name, sittings by title, items by position, votes by title) is left as it is.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.congress import Electorate, MemberRole, PresidiumSeat
from rules.kinds import VoteKind
from voting_server.demo.city import ensure_agenda_item
from voting_server.models import (
    Body,
    BodyKind,
    BodyLevel,
    Document,
    Sitting,
    StaffRole,
    StaffUser,
    Vote,
)
from voting_server.roster import ParsedRoster, RosterRow, apply_roster
from voting_server.services import results, staff
from voting_server.services.audit_log import AuditLog
from voting_server.timefmt import BEIJING

COUNTY_CONGRESS = "示例县人民代表大会"
COUNTY_COMMITTEE = "示例县人民代表大会常务委员会"
TOWN_CONGRESS = "示例镇人民代表大会"

CONGRESS_SITTING = "示例县第十八届人民代表大会第四次会议"
COMMITTEE_SITTING = "示例县第十八届人民代表大会常务委员会第二十二次会议"
TOWN_SITTING = "示例镇第十九届人民代表大会第三次会议"

# 代表团, named by electoral unit, with their deputies' numbers (250 in all).
DELEGATIONS: tuple[tuple[str, int], ...] = (
    ("城关镇代表团", 30), ("河西镇代表团", 26), ("青山镇代表团", 24), ("白沙镇代表团", 22),
    ("桥头镇代表团", 22), ("龙泉镇代表团", 20), ("东湖乡代表团", 20), ("石门乡代表团", 18),
    ("柳林乡代表团", 18), ("南山乡代表团", 18), ("北岭乡代表团", 16), ("新华街道代表团", 16),
)  # fmt: skip
CONGRESS_DEPUTIES = sum(n for _, n in DELEGATIONS)
PRESIDIUM_SIZE = 25
# 列席: 县政府组成人员, 县人大常委会组成人员中的非代表, 特邀公民 — seats after the deputies'.
ATTENDEES = 8
COMMITTEE_MEMBERS = 35
TOWN_DEPUTIES = 50
TOWN_PRESIDIUM = 7

# Names are drawn from these: surname i % 40 with given name (i // 40 + i) % 37 is a
# different pair for every i below 40 × 37 (37 is prime and does not divide 41).
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
_GIVEN = (
    "建国", "红梅", "志强", "秀英", "国华", "丽娟", "德明", "海燕", "文斌", "晓琳",
    "卫东", "桂芳", "永刚", "玉兰", "明亮", "淑珍", "振华", "慧敏", "俊杰", "春燕",
    "宏伟", "雅琴", "国庆", "美玲", "立新", "翠萍", "世杰", "海波", "丽华", "永清",
    "建平", "玉梅", "志刚", "晓燕", "光明", "素芬", "长青",
)  # fmt: skip


def person_name(index: int) -> str:
    """The ``index``-th demo name (0-based): 2 or 3 characters, distinct below 1,480."""
    surname = _SURNAMES[index % len(_SURNAMES)]
    return surname + _GIVEN[(index // len(_SURNAMES) + index) % len(_GIVEN)]


@dataclass(frozen=True, slots=True)
class CountyVote:
    title: str
    config: dict[str, Any]
    titles: dict[str, str]
    electorate: Electorate = Electorate.BODY
    requires: int | None = None  # the position of the agenda item whose vote it requires


@dataclass(frozen=True, slots=True)
class CountyItem:
    title: str
    description: str
    vote: CountyVote | None = None
    documents: tuple[tuple[str, str], ...] = ()  # (title, text)


@dataclass(frozen=True, slots=True)
class DemoBody:
    name: str
    kind: BodyKind
    level: BodyLevel
    roster: ParsedRoster
    sitting: str
    agenda: tuple[CountyItem, ...]
    # Staff: (username, display name, role) of the accounts serving this body alone.
    staff: tuple[tuple[str, str, StaffRole], ...] = field(default=())


COUNTY_PROJECTS: tuple[tuple[str, str], ...] = (
    ("c01", "新建县城第二幼儿园，新增学位540个"),
    ("c02", "改造老旧小区12个，加装电梯40部"),
    ("c03", "建设乡镇区域养老服务中心4个"),
    ("c04", "实施农村饮水安全巩固提升工程，惠及3.2万人"),
    ("c05", "改造农村公路80公里"),
    ("c06", "新增县城公共停车泊位800个"),
    ("c07", "建设城乡便民健身步道30公里"),
    ("c08", "县人民医院急诊急救能力提升"),
    ("c09", "标准化改造农贸市场5个"),
    ("c10", "新增普惠托育托位300个"),
)
COUNTY_PROJECT_SEATS = 8
PROJECT_YEAR = "2027年"

# 主席团会议: the presidium's own vote to submit the candidate list to the congress (the
# congress's ballot requires it); the year's simulation holds it too (demo/year.py).
PRESIDIUM_SUBMITS = CountyItem(
    title="主席团会议：决定将重大民生实事候选项目提交大会表决",
    description="主席团根据各代表团审议意见，决定是否将候选项目提交大会表决。",
    vote=CountyVote(
        title="关于将重大民生实事候选项目提交大会表决的决定",
        config={"kind": VoteKind.MOTION.value, "subjects": ["submit"]},
        titles={"submit": "将候选项目提交大会表决"},
        electorate=Electorate.PRESIDIUM,
    ),
)
_CANDIDATE_TEXT = (
    f"示例县人民政府关于{PROJECT_YEAR}县重大民生实事候选项目的说明\n\n"
    "经广泛征集、部门论证和县人民政府常务会议研究，提出候选项目"
    f"{len(COUNTY_PROJECTS)}个，提请大会差额票决产生{COUNTY_PROJECT_SEATS}个。\n\n"
    + "".join(f"{n}. {title}\n" for n, (_, title) in enumerate(COUNTY_PROJECTS, start=1))
)

CONGRESS_AGENDA: tuple[CountyItem, ...] = (
    CountyItem(
        title=f"县人民政府关于{PROJECT_YEAR}重大民生实事候选项目的说明",
        description="听取县人民政府关于候选项目的说明，候选项目清单见文件。",
        documents=((f"{PROJECT_YEAR}县重大民生实事候选项目清单", _CANDIDATE_TEXT),),
    ),
    CountyItem(
        title="分团审议重大民生实事候选项目",
        description="各代表团分别审议候选项目，酝酿讨论，意见报大会主席团。",
    ),
    PRESIDIUM_SUBMITS,
    CountyItem(
        title=f"票决{PROJECT_YEAR}县重大民生实事项目",
        description=(
            f"候选项目{len(COUNTY_PROJECTS)}个，差额票决产生{COUNTY_PROJECT_SEATS}个；"
            "主席团决定提交大会表决后开始。"
        ),
        vote=CountyVote(
            title=f"{PROJECT_YEAR}县重大民生实事项目票决",
            config={
                "kind": VoteKind.SELECTION.value,
                "candidates": [pid for pid, _ in COUNTY_PROJECTS],
                "seats": COUNTY_PROJECT_SEATS,
            },
            titles=dict(COUNTY_PROJECTS),
            requires=3,
        ),
    ),
    CountyItem(
        title="表决关于县人民政府工作报告的决议",
        description="须经全体代表过半数赞成。",
        vote=CountyVote(
            title="关于县人民政府工作报告的决议",
            config={"kind": VoteKind.MOTION.value, "subjects": ["report"]},
            titles={"report": "关于县人民政府工作报告的决议"},
        ),
    ),
)

COUNTY_DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("education", "县教育局"),
    ("health", "县卫生健康局"),
    ("housing", "县住房和城乡建设局"),
)

COMMITTEE_AGENDA: tuple[CountyItem, ...] = (
    CountyItem(
        title="专题询问县教育局、县卫生健康局、县住房和城乡建设局有关工作",
        description="听取专项工作报告并开展专题询问后，对三个部门进行满意度测评。",
        vote=CountyVote(
            title="对县教育局、县卫生健康局、县住房和城乡建设局专题询问工作的满意度测评",
            config={
                "kind": VoteKind.EVALUATION.value,
                "subjects": [sid for sid, _ in COUNTY_DEPARTMENTS],
            },
            titles=dict(COUNTY_DEPARTMENTS),
        ),
    ),
)

TOWN_AGENDA: tuple[CountyItem, ...] = (
    CountyItem(
        title="表决关于镇人民政府工作报告的决议",
        description="须经全体代表过半数赞成。",
        vote=CountyVote(
            title="关于镇人民政府工作报告的决议",
            config={"kind": VoteKind.MOTION.value, "subjects": ["report"]},
            titles={"report": "关于镇人民政府工作报告的决议"},
        ),
    ),
)


def congress_roster() -> ParsedRoster:
    """Seats 1..250 by delegation, then the 列席 attendees' seats 251..258.

    The presidium: the first two deputies of every delegation and the third of the
    first (25); seat 1, 城关镇's first, is the executive chair.
    """
    rows: list[RosterRow] = []
    seat = 0
    for number, (delegation, size) in enumerate(DELEGATIONS):
        for place in range(size):
            seat += 1
            on_presidium = place < 2 or (number == 0 and place == 2)
            presidium = (
                PresidiumSeat.EXECUTIVE_CHAIR
                if seat == 1
                else PresidiumSeat.MEMBER
                if on_presidium
                else PresidiumSeat.NONE
            )
            rows.append(
                RosterRow(seat + 1, seat, person_name(seat - 1), delegation, presidium=presidium)
            )
    for _ in range(ATTENDEES):
        seat += 1
        rows.append(
            RosterRow(seat + 1, seat, person_name(seat - 1), None, role=MemberRole.ATTENDEE)
        )
    return ParsedRoster(rows=tuple(rows), errors=())


def committee_roster() -> ParsedRoster:
    """35 组成人员, without groups; names of their own (not the congress's)."""
    rows = tuple(
        RosterRow(seat + 1, seat, person_name(600 + seat), None)
        for seat in range(1, COMMITTEE_MEMBERS + 1)
    )
    return ParsedRoster(rows=rows, errors=())


def town_roster() -> ParsedRoster:
    """50 deputies without delegations; the first 7 the presidium, seat 1 its chair."""
    rows = tuple(
        RosterRow(
            seat + 1,
            seat,
            person_name(900 + seat),
            None,
            presidium=(
                PresidiumSeat.EXECUTIVE_CHAIR
                if seat == 1
                else PresidiumSeat.MEMBER
                if seat <= TOWN_PRESIDIUM
                else PresidiumSeat.NONE
            ),
        )
        for seat in range(1, TOWN_DEPUTIES + 1)
    )
    return ParsedRoster(rows=rows, errors=())


BODIES: tuple[DemoBody, ...] = (
    DemoBody(
        COUNTY_CONGRESS, BodyKind.CONGRESS, BodyLevel.COUNTY, congress_roster(),
        CONGRESS_SITTING, CONGRESS_AGENDA,
        staff=(
            ("xian.zhuxi", "县人代会执行主席", StaffRole.PRESIDIUM),
            ("xian.jianpiao1", "县人代会监票人一", StaffRole.SCRUTINEER),
            ("xian.jianpiao2", "县人代会监票人二", StaffRole.SCRUTINEER),
            ("xian.daping", "县人代会大屏", StaffRole.DISPLAY),
        ),
    ),
    DemoBody(
        COUNTY_COMMITTEE, BodyKind.STANDING_COMMITTEE, BodyLevel.COUNTY, committee_roster(),
        COMMITTEE_SITTING, COMMITTEE_AGENDA,
        staff=(
            ("xian.zhuren", "县人大常委会会议主持人", StaffRole.PRESIDIUM),
            ("xian.cw.jianpiao1", "县人大常委会监票人一", StaffRole.SCRUTINEER),
            ("xian.cw.jianpiao2", "县人大常委会监票人二", StaffRole.SCRUTINEER),
            ("xian.cw.daping", "县人大常委会大屏", StaffRole.DISPLAY),
        ),
    ),
    DemoBody(
        TOWN_CONGRESS, BodyKind.CONGRESS, BodyLevel.TOWNSHIP, town_roster(),
        TOWN_SITTING, TOWN_AGENDA,
        staff=(
            ("zhen.zhuxi", "镇人代会执行主席", StaffRole.PRESIDIUM),
            ("zhen.mishu", "镇人大秘书", StaffRole.SECRETARIAT),
            ("zhen.jianpiao1", "镇人代会监票人一", StaffRole.SCRUTINEER),
            ("zhen.jianpiao2", "镇人代会监票人二", StaffRole.SCRUTINEER),
            ("zhen.daping", "镇人代会大屏", StaffRole.DISPLAY),
        ),
    ),
)  # fmt: skip
# The county's secretariat (县人大常委会办公室) serves the county's two bodies.
SHARED_STAFF: tuple[tuple[str, str, StaffRole, tuple[str, ...]], ...] = (
    ("xian.mishuchu", "县人大秘书处", StaffRole.SECRETARIAT, (COUNTY_CONGRESS, COUNTY_COMMITTEE)),
)


def _starts_at() -> datetime:
    today = datetime.now(BEIJING).date()
    return datetime.combine(today, time(9, 0), tzinfo=BEIJING).astimezone(UTC)


def load_body(session: Session, demo: DemoBody) -> Body:
    """Create whatever of one demo body is missing (see ``load_county``)."""
    body = session.scalar(select(Body).where(Body.name == demo.name))
    if body is None:
        body = Body(name=demo.name, kind=demo.kind, level=demo.level)
        session.add(body)
        session.flush()
        apply_roster(session, body, demo.roster)
    sitting = session.scalar(
        select(Sitting).where(Sitting.body_id == body.id, Sitting.title == demo.sitting)
    )
    if sitting is None:
        sitting = Sitting(body=body, title=demo.sitting, starts_at=_starts_at())
        session.add(sitting)
        session.flush()
    votes_by_position: dict[int, Vote] = {}
    for position, item in enumerate(demo.agenda, start=1):
        agenda_item, made = ensure_agenda_item(
            session, sitting, position, item.title, item.description
        )
        if made:
            for title, text in item.documents:
                session.add(
                    Document(
                        agenda_item=agenda_item,
                        title=title,
                        filename=f"{title}.txt",
                        media_type="text/plain; charset=utf-8",
                        content=text.encode(),
                    )
                )
        if item.vote is None:
            continue
        vote = session.scalar(
            select(Vote).where(Vote.agenda_item_id == agenda_item.id, Vote.title == item.vote.title)
        )
        if vote is None:
            vote = Vote(agenda_item=agenda_item, title=item.vote.title)  # secret by default
            vote.configure(item.vote.config, item.vote.titles)
            vote.electorate = item.vote.electorate
            if item.vote.requires is not None:
                vote.requires_vote = votes_by_position[item.vote.requires]
            session.add(vote)
            session.flush()
        votes_by_position[position] = vote
    session.flush()
    return body


def load_county(session: Session) -> list[Body]:
    """Create whatever of the county demo is missing, inside the caller's transaction;
    returns the three bodies in the order of ``BODIES``."""
    return [load_body(session, demo) for demo in BODIES]


def create_county_staff(session: Session, log: AuditLog) -> dict[str, tuple[StaffRole, str]]:
    """Create the demo's staff accounts that are missing, each with a random password,
    and let each body's presidium account designate its two scrutineers for the
    body's sittings not yet voting. Returns {username: (role, password)} of the
    accounts created now (only then is the password known: the database keeps hashes).
    """
    created: dict[str, tuple[StaffRole, str]] = {}
    bodies = {b.name: b for b in session.scalars(select(Body))}

    def make(username: str, display_name: str, role: StaffRole, served: tuple[str, ...]) -> None:
        # scoped to its bodies (docs/bodies.md): the town's secretariat sees only the town
        scope = [bodies[name].id for name in served if name in bodies]
        if session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is None:
            password = secrets.token_urlsafe(12)
            staff.create_user(
                session, username, display_name, role, password, log=log, bodies=scope
            )
            created[username] = (role, password)

    for demo in BODIES:
        for username, display_name, role in demo.staff:
            make(username, display_name, role, (demo.name,))
    for username, display_name, role, served in SHARED_STAFF:
        make(username, display_name, role, served)

    for demo in BODIES:
        body = bodies.get(demo.name)
        if body is None:
            continue
        accounts = {
            u.role: u
            for u in session.scalars(
                select(StaffUser).where(
                    StaffUser.username.in_(
                        [n for n, _, r in demo.staff if r is StaffRole.PRESIDIUM]
                    )
                )
            )
        }
        presidium = accounts.get(StaffRole.PRESIDIUM)
        pair = list(
            session.scalars(
                select(StaffUser.id)
                .where(
                    StaffUser.username.in_(
                        [n for n, _, r in demo.staff if r is StaffRole.SCRUTINEER]
                    )
                )
                .order_by(StaffUser.id)
            )
        )
        if presidium is None or len(pair) < 2:
            continue
        for sitting in body.sittings:
            if results.scrutineers(session, sitting.id) or results.voting_started(
                session, sitting.id
            ):
                continue
            basis = results.DEFAULT_BASIS[body.kind]
            results.designate_scrutineers(session, log, sitting.id, presidium, pair, basis)
    return created
