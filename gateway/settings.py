from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from lgsp_kit.settings import AppSettings, require_secret

DEV_KEY_PASSPHRASE = "dev-only-gateway-key-passphrase"
# The province's consumer at the national gateway in dev (the national simulator's default).
DEV_NATIONAL_CLIENT_ID = "lgsp-province"
DEV_NATIONAL_CLIENT_SECRET = "dev-only-national-consumer-secret"


class Settings(AppSettings):
    """Gateway (LGSP) settings; environment variables start with `GATEWAY_`."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", populate_by_name=True)

    app_name: str = "gateway"
    # The gateway checks tokens itself, against its own keys (see gateway.fastpath.proxy).
    auth_required: bool = False
    port: int = 8000
    # uvicorn worker processes of `lgsp run gateway`; throttling counters, the consumer cache
    # and the audit buffer are per process (see docs/gateway.md).
    workers: int = Field(default=1, ge=1, le=64)
    # The tokens' `iss`, and the `issuer` of the OAuth metadata (RFC 8414 wants the gateway's
    # public https URL there: set it, and each service's LGSP_TOKEN_ISSUER, to that URL).
    issuer: str = "lgsp"
    # The public base URL of the gateway for the metadata's endpoints (default: as requested).
    public_url: str | None = None
    token_ttl_seconds: int = 3600
    # The algorithm of new signing keys: EdDSA (Ed25519), RS256 (RSA-2048) or ES256 (P-256).
    # Changing it rotates at the next start; the services verify whatever the JWKS publishes.
    token_algorithm: Literal["EdDSA", "RS256", "ES256"] = "EdDSA"
    # Encrypts the token-signing private keys at rest (PKCS#8, best available encryption).
    key_passphrase: SecretStr = SecretStr(DEV_KEY_PASSPHRASE)
    # `/token`: client secret checks waiting at once (more get 503 with Retry-After), and the
    # failures one client id may have in a window before its requests get 429 unchecked.
    token_check_queue_limit: int = Field(default=64, ge=1)
    token_failure_limit: int = Field(default=10, ge=1)
    token_failure_window_seconds: int = Field(default=60, ge=1)
    # Published APIs: context → the service's base URL (its `/v1/...` is published as
    # `/{context}/v1/...`).
    upstreams: dict[str, str] = Field(
        default_factory=lambda: {
            "dossier": "http://127.0.0.1:8001",
            "documents": "http://127.0.0.1:8002",
            "reporting": "http://127.0.0.1:8003",
        }
    )
    # The national side (NGSP, DVCQG), published to the province's consumers as API contexts of
    # their own: context → path prefix at `national_url`. `/{context}/<path>` goes to
    # `<national_url><prefix>/<path>` (the national APIs' own paths: no version segment), with
    # the province's token at the national gateway in place of the caller's. Empty
    # `national_url`: no national context.
    national_url: str = ""
    national_contexts: dict[str, str] = Field(
        default_factory=lambda: {"dvcqg": "/dvcqg", "ngsp": ""}
    )
    # What each national context forwards, as paths after `/{context}`: one ending in "/" a
    # prefix, any other an exact path. Anything else there is not the province's to call (the
    # axis, the national token, the testers' views, the fault control): 404, never forwarded.
    # The catalogue publishes the national side's operations tagged with the context's name.
    national_paths: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "dvcqg": ["/DongBoHoSoMC", "/CapNhatTienDoHoSoMC", "/TraCuuHoSo"],
            "ngsp": ["/apiCSDLDanCu/", "/apiCSDLDKDN/"],
        }
    )
    # The province's consumer at the national gateway (OAuth 2.0 client credentials at
    # `<national_url><national_token_path>`).
    national_client_id: str = DEV_NATIONAL_CLIENT_ID
    national_client_secret: SecretStr = SecretStr(DEV_NATIONAL_CLIENT_SECRET)
    national_token_path: str = "/token"
    # Time allowed for the backend to start answering (and between two chunks of its body).
    upstream_timeout_seconds: float = 30.0
    upstream_connect_timeout_seconds: float = 5.0
    # `max_body_bytes` (the API limit, the proxy's too) is the kit's; `/token` and `/admin`
    # take small bodies and refuse larger ones before reading them.
    max_control_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # How long a consumer's subscriptions and state are trusted before re-reading them: the
    # longest a disabled consumer's tokens keep working in another worker process.
    consumer_cache_seconds: float = 5.0
    # How often each process re-reads the signing keys (a rotation done by another process).
    key_refresh_seconds: float = 30.0
    # Throttling tiers (WSO2 style): requests per window; null means unlimited.
    tier_limits: dict[str, int | None] = Field(
        default_factory=lambda: {"Bronze": 1000, "Silver": 2000, "Gold": 5000, "Unlimited": None}
    )
    throttle_window_seconds: int = Field(default=60, ge=1)
    # Redis shared by every gateway process (`LGSP_REDIS_URL`, e.g. redis://redis:6379/0):
    # throttling counted once for all of them, consumer and key changes told to all at once
    # (gateway.shared). Empty (the embedded default): each process on its own.
    redis_url: str = Field(
        default="",
        validation_alias=AliasChoices("redis_url", "GATEWAY_REDIS_URL", "LGSP_REDIS_URL"),
    )
    # How long a call waits for Redis before the throttle falls back to per-process limits, and
    # how long it stays so before asking Redis again.
    redis_timeout_seconds: float = Field(default=0.25, gt=0)
    redis_retry_seconds: float = Field(default=1.0, gt=0)
    # With Redis, each process takes the calls of a window from the shared counter a few at a
    # time (this share of the limit, at most throttle_lease_max) and spends them locally: one
    # Redis request per lease, not per call. Unspent leases at a window's end are lost: at most
    # processes × lease calls of the limit.
    throttle_lease_fraction: float = Field(default=0.005, gt=0, le=0.1)
    throttle_lease_max: int = Field(default=100, ge=1)
    # Audit log: records are buffered in memory and written in batches off the hot path.
    audit_enabled: bool = True
    audit_batch_size: int = Field(default=500, ge=1)
    audit_flush_seconds: float = Field(default=1.0, gt=0)
    audit_buffer_limit: int = Field(default=100_000, ge=1)
    # Signed checkpoints of the audit chain head, outside the database (gateway.audit.checkpoint):
    # how often, where (default <data_dir>/audit-checkpoints.jsonl) and the HMAC key: this
    # setting (at least 32 characters), else the key file (default
    # <data_dir>/audit-checkpoint.key, made with mode 0600 when missing).
    audit_checkpoint_seconds: float = Field(default=300.0, gt=0)
    audit_checkpoint_file: Path | None = None
    audit_checkpoint_key: SecretStr | None = None
    audit_checkpoint_key_file: Path | None = None
    # Catalogue: how long a service's OpenAPI document is kept before it is fetched again.
    catalogue_cache_seconds: float = 30.0
    # Development convenience: register a demo consumer and an admin consumer and write their
    # credentials to `<data_dir>/demo-client.json` and `<data_dir>/admin-client.json`.
    # Refused outside the dev environment.
    demo_consumer: bool = True
    admin_consumer: bool = True
    # The national axis's consumer (`<data_dir>/axis-client.json`, read by the national
    # simulator in dev): the documents API with `documents:axis`.
    axis_consumer: bool = True
    # The dossier service's DVCQG sync (`<data_dir>/dvcqg-client.json`, read by the dossier
    # service in dev): the national `dvcqg` context, when it is published.
    dvcqg_sync_consumer: bool = True

    def national(self) -> dict[str, str]:
        """The national contexts and their base URLs (none without `national_url`)."""
        if not self.national_url:
            return {}
        base = self.national_url.rstrip("/")
        return {api: base + prefix.rstrip("/") for api, prefix in self.national_contexts.items()}

    def published(self) -> list[str]:
        """Every published API context: the province's services, then the national ones."""
        return [*self.upstreams, *(a for a in self.national() if a not in self.upstreams)]

    def checkpoint_file(self) -> Path:
        return self.audit_checkpoint_file or self.data_dir / "audit-checkpoints.jsonl"

    def checkpoint_key_file(self) -> Path:
        return self.audit_checkpoint_key_file or self.data_dir / "audit-checkpoint.key"

    def checkpoint_key_setting(self) -> str | None:
        key = self.audit_checkpoint_key
        return key.get_secret_value() if key is not None else None

    @model_validator(mode="after")
    def _no_default_secret_outside_dev(self) -> Settings:
        passphrase = self.key_passphrase.get_secret_value()
        if not passphrase:
            raise ValueError("GATEWAY_KEY_PASSPHRASE must not be empty")
        require_secret(
            self.environment, "GATEWAY_KEY_PASSPHRASE", passphrase, dev_default=DEV_KEY_PASSPHRASE
        )
        if self.national_url:
            require_secret(
                self.environment,
                "GATEWAY_NATIONAL_CLIENT_SECRET",
                self.national_client_secret.get_secret_value(),
                dev_default=DEV_NATIONAL_CLIENT_SECRET,
            )
            clash = sorted(set(self.national_contexts) & set(self.upstreams))
            if clash:
                raise ValueError(f"national contexts also upstreams: {', '.join(clash)}")
            unbounded = sorted(set(self.national_contexts) - set(self.national_paths))
            if unbounded:
                raise ValueError(f"GATEWAY_NATIONAL_PATHS names no path of: {', '.join(unbounded)}")
        return self


@cache
def get_settings() -> Settings:
    return Settings()
