"""The watchlist editor's backend: live query checks, match previews and the safe YAML write-back."""

from __future__ import annotations

import hashlib
import os
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from fengxiang.config import load_config
from fengxiang.query import parse
from fengxiang.watchlist_edit import (
    ConfigConflictError,
    ConfigEditError,
    check_query,
    preview_query,
    read_watchlist,
    save_watchlist,
)
from store.base import MentionFilter
from store.sqlite import SQLiteStore
from tests.conftest import SHANGHAI, make_mention

# ---------------------------------------------------------------------------------- check_query


@pytest.mark.parametrize(
    ("query", "position", "caret_column"),
    [
        ("蔚来 AND (NIO", 7, 9),  # unclosed "(": two CJK characters are four columns wide
        ("蔚来 OR", 5, 7),  # nothing after OR: the caret sits at the end
        ("小米 )", 3, 5),  # unbalanced ")"
        ('"理想 L9', 0, 0),  # unterminated phrase
        ("（蔚来 OR NIO", 0, 0),  # a full-width "(" that is never closed
        ("蔚来汽车 AND AND 招聘", 9, 13),  # an operator where a term should be
    ],
)
def test_a_bad_query_points_at_the_problem(query: str, position: int, caret_column: int) -> None:
    check = check_query(query)

    assert not check.ok and check.query is None
    assert check.position == position
    assert check.message
    shown, caret = check.pointer.split("\n")
    assert shown == query
    assert caret == " " * caret_column + "^"


def test_a_query_over_several_lines_is_shown_on_one_line_with_the_caret_aligned() -> None:
    check = check_query("蔚来\nAND (")

    assert check.pointer.split("\n") == ["蔚来 AND (", " " * 10 + "^"]


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_an_empty_query_is_refused_with_a_clear_message(query: str) -> None:
    check = check_query(query)

    assert not check.ok
    assert "empty" in check.message
    assert check.position is None and check.pointer == ""


def test_a_query_of_only_negations_is_refused_like_the_config_refuses_it() -> None:
    check = check_query("NOT 招聘")

    assert not check.ok
    assert "not negated" in check.message


def test_a_good_query_comes_back_parsed() -> None:
    check = check_query("(蔚来 OR NIO) AND NOT 招聘")

    assert check.ok and check.message == "" and check.position is None
    assert check.query is not None
    assert check.query.matches("蔚来ES8 交付了") and not check.query.matches("蔚来招聘司机")


# -------------------------------------------------------------------------------- preview_query


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def sqlite_store(tmp_path: Path):
    store = SQLiteStore(tmp_path / "store.db")
    yield store
    store.close()


def test_the_preview_counts_matches_in_the_window_and_shows_the_newest_first(sqlite_store) -> None:
    matching = [make_mention(f"蔚来 ES8 第{day}天", created_at=at(day)) for day in (3, 5, 7, 9)]
    sqlite_store.upsert(
        [
            *matching,
            make_mention("蔚来招聘司机", created_at=at(6)),  # excluded by NOT
            make_mention("理想 L9 续航", created_at=at(6)),  # no term
            make_mention("蔚来 早一天", created_at=at(1)),  # before the window
            make_mention("蔚来 正好在结束时", created_at=at(10)),  # the window is half-open
        ]
    )

    preview = preview_query(sqlite_store, "(蔚来 OR NIO) AND NOT 招聘", since=at(2), until=at(10), limit=3)

    assert preview.check.ok
    assert (preview.count, preview.capped, preview.count_label) == (4, False, "4")
    assert [mention.text for mention in preview.newest] == ["蔚来 ES8 第9天", "蔚来 ES8 第7天", "蔚来 ES8 第5天"]


def test_the_preview_count_stops_at_the_cap(sqlite_store) -> None:
    sqlite_store.upsert([make_mention(f"小米 SU7 #{i}", created_at=at(5) + timedelta(minutes=i)) for i in range(7)])

    capped = preview_query(sqlite_store, "小米", since=at(1), until=at(20), limit=2, count_cap=5)
    exact = preview_query(sqlite_store, "小米", since=at(1), until=at(20), limit=2, count_cap=7)

    assert (capped.count, capped.capped, capped.count_label) == (5, True, "≥ 5")
    assert [mention.text for mention in capped.newest] == ["小米 SU7 #6", "小米 SU7 #5"]
    assert (exact.count, exact.capped, exact.count_label) == (7, False, "7")


