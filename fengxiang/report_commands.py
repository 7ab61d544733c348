"""``fengxiang report``: build one day's 舆情日报, write it (Markdown, HTML, PDF) and send its summary.

The service calls :func:`write_report_files` and :func:`queue_report` every morning; the command
adds the choice of day, the output paths, ``--pdf`` and an immediate delivery for ``--send``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from contextlib import closing
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from alerts.incidents import Policy, release_time
from alerts.sender import DrainReport
from crawlers.login import CHROMIUM, CHROMIUM_ARGS
from fengxiang import alert_commands
from fengxiang.command_errors import EXIT_OK, EXIT_PARTIAL, FileProblem, UsageError
from fengxiang.config import Config, load_config
from fengxiang.report import DailyReport, build_report
from fengxiang.report_render import summary_message, to_html, to_markdown
from store.base import NewOutboxItem, Store
from store.open import open_store

SEND_WAIT = timedelta(seconds=60)  # --send keeps delivering through a robot's rate limit this long
PDF_TIMEOUT = 120.0  # seconds Chromium may take to print the page


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    report = commands.add_parser("report", parents=[common], help="the daily report (舆情日报) of one day")
    report.add_argument("--date", default="yesterday", help="YYYY-MM-DD or yesterday (default), in config.timezone")
    report.add_argument("-o", "--output", help="Markdown file to write, with the HTML beside it (default: stdout)")
    report.add_argument("--pdf", action="store_true", help="also print the HTML to PDF beside -o (needs Chromium)")
    report.add_argument("--send", action="store_true", help="send the summary to every alerts channel (once a day)")
    report.add_argument("--json", action="store_true", help="print the report's data as JSON instead of Markdown")
    report.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(Path(args.config) if args.config else None)
    now = datetime.now(config.tzinfo)
    day = report_day(args.date, now)
    output = Path(args.output) if args.output else None
    if output is not None and output.suffix.lower() in (".html", ".pdf"):
        raise UsageError("-o names the Markdown file (like report.md): the HTML and PDF are written beside it")
    if args.pdf and output is None:
        raise UsageError("--pdf writes beside the Markdown file: add -o, like -o report.md --pdf")
    if args.send and not config.alerts.channels:
        raise UsageError("--send: no channel is configured — add one under alerts.channels (type: wecom, …)")
    with closing(open_store(config)) as store:
        report = build_report(store, config, day, now=now)
        if output is not None:
            written = _write_pair(report, output)
            if args.pdf:
                written.append(print_pdf(written[1], output.with_suffix(".pdf")))
            print("wrote " + ", ".join(str(path) for path in written), file=sys.stderr)
        if args.json:
            sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
        elif output is None:
            sys.stdout.write(to_markdown(report))
        return _send(store, config, report, now) if args.send else EXIT_OK


def report_day(text: str, now: datetime) -> date:
    """``yesterday`` or a ``YYYY-MM-DD`` no later than today (a report of today covers the hours so far)."""
    today = now.date()
    if text.strip().lower() == "yesterday":
        return today - timedelta(days=1)
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--date {text!r} is not a date — write YYYY-MM-DD, like 2026-11-28, or yesterday") from None
    if day > today:
        raise UsageError(f"--date {day} is in the future (today is {today}) — a report covers a day that began")
    return day


def write_report_files(report: DailyReport, folder: Path) -> list[Path]:
    """The day's Markdown and HTML in ``folder`` (created when missing), named like 2026-11-28.md / .html."""
    return _write_pair(report, folder / f"{report.day.isoformat()}.md")


def queue_report(store: Store, config: Config, report: DailyReport, now: datetime) -> int:
    """Queue the summary for every configured channel; how many were new (a day is queued once per channel).

    Quiet hours hold it like any non-urgent message: a day's summary can wait for the morning."""
    message = summary_message(report, config.alerts.dashboard_url)
    not_before = release_time(now, "low", Policy.from_config(config))
    items = [
        NewOutboxItem(
            channel=channel.label,
            kind="report",
            message=message,
            dedupe_key=f"report:{report.day.isoformat()}:{channel.label}",
            not_before=not_before,
        )
        for channel in config.alerts.channels
    ]
    return store.enqueue(items, now=now)


def print_pdf(html: Path, pdf: Path) -> Path:
    """Print ``html`` to ``pdf`` with the system Chromium (headless)."""
    if not CHROMIUM.exists():
        raise FileProblem(
            f"--pdf needs Chromium at {CHROMIUM} — install it with `make system` or `sudo apt-get install chromium`"
        )
    with tempfile.TemporaryDirectory(prefix="fengxiang-pdf-") as profile:  # no lock on the user's own profile
        command = [
            str(CHROMIUM),
            "--headless",
            *CHROMIUM_ARGS,
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf.resolve()}",
            html.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=PDF_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise FileProblem(f"Chromium did not print {pdf} within {PDF_TIMEOUT:g} s") from None
    if done.returncode != 0 or not pdf.exists():
        reason = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise FileProblem(f"Chromium could not print {pdf} (exit {done.returncode}): {reason[0]}")
    return pdf


def _write_pair(report: DailyReport, markdown: Path) -> list[Path]:
    html = markdown.with_suffix(".html")
    for path, text in ((markdown, to_markdown(report)), (html, to_html(report))):
        _write_atomic(path, text)
    return [markdown, html]


def _write_atomic(path: Path, text: str) -> None:
    """A temporary file renamed over ``path`` (its folder created when missing): never half a report."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise FileProblem(f"cannot write to {path.parent}: {exc.strerror}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _send(store: Store, config: Config, report: DailyReport, now: datetime) -> int:
    queued = queue_report(store, config, report, now)
    already = "" if queued else " (already queued before: a day's summary goes out once)"
    print(f"summary of {report.day}: {queued} message(s) queued{already}", file=sys.stderr)
    delivery = alert_commands.deliver(store, config, SEND_WAIT)
    alert_commands.print_delivery(delivery, out=sys.stderr)
    return EXIT_PARTIAL if isinstance(delivery, DrainReport) and delivery.failed else EXIT_OK
