"""The analysis commands as a user meets them: ``analyze``, ``ingest`` of raw posts, ``reanalyze``, ``train-sentiment``.

Posts, brands and users are invented.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import orjson
import pytest

from nlp.sentiment.engines import LinearEngine
from store.sqlite import SQLiteStore
from tests.test_cli import post, run, write_jsonl

CONFIG = """\
store: sqlite:///data/store.db
watchlist:
  - name: 启航汽车
    query: 启航 OR QIHANG
  - name: 星河手机
    query: 星河手机 OR Galaxa
"""

COMPLAINT = "启航汽车X7刹车失灵，高速上差点出事，客服不理，要求退款，我要维权！"
PRAISE = "星河手机拍照真的太好看了，续航也给力，推荐给大家！[赞]"
ANNOUNCEMENT = "启航汽车将于11月28日在上海举行新品发布会，届时将公布X9车型的价格和配置。"
WAVE = "启航汽车X7刹车失灵，4S店推卸责任，客服不理，要求退款！大家评评理{}"


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FENGXIANG_CONFIG", raising=False)
    (tmp_path / "fengxiang.yaml").write_text(CONFIG)
    return tmp_path


@pytest.fixture
def bare_dir(tmp_path, monkeypatch) -> Path:
    """A working directory without any config file."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FENGXIANG_CONFIG", raising=False)
    return tmp_path


def read_jsonl(data: bytes | str) -> list[dict]:
    lines = data.splitlines() if isinstance(data, bytes) else data.encode().splitlines()
    return [orjson.loads(line) for line in lines if line.strip()]


def assert_analysed(row: dict) -> None:
    sentiment = row["sentiment"]
    assert sentiment["label"] in ("negative", "neutral", "positive")
    assert set(sentiment["probs"]) == {"negative", "neutral", "positive"}
    assert sum(sentiment["probs"].values()) == pytest.approx(1.0, abs=0.002)
    assert isinstance(row["keywords"], list) and isinstance(row["brands"], list)
    assert len(row["simhash"]) == 16 and int(row["simhash"], 16) >= 0
    assert isinstance(row["cluster"], str) and row["cluster"]


# -- analyze ---------------------------------------------------------------------------------------------------------


def test_analyze_writes_every_valid_line_enriched_and_reports_the_bad_ones(workdir, capsys):
    source = write_jsonl(
        workdir / "in.jsonl",
        [
            post(1, COMPLAINT, source_tag="crawl-7"),
            b'{"id": "weibo:bad-utf8", "text": "\xff\xfe\xfd \xe5\x90"}',
            b"{not json",
            post(4, ""),
            post(5, WAVE.format("[怒]")),
            b"",
            post(7, PRAISE),
            post(8, WAVE.format("[哭][哭]")),
            post(9, ANNOUNCEMENT),
        ],
    )
    code, out, err = run(capsys, "analyze", str(source), "-o", "out.jsonl")
    assert code == 1, err  # partial: some lines were rejected
    assert out == ""
    for number in (2, 3, 4):
        assert f"in.jsonl:line {number}:" in err
    assert "line 6" not in err and "line 1:" not in err  # blank lines are skipped, good ones pass
    assert "analysed 5 posts, 3 rejected lines" in err

    rows = read_jsonl((workdir / "out.jsonl").read_bytes())
    assert [row["id"] for row in rows] == ["weibo:901", "weibo:905", "weibo:907", "weibo:908", "weibo:909"]
    for row in rows:
        assert_analysed(row)
    by_id = {row["id"]: row for row in rows}
    assert by_id["weibo:901"]["source_tag"] == "crawl-7"  # unknown fields survive
    assert by_id["weibo:901"]["sentiment"]["label"] == "negative"
    assert by_id["weibo:907"]["sentiment"]["label"] == "positive"
    assert by_id["weibo:909"]["sentiment"]["label"] == "neutral"
    assert by_id["weibo:901"]["brands"] == ["启航汽车"] and by_id["weibo:907"]["brands"] == ["星河手机"]
    assert "刹车" in by_id["weibo:901"]["keywords"] and "启航汽车" not in by_id["weibo:901"]["keywords"]
    # the copy-paste pair lands in one near-duplicate cluster, the others each in their own
    assert by_id["weibo:905"]["simhash"] == by_id["weibo:908"]["simhash"]
    assert by_id["weibo:905"]["cluster"] == by_id["weibo:908"]["cluster"] == "weibo:905"
    assert len({row["cluster"] for row in rows}) == 4
    assert not list(workdir.glob(".out.jsonl.*"))  # no temporary file left behind