def test_a_bad_query_previews_nothing_and_says_why(sqlite_store) -> None:
    sqlite_store.upsert([make_mention("蔚来", created_at=at(5))])

    preview = preview_query(sqlite_store, "蔚来 AND (", since=at(1), until=at(20))

    assert not preview.check.ok and preview.check.position == 8
    assert (preview.count, preview.newest) == (0, ())


@pytest.mark.parametrize("count_cap", [3, 6, 50])
@pytest.mark.parametrize("query", ["蔚来 AND NOT 招聘", "NIO", "蔚来 OR 理想"])
def test_the_preview_agrees_with_a_full_search(sqlite_store, query: str, count_cap: int) -> None:
    texts = ["蔚来 ES8", "NIO 换电", "蔚来招聘", "理想 L9", "onion 汤", "蔚来NIO", "理想汽车"]
    sqlite_store.upsert(
        [make_mention(f"{text} #{i}", created_at=at(3 + i % 7, i % 24)) for i, text in enumerate(texts * 3)]
    )

    preview = preview_query(sqlite_store, query, since=at(4), until=at(9), limit=4, count_cap=count_cap)
    everything = sqlite_store.search(MentionFilter(since=at(4), until=at(9), text=parse(query)), limit=1000).items

    assert (preview.count, preview.capped) == (min(len(everything), count_cap), len(everything) > count_cap)
    assert [mention.id for mention in preview.newest] == [mention.id for mention in everything[:4]]


def test_a_count_that_runs_out_of_time_is_a_lower_bound(sqlite_store) -> None:
    sqlite_store.upsert([make_mention(f"蔚来 招聘 #{i}", created_at=at(5) + timedelta(minutes=i)) for i in range(300)])

    preview = preview_query(sqlite_store, "蔚来 AND NOT 招聘", since=at(1), until=at(20), budget_ms=0)

    assert preview.timed_out and not preview.exact
    assert preview.count_label == f"≥ {preview.count}"


# ------------------------------------------------------------------------- read / save watchlist

CONFIG = """\
# 风向 config — 团队共用 / shared by the team
store: sqlite:///data/fengxiang.db

# 监测清单 / the watchlist
watchlist:
  - name: 蔚来   # 我们自己 / our brand
    query: '(蔚来 OR NIO) AND NOT 招聘'
    competitors: [理想]

  # 主要竞品 / the main competitor
  - name: 理想
    # “理想”是常用词 / a common word: models only
    query: 理想汽车 OR 理想L9
    competitors: ['${RIVAL}']

sources:
  weibo:
    cookie: ${WEIBO_COOKIE}   # a secret, from the environment

alerts:
  channels:
    - type: wecom
      webhook: ${WEBHOOK}
"""
WEBHOOK = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=TOPSECRET-4f1c9a"
ENV = {"RIVAL": "蔚来", "WEIBO_COOKIE": "SUB=cookie-secret-value", "WEBHOOK": WEBHOOK}


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "fengxiang.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    path.chmod(0o600)
    return path


def save(path: Path, entries: list[dict], **kwargs):
    fingerprint = kwargs.pop("fingerprint", None) or read_watchlist(path).fingerprint
    return save_watchlist(path, entries, expected_fingerprint=fingerprint, environ=kwargs.pop("environ", ENV))


def test_reading_gives_the_entries_as_written_and_a_fingerprint_of_the_bytes(config_file: Path) -> None:
    document = read_watchlist(config_file)

    assert document.entries == [
        {"name": "蔚来", "query": "(蔚来 OR NIO) AND NOT 招聘", "competitors": ["理想"]},
        {"name": "理想", "query": "理想汽车 OR 理想L9", "competitors": ["${RIVAL}"]},  # not expanded
    ]
    assert document.fingerprint == hashlib.sha256(config_file.read_bytes()).hexdigest()


def test_saving_the_same_entries_changes_no_byte(config_file: Path) -> None:
    save(config_file, read_watchlist(config_file).entries)

    assert config_file.read_text(encoding="utf-8") == CONFIG


