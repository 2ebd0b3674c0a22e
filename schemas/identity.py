"""信访人身份信息：the personal data kept out of the ledger.

Events name a petitioner only by reference (:data:`PetitionerRef`, e.g. ``P-2021-000123``). The
identity itself is personal information under 《个人信息保护法》 (PIPL) and lives encrypted in the
identity vault (``ledger.vault``), so that destroying one person's key erases it while the ledger
still replays and verifies.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from schemas.common import Code

__all__ = ["ErasureAnswer", "IdentityAnswer", "PetitionerIdentity", "PetitionerRef"]

PetitionerRef = Code
"""信访人编号：the reference events carry instead of the identity (ASCII code, e.g. ``P-2021-000123``)."""

PersonName = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=64,
        pattern=r"\S",
        title="姓名",
        description="Name as on the ID card; 1-64 characters, not blank.",
    ),
]
IdNumber = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^(?:[0-9]{17}[0-9Xx])?$",
        title="公民身份号码",
        description="18-character resident ID number (GB 11643), or empty when not given.",
    ),
]
Phone = Annotated[
    str,
    msgspec.Meta(
        max_length=20,
        pattern=r"^[0-9+\-]*$",
        title="联系电话",
        description="Digits, '+' and '-' only, up to 20 characters; empty when not given.",
    ),
]
Address = Annotated[
    str,
    msgspec.Meta(max_length=256, title="住址", description="Postal address; empty when not given."),
]


def _mask(text: str, head: int, tail: int) -> str:
    if len(text) <= head + tail:
        return "*" * len(text)
    return text[:head] + "*" * (len(text) - head - tail) + text[len(text) - tail :]


class PetitionerIdentity(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """信访人身份信息：姓名、公民身份号码、联系电话、住址。

    Petitioner identity — personal information (PIPL); an ID number may reveal a minor, which
    makes it sensitive (PIPL art 28). Constraints are checked when decoding (msgspec), so bad
    input stops at the boundary; ``repr`` masks every field so the identity does not leak into
    logs and tracebacks.
    """

    name: PersonName
    id_number: IdNumber = ""
    phone: Phone = ""
    address: Address = ""

    def __repr__(self) -> str:
        return (
            f"PetitionerIdentity(name={_mask(self.name, 1, 0)!r}, "
            f"id_number={_mask(self.id_number, 6, 4)!r}, "
            f"phone={_mask(self.phone, 3, 4)!r}, "
            f"address={_mask(self.address, 6, 0)!r})"
        )


class IdentityAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """信访人身份信息的查阅结果：身份，或已销毁；``read`` 是记录这次查阅的编号（IdentityRead 事件）。"""

    ref: str
    status: Literal["present", "erased"]
    identity: PetitionerIdentity | None = None
    read: str | None = None


class IdentityWritten(msgspec.Struct, frozen=True, kw_only=True):
    """身份信息已加密保存；``digest`` 是记入账本的存储摘要（不含内容）。"""

    ref: str
    status: Literal["present"]
    digest: str


class ErasureAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """销毁结果。``erased_now`` 仅当本次销毁了密钥、且数据库文件中已无其任何副本时为 true。"""

    ref: str
    status: Literal["erased"]
    erased_now: bool
    pending: bool = False
    """密钥已从表中删除，但数据库文件中可能仍有副本（有其他连接持有销毁之前的读快照）：之后自动完成。"""
    detail: str = ""
    """中文说明：还剩什么、在哪里、如何完成。"""
