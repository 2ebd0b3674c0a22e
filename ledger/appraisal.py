"""Year-end appraisals: computed from a log prefix under a named rule set, signed, and checkable later.

An appraisal (:class:`schemas.reports.Appraisal`) is the indicators, the accountability
report and the award verdicts of a period, as known at ``as_of``, together with what
they were computed from — the prefix of the log (tree size and root), the rule-set
fingerprint and its plugins, the parameters, the software — and an Ed25519 signature
by the ledger's key over the canonical JSON of all of it.

:func:`check` re-derives the appraisal from today's ledger and says whether it is
reproduced byte for byte. If not, it says exactly which figures differ and why:
events in the prefix that no longer match their leaves (named by ``seq`` and case), a
prefix whose root is not the signed one, a different rule set (named), or different
software. Events recorded after ``as_of`` never count, so back-dated entries added
since do not change a reproduced appraisal; a consistency proof shows the prefix is
still part of today's log.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from importlib import metadata
from typing import Any

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.awards import evaluate_awards
from ledger.canonical import canonical_json
from ledger.codec import UNREADABLE
from ledger.domain.case import CHINA
from ledger.errors import IntegrityFailure, InvalidInput, LedgerError
from ledger.integrity.checkpoints import Checkpoints
from ledger.merkle import ProofError, verify_consistency
from ledger.integrity.note import NoteError, parse_verifier_key, verifier_key
from ledger.projections.reports import Inputs, Snapshot
from ledger.projections.runner import Projector
from schemas.facts import Period
from schemas.reports import (
    Appraisal,
    AppraisalBody,
    CheckResult,
    Difference,
    Parameters,
    PluginRef,
    Signature,
)
from schemas.rules import AwardReport

MAX_DIFFERENCES = 500

_appraisal_decoder = msgspec.json.Decoder(Appraisal)


def software() -> str:
    try:
        return f"xinfang-ledger {metadata.version('xinfang-ledger')}"
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "xinfang-ledger"


def derive(snapshot: Snapshot) -> AppraisalBody:
    """The appraisal body of a snapshot (its inputs say period, as_of and parameters)."""
    rules, facts, inputs = snapshot.rules, snapshot.facts, snapshot.inputs
    if facts is not None:
        awards = evaluate_awards(facts, rules)
    else:
        awards = AwardReport(period=inputs.period.label, start=inputs.period.start, end=inputs.period.end,
                             as_of=inputs.as_of, tree_size=snapshot.size, rules_fingerprint=rules.fingerprint,
                             verdicts=[], total=0)
    return AppraisalBody(
        software=software(),
        basis=snapshot.reading("appraisal")[1],
        indicators=snapshot.indicators(),
        accountability=snapshot.accountability(),
        awards=awards,
    )


def sign(body: AppraisalBody, key: Ed25519PrivateKey, name: str) -> Appraisal:
    """Sign the canonical body; ``name`` is the log's origin, so the verifier key is the one its checkpoints use."""
    signature = key.sign(canonical_json(body))
    return Appraisal(body=body, signature=Signature(
        key=verifier_key(name, key.public_key()), value=base64.b64encode(signature).decode("ascii"),
    ))


def appraise(projector: Projector, period: Period, as_of: datetime | None, key: Ed25519PrivateKey, *,
             parameters: Parameters | None = None, advance: Callable[[int], None] | None = None,
             now: datetime | None = None) -> Appraisal:
    """Compute and sign the appraisal of ``period`` as known at ``as_of`` (default: now)."""
    now = now or datetime.now(CHINA)
    if as_of is None:
        as_of = now
    if as_of > now:
        raise InvalidInput(
            f"as-of 时间 {as_of.isoformat()} 晚于当前时间：以后记录的事件会进入这个前缀，考核将无法复现",
            code="as_of_in_future",
        )
    inputs = Inputs(period=period, as_of=as_of, parameters=parameters or Parameters(), withhold_accusations=True)
    snapshot = Snapshot(projector, inputs, plugins_for="appraisal", advance=advance)
    return sign(derive(snapshot), key, Checkpoints(projector.reader, projector.url).origin())


def encode(appraisal: Appraisal) -> bytes:
    """The appraisal file: indented JSON with sorted keys (the signature covers the canonical body)."""
    return msgspec.json.format(canonical_json(appraisal), indent=2) + b"\n"


