"""Test helper for the kill -9 test in test_alert_sender.py: drains a store's outbox into a file.

Run as ``python -m tests.outbox_drainer STORE DELIVERED``; each message's title is appended to
DELIVERED, and every send then lingers like a slow webhook so that a kill lands mid-send.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from alerts.message import AlertMessage, Delivery
from alerts.sender import Sender
from store.sqlite import SQLiteStore


class FileChannel:
    """Delivers by appending the message's title, one line per delivery, to a file."""

    label = "file"
    per_minute = 100_000  # the test is about kills, not rate limits

    def __init__(self, path: Path, *, linger: float = 0.0) -> None:
        self.path = path
        self.linger = linger

    def send(self, message: AlertMessage) -> Delivery:
        with self.path.open("a", encoding="utf-8") as out:
            out.write(message.title + "\n")
        time.sleep(self.linger)  # posted, not yet marked sent: the window a kill can double
        return Delivery("sent", "appended")


if __name__ == "__main__":
    store_path, delivered = sys.argv[1:3]
    with SQLiteStore(store_path) as store:
        Sender(store, {"file": FileChannel(Path(delivered), linger=0.02)}).drain()
