"""The shared check of secrets given outside dev: placeholders and short values are refused."""

from __future__ import annotations

import pytest
from pydantic_settings import SettingsConfigDict

from lgsp_kit.settings import MIN_SECRET_LENGTH, AppSettings, require_secret, weak_secret

GOOD = "q7Vd-3kLp-Zr9w-Tx2m-Hc4n"
DEV = "dev-only-some-passphrase"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("CHANGE_ME", "placeholder"),
        ("changeme", "placeholder"),
        ("change-me", "placeholder"),
        ("CHANGE_ME-a-long-random-passphrase", "placeholder"),
        ("Change Me Please 2024!", "placeholder"),
        ("replace-me-with-a-real-secret", "placeholder"),
        (DEV, "dev default"),
        ("short-but-real", "shorter than"),
        ("a" * 40, "too few characters"),
    ],
)
def test_weak_secrets_are_named(value: str, reason: str) -> None:
    found = weak_secret(value, dev_default=DEV)
    assert found is not None and reason in found


def test_a_long_random_secret_passes() -> None:
    assert len(GOOD) >= MIN_SECRET_LENGTH
    assert weak_secret(GOOD, dev_default=DEV) is None
    require_secret("production", "X_PASSPHRASE", GOOD, dev_default=DEV)


def test_outside_dev_a_weak_secret_is_refused_naming_the_variable() -> None:
    for environment in ("production", "staging", "test"):
        with pytest.raises(ValueError, match=r"X_PASSPHRASE must be set outside dev.*placeholder"):
            require_secret(environment, "X_PASSPHRASE", "CHANGE_ME")


def test_dev_accepts_anything() -> None:
    require_secret("dev", "X_PASSPHRASE", "")
    require_secret("dev", "X_PASSPHRASE", DEV, dev_default=DEV)


class Settings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="SAMPLE_", extra="ignore", populate_by_name=True)


def test_a_placeholder_database_password_is_refused_outside_dev() -> None:
    url = "postgresql://lgsp_sample:CHANGE_ME@postgres:5432/sample"
    with pytest.raises(ValueError, match="SAMPLE_DATABASE_URL has a placeholder password"):
        Settings(environment="production", database_url=url)
    assert Settings(environment="dev", database_url=url).database_url == url
    for fine in (url.replace("CHANGE_ME", GOOD), "postgresql://lgsp@postgres/sample", ""):
        assert Settings(environment="production", database_url=fine).database_url == fine


def test_a_weak_nats_password_is_refused_outside_dev() -> None:
    with pytest.raises(ValueError, match="SAMPLE_NATS_PASSWORD must be set outside dev"):
        Settings(environment="production", nats_user="dossier", nats_password="CHANGE_ME")
    assert Settings(environment="dev", nats_user="dossier", nats_password="x").nats_user
    strong = Settings(environment="production", nats_user="dossier", nats_password=GOOD)
    assert strong.nats_password.get_secret_value() == GOOD
    # No user: an unauthenticated server (tests' own NATS), nothing to check.
    assert Settings(environment="production").nats_user == ""
