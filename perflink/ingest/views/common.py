"""Helpers shared by the data-sources pages: small reads and figures (page rendering lives in core.htmx)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perflink.ingest.kinds import EXTERNAL_ID, KindSpec
from perflink.ingest.models import ImportMapping, SourceSystem
from perflink.ingest.plausibility import RULES_BY_CODE
from perflink.ingest.views.texts import reason_text, rule_text, severity_text

WARNINGS_SHOWN = 200


def source_systems() -> list[SourceSystem]:
    return list(SourceSystem.objects.order_by("name"))


def saved_mappings() -> list[ImportMapping]:
    return list(ImportMapping.objects.order_by("name"))


def pct(share: float | None) -> str:
    """0.123 -> "12.3%" (figures on these pages are shares of rows)."""
    return "" if share is None else f"{share:.1%}"


def field_labels(spec: KindSpec) -> dict[str, str]:
    return {f.name: f.label for f in spec.fields} | {EXTERNAL_ID.name: EXTERNAL_ID.label}


def plausibility_context(report: Mapping[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    """What the report and batch pages show of the plausibility checks: each rule that flagged cells (errors
    first), the amounts rounded to the fen per field, and the first warnings."""
    checks = []
    for code, found in (report.get("findings") or {}).items():
        rule = RULES_BY_CODE.get(code)
        checks.append(
            {
                "code": code,
                "text": rule_text(rule, labels) if rule else code,
                "severity": found["severity"],
                "severity_text": severity_text(found["severity"]),
                "cells": found["cells"],
            }
        )
    checks.sort(key=lambda c: (c["severity"] != "error", c["code"]))
    return {
        "checks": checks,
        "rounded": [(labels.get(name, name), n) for name, n in (report.get("rounded") or {}).items()],
        "warnings": [
            {**w, "reason_text": reason_text(w["reason"])}
            for w in (report.get("warnings") or [])[:WARNINGS_SHOWN]
        ],
        "warning_total": report.get("warning_count", 0),
        "warned_rows": report.get("warned_rows", 0),
    }
