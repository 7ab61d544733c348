"""What the end-to-end crawl tests share: running the real `fengxiang crawl` and reading its store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from store.base import MentionFilter
from store.model import Mention
from store.sqlite import SQLiteStore


def run_crawl(platform: str, config: Path, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """`fengxiang crawl <platform> --json` in a subprocess: its exit code and the platform's outcome."""
    finished = subprocess.run(
        [sys.executable, "-m", "fengxiang.cli", "crawl", platform, "--json", "--config", str(config)],
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=180,
        check=False,
    )
    assert finished.stdout, finished.stderr.decode()
    return finished.returncode, json.loads(finished.stdout)[0]


def stored_mentions(db: Path) -> dict[str, Mention]:
    store = SQLiteStore(db)
    try:
        return {mention.id: mention for mention in store.iter_mentions(MentionFilter())}
    finally:
        store.close()
