"""What the engine may read: record kinds, their fields and columns, and where they are stored.

Built once from the ingest kinds (the canonical record definitions) plus the roster: ``employee`` (people,
with their unit and dates) and ``unit`` (the org tree). Metric definitions name fields from here; the loader
selects exactly these columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from perflink.engine.metrics import Catalogue, FieldInfo
from perflink.ingest.kinds import KINDS


@dataclass(frozen=True)
class Source:
    """A kind's table and its columns: (field name, column, engine type)."""

    kind: str
    label: str
    table: str
    columns: tuple[tuple[str, str, str], ...]


_ROSTER: dict[str, Source] = {
    "employee": Source(
        "employee",
        "员工",
        "org_employee",
        (
            ("unit", "unit_id", "unit"),
            ("manager", "manager_id", "employee"),
            ("employment_type", "employment_type", "enum"),
            ("hire_date", "hire_date", "date"),
            ("exit_date", "exit_date", "date"),
            ("status", "status", "enum"),
        ),
    ),
    "unit": Source(
        "unit",
        "机构",
        "org_orgunit",
        (
            ("parent", "parent_id", "unit"),
            ("kind", "kind", "enum"),
            ("unit_type", "unit_type", "enum"),
            ("category", "category", "enum"),
            ("opened_on", "opened_on", "date"),
            ("closed_on", "closed_on", "date"),
        ),
    ),
}


def _record_source(kind: str) -> Source:
    spec = KINDS[kind]
    app, model = spec.model.split(".")
    columns = []
    for f in spec.fields:
        if f.type == "units":
            continue  # a separate link table, loaded as "<kind>.<field>"
        engine_type = "satisfaction" if f.type == "satisfaction" else f.type
        columns.append((f.name, f.column, engine_type))
    return Source(kind, spec.label, f"{app}_{model.lower()}", tuple(columns))


@cache
def sources() -> dict[str, Source]:
    result = {kind: _record_source(kind) for kind in KINDS}
    result.update(_ROSTER)
    return result


# Multi-unit fields: (kind, field) -> (link table, owner column).
LINKS: dict[tuple[str, str], tuple[str, str]] = {
    ("incident", "affected_units"): ("ingest_incidentunit", "incident_id"),
}


@cache
def catalogue() -> Catalogue:
    """Kind -> field -> :class:`FieldInfo`, for parsing metric definitions."""
    result: dict[str, dict[str, FieldInfo]] = {}
    for kind, source in sources().items():
        result[kind] = {name: FieldInfo(type_, column) for name, column, type_ in source.columns}
    for (kind, name), _link in LINKS.items():
        result[kind][name] = FieldInfo("units", name)
    return result


def field_label(kind: str, name: str) -> str:
    """The Chinese label of a field, for explanations."""
    if kind in KINDS:
        try:
            return KINDS[kind].field(name).label
        except KeyError:
            return name
    return name


@cache
def _enum_labels(kind: str, name: str) -> dict[str, str]:
    """Code -> the first Chinese spelling the kind's field accepts for it (``in_force`` -> ``有效``)."""
    if kind not in KINDS:
        return {}
    try:
        spec = KINDS[kind].field(name)
    except KeyError:
        return {}
    labels: dict[str, str] = {}
    for spelling, code in spec.enum_synonyms.items():
        if any("\u4e00" <= ch <= "\u9fff" for ch in spelling):
            labels.setdefault(code, spelling)
    return labels


def value_label(kind: str, name: str, value: object) -> object:
    """An enum code shown as users say it (``cancelled`` -> ``撤单``); other values unchanged."""
    if isinstance(value, str):
        return _enum_labels(kind, name).get(value, value)
    return value
