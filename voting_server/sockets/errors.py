"""Refusals: every error code the clients may see, with the message shown.

One home for the codes of docs/protocol.md. A refusal changes nothing; a
``retry`` refusal may be resent unchanged (same nonce).
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from voting_server.rules.schema import format_loc

M = TypeVar("M", bound=BaseModel)

# code → (中文, English, retry)
MESSAGES: dict[str, tuple[str, str, bool]] = {
    "invalid_payload": ("请求格式有误", "The request is malformed.", False),
    "not_authenticated": ("设备或用户尚未认证", "Not authenticated.", False),
    "forbidden": ("无权进行此操作", "Not allowed for this role.", False),
    "unknown_device": ("设备未登记或已停用", "Unknown or revoked device.", False),
    "bad_signature": ("签名验证失败", "The signature does not verify.", False),
    "unknown_vote": ("没有该表决事项", "No such vote.", False),
    "vote_not_open": ("表决尚未开始或已经结束", "The vote is not open.", False),
    "vote_not_draft": ("该表决已开始过，不能再次开始", "The vote was already opened.", False),
    "vote_not_closed": ("表决尚未结束", "The vote is not closed.", False),
    "vote_already_open": ("已有表决正在进行", "Another vote is open.", False),
    "no_quorum": ("出席人数未过半数，不能开始表决", "No quorum: the vote cannot be opened.", False),
    "not_signed_in": ("请先签到", "Sign in first.", False),
    "already_signed_in": ("已经签到", "Already signed in.", False),
    "wrong_seat": ("座位与设备不符", "The seat does not match this device.", False),
    "invalid_ballot": ("选票无效", "The ballot is invalid.", False),
    "already_voted": (
        "已经表决，本次表决不允许更改",
        "Already voted; changes are not allowed.",
        False,
    ),
    "nonce_reused": ("重复的请求编号", "Nonce already used for another ballot.", False),
    "pin_invalid": ("密码错误", "Wrong PIN.", False),
    "pin_locked": (
        "密码错误次数过多，请联系工作人员",
        "Too many wrong PINs; ask the staff.",
        False,
    ),
    "no_pin": ("尚未设置密码，请联系工作人员", "No PIN set; ask the staff.", False),
    "no_sitting": ("当前没有进行中的会议", "No sitting is in progress.", False),
    "unknown_member": ("没有该组成人员", "No such member.", False),
    "bad_configuration": ("表决设置有误", "The vote configuration is invalid.", False),
    "enrollment_invalid": ("登记码无效或已过期", "Invalid or expired enrollment code.", False),
    "unknown_seat": ("该座位没有在册组成人员", "No active member holds this seat.", False),
    "unknown_user": ("没有该工作人员账号", "No such staff account.", False),
    "username_taken": ("该用户名已被使用", "The username is taken.", False),
    "invalid_username": (
        "用户名须为3至64个小写字母、数字或 . _ -",
        "A username is 3 to 64 lowercase letters, digits, '.', '_' or '-'.",
        False,
    ),
    "weak_password": (
        "密码至少10个字符，且不能与用户名相同",
        "The password needs at least 10 characters and must differ from the username.",
        False,
    ),
    "login_failed": ("用户名或密码错误", "Wrong username or password.", False),
    "invalid_pin": ("签到密码须为6位数字", "A PIN is 6 digits.", False),
    "rate_limited": ("尝试次数过多，请稍后再试", "Too many attempts; try again later.", True),
    "vote_has_result": ("该表决已有结果", "The vote already has a result.", False),
    "no_paper_count": ("尚未录入人工计票结果", "No paper count has been entered.", False),
    "already_countersigned": ("已经签署", "Already countersigned.", False),
    "invalid_paper_count": ("人工计票数据有误", "The paper count is invalid.", False),
    "database_unavailable": ("系统繁忙，请稍候重试", "Database unavailable; retry.", True),
    "server_busy": ("系统繁忙，请稍候重试", "Server busy; retry.", True),
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
    """The acknowledgement of a refused request (docs/protocol.md)."""
    zh, en, retry = MESSAGES[code]
    answer: dict[str, Any] = {
        "ok": False,
        "error": code,
        "message": zh,
        "message_en": en,
        "retry": retry,
    }
    if detail:
        answer["detail"] = detail
    return answer


def parse_payload(model: type[M], data: Any) -> M:
    """Validate an event payload; raises Refusal('invalid_payload') naming the field."""
    if not isinstance(data, dict):
        raise Refusal("invalid_payload", "payload must be an object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        raise Refusal("invalid_payload", f"{format_loc(tuple(err['loc']))}: {err['msg']}") from None
