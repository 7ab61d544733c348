"""Manual sentiment corrections and hand-resolved incidents, as the dashboard will use them.

A correction must move every aggregate with it, outlive re-crawls and ``fengxiang reanalyze``, come
undone cleanly, and export as training data. The ``store`` fixture (tests/conftest.py) runs the
store-level tests once per backend. Posts, brands and people are invented.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest

from alerts.incidents import Policy, plan_changes
from alerts.signals import Signal
from nlp.sentiment.train import read_labelled
from store.base import MentionFilter, StoreError, Window
from store.model import Mention, Sentiment
from store.sqlite import SQLiteStore
from tests.conftest import SHANGHAI, make_mention
from tests.test_cli import post, run, write_jsonl

DAY0 = datetime(2026, 11, 1, tzinfo=SHANGHAI)
LATER = DAY0 + timedelta(days=20)
EVERYTHING = Window(DAY0 - timedelta(days=30), DAY0 + timedelta(days=30))


def at(day: int, hour: int = 12) -> datetime:
    return DAY0 + timedelta(days=day, hours=hour)


def brand_window(brand: str | None) -> Window:
    return Window(EVERYTHING.since, EVERYTHING.until, brand)


def negative(text: str, day: int, **fields) -> Mention:
    fields.setdefault("sentiment", {"label": "negative", "probs": {"negative": 0.7, "neutral": 0.2, "positive": 0.1}})
    return make_mention(text, created_at=at(day), brands=["启航汽车"], keywords=["刹车"], **fields)


def by_sentiment(store: SQLiteStore, brand: str | None = None) -> dict[str, int]:
    return {label: n for label, n in store.counts(brand_window(brand)).by_sentiment.items() if n}


def daily_split(store: SQLiteStore, brand: str | None = None) -> dict[str, dict[str, int]]:
    buckets = store.histogram(brand_window(brand), interval="day", split="sentiment")
    return {b.start.date().isoformat(): {k: n for k, n in b.split.items() if n} for b in buckets if b.total}


# -- corrections move the numbers ------------------------------------------------------------------


def test_a_correction_moves_counts_histogram_and_search_and_says_so_in_the_mention(store):
    wrong, other, third = (
        negative("启航 终于修好了，服务很棒", 1),
        negative("启航 刹车又坏了", 1),
        negative("启航 退款", 3),
    )
    store.upsert([wrong, other, third])
    assert by_sentiment(store) == by_sentiment(store, "启航汽车") == {"negative": 3}

    corrected = store.correct_sentiment(wrong.id, "positive", by="小李", at=LATER)

    assert corrected.sentiment is not None
    assert corrected.sentiment.label == "positive"
    assert corrected.sentiment.model_label == "negative"
    assert corrected.sentiment.corrected_by == "小李"
    assert corrected.sentiment.corrected_at == LATER
    assert corrected.sentiment.probs == wrong.sentiment.probs  # the model's numbers stay for reference
    assert store.get(wrong.id) == corrected
    assert corrected.to_json_dict()["sentiment"]["model_label"] == "negative"
    for brand in (None, "启航汽车"):
        assert by_sentiment(store, brand) == {"negative": 2, "positive": 1}
        assert daily_split(store, brand) == {
            "2026-11-02": {"negative": 1, "positive": 1},
            "2026-11-04": {"negative": 1},
        }
    hourly = store.histogram(Window(at(1, 0), at(1, 23)), interval="hour")
    assert [b.split["positive"] for b in hourly if b.total] == [1]
    page = store.search(MentionFilter(brand="启航汽车", sentiments=("positive",)))
    assert [m.id for m in page.items] == [wrong.id]
    assert [m.id for m in store.search(MentionFilter(sentiments=("negative",))).items] == [third.id, other.id]
    assert store.counts(EVERYTHING).total == 3  # moved, not added
    # an uncorrected mention's JSON has no correction fields at all
    assert set(store.get(other.id).to_json_dict()["sentiment"]) == {"label", "probs"}


def test_correcting_to_the_models_own_label_confirms_it(store):
    mention = negative("启航 刹车失灵", 1)
    store.upsert([mention])
    confirmed = store.correct_sentiment(mention.id, "negative", by="小王", at=LATER)
    assert confirmed.sentiment.label == confirmed.sentiment.model_label == "negative"
    assert confirmed.sentiment.corrected_by == "小王"
    assert [m.id for m in store.corrections()] == [mention.id]
    assert by_sentiment(store) == {"negative": 1}


def test_a_mention_the_model_never_labelled_can_be_corrected_and_undone_back_to_unlabeled(store):
    mention = make_mention("启航 发布会", created_at=at(2), brands=["启航汽车"])
    store.upsert([mention])
    corrected = store.correct_sentiment(mention.id, "neutral", by="小李", at=LATER)
    assert corrected.sentiment.label == "neutral" and corrected.sentiment.model_label is None
    assert by_sentiment(store) == {"neutral": 1}
    assert store.undo_correction(mention.id).sentiment is None
    assert by_sentiment(store) == {"unlabeled": 1}


def test_unknown_ids_and_labels_are_errors_that_name_the_fix(store):
    mention = negative("启航 刹车失灵", 1)
    store.upsert([mention])
    with pytest.raises(StoreError, match=r"no stored mention has the id 'weibo:404'.*platform:identifier"):
        store.correct_sentiment("weibo:404", "positive", by="小李", at=LATER)
    with pytest.raises(StoreError, match=r"unknown sentiment label 'good'.*negative, neutral, positive"):
        store.correct_sentiment(mention.id, "good", by="小李", at=LATER)
    assert store.corrections() == []
    assert store.get(mention.id) == mention
    assert store.undo_correction(mention.id) is None
    assert store.undo_correction("weibo:404") is None


# -- corrections outlive the model --------------------------------------------------------------------


def test_a_correction_survives_re_upserts_and_keeps_the_models_latest_label(store):
    mention = negative("启航 终于修好了，服务很棒", 1)
    store.upsert([mention])
    store.correct_sentiment(mention.id, "positive", by="小李", at=LATER)

    # a re-crawl with the same model label, fresher metrics
    recrawled = mention.model_copy(update={"metrics": mention.metrics.model_copy(update={"likes": 50})})
    assert store.upsert([recrawled, negative("启航 另一条", 2)]).updated == 1
    stored = store.get(mention.id)
    assert stored.sentiment.label == "positive" and stored.metrics.likes == 50
    assert stored.sentiment.model_label == "negative" and stored.sentiment.corrected_by == "小李"
    assert by_sentiment(store) == {"negative": 1, "positive": 1}

    # a new model that says neutral: the person's label stays, model_label follows the model
    retagged = mention.model_copy(update={"sentiment": Sentiment(label="neutral")})
    store.upsert([retagged])
    stored = store.get(mention.id)
    assert stored.sentiment.label == "positive" and stored.sentiment.model_label == "neutral"
    assert stored.sentiment.corrected_at == LATER
    [listed] = store.corrections()
    assert listed == stored

    # writing back what the store handed out (a copy carrying the correction) changes nothing
    store.upsert([stored])
    assert store.get(mention.id) == stored
    assert by_sentiment(store) == {"negative": 1, "positive": 1}
    assert store.counts(EVERYTHING).total == 2

    # undo gives back the model's latest label, not the one it had when corrected
    restored = store.undo_correction(mention.id)
    assert restored.sentiment.label == "neutral"
    assert restored.sentiment.corrected_by is restored.sentiment.model_label is None
    assert set(restored.to_json_dict()["sentiment"]) == {"label"}
    assert store.corrections() == []
    assert by_sentiment(store) == {"negative": 1, "neutral": 1}
    store.upsert([mention])  # and the model is in charge again
    assert store.get(mention.id).sentiment.label == "negative"


def test_correcting_again_replaces_the_correction_and_keeps_what_the_model_said(store):
    mention = negative("启航 还行吧", 1)
    store.upsert([mention])
    store.correct_sentiment(mention.id, "positive", by="小李", at=LATER)
    again = store.correct_sentiment(mention.id, "neutral", by="小王", at=LATER + timedelta(hours=1))
    assert again.sentiment.label == "neutral" and again.sentiment.model_label == "negative"
    assert again.sentiment.corrected_by == "小王"
    assert by_sentiment(store) == {"neutral": 1}
    assert store.undo_correction(mention.id).sentiment.label == "negative"


def test_corrections_are_listed_newest_first_by_time_and_brand(store):
    first, second = negative("启航 一", 1), negative("启航 二", 2)
    phone = make_mention("星河手机 三", created_at=at(3), brands=["星河手机"], sentiment={"label": "positive"})
    store.upsert([first, second, phone])
    store.correct_sentiment(first.id, "neutral", by="小李", at=LATER)
    store.correct_sentiment(phone.id, "negative", by="小李", at=LATER + timedelta(hours=1))
    store.correct_sentiment(second.id, "positive", by="小王", at=LATER + timedelta(hours=2))
    assert [m.id for m in store.corrections()] == [second.id, phone.id, first.id]
    assert [m.id for m in store.corrections(brand="启航汽车")] == [second.id, first.id]
    assert [m.id for m in store.corrections(since=LATER + timedelta(minutes=30))] == [second.id, phone.id]
    assert [m.id for m in store.corrections(since=LATER + timedelta(minutes=30), brand="星河手机")] == [phone.id]
    assert all(m.sentiment.corrected_by for m in store.corrections())


def test_corrected_mentions_exported_and_imported_into_another_store_keep_their_correction(store, tmp_path):
    mention = negative("启航 终于修好了", 1)
    store.upsert([mention])
    store.correct_sentiment(mention.id, "positive", by="小李", at=LATER)
    exported = [Mention.model_validate(m.to_json_dict()) for m in store.corrections()]

    with SQLiteStore(tmp_path / "other.db") as other:
        other.upsert(exported)
        [listed] = other.corrections()
        assert listed.sentiment == store.get(mention.id).sentiment
        other.upsert([mention])  # its model still says negative
        assert other.get(mention.id).sentiment.label == "positive"
        assert other.undo_correction(mention.id).sentiment.label == "negative"


# -- through the command line -------------------------------------------------------------------------

CONFIG = """\
store: sqlite:///data/store.db
watchlist:
  - name: 启航汽车
    query: 启航 OR QIHANG
