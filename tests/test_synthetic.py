"""The synthetic mention generator: deterministic, well-formed, and shaped like real 舆情 data."""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from fengxiang.synthetic import BRANDS, demo_watchlist, generate_mentions, write_jsonl

BEIJING = timezone(timedelta(hours=8))
END = datetime(2025, 6, 30, 20, 0, tzinfo=BEIJING)
DAYS = 90
COUNT = 5_000
BIG_BRAND = BRANDS[0].name
ANALYSIS_FIELDS = {"sentiment", "keywords", "brands", "simhash"}


@pytest.fixture(scope="module")
def mentions() -> list[dict]:
    return list(generate_mentions(COUNT, seed=7, end=END, days=DAYS))


def created(mention: dict) -> datetime:
    return datetime.fromisoformat(mention["created_at"])


# --------------------------------------------------------------------------------- determinism


def test_the_same_seed_gives_the_same_mentions() -> None:
    first = list(generate_mentions(800, seed=3, end=END))
    assert first == list(generate_mentions(800, seed=3, end=END))
    assert first != list(generate_mentions(800, seed=4, end=END))


def test_unanalysed_mentions_are_the_analysed_ones_without_analysis() -> None:
    analysed = generate_mentions(800, seed=3, end=END)
    bare = generate_mentions(800, seed=3, end=END, analysed=False)
    for full, plain in zip(analysed, bare, strict=True):
        assert {k: v for k, v in full.items() if k not in ANALYSIS_FIELDS} == plain


def test_exactly_count_mentions_even_for_tiny_or_short_ranges() -> None:
    assert list(generate_mentions(0, end=END)) == []
    for count, days in [(1, 90), (7, 1), (500, 1)]:
        assert len(list(generate_mentions(count, end=END, days=days))) == count


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="count"):
        generate_mentions(-1)
    with pytest.raises(ValueError, match="days"):
        generate_mentions(10, days=0)


def test_a_naive_end_is_beijing_time() -> None:
    naive = list(generate_mentions(50, end=END.replace(tzinfo=None)))
    assert naive == list(generate_mentions(50, end=END))


# ------------------------------------------------------------------------------------ well-formed


def test_ids_are_unique_and_shaped_per_platform(mentions: list[dict]) -> None:
    assert len({m["id"] for m in mentions}) == len(mentions)
    shapes = {
        "weibo": (r"weibo:\d{16}", "https://m.weibo.cn/detail/"),
        "bilibili": (r"bilibili:\d{16}", "https://t.bilibili.com/"),
        "zhihu": (r"zhihu:\d{16}", "https://www.zhihu.com/pin/"),
        "xiaohongshu": (r"xiaohongshu:[0-9a-f]{24}", "https://www.xiaohongshu.com/explore/"),
        "news": (r"news:\d{16}", "https://news.example.com/a/"),
    }
    platforms = Counter(m["platform"] for m in mentions)
    assert set(platforms) == set(shapes)
    assert platforms["weibo"] > 0.7 * len(mentions)
    for mention in mentions:
        id_pattern, url_head = shapes[mention["platform"]]
        assert re.fullmatch(id_pattern, mention["id"])
        assert mention["url"].startswith(url_head + mention["id"].split(":", 1)[1])
        assert mention["author"]["id"].startswith(mention["platform"] + ":")


def test_times_are_aware_ordered_and_inside_the_range(mentions: list[dict]) -> None:
    times = [created(m) for m in mentions]
    assert all(t.utcoffset() == timedelta(hours=8) for t in times)
    assert times == sorted(times)
    assert END - timedelta(days=DAYS) <= times[0] and times[-1] < END
    assert (times[-1] - times[0]) > timedelta(days=DAYS - 2)  # spread over the whole range


def test_texts_look_like_posts(mentions: list[dict]) -> None:
    lengths = [len(m["text"]) for m in mentions]
    assert min(lengths) >= 20 and max(lengths) <= 300
    assert sum(length > 150 for length in lengths) > 0.01 * len(mentions)  # some long posts
    texts = "".join(m["text"] for m in mentions)
    for sign in ("[怒]", "[允悲]", "[笑cry]", "#", "@", "，", "！", "QIHANG"):
        assert sign in texts


