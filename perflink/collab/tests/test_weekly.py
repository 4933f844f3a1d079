"""The weekly coordination report: exact counts for a constructed week, anonymity of survey results in the report,
its PDF and XLSX, the PDF's Chinese text, subscribers' inbox items, the two-tenant leak check of its pages, and
the scheduler command run twice.

The PDF test skips, saying why, where WeasyPrint cannot load its system library (Pango); with
PERFLINK_REQUIRE_PDF=1 it fails instead."""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from perflink.collab.actions import do_decline_demand, do_raise_demand, do_request_change
from perflink.collab.models import Demand, DemandEvent, Survey, WeeklyReport, WeeklyReportSubscription
from perflink.collab.surveys import UnitAnswer, do_answer_survey
from perflink.collab.tests.factories import RECRUITMENT_SPEC, at, make_demands, make_head, make_survey
from perflink.collab.weekly import parse_week, week_label, week_start_of, weekly_report
from perflink.collab.weekly_actions import (
    do_generate_weekly_report,
    do_generate_weekly_reports,
    do_subscribe_weekly,
    do_unsubscribe_weekly,
)
from perflink.core import pdf as pdf_module
from perflink.core.context import SYSTEM, tenant_context
from perflink.core.errors import NotFound
from perflink.notify.models import Notification
from tests.factories import World

WEEK = dt.date(2026, 3, 2)  # ISO week 2026-W10, Monday 2 – Sunday 8 March
AFTER = dt.date(2026, 3, 20)
TITLE = "招聘20名代理人"
COMMENT = "响应很慢，希望改进"


def require_pdf() -> None:
    reason = pdf_module.unavailable_reason()
    if reason is None:
        return
    if os.environ.get("PERFLINK_REQUIRE_PDF") == "1":
        pytest.fail(f"PERFLINK_REQUIRE_PDF=1, but: {reason}")
    pytest.skip(reason)


def login(world: World, user: Any) -> Client:
    client = Client()
    with tenant_context(world.tenant):
        client.force_login(user)
    return client


def _set(demand: Demand, **fields: Any) -> None:
    Demand.objects.filter(pk=demand.pk).update(**fields)


@pytest.fixture
def week(world: World) -> dict[str, Demand]:
    """Demands to HR placed in 2026-W10 by their timestamps:

    * submitted: received Tue, acceptance due Wed, not accepted → overdue (acceptance);
    * accepted: received and accepted in the week, delivery due later; a change request on Wed;
    * in_progress: received and accepted the week before, delivery due Thu → overdue (delivery);
    * delivered: received, accepted and delivered in the week;
    * declined: received Wed, declined Thu;
    * old: delivered in February → in no figure of the week.
    """
    demands = make_demands(world, title=TITLE)
    with tenant_context(world.tenant, SYSTEM):
        declined = do_raise_demand(
            kind="recruitment",
            title="招聘5名理赔专员",
            requesting_unit=world.sales,
            serving_unit=world.hr,
            spec=RECRUITMENT_SPEC,
            user=None,
            actor=SYSTEM,
        )
        declined = do_decline_demand(declined, reason="编制已满", user=None, actor=SYSTEM)
        old = make_demands(world, title="旧需求")["delivered"]
        change = do_request_change(demands["accepted"], text="增加产品知识培训", user=None, actor=SYSTEM)
        _set(demands["submitted"], submitted_at=at("2026-03-03"), acceptance_due_on=dt.date(2026, 3, 4))
        _set(
            demands["accepted"],
            submitted_at=at("2026-03-02"),
            accepted_at=at("2026-03-03"),
            acceptance_due_on=dt.date(2026, 3, 5),
            delivery_due_on=dt.date(2026, 3, 31),
        )
        _set(
            demands["in_progress"],
            submitted_at=at("2026-02-20"),
            accepted_at=at("2026-02-21"),
            started_at=at("2026-02-22"),
            acceptance_due_on=dt.date(2026, 2, 25),
            delivery_due_on=dt.date(2026, 3, 5),
        )
        _set(
            demands["delivered"],
            submitted_at=at("2026-03-02"),
            accepted_at=at("2026-03-02", 10),
            started_at=at("2026-03-02", 11),
            delivered_at=at("2026-03-06"),
            delivery_due_on=dt.date(2026, 3, 31),
        )
        _set(declined, submitted_at=at("2026-03-04"), declined_at=at("2026-03-05"))
        _set(
            old,
            submitted_at=at("2026-02-01"),
            accepted_at=at("2026-02-02"),
            started_at=at("2026-02-02"),
            delivered_at=at("2026-02-10"),
        )
        DemandEvent.objects.filter(pk=change.pk).update(at=at("2026-03-04"))
    return {**demands, "declined": declined, "old": old}


