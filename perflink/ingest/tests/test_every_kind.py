"""Every record kind: a record goes in, and the same record sent again is recognised as unchanged
(so every column type survives the round trip through the database on both backends)."""

from __future__ import annotations

import polars as pl
import pytest

from perflink.core.context import SYSTEM
from perflink.ingest.actions import do_ingest, source_system_for
from perflink.ingest.kinds import KINDS
from tests.factories import World


def _records(w: World) -> dict[str, dict[str, str]]:
    emp, unit = w.staff.employee_no, w.hr.code
    return {
        "requisition": {
            "requisition_no": "R-1",
            "requesting_unit": w.sales.code,
            "recruiting_unit": unit,
            "position_title": "理赔专员",
            "positions": "20",
            "opened_on": "2026-01-05",
            "target_date": "2026-01-15",
        },
        "hire": {
            "external_id": "H-1",
            "requisition": "R-1",
            "candidate_name": "赵六",
            "channel": "校园招聘",
            "offer_on": "2026-01-08",
            "arrived_on": "2026-01-12",
            "employee": emp,
        },
        "training": {
            "external_id": "T-1",
            "employee": emp,
            "course": "产品知识",
            "completed_on": "2026-02-01",
            "passed": "是",
            "score": "92.5",
        },
        "exit": {"external_id": "X-1", "employee": emp, "exit_date": "2026-06-30", "reason": "个人原因"},
        "policy": {
            "policy_no": "P-1",
            "product_line": "寿险",
            "agent": w.agent.employee_no,
            "unit": w.sales_team.code,
            "applied_on": "2026-01-03",
            "issued_on": "2026-01-06",
            "first_year_premium": "12,000.50",
            "annualised_premium": "1.2万",
            "status": "有效",
        },
        "claim": {
            "claim_no": "C-1",
            "line": "车险",
            "handler": emp,
            "unit": unit,
            "reported_at": "2026/3/1 9:30",
            "approved_at": "2026-03-02 10:00:00",
            "paid_at": "2026-03-02T18:00:00+08:00",
            "amount_claimed": "5000",
            "amount_paid": "4,800.00",
            "satisfaction": "满意",
            "catastrophe_tag": "2026汛期-台风",
        },
        "payment": {
            "external_id": "F-1",
            "kind": "赔款支付",
            "reference": "C-1",
            "unit": unit,
            "requested_at": "2026-03-02 10:00",
            "paid_at": "2026-03-02 18:00",
            "amount": "4800",
        },
        "incident": {
            "external_id": "I-1",
            "system": "核心业务系统",
            "severity": "一级",
            "started_at": "2026-03-05 09:00",
            "ended_at": "2026-03-05 11:30",
            "affected_units": f"{w.sales.code},{w.sales_team.code}",
            "affected_transactions": "1200",
        },
        "survey_response": {
            "external_id": "SR-1",
            "survey": "S1",
            "question": "q1",
            "rated_unit": w.hr.code,
            "rating_unit": unit,
            "points": "10",
            "period_on": "2026-03-01",
            "answered_at": "2026-04-02 10:00",
        },
        "demand_evaluation": {
            "external_id": "D1",
            "demand": "D1",
            "demand_kind": "招聘",
            "serving_unit": w.hr.code,
            "requesting_unit": unit,
            "points": "86.67",
            "provisional": "是",
            "period_on": "2026-03-01",
            "evaluated_at": "2026-04-01 09:00",
        },
    }


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_resent_record_is_unchanged(in_world: World, kind: str) -> None:
    records = _records(in_world)
    order = ["requisition", kind] if kind == "hire" else [kind]
    for k in order:
        frame = pl.DataFrame({"_row": [2], **{f: [v] for f, v in records[k].items()}})
        first = do_ingest(KINDS[k], [frame], source=source_system_for(k), channel="push", actor=SYSTEM)
        assert (first.created, first.rejected) == (1, 0), first.errors
    again = do_ingest(KINDS[kind], [frame], source=source_system_for(kind), channel="push", actor=SYSTEM)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
