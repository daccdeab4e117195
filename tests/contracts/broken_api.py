"""A deliberately broken API for proving the suite can fail (a test fixture, not the product).

It publishes a small OpenAPI document in the gateway's style and answers against it: `GET
/things/{id}` returns a body whose `count` is a string where the schema says integer, and the
guarded `GET /secret` answers 200 without any token (ignored auth)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Form
from fastapi.responses import JSONResponse

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "broken fixture", "version": "1.0.0"},
    "paths": {
        "/things/{thing_id}": {
            "get": {
                "operationId": "get_thing",
                "summary": "One thing",
                "parameters": [
                    {"name": "thing_id", "in": "path", "required": True,
                     "schema": {"type": "integer", "minimum": 1, "maximum": 100}}
                ],
                "security": [{"bearerAuth": []}],
                "responses": {
                    "200": {"description": "the thing", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Thing"}}}},
                    "401": {"description": "no token"},
                    "422": {"description": "bad id"},
                },
            }
        },
        "/secret": {
            "get": {
                "operationId": "get_secret",
                "summary": "A guarded resource",
                "security": [{"bearerAuth": []}],
                "responses": {
                    "200": {"description": "the secret", "content": {"application/json": {
                        "schema": {"type": "object"}}}},
                    "401": {"description": "no token"},
                },
            }
        },
    },
    "components": {
        "schemas": {
            "Thing": {
                "type": "object",
                "required": ["id", "count"],
                "properties": {"id": {"type": "integer"}, "count": {"type": "integer"}},
            }
        },
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
    },
    "x-lgsp-unavailable": [],
}  # fmt: skip


def create_app() -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/openapi.json")
    async def openapi() -> dict[str, Any]:
        return SPEC

    @app.post("/token")
    async def token(grant_type: str = Form()) -> dict[str, Any]:
        return {"access_token": "fixture", "token_type": "Bearer", "expires_in": 3600}

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str) -> JSONResponse:
        if not thing_id.isdigit() or not 1 <= int(thing_id) <= 100:
            return JSONResponse({"detail": "bad id"}, status_code=422)
        # The break: `count` is published as an integer.
        return JSONResponse({"id": int(thing_id), "count": "many"})

    @app.get("/secret")
    async def secret() -> dict[str, Any]:
        return {"secret": "no token was needed"}

    return app