# --- weeks --------------------------------------------------------------------------------------------------------


def test_weeks_are_iso_weeks_from_monday() -> None:
    assert week_label(WEEK) == "2026-W10"
    assert parse_week("2026-W10") == WEEK
    assert parse_week("2026-03-08") == WEEK
    assert week_start_of(dt.date(2026, 3, 8)) == WEEK


# --- the report's figures -----------------------------------------------------------------------------------------


def test_the_week_counts_received_accepted_delivered_declined_and_overdue_exactly(
    world: World, week: dict[str, Demand]
) -> None:
    with tenant_context(world.tenant):
        report = weekly_report(WEEK, world.hr, today=AFTER)
    counts = report["demands"]["counts"]
    assert counts == {"received": 4, "accepted": 2, "delivered": 1, "declined": 1, "overdue": 2, "open": 3}
    numbers = {key: {r["number"] for r in report["demands"][key]} for key in counts if key != "open"}
    assert numbers["delivered"] == {week["delivered"].number}
    assert numbers["declined"] == {week["declined"].number}
    assert {r["number"]: r["overdue"] for r in report["demands"]["overdue"]} == {
        week["submitted"].number: "acceptance",
        week["in_progress"].number: "delivery",
    }
    assert week["old"].number not in {r["number"] for r in report["open"]}
    assert {r["number"] for r in report["open"]} == {
        week["submitted"].number,
        week["accepted"].number,
        week["in_progress"].number,
    }
    assert report["week"] == "2026-W10" and report["complete"] is True
    assert [c["number"] for c in report["change_requests"]] == [week["accepted"].number]
    assert sorted(item["code"] for item in report["meeting"]) == [
        "change_request",
        "declined",
        "overdue",
        "overdue",
    ]


def test_the_company_report_counts_every_unit_and_a_unit_report_only_its_own(
    world: World, week: dict[str, Demand]
) -> None:
    with tenant_context(world.tenant):
        company = weekly_report(WEEK, None, today=AFTER)
        sales = weekly_report(WEEK, world.sales, today=AFTER)
    assert company["unit"] is None
    assert company["demands"]["counts"]["received"] == 4
    assert sales["demands"]["counts"] == {
        "received": 0,
        "accepted": 0,
        "delivered": 0,
        "declined": 0,
        "overdue": 0,
        "open": 0,
    }


def test_a_running_week_counts_overdue_as_of_today(world: World, week: dict[str, Demand]) -> None:
    with tenant_context(world.tenant):
        report = weekly_report(WEEK, world.hr, today=dt.date(2026, 3, 4))
    assert report["complete"] is False
    # On Wednesday the acceptance clock (due Wednesday) has not run out; the delivery due Thursday neither.
    assert report["demands"]["counts"]["overdue"] == 0


# --- surveys and anonymity ----------------------------------------------------------------------------------------


def _answer(world: World, survey: Survey, comment: str = COMMENT) -> None:
    with tenant_context(world.tenant, SYSTEM):
        ratings = {q["key"]: "dissatisfied" for q in survey.questions}
        do_answer_survey(
            survey,
            user=world.users["unit_head"],
            answers=[UnitAnswer(world.hr.pk, ratings, comment)],
            actor=SYSTEM,
        )


