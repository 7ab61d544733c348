"""The backend of the dashboard's 监测词 (watchlist) editor: check a query as it is typed, preview
what it would find, and write the edited watchlist back into ``fengxiang.yaml`` safely.

No Streamlit here: the page calls these functions and shows what they return.

Guarantees of :func:`save_watchlist`:

* **Only the watchlist changes.** The file is spliced, not re-dumped: every byte outside the
  watchlist entries — comments, key order, blank lines, the other sections and their ``${VAR}``
  references — is copied unchanged. An entry the user did not change keeps its exact text (even
  when entries are reordered); a changed entry is rewritten in place by ruamel.yaml, keeping its
  comments, key order and quoting style; a new entry is written in the file's indentation.
  Values are never ``${VAR}``-expanded on the way through, so no secret is ever written back.
* **No lost update.** The caller passes the fingerprint (sha256 of the file bytes) it read; if the
  file changed since, nothing is written and :class:`ConfigConflictError` says to reload the page.
  Concurrent saves through this module are serialised with an advisory lock on the file.
* **Never an invalid config.** Entry shapes are checked first (name given and unique, query
  parses), then the WHOLE resulting text is validated with :func:`~fengxiang.config.load_config`
  (with the caller's environment) before it replaces the file; on any problem the file is left
  byte-for-byte untouched and :class:`ConfigEditError` carries the problems (secrets redacted, as
  ``load_config`` always does).
* **Atomic, with a backup.** The new text goes to a temporary file in the same folder, is fsynced,
  gets the old file's permission bits (and owner, where allowed), and replaces the file with
  ``os.replace``; the previous version is kept as ``<file>.bak`` (same permissions). A symlinked
  config has its target replaced, so the link survives.

:func:`preview_query` must answer while the user types. On the SQLite store it reads matching ids
newest first on a read-only connection of its own (the store's three search plans, picked the same
way), stops at ``count_cap`` or after ``budget_ms`` (then the count is a lower bound, flagged
``timed_out``), and decodes only the ``limit`` mentions it shows. Measured on a 200,000-mention
synthetic store, CPU time per preview of 22 queries: median 30–40 ms, slowest ordinary query
≈ 90 ms, for 7- and 90-day windows; these costs follow the match rate, not the store size. The one
cost that grows with the window is a query whose words are everywhere but whose exact matches are
rare (``启航汽车 AND NOT 车`` over 90 days: ≈ 420 ms at 200k, so ≈ 2 s at 1M) — the budget holds it.
``Store.search(limit=count_cap)`` alone (what other stores get) decodes up to 1,000 mentions: median
≈ 95 ms, worst ≈ 490 ms at 200k, without a budget.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import io
import os
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError as RuamelYAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from fengxiang.config import ConfigError, ConfigProblem, load_config
from fengxiang.query import Query, QuerySyntaxError, parse
from store.base import MentionFilter

if TYPE_CHECKING:
    from store.base import Store
    from store.model import Mention

__all__ = [
    "ConfigConflictError",
    "ConfigEditError",
    "QueryCheck",
    "QueryPreview",
    "WatchlistDocument",
    "check_query",
    "preview_query",
    "read_watchlist",
    "save_watchlist",
]


# ---------------------------------------------------------------------------------------------
# Live query validation
# ---------------------------------------------------------------------------------------------

_EMPTY_QUERY = "检索式为空 / the query is empty — write at least one term, like: 蔚来 OR NIO"
_NEGATIVE_ONLY = (
    "检索式至少要有一个不被 NOT 排除的词 / the query needs at least one term that is not negated — "
    "add the brand itself, like: 蔚来 AND NOT 招聘"
)


@dataclass(frozen=True)
class QueryCheck:
    """The verdict on a query as typed: ``pointer`` is ready to show in a monospace block."""

    ok: bool
    message: str  # "" when ok
    position: int | None = None  # index into the text as typed; None when no place is to blame
    pointer: str = ""  # the query on one line and a caret under ``position``; "" without a position
    query: Query | None = None  # the parsed query, when ok


def check_query(text: str) -> QueryCheck:
    """Parse a query the way the config will, saying what is wrong and where."""
    if not text.strip():
        return QueryCheck(ok=False, message=_EMPTY_QUERY)
    try:
        query = parse(text)
    except QuerySyntaxError as err:
        # str(err) is the message, the query on one line, then the caret line (CJK-width aware).
        _, *picture = str(err).split("\n")
        return QueryCheck(ok=False, message=err.message, position=err.position, pointer="\n".join(picture))
    if not query.has_positive_term():
        return QueryCheck(ok=False, message=_NEGATIVE_ONLY)
    return QueryCheck(ok=True, message="", query=query)


# ---------------------------------------------------------------------------------------------
# Match preview
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryPreview:
    """What a query finds in a window: a capped count and the newest matches."""

    check: QueryCheck
    count: int  # exact when ``exact``; otherwise a lower bound
    capped: bool  # True: more than ``count_cap`` match, so the count stopped at the cap
    newest: tuple[Mention, ...]  # newest first, at most ``limit``
    elapsed_ms: float
    timed_out: bool = False  # True: the time budget ran out first; ``count`` is what was found by then

    @property
    def exact(self) -> bool:
        return not (self.capped or self.timed_out)

    @property
    def count_label(self) -> str:
        """``"37"``, or ``"≥ 1000"`` when the count stopped at the cap (or at the time budget)."""
        return str(self.count) if self.exact else f"≥ {self.count}"


def preview_query(
    store: Store,
    text: str,
    *,
    since: datetime,
    until: datetime,
    limit: int = 20,
    count_cap: int = 1000,
    budget_ms: int = 400,
) -> QueryPreview:
    """How many mentions in ``[since, until)`` the query matches (exact up to ``count_cap``) and the
    newest ``limit`` of them. A query that does not check out finds nothing (see ``check``).

    The store counts ids only (no mention is decoded but the ``limit`` shown) and stops after
    ``budget_ms``: a query whose words are everywhere but whose exact matches are rare (``启航汽车 AND
    NOT 车``) would otherwise scan the whole window. Then ``timed_out`` is set and the count is a lower
    bound.
    """
    if limit < 1 or count_cap < 1:
        raise ValueError("limit and count_cap must be at least 1")
    started = time.perf_counter()
    check = check_query(text)
    if not check.ok or check.query is None:
        return QueryPreview(check, 0, False, (), _ms_since(started))
    matches = store.match_sample(
        MentionFilter(since=since, until=until, text=check.query),
        cap=count_cap + 1,
        keep=limit,
        budget=budget_ms / 1000,
    )
    newest = tuple(mention for mention in map(store.get, matches.ids) if mention is not None)
    found, timed_out = matches.found, matches.timed_out
    capped = found > count_cap
    return QueryPreview(check, min(found, count_cap), capped, newest, _ms_since(started), timed_out)


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


class ConfigEditError(Exception):
    """The watchlist was not saved; ``message`` says why and what to do, ``problems`` lists details."""

    def __init__(self, message: str, problems: Sequence[ConfigProblem] = ()) -> None:
        self.message = message
        self.problems = list(problems)
        super().__init__(message)

    def __str__(self) -> str:
        return "\n".join([self.message, *(str(problem) for problem in self.problems)])


class ConfigConflictError(ConfigEditError):
    """The file changed since it was read: someone else saved first."""


_RELOAD = (
    "配置文件已被他人修改 / the config file was changed by someone else since you opened it — "
    "reload the page to see the current watchlist, then make your change again"
)


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WatchlistDocument:
    """The watchlist as written in the file (``${VAR}`` NOT expanded) and the file's fingerprint."""

    path: Path
    entries: list[dict[str, Any]]
    fingerprint: str  # sha256 of the file bytes: pass it back to save_watchlist


