"""The city committee of the harnesses: a 61-member city standing committee with one
sitting's agenda. ``voting-server demo`` loads the county (``county.py``); plain
``simulate``, the benchmark and many tests load this one body.

It exercises all three kinds of vote of RULES.md — a motion on a draft
regulation, a livelihood-project ballot (12 candidates for 10 projects) and
an evaluation of three departments after a special inquiry. Loading is
idempotent: what exists (found by name and position) is left as it is, so a
second run neither duplicates nor resets votes already held.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.kinds import VoteKind
from voting_server.models import (
    AgendaItem,
    Body,
    BodyKind,
    BodyLevel,
    Sitting,
    StaffRole,
    StaffUser,
    Vote,
)
from voting_server.roster import ParsedRoster, RosterRow, apply_roster
from voting_server.services import results, staff
from voting_server.services.audit_log import AuditLog
from voting_server.timefmt import BEIJING

BODY_NAME = "示例市人民代表大会常务委员会"  # 示例市人大常委会
SITTING_TITLE = "示例市第十六届人民代表大会常务委员会第二十次会议"

# 组成人员: 主任, 副主任, 秘书长 and 委员, in seat order 1..61.
MEMBER_NAMES: tuple[str, ...] = (
    "王建国", "李红梅", "张志强", "刘秀英", "陈国华", "杨丽娟", "赵德明", "黄海燕",
    "周文斌", "吴晓琳", "徐卫东", "孙桂芳", "胡永刚", "朱玉兰", "高明亮", "林淑珍",
    "何振华", "郭慧敏", "马俊杰", "罗春燕", "梁宏伟", "宋雅琴", "郑国庆", "谢美玲",
    "韩立新", "唐翠萍", "冯世杰", "于海波", "董丽华", "萧永清", "程建平", "曹玉梅",
    "袁志刚", "邓晓燕", "许光明", "傅素芬", "沈长青", "曾丽萍", "彭晓东", "吕淑华",
    "苏建军", "卢秀兰", "蒋文华", "蔡金凤", "贾学军", "丁红霞", "魏国栋", "薛桂英",
    "叶建新", "阎丽君", "余振东", "潘晓红", "杜明辉", "戴凤英", "夏立群", "钟雪梅",
    "汪志远", "田玉珍", "任海涛", "姜春华", "范德胜",
)  # fmt: skip
GROUPS = ("第一组", "第二组", "第三组", "第四组")  # 分组审议 groups


def _group(seat: int, members: int) -> str:
    return GROUPS[(seat - 1) * len(GROUPS) // members]


def member_name(seat: int) -> str:
    """The demo's name for a seat: the 61 named members, then 代表0062, 代表0063, …"""
    return MEMBER_NAMES[seat - 1] if seat <= len(MEMBER_NAMES) else f"代表{seat:04d}"


@dataclass(frozen=True, slots=True)
class DemoVote:
    title: str
    config: dict[str, Any]
    titles: dict[str, str]


@dataclass(frozen=True, slots=True)
class DemoItem:
    title: str
    description: str
    vote: DemoVote


REGULATION = "示例市文明行为促进条例（草案）"

LIVELIHOOD_PROJECTS: tuple[tuple[str, str], ...] = (
    ("p01", "新建、改扩建中小学和幼儿园12所，新增学位1.5万个"),
    ("p02", "改造提升老旧小区86个，加装电梯300部"),
    ("p03", "建设社区嵌入式养老服务中心20个，新增养老床位1000张"),
    ("p04", "为适龄妇女免费开展“两癌”筛查8万人次"),
    ("p05", "实施农村供水保障提升工程，惠及农村人口15万人"),
    ("p06", "新增城市公共停车泊位5000个"),
    ("p07", "建设口袋公园30个、城市绿道50公里"),
    ("p08", "优化公交线路20条，更新新能源公交车200辆"),
    ("p09", "标准化改造农贸市场15个"),
    ("p10", "新增普惠托育托位2000个"),
    ("p11", "新建改建全民健身场地设施100处"),
    ("p12", "整治背街小巷120条"),
)

DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("civil-affairs", "市民政局"),
    ("sports", "市体育局"),
    ("sasac", "市人民政府国有资产监督管理委员会"),  # 市国资委
)

AGENDA: tuple[DemoItem, ...] = (
    DemoItem(
        title=f"审议《{REGULATION}》",
        description="法制委员会关于草案审议结果的报告已印发。表决通过须经全体组成人员过半数赞成。",
        vote=DemoVote(
            title=f"关于《{REGULATION}》的表决",
            config={"kind": VoteKind.MOTION.value, "subjects": ["regulation"]},
            titles={"regulation": REGULATION},
        ),
    ),
    DemoItem(
        title="票决2027年度市政府民生实事项目",
        description="市人民政府提出候选项目12个，差额票决产生10个。每张选票所选项目不得多于10个。",
        vote=DemoVote(
            title="2027年度民生实事项目票决",
            config={
                "kind": VoteKind.SELECTION.value,
                "candidates": [pid for pid, _ in LIVELIHOOD_PROJECTS],
                "seats": 10,
            },
            titles=dict(LIVELIHOOD_PROJECTS),
        ),
    ),
    DemoItem(
        title="专题询问市民政局、市体育局、市国资委有关工作",
        description="听取专项工作报告并开展专题询问后，对三个部门进行满意度测评。",
        vote=DemoVote(
            title="对市民政局、市体育局、市国资委专题询问工作的满意度测评",
            config={
                "kind": VoteKind.EVALUATION.value,
                "subjects": [sid for sid, _ in DEPARTMENTS],
            },
            titles=dict(DEPARTMENTS),
        ),
    ),
)