def test_survey_results_below_the_threshold_stay_hidden_in_the_report(world: World) -> None:
    survey = make_survey(world)
    _answer(world, survey)
    with tenant_context(world.tenant):
        report = weekly_report(week_start_of(dt.date.today()), world.hr)
    [entry] = report["surveys"]
    [unit] = entry["units"]
    assert unit == {"unit": world.hr.name, "unit_id": world.hr.pk, "hidden": True}
    assert COMMENT not in str(report)
    assert "low_satisfaction" not in {i["code"] for i in report["meeting"]}


def test_survey_results_at_the_threshold_show_with_comments_and_low_satisfaction(world: World) -> None:
    survey = make_survey(world)
    with tenant_context(world.tenant):
        Survey.objects.filter(pk=survey.pk).update(threshold=1)
        survey.refresh_from_db()
    _answer(world, survey)
    with tenant_context(world.tenant):
        report = weekly_report(week_start_of(dt.date.today()), world.hr)
    [unit] = report["surveys"][0]["units"]
    assert unit["hidden"] is False
    assert (unit["respondents"], unit["average"], unit["max_points"], unit["low"]) == (1, "0", "10", True)
    assert unit["comments"] == [COMMENT]
    assert "low_satisfaction" in {i["code"] for i in report["meeting"]}


# --- metrics and links --------------------------------------------------------------------------------------------