def test_an_edited_query_changes_only_its_own_line(config_file: Path) -> None:
    entries = read_watchlist(config_file).entries
    entries[1]["query"] = "理想汽车 OR 理想L9 OR 理想MEGA"

    document = save(config_file, entries)

    expected = CONFIG.replace("query: 理想汽车 OR 理想L9\n", "query: 理想汽车 OR 理想L9 OR 理想MEGA\n")
    assert config_file.read_text(encoding="utf-8") == expected
    assert document.entries[1]["query"] == "理想汽车 OR 理想L9 OR 理想MEGA"
    assert document.fingerprint == hashlib.sha256(config_file.read_bytes()).hexdigest()
    assert load_config(config_file, environ=ENV).entry_named("理想").parsed_query.matches("理想MEGA 来了")


def test_a_changed_entry_keeps_its_comments_and_quoting(config_file: Path) -> None:
    entries = read_watchlist(config_file).entries
    entries[0]["query"] = "(蔚来 OR NIO OR 李斌) AND NOT 招聘"
    entries[0]["official_accounts"] = ["蔚来", "NIO蔚来汽车"]

    save(config_file, entries)

    text = config_file.read_text(encoding="utf-8")
    assert "  - name: 蔚来   # 我们自己 / our brand\n    query: '(蔚来 OR NIO OR 李斌) AND NOT 招聘'\n" in text
    assert "    official_accounts: [蔚来, NIO蔚来汽车]\n" in text  # the file's own list style
    assert "  # 主要竞品 / the main competitor\n" in text
    before_watchlist, after_watchlist = CONFIG.split("watchlist:\n")[0], CONFIG.split("\nsources:")[1]
    assert text.startswith(before_watchlist + "watchlist:\n")
    assert text.endswith("\nsources:" + after_watchlist)  # ${WEIBO_COOKIE} and ${WEBHOOK} kept as written


def test_added_removed_and_reordered_entries_leave_the_other_entries_and_sections_alone(config_file: Path) -> None:
    entries = read_watchlist(config_file).entries
    xiaomi = {"name": "小米", "query": '小米SU7 OR "xiaomi su7"', "competitors": ["蔚来"]}
    # 理想 (which names ${RIVAL}) moves to the front; 蔚来 is dropped, then added back last.
    save(config_file, [entries[1], xiaomi, entries[0]])

    text = config_file.read_text(encoding="utf-8")
    li_auto = (
        "  # 主要竞品 / the main competitor\n  - name: 理想\n    # “理想”是常用词 / a common word: models only\n"
        "    query: 理想汽车 OR 理想L9\n    competitors: ['${RIVAL}']\n"
    )
    assert li_auto in text
    assert "  - name: 小米\n    query: '小米SU7 OR \"xiaomi su7\"'\n    competitors: [蔚来]\n" in text
    assert text.index("name: 理想") < text.index("name: 小米") < text.index("name: 蔚来")
    assert text.endswith(CONFIG[CONFIG.index("\nsources:") :])
    assert [entry.name for entry in load_config(config_file, environ=ENV).watchlist] == ["理想", "小米", "蔚来"]


def test_a_renamed_entry_is_edited_in_place_and_keeps_its_comments(config_file: Path) -> None:
    entries = read_watchlist(config_file).entries
    entries[0]["competitors"] = ["理想汽车"]
    entries[1]["name"] = "理想汽车"
    environ = {**ENV, "RIVAL": "蔚来"}

    save(config_file, entries, environ=environ)

    text = config_file.read_text(encoding="utf-8")
    assert (
        "  # 主要竞品 / the main competitor\n  - name: 理想汽车\n    # “理想”是常用词 / a common word: models only\n"
        in text
    )
    assert "    competitors: ['${RIVAL}']\n" in text
    assert "    competitors: [理想汽车]\n" in text


def test_a_removed_entry_is_gone_with_its_comments(config_file: Path) -> None:
    entries = read_watchlist(config_file).entries
    entries[0]["competitors"] = []

    save(config_file, entries[:1])

    text = config_file.read_text(encoding="utf-8")
    assert "理想汽车" not in text and "主要竞品" not in text
    assert "# 监测清单 / the watchlist\nwatchlist:\n  - name: 蔚来   # 我们自己 / our brand\n" in text
    assert text.endswith(CONFIG[CONFIG.index("\nsources:") :])