def decode(data: bytes) -> tuple[Appraisal, Any]:
    """The appraisal and its body as plain JSON (what the signature is checked against).

    Refused with code ``bad_json`` when ``data`` is not JSON at all, ``not_an_appraisal`` when it
    is JSON but not an appraisal (fields missing or of the wrong type, a root that is not a
    SHA-256 in hex, a period that ends before it starts).
    """
    try:
        raw = msgspec.json.decode(data)
    except UNREADABLE as exc:
        raise InvalidInput(f"考核文件不是有效的 JSON：{exc}", code="bad_json") from exc
    try:
        appraisal = _appraisal_decoder.decode(data)
    except UNREADABLE as exc:
        raise InvalidInput(f"不是考核文件：{exc}", code="not_an_appraisal") from exc
    basis = appraisal.body.basis
    problem = (
        "basis.root 应为 64 位十六进制的 SHA-256" if len(basis.root) != 64 or not _is_hex(basis.root)
        else "basis.tree_size 不能为负" if basis.tree_size < 0
        else "basis.period_end 早于 basis.period_start" if basis.period_end < basis.period_start
        else "basis.as_of 须带时区" if basis.as_of is not None and basis.as_of.utcoffset() is None
        else "basis.as_of 超出可表示的范围" if basis.as_of is not None and not _representable(basis.as_of)
        else None
    )
    if problem is None:
        try:
            Inputs(period=Period(label=basis.period, start=basis.period_start, end=basis.period_end),
                   parameters=basis.parameters)
        except InvalidInput as exc:
            problem = f"basis.parameters：{exc.message}"
    if problem is not None:
        raise InvalidInput(f"不是考核文件：{problem}", code="not_an_appraisal")
    return appraisal, raw.get("body") if isinstance(raw, dict) else None


def _representable(moment: datetime) -> bool:
    try:
        moment.astimezone(CHINA)
    except OverflowError:
        return False
    return True


def _is_hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True


def _verify_signature(appraisal: Appraisal, raw_body: Any) -> bool:
    try:
        key = parse_verifier_key(appraisal.signature.key)
        key.public_key.verify(base64.b64decode(appraisal.signature.value, validate=True), canonical_json(raw_body))
    except (NoteError, InvalidSignature, ValueError):
        return False
    return True


def _key_matches(appraisal: Appraisal, ledger_key: Ed25519PrivateKey | None) -> bool | None:
    if ledger_key is None:
        return None
    try:
        signer = parse_verifier_key(appraisal.signature.key).public_key
    except NoteError:
        return False
    raw = PublicFormat.Raw
    return signer.public_bytes(Encoding.Raw, raw) == ledger_key.public_key().public_bytes(Encoding.Raw, raw)


def differences(recorded: Any, derived: Any, path: str = "") -> list[Difference]:
    """Every leaf value that differs between two JSON trees, by path (``indicators.total.conclusion.numerator``)."""
    found: list[Difference] = []

    def walk(a: Any, b: Any, where: str) -> None:
        if len(found) >= MAX_DIFFERENCES:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                walk(a.get(key), b.get(key), f"{where}.{key}" if where else key)
        elif isinstance(a, list) and isinstance(b, list) and (fields := _row_key(a, b)) is not None:
            left = {_label(x, fields): x for x in a}
            right = {_label(x, fields): x for x in b}
            for key in sorted(set(left) | set(right)):
                walk(left.get(key), right.get(key), f"{where}[{key}]")
        elif isinstance(a, list) and isinstance(b, list) and all(not isinstance(x, dict | list) for x in a + b):
            if a != b:
                found.append(Difference(path=where, recorded=a, derived=b))
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{where}[{i}]")
        elif a != b:
            found.append(Difference(path=where, recorded=a, derived=b))

    walk(recorded, derived, path)
    return found


_ROW_KEYS: tuple[tuple[str, ...], ...] = (
    ("seq",), ("official",), ("unit",), ("letter",), ("decision",), ("batch",), ("case", "step"),
    ("case", "order"), ("case",), ("key",), ("kind", "level"),
)
"""Fields that name a row of a list, tried in order until one names every row uniquely."""


def _row_key(*lists: list[Any]) -> tuple[str, ...] | None:
    """Fields naming every row of each list uniquely, or None (then lists are compared by position)."""
    items = [x for found in lists for x in found]
    if not items or not all(isinstance(x, dict) for x in items):
        return None
    for fields in _ROW_KEYS:
        if all(all(f in x for f in fields) for x in items) and all(
            len({tuple(str(x[f]) for f in fields) for x in found}) == len(found) for found in lists
        ):
            return fields
    return None


def _label(item: dict[str, Any], fields: tuple[str, ...]) -> str:
    return ",".join(f"{f}={item[f]}" for f in fields)


