"""`fengxiang login`: saved cookie files, and QR login in Chromium against the sandbox's Weibo login page."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import stat
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawlers.cookies import CookieFileError, cookie_header_dict, domain_matches, load_cookies, save_cookies
from crawlers.login import CHROMIUM, LoginError, probe_login, run_login
from fengxiang.cli import main
from sandbox.scenario import Scenario, build_scenario
from sandbox.server import Handler, Request, Response, SandboxServer
from sandbox.weibo import WeiboReplica
from sandbox.weibo_login import CONFIRMED, EXPIRED, SCANNED, WAITING, WeiboLoginReplica

SECRET = "_2A25SECRETvalue0123456789"
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} is missing: the Debian chromium package is not installed; `make test` installs it",
)


def _cookie(name: str, value: str = SECRET, domain: str = ".weibo.cn", **fields: object) -> dict[str, object]:
    return {"name": name, "value": value, "domain": domain, "path": "/", "expires": -1, **fields}


# ---------------------------------------------------------------------------------------------
# Cookie files
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cookie_domain", "host", "expected"),
    [
        (".weibo.cn", "m.weibo.cn", True),
        (".weibo.cn", "weibo.cn", True),
        (".weibo.cn", "M.Weibo.CN", True),
        (".weibo.cn", "notweibo.cn", False),
        (".weibo.cn", "weibo.com", False),
        ("m.weibo.cn", "m.weibo.cn", True),  # host-only
        ("m.weibo.cn", "a.m.weibo.cn", False),
        ("weibo.cn", "m.weibo.cn", False),
        ("127.0.0.1", "127.0.0.1", True),
    ],
)
def test_domain_matching(cookie_domain: str, host: str, expected: bool) -> None:
    assert domain_matches(cookie_domain, host) is expected


def test_cookie_header_parsing() -> None:
    assert cookie_header_dict("SUB=_2A25abc; SUBP=0033=x;  _T_WM=1 ;") == {
        "SUB": "_2A25abc",
        "SUBP": "0033=x",
        "_T_WM": "1",
    }
    assert cookie_header_dict("Cookie: SUB=a") == {"SUB": "a"}
    assert cookie_header_dict("  ") == {}


def test_cookie_header_without_name_is_refused_without_showing_it() -> None:
    with pytest.raises(ValueError, match="part 2") as caught:
        cookie_header_dict(f"SUBP=1; {SECRET}")
    assert SECRET not in str(caught.value)


def test_saved_cookies_are_private_and_load_for_the_host(tmp_path: Path) -> None:
    path = tmp_path / "data" / "cookies" / "weibo.json"
    cookies = [
        _cookie("SUB"),
        _cookie("SUBP", "p", domain=".weibo.com"),
        _cookie("MLOGIN", "1", domain="m.weibo.cn", expires=time.time() + 3600),
        _cookie("OLD", "x", expires=time.time() - 1),
    ]
    save_cookies(path, cookies)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
    assert [entry.name for entry in path.parent.iterdir()] == ["weibo.json"]  # no temporary file left behind
    assert load_cookies(path, "m.weibo.cn") == {"SUB": SECRET, "MLOGIN": "1"}
    assert load_cookies(path, "weibo.com") == {"SUBP": "p"}


def test_the_more_specific_cookie_wins(tmp_path: Path) -> None:
    path = tmp_path / "weibo.json"
    save_cookies(path, [_cookie("SUB", "narrow", domain="m.weibo.cn"), _cookie("SUB", "wide")])
    assert load_cookies(path, "m.weibo.cn") == {"SUB": "narrow"}


def test_saving_again_replaces_the_file(tmp_path: Path) -> None:
    path = tmp_path / "weibo.json"
    save_cookies(path, [_cookie("SUB", "old")])
    save_cookies(path, [_cookie("SUB", "new")])
    assert load_cookies(path, "m.weibo.cn") == {"SUB": "new"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_cookie_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "weibo.json"
    save_cookies(path, [_cookie("SUB")])
    path.chmod(0o644)
    with pytest.raises(CookieFileError, match=f"chmod 600 {path}") as caught:
        load_cookies(path, "m.weibo.cn")
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "content",
    [
        f'{{"cookies": [{{"name": "SUB", "value": "{SECRET}"',  # cut off
        f'[{{"name": "SUB", "value": "{SECRET}"}}]',  # not our format
        f'{{"cookies": [{{"name": "SUB", "value": "{SECRET}"}}]}}',  # a cookie without a domain
        "\xff\xfe",
    ],
)
def test_a_broken_cookie_file_names_the_fix(tmp_path: Path, content: str) -> None:
    path = tmp_path / "weibo.json"
    path.write_text(content, encoding="latin-1")
    path.chmod(0o600)
    with pytest.raises(CookieFileError, match="run `fengxiang login weibo` again") as caught:
        load_cookies(path, "m.weibo.cn")
    assert str(path) in str(caught.value)
    assert SECRET not in str(caught.value)


def test_a_missing_cookie_file_says_how_to_log_in(tmp_path: Path) -> None:
    with pytest.raises(CookieFileError, match="run `fengxiang login weibo` first"):
        load_cookies(tmp_path / "weibo.json", "m.weibo.cn")


# ---------------------------------------------------------------------------------------------
# The sandbox's Weibo: QR login page and /api/config
# ---------------------------------------------------------------------------------------------


def _visitor_page(request: Request) -> Response:
    # What the Sina Visitor System leaves behind: a SUB cookie that is not a login.
    response = Response.html("<p>Sina Visitor System</p>")
    response.headers.append(("Set-Cookie", "SUB=visitor-SECRET-0042; Path=/"))
    return response


class _VisitorSite:
    def routes(self) -> dict[str, Handler]:
        return {"/visitor": _visitor_page}

    def fault_response(self, mode: str, normal: Response) -> Response:
        return normal


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return build_scenario(20)


@pytest.fixture
def server(scenario: Scenario) -> Iterator[SandboxServer]:
    with SandboxServer([WeiboReplica(scenario), WeiboLoginReplica(), _VisitorSite()]) as running:
        yield running


def _post(url: str, body: dict[str, object] | None = None) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, data=json.dumps(body or {}).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def test_the_qr_code_goes_from_waiting_to_scanned_to_confirmed(server: SandboxServer) -> None:
    with urllib.request.urlopen(server.base_url + "/signin/qrcode", timeout=5) as response:
        assert "<svg" in response.read().decode()
    scan = server.base_url + "/__sandbox__/weibo/login/scan"
    check = server.base_url + "/signin/qrcode/check?qrid="
    status, body = _post(scan, {"confirm": False})
    qrid = str(body["qrid"])
    assert (status, body["retcode"]) == (200, SCANNED)
    assert _get(check + "nonsense")["retcode"] == EXPIRED
    _post(scan, {"qrid": qrid})
    with urllib.request.urlopen(check + qrid, timeout=5) as response:
        answer = json.loads(response.read())
        set_cookies = response.headers.get_all("Set-Cookie")
    assert answer == {"retcode": CONFIRMED, "msg": "succ", "data": {"url": "/"}}
    assert any(line.startswith("SUB=_2A25") and "HttpOnly" in line for line in set_cookies)
    assert any(line.startswith("SUBP=") for line in set_cookies)
    sub = next(line.split(";")[0] for line in set_cookies if line.startswith("SUB="))
    with urllib.request.urlopen(urllib.request.Request(server.base_url + "/", headers={"Cookie": sub})) as home:
        assert "已登录" in home.read().decode()


def test_a_qr_code_expires() -> None:
    with SandboxServer([WeiboLoginReplica(qr_lifetime=0.0)]) as short_lived:
        urllib.request.urlopen(short_lived.base_url + "/signin/qrcode", timeout=5).close()
        time.sleep(0.01)
        status, body = _post(short_lived.base_url + "/__sandbox__/weibo/login/scan")
    assert status == 409
    assert "expired" in str(body["msg"])


def test_the_newest_qr_code_is_scanned_when_none_is_named(server: SandboxServer) -> None:
    scan = server.base_url + "/__sandbox__/weibo/login/scan"
    assert _post(scan)[0] == 404  # no code shown yet
    with urllib.request.urlopen(server.base_url + "/signin/qrcode?url=//elsewhere.example/", timeout=5) as response:
        qrid = re.search(r'const qrid = "(\w+)"', response.read().decode())
    assert qrid is not None
    assert _get(server.base_url + "/signin/qrcode/check?qrid=" + qrid[1])["retcode"] == WAITING
    status, body = _post(scan)
    assert (status, body["qrid"], body["retcode"]) == (200, qrid[1], CONFIRMED)
    answer = _get(server.base_url + "/signin/qrcode/check?qrid=" + qrid[1])
    assert answer["data"] == {"url": "/"}  # only paths on the sandbox's own origin


def test_probe_login(server: SandboxServer) -> None:
    assert probe_login(server.base_url, {"SUB": SECRET}) is True
    assert probe_login(server.base_url, {"SUB": "visitor"}) is False
    assert probe_login(server.base_url, {}) is False
    assert probe_login(server.base_url + "/no-such-site", {"SUB": SECRET}) is None  # 404
    assert probe_login("http://127.0.0.1:9", {"SUB": SECRET}, timeout=2) is None  # nothing listens


# ---------------------------------------------------------------------------------------------
# QR login in the browser
# ---------------------------------------------------------------------------------------------


def _scan_when_shown(server: SandboxServer) -> threading.Thread:
    """The phone: once the QR page was requested, scan and confirm it."""

    def scan() -> None:
        # The request counter moves before the page has made its code, so a first
        # scan can find none (404): keep scanning until one is there.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if server.requests["/signin/qrcode"] and _post(server.base_url + "/__sandbox__/weibo/login/scan")[0] == 200:
                return
            time.sleep(0.05)

    phone = threading.Thread(target=scan, daemon=True)
    phone.start()
    return phone


@needs_chromium
def test_qr_login_saves_the_session_cookies(
    server: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cookie_file = tmp_path / "cookies" / "weibo.json"
    messages: list[str] = []
    phone = _scan_when_shown(server)
    result = run_login(
        "weibo",
        base_url=server.base_url,
        login_url=server.base_url + "/signin/qrcode",
        cookie_file=cookie_file,
        headless=True,
        timeout=30,
        on_ready=messages.append,
    )
    phone.join()
    assert (result.platform, result.uid, result.cookie_file) == ("weibo", "7000000001", cookie_file)
    assert result.cookies == len(json.loads(cookie_file.read_text())["cookies"])
    assert stat.S_IMODE(cookie_file.stat().st_mode) == 0o600
    assert "Weibo app" in messages[0]
    cookies = load_cookies(cookie_file, "127.0.0.1")
    assert cookies["SUB"].startswith("_2A25")
    assert "SUBP" in cookies
    assert probe_login(server.base_url, cookies) is True
    for value in cookies.values():
        assert value not in caplog.text
        assert value not in repr(result)
        assert value not in "".join(messages)


@needs_chromium
def test_nobody_scanning_times_out(server: SandboxServer, tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(LoginError, match=r"not confirmed within 1\.5 s .*fengxiang login weibo"):
        run_login(
            "weibo",
            base_url=server.base_url,
            login_url=server.base_url + "/signin/qrcode",
            cookie_file=tmp_path / "weibo.json",
            headless=True,
            timeout=1.5,
        )
    assert time.monotonic() - started < 15
    assert not (tmp_path / "weibo.json").exists()


@needs_chromium
def test_a_visitor_cookie_is_not_taken_for_a_login(server: SandboxServer, tmp_path: Path) -> None:
    with pytest.raises(LoginError, match=r"SUB cookie appeared, but .*/api/config still says not logged in") as caught:
        run_login(
            "weibo",
            base_url=server.base_url,
            login_url=server.base_url + "/visitor",
            cookie_file=tmp_path / "weibo.json",
            headless=True,
            timeout=1.5,
        )
    assert "SECRET" not in str(caught.value)


def _our_browsers() -> list[int]:
    """The main processes of the Chromiums this test process started (through Playwright's driver)."""
    children: dict[int, list[int]] = {}
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            parent = int(stat_file.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(stat_file.parent.name))
    descendants, queue = [], [os.getpid()]
    while queue:
        found = children.get(queue.pop(), [])
        descendants += found
        queue += found
    browsers = []
    for pid in descendants:
        with contextlib.suppress(OSError):
            arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if b"--remote-debugging-pipe" in arguments and not any(a.startswith(b"--type=") for a in arguments):
                browsers.append(pid)
    return browsers


@needs_chromium
def test_closing_the_browser_says_so(server: SandboxServer, tmp_path: Path) -> None:
    qr_shown = threading.Event()

    def close_browser() -> None:  # the user quits the browser instead of scanning
        if qr_shown.wait(20):
            for pid in _our_browsers():
                os.kill(pid, signal.SIGTERM)

    user = threading.Thread(target=close_browser, daemon=True)
    user.start()
    started = time.monotonic()
    with pytest.raises(LoginError, match="window was closed before the login finished"):
        run_login(
            "weibo",
            base_url=server.base_url,
            login_url=server.base_url + "/signin/qrcode",
            cookie_file=tmp_path / "weibo.json",
            headless=True,
            timeout=20,
            on_ready=lambda _message: qr_shown.set(),
        )
    user.join()
    assert time.monotonic() - started < 15


@needs_chromium
def test_an_unreachable_login_page_is_named(tmp_path: Path) -> None:
    with pytest.raises(LoginError, match=re.escape("could not open the login page http://127.0.0.1:9/signin (")):
        run_login(
            "weibo",
            base_url="http://127.0.0.1:9",
            login_url="http://127.0.0.1:9/signin",
            cookie_file=tmp_path / "weibo.json",
            headless=True,
            timeout=5,
        )


def test_a_browser_window_needs_a_screen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: the Debian chromium package is not installed")
    with pytest.raises(LoginError, match=r"no screen for the browser window .*ssh -X"):
        run_login("weibo", base_url=None, login_url=None, cookie_file=tmp_path / "weibo.json")


def test_an_unknown_platform_is_named() -> None:
    with pytest.raises(LoginError, match="no QR login for 'tieba' — platforms with one: weibo"):
        run_login("tieba", base_url=None, login_url=None, cookie_file=Path("unused.json"))


@needs_chromium
def test_a_cookie_file_that_cannot_be_written_is_named(server: SandboxServer, tmp_path: Path) -> None:
    (tmp_path / "cookies").write_text("a file where the folder should be")
    _scan_when_shown(server)
    with pytest.raises(
        LoginError, match=r"logged in, but the cookies could not be saved to .*sources\.weibo\.cookie_file"
    ):
        run_login(
            "weibo",
            base_url=server.base_url,
            login_url=server.base_url + "/signin/qrcode",
            cookie_file=tmp_path / "cookies" / "weibo.json",
            headless=True,
            timeout=30,
        )


def test_login_check_probes_the_configured_or_saved_login(
    server: SandboxServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "fengxiang.yaml"
    config.write_text(f"sources:\n  weibo:\n    base_url: {server.base_url}\n    cookie: ${{WEIBO_COOKIE}}\n")
    monkeypatch.setenv("WEIBO_COOKIE", "SUB=_2A25checked; SUBP=x")
    assert main(["login", "weibo", "--check", "--config", str(config)]) == 0
    assert "weibo login from sources.weibo.cookie: logged in" in capsys.readouterr().out

    config.write_text(f"sources:\n  weibo:\n    base_url: {server.base_url}\n")
    assert main(["login", "weibo", "--check", "--config", str(config)]) == 3
    assert "no saved login here — run `fengxiang login weibo` first" in capsys.readouterr().err

    cookie = {"name": "SUB", "value": "visitor", "domain": "127.0.0.1", "path": "/", "expires": -1}
    save_cookies(tmp_path / "data" / "cookies" / "weibo.json", [cookie])
    assert main(["login", "weibo", "--check", "--config", str(config)]) == 1
    output = capsys.readouterr().out
    assert "NOT logged in" in output and "visitor" not in output
