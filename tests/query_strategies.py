"""Hypothesis strategies for query trees, shared by the property tests of every query compiler."""

from __future__ import annotations

from hypothesis import strategies as st

from fengxiang.query import And, Node, Not, Or, Term
from fengxiang.textmatch import fold


def query_terms(pieces: list[str]) -> st.SearchStrategy[str]:
    """Terms glued from up to three pieces; never one that folds to nothing."""
    return st.lists(st.sampled_from(pieces), min_size=1, max_size=3).map("".join).filter(lambda s: fold(s) != "")


def query_trees(pieces: list[str], *, max_leaves: int) -> st.SearchStrategy[Node]:
    return st.recursive(
        query_terms(pieces).map(Term),
        lambda children: st.one_of(
            children.map(Not),
            st.lists(children, min_size=2, max_size=3).map(lambda items: And(tuple(items))),
            st.lists(children, min_size=2, max_size=3).map(lambda items: Or(tuple(items))),
        ),
        max_leaves=max_leaves,
    )
