"""Post times as Chinese platforms print them, read into aware datetimes.

Newer API answers carry a full timestamp (``Sat Nov 22 10:00:00 +0800 2025``); older answers and
comment lists print times the way a phone screen does, relative to "now": ``刚刚``, ``5分钟前``,
``3小时前``, ``今天 10:00``, ``昨天 10:00``, ``11-20`` (this year) or ``2024-11-20``. Those are read
in the platform's zone (Beijing time) against the moment the page was fetched; their precision is
what the text gives (a minute, or a day for dates).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

__all__ = ["PLATFORM_ZONE", "TimeFormatError", "parse_post_time"]

PLATFORM_ZONE = ZoneInfo("Asia/Shanghai")

# Weibo's created_at, "Sat Nov 22 10:00:00 +0800 2025": read by hand, strptime is 20 times slower.
_ABSOLUTE = re.compile(r"^[A-Z][a-z]{2} ([A-Z][a-z]{2}) (\d{2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2}) (\d{4})$")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
_AGO = re.compile(r"^(\d+)\s*(秒|分钟|小时|天)前$")
_AGO_UNITS = {"秒": "seconds", "分钟": "minutes", "小时": "hours", "天": "days"}
_DAY_AND_CLOCK = re.compile(r"^(今天|昨天|前天)\s*(\d{1,2}):(\d{2})$")
_DAYS_BACK = {"今天": 0, "昨天": 1, "前天": 2}
_DATE = re.compile(r"^(?:(\d{4})-)?(\d{1,2})-(\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?$")


class TimeFormatError(ValueError):
    """A time the crawler cannot read; the message quotes it so a new format gets noticed."""


def parse_post_time(text: object, *, now: datetime, zone: tzinfo = PLATFORM_ZONE) -> datetime:
    """Read one of the formats above; ``now`` must be aware (the fetch time)."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = text / 1000 if text > 10**11 else text  # some APIs send epoch milliseconds
        return datetime.fromtimestamp(seconds, zone)
    if not isinstance(text, str) or not text.strip():
        raise TimeFormatError(f"no post time in {text!r}")
    value = text.strip()
    if match := _ABSOLUTE.match(value):
        return _absolute(match, value)
    local_now = now.astimezone(zone).replace(microsecond=0)
    if value == "刚刚":
        return local_now
    if match := _AGO.match(value):
        return local_now - timedelta(**{_AGO_UNITS[match.group(2)]: int(match.group(1))})
    if match := _DAY_AND_CLOCK.match(value):
        day = local_now - timedelta(days=_DAYS_BACK[match.group(1)])
        return day.replace(hour=int(match.group(2)), minute=int(match.group(3)), second=0, microsecond=0)
    if match := _DATE.match(value):
        return _calendar_date(match, local_now, value)
    raise TimeFormatError(f"unknown post time format {value!r}")


def _absolute(match: re.Match[str], text: str) -> datetime:
    month_name, day, hour, minute, second, sign, offset_hours, offset_minutes, year = match.groups()
    offset = timedelta(hours=int(offset_hours), minutes=int(offset_minutes))
    try:
        return datetime(
            int(year),
            _MONTHS[month_name],
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=timezone(offset if sign == "+" else -offset),
        )
    except (KeyError, ValueError):
        raise TimeFormatError(f"not a calendar date: {text!r}") from None


def _calendar_date(match: re.Match[str], local_now: datetime, text: str) -> datetime:
    year, month, day, hour, minute = match.groups()
    try:
        moment = local_now.replace(
            year=int(year) if year else local_now.year,
            month=int(month),
            day=int(day),
            hour=int(hour or 0),
            minute=int(minute or 0),
            second=0,
            microsecond=0,
        )
    except ValueError:
        raise TimeFormatError(f"not a calendar date: {text!r}") from None
    if not year and moment > local_now + timedelta(days=1):
        moment = moment.replace(year=moment.year - 1)  # "12-30" read on January 2nd is last year's
    return moment
