"""Refusals: every error code the clients may see, with the message shown.

One home for the codes of docs/protocol.md. A refusal changes nothing; a
``retry`` refusal may be resent unchanged (same nonce).
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask_babel import gettext
from pydantic import BaseModel, ValidationError

from rules.schema import format_loc
from voting_server.i18n import N_, translate_to

M = TypeVar("M", bound=BaseModel)

# code → (message, retry). The message is the Chinese msgid; its English is in
# the en catalog (voting_server/translations), like every other string.
MESSAGES: dict[str, tuple[str, bool]] = {
    "invalid_payload": (N_("请求格式有误"), False),
    "not_authenticated": (N_("设备或用户尚未认证"), False),
    "forbidden": (N_("无权进行此操作"), False),
    "unknown_device": (N_("设备未登记或已停用"), False),
    "bad_signature": (N_("签名验证失败"), False),
    "unknown_vote": (N_("没有该表决事项"), False),
    "vote_not_open": (N_("表决尚未开始或已经结束"), False),
    "vote_not_draft": (N_("该表决已开始过，不能再次开始"), False),
    "vote_not_closed": (N_("表决尚未结束"), False),
    "vote_already_open": (N_("已有表决正在进行"), False),
    "no_quorum": (N_("出席人数未过半数，不能开始表决"), False),
    "not_signed_in": (N_("请先签到"), False),
    # 代为签到 marks attendance only: a ballot needs the deputy's own PIN on this tablet.
    "pin_required": (N_("请在本席位平板上输入本人密码"), False),
    "device_pending": (N_("等待主持人确认"), False),
    "unknown_request": (N_("没有待确认的更换表决器申请"), False),
    "already_signed_in": (N_("已经签到"), False),
    "wrong_seat": (N_("座位与设备不符"), False),
    "invalid_ballot": (N_("选票无效"), False),
    "already_voted": (N_("已经表决，本次表决不允许更改"), False),
    "nonce_reused": (N_("重复的请求编号"), False),
    "pin_invalid": (N_("密码错误"), False),
    "pin_locked": (N_("密码错误次数过多，请联系工作人员"), False),
    "no_pin": (N_("尚未设置密码，请联系工作人员"), False),
    "no_sitting": (N_("当前没有进行中的会议"), False),
    "unknown_member": (N_("没有该组成人员"), False),
    "unknown_document": (N_("没有该文件，或该文件不属于本次会议"), False),
    "bad_configuration": (N_("表决设置有误"), False),
    "enrollment_invalid": (N_("登记码无效或已过期"), False),
    "unknown_seat": (N_("该座位没有在册组成人员"), False),
    "unknown_user": (N_("没有该工作人员账号"), False),
    "username_taken": (N_("该用户名已被使用"), False),
    "invalid_username": (N_("用户名须为3至64个小写字母、数字或 . _ -"), False),
    "weak_password": (N_("密码至少10个字符，且不能与用户名相同"), False),
    "login_failed": (N_("用户名或密码错误"), False),
    "invalid_pin": (N_("签到密码须为6位数字"), False),
    "rate_limited": (N_("尝试次数过多，请稍后再试"), True),
    "vote_has_result": (N_("该表决已有结果"), False),
    "no_paper_count": (N_("尚未录入人工计票结果"), False),
    "already_countersigned": (N_("已经签署"), False),
    "invalid_paper_count": (N_("人工计票数据有误"), False),
    "vote_still_open": (
        N_("表决仍在进行：须先由主席团取消表决并说明理由，才能录入人工计票"),
        False,
    ),
    "vote_never_opened": (N_("该表决从未开始，不能录入人工计票"), False),
    "cancel_without_reason": (N_("该表决不是由主席团说明理由后取消的，不能录入人工计票"), False),
    "present_differs": (N_("实到人数与签到人数不一致，须填写理由"), False),
    "not_designated": (N_("您不是本次会议指定的监票人"), False),
    "invalid_designation": (N_("监票人指定有误：须指定至少两名不同的有效监票人账号"), False),
    "voting_started": (N_("本次会议已开始表决，不能再指定监票人"), False),
    "database_unavailable": (N_("系统繁忙，请稍候重试"), True),
    "server_busy": (N_("系统繁忙，请稍候重试"), True),
    "internal_error": (N_("服务器内部错误，操作未完成"), False),
}


class Refusal(Exception):
    """Raised by services to refuse a request; handlers turn it into the answer."""

    def __init__(self, code: str, detail: str = "") -> None:
        if code not in MESSAGES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail

    def answer(self) -> dict[str, Any]:
        return refusal(self.code, self.detail)


def refusal(code: str, detail: str = "") -> dict[str, Any]:
    """The acknowledgement of a refused request (docs/protocol.md): ``message`` in
    the connection's language (Chinese unless it chose English), ``message_en``
    always English (for logs and the Python kiosk client)."""
    msgid, retry = MESSAGES[code]
    answer: dict[str, Any] = {
        "ok": False,
        "error": code,
        "message": gettext(msgid),
        "message_en": translate_to("en", msgid),
        "retry": retry,
    }
    if detail:
        answer["detail"] = detail
    return answer


def bilingual(code: str) -> str:
    """ "中文 English" of a code, for the operators' command line."""
    msgid = MESSAGES[code][0]
    return f"{msgid} {translate_to('en', msgid)}"


def parse_payload(model: type[M], data: Any) -> M:
    """Validate an event payload; raises Refusal('invalid_payload') naming the field."""
    if not isinstance(data, dict):
        raise Refusal("invalid_payload", "payload must be an object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        # A key of the payload is part of the location: never echo a megabyte of it back.
        loc = tuple(_shortened(part) for part in err["loc"])
        raise Refusal("invalid_payload", f"{format_loc(loc)}: {err['msg']}") from None


def _shortened(part: int | str, longest: int = 40) -> int | str:
    return part if isinstance(part, int) or len(part) <= longest else part[:longest] + "…"
