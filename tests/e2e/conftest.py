"""The platform as real processes, on SQLite and (when configured) on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL
from tests.e2e.platform import APPS, Platform


def _platform(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> Iterator[Platform]:
    urls: dict[str, str] = {}
    if backend == "postgresql":
        if not POSTGRES_URL:
            pytest.skip("LGSP_TEST_POSTGRES_URL is not set")
        make: Callable[[], str] = request.getfixturevalue("new_database")
        urls = {app: make() for app in APPS}
    p = Platform(tmp_path / "platform", database_urls=urls)
    try:
        p.start_all()
        yield p
    finally:
        p.stop_all()


@pytest.fixture(params=["sqlite", "postgresql"])
def platform(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Platform]:
    """NATS and the four apps, once per backend."""
    yield from _platform(request, tmp_path, request.param)


@pytest.fixture
def sqlite_platform(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Platform]:
    """NATS and the four apps on the embedded default."""
    yield from _platform(request, tmp_path, "sqlite")
