"""`fengxiang login PLATFORM`: QR login in the system Chromium, and the session cookies saved.

The user scans the platform's QR code with the phone app in a real browser window; this module
only watches the browser's cookie jar until the platform's own "am I logged in?" endpoint says yes,
then saves the cookies with :func:`crawlers.cookies.save_cookies`. Playwright is imported inside the
functions that need it, so that importing this module (the CLI does) stays cheap.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from crawlers.cookies import save_cookies
from crawlers.spiders.weibo_shapes import PUBLIC_ORIGIN

if TYPE_CHECKING:
    from playwright.sync_api import APIRequestContext, Browser, BrowserContext

__all__ = ["CHROMIUM", "LOGINS", "LoginError", "LoginResult", "LoginSpec", "login_spec", "probe_login", "run_login"]

# Debian's chromium package: Playwright's own browser downloads are not possible where this runs.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
_POLL_SECONDS = 0.5

# What a probe found: logged in or not (None: the answer was not readable), and the account id if known.
ProbeAnswer = tuple[bool | None, str | None]


@dataclass(frozen=True)
class LoginSpec:
    """How one platform's QR login looks from the outside."""

    platform: str
    app: str  # what the user scans the QR code with, for the instructions
    base_url: str  # the site the crawler uses (config ``sources.<platform>.base_url`` overrides it)
    login_url: str  # the platform's own QR login page
    session_cookie: str  # set once logged in — but visitors may get one too, hence the probe
    domains: tuple[str, ...]  # sites whose cookies make up the session
    probe_path: str  # under base_url: answers whether the request's cookies are logged in
    read_probe: Callable[[object], ProbeAnswer]


def _read_weibo_config(payload: object) -> ProbeAnswer:
    # m.weibo.cn/api/config: {"data": {"login": true, "uid": "…", "st": "…"}, "ok": 1}
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("login"), bool):
        return None, None
    uid = data.get("uid") if data["login"] else None
    return data["login"], str(uid) if uid else None


WEIBO = LoginSpec(
    platform="weibo",
    app="the Weibo app (微博 App → 扫一扫)",
    base_url=PUBLIC_ORIGIN,
    # The mobile site's own login page (entry=wapsso): after the scan, passport.weibo.com hands the
    # session to .weibo.cn through its cross-domain redirects and lands on m.weibo.cn.
    login_url="https://passport.weibo.com/sso/signin?entry=wapsso&source=wapssowb&url=https%3A%2F%2Fm.weibo.cn%2F",
    session_cookie="SUB",
    domains=("weibo.cn", "weibo.com", "sina.com.cn"),
    probe_path="/api/config",
    read_probe=_read_weibo_config,
)

LOGINS = {spec.platform: spec for spec in (WEIBO,)}


class LoginError(Exception):
    """The login did not finish; the message names the cause and the fix."""


@dataclass(frozen=True)
class LoginResult:
    platform: str
    cookie_file: Path
    cookies: int  # how many were saved
    uid: str | None  # the account that logged in, when the probe names it


def login_spec(platform: str) -> LoginSpec:
    try:
        return LOGINS[platform]
    except KeyError:
        known = ", ".join(sorted(LOGINS))
        raise LoginError(f"no QR login for {platform!r} — platforms with one: {known}") from None


def run_login(
    platform: str,
    *,
    base_url: str | None,
    login_url: str | None,
    cookie_file: Path,
    headless: bool = False,
    timeout: float = 180.0,
    on_ready: Callable[[str], None] | None = None,
) -> LoginResult:
    """Open the QR login page, wait until the user has logged in, save the cookies to ``cookie_file``.

    ``on_ready`` gets the instructions for the user once the QR code is on screen.
    """
    spec = login_spec(platform)
    base_url = (base_url or spec.base_url).rstrip("/")
    login_url = login_url or spec.login_url
    _check_browser_can_start(spec, headless, cookie_file)

    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=headless, args=CHROMIUM_ARGS)
        except PlaywrightError as err:
            raise LoginError(
                f"Chromium did not start ({_first_line(err)}) — reinstall it: sudo apt-get install chromium"
            ) from None
        try:
            context = browser.new_context()
            page = context.new_page()
            try:
                page.goto(login_url, timeout=min(timeout, 30.0) * 1000)
            except PlaywrightError as err:
                if _gone(browser):
                    raise LoginError(_closed_message(spec)) from None
                raise LoginError(
                    f"could not open the login page {login_url} ({_first_line(err)}) — check the network connection"
                    f" and sources.{platform}.login_url"
                ) from None
            if on_ready:
                on_ready(
                    f"Scan the QR code in the browser window with {spec.app} and confirm on the phone"
                    f" (waiting up to {timeout:g} s)."
                )
            uid = _wait_for_login(spec, context, base_url, timeout)
            cookies = [cookie for cookie in context.cookies() if _belongs(cookie["domain"], spec, base_url)]
        except PlaywrightError as err:
            if _gone(browser):
                raise LoginError(_closed_message(spec)) from None
            raise LoginError(
                f"the browser failed ({_first_line(err)}) — run `fengxiang login {platform}` again"
            ) from None
        finally:
            browser.close()
    try:
        save_cookies(cookie_file, cookies)
    except OSError as err:
        raise LoginError(
            f"logged in, but the cookies could not be saved to {cookie_file} ({err.strerror}) — make that folder"
            f" writable or choose another file with sources.{platform}.cookie_file, then log in again"
        ) from None
    return LoginResult(platform=platform, cookie_file=cookie_file, cookies=len(cookies), uid=uid)