def test_linked_business_results_read_the_business_units_values(world: World) -> None:
    from perflink.incentives.actions import do_decide_link
    from tests.factories import make_link, make_scores

    make_scores(world)
    link = make_link(world)
    with tenant_context(world.tenant, SYSTEM):
        do_decide_link(link, confirm=True, user=world.users["unit_head"], actor=SYSTEM)
        report = weekly_report(WEEK, world.hr, today=AFTER)
    assert report["periods"] == ["2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]
    [row] = report["links"]
    assert (row["business_unit"], row["code"]) == (world.sales.name, "new_agent_attainment_3m")
    assert [p["period"] for p in row["values"]] == report["periods"]


# --- generating, subscribing, notifying ---------------------------------------------------------------------------


def test_generating_replaces_the_weeks_snapshot_and_tells_the_subscribers(
    world: World, week: dict[str, Demand]
) -> None:
    hr_head = make_head(world, world.hr, "hr-head@alpha")
    admin = world.users["performance_admin"]
    with tenant_context(world.tenant, SYSTEM):
        do_subscribe_weekly(hr_head, world.hr, actor=SYSTEM)
        do_subscribe_weekly(hr_head, world.hr, actor=SYSTEM)  # twice: still one subscription
        do_subscribe_weekly(admin, None, actor=SYSTEM)
        with pytest.raises(NotFound):  # the sales head does not see HR's report
            do_subscribe_weekly(world.users["unit_head"], world.hr, actor=SYSTEM)
        first = do_generate_weekly_reports(WEEK, today=AFTER, actor=SYSTEM)
        again = do_generate_weekly_reports(WEEK, today=AFTER, actor=SYSTEM)
        assert WeeklyReportSubscription.objects.count() == 2
        assert WeeklyReport.objects.count() == len(first) == len(again) == 2  # HR and the company
        assert {r.pk for r in first} == {r.pk for r in again}
        stored = WeeklyReport.objects.get(week_start=WEEK, unit=world.hr)
        assert stored.data["demands"]["counts"]["received"] == 4
        inbox = Notification.objects.filter(kind="report.weekly")
        assert inbox.filter(recipient=hr_head).count() == 2
        assert inbox.filter(recipient=admin).count() == 2
        assert f"unit={world.hr.pk}" in inbox.filter(recipient=hr_head).first().url
        assert inbox.exclude(recipient__in=[hr_head, admin]).count() == 0
        assert do_unsubscribe_weekly(hr_head, world.hr, actor=SYSTEM) is True
        do_generate_weekly_report(WEEK, world.hr, today=AFTER, actor=SYSTEM)
        assert inbox.filter(recipient=hr_head).count() == 2


# --- pages --------------------------------------------------------------------------------------------------------


def test_the_report_page_shows_the_snapshot_or_live_data(world: World, week: dict[str, Demand]) -> None:
    client = login(world, world.users["performance_admin"])
    live = client.get(f"/collab/weekly/2026-W10/?unit={world.hr.pk}")
    assert live.status_code == 200
    body = live.content.decode()
    assert 'id="live-note"' in body
    assert body.count('data-count="received"') == 1 and f'data-demand="{week["delivered"].number}"' in body
    with tenant_context(world.tenant, SYSTEM):
        do_generate_weekly_reports(WEEK, today=AFTER, actor=SYSTEM)
    stored = client.get(f"/collab/weekly/2026-W10/?unit={world.hr.pk}").content.decode()
    assert 'id="live-note"' not in stored
    listing = client.get("/collab/weekly/?unit=company").content.decode()
    assert listing.count("data-report=") == 1 and 'data-unit="company"' in listing
    assert client.get("/collab/weekly/2026-W99/").status_code == 404


def test_the_list_has_an_empty_state(world: World) -> None:
    body = login(world, world.users["performance_admin"]).get("/collab/weekly/").content.decode()
    assert 'id="weekly-empty"' in body


def test_a_unit_head_reads_their_units_report_but_not_the_companys(world: World) -> None:
    hr_head = make_head(world, world.hr, "hr-head@alpha")
    client = login(world, hr_head)
    assert client.get(f"/collab/weekly/2026-W10/?unit={world.hr.pk}").status_code == 200
    # Without a unit, a unit head gets their functional unit's report, never the company's.
    body = client.get("/collab/weekly/2026-W10/").content.decode()
    assert world.hr.name in body
    sales = login(world, world.users["unit_head"])
    assert sales.get(f"/collab/weekly/2026-W10/?unit={world.hr.pk}").status_code == 404
    assert sales.get("/collab/weekly/2026-W10/").status_code == 404  # no functional unit in their scope


def test_subscribing_from_the_page(world: World) -> None:
    client = login(world, world.users["performance_admin"])
    url = f"/collab/weekly/2026-W10/?unit={world.hr.pk}"
    response = client.post(url, {"subscribe": "on"})
    assert response.status_code == 302 and response["Location"] == url
    with tenant_context(world.tenant):
        assert WeeklyReportSubscription.objects.filter(unit=world.hr).count() == 1
    assert 'id="unsubscribe"' in client.get(url).content.decode()
    client.post(url, {})
    with tenant_context(world.tenant):
        assert WeeklyReportSubscription.objects.count() == 0


def test_generating_by_hand_needs_the_evaluate_permission(world: World) -> None:
    assert (
        login(world, world.users["unit_head"]).post("/collab/weekly/", {"week": "2026-W10"}).status_code
        == 403
    )
    response = login(world, world.users["performance_admin"]).post("/collab/weekly/", {"week": "2026-W10"})
    assert response.status_code == 302
    with tenant_context(world.tenant):
        assert WeeklyReport.objects.filter(week_start=WEEK).count() == 2


def test_another_tenants_report_is_not_found(world: World, other_world: World) -> None:
    with tenant_context(other_world.tenant, SYSTEM):
        do_generate_weekly_reports(WEEK, today=AFTER, actor=SYSTEM)
    client = login(world, world.users["performance_admin"])
    for suffix in ("", "pdf", "xlsx"):
        response = client.get(f"/collab/weekly/2026-W10/{suffix}?unit={other_world.hr.pk}")
        assert response.status_code == 404, suffix
    listing = client.get("/collab/weekly/").content.decode()
    assert "data-report=" not in listing
    response = client.post(f"/collab/weekly/2026-W10/?unit={other_world.hr.pk}", {"subscribe": "on"})
    assert response.status_code == 404


# --- exports ------------------------------------------------------------------------------------------------------


def test_the_xlsx_has_a_sheet_per_section_with_the_numbers(world: World, week: dict[str, Demand]) -> None:
    import openpyxl

    survey = make_survey(world)
    _answer(world, survey)
    client = login(world, world.users["performance_admin"])
    response = client.get(f"/collab/weekly/2026-W10/xlsx?unit={world.hr.pk}")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert len(book.sheetnames) == 7  # summary, demands, open, metrics, links, surveys, meeting
    summary = list(book.worksheets[0].iter_rows(min_row=2, values_only=True))
    assert [value for _label, value in summary] == [4, 2, 1, 1, 2, 3, 4]
    demands = list(book.worksheets[1].iter_rows(min_row=2, values_only=True))
    assert len(demands) == 4 + 2 + 1 + 1 + 2
    assert {row[1] for row in book.worksheets[2].iter_rows(min_row=2, values_only=True)} == {TITLE}
    # This week's report: the survey opened today, one respondent of three → hidden, no comment.
    this_week = week_label(week_start_of(dt.date.today()))
    current = client.get(f"/collab/weekly/{this_week}/xlsx?unit={world.hr.pk}")
    book = openpyxl.load_workbook(io.BytesIO(current.content))
    [survey_row] = list(book.worksheets[5].iter_rows(min_row=2, values_only=True))
    assert survey_row[4] is None and survey_row[5] is None and not survey_row[6]
    assert COMMENT not in str([list(ws.values) for ws in book.worksheets])


def _pdf_text(content: bytes, tmp_path: Path) -> str:
    if shutil.which("pdftotext") is None:
        if os.environ.get("PERFLINK_REQUIRE_PDF") == "1":
            pytest.fail("PERFLINK_REQUIRE_PDF=1, but pdftotext (poppler-utils) is not installed")
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "report.pdf"
    path.write_bytes(content)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
    return "".join(out.stdout.decode().split())


def test_the_pdf_renders_the_chinese_text_and_hides_what_the_page_hides(
    world: World, week: dict[str, Demand], tmp_path: Path
) -> None:
    require_pdf()
    survey = make_survey(world)
    _answer(world, survey)
    client = login(world, world.users["performance_admin"])
    response = client.get(f"/collab/weekly/2026-W10/pdf?unit={world.hr.pk}", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    text = _pdf_text(response.content, tmp_path)
    # The Chinese is drawn with a CJK font (fontconfig's Noto Sans CJK from the stylesheet's stack), not tofu.
    fonts = subprocess.run(
        ["pdffonts", str(tmp_path / "report.pdf")], capture_output=True, check=True
    ).stdout.decode()
    assert "CJK" in fonts, fonts
    for expected in (TITLE, world.hr.name, "编制已满", week["delivered"].number):
        assert expected in text, expected
    this_week = week_label(week_start_of(dt.date.today()))
    current = client.get(f"/collab/weekly/{this_week}/pdf?unit={world.hr.pk}")
    text = _pdf_text(current.content, tmp_path)
    if os.environ.get("PERFLINK_WEEKLY_PNG"):  # page 1 as a picture, to look at
        (tmp_path / "report.pdf").write_bytes(response.content)
        subprocess.run(
            ["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", str(tmp_path / "report.pdf"),
             os.environ["PERFLINK_WEEKLY_PNG"]],
            check=True,
        )  # fmt: skip
    assert survey.title.replace(" ", "") in text
    assert "".join(COMMENT.split()) not in text


# --- the scheduler ------------------------------------------------------------------------------------------------


def test_the_tick_generates_last_weeks_reports_once(world: World, week: dict[str, Demand]) -> None:
    out = io.StringIO()
    call_command("collab", "tick", "--tenant", world.tenant.slug, "--today", "2026-03-10", stdout=out)
    call_command("collab", "tick", "--tenant", world.tenant.slug, "--today", "2026-03-11", stdout=out)
    with tenant_context(world.tenant):
        reports = list(WeeklyReport.objects.filter(week_start=WEEK))
    assert len(reports) == 2
    assert "generated 2" in out.getvalue() and "already there" in out.getvalue()
    hr = next(r for r in reports if r.unit_id == world.hr.pk)
    assert hr.data["demands"]["counts"]["received"] == 4
