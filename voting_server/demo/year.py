"""The demo county's year of supervision (督办): what ``voting-server simulate --year`` runs.

The county's two bodies of ``county.py`` (its congress and its standing committee,
same rosters), through one year:

1. 征集: livelihood-project proposals from deputies (typed into the staff form), from
   the public and from departments (one CSV file), and the 12345 hotline's complaint
   statistics (one CSV file) that rank departments by "两高一低" and propose the worst
   for this year's special reports (专项工作报告);
2. 初审: the preliminary review keeps a shortlist; the shortlist becomes the congress's
   selection vote (票决) in its session (``CONGRESS_SESSION``);
3. progress reports (年中, 年底) of the selected projects, with documents;
4. the standing committee's mid-year sitting (``COMMITTEE_MIDYEAR``): special inquiry
   and satisfaction evaluation of the proposed departments; one is found unsatisfactory;
5. its rectification (整改: deadline, issues, the department's report) and the
   re-evaluation (回头看) in a later sitting (``COMMITTEE_REVIEW``);
6. the year-end evaluation of the selected projects (验单) in the year-end sitting
   (``YEAR_END``) of the body that selected them, the congress.

Only data lives here (what the county's staff would type or upload), and the loader of
the two bodies with their first sittings; the later sittings are created by the
secretariat over the staff pages while the year runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from voting_server.demo.county import (
    BODIES,
    COUNTY_COMMITTEE,
    COUNTY_CONGRESS,
    PRESIDIUM_SUBMITS,
    CountyItem,
)
from voting_server.models import Body
from voting_server.timefmt import BEIJING

YEAR = 2027


@dataclass(frozen=True, slots=True)
class YearSitting:
    body: str  # the body's name
    title: str
    starts_at: datetime  # 北京时间
    agenda: tuple[CountyItem, ...] = ()


def _at(month: int, day: int) -> datetime:
    return datetime(YEAR, month, day, 9, 0, tzinfo=BEIJING)


# --- 征集: proposals ---------------------------------------------------------------------

# Typed into the staff form by the secretariat: (subject, title, department, seat of the
# proposing deputy).
DEPUTY_PROPOSALS: tuple[tuple[str, str, str, int], ...] = (
    ("p01", "新建县城第二幼儿园，新增学位540个", "县教育局", 3),
    ("p02", "改造老旧小区12个，加装电梯40部", "县住房和城乡建设局", 31),
    ("p03", "建设乡镇区域养老服务中心4个", "县民政局", 57),
    ("p04", "实施农村饮水安全巩固提升工程，惠及3.2万人", "县水利局", 102),
)
# Imported from one file: (subject, title, department, source, proposer).
IMPORTED_PROPOSALS: tuple[tuple[str, str, str, str, str], ...] = (
    ("p05", "改造农村公路80公里", "县交通运输局", "public", "群众来信"),
    ("p06", "新增县城公共停车泊位800个", "县住房和城乡建设局", "public", "12345热线"),
    ("p07", "建设城乡便民健身步道30公里", "县文化广电体育和旅游局", "public", "网络征集"),
    ("p08", "县人民医院急诊急救能力提升", "县卫生健康局", "department", "县卫生健康局"),
    ("p09", "标准化改造农贸市场5个", "县市场监督管理局", "department", "县市场监督管理局"),
    ("p10", "新增普惠托育托位300个", "县卫生健康局", "department", "县卫生健康局"),
    ("p11", "城区主干道路灯节能改造", "县住房和城乡建设局", "public", "网络征集"),
    ("p12", "新建县城污水处理厂二期", "县住房和城乡建设局", "department", "县住房和城乡建设局"),
)
# 初审 (三方审议): what is not kept, with the reason.
REJECTED: dict[str, str] = {
    "p11": "已列入城区照明年度维护计划，不作为民生实事项目",
    "p12": "投资规模超出年度民生实事项目范围，转入重点项目",
}
PROJECT_SEATS = 8  # the congress selects 8 of the shortlist's 10 (差额票决)

# --- the 12345 hotline's complaint statistics ------------------------------------------------

# (department, complaints 投诉量, repeat complaints 重复投诉量, satisfaction 满意度 %)
COMPLAINTS: tuple[tuple[str, int, int, str], ...] = (
    ("县教育局", 1320, 210, "88.6"),
    ("县卫生健康局", 1105, 188, "86.2"),
    ("县住房和城乡建设局", 2480, 605, "71.4"),
    ("县交通运输局", 860, 97, "90.3"),
    ("县市场监督管理局", 1540, 330, "79.8"),
    ("县人力资源和社会保障局", 990, 120, "89.1"),
    ("县自然资源局", 450, 61, "91.7"),
    ("县城市管理局", 1760, 402, "76.5"),
)
SPECIAL_REPORTS = 3  # the first three of the ranking report to the standing committee
# The department the members find unsatisfactory (the ranking's first, deliberately: the
# simulation presses 不满意 for it with more than half of all members).
UNSATISFACTORY = "县住房和城乡建设局"

# --- 整改 ---------------------------------------------------------------------------------

RECTIFICATION_DEADLINE = f"{YEAR}-09-30"
RECTIFICATION_ISSUES = (
    "一、老旧小区改造进度滞后，群众反映强烈；二、物业投诉重复率高，办理不到位；"
    "三、建筑工地夜间施工噪声扰民问题整治不力。"
)
RECTIFICATION_REPORT = (
    "县住房和城乡建设局关于专题询问满意度测评意见整改情况的报告\n\n"
    "一、成立整改工作专班，逐项制定整改措施；二、老旧小区改造开工率提高到100%；"
    "三、建立物业投诉闭环办理机制，重复投诉下降42%；四、夜间施工审批和巡查全覆盖。\n"
)


def progress_report(title: str, period: str) -> str:
    """The text of a project's progress report (进度报告) for ``period``."""
    return f"{title}\n{YEAR}年{period}进度报告\n\n项目按计划推进，资金到位，阶段目标已完成。\n"


