"""The two sentiment engines behind ``nlp.sentiment.engine`` in the config."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path

from nlp.sentiment.linear import LinearModel

SHIPPED_MODEL = "weibo-3class.npz"
_DECIMALS = 3


def shipped_model_path() -> Path:
    return Path(str(resources.files("nlp.sentiment").joinpath("model", SHIPPED_MODEL)))


@cache
def _load(path: Path) -> LinearModel:
    # Loaded on first use and once per process: reading the arrays takes a fraction of a second.
    return LinearModel.load(path)


class LinearEngine:
    """The model trained by ``fengxiang train-sentiment`` (the shipped one unless a path is given).

    ``negative_bias`` adds that many log-odds to the negative class before the softmax: a PR team
    that would rather read a few extra posts than miss a complaint trades precision for recall
    (0.6 lifts negative recall by about five points on the SMP2020 eval files; see the README).
    """

    name = "model"

    def __init__(self, model_path: Path | None = None, negative_bias: float = 0.0) -> None:
        self.model_path = model_path or shipped_model_path()
        self.negative_bias = negative_bias

    @property
    def model(self) -> LinearModel:
        return _load(self.model_path)

    def predict(self, posts: Sequence[tuple[str, Sequence[str]]]) -> list[dict[str, object]]:
        model = self.model
        probabilities = model.predict_proba(posts, bias={"negative": self.negative_bias})
        labels = model.labels
        return [
            {
                "label": labels[int(row.argmax())],
                "probs": {label: round(float(p), _DECIMALS) for label, p in zip(labels, row, strict=True)},
            }
            for row in probabilities
        ]

    def __reduce__(self) -> tuple[type[LinearEngine], tuple[Path, float]]:
        return (LinearEngine, (self.model_path, self.negative_bias))


class SnowNLPEngine:
    """SnowNLP's bundled model (trained on shopping reviews), kept as a selectable baseline.

    It gives one number p = P(positive); the three classes are spread over it as a triangle:
    neutral peaks at p = 0.5 (1 − |2p − 1|), the rest goes to the nearer pole, so the label is
    negative below p = 0.25, positive above 0.75 and neutral between.
    """

    name = "snownlp"

    def predict(self, posts: Sequence[tuple[str, Sequence[str]]]) -> list[dict[str, object]]:
        from snownlp import SnowNLP

        results: list[dict[str, object]] = []
        for text, _tokens in posts:
            positive = float(SnowNLP(text).sentiments) if text.strip() else 0.5
            neutral = 1 - abs(2 * positive - 1)
            probs = {
                "negative": round(max(0.0, 1 - positive - neutral / 2), _DECIMALS),
                "neutral": round(neutral, _DECIMALS),
                "positive": round(max(0.0, positive - neutral / 2), _DECIMALS),
            }
            label = max(probs, key=lambda name: probs[name])
            results.append({"label": label, "probs": probs})
        return results


ENGINES = {"model": LinearEngine, "snownlp": SnowNLPEngine}


def engine_named(name: str, model_path: Path | None = None, negative_bias: float = 0.0) -> LinearEngine | SnowNLPEngine:
    if name == "snownlp":
        return SnowNLPEngine()
    if name == "model":
        return LinearEngine(model_path, negative_bias)
    raise ValueError(f"unknown sentiment engine {name!r} — use one of: {', '.join(ENGINES)}")
