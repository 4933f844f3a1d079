"""Reads for data sources: import history and data health per source system and record kind."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from django.db.models import F, FloatField, Q, QuerySet, Window
from django.db.models.functions import Cast, RowNumber
from django.utils import timezone

from perflink.core.errors import NotFound
from perflink.ingest.choices import BatchStatus
from perflink.ingest.kinds import KINDS, MASTER_KINDS, KindSpec
from perflink.ingest.models import Batch, PlausibilityOverride, SourceSystem
from perflink.ingest.plausibility import Rule, group_columns
from perflink.ingest.store import model_for

HEALTH_WINDOW_DAYS = 30
RECENT_DAYS = 7
MIN_STALE_HOURS = 24


def batches(*, kind: str = "", source: str = "", channel: str = "", status: str = "") -> QuerySet[Batch]:
    qs = Batch.objects.select_related("source_system").order_by("-received_at", "-pk")
    if kind:
        qs = qs.filter(kind=kind)
    if source:
        qs = qs.filter(source_system__code=source)
    if channel:
        qs = qs.filter(channel=channel)
    if status:
        qs = qs.filter(status=status)
    return qs


def get_batch(batch_id: int) -> Batch:
    batch = Batch.objects.select_related("source_system").filter(pk=batch_id).first()
    if batch is None:
        raise NotFound("batch not found")
    return batch


@dataclass
class FeedHealth:
    """One source system's feed of one record kind."""

    source: SourceSystem
    kind: str
    kind_label: str
    last_received: datetime | None
    batches: int
    rows: int
    rejected: int
    per_day_recent: float  # rows per day over the last RECENT_DAYS
    per_day_usual: float  # rows per day over the rest of the window
    stale_after_hours: float
    missing: list[tuple[str, float]] = field(default_factory=list)  # (field label, share of rows empty)

    @property
    def rejection_rate(self) -> float:
        return self.rejected / self.rows if self.rows else 0.0

    @property
    def is_stale(self) -> bool:
        if self.last_received is None:
            return True
        return timezone.now() - self.last_received > timedelta(hours=self.stale_after_hours)

    @property
    def volume_ratio(self) -> float | None:
        """Recent daily volume against the usual (1.0 = as usual); None without history."""
        return self.per_day_recent / self.per_day_usual if self.per_day_usual else None

    @property
    def volume_flag(self) -> str:
        ratio = self.volume_ratio
        if ratio is None:
            return ""
        if ratio < 0.5:
            return "low"
        if ratio > 2.0:
            return "high"
        return ""


def data_health(now: datetime | None = None) -> list[FeedHealth]:
    """Health of every feed (source x kind) over the last HEALTH_WINDOW_DAYS days.

    A feed is stale when nothing arrived for three times its usual gap between deliveries (at
    least a day); its volume is flagged when the last week's daily rows are under half or over
    twice the usual."""
    now = now or timezone.now()
    since = now - timedelta(days=HEALTH_WINDOW_DAYS)
    recent_since = now - timedelta(days=RECENT_DAYS)
    labels = {k: s.label for k, s in {**KINDS, **MASTER_KINDS}.items()}
    field_labels = {k: {f.name: f.label for f in s.fields} for k, s in {**KINDS, **MASTER_KINDS}.items()}
    feeds: dict[tuple[int, str], dict[str, Any]] = defaultdict(
        lambda: {"times": [], "rows": 0, "rejected": 0, "recent": 0, "older": 0, "missing": Counter(), "n": 0}
    )
    systems: dict[int, SourceSystem] = {s.pk: s for s in SourceSystem.objects.all()}
    last_seen: dict[tuple[int, str], datetime] = {}
    for b in (
        Batch.objects.filter(status=BatchStatus.COMMITTED)
        .order_by("received_at")
        .values("source_system_id", "kind", "received_at", "n_rows", "n_rejected", "report")
    ):
        key = (b["source_system_id"], b["kind"])
        last_seen[key] = b["received_at"]
        if b["received_at"] < since:
            continue
        feed = feeds[key]
        feed["n"] += 1
        feed["times"].append(b["received_at"])
        feed["rows"] += b["n_rows"]
        feed["rejected"] += b["n_rejected"]
        feed["recent" if b["received_at"] >= recent_since else "older"] += b["n_rows"]
        feed["missing"].update((b["report"] or {}).get("missing", {}))
    out: list[FeedHealth] = []
    for key in sorted(set(feeds) | set(last_seen)):
        feed = feeds[key]
        gaps = [
            (b - a).total_seconds() / 3600 for a, b in zip(feed["times"], feed["times"][1:], strict=False)
        ]
        usual_gap = statistics.median(gaps) if gaps else 24.0
        rows = feed["rows"]
        missing = sorted(
            ((field_labels[key[1]].get(name, name), n / rows) for name, n in feed["missing"].items() if rows),
            key=lambda item: -item[1],
        )[:3]
        out.append(
            FeedHealth(
                source=systems[key[0]],
                kind=key[1],
                kind_label=labels.get(key[1], key[1]),
                last_received=last_seen.get(key),
                batches=feed["n"],
                rows=rows,
                rejected=feed["rejected"],
                per_day_recent=feed["recent"] / RECENT_DAYS,
                per_day_usual=feed["older"] / (HEALTH_WINDOW_DAYS - RECENT_DAYS),
                stale_after_hours=max(MIN_STALE_HOURS, 3 * usual_gap),
                missing=missing,
            )
        )
    return out


def plausibility_overrides() -> dict[str, str]:
    """The current tenant's plausibility choices: rule code -> "error", "warning" or "off"."""
    return dict(PlausibilityOverride.objects.values_list("rule", "severity"))


USUAL_SAMPLE = 1000  # stored records per group that make an outlier rule's "usual" amount


def usual_amounts(spec: KindSpec, rule: Rule, keys: pl.DataFrame, *, now: datetime) -> pl.DataFrame:
    """The usual amount of an outlier rule's field per group (`keys`: e.g. unit_id, or unit_id and kind): the
    median and count of the tenant's latest stored records of the kind (at most `USUAL_SAMPLE` per group)
    received in the rule's window. Only the groups in `keys` are read; amounts come as floats (the median is a
    yardstick, not money paid). The sample keeps a resend to a busy unit from reading its whole history back."""
    columns = group_columns(spec, rule)
    amount = spec.field(rule.field).column
    first = keys[columns[0]]
    wanted = Q(**{f"{columns[0]}__in": first.drop_nulls().unique().to_list()})
    if first.null_count():
        wanted |= Q(**{f"{columns[0]}__isnull": True})
    latest = Window(RowNumber(), partition_by=[F(c) for c in columns], order_by=F("id").desc())
    rows = list(
        model_for(spec)
        .objects.filter(wanted, received_at__gte=now - timedelta(days=rule.window_days))
        .exclude(**{f"{amount}__isnull": True})
        .annotate(_latest=latest)
        .filter(_latest__lte=USUAL_SAMPLE)
        .values_list(*columns, Cast(amount, FloatField()))
    )
    schema = {c: keys.schema[c] for c in columns} | {"amount": pl.Float64}
    stored = pl.DataFrame(rows, schema=schema, orient="row")
    return stored.group_by(columns).agg(
        pl.col("amount").median().alias("usual"), pl.len().cast(pl.Int64).alias("n")
    )