def demo_roster(members: int = len(MEMBER_NAMES)) -> ParsedRoster:
    """Seats 1..``members`` (the simulator and the benchmark seat more than 61)."""
    rows = tuple(
        RosterRow(line=seat + 1, seat=seat, name=member_name(seat), group=_group(seat, members))
        for seat in range(1, members + 1)
    )
    return ParsedRoster(rows=rows, errors=())


def ensure_agenda_item(
    session: Session, sitting: Sitting, position: int, title: str, description: str
) -> tuple[AgendaItem, bool]:
    """The sitting's item at ``position``, made if missing (loading is idempotent: an
    existing item is left as it is); and whether it was made now."""
    found = session.scalar(
        select(AgendaItem).where(
            AgendaItem.sitting_id == sitting.id, AgendaItem.position == position
        )
    )
    if found is not None:
        return found, False
    made = AgendaItem(sitting=sitting, position=position, title=title, description=description)
    session.add(made)
    session.flush()
    return made, True


def load_demo(session: Session, members: int = len(MEMBER_NAMES)) -> Body:
    """Create whatever of the demo is missing, inside the caller's transaction.

    ``members`` sizes the roster of a new demo body (default: the 61 named
    members); an existing body keeps its roster.
    """
    if members < 1:
        raise ValueError(f"members must be at least 1, not {members}")
    body = session.scalar(select(Body).where(Body.name == BODY_NAME))
    if body is None:
        body = Body(name=BODY_NAME, kind=BodyKind.STANDING_COMMITTEE, level=BodyLevel.CITY)
        session.add(body)
        session.flush()
        apply_roster(session, body, demo_roster(members))

    sitting = session.scalar(
        select(Sitting).where(Sitting.body_id == body.id, Sitting.title == SITTING_TITLE)
    )
    if sitting is None:
        today = datetime.now(BEIJING).date()
        starts_at = datetime.combine(today, time(9, 0), tzinfo=BEIJING).astimezone(UTC)
        sitting = Sitting(body=body, title=SITTING_TITLE, starts_at=starts_at)
        session.add(sitting)
        session.flush()

    for position, item in enumerate(AGENDA, start=1):
        agenda_item, _ = ensure_agenda_item(
            session, sitting, position, item.title, item.description
        )
        if (
            session.scalar(
                select(Vote.id).where(
                    Vote.agenda_item_id == agenda_item.id, Vote.title == item.vote.title
                )
            )
            is None
        ):
            vote = Vote(
                agenda_item=agenda_item, title=item.vote.title
            )  # secret by default (无记名)
            vote.configure(item.vote.config, item.vote.titles)
            session.add(vote)
    session.flush()
    return body


# Staff accounts of the demo, one per role, so that `make run` can be tried at once.
DEMO_STAFF: tuple[tuple[str, str, StaffRole], ...] = (
    ("zhuchi", "演示主持人", StaffRole.PRESIDIUM),
    ("mishuchu", "演示秘书处", StaffRole.SECRETARIAT),
    ("jianpiao", "演示监票人", StaffRole.SCRUTINEER),
    ("jianpiao2", "演示监票人二", StaffRole.SCRUTINEER),  # two sign a paper count
    ("dapingmu", "演示大屏", StaffRole.DISPLAY),
)


def create_demo_staff(session: Session, log: AuditLog) -> dict[str, tuple[StaffRole, str]]:
    """Create the demo's staff accounts that are missing, each with a random password,
    and let the demo presidium designate the two demo scrutineers for every sitting
    not yet voting (so that paper counts and countersignatures can be tried).

    Returns {username: (role, password)} of the accounts created now (only
    then is the password known: the database keeps its hash).
    """
    created: dict[str, tuple[StaffRole, str]] = {}
    for username, display_name, role in DEMO_STAFF:
        if session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is None:
            password = secrets.token_urlsafe(12)
            staff.create_user(session, username, display_name, role, password, log=log)
            created[username] = (role, password)
    accounts = {
        u.username: u
        for u in session.scalars(
            select(StaffUser).where(StaffUser.username.in_([d[0] for d in DEMO_STAFF]))
        )
    }
    presidium = accounts.get("zhuchi")
    pair = [accounts[n].id for n in ("jianpiao", "jianpiao2") if n in accounts]
    if presidium is None or len(pair) < 2:
        return created
    for sitting in session.scalars(select(Sitting).order_by(Sitting.id)):
        if results.scrutineers(session, sitting.id) or results.voting_started(session, sitting.id):
            continue
        basis = results.DEFAULT_BASIS[sitting.body.kind]
        results.designate_scrutineers(session, log, sitting.id, presidium, pair, basis)
    return created
