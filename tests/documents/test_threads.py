"""`signing.threads.each`: work shared among the signing threads, answered in the items' order."""

from __future__ import annotations

import threading

from services.documents.signing import threads


def test_each_answers_in_order_from_the_signing_threads() -> None:
    ran_in: set[str] = set()

    def square(n: int) -> int:
        ran_in.add(threading.current_thread().name)
        return n * n

    assert threads.each(list(range(11)), square) == [n * n for n in range(11)]
    expected = "signing" if threads.WORKERS > 1 else threading.current_thread().name
    assert all(name.startswith(expected) for name in ran_in), ran_in


def test_each_of_one_item_runs_in_the_callers_thread() -> None:
    assert threads.each(["x"], lambda _: threading.current_thread().name) == [
        threading.current_thread().name
    ]
