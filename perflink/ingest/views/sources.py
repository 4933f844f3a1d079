"""The data-sources overview: feed health per source system and record kind, source systems,
scheduled pulls (read only) and the latest batches."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from perflink.core.htmx import ago, is_partial, render_page
from perflink.ingest.forms import HealthFilterForm
from perflink.ingest.models import PullConnector
from perflink.ingest.selectors import FeedHealth, batches, data_health
from perflink.ingest.views.common import pct, source_systems
from perflink.web.decorators import page

RECENT_BATCHES = 8
HIGH_REJECTION = 0.05


def _needs_attention(feed: FeedHealth) -> bool:
    return feed.is_stale or bool(feed.volume_flag) or feed.rejection_rate > HIGH_REJECTION


def _feed_row(feed: FeedHealth) -> dict[str, Any]:
    return {
        "feed": feed,
        "rejection": pct(feed.rejection_rate),
        "rejection_high": feed.rejection_rate > HIGH_REJECTION,
        "missing": [(label, f"{share:.0%}") for label, share in feed.missing],
        "ago": ago(feed.last_received),
        "stale_days": round(feed.stale_after_hours / 24, 1),
    }


_HEALTH_KEYS: dict[str, Any] = {
    "source": lambda f: (f.source.name, f.kind_label),
    "kind": lambda f: (f.kind_label, f.source.name),
    "last": lambda f: f.last_received.timestamp() if f.last_received else 0.0,
    "recent": lambda f: f.per_day_recent,
    "rejection": lambda f: f.rejection_rate,
}


@page("ingest.view")
def sources(request: HttpRequest) -> HttpResponse:
    form = HealthFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    all_feeds = data_health()
    feeds = [f for f in all_feeds if not data.get("attention") or _needs_attention(f)]
    if data.get("source"):
        feeds = [f for f in feeds if f.source.code == data["source"]]
    sort = data.get("sort") or "source"
    feeds.sort(key=_HEALTH_KEYS[sort.lstrip("-")], reverse=sort.startswith("-"))
    rows = sum(f.rows for f in all_feeds)
    ctx: dict[str, Any] = {
        "form": form,
        "feeds": [_feed_row(f) for f in feeds],
        "sort": sort,
        "filtered": bool(data.get("attention") or data.get("source")),
        "high_rejection": HIGH_REJECTION,
    }
    if not is_partial(request):
        systems = source_systems()
        last = {}
        for f in all_feeds:
            if f.last_received and (f.source.pk not in last or f.last_received > last[f.source.pk]):
                last[f.source.pk] = f.last_received
        ctx |= {
            "systems": [
                (s, last.get(s.pk), sum(1 for f in all_feeds if f.source.pk == s.pk)) for s in systems
            ],
            "summary": {
                "systems": len(systems),
                "feeds": len(all_feeds),
                "stale": sum(1 for f in all_feeds if f.is_stale),
                "attention": sum(1 for f in all_feeds if _needs_attention(f)),
                "week_rows": round(sum(f.per_day_recent for f in all_feeds) * 7),
                "rejection_rate": pct(sum(f.rejected for f in all_feeds) / rows) if rows else None,
            },
            "recent": list(batches()[:RECENT_BATCHES]),
            "connectors": list(PullConnector.objects.select_related("source_system").order_by("name")),
        }
    return render_page(request, "ingest/sources.html", "ingest/partials/feed_table.html", ctx)
