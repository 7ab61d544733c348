"""``fengxiang`` — the one command-line entry point (DESIGN.md 4.1). Exit codes: fengxiang/command_errors.py."""

from __future__ import annotations

import argparse
import csv
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import IO, Any
from urllib.parse import urlsplit

import orjson

from crawlers.cookies import CookieFileError, session_cookies
from crawlers.login import CHROMIUM, LOGINS, LoginError, login_spec, probe_login, run_login
from crawlers.registry import BROWSER_PLATFORMS, PAGE_UNITS, PLATFORMS
from fengxiang import (
    __version__,
    alert_commands,
    crawl_worker,
    dashboard_commands,
    kol_commands,
    report_commands,
    status_command,
)
from fengxiang.analysis import analyze_lines, analyzer_settings, learn_document_frequencies
from fengxiang.brands import BrandTagger
from fengxiang.command_errors import EXIT_OK, EXIT_PARTIAL, EXIT_STORE, EXIT_USAGE, FileProblem, UsageError
from fengxiang.config import (
    CONFIG_PATH_VARIABLE,
    DEFAULT_CONFIG_FILE,
    DEFAULT_TIMEZONE,
    Config,
    ConfigError,
    SourceConfig,
    SqliteLocation,
    StoreLocation,
    load_config,
    parse_store_location,
    write_example_config,
)
from fengxiang.crawl import CrawlRun, crawl, log_file_for
from fengxiang.ingest import IngestReport, LineError, LineParser, default_workers, ingest, line_chunks
from fengxiang.migrate import MigrationReport, migrate, progress_line, summary_lines
from fengxiang.progress import Progress
from fengxiang.query import QuerySyntaxError, parse
from fengxiang.service_lock import ServiceAlreadyRunning
from fengxiang.stats import overview
from fengxiang.timeparse import parse_time
from fengxiang.work_queue import RedisUnavailable
from kol.segments import SEGMENT_ALIASES, SEGMENTS
from nlp.analyzer import Analyzer
from nlp.keywords import IdfTable
from nlp.sentiment.engines import SHIPPED_MODEL
from nlp.sentiment.linear import ModelFileError
from nlp.sentiment.train import DEFAULT_TRAINING_FILES, TrainingDataError, read_labelled, train
from nlp.simhash import NearDuplicateIndex
from nlp.tokenizer import Tokenizer
from store.base import MentionFilter, Store, StoreError, Window
from store.model import EARLIEST_POST, Mention
from store.open import open_location, open_store

ANALYZE_BATCH = 500  # posts analysed together: the sentiment model scores a batch in one call
PARALLEL_IMPORT_BYTES = 8 * 1024 * 1024  # below this, starting worker processes costs more than it saves