def check(projector: Projector, data: bytes, ledger_key: Ed25519PrivateKey | None = None,
          advance: Callable[[int], None] | None = None) -> CheckResult:
    """Re-derive an appraisal file from today's ledger and say what, if anything, differs and why."""
    appraisal, raw_body = decode(data)
    body, basis, rules = appraisal.body, appraisal.body.basis, projector.rules
    reasons: list[str] = []
    signature_valid = _verify_signature(appraisal, raw_body)
    if not signature_valid:
        reasons.append("签名无效：考核文件在签名后被改动，或不是用所附密钥签的")
    key_matches = _key_matches(appraisal, ledger_key)
    if key_matches is False:
        reasons.append("签名密钥不是本账本的密钥")
    rules_now = [PluginRef(name=p.name, version=p.version, config=p.config) for p in rules.plugins]
    rules_changed = basis.rules_fingerprint != rules.fingerprint
    if rules_changed:
        reasons.append(f"规则集不同：考核时指纹 {basis.rules_fingerprint[:12]}…，现在 {rules.fingerprint[:12]}…；"
                       + _rules_delta(basis.plugins, rules_now))
    if body.software != software():
        reasons.append(f"软件版本不同：考核时 {body.software}，现在 {software()}")

    size, signed_root = basis.tree_size, bytes.fromhex(basis.root)
    current = projector.tree_size()
    current_root = projector.root(current)
    result = {
        "signature_valid": signature_valid, "key_matches_ledger": key_matches, "tree_size": size,
        "current_size": current, "current_root": current_root.hex(), "recorded_after": max(0, current - size),
        "rules_fingerprint": basis.rules_fingerprint, "rules_changed": rules_changed, "rules_then": basis.plugins,
        "rules_now": rules_now, "reasons": reasons,
    }
    if current < size:
        reasons.append(f"账本现有 {current} 条事件，少于考核所用的 {size} 条：历史被删减")
        return CheckResult(reproduced=False, prefix_root_matches=False, consistent=False, consistency_proof=[],
                           damage=[], differences=[], **result)

    proof: list[str] = []
    consistent = size == 0
    if size:
        try:
            proof = projector.proofs.consistency(size, current).consistency_path
            verify_consistency(size, current, signed_root, current_root, [bytes.fromhex(h) for h in proof])
            consistent = True
        except (ProofError, IntegrityFailure) as exc:
            reasons.append(f"一致性证明不成立：考核所用的前 {size} 条不再是今天日志的前缀（{exc}）")
    by_as_of = projector.size_as_of(basis.as_of, current) if basis.as_of is not None else size
    if by_as_of != size:
        reasons.append(f"按 as_of（{basis.as_of}）今天选出 {by_as_of} 条事件，考核时为 {size} 条：记录时间被改动")

    inputs = Inputs(period=Period(label=basis.period, start=basis.period_start, end=basis.period_end),
                    as_of=basis.as_of, unit=basis.unit, parameters=basis.parameters, withhold_accusations=True)
    snapshot = Snapshot(projector, inputs, advance=advance, size=size, verify=True)
    prefix_root_matches = snapshot.leaf_root == signed_root
    if not prefix_root_matches:
        reasons.append(f"由存储的叶子重算的前 {size} 条的根与考核签名的根不同：历史被改写"
                       f"（重算 {snapshot.leaf_root.hex() if snapshot.leaf_root else '—'}，签名 {basis.root}）")
    for damage in snapshot.damage:
        where = f"案件 {damage.key}" if damage.kind == "case" and damage.key else (damage.key or damage.kind)
        reasons.append(f"序号 {damage.seq}（{where}，{damage.type}）：{damage.problem}")
    if snapshot.damage or not prefix_root_matches:
        reasons.append("全面核验整个账本：xinfang verify")

    diffs: list[Difference] = []
    if any("无法解码" in d.problem for d in snapshot.damage):
        reasons.append("前缀中有事件无法解码，无法重算考核数字")
    else:
        try:
            snapshot.load_facts("appraisal")
            recorded_raw = msgspec.json.decode(canonical_json(raw_body))
            derived_raw = msgspec.json.decode(canonical_json(derive(snapshot)))
            if canonical_json(derived_raw) != canonical_json(recorded_raw):
                diffs = differences(recorded_raw, derived_raw)
        except LedgerError as exc:
            reasons.append(f"无法重算考核数字：{exc.message}")
            diffs = [Difference(path="", recorded="…", derived=exc.message)]
    if diffs and len(reasons) == 0:
        reasons.append("数字不同，而前缀、规则集和软件版本都相同：请报告此问题")
    reproduced = (signature_valid and consistent and prefix_root_matches and by_as_of == size
                  and not snapshot.damage and not diffs)
    return CheckResult(reproduced=reproduced, prefix_root_matches=prefix_root_matches, consistent=consistent,
                       consistency_proof=proof, damage=snapshot.damage, differences=diffs,
                       **result)


def _rules_delta(then: list[PluginRef], now: list[PluginRef]) -> str:
    before = {p.name: p for p in then}
    after = {p.name: p for p in now}
    parts = []
    for name in sorted(set(before) | set(after)):
        a, b = before.get(name), after.get(name)
        if a is None:
            parts.append(f"新增插件 {name} {b.version if b else ''}")
        elif b is None:
            parts.append(f"插件 {name} 已停用")
        elif a.version != b.version:
            parts.append(f"插件 {name} 版本 {a.version} → {b.version}")
        elif a.config != b.config:
            parts.append(f"插件 {name} 配置 {canonical_json(a.config).decode()} → {canonical_json(b.config).decode()}")
    return "；".join(parts) or "插件相同"
