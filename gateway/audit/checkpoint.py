"""Signed checkpoints of the audit chain, kept outside the gateway's database.

The hash chain has no key: whoever can write the database can delete the newest records and
set the head back onto what is left. A checkpoint is a line in a file of its own
(`GATEWAY_AUDIT_CHECKPOINT_FILE`, default `<data_dir>/audit-checkpoints.jsonl`, mode 0600):

    {"seq": 1200, "hash": "<the record's hash>", "at": "2026-11-27T08:00:00.000000+00:00",
     "key": "<key id>", "mac": "<HMAC-SHA256>"}

`mac` is HMAC-SHA256 (hex), under the checkpoint key, of the text
`lgsp-audit-checkpoint-1\\n<seq>\\n<hash>\\n<at>`; `key` names the key (the first 16 hex digits
of its SHA-256) so a rotation is visible. The key is never in the database: it comes from
`GATEWAY_AUDIT_CHECKPOINT_KEY` (at least 32 characters) or from a key file
(`GATEWAY_AUDIT_CHECKPOINT_KEY_FILE`, default `<data_dir>/audit-checkpoint.key`, made with 32
random bytes and mode 0600 when missing). `lgsp audit verify --checkpoint FILE` checks each
line's MAC, then that every checkpointed seq is still in the chain with that hash.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.audit.chain import canonical_time
from lgsp_kit.files import private_file

VERSION = "lgsp-audit-checkpoint-1"
KEY_FILE = "audit-checkpoint.key"
CHECKPOINT_FILE = "audit-checkpoints.jsonl"
MIN_KEY_CHARS = 32


class CheckpointError(Exception):
    """A checkpoint file or key that cannot be used (missing, unreadable)."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    key: str
    mac: str

    def line(self) -> str:
        values = {"seq": self.seq, "hash": self.hash, "at": self.at, "key": self.key}
        return json.dumps({**values, "mac": self.mac}, separators=(",", ":")) + "\n"


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


def mac(key: bytes, seq: int, digest: str, at: str) -> str:
    message = f"{VERSION}\n{seq}\n{digest}\n{at}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sign(key: bytes, seq: int, digest: str, at: datetime | None = None) -> Checkpoint:
    when = canonical_time(at or datetime.now(UTC))
    return Checkpoint(seq, digest, when, key_id(key), mac(key, seq, digest, when))


def load_key(setting: str | None, key_file: Path, *, create: bool) -> bytes:
    """The checkpoint key: the setting when given, else the key file's content (made, 32
    random bytes as hex with mode 0600, when missing and `create`)."""
    if setting:
        if len(setting) < MIN_KEY_CHARS:
            raise CheckpointError(
                f"GATEWAY_AUDIT_CHECKPOINT_KEY has {len(setting)} characters; give at least "
                f"{MIN_KEY_CHARS}"
            )
        return setting.encode()
    if create:
        if key_file.exists():
            private_file(key_file)  # as an older version may have left it
        else:
            _create_key_file(key_file)
    try:
        key = key_file.read_bytes().strip()
    except OSError as exc:
        raise CheckpointError(f"cannot read the checkpoint key {key_file}: {exc}") from None
    if len(key) < MIN_KEY_CHARS:
        raise CheckpointError(f"the checkpoint key {key_file} is shorter than {MIN_KEY_CHARS}")
    return key


def _create_key_file(path: Path) -> None:
    """Written to a private temporary file, then linked into place: gateway processes starting
    at once end with one key, never a half-written one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def append(path: Path, checkpoint: Checkpoint) -> None:
    """One line, appended under a lock (the file is shared by the gateway's processes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, checkpoint.line().encode())
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Forged:
    line: int
    detail: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.detail}"


def read(path: Path, key: bytes) -> tuple[list[Checkpoint], Forged | None]:
    """Every checkpoint of the file, in order, and the first line that is not one the key
    signed (unreadable, or its MAC differs)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from None
    found: list[Checkpoint] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        checkpoint = _parse(line)
        if checkpoint is None:
            return found, Forged(number, "not a checkpoint (seq, hash, at, key, mac)")
        expected = mac(key, checkpoint.seq, checkpoint.hash, checkpoint.at)
        if not hmac.compare_digest(expected, checkpoint.mac):
            other = "" if checkpoint.key == key_id(key) else f" (signed by key {checkpoint.key})"
            return found, Forged(number, f"seq {checkpoint.seq}: bad HMAC{other}")
        found.append(checkpoint)
    return found, None


def _parse(line: str) -> Checkpoint | None:
    try:
        data: Any = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    seq, digest, at = data.get("seq"), data.get("hash"), data.get("at")
    key, signature = data.get("key"), data.get("mac")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        return None
    texts = (digest, at, key, signature)
    if not all(isinstance(v, str) for v in texts):
        return None
    return Checkpoint(seq, *(str(v) for v in texts))
