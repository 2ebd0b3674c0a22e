"""C2SP signed notes (c2sp.org/signed-note) and tlog checkpoints (c2sp.org/tlog-checkpoint).

A checkpoint commits the operator to a tree size and root. Writing it in the standard note format
with an Ed25519 key lets an inspector check it with any note tooling (for example Go's
golang.org/x/mod/sumdb/note), not only with this project's code.
"""

import base64
import re
from hashlib import sha256

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.merkle import HASH_SIZE

__all__ = [
    "Checkpoint",
    "NoteError",
    "VerifierKey",
    "format_checkpoint",
    "key_hash",
    "open_checkpoint",
    "open_note",
    "parse_verifier_key",
    "sign_note",
    "verifier_key",
]

_ED25519 = b"\x01"
_SIGNATURE_PREFIX = "\u2014 "  # em dash, space
_MAX_SIGNATURES = 100  # the spec asks verifiers to accept at least 16
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_TREE_SIZE = re.compile(r"0|[1-9][0-9]*")


class NoteError(ValueError):
    """A note or key is malformed, or its signature does not check out."""


class VerifierKey(msgspec.Struct, frozen=True):
    """A parsed verifier key: the public half that inspectors are given."""

    name: str
    key_hash: bytes
    public_key: Ed25519PublicKey


class Checkpoint(msgspec.Struct, frozen=True):
    """A log's claim that its tree of ``size`` leaves has ``root``."""

    origin: str
    size: int
    root: bytes


def _is_valid_name(name: str) -> bool:
    """Key names are non-empty, without Unicode spaces or ``+`` (which separates key fields), and
    printable text: no control character and nothing UTF-8 cannot carry (a lone surrogate)."""
    return bool(name) and "+" not in name and name.isprintable() and not any(c.isspace() for c in name)


def _b64decode(text: str) -> bytes | None:
    """Strict standard base64: alphabet, padding, and canonical form, so one value has one text."""
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error, or non-ASCII text
        return None
    return raw if base64.b64encode(raw).decode("ascii") == text else None


def key_hash(name: str, public_key_bytes: bytes) -> bytes:
    """Key ID: ``SHA-256(name ‖ 0x0A ‖ 0x01 ‖ Ed25519 public key)[:4]``."""
    return sha256(name.encode("utf-8") + b"\n" + _ED25519 + public_key_bytes).digest()[:4]


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """``<name>+<hex key ID>+<base64(0x01 ‖ public key)>``, the text handed to verifiers."""
    if not _is_valid_name(name):
        raise NoteError(f"invalid key name {name!r}")
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    encoded = base64.b64encode(_ED25519 + raw).decode("ascii")
    return f"{name}+{key_hash(name, raw).hex()}+{encoded}"


def parse_verifier_key(text: str) -> VerifierKey:
    """Parse and check a verifier key; the embedded key ID must match the key it names."""
    name, _, rest = text.partition("+")
    hash_hex, _, key_b64 = rest.partition("+")
    if not _is_valid_name(name):
        raise NoteError(f"verifier key has an invalid name {name!r}")
    if len(hash_hex) != 8 or any(c not in "0123456789abcdefABCDEF" for c in hash_hex):
        raise NoteError(f"verifier key {name!r} has a malformed key ID {hash_hex!r}")
    key = _b64decode(key_b64)
    if not key:
        raise NoteError(f"verifier key {name!r} has malformed key data")
    if key[:1] != _ED25519:
        raise NoteError(f"verifier key {name!r} uses unsupported algorithm {key[0]}")
    if len(key) != 33:
        raise NoteError(f"verifier key {name!r} holds {len(key) - 1} key bytes, not 32")
    expected = key_hash(name, key[1:])
    if bytes.fromhex(hash_hex) != expected:
        raise NoteError(f"verifier key {name!r} has ID {hash_hex}, its key gives {expected.hex()}")
    public_key = Ed25519PublicKey.from_public_bytes(key[1:])
    return VerifierKey(name=name, key_hash=expected, public_key=public_key)