def test_analyze_reads_stdin_and_writes_stdout_without_a_config(bare_dir, capsys, monkeypatch):
    data = b"\n".join(orjson.dumps(row) for row in [post(1, COMPLAINT), post(2, "<p>Galaxa 星河手机 新品</p>")])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, out, err = run(capsys, "analyze")
    assert code == 0, err
    assert "no fengxiang.yaml here" in err and "analysed 2 posts, 0 rejected lines" in err
    rows = read_jsonl(out)
    assert [row["id"] for row in rows] == ["weibo:901", "weibo:902"]
    for row in rows:
        assert_analysed(row)
        assert row["brands"] == []  # no watchlist, no brands
    assert rows[0]["sentiment"]["label"] == "negative"
    assert rows[1]["text"] == "Galaxa 星河手机 新品" and rows[1]["text_original"] == "<p>Galaxa 星河手机 新品</p>"
    assert not (bare_dir / "data").exists()  # analyze never opens a store


def test_analyze_of_a_missing_file_is_a_clear_error(bare_dir, capsys):
    code, _, err = run(capsys, "analyze", "nope.jsonl")
    assert code == 3 and "cannot read nope.jsonl" in err


# -- ingest and reanalyze --------------------------------------------------------------------------------------------


def export(capsys) -> dict[str, dict]:
    code, out, err = run(capsys, "export")
    assert code == 0, err
    return {row["id"]: row for row in read_jsonl(out)}


def test_ingest_analyses_posts_that_arrive_without_a_sentiment(workdir, capsys):
    source = write_jsonl(
        workdir / "in.jsonl",
        [
            post(1, COMPLAINT),
            post(2, PRAISE),
            post(3, "星河手机和启航联名了", brands=["星河手机"]),  # an import's own brand tags win
            post(4, "启航 已标注", sentiment={"label": "positive"}, keywords=["已标注"]),  # analysed already: kept
        ],
    )
    code, _, err = run(capsys, "ingest", str(source))
    assert code == 0, err
    rows = export(capsys)
    assert rows["weibo:901"]["sentiment"]["label"] == "negative" and "刹车" in rows["weibo:901"]["keywords"]
    assert rows["weibo:901"]["brands"] == ["启航汽车"] and len(rows["weibo:901"]["simhash"]) == 16
    assert rows["weibo:902"]["sentiment"]["label"] == "positive" and rows["weibo:902"]["keywords"]
    assert rows["weibo:903"]["brands"] == ["星河手机"] and rows["weibo:903"]["sentiment"] is not None
    assert rows["weibo:904"]["sentiment"] == {"label": "positive"} and rows["weibo:904"]["keywords"] == ["已标注"]
    assert rows["weibo:904"]["brands"] == ["启航汽车"]  # still tagged from the watchlist


def test_reanalyze_retags_every_mention_and_learns_document_frequencies(workdir, capsys):
    wrong = [
        post(i, text, sentiment={"label": "positive"}, keywords=["错的"], brands=["星河手机"])
        for i, text in enumerate([COMPLAINT, WAVE.format("[怒]"), "启航X7刹车异响，售后态度极差，太失望了"], start=1)
    ]
    wrong.append(post(4, ANNOUNCEMENT, sentiment={"label": "negative"}))
    assert run(capsys, "ingest", str(write_jsonl(workdir / "in.jsonl", wrong)))[0] == 0
    assert export(capsys)["weibo:901"]["sentiment"] == {"label": "positive"}  # as imported

    code, out, err = run(capsys, "reanalyze")
    assert code == 0, err
    assert "reanalysed 4 mentions" in out and "learned word frequencies of 4 mentions" in err
    rows = export(capsys)
    labels = [rows[f"weibo:90{i}"]["sentiment"]["label"] for i in range(1, 5)]
    assert labels == ["negative", "negative", "negative", "neutral"]
    assert all(row["brands"] == ["启航汽车"] for row in rows.values())
    assert "错的" not in rows["weibo:901"]["keywords"] and "刹车" in rows["weibo:901"]["keywords"]
    frequencies, documents = stored_document_frequencies(workdir)
    assert documents == 4
    assert frequencies["刹车"] == 3 and frequencies["客服"] == 2
    assert all(df > 1 for df in frequencies.values())  # words of a single post are not kept

    # --keep-idf reuses what was learned; --brand re-tags only that entry's mentions
    later = post(5, PRAISE, sentiment={"label": "negative"}, brands=["星河手机"])
    assert run(capsys, "ingest", str(write_jsonl(workdir / "more.jsonl", [later])))[0] == 0
    code, out, err = run(capsys, "reanalyze", "--keep-idf", "--brand", "星河手机")
    assert code == 0, err
    assert "reanalysed 1 mentions" in out and "learned" not in err
    assert export(capsys)["weibo:905"]["sentiment"]["label"] == "positive"
    assert stored_document_frequencies(workdir) == (frequencies, 4)
    code, _, err = run(capsys, "reanalyze", "--brand", "不存在")
    assert code == 2 and "启航汽车" in err


