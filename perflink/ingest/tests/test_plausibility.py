"""Plausibility rules and amounts rounded to the fen, through every door: a claims system's CSV and XLSX exports,
the `perflink import` command, the push API, the batch page, and a tenant's own choice of severity.

The deliveries are shaped like a branch's June claims export, imported on 15 July 2026 at 10:15 Beijing time.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import xlsxwriter
from django.core.management import call_command
from django.db import connections
from django.test import Client

from perflink import cli
from perflink.accounts.actions import do_create_token
from perflink.audit.models import AuditEvent
from perflink.core.context import SYSTEM, tenant_context
from perflink.ingest.actions import IngestRejected, do_ingest, do_set_plausibility_rule, source_system_for
from perflink.ingest.cleaning import Refs, clean_frame
from perflink.ingest.files import read_table
from perflink.ingest.kinds import KINDS
from perflink.ingest.models import Batch, ClaimRecord, PlausibilityOverride, SourceSystem
from perflink.ingest.plausibility import RULES, Checks, with_overrides
from tests.factories import World, push

# 2026-07-15 10:15 in Beijing.
IMPORT_AT = datetime(2026, 7, 15, 2, 15, tzinfo=UTC)
FUTURE_REASON = "in the future (after 2026-07-15 11:15 Beijing time)"
OUTLIER_REASON = "more than 100× the usual 9200.00 for its unit (median of 10 rows of this delivery)"

HEADERS = [
    "赔案号",
    "险种大类",
    "理赔员工号",
    "机构代码",
    "报案时间",
    "核赔时间",
    "赔付时间",
    "索赔金额",
    "赔付金额",
]


@pytest.fixture(autouse=True)
def var_dir(settings: Any, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path / "var"
    settings.VAR_DIR.mkdir()
    return settings.VAR_DIR


@pytest.fixture
def import_time(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Every delivery in these tests is received at IMPORT_AT."""
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: IMPORT_AT)
    return IMPORT_AT


def june_claims(world: World) -> list[list[str]]:
    """Ten claims of one branch; four are implausible. File rows 2-11."""
    h, u = world.staff.employee_no, world.sales.code
    return [
        [
            "BJ2606-0001",
            "车险",
            h,
            u,
            "2026-06-01 00:30",
            "2026-06-03 09:00",
            "2026-06-05 16:20",
            "8,600.00",
            "8200",
        ],
        [
            "BJ2606-0002",
            "车险",
            h,
            u,
            "2026-06-30 23:59",
            "2026-07-02 11:00",
            "2026-07-03 10:00",
            "9,100.00",
            "9100",
        ],
        # row 4: a negative amount (a reversal exported as a claim)
        ["BJ2606-0003", "车险", h, u, "2026-06-02 08:10", "", "", "-3,200.00", ""],
        # row 5: paid the day before its approval
        [
            "BJ2606-0004",
            "财产险",
            h,
            u,
            "2026-06-08 14:00",
            "2026-06-12 15:00",
            "2026-06-11 10:00",
            "9,300.00",
            "9000",
        ],
        # row 6: reported five months ahead (a typo of the month)
        ["BJ2606-0005", "车险", h, u, "2026-12-15 09:00", "", "", "7,800.00", ""],
        # row 7: a hundred and more times the branch's usual claim
        [
            "BJ2606-0006",
            "财产险",
            h,
            u,
            "2026-06-20 10:00",
            "2026-06-25 10:00",
            "2026-06-29 10:00",
            "1,250,000.00",
            "",
        ],
        [
            "BJ2606-0007",
            "车险",
            h,
            u,
            "2026-06-21 09:30",
            "2026-06-23 09:30",
            "2026-06-24 09:30",
            "10,400.00",
            "10000",
        ],
        [
            "BJ2606-0008",
            "健康险",
            h,
            u,
            "2026-06-22 16:45",
            "2026-06-24 10:00",
            "2026-06-26 10:00",
            "9,800.00",
            "9800",
        ],
        [
            "BJ2606-0009",
            "车险",
            h,
            u,
            "2026-06-23 11:00",
            "2026-06-26 10:00",
            "2026-06-30 23:59",
            "12,000.00",
            "11500",
        ],
        [
            "BJ2606-0010",
            "车险",
            h,
            u,
            "2026-06-28 00:00",
            "2026-06-29 10:00",
            "2026-07-01 00:00",
            "6,500.00",
            "6500",
        ],
    ]


