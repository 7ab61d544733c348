"""The nightly purge on a big store: how long it takes, and how long a crawler writing meanwhile waits.

A SQLite store of 200,000 synthetic mentions over 60 days (with source health records and sentiment
corrections) is purged at the local midnight 30 days back, about half of it. Measured, for the
default batch of 5,000 rows, for 1,000, and, as the baseline, one transaction for everything:

* the purge's wall time, and its longest write transactions (from BEGIN to the end of COMMIT, which
  includes the WAL checkpoint SQLite runs after a commit now and then: an upper bound on the lock);
* the slowest write of a crawler process upserting 20 fresh mentions every 50 ms during the purge.

Prints one JSON document (also written to bench-results/retention.json).
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fengxiang.synthetic import BEIJING, generate_mentions
from store.base import SourceHealth
from store.model import Mention
from store.sqlite import SQLiteStore

END = datetime(2026, 11, 20, tzinfo=BEIJING)
MENTIONS, DAYS, CUTOFF = 200_000, 60, END - timedelta(days=30)
UPSERT_BATCH = 5_000
CORRECTED_EVERY = 500  # a person corrected one mention in 500
CRAWLER_BATCH, CRAWLER_PAUSE = 20, 0.05


def build(path: Path) -> None:
    with SQLiteStore(path) as store, store.bulk_load():
        batch: list[Mention] = []
        corrected: list[str] = []
        for i, data in enumerate(generate_mentions(MENTIONS, seed=7, end=END, days=DAYS)):
            batch.append(Mention.model_validate(data))
            if i % CORRECTED_EVERY == 0:
                corrected.append(batch[-1].id)
            if len(batch) == UPSERT_BATCH:
                store.upsert(batch)
                batch = []
        store.upsert(batch)
        for mention_id in corrected:
            store.correct_sentiment(mention_id, "negative", by="bench", at=END)
        for hour in range(0, DAYS * 24, 2):
            started = END - timedelta(hours=hour)
            store.record_health(SourceHealth("weibo", started, started + timedelta(minutes=3), "ok", items=40))


@contextmanager
def timed_transactions(store: SQLiteStore, durations: list[float]) -> Iterator[None]:
    """Record how long each of the store's write transactions holds the lock."""
    write = store._write

    @contextmanager
    def timed() -> Iterator[Any]:
        started = time.perf_counter()
        with write() as conn:
            yield conn
        durations.append(time.perf_counter() - started)

    store._write = timed  # type: ignore[method-assign]
    try:
        yield
    finally:
        store._write = write  # type: ignore[method-assign]


def crawler(path: str, stop: Any, waits: Any) -> None:
    """Upsert fresh mentions until told to stop; report the slowest upsert (seconds)."""
    slowest, batches = 0.0, 0
    with SQLiteStore(path, busy_timeout_ms=600_000) as store:
        fresh = generate_mentions(100_000, seed=99, end=END + timedelta(days=1), days=1)
        while not stop.is_set():
            batch = [Mention.model_validate(next(fresh)) for _ in range(CRAWLER_BATCH)]
            started = time.perf_counter()
            store.upsert(batch)
            slowest = max(slowest, time.perf_counter() - started)
            batches += 1
            time.sleep(CRAWLER_PAUSE)
    waits.put((slowest, batches))


def purge(source: Path, folder: Path, batch: int) -> dict[str, Any]:
    path = folder / f"batch-{batch}.db"
    shutil.copy(source, path)
    stop = multiprocessing.Event()
    waits: multiprocessing.Queue[tuple[float, int]] = multiprocessing.Queue()
    writer = multiprocessing.Process(target=crawler, args=(str(path), stop, waits))
    durations: list[float] = []
    with SQLiteStore(path) as store:
        writer.start()
        time.sleep(1.0)  # the crawler is writing before the purge starts
        started = time.perf_counter()
        with timed_transactions(store, durations):
            report = store.purge(mentions_before=CUTOFF, health_before=CUTOFF, outbox_before=CUTOFF, batch=batch)
        elapsed = time.perf_counter() - started
    stop.set()
    slowest_write, crawler_batches = waits.get()
    writer.join()
    return {
        "batch": batch,
        "deleted": vars(report),
        "seconds": round(elapsed, 2),
        "mentions_per_second": round(report.mentions / elapsed),
        "transactions": len(durations),
        "longest_transactions_ms": [round(d * 1000, 1) for d in sorted(durations)[-3:][::-1]],
        "median_transaction_ms": round(sorted(durations)[len(durations) // 2] * 1000, 1),
        "crawler_slowest_upsert_ms": round(slowest_write * 1000, 1),
        "crawler_batches": crawler_batches,
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        build(folder / "store.db")
        built = time.perf_counter() - started
        ours = [purge(folder / "store.db", folder, batch) for batch in (5_000, 1_000)]
        baseline = purge(folder / "store.db", folder, 10**9)
    result = {"mentions": MENTIONS, "days": DAYS, "build_seconds": round(built, 1), "ours": ours, "baseline": baseline}
    text = json.dumps(result, ensure_ascii=False, indent=2)
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "retention.json").write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
