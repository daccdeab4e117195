"""Settings of the national simulator; environment variables start with `NATIONAL_`."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from contracts import reference
from lgsp_kit.settings import AppSettings, require_secret

DEV_CONSUMER_KEY = "lgsp-province"
DEV_CONSUMER_SECRET = "dev-only-national-consumer-secret"
DEV_ADMIN_SECRET = "dev-only-national-admin-secret"


class Settings(AppSettings):
    """The national side (DVCQG, NGSP, the document axis) as one simulator."""

    model_config = SettingsConfigDict(env_prefix="NATIONAL_", extra="ignore", populate_by_name=True)

    app_name: str = "national"
    port: int = 8004
    # The province's tokens mean nothing here: the national gateway issues its own (`/token`).
    auth_required: bool = False
    # NGSP consumers (consumer key → consumer secret) allowed to take a token at `/token`.
    consumers: dict[str, SecretStr] = Field(
        default_factory=lambda: {DEV_CONSUMER_KEY: SecretStr(DEV_CONSUMER_SECRET)}
    )
    token_ttl_seconds: int = Field(default=3600, ge=60, le=86400)
    # `Authorization: Bearer <admin_secret>` on `/admin/...` (the testers' fault control).
    admin_secret: SecretStr = SecretStr(DEV_ADMIN_SECRET)
    # The province this platform is: its organs' codes end with `.<province_code>`.
    province_code: str = Field(
        default_factory=lambda: reference.province().organ_suffix, pattern=r"^H[0-9]{2}$"
    )
    # The document axis: take the province's outbox and deliver national packages to it,
    # through the province's gateway, as the consumer the gateway registered for the axis.
    axis_enabled: bool = True
    province_url: str = "http://127.0.0.1:8000"
    # Where the gateway publishes the documents service (`<province_url><path>/v1/...`).
    province_documents_path: str = "/documents"
    axis_client_id: str = ""
    axis_client_secret: SecretStr = SecretStr("")
    # When no client id is set: the credentials file the gateway writes in dev.
    axis_client_file: Path | None = None
    axis_poll_seconds: float = Field(default=2.0, gt=0, le=300)
    axis_batch: int = Field(default=50, ge=1, le=200)
    # Deliveries to the province that failed are tried again at most this many times.
    axis_max_attempts: int = Field(default=20, ge=1)

    def client_file(self) -> Path:
        return self.axis_client_file or self.data_dir / "axis-client.json"

    @model_validator(mode="after")
    def _no_weak_secret_outside_dev(self) -> Settings:
        require_secret(
            self.environment,
            "NATIONAL_ADMIN_SECRET",
            self.admin_secret.get_secret_value(),
            dev_default=DEV_ADMIN_SECRET,
        )
        for key, secret in self.consumers.items():
            require_secret(
                self.environment,
                f"NATIONAL_CONSUMERS[{key}]",
                secret.get_secret_value(),
                dev_default=DEV_CONSUMER_SECRET,
            )
        return self


@cache
def get_settings() -> Settings:
    return Settings()