def test_a_file_without_a_watchlist_gets_one(tmp_path: Path) -> None:
    path = tmp_path / "fengxiang.yaml"
    path.write_text("# nothing to watch yet\nstore: sqlite:///data/x.db\n", encoding="utf-8")

    save(path, [{"name": "蔚来", "query": "蔚来 OR NIO"}])

    assert path.read_text(encoding="utf-8") == (
        "# nothing to watch yet\nstore: sqlite:///data/x.db\nwatchlist:\n  - name: 蔚来\n    query: '蔚来 OR NIO'\n"
    )


def test_a_string_that_yaml_1_1_reads_as_something_else_is_quoted(config_file: Path) -> None:
    entries = read_watchlist(config_file).entries
    entries.append({"name": "yes", "query": "on", "official_accounts": ["no", "123"]})

    save(config_file, entries)

    watched = load_config(config_file, environ=ENV).entry_named("yes")
    assert watched is not None and watched.query == "on" and watched.official_accounts == ["no", "123"]


def test_a_save_is_refused_when_someone_else_changed_the_file(config_file: Path) -> None:
    document = read_watchlist(config_file)
    changed_by_colleague = CONFIG.replace("理想汽车 OR 理想L9", "理想汽车")
    config_file.write_text(changed_by_colleague, encoding="utf-8")

    with pytest.raises(ConfigConflictError, match="reload the page"):
        save(config_file, document.entries, fingerprint=document.fingerprint)

    assert config_file.read_text(encoding="utf-8") == changed_by_colleague
    assert not config_file.with_name("fengxiang.yaml.bak").exists()


def test_an_invalid_result_leaves_the_file_byte_for_byte_untouched(config_file: Path) -> None:
    entries = read_watchlist(config_file).entries
    entries[0]["competitors"] = ["小鹏"]  # no such entry
    entries[1]["official_accounts"] = "not a list"
    before = config_file.read_bytes()

    with pytest.raises(ConfigEditError) as caught:
        save(config_file, entries)

    assert config_file.read_bytes() == before
    keys = {problem.key for problem in caught.value.problems}
    assert keys == {"watchlist[0].competitors[0]", "watchlist[1].official_accounts"}
    assert all(problem.file == str(config_file) for problem in caught.value.problems)
    assert sorted(path.name for path in config_file.parent.iterdir()) == ["fengxiang.yaml"]  # no temp, no .bak


def test_a_missing_environment_variable_is_reported_and_nothing_is_written(config_file: Path) -> None:
    before = config_file.read_bytes()

    with pytest.raises(ConfigEditError) as caught:
        save(config_file, read_watchlist(config_file).entries, environ={"RIVAL": "蔚来", "WEBHOOK": WEBHOOK})

    assert "WEIBO_COOKIE is not set" in str(caught.value)
    assert config_file.read_bytes() == before


@pytest.mark.parametrize(
    ("entries", "key", "words"),
    [
        ([{"name": " ", "query": "蔚来"}], "watchlist[0].name", "entry 1: the name is empty"),
        (
            [{"name": "蔚来", "query": "蔚来"}, {"name": "蔚来 ", "query": "NIO"}],
            "watchlist[1].name",
            'entry 2 "蔚来": "蔚来" is already the name of entry 1',
        ),
        ([{"name": "蔚来", "query": "蔚来 AND (NIO"}], "watchlist[0].query", 'entry 1 "蔚来": unclosed "("'),
        ([{"name": "蔚来", "query": "  "}], "watchlist[0].query", 'entry 1 "蔚来": 检索式为空'),
        ([{"name": "蔚来"}], "watchlist[0].query", 'entry 1 "蔚来": the query is missing'),
        (["蔚来"], "watchlist[0]", "entry 1 is not a set of fields"),
    ],
)
def test_bad_entries_are_refused_with_messages_naming_them(config_file: Path, entries, key, words) -> None:
    with pytest.raises(ConfigEditError) as caught:
        save(config_file, entries)

    assert [problem.key for problem in caught.value.problems] == [key]
    assert words in caught.value.problems[0].message
    assert config_file.read_text(encoding="utf-8") == CONFIG


