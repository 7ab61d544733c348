"""Importing JSONL: in this process and with worker processes, the same result."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import orjson
import pytest

from fengxiang.brands import BrandTagger
from fengxiang.ingest import LineParser, ingest
from store.base import MentionFilter
from store.sqlite import SQLiteStore

SHANGHAI = ZoneInfo("Asia/Shanghai")


def lines(count: int) -> list[bytes]:
    out = []
    for i in range(count):
        if i % 97 == 5:
            out.append(b'{"text": "broken')  # every 97th line is cut off
            continue
        post = {"id": f"weibo:{i % 700}", "text": f"启航 第{i}条", "created_at": "2026-11-20T10:00:00",
                "metrics": {"likes": i}}  # fmt: skip
        out.append(orjson.dumps(post))
    return out


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_imports_give_the_same_store_with_or_without_workers(tmp_path, workers):
    parser = LineParser(timezone=SHANGHAI, tag_brands=BrandTagger([("启航汽车", "启航")]))
    store = SQLiteStore(tmp_path / "s.db")
    report = ingest(lines(3_000), store, parser=parser, batch_size=250, workers=workers)

    bad = [i + 1 for i in range(3_000) if i % 97 == 5]
    assert [error.line for error in report.errors] == bad
    assert report.rejected == len(bad) and report.lines == 3_000
    assert report.stored.inserted == 700
    # ids repeat every 700 lines: the last copy in the file wins, whichever process prepared it
    last = {f"weibo:{i % 700}": i for i in range(3_000) if i % 97 != 5}
    assert {m.id: m.metrics.likes for m in store.iter_mentions(MentionFilter())} == last
    assert all(m.brands == ["启航汽车"] for m in store.iter_mentions(MentionFilter()))
    assert all(m.created_at.utcoffset().total_seconds() == 8 * 3600 for m in store.iter_mentions(MentionFilter()))
    store.close()
