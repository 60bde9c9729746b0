"""Languages (Flask-Babel): 中文 by default, English on request.

The source strings (msgids) are Chinese, the language deputies read first;
the English catalog translates them (docs/i18n.md). A string without an
English translation shows in Chinese, never blank.

The language is an explicit choice only, never guessed from the browser:
``?lang=en`` or ``?lang=zh_CN`` on any page switches and is remembered in the
``lang`` cookie (not the session, which a login clears). Without a choice
every page — and above all the kiosk — is Chinese.

What the pages' scripts show comes from here too: ``JS_STRINGS`` is rendered
into the page as JSON (``<script id="i18n">``) and read by ``Screens.t``, so
no script holds a user-facing string of its own.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel.support import NullTranslations, Translations
from flask import Flask, Response, current_app, g, has_request_context, request
from flask_babel import Babel, get_locale, gettext

from rules import glossary
from rules.kinds import all_kinds, is_kind, kind_of

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
DEFAULT_LOCALE = "zh_CN"
LOCALES = ("zh_CN", "en")  # the order of the switch on staff pages
LOCALE_NAMES = {"zh_CN": "中文", "en": "English"}  # each in its own language, never translated
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}
COOKIE = "lang"
# A Socket.IO connection's language, chosen once at connect and kept in its WSGI environ:
# events that run in the app's context only (sockets/voting.py) read it from there.
CONNECTION_LOCALE = "voting.locale"
COOKIE_MAX_AGE_S = 365 * 24 * 3600
QUERY = "lang"


def N_(msgid: str) -> str:  # gettext's name for "mark for extraction only"
    """Mark a msgid for extraction; it is translated where it is shown."""
    return msgid


# The names of tracked items' kinds, states, steps, sources and report periods (督办事项,
# rules/supervision.py), for the staff pages and the public site alike.
ITEM_KIND_LABELS = {
    "project": N_("民生实事项目"),
    "topic": N_("专项工作报告议题"),
    "rectification": N_("整改事项"),
}
ITEM_STATE_LABELS = {
    "proposed": N_("待初审"),
    "shortlisted": N_("初审通过"),
    "rejected": N_("初审未通过"),
    "submitted": N_("已列入票决"),
    "selected": N_("票决选中"),
    "not_selected": N_("票决未选中"),
    "in_progress": N_("实施中"),
    "accepted_vote": N_("验单测评中"),
    "accepted": N_("验单满意"),
    "not_accepted": N_("验单不满意"),
    "dropped": N_("不列入"),
    "scheduled": N_("已列入测评"),
    "evaluated": N_("已测评"),
    "opened": N_("待定整改期限"),
    "deadline_set": N_("整改中"),
    "reported": N_("已报送整改报告"),
    "reevaluation_scheduled": N_("回头看测评中"),
    "closed_satisfactory": N_("整改完成"),
    "reopened": N_("回头看仍不满意"),
}
ITEM_ACTION_LABELS = {
    "propose": N_("提出建议"),
    "shortlist": N_("初审通过"),
    "reject": N_("初审不通过"),
    "submit": N_("列入票决"),
    "select": N_("票决选中"),
    "not_select": N_("票决未选中"),
    "assign": N_("交办责任单位"),
    "report": N_("报送报告"),
    "submit_acceptance": N_("列入验单测评"),
    "accept": N_("验单满意"),
    "not_accept": N_("验单不满意"),
    "drop": N_("不列入"),
    "schedule": N_("列入满意度测评"),
    "evaluated": N_("测评结果"),
    "open": N_("开启整改"),
    "set_deadline": N_("确定整改期限和问题"),
    "schedule_reevaluation": N_("安排回头看测评"),
    "close": N_("整改完成"),
    "reopen": N_("重新整改"),
}
ITEM_SOURCE_LABELS = {
    "deputy": N_("代表"),
    "public": N_("群众"),
    "department": N_("部门"),
    "complaints": N_("投诉统计"),
    "office": N_("秘书处"),
    "evaluation": N_("测评结果"),
}
ITEM_PERIOD_LABELS = {
    "q1": N_("第一季度"),
    "mid_year": N_("年中"),
    "q3": N_("第三季度"),
    "year_end": N_("年底"),
}

# One home for the names of vote states (状态) on every page and script. A vote kind's
# names (表决方式) are its module's (rules.kinds.*: label_zh, label_en): ``kind_label``.
STATE_LABELS = {
    "draft": N_("未开始"),
    "open": N_("表决中"),
    "closed": N_("已结束（待宣布）"),
    "cancelled": N_("已取消"),
    "announced": N_("已宣布"),
}

# Script keys whose words are the glossary's (rules/glossary.py), by glossary key: spelled
# there once, in both languages; ``js_strings`` fills them in the page's language. (New
# scripts ask for ``term.<key>`` directly; these keys stay for the scripts that use them.)
JS_TERMS: dict[str, str] = {
    **{f"mark.{m}": f"mark.{m}" for m in ("yes", "no", "abstain", "satisfied", "basic",
                                         "unsatisfied")},
    **{f"fig.{f}": f for f in ("members", "present", "cast", "not_voted")},
    **{f"col.{c}": f"col.{c}" for c in ("subject", "invalid", "required", "result", "number",
                                       "candidate", "votes", "evaluated", "rate", "rank")},
    "col.evaluation": "result.evaluation",
    **{f"verdict.{v}": f"verdict.{v}" for v in ("passed", "failed", "selected", "not_selected",
                                               "runoff", "satisfactory", "unsatisfactory")},
    **{f"heading.{k}": f"result.{k}" for k in ("motion", "selection", "evaluation")},
}  # fmt: skip

# What the kiosk, console and display scripts show, by key. ``%(name)s`` are
# filled in by ``Screens.t(key, {name: …})`` in the browser.
JS_STRINGS: dict[str, str] = {
    **{f"state.{k}": v for k, v in STATE_LABELS.items()},
    # the glossary's words (JS_TERMS), here in Chinese; js_strings gives the page's language
    **{key: glossary.term(word) for key, word in JS_TERMS.items()},
    "conn.connecting": N_("正在连接…"),
    "conn.connected": N_("已连接"),
    "conn.stalled": N_("连接不稳定，正在重试…"),
    "conn.reconnecting": N_("正在重新连接…"),
    "conn.closed": N_("未连接"),
    "problem.generic": N_("操作失败，请重试"),
    "problem.offline": N_("未连接到表决系统，请稍候再试"),
    "problem.timeout": N_("服务器没有及时响应，请重试"),
    "problem.disconnected": N_("连接中断，请稍候再试"),
    "detail": N_("（%(detail)s）"),
    "countdown.left": N_("剩余时间 %(time)s"),
    "countdown.over": N_("时间到，正在结束表决…"),
    "result.void": N_("表决无效：收回的选票多于实到人数，须重新表决"),
    "result.no_quorum": N_("出席人数未过半数，表决不生效"),
    "sel.summary": N_("应选 %(seats)s 项，入选 %(selected)s 项；入选须得票不少于 %(required)s 票"),
    "sel.invalid": N_("无效票 %(n)s 张"),
    "sel.runoff": N_("得票相等的 %(n)s 个项目须再次投票，产生其余 %(seats)s 项"),
    "sel.unfilled": N_("尚有 %(n)s 项空缺，可另行投票"),
    "sel.join": N_("；"),
    "sel.end": N_("。"),
    "heading.announced": N_("（已宣布）"),
    "reason": N_("原因：%(reason)s"),
    "app.name": N_("电子表决系统"),
    "no_sitting": N_("当前没有进行中的会议"),
    "wait_vote": N_("请等待表决"),
    "counting": N_("表决结束，正在计票…"),
    "quorate": N_("已达到法定人数"),
    "not_quorate": N_("未达到法定人数（需实到 %(required)s 人）"),
    # the hall display (display.js) and its control on the console (display_control.js)
    "display.sign_in": N_("签到情况"),
    "display.quorum": N_("%(quorum)s %(n)s 人"),
    "display.quorum_short": N_("尚差 %(n)s 人"),
    "display.agenda": N_("会议议程"),
    "display.agenda_item": N_("议程第 %(n)s 项"),
    "display.item_n": N_("第 %(n)s 项"),
    "display.in_progress": N_("正在%(act)s"),
    "display.cancelled": N_("%(act)s已取消"),
    "display.sel_note": N_(
        "应选 %(seats)s 项，%(verdict)s %(selected)s 项；%(verdict)s须得票%(at_least)s"
    ),
    "display_control.all_items": N_("全部议程"),
    "display_control.latest": N_("最近的结果"),
    "display_control.following": N_("%(stage)s（自动）"),
    "display_control.stage.idle": N_("等待画面"),
    "display_control.stage.welcome": N_("会标"),
    "display_control.stage.sign_in": N_("签到情况"),
    "display_control.stage.agenda": N_("议程"),
    "display_control.stage.blank": N_("黑屏"),
    # console
    "console.sitting": N_("%(body)s　%(title)s"),
    "console.connect_error": N_("无法连接表决系统%(error)s。如已退出登录，请重新登录。"),
    "console.connect_error_detail": N_("：%(message)s"),
    "console.quorate": N_("已达到法定人数，可以表决"),
    "console.not_quorate": N_(
        "⚠ 未达到法定人数（实到 %(present)s，需 %(required)s），不能开始表决"
    ),
    "console.n_votes": N_("%(n)s 票"),
    "console.live_caption": N_("实时计数"),
    "console.live_count": N_("%(word)s %(n)s"),
    "console.live_sep": N_("　"),
    "console.by_delegation": N_("分团签到"),
    "console.delegation": N_("代表团"),
    "console.ungrouped": N_("未分团"),
    "console.present_of_members": N_("%(present)s / %(members)s"),
    "console.no_votes": N_("无表决事项"),
    "console.rerun_mark": N_("（重新表决）"),
    "console.result_of": N_("%(heading)s：%(title)s"),
    "console.item_line": N_("议程第 %(n)s 项：%(title)s"),
    "console.col.vote": N_("表决事项"),
    "console.col.kind": N_("方式"),
    "console.col.state": N_("状态"),
    "console.col.actions": N_("操作"),
    "console.hint.other_open": N_("另一项表决正在进行"),
    "console.hint.no_quorum": N_("未达到法定人数"),
    "console.open": N_("开始表决"),
    "console.cancel": N_("取消表决"),
    "console.close": N_("结束表决"),
    "console.announce": N_("宣布结果"),
    "console.rerun": N_("重新表决"),
    "console.need_reason": N_("请填写取消原因"),
    "console.check_state": N_("%(problem)s。请刷新状态核实后再操作。"),
    "console.ask_open": N_("开始表决：“%(title)s”？"),
    "console.done_open": N_("表决已开始"),
    "console.ask_close": N_("结束表决：“%(title)s”？结束后立即计票，不能再按键。"),
    "console.done_close": N_("表决已结束"),
    "console.ask_cancel": N_("取消表决：“%(title)s”？已按的票全部作废。"),
    "console.done_cancel": N_("表决已取消"),
    "console.ask_rerun": N_("重新表决：为“%(title)s”另建一次表决？原表决记录保留。"),
    "console.done_rerun": N_("已新建表决，请在议程中开始"),
    "console.bad_countdown": N_("限时须在 10 秒至 120 分钟之间，分和秒请填写整数"),
    "console.reason_cancel": N_("取消原因（必填）"),
    "console.reason_withdraw": N_("撤回原因（必填）"),
    "console.need_withdraw_reason": N_("请填写撤回原因"),
    "console.withdraw": N_("撤回"),
    "console.ask_withdraw": N_(
        "撤回“%(title)s”？此项表决尚未开始，撤回后不再表决（可另建重新表决）。"
    ),
    "console.done_withdraw": N_("已撤回"),
    "console.ask_announce": N_("宣布表决结果：“%(title)s”？"),
    "console.done_announce": N_("已宣布表决结果"),
    # a trustee-mode secret vote closed without its result (docs/trustee-votes.md)
    "console.awaiting": N_("等待监票人解密（已有 %(shares)s / 需要 %(k)s 名）"),
    "console.state_awaiting": N_("已结束，尚无结果"),
    "console.awaiting_short": N_("等待监票人解密（%(shares)s / %(k)s）"),
    "console.awaiting_help": N_(
        "本项表决的选票已加密，须由 %(n)s 名监票人中的 %(k)s 名解密后才有结果。"
        "请监票人登录并在本人电脑上打开“监票人密钥”页：页面自动解密，无需其他操作。"
        "%(k)s 名监票人的页面完成解密后，表决结果自动显示在这里。"
    ),
    "console.paper_fallback": N_("改为人工计票"),
    "console.ask_paper_fallback": N_(
        "改为人工计票：“%(title)s”？\n"
        "本次电子表决将被取消。已投的电子选票永久密封，任何人都无法打开，也不再计票；"
        "此操作不能撤销。\n"
        "随后请组织代表以纸质选票重新投票，由秘书处在“监票人与表决结果”页录入人工计票结果，"
        "经两名监票人会签后公布。"
    ),
    "console.reason_paper_fallback": N_("取消原因（必填，记入审计日志）"),
    "console.paper_fallback_reason": N_("监票人不足 %(k)s 名，无法解密电子表决结果，改为人工计票"),
    "console.done_paper_fallback": N_("电子表决已取消。请组织纸质投票，由秘书处录入人工计票结果。"),
    # the read-aloud line (宣读稿): the glossary's words come in as %(word)s
    "console.read.sitting": N_("本次会议"),
    "console.read.people": N_("%(word)s%(n)s人"),
    "console.read.votes": N_("%(word)s%(n)s票"),
    "console.read.sep": N_("，"),
    "console.read.sentence": N_("%(text)s。"),
    "console.read.subject": N_("%(title)s："),
    "console.read.rate": N_("%(word)s%(rate)s"),
    "console.read.outcome": N_("%(word)s为%(verdict)s"),
    "console.read.rank": N_("第%(n)s名"),
    "console.read.mean": N_("%(word)s%(mean)s分"),
    "console.read.candidate": N_("%(title)s（%(n)s票）"),
    "console.read.selected": N_("%(word)s%(n)s项：%(list)s"),
    "console.read.runoff": N_("%(word)s：%(list)s"),
    "console.read.none": N_("无"),
    "console.copied": N_("已复制宣读稿"),
    "console.copy_select": N_("已选中宣读稿，请按 Ctrl+C 复制"),
    "console.n_selected": N_("%(word)s %(n)s 项"),
    # the seat map (座位图) and its lists
    "console.seat_present": N_("已签到"),
    "console.seat_absent": N_("未签到"),
    "console.seat_offline": N_("终端离线"),
    "console.seat_title": N_("第 %(seat)s 座 %(name)s：%(status)s"),
    "console.seat_who": N_("%(seat)s %(name)s"),
    "console.attendee_mark": N_("（%(word)s）"),
    "console.n_people": N_("%(n)s 人"),
    "console.list_none": N_("无"),
    "console.list_more": N_("……另有 %(n)s 人"),
    "console.no_seat": N_("没有第 %(seat)s 座"),
    "console.venue": N_("%(venue)s：签到代表 %(present)s 人，列席 %(attendees)s 人"),
    "console.venue_none": N_("未设会场"),
    "console.ask_sign_in": N_("为第 %(seat)s 座 %(name)s 代为签到？"),
    "console.done_sign_in": N_("已为第 %(seat)s 座 %(name)s 签到"),
    "console.seats_format": N_("请填写座位号（如 5、4-31 或 4,7,9）或代表团名称"),
    "console.ask_sign_in_group": N_("为%(group)s的 %(n)s 位代表代为签到（分团签到）？"),
    "console.ask_sign_in_many": N_("为 %(n)s 位代表代为签到（第 %(seats)s 座）？"),
    "console.sign_in_stopped": N_("%(problem)s。已签到 %(done)s 人，请核实后再操作。"),
    "console.sign_in_failed": N_("%(problem)s（第 %(seat)s 座）。已签到 %(done)s 人。"),
    "console.done_sign_in_many": N_("已为 %(done)s 位代表代为签到"),
    "console.done_sign_in_many_already": N_(
        "已为 %(done)s 位代表代为签到；第 %(seats)s 座此前已签到"
    ),
    "console.kiosks_none": N_("尚无已登记的代表终端"),
    "console.kiosks_offline": N_("⚠ %(n)s 台代表终端未连接（第 %(seats)s 座），这些代表无法按键"),
    "console.kiosks_online": N_("代表终端全部在线（%(n)s 台）"),
    "console.device_request": N_("第 %(seat)s 座 %(name)s 申请更换表决器（%(time)s）"),
    "console.confirm_device": N_("确认更换"),
    "console.reject_device": N_("拒绝"),
    "console.ask_confirm_device": N_(
        "确认更换第 %(seat)s 座 %(name)s 的表决器？原表决器将立即停用。"
    ),
    "console.ask_reject_device": N_("拒绝第 %(seat)s 座 %(name)s 的更换表决器申请？"),
    "console.done_confirm_device": N_("已更换第 %(seat)s 座的表决器"),
    "console.done_reject_device": N_("已拒绝第 %(seat)s 座的更换申请"),
    "console.devices_replaced": N_("⚠ 本次会议中更换过表决器：%(list)s"),
    "console.device_replaced_item": N_("第 %(seat)s 座 %(name)s（%(time)s）"),
    "list.sep": N_("、"),
    "list.more": N_(" 等"),
    "kiosk.agenda_item": N_("议程：%(title)s"),
    "kiosk.agenda_item_n": N_("议程第 %(n)s 项：%(title)s"),
    # kiosk
    "kiosk.title": N_("代表表决终端"),
    # 我的履职 (kiosk/record.mjs)
    "kiosk.record_loading": N_("正在读取履职档案…"),
    "kiosk.record_none": N_("本座位没有代表履职档案。"),
    "kiosk.record_empty": N_("尚无会议记录。"),
    "kiosk.record_rule": N_(
        "出勤率 = 出席次数 ÷ 应出席次数（请假计为未出席）。无记名表决只记是否按键。"
    ),
    "kiosk.record_reason": N_("请假事由：%(reason)s"),
    "kiosk.record_choice": N_("表决意见：%(choice)s"),
    "kiosk.record_proposals": N_("提出的建议"),
    "kiosk.record_no_proposals": N_("暂无。"),
    "kiosk.enrolling": N_("正在登记…"),
    "kiosk.enroll_failed": N_("登记失败（%(status)s），请核对登记码"),
    "kiosk.enrolled": N_("登记成功：第 %(seat)s 座"),
    "kiosk.enroll_offline": N_("登记失败：无法连接服务器，请重试"),
    "kiosk.ask_reenroll": N_("确定清除本设备的登记信息并重新登记吗？（仅限工作人员操作）"),
    "kiosk.refused": N_("表决系统拒绝了本设备的连接"),
    "kiosk.seat": N_("第 %(seat)s 座"),
    "kiosk.seat_name": N_("第 %(seat)s 座 · %(name)s"),
    "kiosk.no_sitting_heading": N_("暂无会议"),
    "kiosk.no_sitting_text": N_("当前没有进行中的会议，请等待。"),
    "kiosk.signed_in_heading": N_("已签到"),
    "kiosk.pending_heading": N_("等待主持人确认"),
    "kiosk.pending_text": N_(
        "本席位已有表决器。更换表决器须经主持人在控制台确认，确认后本设备自动连接。"
    ),
    "kiosk.wait_text": N_("请等待表决开始。"),
    "kiosk.attendee_heading": N_("列席"),
    "kiosk.attendee_text": N_(
        "您列席本次会议，可查看文件和表决结果；除邀请列席代表参加的满意度测评外，不参加表决。"
    ),
    "kiosk.presidium_only_text": N_("本项为主席团会议表决，由主席团成员表决。"),
    "kiosk.attendance": N_("%(present_word)s %(present)s 人　/　%(members_word)s %(members)s 人"),
    "kiosk.key_clear": N_("清除"),
    "kiosk.key_back": N_("退格"),
    "kiosk.pin_format": N_("签到密码为 4 至 12 位数字"),
    "kiosk.pin_tries_left": N_("密码错误。还可以再试 %(n)s 次，之后本座位将暂时锁定。"),
    "kiosk.pin_locked_until": N_(
        "密码错误次数过多，本座位已锁定至 %(time)s。请到时再试，或请工作人员重设密码。"
    ),
    "kiosk.signed_in": N_("签到成功"),
    "kiosk.can_change": N_("结束前可以更改"),
    "kiosk.final": N_("提交后不能更改"),
    "kiosk.vote_kind": N_("%(kind)s　·　%(ballot)s　·　%(policy)s"),
    "kiosk.selection_counter": N_("已选择 %(n)s 项　/　最多选择 %(seats)s 项"),
    "kiosk.selection_full": N_("最多选择%(seats)s项。如需更换，请先取消已选的一项。"),
    "kiosk.missing": N_("还有 %(n)s 项未选择"),
    "eval.overall": N_("%(word)s：%(rate)s"),
    "eval.decided_by": N_("列席代表参加测评；测评结果按%(group)s的票确定"),
    "kiosk.score_range": N_("%(min)s–%(max)s 分"),
    "kiosk.score_value": N_("%(score)s 分"),
    "kiosk.score_pad": N_("为%(title)s打分"),
    "kiosk.score_too_high": N_("%(title)s：最高 %(max)s 分，不能再输入"),
    "kiosk.score_too_low": N_("不能低于 %(min)s 分"),
    "kiosk.trimmed": N_("平均分已去掉最高分和最低分"),
    "kiosk.next": N_("下一步：核对选择"),
    "kiosk.picked": N_("您选择了 %(n)s 项（最多 %(seats)s 项）："),
    "kiosk.picked_none": N_("您没有选择任何项目。"),
    "kiosk.subject_mark": N_("%(title)s："),
    "kiosk.policy_last": N_("提交后，在表决结束前仍可更改，以最后一次提交为准。"),
    "kiosk.policy_first": N_("请注意：提交后不能更改。"),
    "kiosk.sign_failed": N_("无法签名，请联系工作人员"),
    "kiosk.sending": N_("正在提交…"),
    "kiosk.sent": N_("已提交"),
    "kiosk.voted": N_("您已表决"),
    "kiosk.receipt": N_("回执：第 %(entry)s 号记录"),
    "kiosk.receipt_press": N_("第 %(press)s 次提交　校验码 %(hash)s"),
    "kiosk.receipt_secret": N_("无记名表决：回执只证明您已参加表决，不含您的选择。"),
    "kiosk.your_choice": N_("您的选择"),
    "kiosk.your_choice_is": N_("您的选择："),
    "kiosk.wait_here": N_("请稍候，不要离开本页面。"),
    "kiosk.change_until_close": N_("表决结束前可以更改，以最后一次提交为准。"),
    "kiosk.wait_close": N_("请等待表决结束。"),
    "kiosk.resending": N_("服务器没有及时响应，正在重新发送…"),
    "kiosk.resend_later": N_("连接中断，恢复后将自动重新发送，请稍候…"),
    "kiosk.busy": N_("系统繁忙，正在重新发送…"),
    "kiosk.too_late": N_("表决已经结束，您最后一次提交未被接受。"),
    "kiosk.announced": N_("主持人已宣布%(result)s"),
    "kiosk.label_value": N_("%(label)s：%(value)s"),
    "kiosk.n_votes": N_("%(n)s 票"),
    "kiosk.sel_summary": N_("应选 %(seats)s 项，%(word)s %(n)s 项"),
    "kiosk.sel_required": N_("%(word)s须得票%(at_least)s"),
    "kiosk.document_opening": N_("正在打开文件…"),
    "kiosk.ca_mismatch": N_(
        "警告：本服务器的根证书指纹与登记二维码上的不一致。请停止登记，联系工作人员。"
    ),
    # the public results' proof check (static/js/public_proof.js, docs/public.md)
    "public.verified": N_("已核验"),
    "public.failed": N_("核验失败：%(what)s"),
    "public.sep": N_("；"),
    "public.verified_unsigned": N_(
        "已核验包含证明；此浏览器不能核验 Ed25519 签名，请用 voting-audit 核验签名"
    ),
    "public.no_crypto": N_(
        "此浏览器不能在本页核验（WebCrypto 只在 HTTPS 或本机地址下可用）；"
        "请下载下列文件，用 voting-audit 核验。"
    ),
    "public.entry.log_started": N_("日志第一条记录（服务器公钥）"),
    "public.entry.result": N_("结果记录"),
    "public.entry.vote_announced": N_("宣布记录"),
    "public.check.in_head": N_("%(entry)s（第 %(index)s 条）在签名的日志头之内"),
    "public.check.shown": N_("页面显示的结果与日志中的结果记录一致"),
    "public.check.sig": N_("服务器对日志头的 Ed25519 签名有效"),
    "public.bad.leaf": N_("%(entry)s的原文与证明中的哈希不符"),
    "public.bad.shape": N_("%(entry)s的证明与签名日志头的条数或根不符"),
    "public.bad.root": N_("%(entry)s：由证明算出的根 %(computed)s 与签名日志头的根 %(root)s 不符"),
    "public.bad.content": N_("%(entry)s不是本项表决的记录"),
    "public.bad.shown": N_("页面显示的结果与日志中的结果记录不一致"),
    "public.bad.sig": N_("服务器对日志头的签名无效"),
    "public.sig_unsupported": N_("此浏览器不支持 Ed25519 签名核验，请用 voting-audit 核验签名"),
    "public.no_announcement_proof": N_("宣布记录之后尚无签名的日志头，只核验了结果记录"),
    # the scrutineer's trustee page (static/js/trustee.js, docs/trustees.md)
    "trustee.working": N_("正在计算，请稍候…"),
    "trustee.none_heading": N_("等待主席团开始密钥仪式"),
    "trustee.none_text": N_("主席团开始密钥仪式后，本页会自动进入第一步。请保持本页打开。"),
    "trustee.generate_heading": N_("第一步：生成您的密钥"),
    "trustee.generate_text": N_(
        "请按下面的按钮。本电脑将生成您的密钥，只把可以公开的部分（承诺）交给服务器；密钥本身留在本电脑的浏览器里。"
    ),
    "trustee.generate_button": N_("生成我的密钥"),
    "trustee.generate_working": N_("正在生成您的密钥并提交承诺…"),
    "trustee.shares_working": N_("正在核验各监票人的承诺，并把您的份额加密发给其他监票人…"),
    "trustee.verdicts_working": N_("正在解开并核对其他监票人发给您的份额…"),
    "trustee.wait_commitments": N_("等待其他监票人生成密钥"),
    "trustee.wait_shares": N_("等待其他监票人交换份额"),
    "trustee.wait_verdicts": N_("等待其他监票人核对份额"),
    "trustee.wait_text": N_("您这一步已完成，无需操作。其他监票人完成后，本页会自动继续。"),
    "trustee.progress": N_("已完成 %(done)s / %(n)s 人："),
    "trustee.who": N_("%(index)s号 %(name)s"),
    "trustee.who_short": N_("%(index)s号监票人"),
    "trustee.list_separator": N_("、"),
    "trustee.posted": N_("✔ 已完成"),
    "trustee.not_posted": N_("… 未完成"),
    "trustee.failed_heading": N_("本次密钥仪式未成功"),
    "trustee.failed_text": N_(
        "有监票人收到的份额与发送人的承诺不符（发送人：%(who)s）。请主席团重新开始密钥仪式，本页会自动跟进。"
    ),
    "trustee.lost_heading": N_("这台电脑上没有您的密钥"),
    "trustee.lost_text": N_(
        "您已在其他电脑或浏览器上参加本次密钥仪式。请在下方用备份文件和备份口令恢复密钥。"
    ),
    "trustee.backup_heading": N_("密钥已生成：请下载加密备份文件"),
    "trustee.backup_text": N_(
        "请先与其他监票人核对下方的联合公钥指纹，再在下方设定备份口令、下载备份文件。完成后本页进入解密计票。"
    ),
    "trustee.backup_button": N_("下载加密备份文件"),
    "trustee.backup_working": N_("正在加密备份…"),
    "trustee.backup_done": N_("备份文件已下载：%(file)s。请存放在U盘等安全处，并牢记备份口令。"),
    "trustee.pass_short": N_("备份口令至少需要8个字符"),
    "trustee.pass_mismatch": N_("两次输入的备份口令不一致，请重新输入"),
    "trustee.restore_button": N_("恢复密钥"),
    "trustee.restore_working": N_("正在恢复…"),
    "trustee.restore_no_file": N_("请先选择备份文件"),
    "trustee.restore_wrong": N_("无法恢复：备份口令不对，或文件已被改动"),
    "trustee.restore_malformed": N_("这不是本系统的监票人备份文件"),
    "trustee.restore_other": N_("这个备份文件属于另一次密钥仪式或另一位监票人，不能用于本次"),
    "trustee.ready_heading": N_("准备就绪：等待表决结束"),
    "trustee.ready_text": N_(
        "无记名表决结束后，本页会自动解密票数总和并提交，进展见下方“无记名表决的解密”。请保持本页打开。"
    ),
    "trustee.decrypt_heading": N_("正在解密计票"),
    "trustee.decrypt_text": N_("正在用您的密钥份额解密各选项的票数总和，并附上证明提交…"),
    "trustee.key_mismatch": N_(
        "联合公钥与本页根据各监票人承诺算出的不一致。请停止操作，立即告知主席团。"
    ),
    "trustee.check_failed": N_("核验未通过：%(detail)s。请告知主席团。"),
    "trustee.shares_missing": N_("还没有收到全部份额，请稍候"),
    "trustee.shares_bad": N_("收到的份额与发送人的承诺不符。请告知主席团重新开始密钥仪式。"),
    "trustee.storage_failed": N_(
        "无法在本浏览器中保存密钥。请不要使用无痕（隐私）模式，或换一台电脑。"
    ),
    "trustee.no_votes": N_("目前没有需要解密的无记名表决。"),
    "trustee.vote_number": N_("第 %(id)s 号表决"),
    "trustee.vote_progress": N_("已有 %(x)s / %(k)s 名监票人提交解密"),
    "trustee.vote_open": N_("表决进行中，结束后自动解密"),
    "trustee.vote_checking": N_("正在核对选票：用各表决器的签名重算票数总和…"),
    "trustee.sums_refused": N_(
        "拒绝解密：服务器提供的票数总和与签名选票重算的不一致（%(detail)s）。请立即告知主席团和其他监票人。"
    ),
    "trustee.ballots_checked": N_("（已核对 %(n)s 张签名选票，请与大屏“已按”人数比对）"),
    "trustee.vote_decrypting": N_("正在解密…"),
    "trustee.vote_mine_done": N_("您已提交解密，等待其他监票人"),
    "trustee.vote_waiting": N_("等待解密"),
    "trustee.vote_counted": N_("解密完成，表决结果已生成"),
    "trustee.vote_cancelled": N_("该表决已取消，不再解密"),
    "trustee.vote_no_key": N_("这项表决使用的密钥不在本电脑上，无法解密"),
    # the tablet: the joint key's fingerprint under a trustee-mode ballot
    "kiosk.trustee_fingerprint": N_("联合公钥指纹：%(fingerprint)s"),
    "kiosk.encrypt_failed": N_("无法加密选票，请联系工作人员"),
}


def select_locale() -> str:
    """The explicit choice (``?lang=``, then the cookie), else Chinese. Outside a request
    (a Socket.IO event run in the app's context only), the connection's, put on ``g``."""
    if not has_request_context():
        return str(g.get("locale", DEFAULT_LOCALE))
    chosen = request.args.get(QUERY) or request.cookies.get(COOKIE)
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


def current_locale() -> str:
    locale = get_locale()
    return str(locale) if locale is not None else DEFAULT_LOCALE


def _remember_choice(response: Response) -> Response:
    """``?lang=`` switches for this page and every later one in this browser."""
    chosen = request.args.get(QUERY)
    if chosen in LOCALES and request.cookies.get(COOKIE) != chosen:
        response.set_cookie(
            COOKIE,
            chosen,
            max_age=COOKIE_MAX_AGE_S,
            samesite="Lax",
            httponly=True,
            # Secure exactly when the session cookie is (views/security.py sets the app's
            # session interface), without this module importing a view.
            secure=current_app.session_interface.get_cookie_secure(current_app),
        )
    return response


def switch_url(locale: str) -> str:
    """This page's address with ``?lang=locale`` (other query arguments kept)."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != QUERY]
    return request.path + "?" + urlencode([*args, (QUERY, locale)])


def kind_label(name: str, locale: str | None = None) -> str:
    """A vote kind's name in ``locale`` (else the request's); an unknown name as it is."""
    if not is_kind(name):
        return name
    kind = kind_of(name)
    return kind.label_en if (locale or current_locale()) == "en" else kind.label_zh


def kind_labels() -> dict[str, str]:
    """Every registered kind's name in the request's language, by kind."""
    return {kind.name: kind_label(kind.name) for kind in all_kinds()}


def js_strings() -> dict[str, str]:
    """``JS_STRINGS`` in the request's language, for ``<script id="i18n">``, with
    ``kind.<name>`` for every registered vote kind."""
    locale = current_locale()
    out = {key: gettext(msgid) for key, msgid in JS_STRINGS.items() if key not in JS_TERMS}
    out.update({key: glossary.term(word, locale=locale) for key, word in JS_TERMS.items()})
    out.update({f"kind.{name}": label for name, label in kind_labels().items()})
    out.update({f"term.{key}": word for key, word in glossary.terms(locale).items()})
    return out


def term(key: str, *, body_kind: str | None = None, kind: str | None = None) -> str:
    """A glossary word (rules/glossary.py) in the request's language: the one table of
    the domain's words; templates call it as ``term("cast")``."""
    return glossary.term(key, body_kind=body_kind, kind=kind, locale=current_locale())


@functools.cache
def _catalog(locale: str) -> NullTranslations:
    return Translations.load(str(TRANSLATIONS_DIR), [locale])


def translate_to(locale: str, msgid: str) -> str:
    """``msgid`` in a given language, whatever the request's (e.g. ``message_en``)."""
    return _catalog(locale).gettext(msgid)


def _template_helpers() -> dict[str, Any]:
    locale = current_locale()
    return {
        "current_locale": locale,
        "html_lang": HTML_LANG.get(locale, "zh-CN"),
        "locales": [(code, LOCALE_NAMES[code]) for code in LOCALES],
        "switch_url": switch_url,
        "js_strings": js_strings,
        "kind_label": kind_label,
        "term": term,
        "state_label": lambda state: gettext(STATE_LABELS.get(state, state)),
    }


def init_app(app: Flask) -> None:
    """Flask-Babel with our catalogs and locale choice, and the template helpers.

    Run last in the factory: Flask-Babel's ``_`` then replaces any stand-in
    ``_`` a module registered in the Jinja globals before the catalogs existed.
    """
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals["_"] = app.jinja_env.globals["gettext"]  # over any stand-in
    app.after_request(_remember_choice)
    app.context_processor(_template_helpers)
