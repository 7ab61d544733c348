"""A one-line progress display for long imports and exports, shown only on a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, label: str, *, total_bytes: int | None = None, stream: TextIO = sys.stderr) -> None:
        self.label = label
        self.total_bytes = total_bytes
        self.stream = stream
        self.enabled = stream.isatty()
        self.started = time.monotonic()
        self._last_draw = 0.0

    def update(self, count: int, *, done_bytes: int | None = None, note: str = "") -> None:
        now = time.monotonic()
        if not self.enabled or now - self._last_draw < 0.2:
            return
        self._last_draw = now
        rate = count / max(now - self.started, 1e-9)
        share = ""
        if self.total_bytes and done_bytes is not None:
            share = f"{min(100.0, 100 * done_bytes / self.total_bytes):5.1f}%  "
        self.stream.write(f"\r{self.label}: {share}{count:,} ({rate:,.0f}/s){note}\x1b[K")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
