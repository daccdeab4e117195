"""A kit service app over a few tables of a test's own, for the tests of the request scope."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import MetaData
from sqlmodel import Session

from lgsp_kit.app import Runtime, create_service_app
from lgsp_kit.sessions import APIRouter
from lgsp_kit.settings import AppSettings


def table_app(
    tmp_path: Path,
    database_url: str,
    routers: Sequence[APIRouter],
    metadata: MetaData,
    seed: Callable[[Session], object] | None = None,
) -> FastAPI:
    """The app on `database_url` (no token checks, no bus), its tables made at start, filled
    by `seed`, and dropped at the end."""
    settings = AppSettings(
        app_name="kit",
        data_dir=tmp_path,
        database_url=database_url,
        migrate_on_start=False,
        auth_required=False,
        timezone="Asia/Ho_Chi_Minh",
    )

    async def create_tables(runtime: Runtime[AppSettings]) -> None:
        metadata.create_all(runtime.db.engine)
        if seed is not None:
            with runtime.db.session() as session:
                seed(session)

    async def drop_tables(runtime: Runtime[AppSettings]) -> None:
        metadata.drop_all(runtime.db.engine)

    return create_service_app(
        settings,
        title="kit",
        description="kit",
        routers=list(routers),
        migrations_dir=tmp_path,
        uses_bus=False,
        on_startup=create_tables,
        on_shutdown=drop_tables,
    )
