"""Saved login cookies: written by `fengxiang login`, read by the crawlers.

The file is JSON — ``{"saved_at": ISO time, "cookies": [browser cookie, ...]}`` with each cookie as
Playwright reports it (``name``, ``value``, ``domain``, ``path``, ``expires`` in epoch seconds, -1 for
a session cookie, ...). It is a secret: written atomically with mode 0600, refused when others can
read it, and no message here ever contains a cookie value.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr

__all__ = [
    "CookieFileError",
    "cookie_header_dict",
    "domain_matches",
    "load_cookies",
    "save_cookies",
    "session_cookies",
]


class CookieFileError(Exception):
    """A cookie file that cannot be used; the message names the file and the fix."""


def save_cookies(path: Path, cookies: Sequence[Mapping[str, Any]]) -> None:
    """Write ``cookies`` to ``path`` atomically (a reader sees the old file or the new one, never half)."""
    _make_private_dirs(path.parent)
    document = {"saved_at": datetime.now(UTC).isoformat(timespec="seconds"), "cookies": list(cookies)}
    # mkstemp creates the file with mode 0600, so the secret is never readable by others, not even briefly.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(document, file, ensure_ascii=False, indent=1)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_cookies(path: Path, host: str, *, platform: str = "weibo", now: float | None = None) -> dict[str, str]:
    """Name → value of the unexpired cookies in ``path`` that a browser would send to ``host``.

    ``platform`` only names the login command in error messages.
    """
    relogin = f"run `fengxiang login {platform}` again"
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise CookieFileError(f"{path}: no saved login here — run `fengxiang login {platform}` first") from None
    except OSError as err:
        raise CookieFileError(f"{path}: cannot be read ({err.strerror}) — check the path or {relogin}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CookieFileError(
            f"{path}: other users can read these login cookies ({stat.filemode(mode)}) — "
            f"run `chmod 600 {path}` (and log in again if others may have copied them)"
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise CookieFileError(f"{path}: cannot be read ({err.strerror}) — check the path or {relogin}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        # The decoder's message quotes no content, but a line/column is enough: say only that it is broken.
        raise CookieFileError(f"{path}: not a cookie file written by fengxiang (invalid JSON) — {relogin}") from None
    cookies = document.get("cookies") if isinstance(document, dict) else None
    if not isinstance(cookies, list) or not all(_is_cookie(cookie) for cookie in cookies):
        raise CookieFileError(f"{path}: not a cookie file written by fengxiang (no cookie list) — {relogin}")
    moment = time.time() if now is None else now
    wanted = [
        cookie
        for cookie in cookies
        if domain_matches(cookie["domain"], host) and not _expired(cookie.get("expires", -1), moment)
    ]
    # Where names repeat (a .weibo.cn and an m.weibo.cn cookie), the more specific one wins, as in a browser.
    wanted.sort(key=lambda cookie: (len(cookie["domain"].lstrip(".")), len(str(cookie.get("path", "/")))))
    return {cookie["name"]: cookie["value"] for cookie in wanted}


def domain_matches(cookie_domain: str, host: str) -> bool:
    """Whether a cookie of ``cookie_domain`` goes to ``host``: ``.weibo.cn`` covers ``m.weibo.cn``;
    a domain without the leading dot is host-only (Playwright's notation) and matches exactly."""
    host = host.lower().rstrip(".")
    domain = cookie_domain.lower()
    if domain.startswith("."):
        return host == domain[1:] or host.endswith(domain)
    return host == domain


def session_cookies(cookie: SecretStr | None, cookie_file: Path, host: str, platform: str) -> dict[str, str]:
    """The login to send: the configured ``Cookie:`` value if there is one, else what `fengxiang login`
    saved in ``cookie_file``. Raises :class:`CookieFileError` when that file is missing or unusable."""
    if cookie is not None:
        return cookie_header_dict(cookie.get_secret_value())
    return load_cookies(cookie_file, host, platform=platform)


def cookie_header_dict(text: str) -> dict[str, str]:
    """Parse a raw ``Cookie:`` header (``"SUB=...; SUBP=..."``, as copied from a browser) into name → value."""
    text = text.strip()
    if text[:7].lower() == "cookie:":
        text = text[7:]
    cookies: dict[str, str] = {}
    for number, piece in enumerate(text.split(";"), start=1):
        if not piece.strip():
            continue
        name, equals, value = piece.partition("=")
        if not equals or not name.strip():
            # The piece itself may be a secret (a pasted bare value), so only its position is named.
            raise ValueError(
                f"part {number} of the cookie is not name=value — copy the whole Cookie header, like SUB=…; SUBP=…"
            )
        cookies[name.strip()] = value.strip()
    return cookies


def _make_private_dirs(folder: Path) -> None:
    # mkdir(parents=True) would give the intermediate folders the default mode; each new one should be 0700.
    missing = [parent for parent in (folder, *folder.parents) if not parent.exists()]
    for parent in reversed(missing):
        parent.mkdir(mode=0o700, exist_ok=True)


def _is_cookie(cookie: object) -> bool:
    return isinstance(cookie, dict) and all(isinstance(cookie.get(key), str) for key in ("name", "value", "domain"))


def _expired(expires: object, now: float) -> bool:
    # -1 (or no expiry) marks a session cookie: valid until the browser closes, so kept for the saved login.
    return isinstance(expires, int | float) and 0 <= expires <= now
