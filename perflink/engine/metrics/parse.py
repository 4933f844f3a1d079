"""Parsing: a metric definition (a plain dict) checked against the catalogue of record fields and frozen into a
:class:`MetricSpec`; a :class:`MetricError` names the faulty part."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from perflink.engine.metrics.spec import (
    AGGREGATES,
    NUMERIC_TYPES,
    OPS,
    REF_TYPES,
    TEMPORAL_TYPES,
    Catalogue,
    Condition,
    Duration,
    Measure,
    MetricError,
    MetricSpec,
    Outcome,
    Subject,
    Window,
)


class _Parser:
    def __init__(self, code: str, data: Mapping[str, Any], catalogue: Catalogue) -> None:
        self.code = code
        self.data = data
        self.catalogue = catalogue

    def fail(self, where: str, message: str) -> MetricError:
        return MetricError(f"{where}: {message}" if where else message)

    def keys(self, data: Any, allowed: set[str], where: str) -> Mapping[str, Any]:
        if not isinstance(data, Mapping):
            raise self.fail(where, "must be an object")
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise self.fail(
                where, f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
            )
        return data

    def field_type(self, kind: str, path: Any, where: str) -> str:
        """The type of ``path`` (a field or ``ref.field``) of ``kind``, or a MetricError naming the spot."""
        if not isinstance(path, str) or not path:
            raise self.fail(where, "must name a field")
        fields = self.catalogue[kind]
        head, _, rest = path.partition(".")
        if head not in fields:
            raise self.fail(where, f"unknown field {head!r} of {kind} (known: {', '.join(sorted(fields))})")
        info = fields[head]
        if not rest:
            return info.type
        target = REF_TYPES.get(info.type)
        if target is None or target not in self.catalogue:
            raise self.fail(
                where, f"{head!r} is a {info.type} field, not a reference, so {path!r} cannot follow it"
            )
        if "." in rest:
            raise self.fail(where, f"{path!r}: only one reference step is supported")
        return self.field_type(target, rest, where)

    def temporal(self, kind: str, path: Any, where: str) -> str:
        type_ = self.field_type(kind, path, where)
        if type_ not in TEMPORAL_TYPES:
            raise self.fail(where, f"{path!r} is a {type_} field; a date or datetime is needed")
        return type_

    def duration(self, kind: str, data: Any, where: str) -> Duration:
        data = self.keys(data, {"start", "end", "unit"}, where)
        for key in ("start", "end"):
            if key not in data:
                raise self.fail(where, f"needs {key!r}")
        start = self.temporal(kind, data["start"], f"{where}.start")
        end = self.temporal(kind, data["end"], f"{where}.end")
        unit = data.get("unit", "days")
        if unit not in ("days", "working_days", "hours"):
            raise self.fail(f"{where}.unit", "must be days, working_days or hours")
        if unit == "hours" and "date" in (start, end):
            raise self.fail(f"{where}.unit", "hours need datetime fields at both ends")
        return Duration(data["start"], data["end"], unit)

    def condition(self, kind: str, data: Any, where: str) -> Condition:
        data = self.keys(data, {"field", "duration", "op", "value", "other"}, where)
        op = data.get("op")
        if op not in OPS:
            raise self.fail(f"{where}.op", f"must be one of {', '.join(OPS)}")
        if ("field" in data) == ("duration" in data):
            raise self.fail(where, "needs exactly one of 'field' or 'duration'")
        if "duration" in data:
            duration = self.duration(kind, data["duration"], f"{where}.duration")
            type_, column = "decimal", None
        else:
            duration, column = None, data["field"]
            type_ = self.field_type(kind, column, f"{where}.field")
        other = data.get("other")
        if op in ("is_null", "not_null"):
            if "value" in data or other is not None:
                raise self.fail(where, f"{op} takes no value")
            return Condition(op, column, duration)
        if other is not None:
            if "value" in data or op in ("in", "not_in"):
                raise self.fail(
                    where, "'other' compares two fields with eq, ne, lt, le, gt or ge, without 'value'"
                )
            other_type = self.field_type(kind, other, f"{where}.other")
            if (other_type in TEMPORAL_TYPES) != (type_ in TEMPORAL_TYPES):
                raise self.fail(where, f"cannot compare a {type_} with a {other_type}")
            return Condition(op, column, duration, other=other)
        if "value" not in data:
            raise self.fail(where, f"{op} needs a 'value' (or 'other')")
        value = data["value"]
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                raise self.fail(f"{where}.value", f"{op} needs a non-empty list")
            values = [self.literal(type_, item, f"{where}.value") for item in value]
            return Condition(op, column, duration, tuple(values))
        return Condition(op, column, duration, self.literal(type_, value, f"{where}.value"))

    def literal(self, type_: str, value: Any, where: str) -> Any:
        if type_ in TEMPORAL_TYPES:
            try:
                return dt.date.fromisoformat(str(value))
            except ValueError:
                raise self.fail(where, f"{value!r} is not a date (YYYY-MM-DD)") from None
        if type_ in NUMERIC_TYPES or type_ == "decimal":
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise self.fail(where, f"{value!r} is not a number")
            try:
                return float(value)
            except ValueError:
                raise self.fail(where, f"{value!r} is not a number") from None
        if type_ == "bool":
            if not isinstance(value, bool):
                raise self.fail(where, f"{value!r} is not true or false")
            return value
        if type_ in REF_TYPES or type_ == "units":
            raise self.fail(where, "references are compared by field, e.g. 'agent.employment_type'")
        if not isinstance(value, str):
            raise self.fail(where, f"{value!r} is not text")
        return value

    def window(self, kind: str, data: Any) -> Window:
        data = self.keys(
            data if data is not None else {}, {"type", "months", "days", "end_field", "lag_months"}, "window"
        )
        type_ = data.get("type", "period")
        if "lag_months" in data and type_ != "cohort":
            raise self.fail("window.lag_months", "only a cohort window takes lag_months")
        if type_ == "period":
            return Window()
        if type_ in ("rolling", "lag"):
            months = data.get("months")
            if not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= 36:
                raise self.fail("window.months", "must be a whole number of months from 1 to 36")
            return Window(type_, months=months)
        if type_ == "cohort":
            days = data.get("days")
            if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 730:
                raise self.fail("window.days", "must be a whole number of days from 1 to 730")
            lag = data.get("lag_months", 0)
            if not isinstance(lag, int) or isinstance(lag, bool) or not 0 <= lag <= 36:
                raise self.fail("window.lag_months", "must be a whole number of months from 0 to 36")
            return Window("cohort", days=days, lag_months=lag)
        if type_ in ("open_at_end", "active"):
            end_field = data.get("end_field")
            self.temporal(kind, end_field, "window.end_field")
            return Window(type_, end_field=end_field)
        raise self.fail("window.type", "must be period, rolling, lag, cohort, open_at_end or active")

    def outcome(self, name: str, data: Any) -> Outcome:
        where = f"outcomes.{name}"
        data = self.keys(data, {"kind", "match", "date_field", "agg", "field", "filters"}, where)
        kind = data.get("kind")
        if kind not in self.catalogue:
            raise self.fail(f"{where}.kind", f"unknown record kind {kind!r}")
        match = data.get("match")
        if not isinstance(match, Mapping) or len(match) != 1:
            raise self.fail(f"{where}.match", "must map one of their fields to one of ours")
        ((theirs, ours),) = match.items()
        their_type = self.field_type(kind, theirs, f"{where}.match")
        our_type = self.field_type(str(self.data["kind"]), ours, f"{where}.match")
        if their_type != our_type:
            raise self.fail(f"{where}.match", f"{theirs!r} is a {their_type}, {ours!r} a {our_type}")
        self.temporal(kind, data.get("date_field"), f"{where}.date_field")
        agg = data.get("agg")
        if agg not in ("count", "sum"):
            raise self.fail(f"{where}.agg", "must be count or sum")
        value_field = data.get("field")
        if agg == "sum":
            if self.field_type(kind, value_field, f"{where}.field") not in NUMERIC_TYPES:
                raise self.fail(f"{where}.field", f"{value_field!r} is not numeric")
        elif value_field is not None:
            raise self.fail(f"{where}.field", "count takes no field")
        filters = self.conditions(kind, data.get("filters", []), f"{where}.filters")
        return Outcome(kind, ((theirs, ours),), data["date_field"], agg, value_field, filters)

    def conditions(self, kind: str, data: Any, where: str) -> tuple[Condition, ...]:
        if not isinstance(data, list):
            raise self.fail(where, "must be a list of conditions")
        return tuple(self.condition(kind, item, f"{where}[{i}]") for i, item in enumerate(data))

    def measure(self, kind: str, data: Any, outcome_names: set[str]) -> Measure:
        data = self.keys(data, {"agg", "field", "duration", "where"}, "measure")
        agg = data.get("agg")
        if agg not in AGGREGATES:
            raise self.fail("measure.agg", f"must be one of {', '.join(AGGREGATES)}")
        where = self.conditions_or_outcomes(kind, data.get("where", []), outcome_names)
        if agg == "share":
            if not where:
                raise self.fail("measure.where", "a share needs the condition of the rows it counts")
            if "field" in data or "duration" in data:
                raise self.fail("measure", "a share counts rows: give 'where', not a field")
            return Measure("share", where=where)
        if where:
            raise self.fail("measure.where", "only a share takes 'where'; put other conditions in 'filters'")
        if agg == "count":
            if "field" in data or "duration" in data:
                raise self.fail("measure", "count counts rows and takes no field")
            return Measure("count")
        if "duration" in data:
            if agg == "distinct":
                raise self.fail("measure", "distinct needs a field, not a duration")
            return Measure(agg, duration=self.duration(kind, data["duration"], "measure.duration"))
        value_field = data.get("field")
        if value_field in outcome_names:
            return Measure(agg, field=value_field)
        type_ = self.field_type(kind, value_field, "measure.field")
        if agg != "distinct" and type_ not in NUMERIC_TYPES:
            raise self.fail("measure.field", f"{value_field!r} is a {type_} field; {agg} needs a number")
        return Measure(agg, field=value_field)

    def conditions_or_outcomes(self, kind: str, data: Any, outcome_names: set[str]) -> tuple[Condition, ...]:
        """``where`` conditions may also test a cohort outcome by name (``{"field": "premium_90d", ...}``)."""
        if not isinstance(data, list):
            raise self.fail("measure.where", "must be a list of conditions")
        result = []
        for i, item in enumerate(data):
            where = f"measure.where[{i}]"
            if isinstance(item, Mapping) and item.get("field") in outcome_names:
                self.keys(item, {"field", "op", "value"}, where)
                if item.get("op") not in ("eq", "ne", "lt", "le", "gt", "ge"):
                    raise self.fail(f"{where}.op", "an outcome compares with eq, ne, lt, le, gt or ge")
                result.append(
                    Condition(
                        item["op"],
                        item["field"],
                        value=self.literal("decimal", item.get("value"), f"{where}.value"),
                    )
                )
            else:
                result.append(self.condition(kind, item, where))
        return tuple(result)

    def subject(self, kind: str, data: Any) -> Subject:
        data = self.keys(data, {"employee", "unit", "rollup"}, "subject")
        employee, unit = data.get("employee"), data.get("unit")
        if employee is None and unit is None:
            raise self.fail("subject", "name the employee field, the unit field, or both")
        if employee is not None and self.field_type(kind, employee, "subject.employee") != "employee":
            raise self.fail("subject.employee", f"{employee!r} is not an employee field")
        if unit is not None and self.field_type(kind, unit, "subject.unit") not in ("unit", "units"):
            raise self.fail("subject.unit", f"{unit!r} is not a unit field")
        rollup = data.get("rollup", True)
        if not isinstance(rollup, bool):
            raise self.fail("subject.rollup", "must be true or false")
        multi = unit is not None and self.field_type(kind, unit, "subject.unit") == "units"
        return Subject(employee, unit, rollup, multi)

    def common(self) -> dict[str, Any]:
        direction = self.data.get("direction", "higher")
        if direction not in ("higher", "lower"):
            raise self.fail("direction", "must be higher or lower")
        unit = self.data.get("unit", "")
        if not isinstance(unit, str):
            raise self.fail("unit", "must be text")
        min_count = self.data.get("min_count")
        if min_count is not None and (
            not isinstance(min_count, int) or isinstance(min_count, bool) or min_count < 0
        ):
            raise self.fail("min_count", "must be a whole number ≥ 0")
        return {"code": self.code, "direction": direction, "unit": unit, "min_count": min_count}

    def parse(self) -> MetricSpec:
        data = self.data
        if "formula" in data:
            self.keys(data, {"formula", "direction", "unit", "min_count"}, "")
            formula = data["formula"]
            if not isinstance(formula, str) or not formula.strip():
                raise self.fail("formula", "must be a non-empty formula")
            return MetricSpec(**self.common(), formula=formula.strip())
        allowed = {"kind", "date_field", "window", "filters", "outcomes", "measure", "subject"}
        self.keys(data, allowed | {"direction", "unit", "min_count"}, "")
        kind = data.get("kind")
        if not isinstance(kind, str) or kind not in self.catalogue:
            raise self.fail(
                "kind", f"unknown record kind {kind!r} (known: {', '.join(sorted(self.catalogue))})"
            )
        self.temporal(kind, data.get("date_field"), "date_field")
        window = self.window(kind, data.get("window"))
        filters = self.conditions(kind, data.get("filters", []), "filters")
        raw_outcomes = data.get("outcomes", {})
        if not isinstance(raw_outcomes, Mapping):
            raise self.fail("outcomes", "must be an object of named outcomes")
        if raw_outcomes and window.type != "cohort":
            raise self.fail("outcomes", "outcomes need a cohort window")
        for name in raw_outcomes:
            if name in self.catalogue[kind]:
                raise self.fail(f"outcomes.{name}", f"the name clashes with a field of {kind}")
        outcomes = tuple((str(name), self.outcome(str(name), item)) for name, item in raw_outcomes.items())
        if "measure" not in data:
            raise self.fail("measure", "is required")
        measure = self.measure(kind, data["measure"], {name for name, _ in outcomes})
        if "subject" not in data:
            raise self.fail("subject", "is required")
        subject = self.subject(kind, data["subject"])
        return MetricSpec(
            **self.common(),
            kind=kind,
            date_field=data["date_field"],
            window=window,
            filters=filters,
            outcomes=outcomes,
            measure=measure,
            subject=subject,
        )


def parse_metric(code: str, data: Mapping[str, Any], catalogue: Catalogue) -> MetricSpec:
    """Validate a metric definition and freeze it; a :class:`MetricError` names the faulty part."""
    return _Parser(code, data, catalogue).parse()