def test_authors_are_well_formed_and_reappear(mentions: list[dict]) -> None:
    authors = {m["author"]["id"]: m["author"] for m in mentions}
    assert COUNT / 12 < len(authors) < COUNT / 5  # about N/8 distinct authors
    posts_per_author = Counter(m["author"]["id"] for m in mentions)
    assert posts_per_author.most_common(1)[0][1] >= 10  # Zipf-like: a few post a lot
    for author in authors.values():
        assert isinstance(author["name"], str) and author["name"]
        assert isinstance(author["followers"], int) and author["followers"] >= 0
        assert author["verified"] == (author["verified_type"] != -1)
        assert author["verified_type"] in range(-1, 8)
    followers = [a["followers"] for a in authors.values()]
    assert statistics.median(followers) < 1000
    big = [a for a in authors.values() if a["followers"] >= 1_000_000]
    assert big and sum(a["verified"] for a in big) > 0.8 * len(big)


def test_engagement_is_heavy_tailed_and_grows_with_followers(mentions: list[dict]) -> None:
    likes = sorted(m["metrics"]["likes"] for m in mentions)
    assert likes[len(likes) // 2] < 50 and likes[-1] > 10_000
    small = [m["metrics"]["likes"] for m in mentions if m["author"]["followers"] < 1000]
    large = [m["metrics"]["likes"] for m in mentions if m["author"]["followers"] >= 100_000]
    assert statistics.mean(large) > 20 * statistics.mean(small)
    for mention in mentions:
        assert set(mention["metrics"]) == {"reposts", "comments", "likes"}
        assert all(isinstance(v, int) and v >= 0 for v in mention["metrics"].values())


def test_sentiment_probabilities_sum_to_one_and_agree_with_the_label(mentions: list[dict]) -> None:
    labels = Counter(m["sentiment"]["label"] for m in mentions)
    assert set(labels) == {"negative", "neutral", "positive"}
    for mention in mentions:
        sentiment = mention["sentiment"]
        probs = sentiment["probs"]
        assert set(probs) == {"negative", "neutral", "positive"}
        assert math.isclose(sum(probs.values()), 1.0, abs_tol=1e-9)
        assert max(probs, key=probs.__getitem__) == sentiment["label"]


def test_keywords_occur_in_the_text_and_are_not_brand_names(mentions: list[dict]) -> None:
    brand_terms = {term.lower() for brand in BRANDS for term in brand.terms}
    for mention in mentions:
        keywords = mention["keywords"]
        assert 3 <= len(keywords) <= 6 and len(set(keywords)) == len(keywords)
        assert all(keyword in mention["text"] for keyword in keywords)
        assert not {k.lower() for k in keywords} & brand_terms


def test_simhash_is_sixteen_hex_digits(mentions: list[dict]) -> None:
    assert all(re.fullmatch(r"[0-9a-f]{16}", m["simhash"]) for m in mentions)


def test_mentions_validate_as_the_store_model(mentions: list[dict]) -> None:
    model = pytest.importorskip("store.model")
    for mention in mentions[::50]:
        assert model.Mention.model_validate(mention).id == mention["id"]


# ------------------------------------------------------------------------------ realistic shape


def brand_shares(mentions: list[dict]) -> dict[str, float]:
    counts = Counter(name for m in mentions for name in m["brands"])
    return {brand.name: counts[brand.name] / len(mentions) for brand in BRANDS}


def test_one_big_brand_a_long_tail_and_some_chatter(mentions: list[dict]) -> None:
    shares = brand_shares(mentions)
    others = sorted((share for name, share in shares.items() if name != BIG_BRAND), reverse=True)
    assert 0.34 < shares[BIG_BRAND] < 0.48
    assert shares[BIG_BRAND] > 1.8 * others[0]
    assert all(0.04 < share < 0.25 for share in others)
    chatter = sum(not m["brands"] for m in mentions) / len(mentions)
    assert 0.10 < chatter < 0.20


def test_daily_rhythm_is_quiet_at_night_and_peaks_at_lunch_and_evening(mentions: list[dict]) -> None:
    per_hour = Counter(created(m).hour for m in mentions)
    night = statistics.mean(per_hour[h] for h in range(2, 7))
    lunch = statistics.mean(per_hour[h] for h in (12, 13))
    evening = statistics.mean(per_hour[h] for h in (20, 21))
    assert lunch > 4 * night and evening > 4 * night


def test_the_incident_burst_stands_out(mentions: list[dict]) -> None:
    # Big-brand mentions per day: (all, negative).
    days: dict[datetime, list[int]] = defaultdict(lambda: [0, 0])
    for mention in mentions:
        if BIG_BRAND in mention["brands"]:
            day = days[created(mention).replace(hour=0, minute=0, second=0)]
            day[0] += 1
            day[1] += mention["sentiment"]["label"] == "negative"

    def negative_share(selected: list[list[int]]) -> float:
        return sum(n for _, n in selected) / sum(a for a, _ in selected)

    recent = END - timedelta(days=6)
    baseline = [counts for day, counts in days.items() if day < recent - timedelta(days=3)]
    worst_day = max((day for day in days if day >= recent), key=lambda day: days[day][1])  # most complaints
    assert negative_share([days[worst_day]]) > 2 * negative_share(baseline)
    assert days[worst_day][0] > 2 * statistics.median(all_ for all_, _ in baseline)
    burst_texts = [m["text"] for m in mentions if created(m).date() == worst_day.date()]
    assert any("刹车失灵" in text for text in burst_texts)


def test_a_copy_paste_wave_comes_from_many_small_accounts_within_an_hour(mentions: list[dict]) -> None:
    by_simhash: dict[str, list[dict]] = defaultdict(list)
    for mention in mentions:
        if "parent_id" not in mention:
            by_simhash[mention["simhash"]].append(mention)
    wave = max(by_simhash.values(), key=len)
    assert len(wave) >= 10
    assert len({m["author"]["id"] for m in wave}) > 0.6 * len(wave)
    assert all(m["author"]["followers"] < 100 for m in wave)
    assert max(map(created, wave)) - min(map(created, wave)) < timedelta(hours=1)
    assert len({m["text"] for m in wave}) > 1  # tiny variations, one fingerprint


def test_big_accounts_post_about_every_brand(mentions: list[dict]) -> None:
    covered = {b for m in mentions if m["author"]["followers"] >= 500_000 for b in m["brands"]}
    assert covered == {brand.name for brand in BRANDS}


def test_reposts_quote_an_earlier_mention_with_a_chain(mentions: list[dict]) -> None:
    by_id = {m["id"]: m for m in mentions}
    reposts = [m for m in mentions if "parent_id" in m]
    assert len(reposts) > 0.03 * len(mentions)
    assert any(m["text"].count("//@") >= 2 for m in reposts)
    for repost in reposts:
        parent = by_id[repost["parent_id"]]
        assert created(parent) <= created(repost)
        assert repost["text"].endswith(f"//@{parent['author']['name']}:{parent['text']}")


# ---------------------------------------------------------------------------- brands and watchlist


def test_brand_profiles_are_complete() -> None:
    names = [brand.name for brand in BRANDS]
    assert len(names) == len(set(names)) == 5
    for brand in BRANDS:
        assert brand.latin.isascii() and brand.latin.isalpha()
        assert brand.products and brand.aliases is not None
        assert len(set(brand.competitors)) == 2 and set(brand.competitors) <= set(names) - {brand.name}


def test_demo_watchlist_has_one_entry_per_brand_in_the_query_language() -> None:
    watchlist = demo_watchlist()
    assert [entry["name"] for entry in watchlist] == [brand.name for brand in BRANDS]
    for entry, brand in zip(watchlist, BRANDS, strict=True):
        assert set(entry) == {"name", "query"}
        assert brand.name in entry["query"] and brand.latin in entry["query"] and " OR " in entry["query"]


def test_brands_agree_with_the_watchlist_matcher(mentions: list[dict]) -> None:
    query = pytest.importorskip("fengxiang.query")
    watchlist = [(entry["name"], query.parse(entry["query"])) for entry in demo_watchlist()]
    for mention in mentions:
        expected = {name for name, parsed in watchlist if parsed.matches(mention["text"])}
        assert set(mention["brands"]) == expected, mention["text"]
    # The near misses are there and stay unmatched: job ads (NOT 招聘), 梦想启航, 快马加鞭.
    texts = {m["text"]: m["brands"] for m in mentions}
    assert any("招聘" in text and BIG_BRAND in text and not brands for text, brands in texts.items())
    assert any("快马加鞭" in text and not brands for text, brands in texts.items())


# ------------------------------------------------------------------------------------------ jsonl


def test_write_jsonl_writes_one_object_per_line(tmp_path) -> None:
    sample = list(generate_mentions(300, seed=5, end=END))
    path = tmp_path / "mentions.jsonl"
    assert write_jsonl(path, iter(sample)) == 300
    lines = path.read_bytes().splitlines()
    assert [orjson.loads(line) for line in lines] == sample
    assert "启航".encode() in path.read_bytes()  # UTF-8, not \\u escapes