"""
COMPLAINT = "启航汽车X7刹车失灵，高速上差点出事，客服不理，要求退款，我要维权！"
SARCASM = "启航汽车的客服真是太棒了，等了三天都没人理，退款也不给，真是好样的"
ANNOUNCEMENT = "启航汽车将于11月28日在上海举行新品发布会，届时将公布X9车型的价格和配置。"


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FENGXIANG_CONFIG", raising=False)
    (tmp_path / "fengxiang.yaml").write_text(CONFIG)
    return tmp_path


def store_at(workdir: Path) -> SQLiteStore:
    return SQLiteStore(workdir / "data" / "store.db")


def test_reanalyze_keeps_manual_labels_and_export_corrected_feeds_train_sentiment(workdir, capsys):
    posts = [post(1, COMPLAINT), post(2, ANNOUNCEMENT), post(3, SARCASM)]
    assert run(capsys, "ingest", str(write_jsonl(workdir / "in.jsonl", posts)))[0] == 0
    with store_at(workdir) as store:
        model_says = {i: store.get(f"weibo:90{i}").sentiment.label for i in (1, 2, 3)}
        assert model_says[1] == "negative" and model_says[2] == "neutral"
        store.correct_sentiment("weibo:902", "positive", by="小李", at=LATER)
        store.correct_sentiment("weibo:903", "negative", by="小王", at=LATER + timedelta(hours=1))

    code, out, err = run(capsys, "reanalyze")
    assert code == 0, err
    assert "reanalysed 3 mentions" in out
    with store_at(workdir) as store:
        after = {i: store.get(f"weibo:90{i}").sentiment for i in (1, 2, 3)}
        assert after[1].label == "negative" and after[1].corrected_by is None
        assert (after[2].label, after[2].model_label, after[2].corrected_by) == ("positive", "neutral", "小李")
        assert (after[3].label, after[3].model_label) == ("negative", model_says[3])
        assert store.counts(EVERYTHING).by_sentiment["positive"] == 1

    code, _, err = run(capsys, "export", "--corrected", "-o", "corrected.jsonl")
    assert code == 0, err
    assert "exported 2 mentions" in err
    rows = [orjson.loads(line) for line in (workdir / "corrected.jsonl").read_bytes().splitlines()]
    assert [row["id"] for row in rows] == ["weibo:903", "weibo:902"]  # newest correction first
    assert rows[1]["sentiment"]["corrected_by"] == "小李" and rows[1]["sentiment"]["model_label"] == "neutral"
    data = read_labelled([workdir / "corrected.jsonl"])
    assert list(zip(data.texts, data.labels, strict=True)) == [(SARCASM, "negative"), (ANNOUNCEMENT, "positive")]

    code, _, err = run(capsys, "export", "--corrected", "--since", "2026-11-21 00:30", "--format", "csv", "-o", "c.csv")
    assert code == 0, err
    table = list(csv.DictReader(io.StringIO((workdir / "c.csv").read_text(encoding="utf-8-sig"))))
    assert [(row["id"], row["sentiment"]) for row in table] == [("weibo:903", "negative")]

    code, _, err = run(capsys, "export", "--corrected", "--query", "刹车")
    assert code == 2 and "--corrected" in err


# -- incidents closed by hand -------------------------------------------------------------------------

POLICY = Policy(
    channels=("值班群",), cooldown=timedelta(hours=2), resolve_after=timedelta(hours=3), quiet_hours=None, zone=SHANGHAI
)


def spike(volume: float = 40) -> Signal:
    return Signal("negative_spike", "启航汽车", "", "high", volume, [("负面提及", f"{volume:g}")], [], ("weibo:1",))  # type: ignore[arg-type]


def test_resolve_incident_closes_it_once_with_a_timeline_event_naming_who(store):
    [incident] = store.apply_incident_changes(plan_changes([spike()], [], [], at(1), POLICY))
    assert store.incident(incident.pk).status == "open"

    assert store.resolve_incident(incident.pk, by="小李", at=at(1, 14)) is True
    closed = store.incident(incident.pk)
    assert closed.status == "resolved" and closed.resolved_at == at(1, 14)
    assert closed.volume == 40 and closed.opened_at == at(1)
    events = store.incident_events(incident.pk)
    assert [e.kind for e in events] == ["opened", "resolved"]
    assert events[-1].at == at(1, 14) and "小李" in events[-1].note
    assert (events[-1].severity, events[-1].volume) == ("high", 40)
    assert store.incidents(status="open") == []
    assert [i.pk for i in store.incidents(status="resolved", resolved_since=at(1, 13))] == [incident.pk]

    assert store.resolve_incident(incident.pk, by="小王", at=at(1, 15)) is False  # already resolved
    assert store.incident(incident.pk).resolved_at == at(1, 14)
    assert len(store.incident_events(incident.pk)) == 2
    assert store.resolve_incident(9999, by="小李", at=at(1, 15)) is False
    assert store.incident(9999) is None
