"""Import history, a batch's stored report, rolling a batch back, and the download of its rejected rows."""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST, require_safe

from perflink.core.context import current_actor
from perflink.core.errors import Conflict
from perflink.core.exports import safe_cell
from perflink.core.htmx import render_page
from perflink.ingest.actions import do_rollback_batch, quarantine_dir
from perflink.ingest.choices import BatchStatus, Channel
from perflink.ingest.cleaning import RULES
from perflink.ingest.forms import BATCH_SORTS, BatchFilterForm
from perflink.ingest.kinds import KINDS
from perflink.ingest.models import Batch
from perflink.ingest.selectors import batches, get_batch
from perflink.ingest.views.common import field_labels, plausibility_context, source_systems
from perflink.ingest.views.texts import reason_text
from perflink.web.decorators import page

BATCHES_PER_PAGE = 25
QUARANTINE_HEADER = ["行号 (row)", "错误 (errors)"]


@page("ingest.view")
def history(request: HttpRequest) -> HttpResponse:
    systems = source_systems()
    form = BatchFilterForm(request.GET or None, sources=systems)
    filters = form.cleaned_filters()
    sort = filters.pop("sort") or "-received"
    column = BATCH_SORTS[sort.lstrip("-")]
    qs = batches(**filters).order_by(f"-{column}" if sort.startswith("-") else column, "-pk")
    page_obj = Paginator(qs, BATCHES_PER_PAGE).get_page(request.GET.get("page"))
    ctx = {
        "form": form,
        "page_obj": page_obj,
        "sort": sort,
        "filtered": any(filters.values()),
        "kinds": [(k, s.label) for k, s in KINDS.items()],
        "channels": Channel.choices,
        "statuses": BatchStatus.choices,
        "systems": systems,
    }
    return render_page(request, "ingest/history.html", "ingest/partials/batch_table.html", ctx)


@page("ingest.view")
def batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = get_batch(batch_id)
    stored = batch.report or {}
    spec = KINDS.get(batch.kind)
    labels = field_labels(spec) if spec else {}
    errors = [{**e, "reason_text": reason_text(e.get("reason", ""))} for e in stored.get("errors", [])]
    missing = sorted(
        (
            (labels.get(name, name), n, n / batch.n_rows if batch.n_rows else 0)
            for name, n in stored.get("missing", {}).items()
        ),
        key=lambda item: -item[1],
    )
    ctx = plausibility_context(stored, labels) | {
        "batch": batch,
        "stats": [
            (_("Rows"), [("total", batch.n_rows)]),
            (pgettext_lazy("records", "Created"), [("created", batch.n_created)]),
            (_("Updated / unchanged"), [("updated", batch.n_updated), ("unchanged", batch.n_unchanged)]),
            (_("Rejected"), [("rejected", batch.n_rejected)]),
        ],
        "kind_label": spec.label if spec else batch.kind,
        "rules": [(RULES.get(k, k), n) for k, n in stored.get("rules", {}).items() if n],
        "errors": errors,
        "error_total": stored.get("error_count", len(errors)),
        "ignored_columns": stored.get("ignored_columns", []),
        "missing": missing,
        "has_quarantine": bool(batch.quarantine_path),
        "committed": batch.status == BatchStatus.COMMITTED,
    }
    return render(request, "ingest/batch_detail.html", ctx)


def _rollback_refusal(exc: Conflict, batch: Batch) -> str:
    if exc.code == "already_rolled_back":
        return gettext("Batch #%(id)s is already rolled back.") % {"id": batch.pk}
    if exc.code == "later_batch_depends":
        later = [n for n in re.findall(r"#(\d+)", exc.message) if n != str(batch.pk)]
        return gettext(
            "Batch #%(id)s cannot be rolled back yet: later batches (%(later)s) changed some of the same "
            "records. Roll those back first, newest first, then this one."
        ) % {"id": batch.pk, "later": ", ".join(f"#{n}" for n in later)}
    return exc.message


@page("ingest.manage")
@require_POST
def batch_rollback(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = get_batch(batch_id)
    try:
        result = do_rollback_batch(batch, actor=current_actor())
    except Conflict as exc:
        messages.error(request, _rollback_refusal(exc, batch))
    else:
        messages.success(
            request,
            gettext(
                "Batch #%(id)s rolled back: %(deleted)s records it created were removed and %(restored)s "
                "records it changed got their earlier values back."
            )
            % {"id": batch.pk, **result},
        )
    return redirect("ingest:batch_detail", batch_id=batch.pk)


def _quarantine_file(batch: Batch, tenant: Any) -> Path | None:
    """The batch's file of rejected rows, only if it lies in this tenant's quarantine directory."""
    if not batch.quarantine_path:
        return None
    path = Path(batch.quarantine_path).resolve()
    if not path.is_relative_to(quarantine_dir(tenant.slug).resolve()) or not path.is_file():
        raise Http404("the file of rejected rows is no longer on the server")
    return path


class _Line:
    """A write-only buffer for csv.writer that hands back what was written."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(path: Path | None) -> Iterator[bytes]:
    """The quarantine file as CSV lines, row number first, every cell formula-safe."""
    writer = csv.writer(_Line())
    yield "\ufeff".encode()
    if path is None:
        yield writer.writerow(QUARANTINE_HEADER).encode()
        return
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        rows = csv.reader(fh)
        header = next(rows, None)
        if header is None:
            return
        first = header.index(QUARANTINE_HEADER[0]) if QUARANTINE_HEADER[0] in header else 0
        for row in itertools.chain([header], rows):
            if first and len(row) > first:
                row = [row[first], *row[:first], *row[first + 1 :]]
            # The file was neutralised when written; the header row (the user's own headers) was not.
            yield writer.writerow([safe_cell(cell) for cell in row]).encode()


@page("ingest.manage")
@require_safe
def batch_rejected(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The rejected rows of a quarantined import, as the user sent them plus row number and error column."""
    batch = get_batch(batch_id)
    path = _quarantine_file(batch, request.user.tenant)
    response = StreamingHttpResponse(_csv_lines(path), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="batch-{batch.pk}-rejected.csv"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
