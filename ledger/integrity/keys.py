"""The ledger's Ed25519 signing key: made once by ``xinfang init``, kept in a file, never in the database.

The key signs checkpoints and appraisals. It lives outside the database so that an
operator with write access to the tables cannot re-sign a rewritten history.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.config import sqlite_path
from ledger.errors import ConfigError
from ledger.private_files import create_private, exposure

KEY_VARIABLE = "XINFANG_KEY_FILE"


def key_path(url: str) -> Path:
    """``XINFANG_KEY_FILE``, else ``<database file>.key`` beside a SQLite ledger, else ``var/xinfang.key``."""
    explicit = os.environ.get(KEY_VARIABLE)
    if explicit:
        return Path(explicit)
    database = sqlite_path(url)
    return database.with_suffix(".key") if database is not None else Path("var/xinfang.key")


def create_key(path: Path) -> bool:
    """Write a new key with mode 0600 unless one exists; True when a key was made."""
    if path.exists():
        return False
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return create_private(path, pem)


def load_key(path: Path) -> Ed25519PrivateKey:
    if not path.exists():
        raise ConfigError(f"找不到签名密钥 {path}：请先运行 xinfang init", code="missing_key")
    problem = exposure(path)
    if problem is not None:
        raise ConfigError(f"签名密钥 {path} 的{problem}：请执行 chmod 600 {path}", code="key_permissions")
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{path} 不是 Ed25519 私钥", code="bad_key")
    return key
