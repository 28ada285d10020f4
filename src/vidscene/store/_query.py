"""Queries over stored analyses: a small filter language, its fields, and the rows it returns.

``FIELD OP VALUE [and FIELD OP VALUE …]``, ``OP`` one of ``< <= > >= = != ~`` (``~``: the
text contains the value, ignoring case), over one *level*:

* ``videos`` (the default): ``duration``, ``shot_count``, ``scene_count``,
  ``mean_shot_length``, ``path`` and the other video fields, and every video-level attribute by
  its name (``cuts_per_minute``, ``motion_mean``, …; a shot attribute's plain name, ``motion``,
  means its video mean);
* ``shots``: ``start_time``, ``end_time``, ``duration``, ``type`` (of the transition in),
  ``index`` and the frame fields, and every shot attribute by its name;
* ``scenes``: the same (``type`` is the transition into the scene's first shot), plus
  ``confidence`` and the shot range.

A value is a number, or text (in quotes if it holds spaces). This module parses a query into a
:class:`Query` and defines its meaning once (:func:`evaluate`, used by the in-memory store);
the SQLite and MongoDB stores translate the same :class:`Query` into SQL and aggregations, and
every backend builds its rows with the same functions here, so all three answer alike.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from vidscene.errors import ConfigError

LEVELS: tuple[str, ...] = ("videos", "shots", "scenes")
OPERATORS: tuple[str, ...] = ("<=", ">=", "!=", "<", ">", "=", "~")
DEFAULT_LIMIT = 100

PACING = ("shot_count", "scene_count", "mean_shot_length", "median_shot_length",
          "min_shot_length", "max_shot_length", "shot_length_std", "cuts_per_minute")
"""Video-level attributes every analysis has (``attributes.summarise_video``)."""


class QueryError(ConfigError):
    """A malformed query or an unknown field; the message says which and what is known."""


@dataclass(frozen=True)
class Field:
    """A queryable quantity: where it lives in an item of its level, and its kind.

    ``path`` is relative to the item (the Analysis for videos, the shot or scene dict
    otherwise); ``computed`` names a derived value (``duration``: end minus start time;
    ``type``: the transition into the shot or the scene's first shot)."""

    name: str
    path: tuple[str, ...]
    text: bool = False
    computed: str | None = None


@dataclass(frozen=True)
class Condition:
    field: Field
    op: str
    value: float | str


@dataclass(frozen=True)
class Query:
    """A parsed query (see the module doc); ``sort`` ``None`` means the level's own order
    (videos by path, shots and scenes by path then position)."""

    level: str = "videos"
    conditions: tuple[Condition, ...] = ()
    sort: Field | None = None
    descending: bool = False
    limit: int = DEFAULT_LIMIT
    offset: int = 0


def _attribute_kinds() -> dict[str, tuple[str, bool]]:
    """Every JSON key the registered attributes write (an attribute of several fields writes
    several), with its kind (``number``, ``label``, ``text``, ``list``) and whether the
    video level has the value measured over the whole video under the same key (the audio
    attributes: loudness is not the mean of the shots')."""
    from vidscene.attributes import ATTRIBUTES, attribute_fields, load_plugins

    load_plugins()
    return {key: (kind, bool(getattr(ATTRIBUTES.factory(name), "audio", False)))
            for name in ATTRIBUTES.names()
            for key, kind in attribute_fields(name).items()}


def fields_for(level: str) -> dict[str, Field]:
    """Every field of ``level`` by name."""
    if level not in LEVELS:
        raise QueryError(f"unknown level {level!r} (known: {', '.join(LEVELS)})")
    kinds = _attribute_kinds()
    numbers = [a for a, (kind, _) in kinds.items() if kind == "number"]
    # Labels and texts match with = and ~; lists (a palette) are not compared.
    words = [a for a, (kind, _) in kinds.items() if kind in ("label", "text")]
    found: dict[str, Field] = {}
    if level == "videos":
        for name in ("duration", "fps", "frame_count", "width", "height"):
            found[name] = Field(name, ("video", name))
        for name in ("path", "codec", "sha256"):
            found[name] = Field(name, ("video", name), text=True)
        for name in PACING:
            found[name] = Field(name, ("attributes", name))
        for a in numbers:
            for stat in ("mean", "min", "max"):
                found[f"{a}_{stat}"] = Field(f"{a}_{stat}", ("attributes", f"{a}_{stat}"))
            whole = kinds[a][1]
            found[a] = Field(a, ("attributes", a if whole else f"{a}_mean"))
        for a in words:
            found[a] = Field(a, ("attributes", a), text=True)
        return found
    for name in ("index", "start_frame", "end_frame", "start_time", "end_time"):
        found[name] = Field(name, (name,))
    found["duration"] = Field("duration", (), computed="duration")
    found["type"] = Field("type", (), text=True, computed="type")
    if level == "shots":
        found["confidence"] = Field("confidence", ("transition_in", "confidence"))
    else:
        for name in ("first_shot", "last_shot", "confidence"):
            found[name] = Field(name, (name,))
    for a in numbers:
        found[a] = Field(a, ("attributes", a))
    for a in words:
        found[a] = Field(a, ("attributes", a), text=True)
    return found


_CLAUSE = re.compile(
    r"\s*(?P<field>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op><=|>=|!=|=|<|>|~)\s*"
    r"(?P<value>\"[^\"]*\"|'[^']*'|[^\s\"']+)\s*")
_AND = re.compile(r"and\b", re.IGNORECASE)


def parse_query(expr: str, level: str = "videos", *, sort: str | None = None,
                limit: int = DEFAULT_LIMIT, offset: int = 0) -> Query:
    """Parse ``expr`` (empty: everything) for ``level``; ``sort`` is a field name, ``-name``
    for descending. :class:`QueryError` for anything malformed or unknown."""
    known = fields_for(level)
    conditions = []
    text = expr.strip()
    pos = 0
    while text and pos < len(text):
        match = _CLAUSE.match(text, pos)
        if match is None:
            raise QueryError(f"cannot read the query at {text[pos:pos + 20]!r}: expected "
                             "FIELD OP VALUE, OP one of " + " ".join(OPERATORS))
        conditions.append(_condition(match["field"], match["op"], match["value"], known, level))
        pos = match.end()
        if pos < len(text):
            joined = _AND.match(text, pos)
            if joined is None:
                raise QueryError(f"expected 'and' at {text[pos:pos + 20]!r}")
            pos = joined.end()
            if not text[pos:].strip():
                raise QueryError("the query ends with 'and'")
    if limit < 1 or offset < 0:
        raise QueryError("limit must be at least 1 and offset at least 0")
    sort_field = None
    descending = False
    if sort:
        descending = sort.startswith("-")
        name = sort.lstrip("-+")
        if name not in known:
            raise QueryError(f"unknown sort field {name!r} for {level} "
                             f"(known: {_known_list(known)})")
        sort_field = known[name]
    return Query(level, tuple(conditions), sort_field, descending, limit, offset)


def _known_list(known: dict[str, Field]) -> str:
    names = sorted(known)
    return ", ".join(names[:24]) + (", …" if len(names) > 24 else "")


def _condition(name: str, op: str, raw: str, known: dict[str, Field], level: str) -> Condition:
    field = known.get(name)
    if field is None:
        raise QueryError(f"unknown field {name!r} for {level} (known: {_known_list(known)})")
    quoted = raw[:1] in "\"'"
    value = raw[1:-1] if quoted else raw
    if field.text:
        if op not in ("=", "!=", "~"):
            raise QueryError(f"{name} is text: use =, != or ~")
        return Condition(field, op, value)
    if op == "~":
        raise QueryError(f"{name} is a number: ~ is for text fields")
    try:
        number = float(value)
    except ValueError:
        raise QueryError(f"{name} is a number, not {raw}") from None
    if quoted or not math.isfinite(number):
        raise QueryError(f"{name} is a number, not {raw}")
    return Condition(field, op, number)


# -- meaning (the in-memory store's implementation, and the reference for the others) ------


def field_value(field: Field, item: dict[str, Any], shots: list[dict[str, Any]]) -> Any:
    """``field`` of one item (an Analysis dict, a shot or a scene); ``None`` if absent.
    ``shots`` are the analysis's shots (for a scene's ``type``)."""
    if field.computed == "duration":
        return item["end_time"] - item["start_time"]
    if field.computed == "type":
        first = item if "transition_in" in item else shots[item["first_shot"]]
        transition = first.get("transition_in") or {}
        return transition.get("type")
    value: Any = item
    for part in field.path:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def holds(condition: Condition, value: Any) -> bool:
    """Whether a value meets a condition; a missing value meets none."""
    if value is None or isinstance(value, bool):
        return False
    want = condition.value
    if condition.field.text:
        have, wanted = str(value), str(want)
        if condition.op == "~":
            return wanted.lower() in have.lower()
        return (have == wanted) if condition.op == "=" else (have != wanted)
    if not isinstance(value, int | float) or not isinstance(want, float):
        return False
    return _COMPARE[condition.op](value, want)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "=": operator.eq, "!=": operator.ne}
