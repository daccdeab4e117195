from __future__ import annotations

from functools import cache

from pydantic_settings import SettingsConfigDict

from lgsp_kit.settings import AppSettings


class Settings(AppSettings):
    """Dossier service settings; environment variables start with `DOSSIER_`."""

    model_config = SettingsConfigDict(env_prefix="DOSSIER_", extra="ignore", populate_by_name=True)

    app_name: str = "dossier"
    port: int = 8001
    # Seed the demo procedures catalogue when the catalogue is empty.
    seed_procedures: bool = True


@cache
def get_settings() -> Settings:
    return Settings()