def read_watchlist(path: Path) -> WatchlistDocument:
    """The raw watchlist entries of a config file as plain dicts, with the file's fingerprint."""
    path = Path(path)
    raw = _read_bytes(path)
    return _Layout.parse(raw, path).document()


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigEditError(f"{path}: no config file here — run `fengxiang init` to write one") from None
    except OSError as err:
        raise ConfigEditError(f"{path}: cannot be read ({err.strerror}) — check who may read it") from None


def _fingerprint(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


# ---------------------------------------------------------------------------------------------
# The file's layout: where the watchlist and each entry sit, line by line
# ---------------------------------------------------------------------------------------------

_BOM = "\ufeff"
_FIX_BY_HAND = "fix it in the file by hand (`fengxiang check` shows the problem), then reload the page"


@dataclass
class _Span:
    """One entry's lines: leading comments, its body, then trailing blank lines / outer comments."""

    leading: list[str]
    body: list[str]
    trailer: list[str]
    node: Any  # the ruamel node (CommentedMap) of the entry
    plain: Any  # the entry as PyYAML (what load_config) reads it


@dataclass
class _Layout:
    path: Path
    raw: bytes
    bom: str
    newline: str
    lines: list[str]
    plain_entries: list[Any]
    # How the watchlist block is laid out; see _splice.
    prefix: list[str] = field(default_factory=list)
    spans: list[_Span] = field(default_factory=list)
    suffix: list[str] = field(default_factory=list)
    dash_col: int = 2
    item_col: int = 4
    mapping_indent: int = 2
    flow_lists: bool = False  # the entries write their lists as [a, b]

    @classmethod
    def parse(cls, raw: bytes, path: Path) -> _Layout:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigEditError(f"{path}: the file is not UTF-8 text — {_FIX_BY_HAND}") from None
        bom = _BOM if text.startswith(_BOM) else ""
        text = text.removeprefix(_BOM)
        newline = "\r\n" if "\r\n" in text else "\n"
        plain = _plain_data(text, path)
        document = _ruamel_data(text, path)
        raw_watchlist = plain.get("watchlist") if isinstance(plain, dict) else None
        if raw_watchlist is None:
            raw_watchlist = []
        if not isinstance(raw_watchlist, list) or not all(isinstance(item, dict) for item in raw_watchlist):
            raise ConfigEditError(f"{path}: watchlist: must be a list of entries (name:, query:) — {_FIX_BY_HAND}")
        if plain is not None and not isinstance(plain, dict):
            raise ConfigEditError(f"{path}: the file must hold `key: value` settings — {_FIX_BY_HAND}")
        layout = cls(path, raw, bom, newline, text.splitlines(keepends=True), raw_watchlist)
        layout._locate(document)
        return layout

    def document(self) -> WatchlistDocument:
        return WatchlistDocument(self.path, [dict(entry) for entry in self.plain_entries], _fingerprint(self.raw))

    # -- locating the block and its entries ---------------------------------------------------

    def _locate(self, document: Any) -> None:
        lines = self.lines
        self.mapping_indent = _mapping_indent(document)
        if not isinstance(document, CommentedMap) or "watchlist" not in document:
            # No watchlist key: new entries go after everything else.
            self.prefix, self.suffix = list(lines), []
            if self.prefix and not self.prefix[-1].endswith("\n"):
                self.prefix[-1] += self.newline
            self.prefix.append("watchlist:" + self.newline)
            return
        key_line = document.lc.key("watchlist")[0]
        keys = list(document)
        following = keys[keys.index("watchlist") + 1 :]
        region_end = document.lc.key(following[0])[0] if following else len(lines)
        seq = document["watchlist"]
        if not isinstance(seq, CommentedSeq) or not seq or seq.fa.flow_style():
            # Null, [] or a flow list: rewrite the key line as a block list header; keep what follows.
            self.prefix = [*lines[:key_line], "watchlist:" + self.newline]
            self.suffix = lines[key_line + 1 :]
            if isinstance(seq, CommentedSeq) and seq:  # a non-empty flow list: replace all of it
                self.suffix = lines[_trim_trailer(lines, key_line + 1, region_end, 0) :]
            return
        starts = []
        for index in range(len(seq)):
            item_line, item_col = seq.lc.item(index)
            dash_line = next(k for k in range(item_line, -1, -1) if _is_dash_line(lines[k], item_col))
            starts.append(dash_line)
        self.item_col = seq.lc.item(0)[1]
        self.flow_lists = any(
            isinstance(value, CommentedSeq) and value.fa.flow_style()
            for item in seq
            if isinstance(item, CommentedMap)
            for value in item.values()
        )
        self.dash_col = _indent(lines[starts[0]])
        # A comment block right above a dash (no blank line between) introduces that entry.
        for index in range(1, len(starts)):
            while starts[index] - 1 > starts[index - 1] and _is_comment_at(lines[starts[index] - 1], self.dash_col):
                starts[index] -= 1
        end = _trim_trailer(lines, starts[-1] + 1, region_end, self.dash_col)
        ends = [*starts[1:], end]
        self.prefix, self.suffix = lines[: starts[0]], lines[end:]
        for index, (start, stop) in enumerate(zip(starts, ends, strict=True)):
            chunk = lines[start:stop]
            dash = next(k for k, line in enumerate(chunk) if not _is_comment_at(line, self.dash_col))
            body_end = _trim_trailer(chunk, dash + 1, len(chunk), self.dash_col)
            self.spans.append(
                _Span(chunk[:dash], chunk[dash:body_end], chunk[body_end:], seq[index], self.plain_entries[index])
            )


def _plain_data(text: str, path: Path) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        # Only the problem and the line: the error's snippet of the file could show a secret.
        line = err.problem_mark.line + 1 if err.problem_mark else None
        where = f"{path}:{line}" if line else str(path)
        raise ConfigEditError(f"{where}: YAML syntax error: {err.problem} — {_FIX_BY_HAND}") from None
    except yaml.YAMLError:
        raise ConfigEditError(f"{path}: YAML error — {_FIX_BY_HAND}") from None


def _ruamel_data(text: str, path: Path) -> Any:
    try:
        return _round_trip().load(text)
    except RuamelYAMLError:
        raise ConfigEditError(f"{path}: this YAML cannot be edited safely here — {_FIX_BY_HAND}") from None


def _round_trip() -> YAML:
    loader = YAML(typ="rt")
    loader.preserve_quotes = True
    return loader


def _mapping_indent(document: Any) -> int:
    """How far the file indents a nested section (``sources:`` → ``  weibo:``); 2 when unknown."""
    if isinstance(document, CommentedMap):
        for value in document.values():
            if isinstance(value, CommentedMap) and value and not value.fa.flow_style():
                column: int = value.lc.col
                if column > 0:
                    return column
    return 2


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_blank(line: str) -> bool:
    return not line.strip()


def _is_comment_at(line: str, max_col: int) -> bool:
    return line.lstrip(" ").startswith("#") and _indent(line) <= max_col


def _is_dash_line(line: str, item_col: int) -> bool:
    stripped = line.lstrip(" ")
    return stripped.startswith("-") and _indent(line) < item_col


def _trim_trailer(lines: Sequence[str], start: int, end: int, max_col: int) -> int:
    """Back ``end`` off over blank lines and comments at ``max_col`` or less: they are not content."""
    while end > start and (_is_blank(lines[end - 1]) or _is_comment_at(lines[end - 1], max_col)):
        end -= 1
    return end


# ---------------------------------------------------------------------------------------------
# Building the new text
# ---------------------------------------------------------------------------------------------


def _splice(layout: _Layout, entries: Sequence[Mapping[str, Any]]) -> str:
    """The file text with the watchlist entries replaced by ``entries``; everything else as it was."""
    unused = list(range(len(layout.spans)))

    def take(predicate: Any) -> int | None:
        for index in unused:
            if predicate(layout.spans[index]):
                unused.remove(index)
                return index
        return None

    # Pass 1: entries the user did not change keep their text exactly, wherever they now stand.
    chosen: dict[int, tuple[int, bool]] = {}  # new position → (span index, unchanged?)
    for position, entry in enumerate(entries):
        found = take(lambda span, entry=entry: _same(span.plain, entry))
        if found is not None:
            chosen[position] = (found, True)
    # Pass 2: a changed entry is edited in place in the entry of the same name, else of the same place.
    for position, entry in enumerate(entries):
        if position in chosen:
            continue
        name = _fold_name(entry.get("name"))
        found = take(lambda span, name=name: _fold_name(span.plain.get("name")) == name)
        if found is None and position in unused and not _name_taken(layout.spans[position], entries):
            unused.remove(position)
            found = position
        if found is not None:
            chosen[position] = (found, False)

    spaced = any(span.trailer and all(map(_is_blank, span.trailer)) for span in layout.spans[:-1])
    out: list[str] = []
    for position, entry in enumerate(entries):
        if position in chosen and chosen[position][1]:
            span = layout.spans[chosen[position][0]]
            lines = [*span.leading, *span.body, *span.trailer]
        elif position in chosen:
            span = layout.spans[chosen[position][0]]
            node = span.node
            if isinstance(node, CommentedMap) and not node.merge and not _has_anchor(node):
                node = _merged(node, span.plain, entry, flow_lists=layout.flow_lists)
            else:  # merge keys or anchors: write the plain values out instead
                node = _fresh(entry)
            lines = [*span.leading, *_dump_entry(node, layout), *span.trailer]
        else:
            lines = _dump_entry(_fresh(entry, query_quoted=True, flow_lists=layout.flow_lists), layout)
        if spaced and position < len(entries) - 1 and not _is_blank(lines[-1]):
            lines.append("\n")  # the file separates entries with a blank line: so do new ones
        out.extend(_with_newline(line) for line in lines)
    # Trailers of a reordered last entry may end the block with blank lines; so may the file's own.
    body = [_native(line, layout.newline) for line in out]
    if entries and layout.suffix and _is_blank(layout.suffix[0]):
        while body and _is_blank(body[-1]):
            body.pop()
    prefix = list(layout.prefix)
    if not entries and prefix and prefix[-1].strip() == "watchlist:":
        prefix[-1] = "watchlist: []" + layout.newline
    return layout.bom + "".join([*prefix, *body, *layout.suffix])


def _name_taken(span: _Span, entries: Sequence[Mapping[str, Any]]) -> bool:
    """Is this span's entry still wanted under its own name (so it must not absorb a rename)?"""
    name = _fold_name(span.plain.get("name"))
    return any(_fold_name(entry.get("name")) == name for entry in entries)


def _fold_name(name: object) -> str:
    return name.strip().casefold() if isinstance(name, str) else ""


def _with_newline(line: str) -> str:
    return line if line.endswith("\n") else line + "\n"


def _native(line: str, newline: str) -> str:
    return line.removesuffix("\r\n").removesuffix("\n") + newline


def _same(a: Any, b: Any) -> bool:
    """Equal as YAML data: like ==, but True is not 1 and 1 is not 1.0."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return list(a) == list(b) and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _has_anchor(node: Any) -> bool:
    anchor = getattr(node, "anchor", None)
    if anchor is not None and anchor.value is not None:
        return True
    if isinstance(node, Mapping):
        return any(_has_anchor(value) for value in node.values())
    if isinstance(node, list):
        return any(_has_anchor(value) for value in node)
    return False


def _merged(old: Any, old_plain: Any, new: Any, *, flow_lists: bool = False) -> Any:
    """``old`` (a ruamel node) changed to hold ``new``, keeping comments, key order and styles."""
    if _same(old_plain, new):
        return old
    if isinstance(old, CommentedMap) and isinstance(old_plain, dict) and isinstance(new, Mapping) and not old.merge:
        for key in [key for key in old if key not in new]:
            del old[key]
        for key, value in new.items():
            if key in old and key in old_plain:
                old[key] = _merged(old[key], old_plain[key], value, flow_lists=flow_lists)
            else:
                old[key] = _fresh(value, query_quoted=key == "query", flow_lists=flow_lists)
        return old
    if isinstance(old, CommentedSeq) and isinstance(old_plain, list) and isinstance(new, list | tuple):
        seq = CommentedSeq(
            old[index] if index < len(old_plain) and _same(old_plain[index], value) else _fresh(value)
            for index, value in enumerate(new)
        )
        if old.fa.flow_style():
            seq.fa.set_flow_style()
        return seq
    if isinstance(new, str):
        if isinstance(old, SingleQuotedScalarString) and "\n" not in new:
            return SingleQuotedScalarString(new)
        if isinstance(old, DoubleQuotedScalarString):
            return DoubleQuotedScalarString(new)
    return _fresh(new, flow_lists=flow_lists)


_RESOLVER = yaml.resolver.Resolver()


def _fresh(value: Any, *, query_quoted: bool = False, flow_lists: bool = False) -> Any:
    """A plain value as a ruamel node; strings PyYAML would read as something else get quoted.

    ``flow_lists``: lists of plain values are written ``[a, b]``, as the file's own entries do."""
    if isinstance(value, Mapping):
        node = CommentedMap()
        for key, item in value.items():
            node[key] = _fresh(item, query_quoted=query_quoted and key == "query", flow_lists=flow_lists)
        return node
    if isinstance(value, list | tuple):
        seq = CommentedSeq(_fresh(item) for item in value)
        if flow_lists and value and all(isinstance(item, str | int | float | bool) for item in value):
            seq.fa.set_flow_style()
        return seq
    if isinstance(value, str):
        # ruamel speaks YAML 1.2, load_config (PyYAML) 1.1: `yes`, `on`, `1_000` mean other things there.
        plain_is_text = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False)) == _RESOLVER.DEFAULT_SCALAR_TAG
        if "\n" not in value and (query_quoted or not plain_is_text):
            return SingleQuotedScalarString(value)
        return value
    return value


