"""The command line as a user meets it: exit codes, messages, files in and out."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson
import pytest

from fengxiang.cli import main

SECRET_WEBHOOK = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET-KEY-123456"

CONFIG = """\
store: sqlite:///data/store.db
watchlist:
  - name: 启航汽车
    query: 启航 OR QIHANG
    competitors: [星河手机]
  - name: 星河手机
    query: 星河手机 OR Galaxa
alerts:
  channels:
    - type: wecom
      name: 公关值班群
      webhook: ${TEST_WEBHOOK}
"""


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TEST_WEBHOOK", SECRET_WEBHOOK)
    monkeypatch.delenv("FENGXIANG_CONFIG", raising=False)
    (tmp_path / "fengxiang.yaml").write_text(CONFIG)
    return tmp_path


def post(i: int, text: str, **fields) -> dict:
    return {
        "id": f"weibo:{900 + i}",
        "text": text,
        "created_at": "2026-11-20T10:00:00+08:00",
        "author": {"id": f"weibo:{i}", "name": f"用户{i}", "followers": 100 * i},
        "metrics": {"reposts": i, "comments": 0, "likes": 1},
        **fields,
    }


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_bytes(b"".join((row if isinstance(row, bytes) else orjson.dumps(row)) + b"\n" for row in rows))
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_init_writes_a_config_that_check_accepts(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WEIBO_COOKIE", "SUB=cookie-secret-value")
    monkeypatch.setenv("FENGXIANG_WECOM_WEBHOOK", SECRET_WEBHOOK)
    assert run(capsys, "init")[0] == 0
    code, out, err = run(capsys, "check")
    assert code == 0, err
    assert "ok" in out and "SECRET-KEY" not in out + err and "cookie-secret-value" not in out + err
    code, _, err = run(capsys, "init")
    assert code == 2 and "already exists" in err


def test_check_reports_config_errors_with_file_and_line_and_exit_2(workdir, capsys):
    (workdir / "fengxiang.yaml").write_text("store: sqlite:///x.db\nwatchlst:\n  - name: a\n")
    code, _, err = run(capsys, "check")
    assert code == 2
    assert 'fengxiang.yaml:2: watchlst: unknown key — did you mean "watchlist"?' in err


def test_check_never_prints_secrets(workdir, capsys):
    code, out, err = run(capsys, "check")
    assert code == 0 and "公关值班群" in out
    assert "SECRET-KEY" not in out + err


def test_check_names_the_missing_chromium_a_browser_signed_source_needs(workdir, capsys, monkeypatch):
    config = workdir / "fengxiang.yaml"
    config.write_text(config.read_text() + "sources:\n  xiaohongshu:\n    enabled: true\n", encoding="utf-8")
    monkeypatch.setattr("fengxiang.cli.CHROMIUM", workdir / "no-chromium-here")
    code, _, err = run(capsys, "check")
    assert code != 0
    assert "sources.xiaohongshu signs its requests in Chromium" in err and "apt-get install chromium" in err


def test_ingest_stores_good_lines_and_reports_bad_ones_by_line_number(workdir, capsys):
    file = write_jsonl(
        workdir / "in.jsonl",
        [
            post(1, "启航的新车不错"),
            b"{not json",
            post(2, ""),
            b"",
            post(3, "星河手机 续航", metrics={"likes": -3}),
            b"[1, 2]",
            post(4, "Galaxa 发布会"),
        ],
    )
    code, out, err = run(capsys, "ingest", str(file))
    assert code == 1  # partial
    assert "partial: 2 new, 0 updated, 4 rejected of 7 lines" in out
    assert "in.jsonl:line 2: not valid JSON" in err
    assert "in.jsonl:line 3: text" in err
    assert "in.jsonl:line 5: metrics.likes" in err
    assert "in.jsonl:line 6:" in err
    code, out, _ = run(capsys, "ingest", str(file), "--json")
    summary = orjson.loads(out)
    assert code == 1 and summary["status"] == "partial"
    assert (summary["inserted"], summary["updated"], summary["rejected"]) == (0, 2, 4)
    assert [e["line"] for e in summary["errors"]] == [2, 3, 5, 6]


def test_ingest_tags_brands_from_the_watchlist_when_posts_have_none(workdir, capsys):
    file = write_jsonl(
        workdir / "in.jsonl",
        [
            post(1, "QIHANG Q7 试驾"),
            post(2, "星河手机和启航联名"),
            post(3, "无关的话"),
            post(4, "已标注", brands=["星河手机"]),
        ],
    )
    assert run(capsys, "ingest", str(file))[0] == 0
    code, out, _ = run(capsys, "export", "--format", "jsonl")
    assert code == 0
    brands = {row["id"]: row["brands"] for row in map(orjson.loads, out.splitlines())}
    assert brands == {
        "weibo:901": ["启航汽车"],
        "weibo:902": ["启航汽车", "星河手机"],
        "weibo:903": [],
        "weibo:904": ["星河手机"],
    }


def test_export_jsonl_round_trips_what_was_ingested(workdir, capsys):
    rows = [
        post(i, f"启航 第{i}条", sentiment={"label": "neutral"}, keywords=["续航"], source_tag="import-1")
        for i in range(1, 30)
    ]
    file = write_jsonl(workdir / "in.jsonl", rows)
    assert run(capsys, "ingest", str(file))[0] == 0
    assert run(capsys, "export", "-o", "out.jsonl")[0] == 0
    exported = [orjson.loads(line) for line in (workdir / "out.jsonl").read_bytes().splitlines()]
    assert len(exported) == len(rows)
    by_id = {row["id"]: row for row in exported}
    for row in rows:
        got = by_id[row["id"]]
        assert got["text"] == row["text"] and got["source_tag"] == "import-1"
        assert got["created_at"] == row["created_at"] and got["brands"] == ["启航汽车"]
    assert not list(workdir.glob(".out.jsonl.*"))  # no temporary file left behind


def test_export_csv_opens_in_excel_and_filters(workdir, capsys):
    file = write_jsonl(
        workdir / "in.jsonl",
        [
            post(1, '启航 刹车, "异响"', sentiment={"label": "negative"}),
            post(2, "启航 很好", sentiment={"label": "positive"}),
            post(3, "星河手机 一般", sentiment={"label": "negative"}),
        ],
    )
    run(capsys, "ingest", str(file))
    code, _, _ = run(
        capsys, "export", "--brand", "启航汽车", "--sentiment", "negative", "--format", "csv", "-o", "neg.csv"
    )
    raw = (workdir / "neg.csv").read_bytes()
    assert code == 0 and raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for Chinese
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [(r["id"], r["text"], r["sentiment"], r["brands"]) for r in rows] == [
        ("weibo:901", '启航 刹车, "异响"', "negative", "启航汽车")
    ]


def test_export_with_a_text_query(workdir, capsys):
    run(capsys, "ingest", str(write_jsonl(workdir / "in.jsonl", [post(1, "启航 刹车"), post(2, "启航 续航")])))
    code, out, _ = run(capsys, "export", "--query", "刹车 OR 自燃")
    assert code == 0 and [orjson.loads(line)["id"] for line in out.splitlines()] == ["weibo:901"]
    code, _, err = run(capsys, "export", "--query", "(刹车")
    assert code == 2 and "--query is not a valid query" in err and "^" in err


def test_stats_json_reports_the_window_against_the_previous_one(workdir, capsys):
    def analysed(ids: range, text: str, day: str, label: str, word: str) -> list[dict]:
        return [
            post(i, text, created_at=f"{day}T10:00:00+08:00", sentiment={"label": label}, keywords=[word]) for i in ids
        ]

    rows = analysed(range(1, 5), "启航 刹车", "2026-11-20", "negative", "刹车")
    rows += analysed(range(5, 7), "启航 不错", "2026-11-13", "positive", "不错")
    run(capsys, "ingest", str(write_jsonl(workdir / "in.jsonl", rows)))
    code, out, err = run(
        capsys, "stats", "--brand", "启航汽车", "--since", "2026-11-17", "--until", "2026-11-24", "--json"
    )
    assert code == 0, err
    stats = orjson.loads(out)
    assert stats["volume"] == {"current": 4, "previous": 2, "change": 1.0}
    assert stats["negative_share"] == {"current": 1.0, "previous": 0.0, "change": 1.0}
    assert stats["sentiment"]["negative"] == 4
    assert [d["date"] for d in stats["daily"]][:2] == ["2026-11-17", "2026-11-18"] and len(stats["daily"]) == 7
    assert next(d for d in stats["daily"] if d["date"] == "2026-11-20")["negative"] == 4
    assert stats["top_keywords"] == [{"word": "刹车", "count": 4}]
    assert stats["top_authors"][0]["mentions"] == 1 and len(stats["top_authors"]) == 4
    # 刹车 is in 4 of 4 posts now and in none of the week before: it is the rising word
    assert [item["word"] for item in stats["rising_keywords"]] == ["刹车"]
    assert stats["rising_keywords"][0]["baseline_count"] == 0
    code, out, _ = run(capsys, "stats", "--brand", "启航汽车", "--since", "2026-11-17", "--until", "2026-11-24")
    assert code == 0 and "新热词 rising      刹车(×" in out


def test_stats_for_an_unknown_brand_names_the_known_ones(workdir, capsys):
    code, _, err = run(capsys, "stats", "--brand", "不存在")
    assert code == 2 and "启航汽车" in err and "星河手机" in err


def test_a_bad_time_is_a_usage_error(workdir, capsys):
    code, _, err = run(capsys, "stats", "--since", "last tuesday")
    assert code == 2 and "7d" in err


def test_an_unusable_store_path_is_a_clear_error_not_a_traceback(workdir, capsys):
    (workdir / "blocker").write_text("file")
    (workdir / "fengxiang.yaml").write_text("store: sqlite:///blocker/s.db\n")
    code, _, err = run(capsys, "stats")
    assert code == 3 and "cannot create the folder" in err and "Traceback" not in err


def test_a_missing_input_file_is_a_clear_error(workdir, capsys):
    code, _, err = run(capsys, "ingest", "nope.jsonl")
    assert code == 3 and "cannot read nope.jsonl" in err


def test_store_urls_are_shown_without_their_password():
    from fengxiang.cli import _without_password

    assert _without_password("https://elastic:s3cret@es.local:9200") == "https://elastic:***@es.local:9200"
    assert _without_password("sqlite:///data/x.db") == "sqlite:///data/x.db"


def test_ingest_reads_standard_input_and_files_saved_with_a_bom(workdir, capsys, monkeypatch):
    import io
    import sys

    data = "\ufeff".encode() + orjson.dumps(post(1, "启航 Windows 导出")) + b"\r\n" + orjson.dumps(post(2, "第二行"))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, out, err = run(capsys, "ingest", "-")
    assert code == 0, err
    assert "ok: 2 new" in out
