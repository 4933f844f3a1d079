"""API: propose links, let the business side confirm or reject them, withdraw them."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Router
from ninja.pagination import paginate

from perflink.core.api import Pagination, errors, principal, requires
from perflink.core.context import current_actor
from perflink.core.errors import NotFound, ValidationFailed
from perflink.core.exports import csv_bytes
from perflink.incentives.actions import (
    check_plan,
    do_decide_link,
    do_import_plan_bases,
    do_propose_link,
    do_save_plan,
    do_withdraw_link,
)
from perflink.incentives.bases import BasesRejected, bases_listed, rows_from_records
from perflink.incentives.bonus import (
    do_adjust_bonus,
    do_approve_bonus_run,
    do_discard_bonus_run,
    do_publish_bonus_run,
    do_return_bonus_run,
    do_run_bonus,
    do_submit_bonus_run,
    payroll_rows,
    payroll_xlsx,
    statement,
)
from perflink.incentives.models import BonusAdjustment, BonusPayout, BonusRun, IncentivePlan, Link, PlanBase
from perflink.incentives.schemas import (
    AdjustmentIn,
    BonusRunIn,
    BonusRunOut,
    DecisionIn,
    DiscardIn,
    LinkDetailOut,
    LinkIn,
    LinkOut,
    PayoutOut,
    PlanBaseOut,
    PlanBasesImportOut,
    PlanBasesIn,
    PlanCheckIn,
    PlanCheckOut,
    PlanIn,
    PlanOut,
    ReturnIn,
    StatementOut,
    WhatIfIn,
    WhatIfOut,
)
from perflink.incentives.selectors import get_link, visible_links
from perflink.incentives.views.pdf import statement_pdf
from perflink.incentives.whatif import what_if
from perflink.metrics.actions import parse_period
from perflink.metrics.models import MetricDefinition
from perflink.org.models import Employee, OrgUnit
from perflink.org.selectors import get_employee

router = Router(tags=["links"])


@router.get(
    "/links", response={200: list[LinkOut], **errors()}, summary="Links between functions and business"
)
@requires("links.view")
@paginate(Pagination)
def list_links(request: HttpRequest, status: str | None = None) -> QuerySet[Link]:
    links = visible_links(principal(request)).order_by("id")
    return links.filter(status=status) if status else links


@router.get(
    "/links/{link_id}", response={200: LinkDetailOut, **errors(404)}, summary="A link and its versions"
)
@requires("links.view")
def read_link(request: HttpRequest, link_id: int) -> Link:
    return get_link(principal(request), link_id)


def _metric(code: str, field: str) -> MetricDefinition:
    metric = MetricDefinition.objects.filter(code=code, is_active=True).first()
    if metric is None:
        raise ValidationFailed(f"unknown metric {code!r}", field=field)
    return metric


def _unit(unit_id: int, field: str) -> OrgUnit:
    unit = OrgUnit.objects.filter(pk=unit_id).first()
    if unit is None:
        raise NotFound("unit not found", field=field)
    return unit


@router.post("/links", response={200: LinkOut, **errors(400, 404, 409)}, summary="Propose a link")
@requires("links.propose")
def propose_link(request: HttpRequest, body: LinkIn) -> Link:
    return do_propose_link(
        functional_unit=_unit(body.functional_unit_id, "functional_unit_id"),
        functional_metric=_metric(body.functional_metric, "functional_metric"),
        business_unit=_unit(body.business_unit_id, "business_unit_id"),
        business_metric=_metric(body.business_metric, "business_metric"),
        rationale=body.rationale,
        actor=current_actor(),
    )


@router.post(
    "/links/{link_id}/confirm",
    response={200: LinkOut, **errors(400, 404, 409)},
    summary="Confirm (business side)",
)
@requires("links.decide")
def confirm_link(request: HttpRequest, link_id: int, body: DecisionIn) -> Link:
    link = get_link(principal(request), link_id)
    return do_decide_link(link, confirm=True, note=body.note, user=principal(request), actor=current_actor())


@router.post(
    "/links/{link_id}/reject",
    response={200: LinkOut, **errors(400, 404, 409)},
    summary="Reject (business side)",
)
@requires("links.decide")
def reject_link(request: HttpRequest, link_id: int, body: DecisionIn) -> Link:
    link = get_link(principal(request), link_id)
    return do_decide_link(link, confirm=False, note=body.note, user=principal(request), actor=current_actor())


@router.post(
    "/links/{link_id}/withdraw", response={200: LinkOut, **errors(400, 404, 409)}, summary="Withdraw a link"
)
@requires("links.propose")
def withdraw_link(request: HttpRequest, link_id: int, body: DecisionIn) -> Link:
    link = get_link(principal(request), link_id)
    return do_withdraw_link(link, note=body.note, user=principal(request), actor=current_actor())


# --- incentive plans --------------------------------------------------------------------------------------------


@router.get("/plans", response={200: list[PlanOut], **errors()}, summary="Incentive plans and their versions")
@requires("plans.view")
def list_plans(request: HttpRequest) -> QuerySet[IncentivePlan]:
    return IncentivePlan.objects.prefetch_related("versions").order_by("code")


@router.post(
    "/plans/validate", response={200: PlanCheckOut, **errors(400)}, summary="Check a plan without saving it"
)
@requires("plans.manage")
def validate_plan(request: HttpRequest, body: PlanCheckIn) -> dict[str, object]:
    try:
        check_plan(body.definition)
    except ValidationFailed as exc:
        return {"valid": False, "message": exc.message}
    return {"valid": True}


@router.get("/plans/{plan_id}", response={200: PlanOut, **errors(404)}, summary="A plan and its versions")
@requires("plans.view")
def read_plan(request: HttpRequest, plan_id: int) -> IncentivePlan:
    plan = IncentivePlan.objects.prefetch_related("versions").filter(pk=plan_id).first()
    if plan is None:
        raise NotFound("plan not found")
    return plan


@router.post("/plans", response={200: PlanOut, **errors(400, 404)}, summary="Create a plan or add a version")
@requires("plans.manage")
def save_plan(request: HttpRequest, body: PlanIn) -> IncentivePlan:
    unit = _unit(body.unit_id, "unit_id") if body.unit_id else None
    version = do_save_plan(
        code=body.code,
        name=body.name,
        definition=body.definition,
        valid_from=body.valid_from,
        unit=unit,
        category=body.category,
        employment_type=body.employment_type,
        note=body.note,
        actor=current_actor(),
    )
    return IncentivePlan.objects.prefetch_related("versions").get(pk=version.plan_id)


# --- bonus runs -------------------------------------------------------------------------------------------------


def _run(run_id: int) -> BonusRun:
    run = BonusRun.objects.select_related("plan_version__plan").filter(pk=run_id).first()
    if run is None:
        raise NotFound("bonus run not found")
    return run


@router.get("/bonus-runs", response={200: list[BonusRunOut], **errors()}, summary="Bonus runs, newest first")
@requires("bonus.view")
@paginate(Pagination)
def list_bonus_runs(request: HttpRequest, period: str | None = None) -> QuerySet[BonusRun]:
    runs = BonusRun.objects.select_related("plan_version__plan").order_by("-created_at", "-id")
    return runs.filter(period=period) if period else runs


@router.post(
    "/bonus-runs",
    response={200: BonusRunOut, **errors(400, 404, 409)},
    summary="Run a plan for a period (a draft), or a correction of a published period",
    description="A plan and period with a published run take only a correction run (`correction: true` and a "
    "`reason`): it pays on the period's latest calculation and keeps only the differences to what was paid, "
    "posted as adjustment entries on the published run when the correction is published. A regular run for such "
    "a period answers 409 `already_published`.",
)
@requires("bonus.run")
def start_bonus_run(request: HttpRequest, body: BonusRunIn) -> BonusRun:
    plan = IncentivePlan.objects.filter(pk=body.plan_id).first()
    if plan is None:
        raise NotFound("plan not found", field="plan_id")
    run = do_run_bonus(
        plan, body.period, actor=current_actor(), correction=body.correction, reason=body.reason
    )
    return _run(run.pk)


@router.get(
    "/bonus-runs/{bonus_run_id}/payouts",
    response={200: list[PayoutOut], **errors(404)},
    summary="A run's payout rows (per person and component; a correction's are its differences)",
)
@requires("bonus.view")
@paginate(Pagination)
def list_payouts(request: HttpRequest, bonus_run_id: int) -> QuerySet[BonusPayout]:
    run = _run(bonus_run_id)
    return BonusPayout.objects.filter(run=run).select_related("employee").order_by("employee_id", "id")


@router.post(
    "/bonus-runs/{bonus_run_id}/discard",
    response={200: BonusRunOut, **errors(400, 404, 409)},
    summary="Discard a draft (kept on record with its reason, never payable)",
)
@requires("bonus.run")
def discard_bonus_run(request: HttpRequest, bonus_run_id: int, body: DiscardIn) -> BonusRun:
    return do_discard_bonus_run(_run(bonus_run_id), reason=body.reason, actor=current_actor())


@router.get("/bonus-runs/{bonus_run_id}", response={200: BonusRunOut, **errors(404)}, summary="A bonus run")
@requires("bonus.view")
def read_bonus_run(request: HttpRequest, bonus_run_id: int) -> BonusRun:
    return _run(bonus_run_id)


@router.post(
    "/bonus-runs/{bonus_run_id}/submit",
    response={200: BonusRunOut, **errors(400, 404, 409)},
    summary="Submit",
)
@requires("bonus.run")
def submit_bonus_run(request: HttpRequest, bonus_run_id: int) -> BonusRun:
    return do_submit_bonus_run(_run(bonus_run_id), user=principal(request), actor=current_actor())


@router.post(
    "/bonus-runs/{bonus_run_id}/approve",
    response={200: BonusRunOut, **errors(400, 404, 409)},
    summary="Approve (not by the submitter)",
)
@requires("bonus.approve")
def approve_bonus_run(request: HttpRequest, bonus_run_id: int) -> BonusRun:
    return do_approve_bonus_run(_run(bonus_run_id), user=principal(request), actor=current_actor())


@router.post(
    "/bonus-runs/{bonus_run_id}/return",
    response={200: BonusRunOut, **errors(400, 404, 409)},
    summary="Back to draft",
)
@requires("bonus.approve")
def return_bonus_run(request: HttpRequest, bonus_run_id: int, body: ReturnIn) -> BonusRun:
    return do_return_bonus_run(_run(bonus_run_id), reason=body.reason, actor=current_actor())


@router.post(
    "/bonus-runs/{bonus_run_id}/publish",
    response={200: BonusRunOut, **errors(400, 404, 409)},
    summary="Publish",
)
@requires("bonus.approve")
def publish_bonus_run(request: HttpRequest, bonus_run_id: int) -> BonusRun:
    return do_publish_bonus_run(_run(bonus_run_id), actor=current_actor())


@router.post(
    "/bonus-runs/{bonus_run_id}/adjustments",
    response={200: BonusRunOut, **errors(400, 404, 409)},
    summary="Adjust a published run (with a reason)",
)
@requires("bonus.approve")
def adjust_bonus_run(request: HttpRequest, bonus_run_id: int, body: AdjustmentIn) -> BonusRun:
    employee = Employee.objects.filter(pk=body.employee_id).first()
    if employee is None:
        raise NotFound("employee not found", field="employee_id")
    do_adjust_bonus(
        _run(bonus_run_id), employee=employee, amount=body.amount, reason=body.reason, actor=current_actor()
    )
    return _run(bonus_run_id)


@router.get(
    # int: so that ``…/statements/12.pdf`` reaches the PDF below instead of failing here as a bad id.
    "/bonus-runs/{bonus_run_id}/statements/{int:employee_id}",
    response={200: StatementOut, **errors(404)},
    summary="One person's statement (计算说明)",
)
@requires("bonus.view")
def read_statement(request: HttpRequest, bonus_run_id: int, employee_id: int) -> dict[str, Any]:
    run = _run(bonus_run_id)
    if not Employee.objects.filter(pk=employee_id).exists():
        raise NotFound("employee not found")
    body = statement(run, employee_id)
    if body["amounts"] is None:
        raise NotFound("this person is not paid by the run")
    adjustments = list(
        BonusAdjustment.objects.filter(run=run, employee_id=employee_id).values(
            "amount", "reason", "by_label", "at"
        )
    )
    return {"person_id": employee_id, **body, "adjustments": adjustments}


@router.get(
    "/bonus-runs/{bonus_run_id}/payroll.csv", response={200: None, **errors(404, 409)}, summary="Payroll CSV"
)
@requires("bonus.export")
def payroll_csv(request: HttpRequest, bonus_run_id: int) -> HttpResponse:
    run = _run(bonus_run_id)
    header, rows = payroll_rows(run)
    response = HttpResponse(csv_bytes(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="bonus-{run.period}-{run.pk}.csv"'
    return response


@router.get(
    "/bonus-runs/{bonus_run_id}/payroll.xlsx",
    response={200: None, **errors(404, 409)},
    summary="Payroll XLSX",
)
@requires("bonus.export")
def payroll_workbook(request: HttpRequest, bonus_run_id: int) -> HttpResponse:
    run = _run(bonus_run_id)
    response = HttpResponse(
        payroll_xlsx(run), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="bonus-{run.period}-{run.pk}.xlsx"'
    return response


@router.post(
    "/plans/{plan_id}/what-if",
    response={200: WhatIfOut, **errors(400, 404)},
    summary="A changed plan over past periods (a back-test), without saving, against the plan in force",
    description="For each period with a calculation run, the changed plan and the version in force are paid on "
    "the same inputs; periods without one are listed as skipped with the reason. Totals, sums by unit, the "
    "people who gain and lose most, distributions and the monthly series, per period and over the range. Money "
    "is a string to the fen. Nothing is written.",
)
@requires("plans.view")
def plan_what_if(request: HttpRequest, plan_id: int, body: WhatIfIn) -> dict[str, Any]:
    plan = IncentivePlan.objects.filter(pk=plan_id).first()
    if plan is None:
        raise NotFound("plan not found")
    return what_if(plan, body.definition, body.periods)


# --- a statement as PDF, per-person bases ------------------------------------------------------------------------


@router.get(
    "/bonus-runs/{bonus_run_id}/statements/{int:employee_id}.pdf",
    response={200: None, **errors(404, 503)},
    summary="One person's statement (计算说明) as PDF",
    description="The statement page as an A4 PDF (Chinese fonts, page numbers, the run's fingerprint). 404 for a "
    "person the run does not pay or outside the caller's data scope; 503 where the server lacks the system "
    "library the PDF needs.",
)
@requires("bonus.view")
def read_statement_pdf(request: HttpRequest, bonus_run_id: int, employee_id: int) -> HttpResponse:
    run = _run(bonus_run_id)
    person = get_employee(principal(request), employee_id)
    if statement(run, person.pk)["amounts"] is None:
        raise NotFound("this person is not paid by the run")
    return statement_pdf(principal(request), run, person)


def _plan(plan_id: int) -> IncentivePlan:
    plan = IncentivePlan.objects.filter(pk=plan_id).first()
    if plan is None:
        raise NotFound("plan not found")
    return plan


@router.get(
    "/plans/{plan_id}/bases",
    response={200: list[PlanBaseOut], **errors(404)},
    summary="Per-person bonus bases (人员基数) of a plan",
    description="Every base with the date it takes effect, by employee number then date; with `period`, only "
    "the base in force for each person at that period's start (what a bonus run of the period reads).",
)
@requires("plans.view")
@paginate(Pagination)
def list_plan_bases(request: HttpRequest, plan_id: int, period: str | None = None) -> QuerySet[PlanBase]:
    return bases_listed(_plan(plan_id), period=parse_period(period) if period else None)


@router.post(
    "/plans/{plan_id}/bases",
    response={200: PlanBasesImportOut, **errors(400, 404)},
    summary="Import per-person bonus bases (人员基数)",
    description="All records or none: a record with a problem (unknown employee number, a base that is not money "
    "to the fen, the same person and date twice) rejects the whole body with 422, every problem listed with its "
    "record (`records[3].base`). A base already set for the person and date is replaced.",
)
@requires("plans.manage")
def import_plan_bases(request: HttpRequest, plan_id: int, body: PlanBasesIn) -> Any:
    plan = _plan(plan_id)
    rows = rows_from_records([record.dict() for record in body.records])
    try:
        result = do_import_plan_bases(
            plan, rows, file_name="api", default_from=body.valid_from, actor=current_actor()
        )
    except BasesRejected as exc:
        field = {"employee": "employee_no", "base": "base", "valid_from": "valid_from", "note": "note"}
        problems = [
            {
                "field": f"records[{error.row - 1}].{field.get(error.field, error.field)}",
                "message": f"{error.reason}{': ' + error.detail if error.detail else ''}",
            }
            for error in exc.errors
        ]
        raise ValidationFailed(
            f"{len(problems)} record(s) rejected, nothing imported; first: {problems[0]['field']} "
            f"{problems[0]['message']}",
            field=problems[0]["field"],
            code="bases_rejected",
            errors=problems,
        ) from None
    return result
