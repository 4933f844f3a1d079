"""The definition pages: library, metric editor (live check, preview on real data), seasons, calendar, templates
and targets. What each role sees, the htmx fragments, and that every refused write changes nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from perflink.audit.models import AuditEvent
from perflink.core.context import SYSTEM, tenant_context
from perflink.metrics.actions import do_install_library
from perflink.metrics.models import (
    CalendarDay,
    CalendarYear,
    MetricDefinition,
    Season,
    Target,
    Template,
    TemplateVersion,
)
from tests.factories import World, make_scores, push

HX = {"HTTP_HX_REQUEST": "true"}


def login(world: World, role: str) -> Client:
    client = Client()
    client.force_login(world.users[role])
    return client


def text(response: Any) -> str:
    return response.content.decode()


def install(world: World) -> None:
    """The library alone (metrics, seasons 2025–2027, templates): enough for pages that compute nothing."""
    with tenant_context(world.tenant, SYSTEM):
        do_install_library(years=range(2025, 2028), actor=SYSTEM)


def metric(world: World, code: str) -> MetricDefinition:
    with tenant_context(world.tenant):
        return MetricDefinition.objects.get(code=code)


def template(world: World, code: str) -> Template:
    with tenant_context(world.tenant):
        return Template.objects.get(code=code)


def counts(world: World) -> dict[str, Any]:
    """Everything the definition pages can write, to prove a refused write changed nothing."""
    with tenant_context(world.tenant):
        return {
            "metrics": sorted(MetricDefinition.objects.values_list("code", "version", "name")),
            "seasons": sorted(Season.objects.values_list("code", "year", "starts_on", "ends_on")),
            "versions": TemplateVersion.objects.count(),
            "targets": sorted(Target.objects.values_list("period", "metric__code", "value")),
            "calendar": (CalendarYear.objects.count(), CalendarDay.objects.count()),
            "events": AuditEvent.objects.count(),
        }


# --- every page, for the performance administrator ----------------------------------------------------------------


def test_every_definition_page_renders_for_a_performance_admin_with_the_library(world: World) -> None:
    make_scores(world)
    client = login(world, "performance_admin")
    nbp, cycle, agent = (
        metric(world, "new_business_premium"),
        metric(world, "claim_cycle_days"),
        template(world, "life_agent"),
    )
    pages = {
        "/metrics/": [
            "新单保费",
            "理赔周期",
            "13个月继续率",
            'id="domain-tiles"',
            'data-domain="hr"',
            'id="new-metric"',
        ],
        "/metrics/new/": ['id="metric-form"', "new_business_premium", 'id="id_example"'],
        "/metrics/new/?example=claim_cycle_days": ["reported_at", "paid_at", 'value="claims" selected'],
        f"/metrics/{nbp.pk}/": [
            "新单保费",
            "first_year_premium",
            "issued_on",
            'id="definition-summary"',
            "寿险代理人",
        ],
        f"/metrics/{cycle.pk}/": ["理赔周期", "理赔机构", "理赔员", 'id="metric-form"'],
        "/metrics/seasons/?year=2026": ["开门红", "汛期", 'data-season="kaimenhong"', 'id="season-form"'],
        "/metrics/calendar/": [
            'data-year="2026" data-status="library"',
            'data-year="2027" data-status="missing"',
        ],
        "/metrics/templates/?year=2026": ["寿险代理人", "理赔员", "人力资源部", 'data-template="life_agent"'],
        f"/metrics/templates/{agent.pk}/?year=2026": [
            "寿险代理人",
            "新单保费",
            "13个月继续率",
            "120",
            'id="version-form"',
        ],
        "/metrics/targets/?period=2026-03": ['id="set-target"', 'id="import-targets"'],
        "/metrics/targets/import/": [
            'id="upload-form"',
            "期间",
            "指标代码",
            "机构代码",
            "员工工号",
            "目标值",
        ],
    }
    for url, expected in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        body = text(response)
        assert "<html" in body and 'class="def-tabs"' in body, url
        for fragment in expected:
            assert fragment in body, (url, fragment)


def test_the_library_filters_sorts_pages_and_answers_htmx_with_the_table_only(world: World) -> None:
    install(world)
    client = login(world, "auditor")
    hr = text(client.get("/metrics/", {"domain": "hr"}, **HX))
    assert "<html" not in hr and 'id="metric-table"' in hr
    assert "招聘周期" in hr and "新单保费" not in hr
    derived = text(client.get("/metrics/", {"type": "derived"}))
    assert "代理人活动率" in derived and "新单保费" not in derived
    found = text(client.get("/metrics/", {"q": "继续率"}, **HX))
    assert "13个月继续率" in found and "理赔周期" not in found
    by_code = text(client.get("/metrics/", {"sort": "-code"}, **HX))
    assert by_code.index("training_pass_rate") < by_code.index("time_to_fill_days")
    assert "active_agents" not in by_code  # the last code, on page 2
    second = text(client.get("/metrics/", {"sort": "code", "page": 2}, **HX))
    assert 'aria-current="page">2<' in second
    empty = text(client.get("/metrics/", {"q": "没有这个指标"}, **HX))
    assert "clear" in empty.lower() or "清除" in empty
    # An auditor reads but does not edit.
    assert 'id="new-metric"' not in text(client.get("/metrics/"))
    assert 'id="metric-form"' not in text(client.get(f"/metrics/{metric(world, 'claim_cycle_days').pk}/"))


def test_the_preview_computes_the_metric_on_real_records_for_the_chosen_level(world: World) -> None:
    make_scores(world)
    client = login(world, "performance_admin")
    nbp = metric(world, "new_business_premium")
    employees = text(
        client.get(f"/metrics/{nbp.pk}/preview/", {"period": "2026-03", "level": "employee"}, **HX)
    )
    assert "<html" not in employees
    assert "李四" in employees and "80,000" in employees and 'data-count="1"' in employees
    units = text(client.get(f"/metrics/{nbp.pk}/preview/", {"period": "2026-03", "level": "unit"}, **HX))
    assert "销售一组" in units and "个险销售部" in units and "80,000" in units
    february = text(client.get(f"/metrics/{nbp.pk}/preview/", {"period": "2026-02", "level": "employee"}))
    assert "20,000" in february
    # A derived metric computes the metrics its formula reads.
    rate = metric(world, "agent_activity_rate")
    derived = text(client.get(f"/metrics/{rate.pk}/preview/", {"period": "2026-03", "level": "unit"}))
    assert "active_agents" in derived and "agent_headcount" in derived and "销售一组" in derived
    # Durations in working days touching 2027 (not shipped by chinese-calendar) are flagged.
    with tenant_context(world.tenant, SYSTEM):
        push(
            "payment",
            [
                {
                    "external_id": "R-1",
                    "kind": "reimbursement",
                    "unit": world.hr.code,
                    "requested_at": "2027-01-04 09:00:00",
                    "paid_at": "2027-01-08 10:00:00",
                    "amount": "300",
                }
            ],
        )
    reimbursement = metric(world, "reimbursement_days")
    late = text(client.get(f"/metrics/{reimbursement.pk}/preview/", {"period": "2027-01", "level": "unit"}))
    assert 'id="missing-years"' in late and "2027" in late
    bad = text(client.get(f"/metrics/{nbp.pk}/preview/", {"period": "March"}))
    assert "YYYY-MM" in bad


def test_the_live_check_shows_the_engines_message_or_a_tick(world: World) -> None:
    install(world)
    client = login(world, "performance_admin")
    definition = dict(metric(world, "new_business_premium").definition)
    ok = text(
        client.post("/metrics/check/", {"code": "x_premium", "definition": json.dumps(definition)}, **HX)
    )
    assert 'data-check="ok"' in ok
    broken = {**definition, "measure": {"agg": "sum", "field": "premium"}}
    bad = text(client.post("/metrics/check/", {"code": "x_premium", "definition": json.dumps(broken)}, **HX))
    assert 'data-check="error"' in bad and "measure.field: unknown field &#x27;premium&#x27; of policy" in bad
    cycle = text(
        client.post(
            "/metrics/check/", {"code": "loop", "definition": json.dumps({"formula": "loop + 1"})}, **HX
        )
    )
    assert 'data-check="error"' in cycle and "formula" in cycle
    syntax = text(client.post("/metrics/check/", {"definition": '{"kind": "policy",\n  "measure": }'}, **HX))
    assert "line 2" in syntax or "第 2 行" in syntax


# --- writes ------------------------------------------------------------------------------------------------------


def _metric_post(m: MetricDefinition, definition: dict[str, Any], **changes: str) -> dict[str, str]:
    return {
        "name": m.name,
        "name_en": m.name_en,
        "description": m.description,
        "description_en": m.description_en,
        "domain": m.domain,
        "definition": json.dumps(definition, ensure_ascii=False),
        **changes,
    }


def test_saving_an_invalid_metric_shows_the_engines_message_next_to_the_field_and_writes_nothing(
    world: World,
) -> None:
    install(world)
    client = login(world, "performance_admin")
    m = metric(world, "new_business_premium")
    before = counts(world)
    wrong = {**m.definition, "date_field": "first_year_premium"}
    response = client.post(f"/metrics/{m.pk}/", _metric_post(m, wrong, name="改名不应保存"))
    assert response.status_code == 400
    body = text(response)
    assert 'id="definition-error"' in body
    assert "date_field: &#x27;first_year_premium&#x27; is a money field; a date or datetime is needed" in body
    broken_json = client.post(f"/metrics/{m.pk}/", {**_metric_post(m, m.definition), "definition": "{"})
    assert broken_json.status_code == 400 and 'id="definition-error"' in text(broken_json)
    assert counts(world) == before


def test_a_valid_metric_save_bumps_the_version_and_an_unchanged_one_does_not(world: World) -> None:
    install(world)
    client = login(world, "performance_admin")
    m = metric(world, "new_business_premium")
    changed = {**m.definition, "filters": [{"field": "status", "op": "eq", "value": "in_force"}]}
    response = client.post(f"/metrics/{m.pk}/", _metric_post(m, changed))
    assert response.status_code == 302 and response["Location"] == f"/metrics/{m.pk}/"
    saved = metric(world, "new_business_premium")
    assert saved.version == 2 and saved.definition["filters"][0]["value"] == "in_force"
    page = text(client.get(f"/metrics/{m.pk}/"))
    assert "v2" in page and "in_force" in page
    again = client.post(f"/metrics/{m.pk}/", _metric_post(saved, saved.definition, name="新单保费（个险）"))
    assert again.status_code == 302
    renamed = metric(world, "new_business_premium")
    assert renamed.version == 2 and renamed.name == "新单保费（个险）"
    with tenant_context(world.tenant):
        assert AuditEvent.objects.filter(action="metric.save").count() == 2


def test_a_new_metric_starts_from_an_example_and_a_taken_code_is_refused(world: World) -> None:
    install(world)
    client = login(world, "performance_admin")
    example = metric(world, "claims_closed").definition
    post = {
        "code": "claims_closed_p1",
        "name": "结案件数（重案）",
        "domain": "claims",
        "definition": json.dumps(example),
    }
    taken = client.post("/metrics/new/", {**post, "code": "claims_closed"})
    assert taken.status_code == 400 and 'id="code-errors"' in text(taken)
    bad_code = client.post("/metrics/new/", {**post, "code": "Bad Code"})
    assert bad_code.status_code == 400
    created = client.post("/metrics/new/", post)
    assert created.status_code == 302
    new = metric(world, "claims_closed_p1")
    assert created["Location"] == f"/metrics/{new.pk}/" and new.version == 1 and not new.from_library


def test_template_version_with_weights_not_adding_up_to_100_shows_the_error_and_writes_nothing(
    world: World,
) -> None:
    install(world)
    client = login(world, "performance_admin")
    agent = template(world, "life_agent")
    rule = json.dumps({"kind": "linear", "per_point": "1", "cap": "120", "floor": "0", "direction": "higher"})
    items = {
        "item_metric": ["new_business_premium", "new_policies"],
        "item_weight": ["50", "30"],
        "item_rule": [rule, rule],
        "item_target": ["30000", "2"],
        "item_scope": ["self", "self"],
    }
    before = counts(world)
    response = client.post(f"/metrics/templates/{agent.pk}/", {**items, "season_code": "", "note": "x"})
    assert response.status_code == 400
    body = text(response)
    assert 'id="items-error"' in body and "the weights add up to 80, not 100" in body
    assert body.count('class="item-row"') == 2  # what was typed stays on the page
    # A rule that is not JSON, and one the engine refuses, are shown at their row.
    bad_rule = {**items, "item_weight": ["70", "30"], "item_rule": [rule, '{"kind": "linear"}']}
    refused = text(client.post(f"/metrics/templates/{agent.pk}/", {**bad_rule, "season_code": ""}))
    assert "per_point is required" in refused
    assert counts(world) == before
    good = {**items, "item_weight": ["70", "30"]}
    saved = client.post(f"/metrics/templates/{agent.pk}/", {**good, "season_code": "flood", "note": "汛期"})
    assert saved.status_code == 302
    with tenant_context(world.tenant):
        newest = agent.versions.order_by("-number").first()
    assert newest.number == 3 and newest.season_code == "flood" and len(newest.items) == 2
    strip = text(client.get(f"/metrics/templates/{agent.pk}/", {"year": "2026"}, **HX))
    assert "<html" not in strip and 'data-month="7" data-version="3"' in strip
    assert 'data-month="2" data-version="2"' in strip and 'data-month="11" data-version="1"' in strip


def test_the_items_editor_adds_rows_over_htmx(world: World) -> None:
    install(world)
    agent = template(world, "life_agent")
    row = text(login(world, "performance_admin").get(f"/metrics/templates/{agent.pk}/", {"row": "new"}, **HX))
    assert row.startswith('<tr class="item-row">') and 'name="item_metric"' in row
    assert login(world, "auditor").get(f"/metrics/templates/{agent.pk}/", {"row": "new"}).status_code == 403


def test_seasons_are_saved_per_year_and_drawn_on_the_month_strip(world: World) -> None:
    install(world)
    client = login(world, "performance_admin")
    response = client.post(
        "/metrics/seasons/",
        {
            "code": "flood",
            "name": "汛期",
            "year": "2026",
            "starts_on": "2026-05-15",
            "ends_on": "2026-09-30",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/metrics/seasons/?year=2026"
    body = text(client.get("/metrics/seasons/", {"year": "2026"}))
    assert "05-15" in body and "139" in body  # 139 days
    backwards = client.post(
        "/metrics/seasons/",
        {"code": "flood", "name": "汛期", "year": "2026", "starts_on": "2026-09-30", "ends_on": "2026-05-01"},
    )
    assert backwards.status_code == 400 and "cannot end before it starts" in text(backwards)


def test_entering_a_new_calendar_year_makes_it_entered(world: World) -> None:
    client = login(world, "performance_admin")
    assert 'data-year="2027" data-status="missing"' in text(client.get("/metrics/calendar/"))
    bad = client.post(
        "/metrics/calendar/",
        {"year": "2027", "lines": "2027-01-01,2027-01-03,休\n2027-02-30,2027-02-30,班\n2026-12-31,休"},
    )
    assert bad.status_code == 400
    body = text(bad)
    assert "Line 2" in body or "第 2 行" in body
    assert "Line 3" in body or "第 3 行" in body
    with tenant_context(world.tenant):
        assert not CalendarYear.objects.exists()
    notice = "# 元旦\n2027-01-01,2027-01-03,休\n2027-02-06，2027-02-12，休\n2027-02-14,班\n"
    response = client.post(
        "/metrics/calendar/", {"year": "2027", "source": "国办发明电〔2026〕7号", "lines": notice}
    )
    assert response.status_code == 302
    page = text(client.get("/metrics/calendar/"))
    assert 'data-year="2027" data-status="entered"' in page and "国办发明电〔2026〕7号" in page
    with tenant_context(world.tenant):
        assert CalendarDay.objects.filter(kind="off").count() == 10
        assert CalendarDay.objects.filter(kind="work", day=dt.date(2027, 2, 14)).exists()


# --- targets ------------------------------------------------------------------------------------------------------


def _csv(rows: list[list[str]]) -> SimpleUploadedFile:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    content = buffer.getvalue().encode("utf-8-sig")
    return SimpleUploadedFile("targets.csv", content, content_type="text/csv")


def test_targets_import_is_all_or_nothing_and_names_the_row_and_field_of_each_problem(world: World) -> None:
    install(world)
    client = login(world, "performance_admin")
    team, agent = world.sales_team.code, world.agent.employee_no
    header = ["期间", "指标代码", "机构代码", "员工工号", "目标值"]
    bad = [
        header,
        ["2026-03", "new_business_premium", team, "", "400000"],
        ["2026-03", "no_such_metric", team, "", "1"],
        ["2026-13", "new_policies", "", agent, "abc"],
        ["2026-03", "new_business_premium", team, "", "500000"],
    ]
    before = counts(world)
    response = client.post("/metrics/targets/import/", {"period": "", "file": _csv(bad)})
    assert response.status_code == 400
    body = text(response)
    assert 'data-error-total="4"' in body
    assert 'data-row="3"' in body and "指标代码" in body and "no_such_metric" in body
    assert 'data-row="4"' in body and "期间" in body and "目标值" in body and "abc" in body
    assert 'data-row="5"' in body  # the same target twice
    assert counts(world) == before
    good = [
        ["period", "metric", "unit code", "employee no", "target"],
        ["2026-03", "new_business_premium", team, "", "400000"],
        ["2026-03", "new_business_premium", "", agent, "30,000"],
        ["", "new_policies", "", agent, "3"],
    ]
    done = client.post("/metrics/targets/import/", {"period": "2026-04", "file": _csv(good)})
    assert done.status_code == 302 and done["Location"] == "/metrics/targets/?period=2026-03"
    with tenant_context(world.tenant):
        assert sorted(Target.objects.values_list("period", "metric__code", "value", "source")) == [
            ("2026-03", "new_business_premium", 30000, "file"),
            ("2026-03", "new_business_premium", 400000, "file"),
            ("2026-04", "new_policies", 3, "file"),
        ]
        assert AuditEvent.objects.filter(action="target.import").count() == 1
    listed = text(client.get("/metrics/targets/", {"period": "2026-03"}))
    assert "李四" in listed and "销售一组" in listed and "400000" in listed


def test_targets_import_reads_xlsx_and_refuses_a_file_without_the_needed_columns(world: World) -> None:
    install(world)
    client = login(world, "performance_admin")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["员工工号", "指标代码", "目标值"])
    sheet.append([world.agent.employee_no, "new_policies", 4])
    buffer = io.BytesIO()
    book.save(buffer)
    upload = SimpleUploadedFile("目标.xlsx", buffer.getvalue())
    assert client.post("/metrics/targets/import/", {"period": "2026-05", "file": upload}).status_code == 302
    with tenant_context(world.tenant):
        assert Target.objects.get(period="2026-05").value == 4
    missing = client.post("/metrics/targets/import/", {"file": _csv([["工号", "目标值"], ["x", "1"]])})
    body = text(missing)
    assert missing.status_code == 400 and 'data-row="1"' in body and "指标代码" in body
    template_csv = client.get("/metrics/targets/import/", {"download": "template"})
    assert template_csv["Content-Type"].startswith("text/csv")
    assert "期间,指标代码,机构代码,员工工号,目标值" in template_csv.content.decode("utf-8-sig")


def test_one_target_is_set_and_cleared_on_the_page(world: World) -> None:
    install(world)
    client = login(world, "performance_admin")
    post = {
        "period": "2026-03",
        "metric": "new_business_premium",
        "level": "unit",
        "subject": world.sales.code,
    }
    assert client.post("/metrics/targets/", {**post, "value": "1200000"}).status_code == 302
    unknown = client.post("/metrics/targets/", {**post, "subject": "NOPE", "value": "1"})
    assert unknown.status_code == 400
    wrong_level = client.post(
        "/metrics/targets/",
        {
            **post,
            "metric": "agent_headcount",
            "level": "employee",
            "subject": world.agent.employee_no,
            "value": "1",
        },
    )
    assert wrong_level.status_code == 400
    with tenant_context(world.tenant):
        assert list(Target.objects.values_list("unit__code", "value", "source")) == [
            (world.sales.code, 1200000, "ui")
        ]
    assert client.post("/metrics/targets/", {**post, "value": ""}).status_code == 302
    with tenant_context(world.tenant):
        assert not Target.objects.exists()


# --- who may write -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["unit_head", "auditor"])
def test_readers_get_the_403_page_for_every_write_and_nothing_changes(world: World, role: str) -> None:
    install(world)
    client = login(world, role)
    m, agent = metric(world, "new_business_premium"), template(world, "life_agent")
    before = counts(world)
    writes = {
        "/metrics/new/": {
            "code": "x1",
            "name": "x",
            "domain": "sales",
            "definition": json.dumps(m.definition),
        },
        f"/metrics/{m.pk}/": _metric_post(m, m.definition, name="改名"),
        "/metrics/seasons/": {
            "code": "s",
            "name": "s",
            "year": "2026",
            "starts_on": "2026-01-01",
            "ends_on": "2026-01-31",
        },
        "/metrics/calendar/": {"year": "2027", "lines": "2027-01-01,2027-01-03,休"},
        f"/metrics/templates/{agent.pk}/": {
            "item_metric": ["new_policies"],
            "item_weight": ["100"],
            "item_rule": ["{}"],
        },
        "/metrics/targets/": {
            "period": "2026-03",
            "metric": m.code,
            "level": "unit",
            "subject": world.sales.code,
            "value": "1",
        },
        "/metrics/targets/import/": {
            "file": _csv(
                [["期间", "指标代码", "机构代码", "目标值"], ["2026-03", m.code, world.sales.code, "1"]]
            )
        },
    }
    for url, data in writes.items():
        response = client.post(url, data)
        assert response.status_code == 403, url
        assert "web/403.html" in [t.name for t in response.templates], url
    assert client.get("/metrics/new/").status_code == 403
    assert client.get("/metrics/check/", {"definition": "{}"}).status_code == 403
    assert counts(world) == before
    # They still read every page, without the forms.
    for url in (
        "/metrics/seasons/",
        "/metrics/calendar/",
        f"/metrics/templates/{agent.pk}/",
        "/metrics/targets/",
    ):
        body = text(client.get(url))
        assert 'method="post"' not in body.split("<main", 1)[1], url
