"""The Store contract: every backend must pass these (see the `store` fixture in conftest)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta

import pytest

from fengxiang.query import parse
from fengxiang.textmatch import fold
from store.base import AuthorPost, MentionFilter, SourceHealth, Window
from store.model import Author, author_key
from tests.conftest import SHANGHAI, make_mention

DAY0 = datetime(2026, 11, 1, tzinfo=SHANGHAI)


def at(day: int, hour: int = 12, minute: int = 0) -> datetime:
    return DAY0 + timedelta(days=day, hours=hour, minutes=minute)


def window(since: datetime, until: datetime, brand: str | None = None) -> Window:
    return Window(since=since, until=until, brand=brand)


def everything(brand: str | None = None) -> Window:
    return window(at(-400), at(400), brand)


def test_upsert_is_idempotent_and_counts_new_and_updated(store):
    mentions = [make_mention(f"蔚来 第{i}条", created_at=at(i % 5)) for i in range(10)]
    first = store.upsert(mentions)
    again = store.upsert(mentions)
    assert (first.inserted, first.updated) == (10, 0)
    assert (again.inserted, again.updated) == (0, 10)
    assert store.counts(everything()).total == 10


def test_the_last_copy_of_an_id_in_one_batch_wins(store):
    early = make_mention("旧的", id="weibo:1", metrics={"likes": 1})
    late = make_mention("新的", id="weibo:1", metrics={"likes": 99})
    assert store.upsert([early, late]).inserted == 1
    assert store.get("weibo:1").metrics.likes == 99


def test_a_recrawl_refreshes_metrics_text_and_analysis(store):
    original = make_mention(
        "蔚来 刹车 有问题",
        id="weibo:7",
        brands=["蔚来"],
        keywords=["刹车"],
        sentiment={"label": "negative"},
        metrics={"likes": 1},
    )
    store.upsert([original])
    refreshed = make_mention(
        "蔚来 理想 都不错",
        id="weibo:7",
        brands=["蔚来", "理想"],
        keywords=["不错"],
        sentiment={"label": "positive"},
        metrics={"likes": 500, "reposts": 20},
    )
    store.upsert([refreshed])

    got = store.get("weibo:7")
    assert got.text == "蔚来 理想 都不错" and got.engagement == 520
    assert store.counts(everything("蔚来")).by_sentiment == {"positive": 1}
    assert store.counts(everything("理想")).total == 1
    assert store.top_keywords(everything("蔚来")) == [("不错", 1)]
    assert store.search(MentionFilter(text=parse("刹车"))).items == []
    assert [m.id for m in store.search(MentionFilter(text=parse("理想"))).items] == ["weibo:7"]


def test_dropping_a_brand_on_reanalysis_removes_the_mention_from_it(store):
    store.upsert([make_mention("x", id="weibo:8", brands=["蔚来"], keywords=["x"])])
    store.upsert([make_mention("x", id="weibo:8", brands=[], keywords=["x"])])
    assert store.counts(everything("蔚来")).total == 0
    assert store.top_keywords(everything("蔚来")) == []
    assert store.counts(everything()).total == 1


def test_get_round_trips_every_field_including_unknown_ones(store):
    mention = make_mention(
        "蔚来",
        id="weibo:9",
        url="https://m.weibo.cn/detail/9",
        parent_id="weibo:1",
        keywords=["服务"],
        brands=["蔚来"],
        simhash="00ff00ff00ff00ff",
        region_name="上海",
        sentiment={"label": "neutral", "probs": {"negative": 0.1, "neutral": 0.8, "positive": 0.1}},
    )
    store.upsert([mention])
    got = store.get("weibo:9")
    assert got.to_json_dict() == mention.to_json_dict()
    assert got.model_extra == {"region_name": "上海"}
    assert got.created_at == mention.created_at and got.created_at.utcoffset() == timedelta(hours=8)
    assert store.get("weibo:404") is None


def _seed(store, count: int = 120, seed: int = 3) -> list:
    rng = random.Random(seed)
    mentions = [
        make_mention(
            rng.choice(["蔚来 刹车", "NIO 续航", "理想 服务", "小鹏 价格", "onion 汤"]) + f" #{i}",
            created_at=at(rng.randrange(0, 20), rng.randrange(24), rng.randrange(60)),
            platform=rng.choice(["weibo", "bilibili"]),
            brands=rng.choice([["蔚来"], ["理想"], ["蔚来", "理想"], []]),
            sentiment=rng.choice([{"label": "negative"}, {"label": "positive"}, None]),
            keywords=rng.sample(["刹车", "续航", "服务", "价格", "客服"], rng.randrange(0, 4)),
            metrics={"likes": rng.randrange(1000), "reposts": rng.randrange(50)},
            author={"id": f"weibo:{rng.randrange(15)}", "name": "某人", "followers": rng.randrange(10**6)},
        )
        for i in range(count)
    ]
    for i in range(0, count, 25):
        store.upsert(mentions[i : i + 25])
    return mentions


def _expected(mentions, where: MentionFilter) -> list:
    def keep(m) -> bool:
        return (
            (where.brand is None or where.brand in m.brands)
            and (where.since is None or m.created_at >= where.since)
            and (where.until is None or m.created_at < where.until)
            and (not where.sentiments or (m.sentiment_label or "unlabeled") in where.sentiments)
            and (not where.platforms or m.platform in where.platforms)
            and (where.text is None or where.text.matches(m.text))
        )

    return [m for m in mentions if keep(m)]


FILTERS = [
    MentionFilter(),
    MentionFilter(brand="蔚来"),
    MentionFilter(brand="理想", since=at(5), until=at(12)),
    MentionFilter(sentiments=("negative", "unlabeled")),
    MentionFilter(platforms=("bilibili",), sentiments=("positive",)),
    MentionFilter(text=parse("NIO OR 刹车")),
    MentionFilter(brand="蔚来", text=parse("nio -续航")),
]


@pytest.mark.parametrize("where", FILTERS, ids=lambda f: repr(f)[:60])
@pytest.mark.parametrize("sort", ["time", "engagement"])
def test_search_pages_cover_every_match_once_in_order(store, where, sort):
    mentions = _seed(store)
    expected = _expected(mentions, where)
    seen, cursor = [], None
    while True:
        page = store.search(where, sort=sort, limit=7, cursor=cursor)
        seen += page.items
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(m.id for m in seen) == sorted(m.id for m in expected)
    keys = [m.created_at if sort == "time" else m.engagement for m in seen]
    assert keys == sorted(keys, reverse=True)


def test_a_cursor_from_another_sort_order_is_refused(store):
    _seed(store, 20)
    cursor = store.search(MentionFilter(), sort="time", limit=5).next_cursor
    with pytest.raises(ValueError, match="sorted by engagement"):
        store.search(MentionFilter(), sort="engagement", cursor=cursor)


def test_iter_mentions_yields_all_matches_oldest_first(store):
    mentions = _seed(store)
    where = MentionFilter(brand="蔚来")
    got = list(store.iter_mentions(where))
    assert sorted(m.id for m in got) == sorted(m.id for m in _expected(mentions, where))
    assert [m.created_at for m in got] == sorted(m.created_at for m in got)


def test_text_search_agrees_with_the_python_matcher(store):
    texts = ["NIO ES8 到了", "onion soup", "蔚来NIO汽车", "小米SU7", "小米SU70", "ｎｉｏ全角", "nio2"]
    store.upsert([make_mention(text, id=f"weibo:{i}") for i, text in enumerate(texts)])
    for query in ["NIO", "小米su7", "蔚来 OR onion", "nio -蔚来", '"su7"', "车"]:
        parsed = parse(query)
        found = {m.text for m in store.search(MentionFilter(text=parsed), limit=100).items}
        assert found == {t for t in texts if parsed.matches(t)}, query


def test_counts_split_by_sentiment_and_platform(store):
    mentions = _seed(store)
    w = window(at(3), at(15), "蔚来")
    expected = _expected(mentions, MentionFilter(brand="蔚来", since=w.since, until=w.until))
    counts = store.counts(w)
    assert counts.total == len(expected)
    assert counts.by_sentiment == dict(Counter(m.sentiment_label or "unlabeled" for m in expected))
    assert counts.by_platform == dict(Counter(m.platform for m in expected))
    assert counts.engagement == sum(m.engagement for m in expected)


def test_histogram_buckets_are_local_days_and_zero_filled(store):
    late_evening = at(2, 23, 30)  # 15:30 UTC, still the 3rd in Shanghai
    store.upsert(
        [
            make_mention("a", created_at=late_evening, sentiment={"label": "negative"}),
            make_mention("b", created_at=at(2, 0, 5)),
            make_mention("c", created_at=at(4, 8), platform="bilibili"),
        ]
    )
    days = store.histogram(window(at(1, 0), at(6, 0)), interval="day", split="sentiment")
    assert [b.start for b in days] == [at(d, 0) for d in range(1, 6)]
    assert [b.total for b in days] == [0, 2, 0, 1, 0]
    assert days[1].split == {"negative": 1, "unlabeled": 1}
    hours = store.histogram(window(at(2, 22), at(3, 1)), interval="hour", split="platform")
    assert [(b.start.hour, b.total) for b in hours] == [(22, 0), (23, 1), (0, 0)]
    assert store.histogram(window(at(4, 0), at(5, 0)), split="platform")[0].split == {"bilibili": 1}


def test_top_keywords_are_exact_over_partial_days(store):
    mentions = _seed(store, 200)
    # reanalysis changes keywords of a few: the rollup must follow
    changed = [m.model_copy(update={"keywords": ["召回"]}) for m in mentions[:30]]
    store.upsert(changed)
    current = {m.id: m for m in [*mentions, *changed]}.values()
    for brand, since, until in [
        (None, at(0), at(20)),
        ("蔚来", at(2, 13, 7), at(9, 4, 59)),
        ("理想", at(5, 1), at(5, 23)),
        (None, at(3, 0), at(4, 0)),
    ]:
        expected = Counter(
            word
            for m in current
            if (brand is None or brand in m.brands) and since <= m.created_at < until
            for word in m.keywords
        )
        got = store.top_keywords(window(since, until, brand), limit=50)
        assert dict(got) == dict(expected)
        assert [n for _, n in got] == sorted((n for _, n in got), reverse=True)


def test_top_authors_rank_by_mentions_and_show_the_newest_profile(store):
    author = {"id": "weibo:42", "name": "车评人老李", "followers": 10}
    store.upsert([make_mention(f"蔚来 {i}", author=author) for i in range(3)])
    store.upsert([make_mention("蔚来 again", author={**author, "followers": 2_000_000, "verified": True})])
    store.upsert([make_mention("蔚来 other", author={"id": "weibo:7", "name": "路人"})])
    top = store.top_authors(everything())
    assert [(a.author.id, a.mentions) for a in top] == [("weibo:42", 4), ("weibo:7", 1)]
    assert top[0].author.followers == 2_000_000 and top[0].author.verified is True
    assert top[0].author.name == "车评人老李"


def test_crawl_cursors_are_kept_per_source_and_key(store):
    assert store.get_cursor("weibo", "q=蔚来") is None
    store.set_cursor("weibo", "q=蔚来", "page=3")
    store.set_cursor("weibo", "q=蔚来", "page=4")
    store.set_cursor("bilibili", "q=蔚来", "page=1")
    assert store.get_cursor("weibo", "q=蔚来") == "page=4"
    assert store.get_cursor("bilibili", "q=蔚来") == "page=1"


def test_latest_health_shows_the_newest_record_of_each_source(store):
    store.record_health(SourceHealth("weibo", at(1), at(1, 0, 1), "ok", items=30))
    store.record_health(SourceHealth("weibo", at(2), at(2, 0, 1), "failed", error="HTTP 418", detail={"page": 2}))
    store.record_health(SourceHealth("bilibili", at(1), at(1, 0, 2), "degraded", items=3))
    latest = {h.source: h for h in store.latest_health()}
    assert latest["weibo"].status == "failed" and latest["weibo"].error == "HTTP 418"
    assert latest["weibo"].detail == {"page": 2} and latest["weibo"].finished_at == at(2, 0, 1)
    assert latest["bilibili"].items == 3


def test_folded_text_is_what_queries_see(store):
    store.upsert([make_mention("ＮＩＯ\u200b全新 ES8")])
    assert fold("ＮＩＯ\u200b全新 ES8") == "nio全新 es8"
    assert store.search(MentionFilter(text=parse("nio全新"))).items


WINDOWS = [(at(0), at(20)), (at(2, 13, 7), at(9, 4, 59)), (at(5, 1, 30), at(5, 1, 45)), (at(3), at(4))]


@pytest.mark.parametrize(("since", "until"), WINDOWS)
@pytest.mark.parametrize("brand", [None, "蔚来"])
def test_counts_and_trends_are_exact_for_any_window_after_refreshes(store, since, until, brand):
    mentions = _seed(store, 200)
    # a re-crawl refreshes engagement and a re-analysis flips sentiment and brands of some posts
    refreshed = [
        m.model_copy(
            update={
                "metrics": m.metrics.model_copy(update={"likes": 7}),
                "sentiment": None,
                "brands": ["理想"],
            }
        )
        for m in mentions[:40]
    ]
    store.upsert(refreshed)
    current = list({m.id: m for m in [*mentions, *refreshed]}.values())
    expected = _expected(current, MentionFilter(brand=brand, since=since, until=until))

    counts = store.counts(window(since, until, brand))
    assert counts.total == len(expected)
    assert counts.engagement == sum(m.engagement for m in expected)
    assert counts.by_sentiment == dict(Counter(m.sentiment_label or "unlabeled" for m in expected))
    hours = store.histogram(window(since, until, brand), interval="hour", split="platform")
    assert sum(b.total for b in hours) == len(expected)
    for bucket in hours:
        in_bucket = [m for m in expected if bucket.start <= m.created_at < bucket.start + timedelta(hours=1)]
        assert bucket.split == {k: v for k, v in Counter(m.platform for m in in_bucket).items()}


@pytest.mark.parametrize("brand", [None, "蔚来"])
def test_a_purge_leaves_exactly_the_mentions_from_the_cutoff_on(store, brand):
    mentions = _seed(store, 200)
    refreshed = [
        m.model_copy(update={"sentiment": None, "brands": ["蔚来"], "keywords": ["召回"]}) for m in mentions[:50]
    ]
    store.upsert(refreshed)
    current = list({m.id: m for m in [*mentions, *refreshed]}.values())
    cutoff = at(8, 5, 17)
    report = store.purge(mentions_before=cutoff, health_before=None, outbox_before=None, batch=13)
    assert report.mentions == sum(m.created_at < cutoff for m in current)
    expected = _expected(current, MentionFilter(brand=brand, since=cutoff))
    counts = store.counts(window(at(-1), at(21), brand))
    assert (counts.total, counts.engagement) == (len(expected), sum(m.engagement for m in expected))
    words = Counter(word for m in expected for word in m.keywords)
    assert store.keyword_counts(window(at(-1), at(21), brand), ["召回", "刹车"]) == {
        w: words[w] for w in ["召回", "刹车"]
    }
    assert [m.id for m in store.iter_mentions(MentionFilter(brand=brand))] == [
        m.id for m in sorted(expected, key=lambda m: m.created_at)
    ]
    assert store.counts(window(at(-1), cutoff, brand)).total == 0


@pytest.mark.parametrize(("since", "until"), WINDOWS)
def test_top_authors_match_a_brute_force_ranking(store, since, until):
    mentions = _seed(store, 200)
    expected = _expected(mentions, MentionFilter(brand="蔚来", since=since, until=until))
    tally: dict[str, list[int]] = {}
    for m in expected:
        tally.setdefault(m.author.id, [0, 0])
        tally[m.author.id][0] += 1
        tally[m.author.id][1] += m.engagement
    ranked = sorted(tally.items(), key=lambda item: (-item[1][0], -item[1][1]))[:5]
    got = store.top_authors(window(since, until, "蔚来"), limit=5)
    assert [(a.mentions, a.engagement) for a in got] == [tuple(v) for _, v in ranked]


# -- keyword counts and the corpus' document frequencies (nlp: rising words, learned IDF) ----------------------------

KEYWORD_WINDOWS = [
    (None, at(0), at(20)),
    ("蔚来", at(2, 13, 7), at(9, 4, 59)),  # partial days at both ends
    ("理想", at(5, 1), at(5, 23)),  # inside one day
    (None, at(3, 0), at(4, 0)),  # exactly one local day
    (None, at(-3), at(-1)),  # nothing there
]


@pytest.mark.parametrize(("brand", "since", "until"), KEYWORD_WINDOWS)
def test_keyword_counts_count_only_the_asked_words_exactly(store, brand, since, until):
    mentions = _seed(store, 200)
    changed = [m.model_copy(update={"keywords": ["召回", "刹车"]}) for m in mentions[:30]]
    store.upsert(changed)  # reanalysis: the counts must follow
    current = {m.id: m for m in [*mentions, *changed]}.values()
    expected = Counter(
        word
        for m in current
        if (brand is None or brand in m.brands) and since <= m.created_at < until
        for word in m.keywords
    )
    words = ["刹车", "召回", "客服", "从没出现过"]
    got = store.keyword_counts(window(since, until, brand), words)
    assert got == {word: expected[word] for word in words}
    assert got["从没出现过"] == 0
    assert store.keyword_counts(window(since, until, brand), []) == {}
    # the same numbers as top_keywords for the words both report
    top = dict(store.top_keywords(window(since, until, brand), limit=100))
    assert {word: n for word, n in got.items() if n} == {word: top[word] for word in words if word in top}


def test_keyword_counts_respect_the_window_edges_to_the_second(store):
    store.upsert(
        [
            make_mention("a", created_at=at(3, 0, 0), keywords=["刹车"]),
            make_mention("b", created_at=at(3, 23, 59), keywords=["刹车", "异响"]),
            make_mention("c", created_at=at(4, 0, 0), keywords=["刹车"]),
            make_mention("d", created_at=at(4, 12, 0), keywords=["异响"], brands=["蔚来"]),
        ]
    )
    assert store.keyword_counts(window(at(3), at(4)), ["刹车", "异响"]) == {"刹车": 2, "异响": 1}
    assert store.keyword_counts(window(at(3, 0, 1), at(4, 0, 1)), ["刹车"]) == {"刹车": 2}
    assert store.keyword_counts(window(at(3), at(5), "蔚来"), ["刹车", "异响"]) == {"刹车": 0, "异响": 1}


def test_document_frequencies_are_empty_on_a_new_store(store):
    assert store.document_frequencies() == ({}, 0)


def test_saving_document_frequencies_replaces_the_previous_ones(store):
    store.save_document_frequencies({"刹车": 3, "续航": 2, "ｎｉｏ全角": 2}, 10)
    assert store.document_frequencies() == ({"刹车": 3, "续航": 2, "ｎｉｏ全角": 2}, 10)
    many = {f"词{i}": i + 2 for i in range(5_000)}
    store.save_document_frequencies(many, 12_000)
    assert store.document_frequencies() == (many, 12_000)  # 刹车 and 续航 are gone
    store.save_document_frequencies({}, 0)
    assert store.document_frequencies() == ({}, 0)


# -- authors and influence (kol/): posts, profiles, names, earlier mentions -------------------------------------------


def test_author_posts_are_the_windows_mentions_oldest_first_to_the_second(store):
    since, until = at(3, 8), at(4, 8)
    root = {"id": "5566778899", "name": "车评研究所", "followers": 1_800_000}  # no prefix: the post's platform is added
    store.upsert(
        [
            make_mention("蔚来 太早", id="weibo:1", brands=["蔚来"], created_at=since - timedelta(seconds=1)),
            make_mention(
                "转发一下//@车评研究所:蔚来 刹车有异响",
                id="weibo:2",
                brands=["蔚来"],
                created_at=since,
                parent_id="weibo:100",
                parent_author=root,
                metrics={"reposts": 5, "comments": 6, "likes": 7},
                sentiment={"label": "negative"},
                simhash="00ff00ff00ff00ff",
            ),
            make_mention("蔚来 同一秒", id="weibo:3", brands=["蔚来"], created_at=since, author=None),
            make_mention("理想 不算", id="weibo:4", brands=["理想"], created_at=at(3, 12)),
            make_mention(
                "蔚来 同问",
                id="weibo:c5",
                brands=["蔚来"],
                created_at=until - timedelta(seconds=1),
                parent_id="weibo:2",
                author={"id": "weibo:2002", "name": "路人"},
                metrics={"likes": 2},
            ),
            make_mention("蔚来 太晚", id="weibo:6", brands=["蔚来"], created_at=until),
        ]
    )
    posts = store.author_posts(window(since, until, "蔚来"))
    assert [p.mention_id for p in posts] == ["weibo:2", "weibo:3", "weibo:c5"]  # same second: stored order
    repost, anonymous, comment = posts
    assert repost == AuthorPost(
        mention_id="weibo:2",
        platform="weibo",
        author_id="weibo:1001",
        created_at=since,
        reposts=5,
        comments=6,
        likes=7,
        sentiment="negative",
        simhash="00ff00ff00ff00ff",
        parent_id="weibo:100",
        parent_author_id="weibo:5566778899",
        text="转发一下//@车评研究所:蔚来 刹车有异响",
    )
    assert repost.created_at.utcoffset() == timedelta(hours=8)
    assert anonymous.author_id is None and anonymous.parent_id is None and anonymous.text is None
    assert (comment.author_id, comment.parent_id, comment.parent_author_id) == ("weibo:2002", "weibo:2", None)
    assert (comment.reposts, comment.comments, comment.likes) == (0, 0, 2)
    assert comment.sentiment is None and comment.simhash is None
    assert comment.text is None  # not a repost: the text stays in the store
    every_brand = store.author_posts(window(at(3, 0), at(3, 12, 1)))
    assert [p.mention_id for p in every_brand] == ["weibo:1", "weibo:2", "weibo:3", "weibo:4"]


@pytest.mark.parametrize(("brand", "since", "until", "platforms"), [
    (None, at(0), at(20), ()),
    ("蔚来", at(2, 13, 7), at(9, 4, 59), ()),
    ("理想", at(5, 1), at(12, 23), ("bilibili",)),
    (None, at(-3), at(-1), ()),
])  # fmt: skip
def test_author_posts_match_a_brute_force_filter(store, brand, since, until, platforms):
    mentions = _seed(store, 200)
    expected = _expected(mentions, MentionFilter(brand=brand, since=since, until=until, platforms=platforms))
    order = {m.id: i for i, m in enumerate(mentions)}  # _seed stores them in this order
    expected.sort(key=lambda m: (m.created_at, order[m.id]))
    posts = store.author_posts(Window(since, until, brand, platforms))
    assert [(p.mention_id, p.author_id, p.created_at) for p in posts] == [
        (m.id, author_key(m), m.created_at) for m in expected
    ]
    assert [(p.reposts, p.comments, p.likes) for p in posts] == [
        (m.metrics.reposts, m.metrics.comments, m.metrics.likes) for m in expected
    ]


def test_a_later_crawl_refreshes_an_authors_profile_and_keeps_the_fields_it_lacks(store):
    store.upsert([make_mention("a", author={"id": "weibo:42", "name": "老李", "followers": 10, "location": "上海"})])
    store.upsert(
        [make_mention("b", author={"id": "weibo:42", "name": "老李说车", "followers": 2_000, "verified": True})]
    )
    assert store.author_profiles(["weibo:42", "weibo:404"]) == {
        "weibo:42": Author(id="weibo:42", name="老李说车", followers=2_000, verified=True, location="上海")
    }
    assert store.author_ids_by_name("weibo", ["老李说车", "老李"]) == {"老李说车": "weibo:42"}
    assert store.author_profiles([]) == {} and store.author_ids_by_name("weibo", []) == {}


def test_a_reposted_roots_author_becomes_a_stored_profile(store):
    root = {"id": "weibo:77", "name": "车评研究所", "followers": 1_800_000, "verified": True, "verified_type": 3}
    store.upsert([make_mention("转发//@车评研究所:蔚来", parent_id="weibo:9", parent_author=root)])
    assert store.author_profiles(["weibo:77"]) == {"weibo:77": Author(**root)}
    assert store.author_ids_by_name("weibo", ["车评研究所", "没人叫这个"]) == {"车评研究所": "weibo:77"}
    assert store.author_ids_by_name("bilibili", ["车评研究所"]) == {}
    # the root's author posted nothing here
    assert [a.author.id for a in store.top_authors(everything())] == ["weibo:1001"]


def test_a_posts_own_author_wins_over_the_same_author_quoted_in_one_batch(store):
    own = {"id": "weibo:77", "name": "车评研究所", "followers": 500}
    quoted = {"id": "weibo:77", "name": "车评研究所", "followers": 400}
    store.upsert([make_mention("原帖", author=own), make_mention("转发//@车评研究所:原帖", parent_author=quoted)])
    assert store.author_profiles(["weibo:77"])["weibo:77"].followers == 500


def test_many_author_keys_and_names_are_looked_up_at_once(store):
    authors = [{"id": f"weibo:{i}", "name": f"用户{i}"} for i in range(1_200)]
    store.upsert([make_mention(f"蔚来 {i}", author=author) for i, author in enumerate(authors)])
    keys = [author["id"] for author in authors]
    assert set(store.author_profiles([*keys, "weibo:nobody"])) == set(keys)
    names = store.author_ids_by_name("weibo", [author["name"] for author in authors])
    assert names == {author["name"]: author["id"] for author in authors}


@pytest.mark.parametrize("before", [at(0), at(5, 13, 7), at(9), at(19, 23, 59), at(30)])
def test_earlier_mention_counts_match_a_brute_force_count(store, before):
    mentions = _seed(store, 200)
    refreshed = [m.model_copy(update={"brands": ["理想"]}) for m in mentions[:40]]  # reanalysis drops 蔚来
    store.upsert(refreshed)
    current = list({m.id: m for m in [*mentions, *refreshed]}.values())
    keys = [f"weibo:{i}" for i in range(15)] + [f"weibo:unknown{i}" for i in range(600)]
    for cut in (before, mentions[7].created_at):  # a cut at a post's very second leaves that post out
        expected = Counter(m.author.id for m in current if "蔚来" in m.brands and m.created_at < cut)
        assert store.earlier_mention_counts("蔚来", keys, cut) == {key: expected[key] for key in keys}


def test_earlier_mention_counts_stop_at_before_to_the_second(store):
    author, before, second = {"id": "weibo:8", "name": "车主"}, at(3, 9, 30), timedelta(seconds=1)
    store.upsert(
        [
            make_mention("蔚来 一", author=author, brands=["蔚来"], created_at=before - second),
            make_mention("蔚来 二", author=author, brands=["蔚来"], created_at=before),
            make_mention("理想", author=author, brands=["理想"], created_at=at(1)),
        ]
    )
    assert store.earlier_mention_counts("蔚来", ["weibo:8"], before) == {"weibo:8": 1}
    assert store.earlier_mention_counts("蔚来", ["weibo:8"], before + second) == {"weibo:8": 2}
    assert store.earlier_mention_counts("快马外卖", ["weibo:8", "weibo:9"], at(9)) == {"weibo:8": 0, "weibo:9": 0}
