from __future__ import annotations

from functools import cache

from pydantic_settings import SettingsConfigDict

from lgsp_kit.settings import AppSettings


class Settings(AppSettings):
    """Reporting service settings; environment variables start with `REPORTING_`."""

    model_config = SettingsConfigDict(
        env_prefix="REPORTING_", extra="ignore", populate_by_name=True
    )

    app_name: str = "reporting"
    port: int = 8003
    # Name of the durable JetStream consumer; replicas share it.
    durable_name: str = "reporting"
    batch_size: int = 500
    # Serve the live page and its Excel download at `/` without a token (aggregates only).
    public_page: bool = True


@cache
def get_settings() -> Settings:
    return Settings()
