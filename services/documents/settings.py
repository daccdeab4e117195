from __future__ import annotations

from functools import cache

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from lgsp_kit.settings import AppSettings, require_secret

DEV_KEY_PASSPHRASE = "dev-only-documents-key-passphrase"

DEFAULT_CONTENT_TYPES = (
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/zip",
    "image/jpeg",
    "image/png",
    "image/tiff",
)


class Settings(AppSettings):
    """Documents service settings; environment variables start with `DOCUMENTS_`."""

    model_config = SettingsConfigDict(
        env_prefix="DOCUMENTS_", extra="ignore", populate_by_name=True
    )

    app_name: str = "documents"
    port: int = 8002
    max_attachment_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    max_attachments: int = Field(default=20, ge=1)
    # An edXML package carries its attachments base64-encoded (4/3 of their size).
    max_package_bytes: int = Field(default=40 * 1024 * 1024, ge=1024)
    allowed_content_types: tuple[str, ...] = DEFAULT_CONTENT_TYPES
    # Documents in one `POST /v1/documents:batch` (the body limit applies too).
    max_batch_documents: int = Field(default=500, ge=1, le=5000)
    # Accept RSA-SHA1 XML-DSig signatures on imported packages (legacy edXML SDKs); the
    # algorithm is recorded on the document either way. RSA-SHA256 is always accepted.
    allow_sha1_signatures: bool = False
    # Encrypts the organs' private keys at rest (PKCS#8, best available encryption).
    key_passphrase: SecretStr = SecretStr(DEV_KEY_PASSPHRASE)

    @model_validator(mode="after")
    def _no_weak_secret_outside_dev(self) -> Settings:
        require_secret(
            self.environment,
            "DOCUMENTS_KEY_PASSPHRASE",
            self.key_passphrase.get_secret_value(),
            dev_default=DEV_KEY_PASSPHRASE,
        )
        return self


@cache
def get_settings() -> Settings:
    return Settings()
