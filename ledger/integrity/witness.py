"""The inspector's witness: accept a new checkpoint only if it extends every one accepted before.

An operator with full write access can rewrite events, leaves and nodes so that the stored log
verifies again; what they cannot do is make the rewritten tree consistent with a checkpoint an
inspector already holds. The witness keeps the checkpoints it accepted in a state directory and,
for each new one, asks the log for an RFC 9162 consistency proof from the newest accepted size
and checks it against the two *signed* roots (never against roots the log reports alongside).

State directory::

    DIR/verifier-key                      the log's verifier key (trusted on first use, or given)
    DIR/checkpoints/<size, 20 digits>.note the accepted checkpoints, as signed
    DIR/evidence/<UTC time>-<size>.note   refused checkpoints with a .txt saying why: a signed
                                          checkpoint inconsistent with an accepted one is proof
                                          that the operator's history was rewritten

Sources: the ledger's database (``--db``) or its HTTP API (``--from-api``: ``GET
/api/integrity/checkpoint``, ``/api/integrity/consistency?first=M&second=N`` and, on first use,
``/api/integrity/verifier-key``, with a bearer token).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import msgspec

from ledger.codec import UNREADABLE
from ledger.errors import ConfigError, LedgerError
from ledger import merkle
from ledger.integrity import note
from schemas.integrity import WitnessResult
from schemas.proofs import ConsistencyProof

__all__ = ["ApiSource", "DatabaseSource", "Source", "witness"]


class Source(Protocol):
    """Where the witness gets checkpoints and proofs from."""

    def checkpoint(self) -> str:
        """The newest signed checkpoint note."""
        ...

    def consistency(self, first: int, second: int) -> ConsistencyProof: ...

    def verifier_key(self) -> str:
        """The log's verifier key, asked only when the state directory has none yet."""
        ...


class DatabaseSource:
    """The ledger's own database: a fresh checkpoint when the signing key is at hand, else the
    newest one the ledger stored."""

    def __init__(self, ledger: Any) -> None:
        from ledger.integrity.checkpoints import Checkpoints
        from ledger.integrity.keys import key_path
        from ledger.integrity.proofs import Proofs

        self.checkpoints = Checkpoints(ledger.recorder, ledger.url)
        self.proofs = Proofs(ledger.recorder)
        self.has_key = key_path(ledger.url).exists()

    def checkpoint(self) -> str:
        if self.has_key:
            return self.checkpoints.issue()
        latest = self.checkpoints.latest()
        if latest is None:
            raise ConfigError("账本还没有签发过检查点，且本机没有签名密钥", code="no_checkpoint")
        return latest.note

    def consistency(self, first: int, second: int) -> ConsistencyProof:
        return self.proofs.consistency(first, second)

    def verifier_key(self) -> str:
        return self.checkpoints.verifier_key()


class ApiSource:
    """The ledger's HTTP API (``http://host:port``, with or without the trailing ``/api``)."""

    def __init__(self, base: str, token: str | None, timeout: float = 30.0) -> None:
        base = base.rstrip("/")
        self.base = base[: -len("/api")] if base.endswith("/api") else base
        self.token = token
        self.timeout = timeout

    def _get(self, path: str, params: dict[str, int] | None = None) -> bytes:
        url = f"{self.base}/api/integrity/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        request = urllib.request.Request(url)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (http/https only)
                data: bytes = response.read()
                return data
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            try:
                detail = json.loads(detail).get("detail", detail)
            except (ValueError, AttributeError):
                pass
            raise LedgerError(f"账本接口 {url} 答复 {exc.code}：{detail}", code="api_error") from None
        except (urllib.error.URLError, OSError) as exc:
            raise LedgerError(f"无法连接账本接口 {url}：{exc}", code="api_unreachable") from None

    def checkpoint(self) -> str:
        return self._get("checkpoint").decode("utf-8")

    def consistency(self, first: int, second: int) -> ConsistencyProof:
        try:
            answer = self._get("consistency", {"first": first, "second": second})
            return msgspec.json.decode(answer, type=ConsistencyProof)
        except UNREADABLE as exc:
            raise LedgerError(f"账本接口返回的一致性证明格式不对：{exc}", code="api_error") from None

    def verifier_key(self) -> str:
        return self._get("verifier-key").decode("utf-8").strip()


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


