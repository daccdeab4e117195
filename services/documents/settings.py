from __future__ import annotations

from functools import cache

from pydantic_settings import SettingsConfigDict

from lgsp_kit.settings import AppSettings


class Settings(AppSettings):
    """Documents service settings; environment variables start with `DOCUMENTS_`."""

    model_config = SettingsConfigDict(
        env_prefix="DOCUMENTS_", extra="ignore", populate_by_name=True
    )

    app_name: str = "documents"
    port: int = 8002


@cache
def get_settings() -> Settings:
    return Settings()
