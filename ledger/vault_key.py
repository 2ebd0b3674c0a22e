"""The vault's master key: it wraps every person's key, and lives outside the database like the signing key.

Someone who reads the database (a copied file, a backup, a stolen dump) then holds only wrapped
keys, and an erased person's wrapped key is useless even to someone who later obtains the master
key. Where the key comes from, first match wins:

1. ``XINFANG_VAULT_KEY``: the key itself, base64 of 32 random bytes (``openssl rand -base64 32``),
   for deployments that hand secrets to the service through its environment;
2. ``XINFANG_VAULT_KEY_FILE``: a file holding that one base64 line;
3. beside the signing key (:func:`ledger.integrity.keys.key_path`): ``xinfang.key`` →
   ``xinfang.vault.key``, i.e. ``var/xinfang.vault.key`` by default.

``xinfang init`` and ``xinfang demo`` create the file (mode 0600) when neither variable is set. A
file other users can read is refused (see :mod:`ledger.private_files`). Losing the master key loses
every stored identity: back it up, and never beside the database's backups.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from ledger.errors import ConfigError
from ledger.integrity.keys import key_path
from ledger.private_files import create_private, exposure

VALUE_VARIABLE = "XINFANG_VAULT_KEY"
FILE_VARIABLE = "XINFANG_VAULT_KEY_FILE"
MASTER_KEY_BYTES = 32


class MasterKeyError(ConfigError):
    """The master key is missing, readable by others, malformed, or not the one the vault was sealed with."""

    code = "vault_key_error"


def master_key_path(url: str) -> Path:
    """``XINFANG_VAULT_KEY_FILE``, else ``<signing key name>.vault.key`` beside the signing key."""
    explicit = os.environ.get(FILE_VARIABLE)
    if explicit:
        return Path(explicit)
    signing = key_path(url)
    return signing.with_name(f"{signing.stem}.vault.key")


def create_master_key(url: str) -> tuple[Path | None, bool]:
    """Write a new master key file (0600) unless one exists or the key comes from the environment.

    Returns the file (None when ``XINFANG_VAULT_KEY`` provides the key) and whether it was made.
    """
    if os.environ.get(VALUE_VARIABLE):
        return None, False
    path = master_key_path(url)
    return path, create_private(path, base64.b64encode(os.urandom(MASTER_KEY_BYTES)) + b"\n")


def load_master_key(url: str) -> bytes:
    """The master key for the ledger at ``url``, or a :class:`MasterKeyError` saying what to do."""
    value = os.environ.get(VALUE_VARIABLE)
    if value:
        return _decode(value, f"环境变量 {VALUE_VARIABLE}")
    path = master_key_path(url)
    if not path.exists():
        raise MasterKeyError(
            f"找不到身份信息库主密钥 {path}：新账本请运行 xinfang init 生成（此前存入的身份信息会在首次打开时"
            f"用它重新封装）；主密钥放在别处时用 {FILE_VARIABLE} 指明文件，或用 {VALUE_VARIABLE} 提供密钥本身",
            code="vault_key_missing",
        )
    problem = exposure(path)
    if problem is not None:
        raise MasterKeyError(
            f"身份信息库主密钥 {path} 的{problem}：只允许运行服务的用户读取，请执行 chmod 600 {path}",
            code="vault_key_permissions",
        )
    return _decode(path.read_text(encoding="ascii", errors="replace"), f"主密钥文件 {path}")


def _decode(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        key = b""
    if len(key) != MASTER_KEY_BYTES:
        raise MasterKeyError(
            f"{where} 不是有效的身份信息库主密钥：应为 32 字节随机数的 base64 编码（一行，例如 openssl rand -base64 32 的输出）",
            code="vault_key_invalid",
        )
    return key
