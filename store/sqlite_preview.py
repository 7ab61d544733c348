"""A quick count of what a text query matches in SQLite, for previews (the 监测词 editor).

Stops at a cap and at a time budget, reading ids only: a preview must answer while the user types.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from fengxiang.query import Query, compile_sql, fts_match_expression
from store.base import MatchSample

# Plans (the store's own search picks among the same three), measured on a 200,000-mention store
# built by fengxiang.synthetic: few full-text candidates → check just those (≈10 µs each); more →
# walk the window newest first, the candidates' rowids a cheap membership test before the exact
# check; very many → walk and check every text (≈2 µs), because collecting the candidates of the
# whole store would take longer than the walk. Walks yield matches newest first, so a count cut
# short by the budget is still a true lower bound and its first rows still the newest matches.
_FEW_CANDIDATES = 10_000
_CANDIDATE_CAP = 50_000
_PROGRESS_STEPS = 2_000  # SQLite virtual-machine steps between looks at the clock


def match_sample(path: Path, query: Query, window: list[int], cap: int, keep: int, budget: float) -> MatchSample:
    """The newest ``keep`` matches of ``window`` ([since, until) in Unix seconds), counted up to
    ``cap``, within ``budget`` seconds.

    A read-only connection of its own: the time budget (a progress handler) must not interrupt the
    store's connection, which other threads of the dashboard share.
    """
    deadline = time.perf_counter() + budget
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    try:
        conn.set_progress_handler(lambda: int(time.perf_counter() > deadline), _PROGRESS_STEPS)
        ids: list[str] = []
        found = 0
        try:
            for (mention_id,) in conn.execute(*_sqlite_plan(conn, query, window, cap)):
                if found < keep:
                    ids.append(mention_id)
                found += 1
        except sqlite3.OperationalError as err:
            if "interrupt" not in str(err):
                raise
            return MatchSample(ids, found, True)
        return MatchSample(ids, found, False)
    finally:
        conn.close()


def _sqlite_plan(conn: sqlite3.Connection, query: Query, window: list[int], cap: int) -> tuple[str, list[Any]]:
    expression = fts_match_expression(query)
    candidates = _CANDIDATE_CAP + 1
    if expression is not None:
        candidates = conn.execute(
            "SELECT count(*) FROM (SELECT rowid FROM mention_fts WHERE mention_fts MATCH ? LIMIT ?)",
            (expression, _CANDIDATE_CAP + 1),
        ).fetchone()[0]
    prefilter = candidates <= _CANDIDATE_CAP
    text = compile_sql(
        query, text_column="m.match_text", rowid_column="m.pk", fts_table="mention_fts", prefilter=prefilter
    )
    if candidates <= _FEW_CANDIDATES:
        sql = (
            f"SELECT m.id FROM mentions m WHERE m.created_at >= ? AND m.created_at < ? AND ({text.where})"
            " ORDER BY m.created_at DESC, m.pk DESC LIMIT ?"
        )
    else:
        sql = (
            "SELECT m.id FROM timeline t CROSS JOIN mentions m ON m.pk = t.mention_pk"
            f" WHERE t.scope = '' AND t.created_at >= ? AND t.created_at < ? AND ({text.where})"
            " ORDER BY t.created_at DESC, t.mention_pk DESC LIMIT ?"
        )
    return sql, [*window, *text.params, cap]
