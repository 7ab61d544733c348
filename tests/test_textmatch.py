"""The full-text index document: folded text with every non-ASCII character spaced out."""

from __future__ import annotations

import pytest

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