def _dump_entry(node: Any, layout: _Layout) -> list[str]:
    """One entry as block YAML lines at the file's indentation, without outer trailing comments."""
    dumper = YAML(typ="rt")
    dumper.width = 4096  # never fold a long query
    offset = layout.dash_col
    dumper.indent(mapping=layout.mapping_indent, sequence=max(layout.item_col, offset + 2), offset=offset)
    buffer = io.StringIO()
    dumper.dump({"watchlist": CommentedSeq([node])}, buffer)
    lines = buffer.getvalue().splitlines(keepends=True)[1:]  # drop "watchlist:"
    return lines[: _trim_trailer(lines, 1, len(lines), layout.dash_col)]


# ---------------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------------


def save_watchlist(
    path: Path,
    entries: list[dict[str, Any]],
    *,
    expected_fingerprint: str,
    environ: Mapping[str, str] | None = None,
) -> WatchlistDocument:
    """Write ``entries`` as the config file's watchlist; see the module docstring for the guarantees.

    Raises :class:`ConfigConflictError` when the file no longer has ``expected_fingerprint`` and
    :class:`ConfigEditError` when an entry or the resulting config is invalid; the file is then
    untouched. Returns the saved document, whose fingerprint the next save must pass.
    """
    path = Path(path)
    target = path.resolve()  # a symlinked config keeps its link; the file it points at is replaced
    shape_problems = _entry_problems(str(path), entries)
    with _locked(target):
        raw = _read_bytes(target)
        if _fingerprint(raw) != expected_fingerprint:
            raise ConfigConflictError(_RELOAD)
        if shape_problems:
            raise ConfigEditError(
                "监测词有误，未保存 / the watchlist was not saved — fix these entries:", shape_problems
            )
        layout = _Layout.parse(raw, path)
        new_raw = _splice(layout, entries).encode("utf-8")
        stat = target.stat()
        temporary = _write_temporary(target, new_raw, stat)
        try:
            _validate(temporary, path, environ)
            _replace_atomically(target.with_name(target.name + ".bak"), raw, stat)
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        _fsync_folder(target.parent)
    return _Layout.parse(new_raw, path).document()


