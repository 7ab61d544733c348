"""Train the shipped sentiment model: ``fengxiang train-sentiment``.

Reproducible: the same files give the same model (fixed solver, no random state involved).
Training reads JSONL lines with ``text`` and a ``sentiment`` that is a label or ``{"label": ...}``
(so corrected mentions exported from the store are training data as they are); lines without a
label are skipped and counted.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fengxiang.textmatch import fold
from nlp.sentiment.features import features
from nlp.sentiment.linear import LinearModel
from nlp.tokenizer import Tokenizer
from store.model import SENTIMENT_LABELS

# The shipped model's training files, inside the data set directory (PROVENANCE.md there).
DEFAULT_TRAINING_FILES = ("smp2020_usual_train.jsonl", "smp2020_virus_train.jsonl")
MIN_DOCUMENT_FREQUENCY = 3  # rarer features are typos and names; dropping them halves the model at no loss
REGULARISATION_C = 4.0  # chosen on a split of the training files, never on the eval files


class TrainingDataError(Exception):
    """A training file is missing or has no usable lines."""


@dataclass
class TrainingSet:
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)  # reason → lines
    files: list[str] = field(default_factory=list)


def read_labelled(paths: Iterable[Path]) -> TrainingSet:
    data = TrainingSet()
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise TrainingDataError(f"{path}: cannot read it ({exc}) — give a UTF-8 JSONL file") from exc
        before = len(data.texts)
        for line in lines:
            if not line.strip():
                continue
            text, label, problem = _labelled(line)
            if problem:
                data.skipped[problem] += 1
                continue
            data.texts.append(text)
            data.labels.append(label)
        if len(data.texts) == before:
            raise TrainingDataError(
                f"{path}: no line has both text and a sentiment label (negative, neutral or positive)"
            )
        data.files.append(path.name)
    return data


def _labelled(line: str) -> tuple[str, str, str]:
    """(text, label, problem) — problem is "" for a usable line."""
    try:
        row = json.loads(line)
    except ValueError:
        return "", "", "not JSON"
    if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not row["text"].strip():
        return "", "", "no text"
    sentiment = row.get("sentiment")
    label = sentiment.get("label") if isinstance(sentiment, dict) else sentiment
    if label is None:
        return "", "", "no label"
    if label not in SENTIMENT_LABELS:
        return "", "", f"unknown label {label!r}"
    return row["text"], label, ""


def featurize(texts: Sequence[str], tokenizer: Tokenizer) -> Iterator[list[str]]:
    for text in texts:
        normalized = fold(text)
        yield features(normalized, tokenizer.tokens(normalized))


def train(data: TrainingSet, tokenizer: Tokenizer, *, regularisation: float = REGULARISATION_C) -> LinearModel:
    """Fit TF-IDF + multinomial logistic regression; scikit-learn is needed only here."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer=_as_given, min_df=MIN_DOCUMENT_FREQUENCY, sublinear_tf=True)
    matrix = vectorizer.fit_transform(list(featurize(data.texts, tokenizer)))
    classifier = LogisticRegression(C=regularisation, max_iter=3_000)
    classifier.fit(matrix, data.labels)
    order = [list(classifier.classes_).index(label) for label in SENTIMENT_LABELS]
    return LinearModel(
        labels=SENTIMENT_LABELS,
        vocabulary={feature: int(index) for feature, index in vectorizer.vocabulary_.items()},
        idf=vectorizer.idf_.astype(np.float32),
        coef=classifier.coef_[order].T.astype(np.float32),
        intercept=classifier.intercept_[order].astype(np.float32),
        meta={
            "trained_on": data.files,
            "examples": dict(Counter(data.labels)),
            "skipped": dict(data.skipped),
            "regularisation_c": regularisation,
            "min_document_frequency": MIN_DOCUMENT_FREQUENCY,
        },
    )


def _as_given(features: list[str]) -> list[str]:
    # The documents are feature lists already (nlp.sentiment.features); the vectorizer only counts.
    return features
