from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from lgsp_kit.settings import AppSettings


class Settings(AppSettings):
    """Dossier service settings; environment variables start with `DOSSIER_`."""

    model_config = SettingsConfigDict(env_prefix="DOSSIER_", extra="ignore", populate_by_name=True)

    app_name: str = "dossier"
    port: int = 8001
    # Seed the demo procedures catalogue when the catalogue is empty.
    seed_procedures: bool = True
    # The sync of every dossier change to DVCQG, through the gateway's `dvcqg` context
    # (`<dvcqg_gateway_url>/dvcqg/DongBoHoSoMC`...), as the gateway's consumer `dvcqg_client_id`
    # (else, in dev, the credentials the gateway writes to `<data_dir>/dvcqg-client.json`).
    # Empty URL: no sync (changes stay marked pending, nothing is lost).
    dvcqg_gateway_url: str = ""
    dvcqg_client_id: str = ""
    dvcqg_client_secret: SecretStr = SecretStr("")
    dvcqg_client_file: Path | None = None
    # Dossiers per call (DVCQG takes at most 100), how often to look when idle, the back-off
    # after a failure (doubling from `dvcqg_retry_seconds` up to `dvcqg_retry_max_seconds`).
    dvcqg_batch: int = Field(default=100, ge=1, le=100)
    dvcqg_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    dvcqg_retry_seconds: float = Field(default=1.0, gt=0)
    dvcqg_retry_max_seconds: float = Field(default=60.0, gt=0)
    dvcqg_timeout_seconds: float = Field(default=30.0, gt=0)
    # What reporting is told of the sync's backlog (services/dossier/national/report.py): a
    # `dvcqg_backlog` event every `dvcqg_report_seconds` while it changes, every
    # `dvcqg_report_idle_seconds` while it does not.
    dvcqg_report_seconds: float = Field(default=10.0, gt=0, le=3600)
    dvcqg_report_idle_seconds: float = Field(default=60.0, gt=0, le=86400)

    @model_validator(mode="after")
    def _workers_need_postgresql(self) -> Self:
        """Several worker processes (`DOSSIER_WORKERS`) share one PostgreSQL database safely:
        MaHoSo numbers are reserved by atomic upserts, Idempotency-Keys are unique in the
        database, one relay publishes and one DVCQG sync sends (`lgsp_kit.leader`, an advisory
        lock each). Not on SQLite, whose relay assumes one process per file: refused at start
        rather than broken."""
        if (self.workers or 1) > 1:
            url = self.resolved_database_url()
            if not url.startswith(("postgresql", "postgres:")):
                raise ValueError("DOSSIER_WORKERS > 1 needs DOSSIER_DATABASE_URL on PostgreSQL")
        return self

    def dvcqg_credentials_file(self) -> Path:
        return self.dvcqg_client_file or self.data_dir / "dvcqg-client.json"


@cache
def get_settings() -> Settings:
    return Settings()