def _entry_problems(file: str, entries: object) -> list[ConfigProblem]:
    """Shape checks with messages that name the entry; the full validation comes after."""
    if not isinstance(entries, list):
        return [ConfigProblem(file, None, "watchlist", "must be a list of entries")]
    problems = []
    first_seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        key = f"watchlist[{index}]"
        if not isinstance(entry, Mapping):
            problems.append(
                ConfigProblem(file, None, key, f"entry {index + 1} is not a set of fields (name, query, …)")
            )
            continue
        name = entry.get("name")
        label = (
            f'entry {index + 1} "{name.strip()}"' if isinstance(name, str) and name.strip() else f"entry {index + 1}"
        )
        if not isinstance(name, str) or not name.strip():
            message = f"{label}: the name is empty — write the brand as it should appear in reports"
            problems.append(ConfigProblem(file, None, f"{key}.name", message))
        elif _fold_name(name) in first_seen:
            first = first_seen[_fold_name(name)]
            message = (
                f'{label}: "{name.strip()}" is already the name of entry {first + 1} (names ignore upper/lower '
                "case) — give each entry its own name, or merge the two queries with OR"
            )
            problems.append(ConfigProblem(file, None, f"{key}.name", message))
        else:
            first_seen[_fold_name(name)] = index
        query = entry.get("query")
        if not isinstance(query, str):
            message = f"{label}: the query is missing — write one, like: 蔚来 OR NIO"
            problems.append(ConfigProblem(file, None, f"{key}.query", message))
            continue
        check = check_query(query)
        if not check.ok:
            detail = f"{label}: {check.message}" + (f"\n{check.pointer}" if check.pointer else "")
            problems.append(ConfigProblem(file, None, f"{key}.query", detail))
    return problems


