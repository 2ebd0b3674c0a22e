"""Decoding input from people and other systems, with errors a clerk can act on.

msgspec does the validation; this module only turns its English messages into
Chinese ones that name the field, keeping a stable code for machines.
"""

from __future__ import annotations

import re

import msgspec

from ledger.errors import InvalidInput
from schemas.commands import COMMAND_ID_PATTERN, Command, command_decoder
from schemas.common import CASE_NUMBER_PATTERN, CODE_PATTERN, NAME_PATTERN, TEXT_PATTERN

PATTERN_HINTS: dict[str, str] = {
    CODE_PATTERN: "格式不符合要求（只允许字母、数字和 - _ .，不含空格或换行）",
    CASE_NUMBER_PATTERN: "格式不符合要求（只允许字母、数字和 - _，不含空格或换行）",
    COMMAND_ID_PATTERN: "格式不符合要求（只允许字母、数字和 - _ . :，不含空格或换行）",
    TEXT_PATTERN: "含有控制字符（除制表符和换行外不允许控制字符）",
    NAME_PATTERN: "只能是一行文字，不能含有换行、制表符或其他控制字符",
}
"""What each pattern of :mod:`schemas` asks for, keyed by the regex msgspec quotes in its error."""

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Object missing required field `(?P<a>[^`]+)`"), "缺少必填字段 {a}"),
    (re.compile(r"Object contains unknown field `(?P<a>[^`]+)`"), "含有未知字段 {a}"),
    (re.compile(r"Expected `datetime` with a timezone component"), "时间必须带时区，例如 2021-03-01T09:30:00+08:00"),
    (re.compile(r"Invalid value '(?P<a>[^']*)'$"), "未知的命令类型 {a}"),
    (re.compile(r"Invalid enum value '(?P<a>[^']*)'"), "取值 {a} 不在允许范围内"),
    (re.compile(r"Expected `(?P<a>[^`]+)`, got `(?P<b>[^`]+)`"), "类型错误：应为 {a}，实际为 {b}"),
    (re.compile(r"Expected `str` matching regex (?P<a>'.*')"), "{a}"),
    (re.compile(r"Expected `str` of length >= (?P<a>\d+)"), "不能为空（至少 {a} 个字符）"),
    (re.compile(r"Expected `str` of length <= (?P<a>\d+)"), "过长（最多 {a} 个字符）"),
    (re.compile(r"Expected `(int|array)` (of length )?>= (?P<a>\d+)"), "不能小于 {a}"),
    (re.compile(r"Expected `(int|array)` (of length )?<= (?P<a>\d+)"), "不能大于 {a}"),
    (re.compile(r"Invalid RFC3339 encoded datetime"), "时间格式无效，应为 RFC 3339，例如 2021-03-01T09:30:00+08:00"),
    (re.compile(r"Invalid RFC3339 encoded date|Invalid ISO8601 date"), "日期格式无效，应为 2021-03-01"),
    (re.compile(r"Object missing required field `type`|Expected `object`"), "应为 JSON 对象"),
    (re.compile(r"JSON is malformed"), "不是有效的 JSON"),
    (re.compile(r"Input data was truncated"), "JSON 不完整"),
]


_PATTERN_MESSAGES = {repr(pattern): hint for pattern, hint in PATTERN_HINTS.items()}


def explain(exc: msgspec.MsgspecError) -> str:
    """A Chinese sentence for a msgspec error, with the JSON path of the field when known."""
    text = str(exc)
    text, _, path = text.partition(" - at `")
    path = path.rstrip("`")
    for pattern, template in _PATTERNS:
        match = pattern.search(text)
        if match:
            message = template.format(**match.groupdict())
            if template == "{a}":  # a pattern: say what it asks for
                message = _PATTERN_MESSAGES.get(message, "格式不符合要求")
            break
    else:
        message = text
    return f"{path[2:] if path.startswith('$.') else path}：{message}" if path and path != "$" else message


def decode_command(data: bytes | str) -> Command:
    """A command from JSON, or :class:`InvalidInput` saying what is wrong and where."""
    try:
        return command_decoder.decode(data)
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"命令无效：{encoding_hint(exc)}", code="invalid_encoding") from exc
    except RecursionError as exc:
        raise InvalidInput("命令无效：JSON 嵌套过深", code="malformed_json") from exc
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        code = "malformed_json" if isinstance(exc, msgspec.DecodeError) and not isinstance(
            exc, msgspec.ValidationError
        ) else "invalid_command"
        raise InvalidInput(f"命令无效：{explain(exc)}", code=code) from exc


def encoding_hint(exc: UnicodeDecodeError) -> str:
    """Why bytes are not UTF-8, and the likely cause: Excel and Notepad on Chinese Windows write GBK."""
    text = f"不是有效的 UTF-8 编码（含字节 0x{exc.object[exc.start]:02X}）"
    try:
        bytes(exc.object).decode("gbk")
    except UnicodeDecodeError:
        return text
    return f"{text}：看起来是 GBK/GB2312 编码（中文 Windows 上 Excel、记事本的默认编码），请另存为 UTF-8"
