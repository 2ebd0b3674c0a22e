"""API tokens as the CLI lists and issues them, and who a token stands for (``/api/me``)."""

from __future__ import annotations

import msgspec

from schemas.common import Actor

__all__ = ["IssuedToken", "Me", "RevokedTokens", "TokenInfo"]


class TokenInfo(msgspec.Struct, frozen=True, kw_only=True):
    """一枚已签发的令牌（``xinfang token list``）：不含明文，只有其哈希的前几位作编号。"""

    id: str
    actor: Actor
    label: str
    created_at: str
    revoked: bool


class IssuedToken(msgspec.Struct, frozen=True, kw_only=True):
    """新签发的令牌：明文只在此时出现一次（``xinfang token create``、``xinfang serve --demo-tokens``）。"""

    token: str
    actor: Actor


class RevokedTokens(msgspec.Struct, frozen=True, kw_only=True):
    """吊销的令牌数（``xinfang token revoke``）。"""

    revoked: int


class Me(msgspec.Struct, frozen=True, kw_only=True):
    """令牌对应的操作人：写入的每个事件都记录它。"""

    actor: Actor
    role_name: str
