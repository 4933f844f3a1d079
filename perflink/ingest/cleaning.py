"""Cleaning and validation of a frame of raw text cells, all at once (schema-first, vectorised).

Pure: polars in, polars out, no database. The caller maps headers to canonical field names, adds a
`_row` column with the row number people see in their file, and passes lookup frames for references.
Every rule counts the cells it changed; every failed cell becomes an error naming row, column, value
and reason. Nothing here is evaluated row by row in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl

from perflink.core.instants import wall_clock_to_utc
from perflink.ingest.kinds import BOOL_WORDS, SATISFACTION_WORDS, KindSpec
from perflink.ingest.plausibility import Checks, check

# Full-width ASCII (！ to ～) and the ideographic space fold to their half-width forms.
_FW_FROM = [chr(c) for c in range(0xFF01, 0xFF5F)] + ["\u3000"]
_FW_TO = [chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)] + [" "]
_FW_TABLE = str.maketrans(dict(zip(_FW_FROM, _FW_TO, strict=True)))
_WS = " \t\r\n\u00a0\u200b\ufeff"

RULES: dict[str, str] = {
    "full_width": "全角字符转半角 (full-width digits and letters)",
    "whitespace": "去除首尾空白、空白单元格视为空 (stray whitespace)",
    "number_format": "去除千分位、货币符号 (thousands separators, currency signs)",
    "wan_amount": "万元金额换算为元 (amounts in 万元)",
    "date_format": "日期时间统一为 ISO 格式 (dates such as 2024/1/5, 2024年1月5日, 20240105)",
    "excel_serial_date": "Excel 日期序号转换 (Excel serial dates)",
    "enum_synonym": "枚举同义词归一 (满意/一般/不满意, 是/否, Y/N …)",
    "fen_rounding": "金额四舍五入到分 (amounts with more than 2 decimals, rounded half-up to the fen)",
}

_DTYPES: dict[str, pl.DataType] = {
    "int": pl.Int64(),
    "decimal": pl.Decimal(38, 10),
    "money": pl.Decimal(16, 2),
    "date": pl.Date(),
    "datetime": pl.Datetime("us", "UTC"),
    "bool": pl.Boolean(),
    "satisfaction": pl.Int64(),
}


def fold_width(text: str) -> str:
    return text.translate(_FW_TABLE)


WARNINGS_SCHEMA = {
    "_row": pl.Int64,
    "field": pl.String,
    "column": pl.String,
    "value": pl.String,
    "reason": pl.String,
    "rule": pl.String,
}


@dataclass
class CleanResult:
    frame: pl.DataFrame  # the valid rows, typed, canonical columns + external_id + _row
    errors: pl.DataFrame  # _row, column, value, reason (one row per failed cell)
    rules: dict[str, int]  # rule -> cells changed
    total_rows: int
    # _row, field, column, value, reason, rule: plausibility warnings on the valid rows (they are kept)
    warnings: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=WARNINGS_SCHEMA))
    rounded: dict[str, int] = field(default_factory=dict)  # money field -> amounts rounded to the fen
    # plausibility rule code -> {"severity": "error" | "warning", "cells": how many it flagged}
    findings: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def error_rows(self) -> int:
        return self.errors["_row"].n_unique() if self.errors.height else 0


@dataclass
class Refs:
    """Lookup frames (code -> id) for references; built by the Django layer for one tenant."""

    employees: pl.DataFrame = field(default_factory=lambda: _empty_ref())
    units: pl.DataFrame = field(default_factory=lambda: _empty_ref())
    requisitions: pl.DataFrame = field(default_factory=lambda: _empty_ref())


def _empty_ref() -> pl.DataFrame:
    return pl.DataFrame({"code": [], "id": []}, schema={"code": pl.String, "id": pl.Int64})


def _changed(new: pl.Expr, old: pl.Expr) -> pl.Expr:
    """How many cells an expression changed (null <-> value counts as a change)."""
    return (new.ne_missing(old)).cast(pl.UInt32).sum()


# --- parsing expressions ------------------------------------------------------------------------

_ISO_RE = r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$"


def _serial(c: pl.Expr) -> pl.Expr:
    return c.str.contains(r"^\d{5}(\.\d+)?$")


def _datetime_expr(c: pl.Expr) -> pl.Expr:
    """Naive local datetime from the accepted spellings; null where it does not parse (or, like
    2024-02-30, is no real date). Separators in the date part are unified with literal (not regex)
    replacements, then a few native formats are tried."""
    head = c.str.slice(0, 11).str.replace_many(
        ["/", ".", "年", "月", "日", "号", "T"], ["-", "-", "-", "-", "", "", " "]
    )
    norm = (head + c.str.slice(11)).str.strip_chars()
    parsed = pl.coalesce(
        norm.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us"),
        norm.str.to_datetime("%Y-%m-%d %H:%M", strict=False, time_unit="us"),
        norm.str.to_datetime("%Y-%m-%d", strict=False, time_unit="us"),
        norm.str.to_datetime("%Y%m%d", strict=False, time_unit="us"),
    )
    serial_days = c.cast(pl.Float64, strict=False)
    from_serial = pl.datetime(1899, 12, 30, time_unit="us") + pl.duration(
        milliseconds=(serial_days * 86_400_000).round(0).cast(pl.Int64)
    )
    return pl.when(_serial(c)).then(from_serial).otherwise(parsed)


def _parse_times(df: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """Add `__t_<name>` (naive local datetime) for each date/time column.

    Clean ISO cells (what most systems export) parse in one native pass; only the cells that fail
    it go through the general path, so a tidy file pays little for the messy spellings we accept."""
    if not names:
        return df
    fast = [
        pl.coalesce(
            pl.col(n).str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us"),
            pl.col(n).str.to_datetime("%Y-%m-%d %H:%M", strict=False, time_unit="us"),
        ).alias(f"__t_{n}")
        for n in names
    ]
    df = df.with_columns(fast)
    for n in names:
        failed = pl.col(n).is_not_null() & pl.col(f"__t_{n}").is_null()
        n_failed = df.select(failed.sum()).item()
        if n_failed > df.height // 5:  # mostly messy: one general pass over the column beats a join
            df = df.with_columns(pl.coalesce(f"__t_{n}", _datetime_expr(pl.col(n))).alias(f"__t_{n}"))
        elif n_failed:
            slow_rows = df.filter(failed)
            slow = slow_rows.select("_row", _datetime_expr(pl.col(n)).alias("__slow"))
            df = (
                df.join(slow, on="_row", how="left")
                .with_columns(pl.coalesce(f"__t_{n}", "__slow").alias(f"__t_{n}"))
                .drop("__slow")
            )
    return df


def _offset_datetime_expr(c: pl.Expr) -> pl.Expr:
    """ISO 8601 with an explicit offset or Z (push API); converted to UTC, null otherwise."""
    has_offset = c.str.contains(r"T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$")
    parsed = c.str.replace(r"Z$", "+00:00").str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.f%:z", strict=False, time_unit="us", time_zone="UTC"
    )
    return pl.when(has_offset).then(parsed).otherwise(None)


def fen_half_up(dec: pl.Expr) -> pl.Expr:
    """A decimal amount rounded ROUND_HALF_UP (half away from zero, as Python's Decimal does) to the fen, as
    Decimal(16, 2); null when it does not fit. Polars' own `round` rounds half to even (0.125 -> 0.12)."""
    cents = (dec.abs() * 100 + pl.lit(Decimal("0.5"))).cast(pl.Int64, strict=False)
    signed = pl.when(dec < 0).then(-cents).otherwise(cents)
    return (signed.cast(pl.Decimal(38, 0)) * pl.lit(Decimal("0.01"))).cast(pl.Decimal(16, 2), strict=False)


def _number_text(c: pl.Expr) -> pl.Expr:
    return c.str.replace_all(r"[,，_ ]", "").str.replace_all(r"(?i)^(rmb|cny)|[¥￥$]|元$", "")


# --- the pipeline -------------------------------------------------------------------------------


def clean_frame(
    raw: pl.DataFrame,
    spec: KindSpec,
    refs: Refs | None = None,
    *,
    headers: dict[str, str] | None = None,
    external_id: bool = True,
    checks: Checks | None = None,
) -> CleanResult:
    """Clean and validate `raw` (String columns named by canonical field, plus `_row`).

    `headers` maps canonical names to the header text in the user's file, so errors name *their*
    column. Missing optional columns are treated as empty; missing required ones are an error on
    every row (the caller usually rejects the file earlier, naming the column). `checks` carries the
    plausibility rules, the import's time and the stored amounts outliers compare with (default: the kind's
    rules, now, and this frame alone)."""
    refs = refs or Refs()
    headers = headers or {}
    label = {f.name: headers.get(f.name, f.name) for f in spec.fields} | {
        "external_id": headers.get("external_id", "external_id")
    }
    rules = dict.fromkeys(RULES, 0)
    rounded: dict[str, int] = {}
    n = raw.height
    names = [f.name for f in spec.fields if f.name in raw.columns] + (
        ["external_id"] if "external_id" in raw.columns else []
    )
    absent = {f.name for f in spec.fields if f.name not in raw.columns}
    df = raw.with_columns(
        [pl.lit(None, dtype=pl.String).alias(f.name) for f in spec.fields if f.name not in raw.columns]
    ).with_columns([pl.col(c).cast(pl.String) for c in names])

    # Step 1: fold full-width characters, then trim whitespace; empty cells become null.
    folded = df.with_columns([pl.col(c).str.replace_many(_FW_FROM, _FW_TO) for c in names])
    trimmed = folded.with_columns(
        [
            pl.when(pl.col(c).str.strip_chars(_WS) == "")
            .then(None)
            .otherwise(pl.col(c).str.strip_chars(_WS))
            .alias(c)
            for c in names
        ]
    )
    counts = (
        pl.concat(
            [
                df.select(names),
                folded.select(names).rename(lambda c: f"f_{c}"),
                trimmed.select(names).rename(lambda c: f"t_{c}"),
            ],
            how="horizontal",
        )
        .select(
            pl.sum_horizontal([pl.col(f"f_{c}").ne_missing(pl.col(c)).cast(pl.UInt32) for c in names])
            .sum()
            .alias("full_width"),
            pl.sum_horizontal([pl.col(f"t_{c}").ne_missing(pl.col(f"f_{c}")).cast(pl.UInt32) for c in names])
            .sum()
            .alias("whitespace"),
        )
        .row(0, named=True)
    )
    rules["full_width"] += int(counts["full_width"] or 0)
    rules["whitespace"] += int(counts["whitespace"] or 0)
    df = trimmed

    # Step 2: parse each field by type into a typed column; record the failures as errors.
    df = _parse_times(
        df, [f.name for f in spec.fields if f.type in {"date", "datetime"} and f.name not in absent]
    )
    # Typed values are materialised once as `__v_<field>` columns; problems and counts refer to them.
    typed: dict[str, pl.Expr] = {}
    helpers: dict[str, pl.Expr] = {}
    problems: list[pl.Expr] = []  # each: a struct (column, reason) or null per row
    stats: list[pl.Expr] = []
    for f in spec.fields:
        c = pl.col(f.name)
        v = pl.col(f"__v_{f.name}")
        present = c.is_not_null()
        if f.name in absent:
            typed[f.name] = pl.lit(None, dtype=_DTYPES.get(f.type, pl.String()))
            if f.required:
                problems.append(
                    pl.when(~present)
                    .then(
                        pl.struct(
                            pl.lit(f.name).alias("field"), pl.lit("required, but empty").alias("reason")
                        )
                    )
                    .otherwise(None)
                    .alias(f"__r_{f.name}")
                )
            continue
        if f.type in {"int", "decimal", "money"}:
            num = _number_text(c)
            stats.append(_changed(num, c).alias("number_format"))
            if f.type == "money":
                wan = num.str.contains(r"万元?$")
                stats.append(wan.fill_null(False).cast(pl.UInt32).sum().alias("wan_amount"))
                # 18 decimals hold every digit a float's shortest spelling has (115744.7737, 0.1 + 0.2).
                dec = num.str.replace(r"万元?$", "").cast(pl.Decimal(38, 18), strict=False)
                dec = pl.when(wan).then(dec * 10000).otherwise(dec)
                helpers[f"__n_{f.name}"] = dec
                value = fen_half_up(pl.col(f"__n_{f.name}"))
                stats.append(
                    (v.is_not_null() & (v.cast(pl.Decimal(38, 18)) != pl.col(f"__n_{f.name}")))
                    .fill_null(False)
                    .cast(pl.UInt32)
                    .sum()
                    .alias(f"fen_rounding@{f.name}")
                )
                reason = (
                    pl.when(pl.col(f"__n_{f.name}").is_null())
                    .then(pl.lit("not an amount"))
                    .otherwise(pl.lit("too large for an amount (at most 14 digits before the point)"))
                )
            elif f.type == "int":
                value = num.cast(pl.Int64, strict=False)
                value = pl.when(value >= 0).then(value).otherwise(None)
                reason = pl.lit("not a whole number ≥ 0")
            else:
                value = num.cast(pl.Decimal(38, 10), strict=False)
                reason = pl.lit("not a number")
        elif f.type in {"date", "datetime"}:
            local = pl.col(f"__t_{f.name}")
            stats.append(
                (present & ~c.str.contains(_ISO_RE) & ~_serial(c))
                .fill_null(False)
                .cast(pl.UInt32)
                .sum()
                .alias("date_format")
            )
            stats.append(
                (present & _serial(c)).fill_null(False).cast(pl.UInt32).sum().alias("excel_serial_date")
            )
            if f.type == "date":
                value = local.dt.date()
                reason = pl.lit("not a date (e.g. 2024-01-05, 2024/1/5, 2024年1月5日, 20240105)")
            else:
                # Without an offset a time is the tenant's local time (docs/time.md), converted by its zone.
                value = pl.coalesce(_offset_datetime_expr(c), wall_clock_to_utc(local))
                reason = pl.lit("not a date-time (e.g. 2024-01-05 13:30)")
        elif f.type in {"bool", "enum", "satisfaction"}:
            if f.type == "bool":
                mapping: dict[str, Any] = dict(BOOL_WORDS)
                dtype: pl.DataType = pl.Boolean()
                reason = pl.lit("not yes/no (是/否, Y/N, true/false, 1/0)")
            elif f.type == "satisfaction":
                mapping = dict(SATISFACTION_WORDS) | {str(i): i for i in range(1, 6)}
                dtype = pl.Int64()
                reason = pl.lit("not a satisfaction rating (1–5, 满意/一般/不满意)")
            else:
                mapping = {k.lower(): v for k, v in f.enum_synonyms.items()} | {
                    ch.lower(): ch for ch in f.choices
                }
                dtype = pl.String()
                reason = pl.lit(f"not one of {', '.join(f.choices)}")
            lowered = c.str.to_lowercase()
            value = lowered.replace_strict(
                list(mapping), list(mapping.values()), default=None, return_dtype=dtype
            )
            stats.append(
                (present & v.is_not_null() & (v.cast(pl.String) != c))
                .fill_null(False)
                .cast(pl.UInt32)
                .sum()
                .alias("enum_synonym")
            )
        elif f.type in {"employee", "unit", "requisition", "units"}:
            value = c  # resolved by joins below
            reason = pl.lit("")
        else:
            value = c
            reason = pl.lit(f"longer than {f.max_length} characters")
            if f.max_length:
                value = pl.when(c.str.len_chars() <= f.max_length).then(c).otherwise(None)
        typed[f.name] = value
        if f.type not in {"employee", "unit", "requisition", "units"}:
            problems.append(
                pl.when(present & v.is_null())
                .then(pl.struct(pl.lit(f.name).alias("field"), reason.alias("reason")))
                .otherwise(None)
                .alias(f"__p_{f.name}")
            )
        if f.required:
            problems.append(
                pl.when(~present)
                .then(pl.struct(pl.lit(f.name).alias("field"), pl.lit("required, but empty").alias("reason")))
                .otherwise(None)
                .alias(f"__r_{f.name}")
            )

    staged = (
        df.lazy()
        .with_columns(*[e.alias(k) for k, e in helpers.items()])
        .with_columns(*[e.alias(f"__v_{k}") for k, e in typed.items()])
    )
    if stats:
        # Several fields feed the same rule: sum them under unique names, then fold by rule.
        named = [expr.alias(f"{i}:{expr.meta.output_name()}") for i, expr in enumerate(stats)]
        for name, value in staged.select(named).collect().row(0, named=True).items():
            rule, _, money_field = name.split(":", 1)[1].partition("@")
            rules[rule] += int(value or 0)
            if money_field and value:
                rounded[money_field] = rounded.get(money_field, 0) + int(value)
    out = staged.select(
        pl.col("_row"),
        *[pl.col(f"__v_{k}").alias(k) for k in typed],
        *problems,
        *([pl.col("external_id")] if "external_id" in df.columns else []),
        *[pl.col(f.name).alias(f"__raw_{f.name}") for f in spec.fields],
    ).collect()

    # Step 3: resolve references by joins (employee number, unit code, requisition number).
    ref_frames = {"employee": refs.employees, "unit": refs.units, "requisition": refs.requisitions}
    ref_problems: list[pl.DataFrame] = []
    for f in spec.fields:
        if f.type in ref_frames:
            lookup = ref_frames[f.type].rename({"code": f.name, "id": f"{f.name}_id"})
            out = out.join(lookup, on=f.name, how="left")
            bad = out.filter(pl.col(f.name).is_not_null() & pl.col(f"{f.name}_id").is_null())
            what = {"employee": "employee number", "unit": "unit code", "requisition": "requisition number"}[
                f.type
            ]
            ref_problems.append(
                bad.select(
                    "_row",
                    pl.lit(f.name).alias("field"),
                    pl.format(f"unknown {what} '{{}}'", pl.col(f.name)).alias("reason"),
                )
            )
        elif f.type == "units":
            exploded = (
                out.select(
                    "_row", pl.col(f.name).str.replace_all(r"[;；、，|]", ",").str.split(",").alias("code")
                )
                .explode("code")
                .with_columns(pl.col("code").str.strip_chars())
                .filter(pl.col("code").is_not_null() & (pl.col("code") != ""))
                .join(refs.units, on="code", how="left")
            )
            bad = exploded.filter(pl.col("id").is_null())
            ref_problems.append(
                bad.select(
                    "_row",
                    pl.lit(f.name).alias("field"),
                    pl.format("unknown unit code '{}'", pl.col("code")).alias("reason"),
                )
            )
            ids = (
                exploded.filter(pl.col("id").is_not_null())
                .group_by("_row")
                .agg(pl.col("id").alias(f"{f.name}_ids"))
            )
            out = out.join(ids, on="_row", how="left")
    out = out.sort("_row")

    # Step 4: plausibility rules (paid before approved, negative amounts, future dates, outliers), then
    # duplicate keys within the batch. Findings of severity "error" reject their row like any other error.
    findings = check(out, spec, checks or Checks.default(spec.kind), label)
    ref_problems.append(findings.filter(pl.col("severity") == "error").select("_row", "field", "reason"))
    key = "external_id" if "external_id" in out.columns else spec.key
    if external_id and key in out.columns:
        first_row = pl.col("_row").min().over(key)
        out = out.with_columns(
            pl.when(pl.col(key).is_not_null() & (pl.col("_row") != first_row))
            .then(
                pl.struct(
                    pl.lit(key).alias("field"), pl.format("duplicate of row {}", first_row).alias("reason")
                )
            )
            .otherwise(None)
            .alias("__d_key")
        )

    # Step 5: gather every problem into one error frame; keep the rows with none.
    problem_cols = [c for c in out.columns if c.startswith(("__p_", "__r_", "__d_"))]
    errors = (
        pl.concat(
            [
                out.select("_row", pl.col(c).alias("p")).filter(pl.col("p").is_not_null()).unnest("p")
                for c in problem_cols
            ]
            + ref_problems,
            how="vertical_relaxed",
        )
        if (problem_cols or ref_problems)
        else pl.DataFrame(schema={"_row": pl.Int64, "field": pl.String, "reason": pl.String})
    )
    raw_values = out.select("_row", *[pl.col(f"__raw_{f.name}").alias(f.name) for f in spec.fields])
    if errors.height:
        long_raw = raw_values.unpivot(index="_row", variable_name="field", value_name="value")
        errors = errors.join(long_raw, on=["_row", "field"], how="left")
        if "external_id" in out.columns:
            errors = (
                errors.join(out.select("_row", pl.col("external_id").alias("__x")), on="_row", how="left")
                .with_columns(
                    pl.when(pl.col("field") == "external_id")
                    .then(pl.col("__x"))
                    .otherwise(pl.col("value"))
                    .alias("value")
                )
                .drop("__x")
            )
    else:
        errors = errors.with_columns(pl.lit(None, dtype=pl.String).alias("value"))
    errors = (
        errors.with_columns(pl.col("field").replace_strict(label, default=pl.col("field")).alias("column"))
        .select("_row", "field", "column", "value", "reason")
        .sort("_row", "field")
    )
    bad_rows = errors["_row"].unique()
    keep = [c for c in out.columns if not c.startswith("__")]
    valid = out.filter(~pl.col("_row").is_in(bad_rows.implode())).select(keep)
    if "external_id" not in valid.columns and spec.key != "external_id":
        valid = valid.with_columns(pl.col(spec.key).alias("external_id"))
    # Warnings are about rows that are accepted; a rejected row's errors say what to fix first.
    warnings = (
        findings.filter((pl.col("severity") == "warning") & ~pl.col("_row").is_in(bad_rows.implode()))
        .join(
            raw_values.unpivot(index="_row", variable_name="field", value_name="value"), on=["_row", "field"]
        )
        .with_columns(pl.col("field").replace_strict(label, default=pl.col("field")).alias("column"))
        .select(*WARNINGS_SCHEMA)
        .sort("_row", "field", "rule")
    )
    flagged = (
        findings.filter((pl.col("severity") == "error") | ~pl.col("_row").is_in(bad_rows.implode()))
        .group_by("rule", "severity")
        .len()
        .sort("rule")
    )
    return CleanResult(
        frame=valid,
        errors=errors,
        rules=rules,
        total_rows=n,
        warnings=warnings,
        rounded=rounded,
        findings={rule: {"severity": sev, "cells": n} for rule, sev, n in flagged.iter_rows()},
    )
