"""Calculation runs through the database: determinism, the season switch, incremental recalculation,
explanations that name a changed record, published runs that are never changed silently, calendar gaps."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import polars as pl
import pytest
from django.core.management import call_command

from perflink.core.context import SYSTEM, tenant_context
from perflink.core.errors import Conflict, ValidationFailed
from perflink.ingest.models import PolicyRecord
from perflink.metrics.actions import (
    do_calculate,
    do_publish_run,
    do_recalculate_changed,
    do_save_template_version,
    do_set_target,
)
from perflink.metrics.calc import reproduce
from perflink.metrics.explain import explain
from perflink.metrics.models import CalcRun, MetricDefinition, Template
from perflink.metrics.selectors import run_frame
from tests.factories import make_scores, push

AS_OF = dt.date(2026, 11, 1)


def line(run: CalcRun, subject: int, metric: str, level: str = "employee") -> dict:
    rows = run_frame(run, "results").filter(
        (pl.col("level") == level) & (pl.col("subject_id") == subject) & (pl.col("metric") == metric)
    )
    assert rows.height == 1, rows
    return rows.row(0, named=True)


@pytest.fixture
def scored(world):
    run = make_scores(world)
    with tenant_context(world.tenant, SYSTEM):
        yield world, run


def test_a_run_scores_the_agent_on_the_library_template(scored):
    world, run = scored
    # The library's agent template: premium target 30,000 (general) or 50,000 in 开门红 (March is in it).
    premium = line(run, world.agent.pk, "new_business_premium")
    assert premium["value"] == 80_000.0  # 30,000 + 50,000 in March; February's 20,000 is not counted
    assert premium["target"] == 50_000.0
    assert premium["attainment"] == Decimal("160.000000")
    assert run.rules["templates"]["life_agent"]["reason"] == "season kaimenhong"


def test_same_inputs_give_the_same_fingerprint_and_numbers(scored):
    _, first = scored
    second = do_calculate("2026-03", actor=SYSTEM, as_of=AS_OF)
    assert second.fingerprint == first.fingerprint
    assert second.input_fingerprint == first.input_fingerprint
    for name in ("values", "results", "totals"):
        assert run_frame(second, name).equals(run_frame(first, name)), name
    assert second.summary["results_changed"] == 0


def test_a_target_set_for_the_agent_replaces_the_template_default(scored):
    world, _ = scored
    metric = MetricDefinition.objects.get(code="new_business_premium")
    do_set_target(period="2026-03", metric=metric, value=Decimal(100_000), employee=world.agent, actor=SYSTEM)
    run = do_calculate("2026-03", actor=SYSTEM, as_of=AS_OF)
    assert line(run, world.agent.pk, "new_business_premium")["attainment"] == Decimal("80.000000")


def test_the_hr_template_switches_with_the_season(scored):
    # DOMAIN.md §2.3: in 开门红 HR is scored on arrival within 10 days and training pass rate; in the off-season on
    # employee retention ≥ 85%.
    world, _ = scored
    february = do_calculate("2026-02", actor=SYSTEM, as_of=AS_OF)
    july = do_calculate("2026-07", actor=SYSTEM, as_of=AS_OF)
    feb_items = {item["metric"] for item in february.rules["templates"]["hr_unit"]["items"]}
    jul_items = {item["metric"]: item for item in july.rules["templates"]["hr_unit"]["items"]}
    assert {"arrival_within_10_days", "new_hire_training_pass_rate"} <= feb_items
    assert "new_agent_retention_3m_hr" not in feb_items
    assert Decimal(jul_items["new_agent_retention_3m_hr"]["target"]) == 85
    assert "arrival_within_10_days" not in jul_items
    # And the HR unit's scorecard lines follow the version in force.
    feb_lines = run_frame(february, "results").filter(pl.col("subject_id") == world.hr.pk)
    assert "arrival_within_10_days" in feb_lines.get_column("metric").to_list()


def test_a_new_template_version_applies_to_the_next_run(scored):
    world, _ = scored
    template = Template.objects.get(code="life_agent")
    items = [
        {
            "metric": "new_business_premium",
            "weight": "100",
            "rule": {"kind": "linear", "per_point": "1", "cap": "150"},
            "target": "40000",
            "scope": "self",
        },
    ]
    do_save_template_version(template, items=items, season_code="kaimenhong", actor=SYSTEM)
    run = do_calculate("2026-03", actor=SYSTEM, as_of=AS_OF)
    assert run.rules["templates"]["life_agent"]["version"] == 3
    premium = line(run, world.agent.pk, "new_business_premium")
    assert premium["points"] == Decimal("150.00")  # 200% capped at 150
    total = run_frame(run, "totals").filter(pl.col("subject_id") == world.agent.pk)
    assert total.item(0, "score") == Decimal("150.00")


def test_template_weights_must_add_up_to_100(scored):
    template = Template.objects.get(code="life_agent")
    items = [{"metric": "new_business_premium", "weight": "60", "rule": {"kind": "linear", "per_point": "1"}}]
    with pytest.raises(ValidationFailed, match="add up to 60, not 100"):
        do_save_template_version(template, items=items, actor=SYSTEM)


def test_editing_one_record_recalculates_exactly_what_it_feeds_and_names_it(scored):
    world, first = scored
    record = PolicyRecord.objects.get(policy_no=f"P-{world.tenant.slug}-0")
    # The policy system corrects the premium of one March policy: 30,000 → 45,000.
    push(
        "policy",
        [
            {
                "policy_no": record.policy_no,
                "product_line": "life",
                "agent": world.agent.employee_no,
                "unit": world.sales_team.code,
                "applied_on": "2026-03-02",
                "issued_on": "2026-03-02",
                "first_year_premium": "45000",
                "annualised_premium": "45000",
                "status": "in_force",
            }
        ],
    )
    runs = do_recalculate_changed({"policy": [record.pk]}, actor=SYSTEM, as_of=AS_OF)
    assert [run.period for run in runs] == ["2026-03"]
    second = runs[0]
    assert second.previous_id == first.pk
    assert second.summary["incremental"] == ["policy"]  # only what policies feed was recomputed
    # ... and it equals a full calculation of the same data.
    full = do_calculate("2026-03", actor=SYSTEM, as_of=AS_OF)
    assert full.summary["incremental"] is None
    for name in ("values", "results", "totals"):
        assert run_frame(full, name).equals(run_frame(second, name)), name
    assert full.fingerprint == second.fingerprint
    assert line(second, world.agent.pk, "new_business_premium")["value"] == 95_000.0
    # Exactly the lines the policy feeds moved: the agent's premium, and the premium of the team and its parents.
    before, after = run_frame(first, "results"), run_frame(second, "results")
    keys = ["level", "subject_id", "template", "item"]
    moved = (
        before.join(after, on=keys, suffix="_after")
        .filter(~pl.col("value").eq_missing(pl.col("value_after")))
        .select("level", "subject_id", "metric")
        .sort("level", "subject_id")
    )
    assert set(moved.get_column("metric").to_list()) == {"new_business_premium"}
    assert set(moved.select("level", "subject_id").rows()) == {
        ("employee", world.agent.pk),
        ("unit", world.sales_team.pk),
        ("unit", world.sales.pk),
    }
    assert second.summary["changed_records"] == [
        {"kind": "policy", "id": record.pk, "version": 2, "version_before": 1}
    ]
    # The explanation of the changed number lists the record, marked as changed.
    why = explain(second, "employee", world.agent.pk, "new_business_premium")
    assert why.record_count == 2
    assert [r["id"] for r in why.changed_records] == [record.pk]
    assert any(r["changed"] and r["id"] == record.pk for r in why.records)


def test_records_outside_every_calculated_period_start_no_run(scored):
    world, _ = scored
    push(
        "policy",
        [
            {
                "policy_no": "P-late",
                "product_line": "life",
                "agent": world.agent.employee_no,
                "unit": world.sales_team.code,
                "applied_on": "2026-09-01",
                "issued_on": "2026-09-01",
                "first_year_premium": "1000",
                "annualised_premium": "1000",
                "status": "in_force",
            }
        ],
    )
    late = PolicyRecord.objects.get(policy_no="P-late")
    # March's run reads policies of March, of February 2025 (13-month persistency) and 90 days after
    # March's arrivals: a September policy touches none of them.
    assert do_recalculate_changed({"policy": [late.pk]}, actor=SYSTEM, as_of=AS_OF) == []


def test_a_published_run_is_never_changed_and_shows_newer_data_exist(scored):
    world, first = scored
    do_publish_run(first, actor=SYSTEM)
    with pytest.raises(Conflict):
        do_publish_run(first, actor=SYSTEM)
    record = PolicyRecord.objects.get(policy_no=f"P-{world.tenant.slug}-1")
    PolicyRecord.objects.filter(pk=record.pk).update(first_year_premium=Decimal(1), version=2)
    (second,) = do_recalculate_changed({"policy": [record.pk]}, actor=SYSTEM, as_of=AS_OF)
    first.refresh_from_db()
    assert first.stale_since is not None
    assert second.published_at is None
    assert line(first, world.agent.pk, "new_business_premium")["value"] == 80_000.0  # untouched
    # The newer run can be published in turn; the first stays as it was, marked as superseded by newer data.
    do_publish_run(second, actor=SYSTEM)
    first.refresh_from_db()
    assert first.published_at is not None and first.stale_since is not None


def test_a_year_without_a_working_day_calendar_is_flagged_not_guessed(scored):
    world, _ = scored
    push(
        "payment",
        [
            {
                "external_id": "R-2027",
                "kind": "reimbursement",
                "reference": "R-2027",
                "payee": world.staff.employee_no,
                "unit": world.hr.code,
                "requested_at": "2027-01-04 09:00",
                "paid_at": "2027-01-08 17:00",
                "amount": "300",
            }
        ],
    )
    run = do_calculate("2027-01", actor=SYSTEM, as_of=AS_OF)
    assert run.summary["missing_calendar_years"].get("reimbursement_days") == [2027]
    values = run_frame(run, "values").filter(pl.col("metric") == "reimbursement_days")
    assert values.get_column("value").drop_nulls().len() == 0  # null, never counted as weekends only


def test_calc_command_prints_the_run_as_json(scored):
    world, _ = scored
    out = StringIO()
    call_command("calc", tenant=world.tenant.slug, period="2026-03", json=True, stdout=out)
    data = json.loads(out.getvalue())
    assert data["period"] == "2026-03"
    assert data["run"] == 2
    assert {"load_s", "compute_s", "persist_s", "total_s"} <= set(data["timings"])
    assert data["records_total"] >= 2


def test_a_bad_period_is_refused_with_a_clear_message(scored):
    with pytest.raises(ValidationFailed, match="2026-13"):
        do_calculate("2026-13", actor=SYSTEM)


def test_records_arriving_recalculate_the_affected_period_by_themselves(
    scored, django_capture_on_commit_callbacks
):
    world, first = scored
    with django_capture_on_commit_callbacks(execute=True):
        push(
            "policy",
            [
                {
                    "policy_no": "P-new-march",
                    "product_line": "life",
                    "agent": world.agent.employee_no,
                    "unit": world.sales_team.code,
                    "applied_on": "2026-03-20",
                    "issued_on": "2026-03-20",
                    "first_year_premium": "5000",
                    "annualised_premium": "5000",
                    "status": "in_force",
                }
            ],
        )
    latest = CalcRun.objects.filter(period="2026-03").order_by("-number").first()
    assert latest.pk != first.pk
    assert latest.trigger == "data"
    assert line(latest, world.agent.pk, "new_business_premium")["value"] == 85_000.0


def test_a_stored_run_reproduces_exactly_from_what_it_stored(scored):
    world, run = scored
    # Later changes to the definitions and the data do not matter: the run stored what it read and used.
    metric = MetricDefinition.objects.get(code="new_business_premium")
    do_set_target(period="2026-03", metric=metric, value=Decimal(1), employee=world.agent, actor=SYSTEM)
    PolicyRecord.objects.update(first_year_premium=Decimal(7))
    assert reproduce(run).identical
    out = StringIO()
    call_command("calc", tenant=world.tenant.slug, reproduce=run.pk, json=True, stdout=out)
    assert json.loads(out.getvalue())["identical"] is True
