"""The visibility clock every platform replica shares, and how their searches find and highlight.

A replica's world is built up to ``now`` at once, but it only *shows* what was posted up to
``visible_until``; tests and the soak benchmark move that forward (``advance``) to play new posts
arriving between two crawls. :class:`NewestFirst` keeps a replica's items newest first, so the
visible ones are a suffix found by bisection.
"""

from __future__ import annotations

import bisect
import html
import re
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from sandbox.server import Request, Response

__all__ = ["NewestFirst", "VisibilityClock", "advance_handler", "highlight"]

T = TypeVar("T")


class VisibilityClock:
    """Thread-safe: the sandbox serves requests from many threads while a test moves the clock."""

    def __init__(self, now: datetime, visible_until: datetime) -> None:
        self.now = now
        self._visible_until = min(visible_until, now)
        self._lock = threading.Lock()

    @property
    def visible_until(self) -> datetime:
        return self._visible_until

    def advance(self, minutes: float) -> datetime:
        """Reveal the posts of the next ``minutes`` (never past ``now``); returns the new ``visible_until``."""
        if not minutes >= 0:  # also refuses NaN
            raise ValueError(f"minutes must be >= 0, got {minutes}")
        with self._lock:
            self._visible_until = min(self._visible_until + timedelta(minutes=minutes), self.now)
            return self._visible_until

    def shows(self, created_at: datetime) -> bool:
        return created_at <= self._visible_until


class NewestFirst(Generic[T]):
    """Items sorted newest first, where the visible ones start, and a platform search over their text."""

    def __init__(
        self, items: Sequence[T], created_at: Callable[[T], datetime], text: Callable[[T], str] = lambda _: ""
    ) -> None:
        self.items = tuple(sorted(items, key=created_at, reverse=True))
        self._negated_times = [-created_at(item).timestamp() for item in self.items]  # ascending, for bisect
        self._haystacks = [text(item).lower() for item in self.items]  # searched on every request: once

    def first_visible(self, until: datetime) -> int:
        return bisect.bisect_left(self._negated_times, -until.timestamp())

    def visible(self, until: datetime) -> tuple[T, ...]:
        return self.items[self.first_visible(until) :]

    def search(self, keyword: str, until: datetime) -> list[T]:
        """The visible items whose text holds ``keyword`` (case folded), newest first."""
        needle = keyword.strip().lower()
        if not needle:
            return []
        start = self.first_visible(until)
        return [self.items[i] for i in range(start, len(self.items)) if needle in self._haystacks[i]]


def highlight(text: str, keyword: str, tag: str = "em") -> str:
    """HTML-escaped text with every occurrence of ``keyword`` (any case) in ``<tag>``, as search pages show
    results (``tag`` may carry attributes: ``em class="keyword"``)."""
    needle = keyword.strip()
    if not needle:
        return html.escape(text)
    pieces = re.split(f"({re.escape(needle)})", text, flags=re.IGNORECASE)
    closing = tag.split()[0]
    return "".join(
        f"<{tag}>{html.escape(piece)}</{closing}>" if index % 2 else html.escape(piece)
        for index, piece in enumerate(pieces)
    )


def advance_handler(clock: VisibilityClock, envelope: Callable[[bool, str], dict]) -> Callable[[Request], Response]:
    """The ``POST /__sandbox__/<platform>/advance {"minutes": N}`` control endpoint. ``envelope(ok,
    message)`` gives the platform's own status fields (Weibo's ``ok``/``msg``, Bilibili's ``code``/``message``)."""

    def handle(request: Request) -> Response:
        if request.method != "POST":
            return Response.json(envelope(False, 'POST {"minutes": N}'), status=405)
        try:
            spec = request.json()
            minutes = float(spec["minutes"]) if isinstance(spec, dict) else float("nan")
            until = clock.advance(minutes)
        except (ValueError, KeyError, TypeError) as error:
            return Response.json(envelope(False, f'send {{"minutes": N}} with N >= 0 ({error})'), status=400)
        return Response.json({**envelope(True, "0"), "visible_until": until.isoformat()})

    return handle