def test_a_query_error_shows_the_caret_under_the_problem(config_file: Path) -> None:
    with pytest.raises(ConfigEditError) as caught:
        save(config_file, [{"name": "蔚来", "query": "蔚来 AND (NIO"}])

    assert caught.value.problems[0].message.split("\n")[1:] == ["蔚来 AND (NIO", " " * 9 + "^"]


def test_a_save_replaces_the_file_and_keeps_the_previous_version_as_bak(config_file: Path) -> None:
    entries = read_watchlist(config_file).entries
    entries[0]["query"] = "蔚来"
    inode_before = config_file.stat().st_ino

    save(config_file, entries)

    backup = config_file.with_name("fengxiang.yaml.bak")
    assert backup.read_text(encoding="utf-8") == CONFIG
    assert config_file.stat().st_ino != inode_before  # replaced, not rewritten in place
    assert sorted(path.name for path in config_file.parent.iterdir()) == ["fengxiang.yaml", "fengxiang.yaml.bak"]


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644])
def test_a_save_keeps_the_file_mode(config_file: Path, mode: int) -> None:
    config_file.chmod(mode)
    entries = read_watchlist(config_file).entries
    entries[0]["query"] = "蔚来"

    save(config_file, entries)

    assert stat.S_IMODE(config_file.stat().st_mode) == mode
    assert stat.S_IMODE(config_file.with_name("fengxiang.yaml.bak").stat().st_mode) == mode


def test_saves_chain_on_the_returned_fingerprint(config_file: Path) -> None:
    document = read_watchlist(config_file)
    document.entries[0]["query"] = "蔚来"
    first = save(config_file, document.entries, fingerprint=document.fingerprint)
    first.entries[0]["query"] = "NIO"

    second = save(config_file, first.entries, fingerprint=first.fingerprint)

    assert second.entries[0]["query"] == "NIO"
    with pytest.raises(ConfigConflictError):  # the first fingerprint is stale now
        save(config_file, first.entries, fingerprint=first.fingerprint)


def test_a_symlinked_config_keeps_its_link(config_file: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.yaml"
    link.symlink_to(config_file)
    entries = read_watchlist(link).entries
    entries[0]["query"] = "蔚来"

    save(link, entries)

    assert link.is_symlink()
    assert "query: '蔚来'\n" in config_file.read_text(encoding="utf-8")  # the quoting style kept


def test_windows_line_endings_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "fengxiang.yaml"
    path.write_bytes(CONFIG.replace("\n", "\r\n").encode())
    entries = read_watchlist(path).entries
    entries.append({"name": "小米", "query": "小米"})

    save(path, entries)

    raw = path.read_bytes()
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert b"  - name: \xe5\xb0\x8f\xe7\xb1\xb3\r\n" in raw


def test_secrets_from_the_environment_never_appear_in_an_error(config_file: Path) -> None:
    entries = read_watchlist(config_file).entries
    entries.append({"name": "秘密", "query": "${BRAND_QUERY}"})  # parses as written; its value does not
    environ = {**ENV, "BRAND_QUERY": "(hidden-brand-4f1c9a", "WEBHOOK": "not-a-url-TOPSECRET-4f1c9a"}

    with pytest.raises(ConfigEditError) as caught:
        save(config_file, entries, environ=environ)

    shown = "\n".join([str(caught.value), *(repr(problem) for problem in caught.value.problems)])
    assert "watchlist[2].query" in shown and "alerts.channels[0].webhook" in shown
    assert "4f1c9a" not in shown
    assert config_file.read_text(encoding="utf-8") == CONFIG


def test_reading_a_file_that_is_not_yaml_says_to_fix_it_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "fengxiang.yaml"
    path.write_text("watchlist:\n  - name: 'unclosed\n", encoding="utf-8")

    with pytest.raises(ConfigEditError, match="by hand"):
        read_watchlist(path)


def test_reading_a_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigEditError, match="fengxiang init"):
        read_watchlist(tmp_path / "nothing.yaml")


def test_the_bak_does_not_loosen_a_secret_files_mode(config_file: Path) -> None:
    config_file.chmod(0o600)
    old_umask = os.umask(0o022)
    try:
        entries = read_watchlist(config_file).entries
        entries[0]["query"] = "蔚来"
        save(config_file, entries)
    finally:
        os.umask(old_umask)

    assert stat.S_IMODE(config_file.with_name("fengxiang.yaml.bak").stat().st_mode) == 0o600