@contextmanager
def _locked(target: Path) -> Iterator[None]:
    """An advisory lock on the config file: two saves through this module never interleave.

    A save that waited finds the file replaced (new bytes), so its fingerprint check refuses it."""
    try:
        descriptor = os.open(target, os.O_RDONLY)
    except FileNotFoundError:
        raise ConfigEditError(f"{target}: no config file here — run `fengxiang init` to write one") from None
    except OSError as err:
        raise ConfigEditError(f"{target}: cannot be opened ({err.strerror}) — check who may read it") from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def _write_temporary(target: Path, data: bytes, stat: os.stat_result) -> Path:
    """``data`` in a new file beside ``target`` with its permission bits (and owner), fsynced."""
    descriptor, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fchmod(out.fileno(), stat.st_mode & 0o7777)
            if (stat.st_uid, stat.st_gid) != (os.getuid(), os.getgid()):
                # Only root may give a file away; the mode is what protects secrets.
                with suppress(PermissionError):
                    os.fchown(out.fileno(), stat.st_uid, stat.st_gid)
            os.fsync(out.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def _replace_atomically(target: Path, data: bytes, stat: os.stat_result) -> None:
    temporary = _write_temporary(target, data, stat)
    try:
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _validate(temporary: Path, path: Path, environ: Mapping[str, str] | None) -> None:
    """load_config over the new text; its problems are reported against the real file name."""
    try:
        load_config(temporary, environ=environ)
    except ConfigError as err:
        # Line numbers would point into the text that was not saved: the key names the place.
        problems = [dataclasses.replace(problem, file=str(path), line=None, column=None) for problem in err.problems]
        raise ConfigEditError(
            "保存后的配置无效，未保存 / the config would be invalid, so nothing was saved — fix these:", problems
        ) from None
