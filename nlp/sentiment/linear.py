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
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from nlp.sentiment.features import MAX_CHARS, MAX_NGRAM, WORD_PREFIX

FORMAT_VERSION = 2  # 2: word features are prefixed "w::"


class ModelFileError(Exception):
    """The model file is missing, damaged or of another version."""


_CODE_POINT_BITS = 21  # Unicode ends at U+10FFFF: three code points pack into one uint64


@dataclass(frozen=True)
class _FeatureIndex:
    """The vocabulary split for fast lookup: words in a dict (by token, without the prefix), and
    character n-grams of each length as sorted packed keys beside their columns."""

    words: dict[str, int]
    gram_keys: tuple[np.ndarray, ...]  # [n - 1]: sorted uint64 keys of the n-grams
    gram_columns: tuple[np.ndarray, ...]  # [n - 1]: the column of each key

    @classmethod
    def of(cls, vocabulary: Mapping[str, int]) -> _FeatureIndex:
        words = {}
        grams: list[list[tuple[int, int]]] = [[] for _ in range(MAX_NGRAM)]
        for feature, column in vocabulary.items():
            if feature.startswith(WORD_PREFIX):
                words[feature.removeprefix(WORD_PREFIX)] = column
            else:
                grams[len(feature) - 1].append((_pack(feature), column))
        keys, columns = [], []
        for entries in grams:
            entries.sort()
            keys.append(np.array([key for key, _ in entries], dtype=np.uint64))
            columns.append(np.array([column for _, column in entries], dtype=np.int64))
        return cls(words, tuple(keys), tuple(columns))

    def char_gram_columns(self, texts: Sequence[str]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(rows, columns) of every known character n-gram occurrence in the texts."""
        code_points = [
            np.frombuffer(text[:MAX_CHARS].encode("utf-32-le", "surrogatepass"), dtype=np.uint32) for text in texts
        ]
        lengths = np.fromiter(map(len, code_points), np.int64, len(texts))
        codes = np.concatenate(code_points).astype(np.uint64) if texts else np.zeros(0, np.uint64)
        document = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        rows, columns = [], []
        for n in range(1, MAX_NGRAM + 1):
            count = len(codes) - n + 1
            if count <= 0:
                break
            keys = codes[:count].copy()
            for offset in range(1, n):
                keys = (keys << np.uint64(_CODE_POINT_BITS)) | codes[offset : offset + count]
            inside = document[:count] == document[n - 1 : n - 1 + count]  # not across two posts
            if n == 1:
                inside &= codes != ord(" ")  # a space alone is no feature
            keys, owners = keys[inside], document[:count][inside]
            known_keys = self.gram_keys[n - 1]
            if not len(known_keys):
                continue
            at = np.minimum(np.searchsorted(known_keys, keys), len(known_keys) - 1)
            hit = known_keys[at] == keys
            rows.append(owners[hit])
            columns.append(self.gram_columns[n - 1][at[hit]])
        return rows, columns


def _pack(gram: str) -> int:
    key = 0
    for char in gram:
        key = (key << _CODE_POINT_BITS) | ord(char)
    return key


@dataclass(frozen=True)
class LinearModel:
    labels: tuple[str, ...]
    vocabulary: dict[str, int]
    idf: np.ndarray  # float32 [features]
    coef: np.ndarray  # float32 [features, classes]
    intercept: np.ndarray  # float32 [classes]
    meta: dict[str, Any] = field(default_factory=dict)

    def predict_proba(
        self, posts: Sequence[tuple[str, Sequence[str]]], bias: Mapping[str, float] | None = None
    ) -> np.ndarray:
        """Class probabilities, one row per (normalized text, tokens) pair — the features of
        :func:`nlp.sentiment.features.features`, found without building them: the character
        n-grams of the whole batch are packed into integers and looked up with one binary search
        per n-gram length, so per post Python only looks up its words. ``bias`` adds log-odds to
        the named classes."""
        n_documents = len(posts)
        index = self._index
        row_parts, column_parts = index.char_gram_columns([text for text, _ in posts])
        word_columns = [[index.words.get(token, -1) for token in tokens] for _, tokens in posts]
        word_rows = np.repeat(np.arange(n_documents, dtype=np.int64), [len(columns) for columns in word_columns])
        rows = np.concatenate([*row_parts, word_rows])
        columns = np.concatenate([*column_parts, np.fromiter(chain.from_iterable(word_columns), np.int64)])
        known = columns >= 0
        width = len(self.idf)
        # One entry per (document, feature) with its count, all in one sort.
        pairs, counts = np.unique(rows[known] * width + columns[known], return_counts=True)
        row_index, column_index = np.divmod(pairs, width)
        weights = (1.0 + np.log(counts)) * self.idf[column_index]
        norms = np.sqrt(np.bincount(row_index, weights=weights * weights, minlength=n_documents))
        weights /= norms[row_index]
        scores = np.tile(self.intercept.astype(np.float64), (n_documents, 1))
        for column in range(len(self.labels)):
            scores[:, column] += np.bincount(
                row_index, weights=self.coef[column_index, column] * weights, minlength=n_documents
            )
        for label, extra in (bias or {}).items():
            scores[:, self.labels.index(label)] += extra
        scores -= scores.max(axis=1, keepdims=True)
        probabilities = np.exp(scores)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        return probabilities

    @cached_property
    def _index(self) -> _FeatureIndex:
        return _FeatureIndex.of(self.vocabulary)

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
                if not isinstance(meta, dict):
                    raise ValueError("its meta is not a JSON object")
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
        # A truncated or corrupted .npz fails in zipfile (BadZipFile, bad CRC) or zlib, not with an OSError.
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise ModelFileError(f"{path}: not a readable sentiment model ({exc}) — retrain or reinstall it") from exc
        if model.coef.shape != (len(features), len(model.labels)) or model.idf.shape != (len(features),):
            raise ModelFileError(f"{path}: arrays do not fit together — the file is damaged; retrain it")
        return model


def _text_array(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def _text(array: np.ndarray) -> str:
    return array.tobytes().decode("utf-8")
