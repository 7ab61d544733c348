"""The service's logs: JSON lines in a rotating file (for machines), one readable line on stderr
(for people), and no secret in either.

Every record passes :class:`SecretFilter`, which replaces each secret the config holds (webhook
URLs and their keys, signing secrets, cookies, the passwords in the store's and Redis' URLs) wherever
it appears — in the message, its arguments, an exception's text — so a library that logs a URL cannot
leak it either.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from fengxiang.config import Config

__all__ = ["JsonLines", "SecretFilter", "configure_logging", "event", "secrets_of"]

LOGGER = "fengxiang"
_MASK = "***"
_MIN_SECRET = 6  # shorter values would mask ordinary words
_MAX_BYTES, _BACKUPS = 10 * 1024 * 1024, 5


def event(log: logging.Logger, what: str, *, level: int = logging.INFO, **fields: object) -> None:
    """Log ``what`` with machine-readable ``fields`` (they become keys of the JSON line)."""
    suffix = " ".join(f"{key}={value}" for key, value in fields.items() if value is not None)
    log.log(level, f"{what} {suffix}".rstrip(), extra={"fields": fields, "event": what})


def secrets_of(config: Config) -> set[str]:
    """Every secret value in the config, with the parts of a webhook URL that work on their own."""
    values: set[str] = set()
    for channel in config.alerts.channels:
        url = channel.webhook.get_secret_value()
        values.add(url)
        parts = urlsplit(url)
        values.update(value for _, value in parse_qsl(parts.query))  # WeCom's key=, DingTalk's access_token=
        values.update(segment for segment in parts.path.split("/") if len(segment) >= 16)  # Feishu's hook token
        if channel.secret is not None:
            values.add(channel.secret.get_secret_value())
    for source in config.sources.values():
        if source.cookie is not None:
            cookie = source.cookie.get_secret_value()
            values.add(cookie)
            values.update(part.partition("=")[2].strip() for part in cookie.split(";"))
    values.add(urlsplit(config.store).password or "")  # store: https://user:password@host:9200 (Elasticsearch)
    if config.distributed is not None:  # redis://user:password@host: the whole URL, and the password alone
        url = config.distributed.redis.get_secret_value()
        values.update((url, urlsplit(url).password or ""))
    return {value for value in values if len(value) >= _MIN_SECRET}


class SecretFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.update(secrets)

    def update(self, secrets: Iterable[str]) -> None:
        """New secrets after a config reload; longest first, so a URL is masked before its key."""
        self._secrets = sorted(set(secrets), key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.scrub(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            record.fields = {
                key: self.scrub(str(value)) if isinstance(value, str) else value for key, value in fields.items()
            }
        return True


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": getattr(record, "event", None) or record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update({key: value for key, value in fields.items() if key not in line})
        if record.exc_text:
            line["error"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(config: Config, log_file: Path, *, screen_level: int = logging.INFO) -> SecretFilter:
    """Send fengxiang's and APScheduler's logs to ``log_file`` and (from ``screen_level`` up) to stderr;
    return the secret filter (the service updates it when the config is reloaded)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    secrets = SecretFilter(secrets_of(config))
    to_file = logging.handlers.RotatingFileHandler(
        log_file, maxBytes=_MAX_BYTES, backupCount=_BACKUPS, encoding="utf-8"
    )
    to_file.setFormatter(JsonLines())
    to_screen = logging.StreamHandler(sys.stderr)
    to_screen.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S"))
    to_screen.setLevel(screen_level)
    for handler in (to_file, to_screen):
        handler.addFilter(secrets)  # on the handler: records of every logger pass it, not only "fengxiang"'s
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(to_file)
    root.addHandler(to_screen)
    root.setLevel(logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # its run and skip lines repeat ours
    return secrets