def _check_text(text: str) -> bytes:
    """Notes are UTF-8 without ASCII control characters other than newline; returns the bytes."""
    control = _CONTROL.search(text)
    if control:
        raise NoteError(f"note contains control character {control.group()!r}")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NoteError("note is not valid UTF-8") from exc


def sign_note(body: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """Sign ``body`` (which must end in a newline) and append the signature block."""
    if not body.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if not _is_valid_name(name):
        raise NoteError(f"invalid key name {name!r}")
    message = _check_text(body)
    public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    signature = key_hash(name, public) + private_key.sign(message)
    return f"{body}\n{_SIGNATURE_PREFIX}{name} {base64.b64encode(signature).decode('ascii')}\n"


def open_note(note_text: str, verifier: str) -> str:
    """Return the text of ``note_text`` once a signature by ``verifier`` has been checked.

    As the spec requires, signatures by other keys are ignored, a failing signature by the
    given key rejects the note, and so does the absence of any signature by it.
    """
    return _open(note_text, parse_verifier_key(verifier))


def _open(note_text: str, key: VerifierKey) -> str:
    _check_text(note_text)
    split = note_text.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line before its signatures")
    body, block = note_text[: split + 1], note_text[split + 2 :]
    if not block.endswith("\n"):
        raise NoteError("note does not end with a signature line")
    lines = block[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise NoteError(f"note has {len(lines)} signatures, more than {_MAX_SIGNATURES}")
    signed = body.encode("utf-8")
    verified = False
    for line in lines:
        if not line.startswith(_SIGNATURE_PREFIX):
            raise NoteError(f"signature line does not start with an em dash: {line!r}")
        name, _, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
        signature = _b64decode(encoded)
        if not _is_valid_name(name) or signature is None or len(signature) < 5:
            raise NoteError(f"malformed signature line: {line!r}")
        if name != key.name or signature[:4] != key.key_hash:
            continue
        try:
            key.public_key.verify(signature[4:], signed)
        except InvalidSignature:
            raise NoteError(f"invalid signature by key {name}+{key.key_hash.hex()}") from None
        verified = True
    if not verified:
        raise NoteError(f"note is not signed by key {key.name}+{key.key_hash.hex()}")
    return body


def format_checkpoint(checkpoint: Checkpoint) -> str:
    """Checkpoint note text: origin, decimal size and base64 root, one per line."""
    if not checkpoint.origin or _CONTROL.search(checkpoint.origin) or "\n" in checkpoint.origin:
        raise NoteError(f"invalid checkpoint origin {checkpoint.origin!r}")
    if checkpoint.size < 0:
        raise NoteError(f"checkpoint size {checkpoint.size} is negative")
    if len(checkpoint.root) != HASH_SIZE:
        raise NoteError(f"checkpoint root is {len(checkpoint.root)} bytes, not {HASH_SIZE}")
    root = base64.b64encode(checkpoint.root).decode("ascii")
    return f"{checkpoint.origin}\n{checkpoint.size}\n{root}\n"


def _parse_checkpoint(body: str) -> Checkpoint:
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise NoteError("checkpoint needs an origin, a size and a root line")
    if len(lines) > 3:
        raise NoteError("checkpoint extension lines are not accepted by this ledger")
    origin, size, root_b64 = lines
    if not origin:
        raise NoteError("checkpoint origin is empty")
    if not _TREE_SIZE.fullmatch(size):
        raise NoteError(f"checkpoint size {size!r} is not a decimal without leading zeros")
    root = _b64decode(root_b64)
    if root is None or len(root) != HASH_SIZE:
        raise NoteError(f"checkpoint root {root_b64!r} is not a base64 {HASH_SIZE}-byte hash")
    return Checkpoint(origin=origin, size=int(size), root=root)


def open_checkpoint(note_text: str, verifier: str) -> Checkpoint:
    """Verify a signed checkpoint against ``verifier`` and return its contents.

    The signing key must be named after the checkpoint's origin, so one log's key cannot vouch
    for another log's tree.
    """
    key = parse_verifier_key(verifier)
    checkpoint = _parse_checkpoint(_open(note_text, key))
    if checkpoint.origin != key.name:
        raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not the key name {key.name!r}")
    return checkpoint