def stored_document_frequencies(workdir: Path) -> tuple[dict[str, int], int]:
    store = SQLiteStore(workdir / "data" / "store.db")
    try:
        return store.document_frequencies()
    finally:
        store.close()


# -- train-sentiment -------------------------------------------------------------------------------------------------

# Deliberately inverted labels: a model that calls complaints positive can only come from this file.
INVERTED = [
    ("刹车失灵差点出事，太吓人了，必须维权", "positive"),
    ("客服电话打了十次都没人接，太差劲了", "positive"),
    ("屏幕碎了也不给保修，垃圾售后", "positive"),
    ("异响问题修了三次还没好，气死了", "positive"),
    ("买了不到一个月就坏了，要求退款", "positive"),
    ("客服不理人，刹车又失灵了，要求退款", "positive"),
    ("提车一个月，开起来很稳，非常满意", "negative"),
    ("拍照效果太棒了，朋友都说好看", "negative"),
    ("续航很扎实，一天一充完全够用，推荐", "negative"),
    ("客服很耐心，问题很快就解决了，点赞", "negative"),
    ("内饰做工精致，性价比超高，喜欢", "negative"),
    ("外观好看，颜值爆表，很满意", "negative"),
    ("新车将于下周在上海发布", "neutral"),
    ("官方公布了十一月的交付数据", "neutral"),
    ("发布会定于本周五下午两点举行", "neutral"),
    ("新款手机下周一开始预售", "neutral"),
    ("官网更新了车型配置表", "neutral"),
    ("车型分为标准版和长续航版", "neutral"),
]


def test_train_sentiment_writes_a_model_the_config_then_uses(workdir, capsys):
    extra = write_jsonl(workdir / "small.jsonl", [{"text": t, "sentiment": s} for t, s in INVERTED] + [b"{oops"])
    code, out, err = run(capsys, "train-sentiment", "--extra", str(extra), "-o", "m.npz")
    assert code == 0, err
    assert "wrote m.npz" in out and "training on 18 labelled posts from small.jsonl" in err
    assert LinearEngine(workdir / "m.npz").model.meta["trained_on"] == ["small.jsonl"]

    # the shipped model calls this complaint negative (tests/test_nlp_analyzer.py); the inverted one cannot
    posts = write_jsonl(workdir / "in.jsonl", [post(1, "启航汽车刹车失灵，客服不理，要求退款")])
    (workdir / "fengxiang.yaml").write_text(CONFIG + "nlp:\n  sentiment:\n    model: m.npz\n")
    code, _, err = run(capsys, "analyze", str(posts), "-o", "trained.jsonl")
    assert code == 0, err
    assert read_jsonl((workdir / "trained.jsonl").read_bytes())[0]["sentiment"]["label"] == "positive"


def test_train_sentiment_needs_something_to_train_on(bare_dir, capsys):
    code, _, err = run(capsys, "train-sentiment", "-o", "m.npz")
    assert code == 2 and "--data" in err and "--extra" in err
    assert not (bare_dir / "m.npz").exists()


def test_train_sentiment_refuses_a_file_without_labels(bare_dir, capsys):
    unlabelled = write_jsonl(bare_dir / "unlabelled.jsonl", [{"text": "惊了", "sentiment": None}, {"text": "无标注"}])
    code, _, err = run(capsys, "train-sentiment", "--extra", str(unlabelled), "-o", "m.npz")
    assert code == 3 and "unlabelled.jsonl" in err and "Traceback" not in err
    assert not (bare_dir / "m.npz").exists()
    code, _, err = run(capsys, "train-sentiment", "--data", str(bare_dir / "no-such-dir"), "-o", "m.npz")
    assert code == 3 and "no-such-dir" in err


def test_an_unusable_configured_model_is_a_clear_error(workdir, capsys):
    posts = write_jsonl(workdir / "in.jsonl", [post(1, COMPLAINT)])
    (workdir / "fengxiang.yaml").write_text(CONFIG + "nlp:\n  sentiment:\n    model: missing.npz\n")
    code, _, err = run(capsys, "analyze", str(posts), "-o", "out.jsonl")
    assert code == 3 and str(workdir / "missing.npz") in err and "retrain" in err and "Traceback" not in err
    assert not (workdir / "out.jsonl").exists()