# -- commands -----------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    path = write_example_config(Path(args.config or "fengxiang.yaml"), force=args.force)
    print(f"wrote {path} — edit the watchlist, then run: fengxiang check --config {path}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    config = _config(args)
    with _store(config) as store:
        total = store.counts(_everything()).total
        created = getattr(store, "created_indices", None)
    problems: list[str] = []
    print(f"config {config.config_file}: ok")
    print(f"  store      {_without_password(config.store)} ({total:,} mentions)")
    if created is not None:  # Elasticsearch: opening installed the templates (index_mappings/)
        print(f"  schema     templates installed; indices created: {', '.join(created) or 'none (all there)'}")
    print(f"  timezone   {config.timezone}")
    print(f"  watchlist  {', '.join(entry.name for entry in config.watchlist) or '(empty)'}")
    for name, source in config.sources.items():
        state = "enabled" if source.enabled else "disabled"
        saved = config.cookie_file(name).exists()
        cookie = "cookie set" if source.cookie else "saved login" if saved else "no login (crawls as a visitor)"
        print(f"  source     {name}: {state}, {source.base_url or 'default address'}, {cookie}")
        if source.enabled and name in BROWSER_PLATFORMS and not CHROMIUM.exists():
            if config.distributed is None:
                problems.append(_chromium_missing(f"sources.{name} signs its requests"))
            else:  # the service queues its terms: only the crawl-workers serving it crawl, and need Chromium
                print(f"             no Chromium at {CHROMIUM}: only crawl-workers serving {name} need it")
    for channel in config.alerts.channels:
        print(f"  alerts     {channel.type}: {channel.label}")  # the label never shows the webhook URL
    if problems:
        raise FileProblem("; ".join(problems))
    return EXIT_OK


def cmd_ingest(args: argparse.Namespace) -> int:
    config = _config(args)
    tagger = BrandTagger([(entry.name, entry.query) for entry in config.watchlist]) if config.watchlist else None
    with _input(args.file) as (stream, size), _store(config) as store:
        parser = LineParser(
            timezone=config.tzinfo, tag_brands=tagger, analyzer=Analyzer(analyzer_settings(config, store))
        )
        progress = Progress("ingest", total_bytes=size)
        counted = _CountingLines(stream)
        workers = args.workers if args.workers is not None else _default_workers(size)

        def show(report: IngestReport) -> None:
            progress.update(report.lines, done_bytes=counted.bytes, note=f", {report.rejected:,} rejected")

        report = ingest(counted, store, parser=parser, workers=workers, on_batch=show)
        progress.finish()
    return _report_ingest(report, args.file, as_json=args.json)


def cmd_crawl(args: argparse.Namespace) -> int:
    config = _config(args)
    platforms = args.platforms or list(config.enabled_sources())
    if not platforms:
        raise UsageError("no source is enabled in the config — add one under sources:, like sources.weibo")
    unknown = [platform for platform in platforms if platform not in PLATFORMS]
    if unknown:
        raise UsageError(f"no crawler for {', '.join(unknown)} — available: {', '.join(PLATFORMS)}")
    if args.enqueue:
        return _enqueue(config, platforms)
    runs = []
    with _store(config) as store:
        for platform in platforms:
            if not args.json:
                print(f"{platform}: crawling (log: {log_file_for(config, platform)})", file=sys.stderr)
            run = crawl(config, platform, store)
            runs.append(run)
            if not args.json:
                _print_crawl(run)
    if args.json:
        sys.stdout.write(orjson.dumps([_crawl_json(run) for run in runs], option=orjson.OPT_INDENT_2).decode() + "\n")
    return EXIT_PARTIAL if any(run.health.status == "failed" for run in runs) else EXIT_OK


def _enqueue(config: Config, platforms: list[str]) -> int:
    try:
        queued, already = crawl_worker.enqueue(config, crawl_worker.open_queue(config), platforms)
    except ValueError as error:
        raise UsageError(str(error)) from None
    for item in queued:
        print(f"{item.platform} {item.term}: queued")
    for item in already:
        print(f"{item.platform} {item.term}: already queued")
    return EXIT_OK


def _chromium_missing(what: str) -> str:
    return (
        f"{what} in Chromium, which is not installed at {CHROMIUM} — "
        "install it: sudo apt-get install chromium (or `make system`)"
    )


def cmd_crawl_worker(args: argparse.Namespace) -> int:
    config = _config(args)
    requested = None if args.platforms is None else [name.strip() for name in args.platforms.split(",") if name.strip()]
    try:
        platforms = crawl_worker.served_platforms(config, requested)
        queue = crawl_worker.open_queue(config)
    except ValueError as error:
        raise UsageError(str(error)) from None
    _check_chromium_for(platforms)
    stopping = threading.Event()
    with _store(config) as store, _stop_on_signals(stopping):
        worker = crawl_worker.CrawlWorker(config, queue, store, stopping, platforms)
        print(
            f"crawl-worker {worker.name}: serving {', '.join(platforms)}; waiting for work; "
            "stop with Ctrl-C or SIGTERM",
            file=sys.stderr,
        )
        for outcome in worker.outcomes(once=args.once):
            _print_crawl(outcome.run, label=f"{outcome.claim.item.platform} {outcome.claim.item.term}")
            if not outcome.acknowledged:
                print("  not finished: the item goes back to the queue when its lease runs out")
            sys.stdout.flush()
    return 130 if stopping.is_set() else EXIT_OK


def _check_chromium_for(platforms: list[str]) -> None:
    """A worker serving Xiaohongshu or Zhihu needs Chromium: say so at start, not in every item's crawl."""
    browser = [platform for platform in platforms if platform in BROWSER_PLATFORMS]
    if browser and not CHROMIUM.exists():
        others = [platform for platform in platforms if platform not in BROWSER_PLATFORMS]
        instead = f", or serve only --platforms {','.join(others)} on this machine" if others else ""
        raise FileProblem(_chromium_missing(f"{' and '.join(browser)} sign their requests") + instead)


@contextmanager
def _stop_on_signals(stopping: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stopping`` (the running crawl then stores its batch and ends) instead of killing."""

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    previous = {number: signal.signal(number, stop) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _print_crawl(run: CrawlRun, label: str | None = None) -> None:
    health = run.health
    detail = health.detail
    print(
        f"{label or run.platform}: {health.status} — {detail.get('new', 0):,} new and "
        f"{detail.get('updated', 0):,} updated mentions from {detail.get('pages', 0):,} "
        f"{PAGE_UNITS.get(run.platform, 'pages')} in {run.seconds:.1f} s"
    )
    if health.error:
        print(f"  {health.error}")


def _crawl_json(run: CrawlRun) -> dict[str, Any]:
    health = run.health
    return {
        "source": run.platform,
        "status": health.status,
        "items": health.items,
        "error": health.error,
        "detail": health.detail,
        "seconds": round(run.seconds, 2),
        "log_file": str(run.log_file),
    }


def cmd_login(args: argparse.Namespace) -> int:
    config = _config(args)
    if args.platform not in LOGINS:
        raise UsageError(f"no login for {args.platform!r} — available: {', '.join(LOGINS)}")
    source = config.sources.get(args.platform) or SourceConfig()
    cookie_file = config.cookie_file(args.platform)
    if args.check:
        return _check_login(args.platform, source, cookie_file)
    try:
        result = run_login(
            args.platform,
            base_url=source.base_url,
            login_url=source.login_url,
            cookie_file=cookie_file,
            headless=args.headless,
            timeout=args.timeout,
            on_ready=lambda message: print(message, file=sys.stderr),
        )
    except LoginError as err:
        raise FileProblem(str(err)) from None
    account = f" as user {result.uid}" if result.uid else ""
    print(f"logged in to {args.platform}{account}; {result.cookies} cookies saved to {result.cookie_file} (mode 600)")
    return EXIT_OK


def _check_login(platform: str, source: SourceConfig, cookie_file: Path) -> int:
    """The cookie health probe: does the configured (or saved) login still work?"""
    base_url = source.base_url or login_spec(platform).base_url
    try:
        cookies = session_cookies(source.cookie, cookie_file, urlsplit(base_url).hostname or "", platform)
    except CookieFileError as err:
        raise FileProblem(str(err)) from None
    origin = f"sources.{platform}.cookie" if source.cookie is not None else str(cookie_file)
    answer = probe_login(base_url, cookies, platform=platform)
    verdict = {
        True: "logged in",
        False: "NOT logged in — run `fengxiang login " + platform + "`",
        None: "could not ask",
    }
    print(f"{platform} login from {origin}: {verdict[answer]}")
    return EXIT_OK if answer else EXIT_PARTIAL


def cmd_analyze(args: argparse.Namespace) -> int:
    config = _config_or_default(args)
    analyzer = Analyzer(analyzer_settings(config))
    clusters = NearDuplicateIndex()
    report = IngestReport()  # lines read and rejected; nothing is stored
    analysed = 0
    parser = LineParser(timezone=config.tzinfo, analyzer=analyzer)
    with _input(args.file or "-") as (stream, size), _output(args.output) as out:
        progress = Progress("analyze", total_bytes=size)
        counted = _CountingLines(stream)
        for first_line, lines in line_chunks(counted, ANALYZE_BATCH):
            errors: list[LineError] = []
            written = analyze_lines(parser, lines, first_line, clusters, errors)
            out.writelines(written)
            analysed += len(written)
            for error in errors:
                report.reject(error)
            report.lines = first_line + len(lines) - 1
            progress.update(report.lines, done_bytes=counted.bytes, note=f", {report.rejected:,} rejected")
        progress.finish()
    for error in report.errors:
        print(f"{args.file or 'stdin'}:{error}", file=sys.stderr)
    print(f"analysed {analysed:,} posts, {report.rejected:,} rejected lines", file=sys.stderr)
    return EXIT_PARTIAL if report.rejected else EXIT_OK


def cmd_reanalyze(args: argparse.Namespace) -> int:
    config = _config(args)
    with _store(config) as store:
        analyzer = Analyzer(analyzer_settings(config, store))
        scope = MentionFilter(brand=_brand_name(args.brand, config))
        if not args.keep_idf:
            progress = Progress("learning word frequencies")
            frequencies, documents = learn_document_frequencies(
                store.iter_mentions(MentionFilter()), analyzer, on_progress=progress.update
            )
            progress.finish()
            store.save_document_frequencies(frequencies, documents)
            analyzer = analyzer.with_idf(IdfTable.from_document_frequencies(frequencies, documents))
            print(f"learned word frequencies of {documents:,} mentions ({analyzer.idf.source} IDF)", file=sys.stderr)
        progress = Progress("reanalyze")
        done = 0
        batch: list[Mention] = []
        for mention in store.iter_mentions(scope):
            batch.append(mention)
            if len(batch) == ANALYZE_BATCH:
                done += _reanalyze_batch(batch, analyzer, store)
                progress.update(done)
        done += _reanalyze_batch(batch, analyzer, store)
        progress.finish()
    print(f"reanalysed {done:,} mentions")
    return EXIT_OK


def _reanalyze_batch(batch: list[Mention], analyzer: Analyzer, store: Store) -> int:
    if batch:
        store.upsert(analyzer.analyze_mentions(batch))
    count = len(batch)
    batch.clear()
    return count


def cmd_train_sentiment(args: argparse.Namespace) -> int:
    data_dir = Path(args.data) if args.data else None
    files = [data_dir / name for name in DEFAULT_TRAINING_FILES] if data_dir else []
    files += [Path(extra) for extra in args.extra or ()]
    if not files:
        raise UsageError("nothing to train on — give --data DIR (the labelled Weibo data set) and/or --extra FILE")
    try:
        data = read_labelled(files)
    except TrainingDataError as exc:
        raise FileProblem(str(exc)) from None
    print(f"training on {len(data.texts):,} labelled posts from {', '.join(data.files)}", file=sys.stderr)
    model = train(data, Tokenizer())
    output = Path(args.output)
    model.save(output)
    print(f"wrote {output} ({output.stat().st_size / 1e6:.1f} MB, {len(model.vocabulary):,} features)")
    print(f"use it with nlp.sentiment.model: {output} in the config, or ship it as {SHIPPED_MODEL}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    config = _config(args)
    where = _mention_filter(args, config)
    if args.corrected and (where.until or where.sentiments or where.platforms or where.text):
        raise UsageError("--corrected takes only --brand and --since (corrected since then) as filters")
    with _store(config) as store, _output(args.output) as out:
        progress = Progress("export")
        write = _jsonl_writer(out) if args.format == "jsonl" else _csv_writer(out)
        count = 0
        # --corrected: the mentions people labelled by hand, newest correction first (training data)
        mentions: Iterable[Mention] = (
            store.corrections(since=where.since, brand=where.brand) if args.corrected else store.iter_mentions(where)
        )
        for count, mention in enumerate(mentions, start=1):
            write(mention)
            progress.update(count)
        progress.finish()
    print(f"exported {count:,} mentions", file=sys.stderr)
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    config = _config(args)
    now = datetime.now(config.tzinfo)
    since = _time_arg(args.since, now, config)
    until = _time_arg(args.until, now, config) if args.until else now
    if since >= until:
        raise UsageError(f"--since ({since.isoformat()}) must be before --until ({until.isoformat()})")
    brand = _brand_name(args.brand, config)
    with _store(config) as store:
        numbers = overview(store, brand=brand, since=since, until=until, top=args.top)
    if args.json:
        sys.stdout.write(orjson.dumps(numbers, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        _print_overview(numbers)
    return EXIT_OK


def cmd_alerts(args: argparse.Namespace) -> int:
    config = _config(args)
    now = datetime.now(config.tzinfo)
    if args.alerts_command == "test":
        return alert_commands.test(config, now=now, as_json=args.json)
    with _store(config) as store:
        if args.alerts_command == "run":
            at = _time_arg(args.at, now, config) if args.at else now
            wait = timedelta(seconds=args.wait)
            return alert_commands.run(config, store, now=at, wait=wait, as_json=args.json)
        if args.alerts_command == "list":
            status = None if args.status == "all" else args.status
            since = _time_arg(args.since, now, config)
            brand = _brand_name(args.brand, config)
            return alert_commands.list_incidents(
                store, status=status, brand=brand, since=since, limit=args.limit, as_json=args.json
            )
        if args.days < 1:
            raise UsageError("--days must be at least 1")
        brand = _brand_name(args.brand, config)
        return alert_commands.run_backtest(store, config, now=now, days=args.days, brand=brand, as_json=args.json)


def cmd_dashboard(args: argparse.Namespace) -> int:
    if args.hash_password:
        try:
            return dashboard_commands.print_password_hash()
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    config = _config(args)
    with _store(config):  # opened once here: a broken store is named before the server starts
        pass
    return dashboard_commands.launch(config, port=args.port, address=args.address)


def cmd_run(args: argparse.Namespace) -> int:
    import logging

    from fengxiang.service import Service, default_log_file  # APScheduler and the report: only for the service
    from fengxiang.service_log import configure_logging

    config = _config(args)
    if config.config_file is None:
        raise UsageError("the service needs a config file — write one with `fengxiang init`")
    log_file = default_log_file(config)
    # With --once the outcome is printed at the end: the screen shows only warnings on the way.
    screen_level = logging.WARNING if args.once else logging.INFO
    service = Service(config, secrets=configure_logging(config, log_file, screen_level=screen_level))
    if not args.once:
        print(
            f"fengxiang run: serving {config.config_file} (log: {log_file}); stop with Ctrl-C or SIGTERM",
            file=sys.stderr,
        )
        service.run()
        return EXIT_OK
    results = service.run_once()
    if service.stopping.is_set():
        print("fengxiang run: interrupted", file=sys.stderr)
        return 130
    if args.json:
        data = [{"job": job, "outcome": result.outcome, "summary": result.summary} for job, result in results]
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        width = max((len(job) for job, _ in results), default=0)
        for job, result in results:
            print(f"{job:<{width}}  {result.outcome:<8} {result.summary}")
    return EXIT_OK if all(result.outcome == "ok" for _, result in results) else EXIT_PARTIAL


def cmd_demo(args: argparse.Namespace) -> int:
    from fengxiang import demo  # the sandbox and its synthetic world: only for the demo

    return demo.run(args)


def cmd_status(args: argparse.Namespace) -> int:
    config = _config(args)
    with _store(config) as store:
        return status_command.show(config, store, as_json=args.json)


def cmd_kol(args: argparse.Namespace) -> int:
    config = _config(args)
    now = datetime.now(config.tzinfo)
    since = _time_arg(args.since, now, config) if args.since else now - config.kol.window
    until = _time_arg(args.until, now, config) if args.until else now
    if since >= until:
        raise UsageError(f"--since ({since.isoformat()}) must be before --until ({until.isoformat()})")
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    brand = _brand_name(args.brand, config)
    brands = [brand] if brand else [entry.name for entry in config.watchlist]
    if not brands:
        raise UsageError("the watchlist is empty — add entries under watchlist: to score their authors")
    with _store(config) as store:
        return kol_commands.show(
            store,
            config,
            brands,
            since=since,
            until=until,
            segment=args.segment,
            everyone=args.all,
            limit=args.limit,
            as_json=args.json,
        )


def cmd_migrate(args: argparse.Namespace) -> int:
    """Needs no config: the two URLs name both stores, and a migration copies absolute times."""
    if args.batch < 1:
        raise UsageError("--batch must be at least 1")
    source, destination = _location(args.source, "--from"), _location(args.destination, "--to")
    source_name, destination_name = _location_name(source), _location_name(destination)
    if source_name == destination_name:
        raise UsageError(f"--from and --to both name {source_name} — give the store to fill as --to")
    if isinstance(source, SqliteLocation) and not source.path.is_file():
        raise UsageError(f"--from {source_name}: there is no such file — check the path")
    print(f"migrate: {source_name} → {destination_name}", file=sys.stderr)

    def show(report: MigrationReport) -> None:
        print(progress_line(report), file=sys.stderr, flush=True)

    with _store_at(source) as source_store, _store_at(destination) as destination_store:
        report = migrate(
            source_store,
            destination_store,
            source_name=source_name,
            batch=args.batch,
            progress=show,
            restart=args.restart,
            into_nonempty=args.into_nonempty,
        )
    for line in summary_lines(report):
        print(line)
    return EXIT_PARTIAL if report.rejected_now else EXIT_OK


def _location(url: str, option: str) -> StoreLocation:
    try:
        return parse_store_location(url, Path.cwd())
    except ValueError as exc:
        raise UsageError(f"{option} {_without_password(url)}: {exc}") from None


def _location_name(location: StoreLocation) -> str:
    """How messages and the migration checkpoint name a store: an absolute SQLite path, a URL without its password."""
    if isinstance(location, SqliteLocation):
        return f"sqlite:///{location.path.resolve()}"
    return _without_password(location.url)


@contextmanager
def _store_at(location: StoreLocation) -> Iterator[Store]:
    store = open_location(location, DEFAULT_TIMEZONE)
    try:
        yield store
    finally:
        store.close()


# -- helpers shared by the commands -------------------------------------------------------------


def _config(args: argparse.Namespace) -> Config:
    return load_config(Path(args.config) if args.config else None)


def _config_or_default(args: argparse.Namespace) -> Config:
    """The config when there is one; commands that need no store (analyze) also run without."""
    if args.config or os.environ.get(CONFIG_PATH_VARIABLE) or Path(DEFAULT_CONFIG_FILE).exists():
        return _config(args)
    print(f"no {DEFAULT_CONFIG_FILE} here: analysing without a watchlist (no brands)", file=sys.stderr)
    return Config()


@contextmanager
def _store(config: Config) -> Iterator[Store]:
    store = open_store(config)
    try:
        yield store
    finally:
        store.close()


def _everything() -> Window:
    return Window(since=EARLIEST_POST, until=datetime.now(UTC) + timedelta(days=2))


def _without_password(url: str) -> str:
    """An Elasticsearch URL may carry user:password; show the user only."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def _time_arg(text: str, now: datetime, config: Config) -> datetime:
    try:
        return parse_time(text, now=now, zone=config.tzinfo)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _brand_name(name: str | None, config: Config) -> str | None:
    """The watchlist's spelling of a brand; an unknown brand is a usage error, not an empty result."""
    if name is None:
        return None
    entry = config.entry_named(name)
    if entry is None:
        known = ", ".join(entry.name for entry in config.watchlist) or "none — add entries under watchlist:"
        raise UsageError(f"--brand {name!r} is not on the watchlist (known: {known})")
    return entry.name


def _segment(name: str) -> str:
    segment = SEGMENT_ALIASES.get(name.lower(), name)
    if segment not in SEGMENTS:
        choices = ", ".join(f"{chinese} ({english})" for english, chinese in SEGMENT_ALIASES.items())
        raise argparse.ArgumentTypeError(f"unknown segment {name!r} — use one of {choices}")
    return segment


def _mention_filter(args: argparse.Namespace, config: Config) -> MentionFilter:
    now = datetime.now(config.tzinfo)
    try:
        text = parse(args.query) if args.query else None
    except QuerySyntaxError as exc:
        raise UsageError(f"--query is not a valid query:\n{exc}") from None
    return MentionFilter(
        brand=_brand_name(args.brand, config),
        since=_time_arg(args.since, now, config) if args.since else None,
        until=_time_arg(args.until, now, config) if args.until else None,
        sentiments=tuple(args.sentiment or ()),
        platforms=tuple(args.platform or ()),
        text=text,
    )


def _default_workers(size: int | None) -> int:
    return 0 if size is None or size < PARALLEL_IMPORT_BYTES else default_workers()


@contextmanager
def _input(name: str) -> Iterator[tuple[IO[bytes], int | None]]:
    if name == "-":
        yield sys.stdin.buffer, None
        return
    path = Path(name)
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise FileProblem(f"cannot read {path}: {exc.strerror}") from None
    with stream:
        yield stream, path.stat().st_size


class _CountingLines:
    """Iterates a binary stream's lines and counts the bytes read, for the progress display."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.bytes = 0

    def __iter__(self) -> Iterator[bytes]:
        for line in self.stream:
            self.bytes += len(line)
            yield line


@contextmanager
def _output(name: str | None) -> Iterator[IO[bytes]]:
    """Write to a temporary file and rename it at the end: a failed export leaves no half file."""
    if name in (None, "-"):
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    path = Path(name)
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise FileProblem(f"cannot write to {path.parent}: {exc.strerror}") from None
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _jsonl_writer(out: IO[bytes]) -> Callable[[Mention], None]:
    def write(mention: Mention) -> None:
        out.write(orjson.dumps(mention.to_json_dict()) + b"\n")

    return write


CSV_COLUMNS = (
    "id",
    "platform",
    "created_at",
    "url",
    "text",
    "author_id",
    "author_name",
    "followers",
    "verified",
    "reposts",
    "comments",
    "likes",
    "sentiment",
    "brands",
    "keywords",
    "parent_id",
)


def _csv_writer(out: IO[bytes]) -> Callable[[Mention], None]:
    import io

    # utf-8 with a BOM: Excel, where PR teams open exports, then shows Chinese instead of mojibake.
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(CSV_COLUMNS)

    def write(mention: Mention) -> None:
        author = mention.author
        writer.writerow(
            (
                mention.id,
                mention.platform,
                mention.created_at.isoformat(),
                mention.url or "",
                mention.text,
                author.id if author else "",
                author.name if author else "",
                author.followers if author and author.followers is not None else "",
                "" if not author or author.verified is None else int(author.verified),
                mention.metrics.reposts,
                mention.metrics.comments,
                mention.metrics.likes,
                mention.sentiment_label or "",
                "|".join(mention.brands),
                "|".join(mention.keywords),
                mention.parent_id or "",
            )
        )

    return write


def _report_ingest(report: IngestReport, source: str, *, as_json: bool) -> int:
    status = "partial" if report.rejected else "ok"
    if as_json:
        summary = {
            "status": status,
            "lines": report.lines,
            "inserted": report.stored.inserted,
            "updated": report.stored.updated,
            "rejected": report.rejected,
            "errors": [{"line": error.line, "reason": error.reason} for error in report.errors],
        }
        sys.stdout.write(orjson.dumps(summary).decode() + "\n")
    else:
        for error in report.errors:
            print(f"{source}:{error}", file=sys.stderr)
        if report.rejected > len(report.errors):
            print(f"… and {report.rejected - len(report.errors):,} more rejected lines", file=sys.stderr)
        print(
            f"{status}: {report.stored.inserted:,} new, {report.stored.updated:,} updated, "
            f"{report.rejected:,} rejected of {report.lines:,} lines"
        )
    return EXIT_PARTIAL if report.rejected else EXIT_OK


def _print_overview(numbers: dict[str, Any]) -> None:
    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value:+.1%}"

    volume, share = numbers["volume"], numbers["negative_share"]
    print(f"{numbers['brand'] or '全部 all brands'}  {numbers['since'][:16]} → {numbers['until'][:16]}")
    print(f"  声量 volume        {volume['current']:>10,}  ({pct(volume['change'])} vs previous period)")
    current_share = "—" if share["current"] is None else f"{share['current']:.1%}"
    points = "—" if share["change"] is None else f"{share['change'] * 100:+.1f} pts"
    print(f"  负面占比 negative  {current_share:>10}  ({points})")
    print("  情感 sentiment     " + "  ".join(f"{label} {n:,}" for label, n in numbers["sentiment"].items()))
    print("  平台 platforms     " + "  ".join(f"{name} {n:,}" for name, n in numbers["platforms"].items()))
    words = "  ".join(f"{item['word']}({item['count']})" for item in numbers["top_keywords"])
    print(f"  热词 keywords      {words or '—'}")
    rising = "  ".join(f"{item['word']}(×{item['ratio']:g})" for item in numbers["rising_keywords"])
    print(f"  新热词 rising      {rising or '—'}")
    for item in numbers["top_authors"]:
        followers = "" if item["followers"] is None else f", {item['followers']:,} followers"
        print(f"  作者 {item['name'] or item['id']}: {item['mentions']} mentions{followers}")
    print("  daily:")
    for day in numbers["daily"]:
        print(f"    {day['date']}  {day['total']:>7,}  negative {day['negative']:,}")


# -- argument parsing ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="config file (default: $FENGXIANG_CONFIG or ./fengxiang.yaml)")

    parser = argparse.ArgumentParser(prog="fengxiang", description="风向 — social listening for PR teams")
    parser.add_argument("--version", action="version", version=f"fengxiang {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser("init", parents=[common], help="write a commented example fengxiang.yaml")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(run=cmd_init)

    check = commands.add_parser("check", parents=[common], help="validate the config and open the store")
    check.set_defaults(run=cmd_check)

    ingest_parser = commands.add_parser("ingest", parents=[common], help="store posts from a JSONL file")
    ingest_parser.add_argument("file", help="JSONL file, one post per line (- for standard input)")
    ingest_parser.add_argument("--json", action="store_true", help="print a machine-readable summary")
    ingest_parser.add_argument("--workers", type=int, help="processes preparing rows (default: by file size)")
    ingest_parser.set_defaults(run=cmd_ingest)

    export = commands.add_parser("export", parents=[common], help="write stored mentions out")
    _add_filters(export)
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("-o", "--output", help="file to write (default: standard output)")
    export.add_argument(
        "--corrected",
        action="store_true",
        help="only mentions whose sentiment a person corrected (for train-sentiment --extra)",
    )
    export.set_defaults(run=cmd_export)

    crawl_parser = commands.add_parser("crawl", parents=[common], help="crawl now, analyse and store")
    crawl_parser.add_argument("platforms", nargs="*", metavar="PLATFORM", help="default: every enabled source")
    crawl_parser.add_argument("--json", action="store_true", help="machine-readable outcome per source")
    crawl_parser.add_argument(
        "--enqueue", action="store_true", help="queue one item per (platform, term) for crawl-workers instead"
    )
    crawl_parser.set_defaults(run=cmd_crawl)

    worker = commands.add_parser(
        "crawl-worker", parents=[common], help="crawl (platform, term) items queued in distributed.redis"
    )
    worker.add_argument(
        "--once", action="store_true", help="exit when none of its platforms' items is left instead of waiting"
    )
    worker.add_argument(
        "--platforms", metavar="P1,P2", help="crawl only these platforms' items (default: every enabled search one)"
    )
    worker.set_defaults(run=cmd_crawl_worker)

    login = commands.add_parser("login", parents=[common], help="log in by QR code in a browser, save the cookies")
    login.add_argument("platform", metavar="PLATFORM", help="weibo")
    login.add_argument("--check", action="store_true", help="only test whether the saved or configured login works")
    login.add_argument("--headless", action="store_true", help="no browser window (for tests; nobody can scan)")
    login.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for the scan (default 180)")
    login.set_defaults(run=cmd_login)

    analyze = commands.add_parser("analyze", parents=[common], help="add sentiment, keywords, brands, simhash")
    analyze.add_argument("file", nargs="?", help="JSONL posts (default: standard input)")
    analyze.add_argument("-o", "--output", help="file to write (default: standard output)")
    analyze.set_defaults(run=cmd_analyze)

    reanalyze = commands.add_parser("reanalyze", parents=[common], help="re-tag stored mentions (after a model update)")
    reanalyze.add_argument("--brand", help="only this watchlist entry's mentions")
    reanalyze.add_argument(
        "--keep-idf", action="store_true", help="reuse the learned word frequencies instead of relearning them"
    )
    reanalyze.set_defaults(run=cmd_reanalyze)

    train_parser = commands.add_parser("train-sentiment", help="train the sentiment model on labelled JSONL")
    train_parser.add_argument("--data", help="the labelled Weibo data set directory (see its PROVENANCE.md)")
    train_parser.add_argument(
        "--extra", action="append", help="more labelled JSONL, e.g. corrected mentions (repeatable)"
    )
    train_parser.add_argument("-o", "--output", default="sentiment.npz", help="model file to write")
    train_parser.set_defaults(run=cmd_train_sentiment)

    stats = commands.add_parser("stats", parents=[common], help="volume, sentiment, trend, keywords, authors")
    stats.add_argument("--brand", help="a watchlist entry's name (default: all mentions)")
    stats.add_argument("--since", default="7d", help="7d, 24h or a date (default: 7d)")
    stats.add_argument("--until", help="a duration back from now or a date (default: now)")
    stats.add_argument("--top", type=int, default=10, help="how many keywords and authors")
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    stats.set_defaults(run=cmd_stats)

    kol = commands.add_parser("kol", parents=[common], help="KOL candidates per brand, with their score components")
    kol.add_argument("--brand", help="a watchlist entry's name (default: every entry)")
    kol.add_argument("--since", help="30d, 7d or a date (default: kol.window, 30d)")
    kol.add_argument("--until", help="a duration back from now or a date (default: now)")
    kol.add_argument(
        "--segment",
        type=_segment,
        help="every author of this segment instead of the candidates: "
        "官方|official 媒体|media KOL|kol 普通用户|regular 疑似水军|spam",
    )
    kol.add_argument("--all", action="store_true", help="every author of the window, candidate or not")
    kol.add_argument("--limit", type=int, default=20, help="authors per brand (20)")
    kol.add_argument("--json", action="store_true", help="machine-readable output")
    kol.set_defaults(run=cmd_kol)

    dashboard = commands.add_parser("dashboard", parents=[common], help="start the Streamlit dashboard")
    dashboard.add_argument("--port", type=int, help="port to listen on (default: dashboard.port, 8501)")
    dashboard.add_argument("--address", help="address to listen on (default: dashboard.address, 127.0.0.1)")
    dashboard.add_argument(
        "--hash-password", action="store_true", help="print a password hash for dashboard.password_hash and exit"
    )
    dashboard.set_defaults(run=cmd_dashboard)

    run = commands.add_parser("run", parents=[common], help="the 24×7 service: crawl, alert, report on schedule")
    run.add_argument(
        "--once", action="store_true", help="one cycle (every crawl, then the alert rules and sending) and exit"
    )
    run.add_argument("--json", action="store_true", help="with --once: machine-readable outcome per job")
    run.set_defaults(run=cmd_run)

    demo = commands.add_parser("demo", help="offline end-to-end demo on the sandbox, then the dashboard")
    demo.add_argument("--folder", help="where to write the demo's config and store (default: a new temporary folder)")
    demo.add_argument("--no-dashboard", action="store_true", help="stop after the cycle (for scripted checks)")
    demo.add_argument("--port", type=int, help="the dashboard's port (default: a free one)")
    demo.set_defaults(run=cmd_demo)

    status = commands.add_parser("status", parents=[common], help="the service's jobs, sources and outbox")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(run=cmd_status)

    migrate_parser = commands.add_parser(
        "migrate", help="copy a store into another (SQLite ⇄ Elasticsearch); a rerun resumes"
    )
    migrate_parser.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="URL",
        help="the store to copy: sqlite:///PATH or http(s)://HOST:9200",
    )
    migrate_parser.add_argument(
        "--to",
        dest="destination",
        required=True,
        metavar="URL",
        help="the store to fill: new, or this migration's earlier run",
    )
    migrate_parser.add_argument("--batch", type=int, default=2000, help="mentions per write and checkpoint (2000)")
    migrate_parser.add_argument(
        "--restart", action="store_true", help="copy everything again instead of resuming or stopping at a finished run"
    )
    migrate_parser.add_argument(
        "--into-nonempty", action="store_true", help="merge into a store that already holds data of its own"
    )
    migrate_parser.set_defaults(run=cmd_migrate)

    _add_alert_commands(commands, common)
    report_commands.add_parser(commands, common)
    return parser


def _add_alert_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    alerts = commands.add_parser("alerts", help="evaluate alert rules, send test messages, list incidents")
    actions = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    run = actions.add_parser("run", parents=[common], help="evaluate every rule once and deliver the messages")
    run.add_argument("--at", help="evaluate as of this past time (a date or 2h), e.g. to replay an incident")
    run.add_argument(
        "--wait", type=float, default=120, help="seconds to keep delivering through rate limits and retries (120)"
    )
    test = actions.add_parser("test", parents=[common], help="send one test message to each channel")
    listing = actions.add_parser("list", parents=[common], help="show incidents")
    listing.add_argument("--status", choices=("open", "resolved", "all"), default="all")
    listing.add_argument("--brand", help="a watchlist entry's name")
    listing.add_argument("--since", default="7d", help="7d, 24h or a date (default: 7d)")
    listing.add_argument("--limit", type=int, default=50)
    backtest = actions.add_parser("backtest", parents=[common], help="what each rule would have fired in the past")
    backtest.add_argument("--days", type=int, default=30, help="how many days back to replay (30)")
    backtest.add_argument("--brand", help="a watchlist entry's name (default: every entry)")
    for action in (run, test, listing, backtest):
        action.add_argument("--json", action="store_true", help="machine-readable output")
        action.set_defaults(run=cmd_alerts)


def _add_filters(command: argparse.ArgumentParser) -> None:
    command.add_argument("--brand", help="a watchlist entry's name")
    command.add_argument("--since", help="7d, 24h or a date such as 2026-11-01")
    command.add_argument("--until", help="a duration back from now or a date")
    command.add_argument("--sentiment", action="append", choices=("negative", "neutral", "positive", "unlabeled"))
    command.add_argument("--platform", action="append", help="weibo, bilibili, … (repeatable)")
    command.add_argument("--query", help='text query, e.g. "刹车 OR 自燃"')


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"fengxiang {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (
        StoreError,
        FileProblem,
        ModelFileError,
        ServiceAlreadyRunning,
        RedisUnavailable,
    ) as exc:  # ModelFileError: nlp.sentiment.model unusable
        print(f"fengxiang {args.command}: {exc}", file=sys.stderr)
        return EXIT_STORE
    except BrokenPipeError:  # `fengxiang export | head` closed the pipe: not an error
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        print(f"fengxiang {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
