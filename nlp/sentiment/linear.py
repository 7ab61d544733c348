"""A linear 3-class sentiment model over TF-IDF features, stored as plain arrays.

File format (``.npz``, read with ``allow_pickle=False``, so loading a model never runs code):

* ``features``: the vocabulary, one UTF-8 string per feature joined by ``\\n``, as a uint8 array;
* ``idf`` (float32, one per feature) and ``coef`` (float16, features × classes);
* ``intercept`` (float32, one per class), ``labels`` (the class names, ``\\n``-joined, uint8);
* ``meta``: UTF-8 JSON (uint8 array) with the training data, feature version and metrics.

A post's vector is sublinear TF (``1 + ln tf``) × IDF, L2-normalised — scikit-learn's
``TfidfVectorizer(sublinear_tf=True)`` — and the class probabilities are the softmax of
``vector · coef + intercept`` (multinomial logistic regression).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_VERSION = 1


class ModelFileError(Exception):
    """The model file is missing, damaged or of another version."""


@dataclass(frozen=True)
class LinearModel:
    labels: tuple[str, ...]
    vocabulary: dict[str, int]
    idf: np.ndarray  # float32 [features]
    coef: np.ndarray  # float32 [features, classes]
    intercept: np.ndarray  # float32 [classes]
    meta: dict[str, Any] = field(default_factory=dict)

    def predict_proba(self, documents: Sequence[Mapping[str, int]]) -> np.ndarray:
        """Class probabilities, one row per document of feature counts."""
        rows: list[int] = []
        columns: list[int] = []
        values: list[int] = []
        lookup = self.vocabulary.get
        for row, counts in enumerate(documents):
            for feature, count in counts.items():
                column = lookup(feature)
                if column is not None:
                    rows.append(row)
                    columns.append(column)
                    values.append(count)
        n_documents = len(documents)
        scores = np.tile(self.intercept, (n_documents, 1))
        if values:
            row_index = np.asarray(rows, dtype=np.intp)
            column_index = np.asarray(columns, dtype=np.intp)
            weights = (1.0 + np.log(np.asarray(values, dtype=np.float32))) * self.idf[column_index]
            norms = np.sqrt(np.bincount(row_index, weights=weights * weights, minlength=n_documents))
            weights = weights / norms[row_index]
            contributions = self.coef[column_index] * weights[:, None]
            for label in range(len(self.labels)):
                scores[:, label] += np.bincount(row_index, weights=contributions[:, label], minlength=n_documents)
        scores -= scores.max(axis=1, keepdims=True)
        probabilities = np.exp(scores)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        return probabilities

    def save(self, path: Path) -> None:
        features = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as file:
            np.savez_compressed(
                file,
                features=_text_array("\n".join(features)),
                idf=self.idf.astype(np.float32),
                coef=self.coef.astype(np.float16),
                intercept=self.intercept.astype(np.float32),
                labels=_text_array("\n".join(self.labels)),
                meta=_text_array(json.dumps({**self.meta, "format_version": FORMAT_VERSION}, ensure_ascii=False)),
            )

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        try:
            with np.load(path, allow_pickle=False) as arrays:
                meta = json.loads(_text(arrays["meta"]))
                if meta.get("format_version") != FORMAT_VERSION:
                    raise ModelFileError(
                        f"{path}: model format {meta.get('format_version')} is not {FORMAT_VERSION}"
                        " — retrain it with `fengxiang train-sentiment`"
                    )
                features = _text(arrays["features"]).split("\n")
                model = cls(
                    labels=tuple(_text(arrays["labels"]).split("\n")),
                    vocabulary={feature: index for index, feature in enumerate(features)},
                    idf=arrays["idf"].astype(np.float32),
                    coef=arrays["coef"].astype(np.float32),
                    intercept=arrays["intercept"].astype(np.float32),
                    meta=meta,
                )
        except (OSError, KeyError, ValueError) as exc:
            raise ModelFileError(f"{path}: not a readable sentiment model ({exc}) — retrain or reinstall it") from exc
        if model.coef.shape != (len(features), len(model.labels)) or model.idf.shape != (len(features),):
            raise ModelFileError(f"{path}: arrays do not fit together — the file is damaged; retrain it")
        return model


def _text_array(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def _text(array: np.ndarray) -> str:
    return array.tobytes().decode("utf-8")
