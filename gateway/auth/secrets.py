"""Client secrets: shown once, stored as a salted HMAC-SHA256 (older ones as scrypt).

Every secret is made here, 256 random bits (`new_secret`): no one can guess it, so nothing is
gained by a slow, memory-hard hash, which only made `/token` the cheapest way to load the
gateway (finding 8 of issue 15). A secret is stored as HMAC-SHA256 keyed with 32 random bytes
of its own: `hmac-sha256$<key>$<digest>`, base64. Hashes written before (`scrypt$...`) still
verify, and are replaced by the new form at the next successful check (see
`gateway.auth.service.authenticate`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from concurrent.futures import ThreadPoolExecutor

SCHEME = "hmac-sha256"
LEGACY_SCHEME = "scrypt"
_N, _R, _P = 2**14, 8, 1
# Where a client secret is checked at `/token` (the consumer's row is read here too). A legacy
# scrypt check takes 128·r·N = 16 MiB, and glibc keeps such a block in the malloc arena of the
# thread that freed it: checks spread over the 40 threads of the request thread pool grew the
# gateway from 170 to 600 MiB after a burst of token requests, for good. Two threads keep that
# to two arenas (the threads start at the first check); `SecretChecks` bounds the queue.
VERIFY_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="lgsp-secret-check")


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def _hmac(key: bytes, secret: str) -> bytes:
    return hmac.new(key, secret.encode(), hashlib.sha256).digest()


def hash_secret(secret: str) -> str:
    key = secrets.token_bytes(32)
    b64 = base64.b64encode
    return f"{SCHEME}${b64(key).decode()}${b64(_hmac(key, secret)).decode()}"


def scrypt_hash(secret: str) -> str:
    """The form stored before HMAC-SHA256 (kept to test that such hashes still verify)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"{LEGACY_SCHEME}${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def needs_upgrade(stored: str) -> bool:
    """A hash of an older form, to be replaced once the secret is known (a successful check)."""
    return not stored.startswith(f"{SCHEME}$")


def verify_secret(secret: str, stored: str) -> bool:
    scheme, _, rest = stored.partition("$")
    try:
        if scheme == SCHEME:
            key, digest = rest.split("$")
            got = _hmac(base64.b64decode(key), secret)
            return hmac.compare_digest(got, base64.b64decode(digest))
        if scheme == LEGACY_SCHEME:
            n, r, p, salt, digest = rest.split("$")
            got = hashlib.scrypt(
                secret.encode(),
                salt=base64.b64decode(salt),
                n=int(n),
                r=int(r),
                p=int(p),
                dklen=32,
            )
            return hmac.compare_digest(got, base64.b64decode(digest))
    except ValueError:
        return False
    return False


# Checked against a secret given with an unknown client id: the same work as a known id's check
# (one HMAC-SHA256), so the answer's time does not tell known ids from unknown ones.
UNKNOWN_CLIENT_HASH = hash_secret(new_secret())
