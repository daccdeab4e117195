"""Client secrets: shown once, stored as a salted scrypt hash."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from concurrent.futures import ThreadPoolExecutor

_N, _R, _P = 2**14, 8, 1
# Where a client secret is checked at `/token`. scrypt takes 128·r·N = 16 MiB a call, and glibc
# keeps such a block in the malloc arena of the thread that freed it: checks spread over the
# 40 threads of the request thread pool grew the gateway from 170 to 600 MiB after a burst of
# token requests, for good. Two threads keep that to two arenas, and two cores' worth of scrypt
# is all the machine can do at once anyway (the threads start at the first check).
VERIFY_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="lgsp-secret-check")


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    got = hashlib.scrypt(
        secret.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(got, base64.b64decode(digest))