# --- the sittings ----------------------------------------------------------------------------

CONGRESS_SESSION = "示例县第十八届人民代表大会第四次会议"
COMMITTEE_MIDYEAR = "示例县第十八届人民代表大会常务委员会第二十五次会议"
COMMITTEE_REVIEW = "示例县第十八届人民代表大会常务委员会第二十八次会议"
YEAR_END = "示例县第十八届人民代表大会第五次会议"

# The votes generated from the items' lists (each on an agenda item of its own, at the
# end of the sitting's agenda).
SELECTION_VOTE = f"{YEAR}年县重大民生实事项目票决"
INQUIRY_VOTE = f"{YEAR}年专题询问满意度测评"
REVIEW_VOTE = "专题询问满意度测评不满意部门整改情况满意度测评（回头看）"
ACCEPTANCE_VOTE = f"{YEAR}年县重大民生实事项目验单满意度测评"

SITTINGS: tuple[YearSitting, ...] = (
    YearSitting(
        COUNTY_CONGRESS,
        CONGRESS_SESSION,
        _at(1, 12),
        (
            CountyItem(
                title="分团审议重大民生实事候选项目",
                description="各代表团分别审议经初审的候选项目，意见报大会主席团。",
            ),
            PRESIDIUM_SUBMITS,
        ),
    ),
    YearSitting(
        COUNTY_COMMITTEE,
        COMMITTEE_MIDYEAR,
        _at(6, 24),
        (
            CountyItem(
                title="听取“两高一低”部门专项工作报告并开展专题询问",
                description="专项工作报告部门由12345热线投诉统计排名提出；询问后进行满意度测评。",
            ),
        ),
    ),
    # created by the secretariat over the staff pages when the year gets there:
    YearSitting(COUNTY_COMMITTEE, COMMITTEE_REVIEW, _at(10, 27)),
    YearSitting(COUNTY_CONGRESS, YEAR_END, _at(12, 22)),
)


def first_sittings() -> list[YearSitting]:
    """Each body's first sitting of the year (loaded before the server starts)."""
    seen: set[str] = set()
    first = []
    for s in SITTINGS:
        if s.body not in seen:
            seen.add(s.body)
            first.append(s)
    return first


def load_year(session: Session) -> list[Body]:
    """The county's congress and standing committee (rosters of ``county.py``), each with
    its first sitting of the year; returns them, congress first."""
    from voting_server.demo.county import load_body

    demos = {d.name: d for d in BODIES}
    bodies = []
    for s in first_sittings():
        body = load_body(session, replace(demos[s.body], sitting=s.title, agenda=s.agenda))
        for sitting in body.sittings:
            if sitting.title == s.title:
                sitting.starts_at = s.starts_at.astimezone(UTC)  # the year's date, not today
        bodies.append(body)
    session.flush()
    return bodies
