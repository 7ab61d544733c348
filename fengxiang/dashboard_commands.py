"""``fengxiang dashboard``: start the Streamlit dashboard on the config's store, or make a login hash."""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from dashboard.passwords import hash_password
from fengxiang.config import CONFIG_PATH_VARIABLE, Config

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"


def streamlit_command(config: Config, *, port: int | None = None, address: str | None = None) -> list[str]:
    settings = config.dashboard
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        f"--server.port={port or settings.port}",
        f"--server.address={address or settings.address}",
        "--server.headless=true",  # print the URL; opening a browser is the user's choice
        "--server.fileWatcherType=none",  # a service, not a development server
        "--browser.gatherUsageStats=false",  # offline by construction
        "--client.toolbarMode=minimal",
        "--theme.base=light",
    ]


def start(
    config: Config, *, port: int | None = None, address: str | None = None, **popen: Any
) -> subprocess.Popen[bytes]:
    """Start the dashboard server in the background (the demo, tests and benchmarks use this too)."""
    assert config.config_file is not None, "the dashboard reads its config from a file"
    environment = {**os.environ, CONFIG_PATH_VARIABLE: str(config.config_file)}
    return subprocess.Popen(streamlit_command(config, port=port, address=address), env=environment, **popen)


def wait_until_ready(url: str, process: subprocess.Popen[bytes], *, timeout: float = 60.0) -> None:
    """Block until Streamlit answers its health check; a server that exits or hangs is an error."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the dashboard stopped at start-up (exit code {process.returncode})")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the dashboard did not answer at {url} within {timeout:.0f} s")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(config: Config, log: IO[bytes], *, timeout: float = 60.0) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The dashboard on a free loopback port, its output in ``log``, for as long as the block runs:
    its URL and process. Tests and benchmarks use this; a server that fails to start is an error
    that quotes what it printed."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start(config, port=port, address="127.0.0.1", stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            wait_until_ready(url, process, timeout=timeout)
        except RuntimeError as problem:
            log.flush()
            log.seek(0)
            printed = log.read().decode("utf-8", errors="replace")
            raise RuntimeError(f"{problem}\n--- dashboard output ---\n{printed}") from None
        yield url, process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ask the server to end; kill it if it has not within 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def launch(config: Config, *, port: int | None, address: str | None) -> int:
    """Run Streamlit in the foreground until Ctrl-C; its exit code is ours."""
    url = f"http://{address or config.dashboard.address}:{port or config.dashboard.port}"
    print(f"风向看板: {url}  (Ctrl-C stops it)", flush=True)
    process = start(config, port=port, address=address)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        return process.wait()


def read_new_password() -> str:
    """From the terminal (asked twice), or the first line of standard input in scripts."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("新密码 / new password: ")
    if getpass.getpass("再输一次 / again: ") != first:
        raise ValueError("the two passwords differ — run the command again")
    return first


def print_password_hash() -> int:
    password = read_new_password()
    if len(password) < 8:
        raise ValueError("the password is shorter than 8 characters — choose a longer one")
    print(hash_password(password))
    print("put it in the config as  dashboard: {password_hash: <the line above>}", file=sys.stderr)
    return 0
