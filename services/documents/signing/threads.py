"""Threads for the work `cryptography` does without the GIL (making keys, signing, verifying),
one a core, shared by the process's requests: a batch's keys and signatures are made side by
side instead of one after another in its request's thread."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

WORKERS = os.cpu_count() or 1
_pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="signing")


def each(items: Sequence[T], work: Callable[[T], R]) -> list[R]:
    """`work` of every item, in the items' order, done on every core: one share a worker (every
    `WORKERS`-th item), so a hundred signatures cost a handful of hand-offs, not a hundred."""
    if len(items) < 2 or WORKERS < 2:
        return [work(item) for item in items]
    shares = [items[i::WORKERS] for i in range(WORKERS)]
    done = list(_pool.map(lambda share: [work(item) for item in share], shares))
    return [done[i % WORKERS][i // WORKERS] for i in range(len(items))]
