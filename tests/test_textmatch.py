"""Folding, and the full-text index document: folded text with every non-ASCII character spaced out."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fengxiang.textmatch import fold, index_document, index_document_folded


@pytest.mark.parametrize(
    ("text", "document"),
    [
        ("", ""),
        ("NIO ES8, a.nio!", "nio es8, a.nio!"),
        ("刹车", " 刹  车 "),
        ("小米SU7发布", " 小  米 su7 发  布 "),
        ("ＳＵ７ 😀", "su7  😀 "),
        ("café-2", "caf é -2"),
        ("e\u0301", " é "),
        ("蔚来\u200bNIO", " 蔚  来 nio"),
        ("a。b", "a 。 b"),
    ],
)
def test_index_document(text: str, document: str) -> None:
    assert index_document(text) == document
    assert index_document_folded(fold(text)) == document


def _reference_fold(text: str) -> str:
    """fold() without its shortcuts: what it must always equal."""
    without_zero_width = re.sub("[\u200b\u200c\u200d\u2060\ufeff]", "", text)
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", without_zero_width).lower()).strip()


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aAＡé\u0301 \t\n\u3000\u00a0\u2028\x1c\u200b\ufeff蔚来ﬁßİ①，。！"))))
def test_fold_shortcuts_change_nothing(text: str) -> None:
    assert fold(text) == _reference_fold(text)
