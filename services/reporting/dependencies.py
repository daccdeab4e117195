"""Request dependencies of the reporting service: its settings and its consumer's progress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from lgsp_kit.app import Runtime
from services.reporting.settings import Settings


def _runtime(request: Request) -> Runtime[Settings]:
    runtime: Runtime[Settings] = request.app.state.runtime
    return runtime


async def app_settings(request: Request) -> Settings:
    return _runtime(request).settings


@dataclass(frozen=True)
class Progress:
    """How far the event consumer is: events waiting on the stream, seconds behind."""

    pending: int | None
    lag_seconds: float


async def consumer_progress(request: Request) -> Progress:
    consumer = _runtime(request).consumer
    if consumer is None:
        return Progress(pending=None, lag_seconds=0.0)
    return Progress(pending=await consumer.pending(), lag_seconds=consumer.lag_seconds)


SettingsDep = Annotated[Settings, Depends(app_settings)]
ProgressDep = Annotated[Progress, Depends(consumer_progress)]