def write_csv(path: Path, rows: list[list[str]], headers: list[str] = HEADERS) -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(headers)
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode("utf-8-sig"))
    return path


EXPECTED_ERRORS = [
    {
        "row": 4,
        "column": "索赔金额",
        "field": "amount_claimed",
        "value": "-3,200.00",
        "reason": "below the minimum of 0",
    },
    {
        "row": 5,
        "column": "赔付时间",
        "field": "paid_at",
        "value": "2026-06-11 10:00",
        "reason": "earlier than 核赔时间",
    },
]
EXPECTED_WARNINGS = [
    {
        "row": 6,
        "column": "报案时间",
        "field": "reported_at",
        "value": "2026-12-15 09:00",
        "reason": FUTURE_REASON,
        "rule": "claim.reported_at.not_future",
    },
    {
        "row": 7,
        "column": "索赔金额",
        "field": "amount_claimed",
        "value": "1,250,000.00",
        "reason": OUTLIER_REASON,
        "rule": "claim.amount_claimed.outlier",
    },
]
EXPECTED_FINDINGS = {
    "claim.amount_claimed.minimum": {"severity": "error", "cells": 1},
    "claim.amount_claimed.outlier": {"severity": "warning", "cells": 1},
    "claim.paid_at.order.approved_at": {"severity": "error", "cells": 1},
    "claim.reported_at.not_future": {"severity": "warning", "cells": 1},
}


def ingest_file(path: Path, **options: Any) -> Any:
    spec = KINDS["claim"]
    mapping, chunks = read_table(path, spec)
    return do_ingest(
        spec,
        chunks,
        source=source_system_for("claim"),
        channel="file",
        actor=SYSTEM,
        headers=mapping.fields,
        file_name=str(path),
        **options,
    )


# --- a claims CSV ------------------------------------------------------------------------------------------


def test_given_a_claims_csv_with_implausible_rows_when_imported_whole_then_errors_refuse_it_and_nothing_is_written(
    world: World, import_time: datetime, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "理赔-2026-06.csv", june_claims(world))
    with tenant_context(world.tenant, SYSTEM):
        with pytest.raises(IngestRejected) as caught:
            ingest_file(path)
        report = caught.value.report
        assert caught.value.message == "理赔-2026-06.csv: 2 of 10 rows rejected; nothing was written"
        assert (report.total, report.rejected, report.error_count) == (10, 2, 2)
        assert report.errors == EXPECTED_ERRORS
        assert report.warnings == EXPECTED_WARNINGS
        assert (report.warning_count, report.warned_rows) == (2, 2)
        assert report.findings == EXPECTED_FINDINGS
        assert ClaimRecord.objects.count() == 0 and Batch.objects.count() == 0


def test_given_the_same_csv_when_quarantined_then_eight_rows_are_written_and_the_warnings_stay_with_the_batch(
    world: World, import_time: datetime, tmp_path: Path, client: Client
) -> None:
    path = write_csv(tmp_path / "理赔-2026-06.csv", june_claims(world))
    with tenant_context(world.tenant, SYSTEM):
        report = ingest_file(path, quarantine=True)
        assert (report.created, report.rejected, report.warning_count) == (8, 2, 2)
        batch = Batch.objects.get()
        assert batch.report["warnings"] == EXPECTED_WARNINGS
        assert (batch.report["warning_count"], batch.report["warned_rows"]) == (2, 2)
        assert batch.report["findings"] == EXPECTED_FINDINGS
        # The rows with warnings are stored as sent; the future one in UTC.
        future = ClaimRecord.objects.get(claim_no="BJ2606-0005")
        assert future.reported_at == datetime(2026, 12, 15, 1, 0, tzinfo=UTC)
        assert ClaimRecord.objects.get(claim_no="BJ2606-0006").amount_claimed == Decimal("1250000.00")
        assert not ClaimRecord.objects.filter(claim_no__in=["BJ2606-0003", "BJ2606-0004"]).exists()
    client.force_login(world.users["performance_admin"])
    page = client.get(f"/data/batches/{batch.pk}/").content.decode()
    assert 'data-warning-total="2"' in page
    assert 'data-row="6" data-rule="claim.reported_at.not_future"' in page
    assert 'data-row="7" data-rule="claim.amount_claimed.outlier"' in page
    assert 'data-rule="claim.paid_at.order.approved_at"' in page  # the checks card counts the errors too


