"""The demo's collaboration story: demands in every state with live progress from the generated records,
evaluations written as demand_evaluation records, monthly support surveys whose answers reach the HR department's
scorecard, and an open survey below the anonymity threshold hiding its results."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import polars as pl
import pytest
from django.core.management import call_command

from perflink.accounts.models import User
from perflink.collab.models import Demand, Survey
from perflink.collab.progress import demand_progress
from perflink.collab.surveys import unit_results
from perflink.core.context import SYSTEM, tenant_context
from perflink.incentives.models import BonusRun
from perflink.ingest.models import DemandEvaluationRecord, SurveyResponseRecord
from perflink.metrics.models import CalcRun
from perflink.metrics.selectors import run_frame
from perflink.tenancy.models import Tenant

SMALL = {"employees": 300, "months": 6, "seed": 7, "end": "2026-10"}


@pytest.fixture(scope="module")
def demo(django_db_setup: Any, django_db_blocker: Any) -> Any:
    """One small demo for the module (loading it is the slow part), dropped at the end."""
    with django_db_blocker.unblock():
        call_command("demo_data", tenant="collab", stdout=StringIO(), **SMALL)
        tenant = Tenant.objects.get(slug="collab")
        yield tenant
        from perflink.demo.actions import drop_tenant_data

        with tenant_context(tenant, SYSTEM):
            drop_tenant_data(tenant)


def figures(demand: Demand, as_of: dt.date) -> dict[str, Any]:
    return {f.key: f.value for f in demand_progress(demand, as_of).figures}


AS_OF = dt.date(2026, 11, 1)


@pytest.mark.django_db
def test_demands_in_every_state_with_progress_from_the_generated_records(demo: Any) -> None:
    with tenant_context(demo, SYSTEM):
        demands = list(Demand.objects.select_related("requesting_unit", "serving_unit"))
        states = {(d.status, d.evaluation_state) for d in demands}
        assert {
            ("evaluated", "final"),
            ("evaluated", "provisional"),
            ("delivered", ""),
            ("in_progress", ""),
            ("accepted", ""),
            ("submitted", ""),
            ("declined", ""),
        } <= states, states
        kinds = {d.kind for d in demands}
        assert {"recruitment", "training", "it_support", "other"} <= kinds
        recruiting = [d for d in demands if d.kind == "recruitment" and d.spec.get("requisition")]
        assert recruiting and all(figures(d, AS_OF)["hires"] > 0 for d in recruiting)
        declined = next(d for d in demands if d.status == "declined")
        assert declined.decline_reason
        head = User.objects.get(username="head@collab")
        assert any(
            d.events.filter(kind="change_request", text="培训加入产品知识").exists() for d in recruiting
        )
        assert all(
            d.requesting_unit.path.startswith(head.scope_unit.parent.path)
            for d in demands
            if d.kind == "other"
        )
        # The steps are dated in the demo's past, not on the day it was loaded.
        assert all(d.submitted_at.date() < AS_OF for d in demands)
        assert not any(e.at.date() >= AS_OF for d in demands for e in d.events.all())


@pytest.mark.django_db
def test_every_evaluated_demand_has_its_demand_evaluation_record(demo: Any) -> None:
    with tenant_context(demo, SYSTEM):
        evaluated = Demand.objects.filter(status="evaluated")
        records = {r.external_id: r for r in DemandEvaluationRecord.objects.all()}
        assert evaluated.exists()
        for demand in evaluated:
            record = records[demand.number]
            assert (record.points, record.provisional) == (
                demand.points,
                demand.evaluation_state == "provisional",
            )


@pytest.mark.django_db
def test_closed_surveys_reach_the_hr_scorecard_with_the_demand_points(demo: Any) -> None:
    with tenant_context(demo, SYSTEM):
        closed = Survey.objects.filter(status="closed")
        assert closed.exists() and Survey.objects.filter(status="open").exists()
        survey = closed.order_by("period").last()
        assert SurveyResponseRecord.objects.filter(survey=f"S{survey.pk}").exists()
        hr = survey.rated_units.get(category="hr")
        found: dict[str, bool] = {}
        for run in CalcRun.objects.all():
            values = run_frame(run, "values").filter(pl.col("subject_id") == hr.pk)
            for metric in ("internal_support_satisfaction", "demand_points"):
                hit = values.filter((pl.col("metric") == metric) & pl.col("value").is_not_null())
                found[metric] = found.get(metric, False) or hit.height > 0
        assert found == {"internal_support_satisfaction": True, "demand_points": True}
        assert BonusRun.objects.filter(plan_version__plan__code="hr").exists()


@pytest.mark.django_db
def test_the_open_survey_below_the_threshold_hides_its_results(demo: Any) -> None:
    with tenant_context(demo, SYSTEM):
        open_ones = list(Survey.objects.filter(status="open"))
        answered = {s.pk: s.invitations.exclude(answered_at=None).count() for s in open_ones}
        below = next(s for s in open_ones if answered[s.pk] < s.threshold)
        hr = below.rated_units.get(category="hr")
        hr_head = User.objects.get(role="unit_head", scope_unit=hr)
        assert all(r.hidden for r in unit_results(below, hr_head))
        above = next(s for s in open_ones if answered[s.pk] >= s.threshold)
        hr_above = User.objects.get(role="unit_head", scope_unit=above.rated_units.get(category="hr"))
        results = unit_results(above, hr_above)
        assert not any(r.hidden for r in results) and all(r.average is not None for r in results)
        # head@ has not answered its branch's open survey yet: it waits in their inbox.
        head = User.objects.get(username="head@collab")
        assert below.invitations.filter(answered_at=None, reminders__gt=0).exists()
        assert Survey.objects.filter(
            status="open", invitations__user=head, invitations__answered_at=None
        ).exists()


@pytest.mark.django_db
def test_the_last_four_weeks_have_their_weekly_reports(demo: Any) -> None:
    from perflink.collab.models import WeeklyReport

    with tenant_context(demo, SYSTEM):
        weeks = sorted({r.week_start for r in WeeklyReport.objects.all()})
        company = WeeklyReport.objects.filter(unit__isnull=True).count()
    # October 2026 ends on a Saturday: its last full week is 19-25 October.
    assert weeks == [dt.date(2026, 9, 28), dt.date(2026, 10, 5), dt.date(2026, 10, 12), dt.date(2026, 10, 19)]
    assert company == 4
