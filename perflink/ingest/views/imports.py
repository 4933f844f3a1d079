"""File import: upload, preview (column mapping and first rows), validate (dry run), import (all or
nothing, or with quarantine), and saving a column mapping. One URL; the step is in the form."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from perflink.core.context import current_actor
from perflink.core.errors import DomainError
from perflink.core.htmx import htmx_partial, hx_redirect
from perflink.ingest.actions import IngestRejected, IngestReport, do_ingest, source_system_for
from perflink.ingest.choices import Channel
from perflink.ingest.cleaning import RULES
from perflink.ingest.files import FileProblem, read_table
from perflink.ingest.forms import ALL_KINDS, ImportOptionsForm, SaveMappingForm, StepForm, UploadForm
from perflink.ingest.kinds import (
    EXTERNAL_ID,
    MASTER_KINDS,
    FieldSpec,
    KindSpec,
    header_index,
    normalise_header,
)
from perflink.ingest.mappings import do_save_mapping
from perflink.ingest.models import ImportMapping
from perflink.ingest.roster import RosterRejected, RosterReport, sync_roster
from perflink.ingest.views.common import field_labels, plausibility_context, saved_mappings, source_systems
from perflink.ingest.views.texts import file_problem_text, reason_text
from perflink.ingest.views.uploads import (
    MAX_UPLOAD_BYTES,
    MULTIPART_SLACK,
    SESSION_UPLOADS,
    UPLOAD_TTL,
    StoredFile,
    StoredUpload,
    UploadToVar,
    forget_upload,
    peek,
    remember_upload,
    stored_upload,
    sweep_uploads,
    upload_dir,
)
from perflink.web.decorators import page

ERRORS_SHOWN = 200


@dataclass
class ColumnPlan:
    """One header of the file and what the import will do with it."""

    header: str
    field: str = ""
    label: str = ""
    how: str = "ignored"  # "saved" (from the chosen mapping), "recognised", "ignored", "duplicate"
    required: bool = False


def _plan(
    headers: list[str], spec: KindSpec, custom: dict[str, str]
) -> tuple[list[ColumnPlan], list[FieldSpec]]:
    """How each header maps (saved mapping first, then the built-in names) and which required fields
    no header provides. The import itself maps with `files.map_headers`, which follows the same rules."""
    index = header_index(spec)
    custom_norm = {normalise_header(k): v for k, v in custom.items()}
    labels = field_labels(spec)
    required = {f.name for f in spec.fields if f.required}
    if spec.key == EXTERNAL_ID.name:
        required.add(EXTERNAL_ID.name)
    plan: list[ColumnPlan] = []
    seen: set[str] = set()
    for header in headers:
        key = normalise_header(header)
        if not key:
            continue
        target = custom_norm.get(key) or index.get(key)
        how = "saved" if key in custom_norm else "recognised"
        if target is None:
            plan.append(ColumnPlan(header))
        elif target in seen:
            plan.append(ColumnPlan(header, target, labels.get(target, target), "duplicate"))
        else:
            seen.add(target)
            plan.append(ColumnPlan(header, target, labels.get(target, target), how, target in required))
    missing = [f for f in (*spec.fields, EXTERNAL_ID) if f.name in required and f.name not in seen]
    return plan, missing


def _custom_columns(mapping: ImportMapping | None, kind: str) -> dict[str, str]:
    return dict(mapping.columns) if mapping is not None and mapping.kind == kind else {}


def _report_context(report: IngestReport | RosterReport, outcome: str) -> dict[str, Any]:
    """What the report partial shows: counts, cleaning rules applied, the first errors and the total."""
    roster = isinstance(report, RosterReport)
    error_total = len(report.errors) if roster else report.error_count
    rules = [] if roster else [(RULES.get(k, k), n) for k, n in report.rules.items() if n]
    rows_rejected = len({e["row"] for e in report.errors}) if roster else report.rejected
    if roster:
        stats = [
            (_("Rows"), [("total", report.total)]),
            (_("Would create"), [("created", report.created)]),
            (_("Would move"), [("moved", report.moved)]),
            (_("Would update"), [("updated", report.updated)]),
            (_("Would mark as left"), [("exited", report.exited)]),
            (_("Unchanged"), [("unchanged", report.unchanged)]),
            (_("Valid rows"), [("valid", max(report.total - rows_rejected, 0))]),
            (_("Rows with errors"), [("rejected", rows_rejected)]),
        ]
    else:
        stats = [
            (_("Rows"), [("total", report.total)]),
            (_("Would create"), [("created", report.created)]),
            (_("Would update / unchanged"), [("updated", report.updated), ("unchanged", report.unchanged)]),
            (_("Rows with errors"), [("rejected", rows_rejected)]),
        ]
    found = {} if roster else plausibility_context(report.as_dict(), field_labels(ALL_KINDS[report.kind]))
    return (
        found
        | {
            "report": report,
            "outcome": outcome,  # "valid" or "invalid" (a dry run), "rejected" (an import refused whole)
            "roster": roster,
            "stats": stats,
            "rows_total": report.total,
            "rows_rejected": rows_rejected,
            "rows_valid": max(report.total - rows_rejected, 0),
            "rules": rules,
            "errors": [{**e, "reason_text": reason_text(e["reason"])} for e in report.errors[:ERRORS_SHOWN]],
            "error_total": error_total,
            "ignored_columns": [] if roster else report.ignored_columns,
        }
    )


def _upload_page(
    request: HttpRequest, form: UploadForm | None = None, *, problem: str = "", status: int = 200
) -> HttpResponse:
    if form is None:
        initial = {"kind": request.GET.get("kind") if request.GET.get("kind") in ALL_KINDS else "claim"}
        form = UploadForm(initial=initial, mappings=saved_mappings(), sources=source_systems())
    ctx = {
        "form": form,
        "problem": problem,
        "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
        "kinds": [(k, spec, k in MASTER_KINDS) for k, spec in ALL_KINDS.items()],
    }
    # htmx swaps only successful answers: an error page for it is a 200 that shows the error.
    return render(request, "ingest/import_upload.html", ctx, status=200 if htmx_partial(request) else status)


def _preview_url(token: str, options: dict[str, Any]) -> str:
    query = {"upload": token, "kind": options.get("kind", "")}
    if options.get("mapping"):
        query["mapping"] = options["mapping"]
    if options.get("source"):
        query["source"] = options["source"]
    if options.get("quarantine"):
        query["quarantine"] = "on"
    return f"{reverse('ingest:import')}?{urlencode(query)}"


def _mapping_form_headers(plan: list[ColumnPlan]) -> list[ColumnPlan]:
    """The headers the save-mapping form offers: those ignored and those the saved mapping maps."""
    return [p for p in plan if p.how in {"ignored", "saved"}]


def _preview_context(
    stored: StoredFile,
    options: ImportOptionsForm,
    mapping_form: SaveMappingForm | None = None,
) -> dict[str, Any]:
    kind = options.cleaned_data["kind"]
    spec = ALL_KINDS[kind]
    saved: ImportMapping | None = options.cleaned_data.get("mapping_obj")
    custom = _custom_columns(saved, kind)
    ctx: dict[str, Any] = {
        "stored": stored,
        "options": options,
        "kind": kind,
        "spec": spec,
        "roster": kind in MASTER_KINDS,
        "saved_mapping": saved if custom else None,
        "quarantine": bool(options.cleaned_data.get("quarantine")),
        "mapping_value": str(saved.pk) if custom and saved else "",
        "source_value": options.cleaned_data.get("source") or "",
    }
    try:
        headers, rows = peek(stored.path)
    except FileProblem as exc:
        return ctx | {"file_problem": file_problem_text(exc)}
    plan, missing = _plan(headers, spec, custom)
    offered = _mapping_form_headers(plan)
    if mapping_form is None:
        default_name = saved.name if custom and saved else Path(stored.name).stem
        initial: dict[str, Any] = {"name": default_name[:80]}
        initial |= {f"col_{i}": p.field for i, p in enumerate(offered) if p.how == "saved"}
        mapping_form = SaveMappingForm(
            initial=initial,
            kind=kind,
            headers=[p.header for p in offered],
            taken={p.field for p in plan if p.how == "recognised"},
        )
    width = max([len(headers), *(len(v) for _, v in rows)])
    header_plan = [_header_cell(h, plan) for h in [*headers, *[""] * (width - len(headers))]]
    mapped = [bool(p.field) and p.how != "duplicate" for p in header_plan]
    return ctx | {
        "plan": plan,
        "missing": [(f, [s for s in f.synonyms if s != f.label][:4]) for f in missing],
        "duplicates": [p for p in plan if p.how == "duplicate"],
        "ignored": [p.header for p in plan if p.how == "ignored"],
        "header_plan": header_plan,
        "rows": [
            (n, list(zip([*values, *[""] * (width - len(values))], mapped, strict=True)))
            for n, values in rows
        ],
        "mapping_form": mapping_form,
        "can_run": not missing and not any(p.how == "duplicate" for p in plan) and bool(rows),
    }


def _header_cell(header: str, plan: list[ColumnPlan]) -> ColumnPlan:
    for p in plan:
        if p.header == header:
            return p
    return ColumnPlan(header)


def _options_form(data: Any) -> ImportOptionsForm:
    return ImportOptionsForm(data, mappings=saved_mappings(), sources=source_systems())


def _import_get(request: HttpRequest) -> HttpResponse:
    token = request.GET.get("upload")
    if not token:
        return _upload_page(request)
    stored = stored_upload(request, token)
    if stored is None:
        return _upload_page(
            request,
            problem=gettext(
                "This upload is no longer available (files are kept for %(hours)d hours, in the session that "
                "uploaded them). Upload the file again."
            )
            % {"hours": int(UPLOAD_TTL.total_seconds() // 3600)},
        )
    options = _options_form(request.GET)
    if not options.is_valid() and "kind" in options.errors:
        return _upload_page(request, problem=gettext("Choose what kind of records the file holds."))
    return render(request, "ingest/import_preview.html", _preview_context(stored, options))


@csrf_exempt  # the CSRF check runs in _import_post, once the size-limited upload handler is in place
@page("ingest.manage")
@require_http_methods(["GET", "POST"])
def import_file(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _import_get(request)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_UPLOAD_BYTES + MULTIPART_SLACK:
        # Refused before a byte of the body is read.
        return _upload_page(request, problem=_too_big_text(), status=413)
    handler = UploadToVar(request, upload_dir(request.user.tenant), MAX_UPLOAD_BYTES)
    request.upload_handlers = [handler]
    response = _import_post(request, handler)
    if handler.path is not None and handler.token not in request.session.get(SESSION_UPLOADS, {}):
        handler.path.unlink(missing_ok=True)  # refused (CSRF, form errors) or not asked for: not kept
    return response


def _too_big_text() -> str:
    return gettext(
        "The file is larger than %(mb)d MB and was not accepted. Split it into several files (for example "
        "one per month) and import them one after another."
    ) % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)}


@csrf_protect
def _import_post(request: HttpRequest, handler: UploadToVar) -> HttpResponse:
    step = request.POST.get("step") or "upload"
    if step == "upload":
        return _upload(request, handler)
    if step == "save_mapping":
        return _save_mapping(request)
    if step in {"validate", "commit"}:
        return _run(request)
    return HttpResponseBadRequest("unknown step")


def _upload(request: HttpRequest, handler: UploadToVar) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES, mappings=saved_mappings(), sources=source_systems())
    valid = form.is_valid()
    upload = request.FILES.get("file")
    if handler.too_big:
        fresh = UploadForm(initial=request.POST.dict(), mappings=saved_mappings(), sources=source_systems())
        return _upload_page(request, fresh, problem=_too_big_text(), status=413)
    if not valid or not isinstance(upload, StoredUpload):
        return _upload_page(request, form, status=400)
    sweep_uploads(upload.path.parent)
    remember_upload(request, upload)
    return hx_redirect(request, _preview_url(upload.token, form.cleaned_data))


def _expired(request: HttpRequest) -> HttpResponse:
    problem = gettext("This upload is no longer available. Upload the file again.")
    if htmx_partial(request):
        return render(request, "ingest/partials/import_problem.html", {"problem": problem, "restart": True})
    return _upload_page(request, problem=problem)


def _run(request: HttpRequest) -> HttpResponse:
    """Validate (dry run) or import the uploaded file; the answer is the report."""
    form = StepForm(request.POST, mappings=saved_mappings(), sources=source_systems())
    valid = form.is_valid()
    stored = stored_upload(request, request.POST.get("upload"))
    if stored is None or "kind" in form.errors or "step" in form.errors:
        return _expired(request)
    if not valid:
        problem = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return _result(request, stored, form, {"problem": problem})
    data = form.cleaned_data
    kind, dry_run = data["kind"], data["step"] == "validate"
    spec = ALL_KINDS[kind]
    custom = _custom_columns(data.get("mapping_obj"), kind)
    actor = current_actor()
    try:
        mapping, chunks = read_table(stored.path, spec, custom)
        if kind in MASTER_KINDS:
            report: IngestReport | RosterReport = sync_roster(
                kind, chunks, actor=actor, headers=mapping.fields, dry_run=dry_run
            )
        else:
            # One transaction around choosing the source system and the delivery, so a dry run or a
            # refused file leaves no trace at all (not even a default source system created on first use).
            with transaction.atomic():
                report = do_ingest(
                    spec,
                    chunks,
                    source=source_system_for(kind, data.get("source") or None),
                    channel=Channel.FILE,
                    actor=actor,
                    headers=mapping.fields,
                    quarantine=bool(data.get("quarantine")) and not dry_run,
                    dry_run=dry_run,
                    file_name=stored.name,
                    ignored_columns=mapping.ignored,
                )
                if dry_run:
                    transaction.set_rollback(True)
    except FileProblem as exc:
        return _result(request, stored, form, {"problem": file_problem_text(exc)})
    except (IngestRejected, RosterRejected) as exc:
        return _result(request, stored, form, _report_context(exc.report, "rejected"))
    except DomainError as exc:
        return _result(request, stored, form, {"problem": exc.message})
    if dry_run:
        return _result(
            request, stored, form, _report_context(report, "invalid" if report.rejected else "valid")
        )
    forget_upload(request, stored)
    if isinstance(report, RosterReport):
        messages.success(request, _roster_text(report))
        return hx_redirect(request, reverse("ingest:import"))
    messages.success(request, _committed_text(report))
    return hx_redirect(request, reverse("ingest:batch_detail", kwargs={"batch_id": report.batch_id}))


def _roster_text(report: RosterReport) -> str:
    what = gettext("Org units") if report.kind == "unit" else gettext("Employees")
    return gettext(
        "%(what)s synchronised from %(total)s rows: %(created)s created, %(moved)s moved, %(updated)s updated, "
        "%(exited)s left, %(unchanged)s unchanged. Every change is in the audit trail."
    ) % {
        "what": what,
        "total": report.total,
        "created": report.created,
        "moved": report.moved,
        "updated": report.updated,
        "exited": report.exited,
        "unchanged": report.unchanged,
    }


def _committed_text(report: IngestReport) -> str:
    if report.rejected:
        text = gettext(
            "Imported %(valid)s of %(total)s rows. %(rejected)s rows were quarantined: download them below, fix "
            "them and import that file."
        ) % {"valid": report.total - report.rejected, "total": report.total, "rejected": report.rejected}
    else:
        text = gettext("Imported all %(total)s rows.") % {"total": report.total}
    if report.warned_rows:
        text += " " + gettext("%(rows)s of them have plausibility warnings: check them below.") % {
            "rows": report.warned_rows
        }
    return text


def _result(request: HttpRequest, stored: StoredFile, form: StepForm, ctx: dict[str, Any]) -> HttpResponse:
    """The report fragment for htmx, or the preview page with the report below it."""
    ctx = {**ctx, "upload_token": stored.token, "run": getattr(form, "cleaned_data", {})}
    if htmx_partial(request):
        return render(request, "ingest/partials/import_result.html", ctx)
    options = _options_form(request.POST)
    options.is_valid()
    return render(request, "ingest/import_preview.html", _preview_context(stored, options) | ctx)


def _save_mapping(request: HttpRequest) -> HttpResponse:
    options = _options_form(request.POST)
    stored = stored_upload(request, request.POST.get("upload"))
    if stored is None or not options.is_valid():
        return _expired(request)
    kind = options.cleaned_data["kind"]
    saved = options.cleaned_data.get("mapping_obj")
    custom = _custom_columns(saved, kind)
    try:
        headers, _rows = peek(stored.path)
    except FileProblem:
        return _expired(request)
    plan, _missing = _plan(headers, ALL_KINDS[kind], custom)
    offered = [p.header for p in _mapping_form_headers(plan)]
    form = SaveMappingForm(
        request.POST, kind=kind, headers=offered, taken={p.field for p in plan if p.how == "recognised"}
    )
    if form.is_valid():
        # Columns of the saved mapping that this file does not have are kept.
        columns = {h: f for h, f in custom.items() if h not in headers} | form.cleaned_data["columns"]
        try:
            mapping = do_save_mapping(form.cleaned_data["name"], kind, columns, actor=current_actor())
        except DomainError as exc:
            form.add_error("name" if exc.field == "name" else None, exc.message)
        else:
            messages.success(
                request,
                gettext("Column mapping “%(name)s” saved and applied to this file.") % {"name": mapping.name},
            )
            return redirect(_preview_url(stored.token, options.cleaned_data | {"mapping": str(mapping.pk)}))
    ctx = _preview_context(stored, options, mapping_form=form) | {"mapping_open": True}
    return render(request, "ingest/import_preview.html", ctx, status=400)