"""``_COMPARE[op](value, want)`` (the value on the left of the query's operator)."""


@dataclass(frozen=True)
class Stored:
    """What a backend hands :func:`evaluate` per analysis."""

    id: str
    created: str
    analysis: dict[str, Any]


_TYPE = Field("type", (), text=True, computed="type")


def evaluate(query: Query, analyses: Iterable[Stored]) -> list[dict[str, Any]]:
    """The rows ``query`` selects (sorted and paged), by the definitions above."""
    rows: list[tuple[Any, dict[str, Any]]] = []
    for stored in analyses:
        doc = stored.analysis
        shots = doc.get("shots", [])
        items = [doc] if query.level == "videos" else doc.get(query.level, [])
        for item in items:
            if all(holds(c, field_value(c.field, item, shots)) for c in query.conditions):
                key = field_value(query.sort, item, shots) if query.sort else None
                if query.level == "videos":
                    row = video_row(stored.id, stored.created, doc)
                else:
                    row = item_row(query.level, stored.id, doc["video"]["path"], item,
                                   field_value(_TYPE, item, shots))
                rows.append((key, row))
    return page(query, rows)


def page(query: Query, rows: list[tuple[Any, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Sort and page ``(sort value, row)`` pairs: by the sort field (missing values last),
    ties and the default order by path, analysis id and position. Every backend orders its
    matches this way (in its database)."""
    ordered = sorted(rows, key=lambda r: order_key(r[1]))
    if query.sort is not None:
        present = [r for r in ordered if r[0] is not None]
        missing = [r for r in ordered if r[0] is None]
        present.sort(key=lambda r: r[0], reverse=query.descending)
        ordered = present + missing
    return [r[1] for r in ordered[query.offset:query.offset + query.limit]]


def order_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["path"], row.get("analysis_id", row.get("id")), row.get("index", 0))


def video_row(analysis_id: str, created: str, doc: dict[str, Any]) -> dict[str, Any]:
    """The row of a matching video: what ``vidscene search --json`` prints."""
    video, attributes = doc["video"], doc.get("attributes", {})
    return {"id": analysis_id, "path": video["path"], "sha256": video["sha256"],
            "duration": video["duration"], "shot_count": attributes.get("shot_count"),
            "scene_count": attributes.get("scene_count"),
            "mean_shot_length": attributes.get("mean_shot_length"), "created": created,
            "attributes": dict(attributes)}


def item_row(level: str, analysis_id: str, path: str, item: dict[str, Any],
             transition_type: str | None) -> dict[str, Any]:
    """The row of a matching shot or scene."""
    row: dict[str, Any] = {"analysis_id": analysis_id, "path": path, "index": item["index"],
                           "start_frame": item["start_frame"], "end_frame": item["end_frame"],
                           "start_time": item["start_time"], "end_time": item["end_time"],
                           "duration": item["end_time"] - item["start_time"],
                           "type": transition_type}
    if level == "scenes":
        row.update(first_shot=item["first_shot"], last_shot=item["last_shot"],
                   confidence=item["confidence"])
    else:
        row["confidence"] = (item.get("transition_in") or {}).get("confidence")
    row["attributes"] = dict(item.get("attributes", {}))
    return row