def probe_login(
    base_url: str, cookies: Mapping[str, str], *, platform: str = "weibo", timeout: float = 10.0
) -> bool | None:
    """Whether ``cookies`` are logged in at ``base_url``; None when the probe could not be made or read."""
    spec = login_spec(platform)
    headers = _probe_headers(base_url) | {"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}
    request = urllib.request.Request(base_url.rstrip("/") + spec.probe_path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.loads(response.read())
    except (OSError, ValueError):  # network and HTTP errors are OSErrors; an HTML page instead of JSON a ValueError
        return None
    return spec.read_probe(payload)[0]


def _check_browser_can_start(spec: LoginSpec, headless: bool, cookie_file: Path) -> None:
    if not CHROMIUM.exists():
        raise LoginError(f"Chromium is not installed at {CHROMIUM} — install it: sudo apt-get install chromium")
    if headless or not sys.platform.startswith("linux"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise LoginError(
            "there is no screen for the browser window (DISPLAY is not set) — run "
            f"`fengxiang login {spec.platform}` in a desktop session or over `ssh -X`, or log in on another machine"
            f" and copy its {cookie_file.name} to {cookie_file}, or set sources.{spec.platform}.cookie"
        )


def _wait_for_login(spec: LoginSpec, context: BrowserContext, base_url: str, timeout: float) -> str | None:
    """The uid once the probe says logged in; raises LoginError on timeout or a closed window."""
    deadline = time.monotonic() + timeout
    refused: str | None = None  # the session cookie the probe said no to: asked again only when it changes
    note = ""
    while True:
        if not context.pages:
            raise LoginError(_closed_message(spec))
        session = next((c["value"] for c in context.cookies([base_url]) if c["name"] == spec.session_cookie), None)
        if session is not None and session != refused:
            (logged_in, uid), note = _probe_in_browser(spec, context.request, base_url)
            if logged_in:
                return uid
            if logged_in is False:
                refused = session
        if time.monotonic() >= deadline:
            raise LoginError(
                f"the login was not confirmed within {timeout:g} s{note} — run `fengxiang login {spec.platform}`"
                f" again and scan the QR code with {spec.app} before the time runs out"
            )
        context.pages[0].wait_for_timeout(_POLL_SECONDS * 1000)


def _probe_in_browser(spec: LoginSpec, request: APIRequestContext, base_url: str) -> tuple[ProbeAnswer, str]:
    """Ask the probe with the browser's own cookies; also why the answer is not "yes", for the timeout message."""
    from playwright.sync_api import Error as PlaywrightError

    url = base_url + spec.probe_path
    why = f" (the {spec.session_cookie} cookie appeared, but {url}"
    try:
        response = request.get(url, headers=_probe_headers(base_url), timeout=10_000)
        answer = spec.read_probe(response.json())
    except (PlaywrightError, ValueError):
        return (None, None), f"{why} could not be asked)"
    if answer[0] is None:
        return answer, f"{why} gave no login answer: HTTP {response.status})"
    return answer, f"{why} still says not logged in)"


def _probe_headers(base_url: str) -> dict[str, str]:
    # As the mobile site's own script asks: the API answers XHRs from its pages.
    return {"Accept": "application/json", "X-Requested-With": "XMLHttpRequest", "Referer": base_url.rstrip("/") + "/"}


def _belongs(cookie_domain: str, spec: LoginSpec, base_url: str) -> bool:
    domain = cookie_domain.lstrip(".").lower()
    sites = (*spec.domains, (urlsplit(base_url).hostname or "").lower())
    return any(domain == site or domain.endswith("." + site) for site in sites if site)


def _gone(browser: Browser) -> bool:
    """Whether the user closed the browser, or the window with the login page."""
    return not browser.is_connected() or not any(context.pages for context in browser.contexts)


def _closed_message(spec: LoginSpec) -> str:
    return (
        f"the browser window was closed before the login finished — run `fengxiang login {spec.platform}` again"
        " and keep the window open until the page shows you are logged in"
    )


def _first_line(err: Exception) -> str:
    # Playwright's messages carry a multi-line call log; its first line is the cause.
    message = getattr(err, "message", None) or str(err)
    return message.strip().splitlines()[0] if message.strip() else type(err).__name__
