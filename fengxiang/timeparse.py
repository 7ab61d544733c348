"""``--since`` / ``--until`` values: a duration back from now (``7d``, ``36h``) or a date/time."""

from __future__ import annotations

from datetime import datetime, tzinfo

from fengxiang.config import parse_duration


def parse_time(text: str, *, now: datetime, zone: tzinfo) -> datetime:
    """``7d`` → seven days before ``now``; ``2026-11-01`` → that midnight in ``zone``;
    ``2026-11-01T08:30`` (optionally with an offset) → that moment."""
    text = text.strip()
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"cannot read the time {text!r} — write a duration back from now such as 7d or 36h, "
            "or a date such as 2026-11-01 (optionally with a time: 2026-11-01T08:30)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)
