"""The apps of the platform, named by import path so the kit never imports them eagerly.

`published`: the gateway publishes the app's API to the province's consumers (the services);
the national simulator stands for systems outside the province and is not published as a
context of its own.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from lgsp_kit.settings import AppSettings


@dataclass(frozen=True)
class AppSpec:
    name: str
    module: str
    default_port: int
    published: bool = True

    @property
    def factory(self) -> str:
        return f"{self.module}:create_app"

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)

    def settings(self) -> AppSettings:
        settings: AppSettings = self.load().get_settings()
        return settings

    @property
    def migrations_dir(self) -> Path:
        return Path(self.load().MIGRATIONS)

    @property
    def env_prefix(self) -> str:
        return self.name.upper() + "_"


APPS: dict[str, AppSpec] = {
    spec.name: spec
    for spec in (
        AppSpec("gateway", "gateway.main", 8000),
        AppSpec("dossier", "services.dossier.main", 8001),
        AppSpec("documents", "services.documents.main", 8002),
        AppSpec("reporting", "services.reporting.main", 8003),
        AppSpec("national", "services.national.main", 8004, published=False),
    )
}
