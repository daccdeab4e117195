"""The OpenAPI documents of the apps, built in-process from their FastAPI apps, and the
platform's merged one built with the gateway's own catalogue merge."""

from __future__ import annotations

import asyncio
import importlib
import tempfile
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from lgsp.apps import APPS as REGISTRY

# The apps as the registry knows them (lgsp/apps.py): a new service is published here too.
APPS = tuple(REGISTRY)
# The APIs the gateway publishes; the national simulator is outside the province: its parts
# are published as the gateway's national contexts (`ngsp`, `dvcqg`), not as an API of its own.
SERVICES = tuple(name for name, spec in REGISTRY.items() if name != "gateway" and spec.published)
NATIONAL = next((name for name, spec in REGISTRY.items() if not spec.published), None)
MODULES = {name: spec.module.removesuffix(".main") for name, spec in REGISTRY.items()}


def _fastapi(app: Any) -> FastAPI:
    """The FastAPI app inside an app's ASGI wrappers (the gateway wraps its own in two)."""
    seen = 0
    while not isinstance(app, FastAPI):
        app = getattr(app, "api", None) or getattr(app, "app", None)
        seen += 1
        if app is None or seen > 5:
            raise TypeError("no FastAPI app found inside the app")
    return app


def app_spec(name: str, data_dir: Path) -> dict[str, Any]:
    """One app's own document, as its `GET /openapi.json` answers, without starting it."""
    main = importlib.import_module(f"{MODULES[name]}.main")
    settings_module = importlib.import_module(f"{MODULES[name]}.settings")
    settings = settings_module.Settings(data_dir=data_dir)
    spec: dict[str, Any] = _fastapi(main.create_app(settings)).openapi()
    return spec


def platform_spec(specs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The gateway's merged `GET /openapi.json` with every service available."""
    from gateway.catalogue.service import Catalogue
    from gateway.settings import Settings

    async def fetch(base: str) -> dict[str, Any]:
        return specs[base]

    # The gateway's default national contexts, as `make run` publishes them.
    contexts = Settings.model_fields["national_contexts"].get_default(call_default_factory=True)
    national = {api: (NATIONAL, prefix) for api, prefix in contexts.items()} if NATIONAL else {}

    async def merge() -> dict[str, Any]:
        catalogue = Catalogue({api: api for api in SERVICES}, fetch, 3600.0, national=national)
        return await catalogue.merged(specs["gateway"])

    return asyncio.run(merge())


def openapi_documents() -> dict[str, dict[str, Any]]:
    """`<app>` → its document, plus `platform` → the merged one."""
    with tempfile.TemporaryDirectory(prefix="lgsp-openapi-") as tmp:
        specs = {name: app_spec(name, Path(tmp)) for name in APPS}
    return {**specs, "platform": platform_spec(specs)}
