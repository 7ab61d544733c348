"""Sentiment engines: the model trained in this repo (default) and SnowNLP (the baseline)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from nlp.sentiment.engines import ENGINES, LinearEngine, SnowNLPEngine, engine_named

__all__ = ["ENGINES", "LinearEngine", "SentimentEngine", "SnowNLPEngine", "engine_named"]


class SentimentEngine(Protocol):
    name: str

    def predict(self, posts: Sequence[tuple[str, Sequence[str]]]) -> list[dict[str, object]]:
        """``{"label": ..., "probs": {...}}`` for each (normalized text, tokens) pair."""
        ...
