"""Generated request ids: UUIDv7 (RFC 9562), time-ordered, unique, reseeded in a fork."""

from __future__ import annotations

import os
import time
import uuid

from lgsp_kit.requestid import accept_or_new, new_request_id


def test_a_generated_id_is_a_uuid7_carrying_the_time() -> None:
    before = time.time_ns() // 1_000_000
    rid = new_request_id()
    after = time.time_ns() // 1_000_000
    assert len(rid) == 32
    parsed = uuid.UUID(hex=rid)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert before <= int(rid[:12], 16) <= after


def test_ids_are_unique_and_sort_by_the_millisecond() -> None:
    first = [new_request_id() for _ in range(5_000)]
    time.sleep(0.002)
    later = new_request_id()
    assert len(set(first)) == len(first)
    assert all(later > rid for rid in first)


def test_a_forked_child_does_not_repeat_the_parent() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, through the pipe
        os.close(read)
        os.write(write, "".join(new_request_id() for _ in range(8)).encode())
        os._exit(0)
    os.close(write)
    mine = {new_request_id()[12:] for _ in range(8)}
    with os.fdopen(read, "rb") as pipe:
        text = pipe.read().decode()
    os.waitpid(pid, 0)
    theirs = {text[i + 12 : i + 32] for i in range(0, len(text), 32)}
    assert len(theirs) == 8
    assert not mine & theirs


def test_a_sane_caller_id_is_kept_and_a_hostile_one_replaced() -> None:
    assert accept_or_new("abc-123") == "abc-123"
    replaced = accept_or_new("a b\\c")
    assert replaced != "a b\\c"
    assert uuid.UUID(hex=replaced).version == 7
