"""Which watchlist entries a post mentions: the ``brands`` tag, decided by the entries' queries."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fengxiang.query import compile_matcher, parse


class BrandTagger:
    """Callable on folded text, returning the names of the matching entries in watchlist order.

    Built from plain ``(name, query)`` pairs so it can be rebuilt inside import worker processes.
    """

    def __init__(self, entries: Sequence[tuple[str, str]]) -> None:
        self.entries = tuple(entries)
        self._matchers: list[tuple[str, Callable[[str], bool]]] = [
            (name, compile_matcher(parse(query))) for name, query in self.entries
        ]

    def __call__(self, folded_text: str) -> list[str]:
        return [name for name, matches in self._matchers if matches(folded_text)]

    def __reduce__(self) -> tuple[type[BrandTagger], tuple[tuple[tuple[str, str], ...]]]:
        return (BrandTagger, (self.entries,))
