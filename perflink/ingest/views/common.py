"""Helpers shared by the data-sources pages: small reads and figures (page rendering lives in core.htmx)."""

from __future__ import annotations

from perflink.ingest.kinds import EXTERNAL_ID, KindSpec
from perflink.ingest.models import ImportMapping, SourceSystem


def source_systems() -> list[SourceSystem]:
    return list(SourceSystem.objects.order_by("name"))


def saved_mappings() -> list[ImportMapping]:
    return list(ImportMapping.objects.order_by("name"))


def pct(share: float | None) -> str:
    """0.123 -> "12.3%" (figures on these pages are shares of rows)."""
    return "" if share is None else f"{share:.1%}"


def field_labels(spec: KindSpec) -> dict[str, str]:
    return {f.name: f.label for f in spec.fields} | {EXTERNAL_ID.name: EXTERNAL_ID.label}
