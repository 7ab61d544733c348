"""Reading loosely typed fields of the platforms' JSON, shared by the ``*_shapes`` modules."""

from __future__ import annotations

from typing import Any


def int_or_none(value: Any) -> int | None:
    """An integer field that may come as a number or a numeric string ("123", "-1"); None otherwise
    (``true`` is not 1 here: a boolean where a number belongs means the shape changed)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None
