"""The shell's side of refusals: the message a person reads, and the answer sent.

A service refuses with ``services.refusals.Refusal`` (a code and its detail);
here each code gets its Chinese message (the msgid) and English, and becomes
the acknowledgement of docs/protocol.md — for a Socket.IO event, and for the
HTTP views that answer the same way (views/errors.py, views/kiosk_api.py).
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask_babel import gettext
from pydantic import BaseModel, ValidationError

from rules.schema import format_loc
from voting_server.i18n import N_, translate_to
from voting_server.services.refusals import CODES, RETRYABLE, Refusal

M = TypeVar("M", bound=BaseModel)

# code → the Chinese msgid; its English is in the en catalog (voting_server/translations),
# like every other string.
TEXTS: dict[str, str] = {
    "invalid_payload": N_("请求格式有误"),
    "not_authenticated": N_("设备或用户尚未认证"),
    "forbidden": N_("无权进行此操作"),
    "unknown_device": N_("设备未登记或已停用"),
    "bad_signature": N_("签名验证失败"),
    "unknown_vote": N_("没有该表决事项"),
    "vote_not_open": N_("表决尚未开始或已经结束"),
    "vote_not_draft": N_("该表决已开始过，不能再次开始"),
    "vote_not_closed": N_("表决尚未结束"),
    "vote_already_open": N_("已有表决正在进行"),
    "no_quorum": N_("出席人数未过半数，不能开始表决"),
    "not_signed_in": N_("请先签到"),
    # 列席 attendees never vote; in a 主席团会议 only the presidium's members do.
    "too_few_attending": N_("签到的列席代表人数太少，无记名测评不能让列席代表参加（无法保密）"),
    "not_a_voter": N_("您不是本项表决的表决人（列席人员或非主席团成员不参加表决）"),
    "requirement_not_met": N_("所依据的表决尚未通过，不能开始本项表决"),
    # 代为签到 marks attendance only: a ballot needs the deputy's own PIN on this tablet.
    "pin_required": N_("请在本席位平板上输入本人密码"),
    "device_pending": N_("等待主持人确认"),
    "unknown_request": N_("没有待确认的更换表决器申请"),
    "already_signed_in": N_("已经签到"),
    "wrong_seat": N_("座位与设备不符"),
    "invalid_ballot": N_("选票无效"),
    # 监票人模式 (trustee mode): docs/trustee-votes.md
    "bad_proof": N_("加密选票的证明验证失败，选票未被接受，请重新表决"),
    "trustees_unsupported": N_("只有无记名的议案、选举或测评表决才能采用监票人密钥加密"),
    "trustees_no_key": N_("本次会议尚未完成监票人密钥仪式，不能开始监票人模式的表决"),
    "awaiting_decryption": N_("表决结果尚待监票人解密，暂不能宣布"),
    "decryption_not_trustee": N_("您不是该表决的监票人，不能提交解密份额"),
    "decryption_not_ready": N_("该表决尚未结束，暂不能解密"),
    "decryption_duplicate": N_("您已提交过该表决的解密份额"),
    "decryption_bad_proof": N_("解密份额的证明验证失败，操作未执行"),
    "already_voted": N_("已经表决，本次表决不允许更改"),
    "nonce_reused": N_("重复的请求编号"),
    # The kiosk adds what the refusal's data says: tries left, or the end of the lock.
    "pin_invalid": N_("密码错误"),
    "pin_locked": N_("密码错误次数过多，已暂时锁定"),
    "no_pin": N_("尚未设置密码，请联系工作人员"),
    "no_sitting": N_("当前没有进行中的会议"),
    "unknown_member": N_("没有该组成人员"),
    "unknown_document": N_("没有该文件，或该文件不属于本次会议"),
    "unknown_agenda_item": N_("没有该议程项，或该议程项不属于本次会议"),
    "bad_configuration": N_("表决设置有误"),
    # Three distinct faults of a code: staff retype it, or issue the seat a new one.
    "enrollment_unknown": N_("登记码有误：没有这个登记码，请核对后重新输入"),
    "enrollment_used": N_("该登记码已使用过，请为本座位重新生成登记码"),
    "enrollment_expired": N_("该登记码已过期或已作废，请为本座位重新生成登记码"),
    "enrollment_invalid": N_("本设备的密钥已登记到其他座位"),
    "unknown_seat": N_("该座位没有在册组成人员"),
    "unknown_user": N_("没有该工作人员账号"),
    "unknown_body": N_("没有该机构"),
    "username_taken": N_("该用户名已被使用"),
    "invalid_username": N_("用户名须为3至64个小写字母、数字或 . _ -"),
    "weak_password": N_("密码至少10个字符，且不能与用户名相同"),
    "login_failed": N_("用户名或密码错误"),
    "invalid_pin": N_("签到密码须为6位数字"),
    "rate_limited": N_("尝试次数过多，请稍后再试"),
    "vote_has_result": N_("该表决已有结果"),
    "no_paper_count": N_("尚未录入人工计票结果"),
    "already_countersigned": N_("已经签署"),
    "invalid_paper_count": N_("人工计票数据有误"),
    "vote_still_open": N_("表决仍在进行：须先由主席团取消表决并说明理由，才能录入人工计票"),
    "vote_never_opened": N_("该表决从未开始，不能录入人工计票"),
    "cancel_without_reason": N_("该表决不是由主席团说明理由后取消的，不能录入人工计票"),
    "present_differs": N_("实到人数与签到人数不一致，须填写理由"),
    "not_designated": N_("您不是本次会议指定的监票人"),
    "invalid_designation": N_("监票人指定有误：须指定至少两名不同的有效监票人账号"),
    "voting_started": N_("本次会议已开始表决，不能再指定监票人"),
    "database_unavailable": N_("系统繁忙，请稍候重试"),
    "server_busy": N_("系统繁忙，请稍候重试"),
    "internal_error": N_("服务器内部错误，操作未完成"),
    # the key ceremony's (audit/trustee_ceremony.py: CeremonyError), on the scrutineers' page
    "ceremony_no_trustees": N_("本次会议尚未指定监票人（或多于9名），不能开始密钥仪式"),
    "ceremony_bad_threshold": N_("门限值有误：须为1至监票人人数之间的整数"),
    "ceremony_unknown": N_("没有该密钥仪式"),
    "ceremony_wrong_phase": N_("密钥仪式当前不在这一步骤，操作未执行"),
    "ceremony_not_trustee": N_("您不是本次密钥仪式的监票人"),
    "ceremony_duplicate": N_("您已提交过这一步骤，不能重复提交"),
    "ceremony_malformed": N_("提交的数据格式有误，操作未执行"),
    "ceremony_bad_proof": N_("承诺的证明验证失败，操作未执行"),
    "ceremony_complaint_unfounded": N_("异议不成立：公开的份额与发送人的承诺相符"),
    "ceremony_forbidden": N_("密钥仪式由主席团开始"),
}


if TEXTS.keys() != CODES:  # a code without a message, or a message for no code
    raise RuntimeError(f"refusal codes without a message: {sorted(CODES ^ TEXTS.keys())}")

# code → (message, retry): what every answer of that code says.
MESSAGES: dict[str, tuple[str, bool]] = {
    code: (text, code in RETRYABLE) for code, text in TEXTS.items()
}


def answer_to(refused: Refusal) -> dict[str, Any]:
    """The acknowledgement of a service's refusal, with its ``data`` when it has any."""
    answer = refusal(refused.code, refused.detail)
    if refused.data:
        answer["data"] = refused.data
    return answer


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
