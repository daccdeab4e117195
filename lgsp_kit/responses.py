"""Declared error responses, so every operation's OpenAPI tells the truth; `Answered`."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel, ConfigDict, Field

PROBLEM_REF = "#/components/schemas/Problem"


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable `code` and the `request_id`."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str = Field(description="stable machine-readable error code")
    request_id: str


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {"application/problem+json": {"schema": {"$ref": PROBLEM_REF}}},
        }
        for status in statuses
    }


class Answered(Exception):
    """Raised by a dependency that already has the request's whole answer (a refusal in a
    protocol's own shape): the endpoint does not run, the answer is sent."""

    def __init__(self, response: Response) -> None:
        super().__init__("answered")
        self.response = response


async def send_answered(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Answered)
    return exc.response
