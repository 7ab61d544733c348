"""fengxiang.yaml: loading, ${ENV} expansion, validation messages with lines, secrets kept secret."""

from __future__ import annotations

import stat
import textwrap
import traceback
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from fengxiang.config import (
    Config,
    ConfigError,
    ConfigProblem,
    ElasticsearchLocation,
    SqliteLocation,
    WatchlistEntry,
    example_config_text,
    format_duration,
    load_config,
    parse_duration,
    resolve_config_path,
    write_example_config,
)

EXAMPLE_ENV = {
    "WEIBO_COOKIE": "SUB=_2A25example-cookie",
    "FENGXIANG_WECOM_WEBHOOK": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=example-key",
}


def write_config(directory: Path, text: str, name: str = "fengxiang.yaml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems_of(path: Path, environ: dict[str, str] | None = None) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=environ or {})
    return caught.value.problems


def only_problem(path: Path, environ: dict[str, str] | None = None) -> ConfigProblem:
    problems = problems_of(path, environ)
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def line_containing(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if needle in line)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work inside tmp_path, so relative paths (and error messages) read like a user's."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --------------------------------------------------------------------------- the example (init)


def test_example_config_loads_when_its_secrets_are_in_the_environment(tmp_path: Path) -> None:
    path = write_example_config(tmp_path / "fengxiang.yaml")

    config = load_config(path, environ=EXAMPLE_ENV)

    assert [entry.name for entry in config.watchlist] == ["蔚来", "理想", "小鹏"]
    assert all(entry.competitors for entry in config.watchlist)
    weibo = config.sources["weibo"]
    assert weibo.enabled and weibo.base_url == "https://m.weibo.cn"
    assert weibo.cookie is not None and weibo.cookie.get_secret_value() == EXAMPLE_ENV["WEIBO_COOKIE"]
    assert weibo.interval == timedelta(minutes=15)
    [channel] = config.alerts.channels
    assert channel.type == "wecom" and channel.label == "公关值班群"
    assert channel.webhook.get_secret_value() == EXAMPLE_ENV["FENGXIANG_WECOM_WEBHOOK"]
    assert config.store_location() == SqliteLocation(tmp_path / "data" / "fengxiang.db")


def test_example_config_without_its_secrets_names_both_variables_and_their_lines(tmp_path: Path) -> None:
    path = write_example_config(tmp_path / "fengxiang.yaml")

    problems = problems_of(path, environ={})

    assert [(problem.line, problem.key) for problem in problems] == [
        (line_containing(path, "${WEIBO_COOKIE}"), "sources.weibo.cookie"),
        (line_containing(path, "webhook: ${FENGXIANG_WECOM_WEBHOOK}"), "alerts.channels[0].webhook"),
    ]


def test_example_config_is_written_readable_and_matches_the_packaged_file(tmp_path: Path) -> None:
    path = write_example_config(tmp_path / "new" / "fengxiang.yaml")

    assert path.read_text(encoding="utf-8") == example_config_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_init_refuses_to_overwrite_an_existing_file_unless_forced(tmp_path: Path) -> None:
    path = write_config(tmp_path, "store: sqlite:///mine.db\n")

    with pytest.raises(ConfigError, match=r"already exists.*--force"):
        write_example_config(path)
    assert path.read_text(encoding="utf-8") == "store: sqlite:///mine.db\n"

    write_example_config(path, force=True)
    assert path.read_text(encoding="utf-8") == example_config_text()


# ------------------------------------------------------------------------- finding and reading


def test_defaults_fill_what_the_file_leaves_out(tmp_path: Path) -> None:
    path = write_config(tmp_path, "timezone: Asia/Shanghai\nsources:\nalerts:\n  channels:\n")

    config = load_config(path, environ={})

    assert config.store == "sqlite:///data/fengxiang.db"
    assert config.timezone == "Asia/Shanghai"
    assert config.watchlist == [] and config.sources == {} and config.alerts.channels == []


def test_config_path_is_explicit_then_environment_then_current_directory(tmp_path: Path) -> None:
    assert resolve_config_path(tmp_path / "a.yaml", {"FENGXIANG_CONFIG": "b.yaml"}) == tmp_path / "a.yaml"
    assert resolve_config_path(None, {"FENGXIANG_CONFIG": "b.yaml"}) == Path("b.yaml")
    assert resolve_config_path(None, {}) == Path("fengxiang.yaml")


def test_config_is_found_through_fengxiang_config_then_in_the_current_directory(in_tmp: Path) -> None:
    write_config(in_tmp, "timezone: UTC\n", name="elsewhere.yaml")
    write_config(in_tmp, "timezone: Asia/Tokyo\n")

    assert load_config(environ={"FENGXIANG_CONFIG": "elsewhere.yaml"}).timezone == "UTC"
    assert load_config(environ={}).timezone == "Asia/Tokyo"


def test_missing_file_tells_the_user_to_run_init_or_pass_config(in_tmp: Path) -> None:
    problem = only_problem(Path("fengxiang.yaml"))

    assert str(problem).startswith("fengxiang.yaml: ")
    assert "fengxiang init" in problem.message and "--config" in problem.message


@pytest.mark.parametrize("text", ["", "\n\n", "# everything commented out\n# store: x\n"])
def test_empty_file_is_an_error_pointing_to_init(tmp_path: Path, text: str) -> None:
    problem = only_problem(write_config(tmp_path, text))

    assert "the file is empty" in problem.message and "fengxiang init" in problem.message


def test_a_file_that_is_not_a_mapping_is_explained(tmp_path: Path) -> None:
    problem = only_problem(write_config(tmp_path, "- 蔚来\n- 理想\n"))

    assert problem.line == 1 and "key: value" in problem.message


# ---------------------------------------------------------------------------- ${ENV} expansion


def test_variables_expand_anywhere_in_a_string_and_dollar_dollar_is_literal(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        watchlist:
          - name: ${BRAND}
            query: '${BRAND} OR NIO'
        sources:
          weibo:
            base_url: http://127.0.0.1:${SANDBOX_PORT}/weibo
            cookie: 'SUB=$${NOT_A_VARIABLE}; token=${TOKEN}'
        """,
    )

    config = load_config(path, environ={"BRAND": "蔚来", "SANDBOX_PORT": "8765", "TOKEN": "t0k"})

    assert config.watchlist[0].name == "蔚来"
    assert config.watchlist[0].query == "蔚来 OR NIO"
    assert config.sources["weibo"].base_url == "http://127.0.0.1:8765/weibo"
    cookie = config.sources["weibo"].cookie
    assert cookie is not None and cookie.get_secret_value() == "SUB=${NOT_A_VARIABLE}; token=t0k"


def test_variables_come_from_the_process_environment_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FENGXIANG_TEST_TZ", "Europe/Berlin")
    path = write_config(tmp_path, "timezone: ${FENGXIANG_TEST_TZ}\n")

    assert load_config(path).timezone == "Europe/Berlin"


def test_unset_variable_names_the_variable_the_key_and_the_line(in_tmp: Path) -> None:
    write_config(
        in_tmp,
        """
        store: sqlite:///data/fengxiang.db
        watchlist:
          - name: 蔚来
            query: 蔚来
        sources:
          weibo:
            cookie: ${WEIBO_COOKIE}
        """,
    )

    problem = only_problem(Path("fengxiang.yaml"))

    assert str(problem) == (
        "fengxiang.yaml:7: sources.weibo.cookie: environment variable WEIBO_COOKIE is not set"
        " — export it, or remove the key"
    )


def test_a_malformed_reference_is_reported_not_taken_literally(tmp_path: Path) -> None:
    path = write_config(tmp_path, "sources:\n  weibo:\n    cookie: ${WEIBO_COOKIE\n")

    problem = only_problem(path, {"WEIBO_COOKIE": "x"})

    assert problem.line == 3 and "${NAME}" in problem.message


# ------------------------------------------------------------------------------- YAML problems


def test_an_unquoted_variable_in_a_flow_list_says_to_quote_it(tmp_path: Path) -> None:
    path = write_config(tmp_path, "watchlist:\n  - name: 蔚来\n    query: 蔚来\n    competitors: [${RIVAL}]\n")

    problem = only_problem(path, {"RIVAL": "理想"})

    assert problem.line == 4 and "must be quoted" in problem.message


def test_tab_indentation_is_reported_with_line_column_and_hint(tmp_path: Path) -> None:
    path = write_config(tmp_path, "watchlist:\n  - name: 蔚来\n\tquery: 蔚来\n")

    problem = only_problem(path)

    assert (problem.line, problem.column) == (3, 1)
    assert str(problem).startswith(f"{path}:3:1: YAML syntax error: ")
    assert "tabs" in problem.message


def test_unquoted_colon_in_a_value_suggests_quotes(tmp_path: Path) -> None:
    path = write_config(tmp_path, "watchlist:\n  - name: 蔚来\n    query: 标题: 蔚来\n")

    problem = only_problem(path)

    assert problem.line == 3 and problem.column is not None
    assert "mapping values are not allowed here" in problem.message  # yaml's own words
    assert "quotes" in problem.message


def test_unclosed_quote_points_at_where_it_opens(tmp_path: Path) -> None:
    path = write_config(tmp_path, "watchlist:\n  - name: 蔚来\n    query: '蔚来 OR NIO\n")

    problem = only_problem(path)

    assert problem.line == 3 and "quote" in problem.message


def test_python_tags_are_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, "store: !!python/object/apply:os.system ['true']\n")

    problem = only_problem(path)

    assert problem.line == 1 and "tag" in problem.message


def test_a_key_given_twice_is_reported_at_the_second(tmp_path: Path) -> None:
    path = write_config(tmp_path, "timezone: UTC\nstore: sqlite:///a.db\ntimezone: Asia/Shanghai\n")

    problem = only_problem(path)

    assert (problem.line, problem.key) == (3, "timezone") and "twice" in problem.message


# ---------------------------------------------------------------------------- unknown keys


def test_unknown_top_level_key_suggests_the_closest_one(in_tmp: Path) -> None:
    write_config(
        in_tmp,
        """
        store: sqlite:///data/fengxiang.db
        timezone: Asia/Shanghai
        watchlst:
          - name: 蔚来
        """,
    )

    problem = only_problem(Path("fengxiang.yaml"))

    assert str(problem) == 'fengxiang.yaml:3: watchlst: unknown key — did you mean "watchlist"?'


def test_unknown_nested_keys_suggest_the_keys_of_their_own_section(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        watchlist:
          - name: 蔚来
            query: 蔚来
            qurey: NIO
        sources:
          weibo:
            base_ur: https://m.weibo.cn
        alerts:
          channels:
            - type: wecom
              webhook: https://example.com/hook
              colour: red
        """,
    )

    problems = problems_of(path)

    assert [(p.line, p.key) for p in problems] == [
        (4, "watchlist[0].qurey"),
        (7, "sources.weibo.base_ur"),
        (12, "alerts.channels[0].colour"),
    ]
    assert problems[0].message == 'unknown key — did you mean "query"?'
    assert problems[1].message == 'unknown key — did you mean "base_url"?'
    assert problems[2].message == (
        "unknown key — the keys allowed here are: "
        "type, name, webhook, secret, mention_users, mention_mobiles, per_minute, timeout"
    )


# ----------------------------------------------------------------------------------- watchlist


def test_query_syntax_error_shows_the_query_with_a_caret_under_the_key_line(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        watchlist:
          - name: 蔚来
            query: NIO AND
        """,
    )

    problem = only_problem(path)
    lines = str(problem).split("\n")

    assert (problem.line, problem.key) == (3, "watchlist[0].query")
    assert lines[0].startswith(f"{path}:3: watchlist[0].query: the query does not parse: expected a term")
    assert lines[1] == "    NIO AND"
    assert lines[2] == "    " + " " * len("NIO AND") + "^"
    assert "AND, OR, NOT" in lines[3]


def test_query_error_caret_line_follows_the_query_module(tmp_path: Path) -> None:
    path = write_config(tmp_path, "watchlist:\n  - name: 蔚来\n    query: '(蔚来 OR NIO AND NOT 招聘'\n")

    lines = str(only_problem(path)).split("\n")

    assert 'unclosed "("' in lines[0]
    assert lines[1:3] == ["    (蔚来 OR NIO AND NOT 招聘", "    ^"]


def test_purely_negative_query_is_rejected(tmp_path: Path) -> None:
    path = write_config(tmp_path, "watchlist:\n  - name: 招聘\n    query: NOT 招聘\n")

    problem = only_problem(path)

    assert (problem.line, problem.key) == (3, "watchlist[0].query")
    assert "a watchlist query needs at least one term that is not negated" in problem.message


def test_the_parsed_query_is_kept_on_the_entry(tmp_path: Path) -> None:
    path = write_config(tmp_path, "watchlist:\n  - name: 蔚来\n    query: '(蔚来 OR NIO) AND NOT 招聘'\n")

    entry = load_config(path, environ={}).watchlist[0]

    assert entry.parsed_query is entry.parsed_query
    assert entry.parsed_query.matches("蔚来ES8交付了")
    assert not entry.parsed_query.matches("蔚来招聘销售顾问")


def test_duplicate_names_are_rejected_ignoring_case(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        watchlist:
          - name: NIO
            query: NIO
          - name: 理想
            query: 理想汽车
          - name: nio
            query: 蔚来
        """,
    )

    problem = only_problem(path)

    assert (problem.line, problem.key) == (6, "watchlist[2].name")
    assert "watchlist[0]" in problem.message


def test_competitors_must_name_other_watchlist_entries(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        watchlist:
          - name: 蔚来
            query: 蔚来
            competitors:
              - 理想
              - 小鹏汽车
              - 蔚来
          - name: 理想
            query: 理想汽车
          - name: 小鹏
            query: 小鹏
        """,
    )

    problems = problems_of(path)

    assert [(p.line, p.key) for p in problems] == [
        (6, "watchlist[0].competitors[1]"),
        (7, "watchlist[0].competitors[2]"),
    ]
    assert '"小鹏汽车" is not the name of any watchlist entry' in problems[0].message
    assert 'did you mean "小鹏"?' in problems[0].message
    assert "its own competitor" in problems[1].message


def test_a_missing_required_key_is_reported_at_its_entry(tmp_path: Path) -> None:
    path = write_config(tmp_path, "watchlist:\n  - name: 蔚来\n  - name: 理想\n    query: 理想汽车\n")

    problem = only_problem(path)

    assert (problem.line, problem.key) == (2, "watchlist[0].query")
    assert problem.message.startswith("is missing — every watchlist entry needs a query")


def test_a_number_where_text_is_needed_says_to_quote_it(tmp_path: Path) -> None:
    path = write_config(tmp_path, "watchlist:\n  - name: 360\n    query: 奇虎\n")

    problem = only_problem(path)

    assert problem.key == "watchlist[0].name" and "quotes" in problem.message
    assert "Input should be" not in problem.message


# ------------------------------------------------------------------------------------- sources


@pytest.mark.parametrize("base_url", ["m.weibo.cn", "ftp://m.weibo.cn", "https://", "http://host:port"])
def test_base_url_must_be_an_http_address(tmp_path: Path, base_url: str) -> None:
    path = write_config(tmp_path, f"sources:\n  weibo:\n    base_url: '{base_url}'\n")

    problem = only_problem(path)

    assert (problem.line, problem.key) == (3, "sources.weibo.base_url")
    assert "http://" in problem.message


@pytest.mark.parametrize("page", ["https://news.example.com/search?q=", "news.example.com/search?q={query}"])
def test_a_news_search_page_needs_an_http_address_with_a_query_placeholder(tmp_path: Path, page: str) -> None:
    path = write_config(tmp_path, f"sources:\n  news:\n    search_pages:\n      - '{page}'\n")

    problem = only_problem(path)

    assert problem.key == "sources.news.search_pages"
    assert "{query}" in problem.message and "https://news.example.com/search?q={query}" in problem.message


def test_base_url_may_point_at_loopback(tmp_path: Path) -> None:
    path = write_config(tmp_path, "sources:\n  weibo:\n    base_url: http://127.0.0.1:8765\n")

    assert load_config(path, environ={}).sources["weibo"].base_url == "http://127.0.0.1:8765"


@pytest.mark.parametrize("interval", ["15 minutes", "0m", "30", "m15", "-5m"])
def test_bad_crawl_interval_is_explained(tmp_path: Path, interval: str) -> None:
    path = write_config(tmp_path, f"sources:\n  weibo:\n    interval: {interval}\n")

    problem = only_problem(path)

    assert (problem.line, problem.key) == (3, "sources.weibo.interval")
    assert "30s, 15m, 2h, 1d" in problem.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(minutes=90)),
        (" 2H ", timedelta(hours=2)),
    ],
)
def test_durations_parse_and_format_back(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


def test_interval_is_dumped_as_the_user_wrote_it(tmp_path: Path) -> None:
    path = write_config(tmp_path, "sources:\n  weibo:\n    interval: 90m\n")

    assert '"interval":"1h30m"' in load_config(path, environ={}).model_dump_json()


def test_platform_names_are_lower_case_identifiers(tmp_path: Path) -> None:
    path = write_config(tmp_path, "sources:\n  weibo: {}\n  Douyin:\n    enabled: false\n")

    problem = only_problem(path)

    assert (problem.line, problem.key) == (3, "sources.Douyin")
    assert "lower-case" in problem.message


def test_only_enabled_sources_are_crawled(tmp_path: Path) -> None:
    path = write_config(tmp_path, "sources:\n  weibo: {}\n  douyin:\n    enabled: false\n")

    assert list(load_config(path, environ={}).enabled_sources()) == ["weibo"]


# --------------------------------------------------------------------------- timezone and store


def test_unknown_timezone_suggests_a_real_one(tmp_path: Path) -> None:
    path = write_config(tmp_path, "store: sqlite:///x.db\ntimezone: Asia/Shangai\n")

    problem = only_problem(path)

    assert (problem.line, problem.key) == (2, "timezone")
    assert problem.message == 'unknown time zone — did you mean "Asia/Shanghai"?'


def test_timezone_is_available_as_tzinfo(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "timezone: Europe/Berlin\n"), environ={})

    assert config.tzinfo.key == "Europe/Berlin"


def test_relative_sqlite_path_is_resolved_against_the_config_files_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = tmp_path / "etc"
    config_dir.mkdir()
    monkeypatch.chdir(tmp_path)  # a different working directory must not matter
    path = write_config(config_dir, "store: sqlite:///data/fengxiang.db\n")

    location = load_config(Path("etc/fengxiang.yaml"), environ={}).store_location()

    assert location == SqliteLocation(path.parent.absolute() / "data" / "fengxiang.db")


def test_absolute_sqlite_path_is_kept(tmp_path: Path) -> None:
    path = write_config(tmp_path, "store: sqlite:////var/lib/fengxiang/mentions.db\n")

    assert load_config(path, environ={}).store_location() == SqliteLocation(Path("/var/lib/fengxiang/mentions.db"))


def test_an_http_store_is_elasticsearch(tmp_path: Path) -> None:
    path = write_config(tmp_path, "store: https://es.internal:9200/\n")

    assert load_config(path, environ={}).store_location() == ElasticsearchLocation("https://es.internal:9200")


@pytest.mark.parametrize("store", ["mysql://db/fengxiang", "sqlite://data.db", "sqlite:///", "data.db"])
def test_an_unknown_store_names_the_accepted_forms(tmp_path: Path, store: str) -> None:
    problem = only_problem(write_config(tmp_path, f"store: '{store}'\n"))

    assert (problem.line, problem.key) == (1, "store")
    assert "sqlite:///" in problem.message and "http://localhost:9200" in problem.message


# --------------------------------------------------------------------------------------- alerts


def test_channel_type_must_be_known(tmp_path: Path) -> None:
    path = write_config(tmp_path, "alerts:\n  channels:\n    - type: wechat\n      webhook: https://x.cn/h\n")

    problem = only_problem(path)

    assert (problem.line, problem.key) == (3, "alerts.channels[0].type")
    assert "wecom" in problem.message and "dingtalk" in problem.message and "feishu" in problem.message


def test_channel_type_is_not_case_sensitive(tmp_path: Path) -> None:
    path = write_config(tmp_path, "alerts:\n  channels:\n    - type: WeCom\n      webhook: https://x.cn/h\n")

    [channel] = load_config(path, environ={}).alerts.channels
    assert channel.type == "wecom" and channel.label == "wecom"


# -------------------------------------------------------------------------------------- secrets

SECRET_COOKIE = "SUB=cookie-that-must-never-leak-7f3a"
SECRET_HOOK = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=hook-that-must-never-leak-91c2"
SECRETS_ENV = {"WEIBO_COOKIE": SECRET_COOKIE, "HOOK": SECRET_HOOK}


def assert_no_secret(text: str) -> None:
    assert "never-leak" not in text, text


def test_secrets_are_never_in_repr_str_or_json(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        sources:
          weibo:
            cookie: ${WEIBO_COOKIE}
        alerts:
          channels:
            - type: wecom
              webhook: ${HOOK}
        """,
    )

    config = load_config(path, environ=SECRETS_ENV)

    for rendering in (repr(config), str(config), config.model_dump_json(), repr(config.alerts.channels[0])):
        assert_no_secret(rendering)
    assert config.alerts.channels[0].webhook.get_secret_value() == SECRET_HOOK


def test_secrets_are_never_in_error_messages(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        store: mysql://nowhere
        sources:
          weibo:
            cookie: ${WEIBO_COOKIE}
            colour: ${WEIBO_COOKIE}
            interval: ${WEIBO_COOKIE}
        alerts:
          channels:
            - type: wechat
              webhook: ${HOOK}
            - name: no type here
              webhook: ${HOOK}
            - type: wecom
              webhook: ${WEIBO_COOKIE}
        """,
    )

    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=SECRETS_ENV)

    error = caught.value
    assert len(error.problems) == 6
    assert_no_secret(str(error))
    assert_no_secret(repr(error))
    assert_no_secret(repr(error.problems))
    assert_no_secret("".join(traceback.format_exception(error)))


def test_validation_errors_of_models_built_in_code_hide_secrets() -> None:
    with pytest.raises(ValidationError) as caught:
        Config.model_validate({"alerts": {"channels": [{"name": "值班群", "webhook": SECRET_HOOK}]}})

    assert_no_secret(str(caught.value))


# ---------------------------------------------------------------------------- many problems


def test_all_problems_of_a_file_are_reported_at_once_in_line_order(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        store: sqlite:///data/fengxiang.db
        timezone: Mars/Olympus
        watchlist:
          - name: 蔚来
            query: NOT 招聘
            competitors: [特斯拉]
        sources:
          weibo:
            base_url: m.weibo.cn
            interval: soon
            cookie: ${WEIBO_COOKIE}
        alertz: {}
        """,
    )

    problems = problems_of(path)

    assert [(p.line, p.key) for p in problems] == [
        (2, "timezone"),
        (5, "watchlist[0].query"),
        (6, "watchlist[0].competitors[0]"),
        (9, "sources.weibo.base_url"),
        (10, "sources.weibo.interval"),
        (11, "sources.weibo.cookie"),
        (12, "alertz"),
    ]
    rendered = str(ConfigError(problems)).split("\n")
    assert rendered[0] == f"{path}:2: timezone: unknown time zone — use a tz database name like Asia/Shanghai"
    assert len(rendered) == len(problems)


# ------------------------------------------------------------------------------- built in code


def test_a_config_built_in_code_checks_the_same_rules() -> None:
    with pytest.raises(ValidationError, match="already the name"):
        Config(
            watchlist=[
                WatchlistEntry(name="蔚来", query="蔚来"),
                WatchlistEntry(name="蔚来", query="NIO"),
            ]
        )


def test_a_config_built_in_code_resolves_sqlite_paths_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    assert Config().store_location() == SqliteLocation(tmp_path / "data" / "fengxiang.db")
    assert Config().config_file is None


def test_entries_are_found_by_name_ignoring_case() -> None:
    config = Config(watchlist=[WatchlistEntry(name="NIO", query="NIO OR 蔚来")])

    assert config.entry_named("nio") is config.watchlist[0]
    assert config.entry_named("理想") is None


def test_values_from_the_environment_are_not_echoed_even_where_a_message_quotes_the_file(
    tmp_path: Path,
) -> None:
    path = write_config(
        tmp_path,
        """
        watchlist:
          - name: 蔚来
            query: ${SECRET_QUERY}
            competitors: ['${SECRET_RIVAL}']
        """,
    )
    environ = {"SECRET_QUERY": "(never-leak-project OR", "SECRET_RIVAL": "never-leak-rival"}

    problems = problems_of(path, environ)

    assert [p.key for p in problems] == ["watchlist[0].query", "watchlist[0].competitors[0]"]
    assert_no_secret(str(ConfigError(problems)))
