from __future__ import annotations

from functools import cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from lgsp_kit.settings import AppSettings


class Settings(AppSettings):
    """Gateway (LGSP) settings; environment variables start with `GATEWAY_`."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", populate_by_name=True)

    app_name: str = "gateway"
    # The gateway checks tokens itself, against its own keys (see gateway.proxy).
    auth_required: bool = False
    port: int = 8000
    issuer: str = "lgsp"
    token_ttl_seconds: int = 3600
    # Published APIs: context → the service's base URL (its `/v1/...` is published as
    # `/{context}/v1/...`).
    upstreams: dict[str, str] = Field(
        default_factory=lambda: {
            "dossier": "http://127.0.0.1:8001",
            "documents": "http://127.0.0.1:8002",
            "reporting": "http://127.0.0.1:8003",
        }
    )
    upstream_timeout_seconds: float = 30.0
    max_body_bytes: int = 10 * 1024 * 1024
    # Development convenience: register a demo consumer and write its credentials to
    # `<data_dir>/demo-client.json`. Refused outside the dev environment.
    demo_consumer: bool = True


@cache
def get_settings() -> Settings:
    return Settings()
