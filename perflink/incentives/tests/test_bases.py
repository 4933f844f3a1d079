"""Per-person bonus bases (人员基数): importing them from a file or the API (all rows or none, every problem named
by file, row and column), and a plan whose base is per person paying exactly the base in force."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from perflink.audit.models import AuditEvent
from perflink.core.context import SYSTEM, tenant_context
from perflink.core.errors import ValidationFailed
from perflink.incentives.actions import do_import_plan_bases, do_save_plan
from perflink.incentives.bases import BaseRow, BasesRejected
from perflink.incentives.bonus import MissingBases, do_run_bonus, statement, stored
from perflink.incentives.models import BonusRun, IncentivePlan, PlanBase
from tests.factories import World, make_employee, make_scores

# Everyone gets exactly their base: one component whose factor is 1 + 0 × score.
PER_PERSON_PLAN: dict[str, Any] = {
    "base": {"kind": "per_person"},
    "components": [
        {
            "key": "own",
            "label": "本人考核",
            "weight": "100",
            "source": "score",
            "factor": {"kind": "linear", "intercept": "1", "per_point": "0"},
            "missing": {"factor": "1"},
        }
    ],
}


@pytest.fixture
def hr_plan(world: World) -> IncentivePlan:
    """A per-person-base plan for the HR category (王五, 赵六 and 孙七, hired on 10 March), with March 2026 scored."""
    with tenant_context(world.tenant, SYSTEM):
        make_employee(world.hr, employee_no="HR-0002", name="赵六")
        make_employee(world.hr, employee_no="HR-0003", name="孙七", hire_date=dt.date(2026, 3, 10))
    make_scores(world)
    with tenant_context(world.tenant, SYSTEM):
        return do_save_plan(
            code="hr-base",
            name="人力基数方案",
            definition=PER_PERSON_PLAN,
            valid_from=dt.date(2026, 1, 1),
            category="hr",
            actor=SYSTEM,
        ).plan


def login(world: World, role: str) -> Client:
    client = Client()
    with tenant_context(world.tenant):
        client.force_login(world.users[role])
    return client


def csv_upload(text: str, name: str = "bases.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def xlsx_upload(rows: list[list[Any]], name: str = "bases.xlsx") -> SimpleUploadedFile:
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    for i, row in enumerate(rows):
        sheet.write_row(i, 0, row)
    book.close()
    return SimpleUploadedFile(name, buffer.getvalue())


def bases_of(world: World, plan: IncentivePlan) -> dict[tuple[str, dt.date], Decimal]:
    with tenant_context(world.tenant):
        return {
            (b.employee.employee_no, b.valid_from): b.amount
            for b in PlanBase.objects.filter(plan=plan).select_related("employee")
        }


def url(plan: IncentivePlan) -> str:
    return f"/links/bonus/plans/{plan.pk}/bases/"


# --- importing -----------------------------------------------------------------------------------------------------


def test_a_good_csv_is_imported_whole_and_audited(world: World, hr_plan: IncentivePlan) -> None:
    staff = world.staff.employee_no
    text = f'工号,姓名,基数,生效日期,备注\n{staff},王五,"12,000.50",2026-01-01,年度核定\nHR-0002,赵六,8000,2026/3/15,\n'
    response = login(world, "performance_admin").post(url(hr_plan), {"file": csv_upload(text)})
    assert response.status_code == 302 and response["Location"] == url(hr_plan)
    assert bases_of(world, hr_plan) == {
        (staff, dt.date(2026, 1, 1)): Decimal("12000.50"),
        ("HR-0002", dt.date(2026, 3, 15)): Decimal("8000.00"),
    }
    with tenant_context(world.tenant):
        event = AuditEvent.objects.get(action="plan.bases.import")
        assert event.after["rows"] == 2 and event.after["created"] == 2 and event.after["file"] == "bases.csv"
        assert "12000.50" not in str(event.after)  # pay stays out of the audit trail
    page = login(world, "auditor").get(url(hr_plan)).content.decode()
    assert f'data-employee="{staff}"' in page and "¥12,000.50" in page and "年度核定" in page


def test_an_xlsx_without_dates_takes_the_forms_date_else_the_plans_start_and_replaces_the_same_date(
    world: World, hr_plan: IncentivePlan
) -> None:
    client = login(world, "performance_admin")
    staff = world.staff.employee_no
    upload = xlsx_upload([["employee_no", "base"], [staff, 9000], ["HR-0002", 7000.5]])
    assert client.post(url(hr_plan), {"file": upload}).status_code == 302
    assert bases_of(world, hr_plan) == {
        (staff, dt.date(2026, 1, 1)): Decimal("9000.00"),
        ("HR-0002", dt.date(2026, 1, 1)): Decimal("7000.50"),
    }
    again = xlsx_upload([["工号", "基数"], [staff, 9500]])
    assert client.post(url(hr_plan), {"file": again, "valid_from": "2026-01-01"}).status_code == 302
    later = xlsx_upload([["工号", "基数"], [staff, 9900]])
    assert client.post(url(hr_plan), {"file": later, "valid_from": "2026-07-01"}).status_code == 302
    assert bases_of(world, hr_plan) == {
        (staff, dt.date(2026, 1, 1)): Decimal("9500.00"),
        (staff, dt.date(2026, 7, 1)): Decimal("9900.00"),
        ("HR-0002", dt.date(2026, 1, 1)): Decimal("7000.50"),
    }


def test_a_bad_file_names_every_problem_by_row_and_column_and_writes_nothing(
    world: World, hr_plan: IncentivePlan
) -> None:
    staff = world.staff.employee_no
    text = (
        "工号,基数,生效日期\n"
        f"{staff},12000,2026-01-01\n"  # row 2: fine
        "NOBODY,5000,\n"  # row 3: unknown employee
        f"{staff},abc,2026-02-01\n"  # row 4: not a number
        "HR-0002,-1,\n"  # row 5: negative
        "HR-0002,100.005,2026-02-01\n"  # row 6: not to the fen
        f"{staff},100,2026-02-30\n"  # row 7: no such date
        f"{staff},13000,2026-01-01\n"  # row 8: same person and date as row 2
        ",,\n"  # an empty row is skipped
        "HR-0002,,\n"  # row 10: base missing
    )
    response = login(world, "performance_admin").post(url(hr_plan), {"file": csv_upload(text, "坏文件.csv")})
    assert response.status_code == 400
    body = response.content.decode()
    found = set(
        re.findall(r'<tr data-row="(\d+)" data-field="([^"]*)"><td class="small muted">坏文件\.csv', body)
    )
    assert found == {
        ("3", "工号"),
        ("4", "基数"),
        ("5", "基数"),
        ("6", "基数"),
        ("7", "生效日期"),
        ("8", "工号"),
        ("10", "基数"),
    }
    assert 'data-error-total="7"' in body
    assert bases_of(world, hr_plan) == {}
    with tenant_context(world.tenant):
        assert not AuditEvent.objects.filter(action="plan.bases.import").exists()


def test_a_file_without_the_base_column_is_refused_at_its_header(
    world: World, hr_plan: IncentivePlan
) -> None:
    response = login(world, "performance_admin").post(
        url(hr_plan), {"file": csv_upload(f"工号,金额合计\n{world.staff.employee_no},1\n")}
    )
    assert response.status_code == 400
    assert '<tr data-row="1" data-field="基数">' in response.content.decode()


def test_only_plans_manage_imports_and_downloads_the_template(world: World, hr_plan: IncentivePlan) -> None:
    auditor = login(world, "auditor")
    page = auditor.get(url(hr_plan)).content.decode()
    assert 'id="upload-form"' not in page and 'id="download-template"' not in page
    assert auditor.post(url(hr_plan), {"file": csv_upload("工号,基数\nX,1\n")}).status_code == 403
    assert auditor.get(url(hr_plan), {"download": "template"}).status_code == 403
    assert login(world, "employee").get(url(hr_plan)).status_code == 403
    template = login(world, "performance_admin").get(url(hr_plan), {"download": "template"})
    assert template.status_code == 200 and template["Content-Type"].startswith("text/csv")
    text = template.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("工号,姓名,部门,基数,生效日期")
    assert world.staff.employee_no in text and "HR-0002" in text


def test_the_page_lists_who_has_no_base_and_filters_by_period(world: World, hr_plan: IncentivePlan) -> None:
    with tenant_context(world.tenant, SYSTEM):
        do_import_plan_bases(
            hr_plan,
            [
                BaseRow(1, world.staff.employee_no, "10000", "2026-01-01"),
                BaseRow(2, world.staff.employee_no, "11000", "2026-04-01"),
            ],
            actor=SYSTEM,
        )
    client = login(world, "performance_admin")
    page = client.get(url(hr_plan), {"period": "2026-03"}).content.decode()
    assert 'data-missing="HR-0002"' in page and f'data-missing="{world.staff.employee_no}"' not in page
    assert page.count("<tr data-base=") == 1 and "¥10,000.00" in page and "¥11,000.00" not in page
    every = client.get(url(hr_plan), headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in every and every.count("<tr data-base=") == 2


# --- the bonus run -------------------------------------------------------------------------------------------------


def test_a_per_person_plan_pays_exactly_the_base_in_force_at_the_period_start(
    world: World, hr_plan: IncentivePlan
) -> None:
    with tenant_context(world.tenant, SYSTEM):
        do_import_plan_bases(
            hr_plan,
            [
                BaseRow(1, world.staff.employee_no, "12345.67", "2026-01-01"),
                BaseRow(2, world.staff.employee_no, "99999.99", "2026-03-15"),  # from mid-March: not March's
                BaseRow(3, "HR-0002", "0", "2025-06-01"),  # nothing, on purpose
                BaseRow(4, "HR-0003", "8000.01", "2026-03-10"),  # hired mid-month: the base from the hire
            ],
            actor=SYSTEM,
        )
        run = do_run_bonus(hr_plan, "2026-03", actor=SYSTEM)
        amounts = stored(run, "amounts")
        paid = dict(zip(amounts["person_id"].to_list(), amounts["amount"].to_list(), strict=True))
        assert paid == {
            world.staff.pk: Decimal("12345.67"),
            PlanBase.objects.get(employee__employee_no="HR-0002").employee_id: Decimal("0.00"),
            PlanBase.objects.get(employee__employee_no="HR-0003").employee_id: Decimal("8000.01"),
        }
        assert run.total == Decimal("20345.68")
        inputs = stored(run, "inputs").filter(pl.col("person_id") == world.staff.pk).row(0, named=True)
        assert inputs["base"] == Decimal("12345.67") and inputs["base.valid_from"] == dt.date(2026, 1, 1)
        base_line = statement(run, world.staff.pk)["lines"][0]
        assert base_line["kind"] == "base" and base_line["amount"] == Decimal("12345.67")
        assert "12345.67" in base_line["detail"]
    page = login(world, "performance_admin").get(f"/links/bonus/{run.pk}/people/{world.staff.pk}/")
    body = page.content.decode()
    assert 'id="base-valid-from"' in body and "2026-01-01" in body and url(hr_plan) in body


def test_a_run_is_refused_naming_the_people_without_a_base_and_nothing_is_stored(
    world: World, hr_plan: IncentivePlan
) -> None:
    with tenant_context(world.tenant, SYSTEM):
        do_import_plan_bases(hr_plan, [BaseRow(1, world.staff.employee_no, "10000")], actor=SYSTEM)
        with pytest.raises(MissingBases) as refused:
            do_run_bonus(hr_plan, "2026-03", actor=SYSTEM)
        assert "HR-0002" in refused.value.message and "赵六" in refused.value.message
        assert refused.value.as_dict()["missing"] == ["HR-0002", "HR-0003"]
        assert isinstance(refused.value, ValidationFailed)
        assert not BonusRun.objects.exists()
    client = login(world, "performance_admin")
    page = client.post("/links/bonus/", {"plan": hr_plan.pk, "period": "2026-03"})
    assert page.status_code == 400 and "HR-0002" in page.content.decode()
    api = client.post(
        "/api/v1/bonus-runs", {"plan_id": hr_plan.pk, "period": "2026-03"}, content_type="application/json"
    )
    assert api.status_code == 422
    assert api.json()["code"] == "missing_bases" and api.json()["missing"] == ["HR-0002", "HR-0003"]
    with tenant_context(world.tenant):
        assert not BonusRun.objects.exists()


# --- the API ---------------------------------------------------------------------------------------------------


def test_the_api_imports_records_all_or_nothing_and_lists_them(world: World, hr_plan: IncentivePlan) -> None:
    client = login(world, "performance_admin")
    endpoint = f"/api/v1/plans/{hr_plan.pk}/bases"
    bad = client.post(
        endpoint,
        {
            "records": [
                {"employee_no": world.staff.employee_no, "base": "100"},
                {"employee_no": "NOBODY", "base": "5"},
            ]
        },
        content_type="application/json",
    )
    assert bad.status_code == 422 and bad.json()["code"] == "bases_rejected"
    assert [e["field"] for e in bad.json()["errors"]] == ["records[1].employee_no"]
    assert bases_of(world, hr_plan) == {}
    good = client.post(
        endpoint,
        {
            "records": [
                {"employee_no": world.staff.employee_no, "base": "12000.00", "valid_from": "2026-02-01"},
                {"employee_no": "HR-0002", "base": 6000},
            ],
            "valid_from": "2026-01-01",
        },
        content_type="application/json",
    )
    assert good.status_code == 200, good.content
    assert good.json() == {"rows": 2, "created": 2, "updated": 0, "valid_from": ["2026-01-01", "2026-02-01"]}
    listed = client.get(endpoint).json()["items"]
    assert [(b["employee_no"], b["amount"], b["valid_from"]) for b in listed] == [
        (world.staff.employee_no, "12000.00", "2026-02-01"),
        ("HR-0002", "6000.00", "2026-01-01"),
    ]
    # In force for January: 王五's base starts in February (after the period's start) and is used for lack of an
    # earlier one, as for a mid-month hire.
    assert [b["employee_no"] for b in client.get(endpoint, {"period": "2026-01"}).json()["items"]] == [
        "HR-0002"
    ]
    one = {"records": [{"employee_no": "HR-0002", "base": "1"}]}
    assert login(world, "auditor").post(endpoint, one, content_type="application/json").status_code == 403


def test_rows_can_be_checked_without_a_file(world: World, hr_plan: IncentivePlan) -> None:
    with tenant_context(world.tenant, SYSTEM), pytest.raises(BasesRejected) as rejected:
        do_import_plan_bases(hr_plan, [], actor=SYSTEM)
    assert rejected.value.errors[0].reason == "empty"
