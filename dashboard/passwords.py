"""Password hashes for the dashboard's optional login (scrypt, from the standard library).

Only the hash is ever stored; ``fengxiang dashboard --hash-password`` makes one. No Streamlit here:
the CLI imports this module.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# scrypt at n=2**14, r=8 costs ~16 MB and ~50 ms: slow for guessing, quick for one login.
_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    if not password:
        raise ValueError("the password is empty — choose one with at least 8 characters")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P)
    return "$".join(["scrypt", str(_N), str(_R), str(_P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return kind == "scrypt" and hmac.compare_digest(actual, expected)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
