"""DOCUMENTS_KEY_PASSPHRASE outside dev: no empty, placeholder, short or dev-default value."""

from __future__ import annotations

import pytest

from services.documents.settings import DEV_KEY_PASSPHRASE, Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCUMENTS_KEY_PASSPHRASE", raising=False)
    for name in ("DOCUMENTS_ENVIRONMENT", "LGSP_ENVIRONMENT", "ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    "passphrase",
    [
        "",
        DEV_KEY_PASSPHRASE,
        "CHANGE_ME",
        "changeme",
        "change-me",
        "CHANGE_ME-a-long-random-passphrase",
        "tooshort",
    ],
)
def test_a_weak_passphrase_is_refused_outside_dev(
    passphrase: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LGSP_ENVIRONMENT", "production")
    monkeypatch.setenv("DOCUMENTS_KEY_PASSPHRASE", passphrase)
    with pytest.raises(ValueError, match="DOCUMENTS_KEY_PASSPHRASE must be set outside dev"):
        Settings()


def test_unset_is_refused_outside_dev(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LGSP_ENVIRONMENT", "production")
    with pytest.raises(ValueError, match="DOCUMENTS_KEY_PASSPHRASE"):
        Settings()


def test_a_real_passphrase_is_accepted_and_dev_keeps_its_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().key_passphrase.get_secret_value() == DEV_KEY_PASSPHRASE
    monkeypatch.setenv("LGSP_ENVIRONMENT", "production")
    monkeypatch.setenv("DOCUMENTS_KEY_PASSPHRASE", "q7Vd-3kLp-Zr9w-Tx2m-Hc4n")
    settings = Settings()
    assert settings.environment == "production"
    assert settings.key_passphrase.get_secret_value() == "q7Vd-3kLp-Zr9w-Tx2m-Hc4n"
