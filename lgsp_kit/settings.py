"""Settings shared by every app; each app subclasses `AppSettings` with its own env prefix."""

from __future__ import annotations

from pathlib import Path
from typing import Self
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_NATS_PORT = 14222

# A secret given outside dev (a passphrase, a password) is at least this long and is no
# placeholder copied from an example file: `CHANGE_ME`, `changeme`, `change-me`, ….
MIN_SECRET_LENGTH = 16
_PLACEHOLDER_WORDS = ("changeme", "replaceme", "placeholder", "example")


def is_placeholder(value: str) -> bool:
    """`CHANGE_ME`, `change-me`, `Change me!`, `replace-me-…`: a value copied from an example."""
    folded = "".join(ch for ch in value.casefold() if ch.isalnum())
    return any(word in folded for word in _PLACEHOLDER_WORDS)


def weak_secret(value: str, *, dev_default: str | None = None) -> str | None:
    """Why `value` is not a usable secret (empty, a placeholder, the dev default, too short),
    or None when it is."""
    if not value.strip():
        return "it is empty"
    if dev_default is not None and value == dev_default:
        return "it is the public dev default"
    if is_placeholder(value):
        return "it is a placeholder"
    if len(value) < MIN_SECRET_LENGTH:
        return f"it is shorter than {MIN_SECRET_LENGTH} characters"
    if len(set(value)) < 4:
        return "it repeats too few characters"
    return None


def require_secret(
    environment: str, name: str, value: str, *, dev_default: str | None = None
) -> None:
    """Refuse (ValueError, naming the variable) a weak secret outside the dev environment;
    for a settings class's `model_validator(mode="after")`."""
    if environment == "dev":
        return
    reason = weak_secret(value, dev_default=dev_default)
    if reason is not None:
        raise ValueError(
            f"{name} must be set outside dev to a secret of at least {MIN_SECRET_LENGTH} "
            f"characters that is no placeholder: {reason}"
        )


def _shared(name: str) -> AliasChoices:
    """Accept `<PREFIX>_<NAME>` first, then the platform-wide `LGSP_<NAME>` / `<NAME>`."""
    return AliasChoices(name, f"LGSP_{name.upper()}", name.upper())


class AppSettings(BaseSettings):
    """What every app needs: where its data lives, its database, the bus, its address."""

    model_config = SettingsConfigDict(env_prefix="LGSP_", extra="ignore", populate_by_name=True)

    app_name: str = "lgsp"
    environment: str = Field(default="dev", validation_alias=_shared("environment"))
    data_dir: Path = Field(default=Path("var"), validation_alias=_shared("data_dir"))
    # Empty means the embedded default: a SQLite file `<data_dir>/<app_name>.db`.
    database_url: str = ""
    # One URL, or a comma-separated list of a cluster's servers (`nats://nats-1:4222,nats://
    # nats-2:4222,…`): the credentials and the TLS CA below apply to each of them.
    nats_url: str = Field(
        default=f"nats://127.0.0.1:{DEFAULT_NATS_PORT}", validation_alias=_shared("nats_url")
    )
    # This app's own NATS user (`<PREFIX>_NATS_USER` / `_NATS_PASSWORD`); empty: no credentials
    # (an open server). `lgsp run` sets them for the embedded server it starts.
    nats_user: str = ""
    nats_password: SecretStr = SecretStr("")
    # A CA bundle: when set, the connection to NATS is TLS and the server's certificate is
    # verified against it (and its name against the URL's host).
    nats_tls_ca: str = Field(default="", validation_alias=_shared("nats_tls_ca"))
    stream_name: str = Field(default="LGSP", validation_alias=_shared("stream_name"))
    # Copies of the stream kept by a NATS cluster (3 in a scale-out deployment); applied when the
    # stream is created. The embedded single server can only hold 1. `LGSP_NATS_REPLICAS` is
    # accepted as well, beside the NATS settings it goes with.
    stream_replicas: int = Field(
        default=1,
        ge=1,
        le=5,
        validation_alias=AliasChoices(
            "stream_replicas", "LGSP_STREAM_REPLICAS", "LGSP_NATS_REPLICAS", "STREAM_REPLICAS"
        ),
    )
    host: str = "127.0.0.1"
    port: int = 8000
    # uvicorn worker processes of `lgsp run <app>`; None: one (an app that supports more, as the
    # gateway, sets its own default).
    workers: int | None = Field(default=None, ge=1, le=64)
    timezone: str = Field(default="Asia/Ho_Chi_Minh", validation_alias=_shared("timezone"))
    migrate_on_start: bool = True
    # Defence in depth: services verify the gateway's tokens again with its published keys.
    auth_required: bool = True
    jwks_url: str = Field(
        default="http://127.0.0.1:8000/.well-known/jwks.json", validation_alias=_shared("jwks_url")
    )
    token_issuer: str = Field(default="lgsp", validation_alias=_shared("token_issuer"))
    # Clock skew allowed between the gateway and the services on `exp`, `nbf` and `iat`.
    token_leeway_seconds: int = Field(
        default=30, ge=0, le=300, validation_alias=_shared("token_leeway_seconds")
    )
    # The largest request body of an API route: the gateway's proxy and every service's routes
    # (a route class may have its own: see `lgsp_kit.edge`). Larger bodies get 413 unread.
    max_body_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, validation_alias=_shared("max_body_bytes")
    )

    @model_validator(mode="after")
    def _no_placeholder_database_password_outside_dev(self) -> Self:
        if self.environment != "dev" and self.database_url:
            password = urlsplit(self.database_url).password
            if password is not None and is_placeholder(unquote(password)):
                name = f"{self.model_config.get('env_prefix', '')}DATABASE_URL"
                raise ValueError(
                    f"{name} has a placeholder password (CHANGE_ME): set the real one outside dev"
                )
        if self.nats_user:
            prefix = self.model_config.get("env_prefix", "")
            require_secret(
                self.environment, f"{prefix}NATS_PASSWORD", self.nats_password.get_secret_value()
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The configured zone, for the rules that count in local days (answers show times in
        it by themselves: `lgsp_kit.fields.LocalTime`)."""
        return ZoneInfo(self.timezone)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / f'{self.app_name}.db').resolve()}"
