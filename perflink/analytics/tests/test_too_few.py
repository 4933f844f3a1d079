"""A "too few data" answer names the input that is missing and how many records lack it, in Chinese and English,
so the analyst knows which column of which export to fix."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.test import Client

from perflink.analytics import selectors, stats
from perflink.core.context import SYSTEM, tenant_context
from perflink.metrics.actions import do_install_library
from tests.factories import World, push


def _claims(world: World) -> list[dict[str, Any]]:
    """40 claims of a regional export: 25 paid with an answer, 9 never given a payment time (paid by a
    third-party administrator whose export has no 赔付时间), 6 paid without a satisfaction answer."""
    rows = []
    for i in range(40):
        reported = dt.datetime(2026, 5, 1 + i % 28, 23, 40)  # reported late in the evening, local time
        row: dict[str, Any] = {
            "claim_no": f"SZ-2026-{i:05d}",
            "line": "auto",
            "handler": world.staff.employee_no,
            "unit": world.sales_team.code,
            "reported_at": reported.isoformat(),
            "approved_at": (reported + dt.timedelta(days=3)).isoformat(),
            "amount_claimed": "8600",
        }
        if i >= 9:
            row["paid_at"] = (reported + dt.timedelta(days=5 + i % 4)).isoformat()
        if i >= 15:
            row["satisfaction"] = 3 + i % 3
        rows.append(row)
    return rows


def test_given_claims_without_payment_time_when_too_few_then_the_answer_names_them(world):
    with tenant_context(world.tenant, SYSTEM):
        do_install_library(years=range(2025, 2028), actor=SYSTEM)
        push("claim", _claims(world))
        answer = selectors.claims_impact()
    assert answer.result.verdict is stats.Verdict.TOO_FEW
    assert "9 claims have no payment time (赔付时间)" in answer.result.reason
    assert "15 claims have no satisfaction (满意度)" in answer.result.reason
    assert "9 件赔案没有赔付时间" in answer.sentence.zh and "15 件赔案没有满意度" in answer.sentence.zh
    assert "9 claims have no payment time (赔付时间)" in answer.sentence.en
    assert "approval time" not in answer.result.reason  # every claim has one: not named


def test_given_a_pair_with_too_few_unit_months_then_the_answer_says_which_metric_is_short(world):
    with tenant_context(world.tenant, SYSTEM):
        do_install_library(years=range(2025, 2028), actor=SYSTEM)
        impact = selectors.pair_impact("claim_payment_days", "claim_satisfaction_score")
    assert impact.result.verdict is stats.Verdict.TOO_FEW
    functional, business = impact.functional.name_en, impact.business.name_en
    assert f"{functional} has values in 0 unit-months, {business} in 0, both in 0" in impact.result.reason
    assert "有值的单位月 0 个" in impact.sentence.zh


def test_the_claims_page_shows_the_missing_inputs(world):
    with tenant_context(world.tenant, SYSTEM):
        do_install_library(years=range(2025, 2028), actor=SYSTEM)
        push("claim", _claims(world))
    from tests.factories import make_scores

    make_scores(world)
    client = Client()
    client.force_login(world.users["performance_admin"])
    body = client.get("/analytics/claims/", HTTP_HX_REQUEST="true").content.decode()
    assert "9 件赔案没有赔付时间" in body