def test_given_a_bad_file_when_perflink_import_runs_then_it_exits_1_naming_file_rows_fields_and_reasons(
    world: World, import_time: datetime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setattr(
        connections, "close_all", lambda: None
    )  # run_from_argv closes them; the test needs it
    path = write_csv(tmp_path / "理赔-2026-06.csv", june_claims(world))
    with pytest.raises(SystemExit) as exited:
        cli.main(["import", str(path), "--kind", "claim", "--tenant", "alpha"])
    assert exited.value.code == 1
    out, err = capsys.readouterr()
    assert "理赔-2026-06.csv: 2 of 10 rows rejected; nothing was written." in err
    assert "  errors in 理赔-2026-06.csv (2):" in out
    assert "    row 4, column “索赔金额”, value '-3,200.00': below the minimum of 0" in out
    assert "    row 5, column “赔付时间”, value '2026-06-11 10:00': earlier than 核赔时间" in out
    assert "  warnings in 理赔-2026-06.csv (2 on 2 rows, which are accepted):" in out
    assert (
        f"    row 6, column “报案时间”, value '2026-12-15 09:00': {FUTURE_REASON} [claim.reported_at.not_future]"
        in out
    )
    assert (
        f"    row 7, column “索赔金额”, value '1,250,000.00': {OUTLIER_REASON} [claim.amount_claimed.outlier]"
        in out
    )
    assert "           1 cells  claim.amount_claimed.minimum (error)" in out
    with tenant_context(world.tenant, SYSTEM):
        # Refused whole: no records, no batch, not even the default source system.
        assert (ClaimRecord.objects.count(), Batch.objects.count(), SourceSystem.objects.count()) == (0, 0, 0)


# --- an XLSX export with four-decimal amounts ------------------------------------------------------------


def test_given_an_xlsx_export_with_four_decimal_amounts_when_imported_then_every_row_is_kept_rounded_to_the_fen(
    world: World, import_time: datetime, tmp_path: Path, capsys: Any
) -> None:
    h, u = world.staff.employee_no, world.sales.code
    claimed = [115744.7737, 8650.125, 3102.675, 0.125, 23037.5, 12000.0]
    paid = [110000.0049, 8650.125, 3000.0, 0.125, None, 11999.995]
    path = tmp_path / "理赔导出.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("理赔明细")
    sheet.write_row(0, 0, HEADERS)
    for i, (c, p) in enumerate(zip(claimed, paid, strict=True), start=1):
        row = [f"SH2606-{i:04d}", "车险", h, u, f"2026-06-{i:02d} 09:00", "", ""]
        sheet.write_row(i, 0, row)
        sheet.write_number(i, 7, c)  # numbers as the claims system writes them, not text
        if p is not None:
            sheet.write_number(i, 8, p)
    book.close()

    call_command("import_records", str(path), kind="claim", tenant="alpha")
    out = capsys.readouterr().out
    assert "created 6, updated 0, unchanged 0, rejected 0" in out
    assert "  4 amounts rounded to the fen in “索赔金额”" in out
    assert "  4 amounts rounded to the fen in “赔付金额”" in out
    with tenant_context(world.tenant, SYSTEM):
        stored = dict(ClaimRecord.objects.order_by("claim_no").values_list("claim_no", "amount_claimed"))
        assert list(stored.values()) == [
            Decimal("115744.77"),
            Decimal("8650.13"),  # half up, not half to even
            Decimal("3102.68"),  # what was typed, not the float's binary 3102.67499…
            Decimal("0.13"),
            Decimal("23037.50"),
            Decimal("12000.00"),
        ]
        assert list(ClaimRecord.objects.order_by("claim_no").values_list("amount_paid", flat=True)) == [
            Decimal("110000.00"),
            Decimal("8650.13"),
            Decimal("3000.00"),
            Decimal("0.13"),
            None,
            Decimal("12000.00"),
        ]
        batch = Batch.objects.get()
        assert batch.report["rounded"] == {"amount_claimed": 4, "amount_paid": 4}
        assert batch.report["rules"]["fen_rounding"] == 8


# --- the push API -----------------------------------------------------------------------------------------


@pytest.fixture
def token(world: World) -> str:
    with tenant_context(world.tenant):
        _, secret = do_create_token(
            name="理赔系统", permissions=["ingest.push", "ingest.view"], created_by=None, actor=SYSTEM
        )
    return secret


def _post(token: str, body: dict[str, Any]) -> Any:
    return Client().post(
        "/api/v1/ingest/claim",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def june_records(world: World) -> list[dict[str, Any]]:
    """The CSV's claims as a claims system pushes them: JSON numbers for amounts, four decimals on two."""
    names = ["claim_no", "line", "handler", "unit", "reported_at", "approved_at", "paid_at"]
    out = []
    for row in june_claims(world):
        record = {k: v for k, v in zip(names, row, strict=False) if v}
        record["amount_claimed"] = float(row[7].replace(",", ""))
        out.append(record)
    out[0]["amount_claimed"] = 8600.125  # -> 8600.13
    out[1]["amount_claimed"] = 9100.1249  # -> 9100.12
    return out


def test_given_a_push_with_the_same_cases_when_all_or_nothing_then_422_lists_errors_and_warnings(
    world: World, import_time: datetime, token: str
) -> None:
    response = _post(token, {"records": june_records(world)})
    assert response.status_code == 422
    report = response.json()["report"]
    assert report["errors"] == [
        {"index": 2, "field": "amount_claimed", "value": "-3200", "reason": "below the minimum of 0"},
        {"index": 3, "field": "paid_at", "value": "2026-06-11 10:00", "reason": "earlier than approved_at"},
    ]
    assert report["warnings"] == [
        {"index": 4, "field": "reported_at", "value": "2026-12-15 09:00", "reason": FUTURE_REASON,
         "rule": "claim.reported_at.not_future"},
        {"index": 5, "field": "amount_claimed", "value": "1250000",
         "reason": "more than 100× the usual 9200.06 for its unit (median of 10 rows of this delivery)",
         "rule": "claim.amount_claimed.outlier"},
    ]  # fmt: skip
    assert report["warning_count"] == 2 and report["rounded"] == {"amount_claimed": 2}
    with tenant_context(world.tenant):
        assert ClaimRecord.objects.count() == 0 and Batch.objects.count() == 0


def test_given_a_push_with_the_same_cases_when_partial_then_the_rest_is_written_rounded_and_warned(
    world: World, import_time: datetime, token: str
) -> None:
    response = _post(token, {"records": june_records(world), "partial": True})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["rejected"], body["warning_count"]) == (8, 2, 2)
    assert [w["index"] for w in body["warnings"]] == [4, 5]
    assert body["findings"]["claim.paid_at.order.approved_at"] == {"severity": "error", "cells": 1}
    with tenant_context(world.tenant):
        amounts = dict(ClaimRecord.objects.values_list("claim_no", "amount_claimed"))
        assert amounts["BJ2606-0001"] == Decimal("8600.13") and amounts["BJ2606-0002"] == Decimal("9100.12")
        assert Batch.objects.get().report["warning_count"] == 2


def test_given_stored_claims_of_a_unit_when_a_later_push_has_a_hundredfold_claim_then_the_stored_median_is_the_yardstick(
    world: World, import_time: datetime
) -> None:
    h, u = world.staff.employee_no, world.sales.code

    def claim(no: str, amount: str) -> dict[str, str]:
        return {"claim_no": no, "line": "车险", "handler": h, "unit": u, "reported_at": "2026-07-01 09:00",
                "amount_claimed": amount}  # fmt: skip

    with tenant_context(world.tenant, SYSTEM):
        push(
            "claim",
            [claim(f"GZ-{i}", a) for i, a in enumerate(["5000", "5200", "4800", "6100", "5500", "4900"])],
        )
        later = push("claim", [claim("GZ-100", "520000.01"), claim("GZ-101", "5100")])
    assert later.warnings == [
        {
            "row": 0,
            "column": "amount_claimed",
            "field": "amount_claimed",
            "value": "520000.01",
            "reason": "more than 100× the usual 5100.00 for its unit (median of 6 stored records)",
            "rule": "claim.amount_claimed.outlier",
        }
    ]


# --- a tenant's choices -----------------------------------------------------------------------------------


def test_given_a_tenant_that_books_reversals_when_it_makes_negative_amounts_a_warning_then_they_are_accepted(
    world: World, other_world: World, import_time: datetime, tmp_path: Path
) -> None:
    rows = june_claims(world)[:3]
    path = write_csv(tmp_path / "冲正.csv", rows)
    with tenant_context(world.tenant, SYSTEM):
        do_set_plausibility_rule("claim.amount_claimed.minimum", "warning", actor=SYSTEM)
        report = ingest_file(path, dry_run=True)
        assert report.rejected == 0
        assert [(w["row"], w["reason"]) for w in report.warnings] == [(4, "below the minimum of 0")]
        do_set_plausibility_rule("claim.amount_claimed.minimum", "off", actor=SYSTEM)
        assert ingest_file(path, dry_run=True).warnings == []
        do_set_plausibility_rule(
            "claim.amount_claimed.minimum", "error", actor=SYSTEM
        )  # back to the rule's own
        assert PlausibilityOverride.objects.count() == 0
        assert AuditEvent.objects.filter(action="ingest.plausibility.set").count() == 3
    other_path = write_csv(
        tmp_path / "other.csv",
        [[*r[:2], other_world.staff.employee_no, other_world.sales.code, *r[4:]] for r in rows],
    )
    with tenant_context(other_world.tenant, SYSTEM), pytest.raises(IngestRejected):
        ingest_file(other_path)  # the other tenant keeps the rule as an error


def test_unknown_rules_and_severities_are_refused(in_world: World) -> None:
    from perflink.core.errors import NotFound, ValidationFailed

    with pytest.raises(NotFound):
        do_set_plausibility_rule("claim.amount_claimed.maximum", "off", actor=SYSTEM)
    with pytest.raises(ValidationFailed):
        do_set_plausibility_rule("claim.amount_claimed.minimum", "ignore", actor=SYSTEM)


# --- the rules as data, on frames -------------------------------------------------------------------------

REFS = Refs(
    employees=pl.DataFrame({"code": ["A001"], "id": [1]}),
    units=pl.DataFrame({"code": ["SZ-FIN", "SZ-CLM"], "id": [10, 20]}),
)


def test_every_rule_names_fields_of_its_kind_and_severity_is_data() -> None:
    for kind, rules in RULES.items():
        names = set(KINDS[kind].names)
        for rule in rules:
            assert rule.field in names and (not rule.other or rule.other in names), rule.code
            assert rule.severity in {"error", "warning"}
            assert all(b in names for b in rule.by if rule.type == "outlier")
    codes = [r.code for rules in RULES.values() for r in rules]
    assert len(codes) == len(set(codes))
    assert [r.severity for r in with_overrides("payment", {"payment.paid_at.order.approved_at": "warning"})
            if r.code == "payment.paid_at.order.approved_at"] == ["warning"]  # fmt: skip


def test_given_payments_when_checked_then_a_commission_is_not_measured_against_claim_payments() -> None:
    n = 12
    raw = pl.DataFrame(
        {
            "_row": list(range(2, 2 + n)),
            "external_id": [f"PAY-{i}" for i in range(n)],
            "kind": ["赔款支付"] * 6 + ["佣金"] * 6,
            "unit": ["SZ-FIN"] * n,
            "requested_at": ["2026-06-30 10:00"] * n,
            # Claim payments near 60,000; commissions near 500, one of them 100x.
            "amount": [
                "61000",
                "58000",
                "60500",
                "59000",
                "62000",
                "60000",
                "480",
                "510",
                "495",
                "505",
                "520",
                "52000",
            ],
        },
        schema_overrides={"_row": pl.Int64},
    )
    result = clean_frame(raw, KINDS["payment"], REFS, checks=Checks.default("payment", IMPORT_AT))
    assert result.warnings.select("_row", "reason").rows() == [
        (13, "more than 100× the usual 507.50 for its unit and kind (median of 6 rows of this delivery)")
    ]


def test_given_dates_when_checked_then_tomorrow_is_tolerated_and_the_day_after_is_in_the_future() -> None:
    today = date(2026, 7, 15)  # IMPORT_AT in Beijing
    raw = pl.DataFrame(
        {
            "_row": [2, 3, 4],
            "external_id": ["T1", "T2", "T3"],
            "employee": ["A001"] * 3,
            "course": ["车险理赔实务"] * 3,
            "completed_on": [str(today), str(today + timedelta(days=1)), str(today + timedelta(days=2))],
        },
        schema_overrides={"_row": pl.Int64},
    )
    result = clean_frame(raw, KINDS["training"], REFS, checks=Checks.default("training", IMPORT_AT))
    assert result.errors.height == 0
    assert result.warnings.select("_row", "reason").rows() == [(4, "in the future (after 2026-07-16)")]
    assert result.frame.height == 3  # warned rows are kept


def test_given_a_claim_paid_at_the_moment_of_approval_when_checked_then_it_is_in_order() -> None:
    raw = pl.DataFrame(
        {
            "_row": [2],
            "claim_no": ["SZ-1"],
            "line": ["车险"],
            "handler": ["A001"],
            "unit": ["SZ-CLM"],
            "reported_at": ["2026-06-30 23:00"],
            "approved_at": ["2026-07-01 00:00"],
            "paid_at": ["2026-07-01 00:00"],
            "amount_claimed": ["0"],
        },
        schema_overrides={"_row": pl.Int64},
    )
    result = clean_frame(raw, KINDS["claim"], REFS, checks=Checks.default("claim", IMPORT_AT))
    assert result.errors.height == 0 and result.warnings.height == 0 and result.findings == {}


def test_given_the_rules_page_when_an_admin_makes_a_rule_a_warning_then_it_is_saved_and_a_viewer_may_only_look(
    world: World, client: Client
) -> None:
    client.force_login(world.users["performance_admin"])
    page = client.get("/data/rules/").content.decode()
    assert 'data-rule="claim.paid_at.order.approved_at" data-current="error"' in page
    response = client.post("/data/rules/", {"rule": "payment.amount.minimum", "severity": "warning"})
    assert response.status_code == 302
    assert (
        'data-rule="payment.amount.minimum" data-current="warning"'
        in client.get("/data/rules/").content.decode()
    )
    with tenant_context(world.tenant):
        assert list(PlausibilityOverride.objects.values_list("rule", "severity")) == [
            ("payment.amount.minimum", "warning")
        ]
    viewer = Client()
    viewer.force_login(world.users["auditor"])
    assert viewer.get("/data/rules/").status_code == 200
    assert (
        viewer.post("/data/rules/", {"rule": "payment.amount.minimum", "severity": "off"}).status_code == 403
    )
    with tenant_context(world.tenant):
        assert PlausibilityOverride.objects.get().severity == "warning"


def test_given_the_import_page_when_the_file_is_validated_then_the_report_shows_errors_warnings_and_checks(
    world: World, import_time: datetime, client: Client
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(world.users["performance_admin"])
    buf = io.StringIO()
    csv.writer(buf).writerows([HEADERS, *june_claims(world)])
    upload = SimpleUploadedFile(
        "理赔-2026-06.csv", ("\ufeff" + buf.getvalue()).encode(), content_type="text/csv"
    )
    preview = client.post("/data/import/", {"step": "upload", "kind": "claim", "file": upload})["Location"]
    token = preview.split("upload=")[1].split("&")[0]
    data = {"upload": token, "kind": "claim", "mapping": "", "source": ""}
    page = client.post("/data/import/", {"step": "validate", **data}, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-outcome="invalid"' in page and 'data-error-total="2"' in page
    assert (
        'data-warning-total="2"' in page and 'data-row="7" data-rule="claim.amount_claimed.outlier"' in page
    )
    for code in EXPECTED_FINDINGS:
        assert f'<tr data-rule="{code}">' in page
    # Refused whole, nothing is written; with quarantine the batch keeps the two warnings.
    refused = client.post(
        "/data/import/", {"step": "commit", **data}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'data-outcome="rejected"' in refused
    with tenant_context(world.tenant):
        assert (Batch.objects.count(), ClaimRecord.objects.count(), SourceSystem.objects.count()) == (0, 0, 0)
    client.post("/data/import/", {"step": "commit", "quarantine": "on", **data}, HTTP_HX_REQUEST="true")
    with tenant_context(world.tenant):
        assert Batch.objects.get().report["warning_count"] == 2 and ClaimRecord.objects.count() == 8


def test_given_a_tenant_choice_when_a_source_system_asks_for_the_rules_then_it_sees_the_severity_it_will_meet(
    world: World, token: str
) -> None:
    with tenant_context(world.tenant, SYSTEM):
        do_set_plausibility_rule("payment.amount.outlier", "off", actor=SYSTEM)
    response = Client().get("/api/v1/ingest/rules", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    rules = {r["code"]: r for r in response.json()}
    assert len(rules) == sum(len(r) for r in RULES.values())
    assert rules["claim.paid_at.order.approved_at"] == {
        "code": "claim.paid_at.order.approved_at",
        "kind": "claim",
        "type": "order",
        "field": "paid_at",
        "other": "approved_at",
        "default_severity": "error",
        "severity": "error",
    }
    assert (
        rules["payment.amount.outlier"]["default_severity"],
        rules["payment.amount.outlier"]["severity"],
    ) == (
        "warning",
        "off",
    )