class _State:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.key_file = directory / "verifier-key"
        self.accepted = directory / "checkpoints"
        self.evidence = directory / "evidence"

    def key(self, given: str | None, source: Source) -> tuple[str, bool]:
        """The trusted verifier key, and whether it was just learned from the source."""
        if self.key_file.exists():
            trusted = self.key_file.read_text(encoding="utf-8").strip()
            if given is not None and given.strip() != trusted:
                raise ConfigError(
                    f"给出的验证公钥与见证目录 {self.directory} 中保存的不同；换密钥意味着换了一个日志，"
                    "请使用新的见证目录", code="witness_key_mismatch",
                )
            return trusted, False
        learned = given is None
        key = (given if given is not None else source.verifier_key()).strip()
        try:
            note.parse_verifier_key(key)
        except note.NoteError as exc:
            raise ConfigError(f"验证公钥无效：{exc}", code="bad_verifier_key") from None
        _write(self.key_file, key + "\n")
        return key, learned

    def newest(self, key: str) -> note.Checkpoint | None:
        files = sorted(self.accepted.glob("*.note")) if self.accepted.exists() else []
        if not files:
            return None
        try:
            return note.open_checkpoint(files[-1].read_text(encoding="utf-8"), key)
        except note.NoteError as exc:
            raise ConfigError(f"见证目录中的检查点 {files[-1]} 无法验证：{exc}", code="witness_state_damaged") from None

    def accept(self, checkpoint: note.Checkpoint, text: str) -> None:
        _write(self.accepted / f"{checkpoint.size:020d}.note", text)

    def keep_evidence(self, text: str, size: int | None, reason: str) -> Path:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.evidence / f"{stamp}-{size if size is not None else 'unknown'}.note"
        _write(path, text)
        _write(path.with_suffix(".txt"), reason + "\n")
        return path


def witness(state: Path, source: Source, verifier_key: str | None = None) -> WitnessResult:
    """Fetch the newest checkpoint from ``source`` and accept it only as an extension of the
    newest one in ``state``; a refused checkpoint is kept as evidence."""
    store = _State(state)
    key, learned = store.key(verifier_key, source)
    text = source.checkpoint()
    previous = store.newest(key)
    prev_size = previous.size if previous else None
    prev_root = previous.root.hex() if previous else None

    def refuse(reason: str, checkpoint: note.Checkpoint | None) -> WitnessResult:
        kept = store.keep_evidence(text, checkpoint.size if checkpoint else None, reason)
        return WitnessResult(
            accepted=False, first=previous is None, origin=checkpoint.origin if checkpoint else None,
            tree_size=checkpoint.size if checkpoint else None, root=checkpoint.root.hex() if checkpoint else None,
            previous_size=prev_size, previous_root=prev_root, message=reason, evidence=str(kept),
        )

    try:
        checkpoint = note.open_checkpoint(text, key)
    except note.NoteError as exc:
        return refuse(f"检查点签名无法用已信任的验证公钥验证：{exc}", None)

    def accepted(message: str) -> WitnessResult:
        return WitnessResult(
            accepted=True, first=previous is None, origin=checkpoint.origin, tree_size=checkpoint.size,
            root=checkpoint.root.hex(), previous_size=prev_size, previous_root=prev_root, message=message,
        )

    if previous is None:
        store.accept(checkpoint, text)
        trust = "（验证公钥首次从日志获取并已保存，请与账本运营方线下核对）" if learned else ""
        return accepted(f"首次见证：接受大小为 {checkpoint.size} 的检查点{trust}")
    if checkpoint.size < previous.size:
        return refuse(
            f"拒绝：新检查点的树（{checkpoint.size} 条）比已接受的（{previous.size} 条）还小：历史被删改", checkpoint
        )
    if checkpoint.size == previous.size:
        if checkpoint.root != previous.root:
            return refuse(
                f"拒绝：同样大小 {checkpoint.size} 的树有两个不同的根（已接受 {previous.root.hex()[:16]}…，"
                f"新的 {checkpoint.root.hex()[:16]}…）：历史被改写", checkpoint,
            )
        return accepted(f"树没有增长（{checkpoint.size} 条），与已接受的检查点一致")
    if previous.size == 0:
        store.accept(checkpoint, text)
        return accepted(f"接受大小为 {checkpoint.size} 的检查点（此前见证的是空树）")
    proof = source.consistency(previous.size, checkpoint.size)
    if (proof.first, proof.second) != (previous.size, checkpoint.size):
        return refuse(
            f"拒绝：日志给出的一致性证明是 {proof.first}→{proof.second}，而不是所要的 "
            f"{previous.size}→{checkpoint.size}", checkpoint,
        )
    try:
        path = [bytes.fromhex(h) for h in proof.consistency_path]
        merkle.verify_consistency(previous.size, checkpoint.size, previous.root, checkpoint.root, path)
    except (ValueError, merkle.ProofError) as exc:
        return refuse(
            f"拒绝：大小为 {checkpoint.size} 的新检查点不是已接受检查点（大小 {previous.size}）的延续"
            f"（{exc}）：已见证的历史被改写", checkpoint,
        )
    store.accept(checkpoint, text)
    return accepted(f"接受：大小 {previous.size} → {checkpoint.size}，一致性证明有效")
