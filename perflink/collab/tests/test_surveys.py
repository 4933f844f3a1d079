"""Support-satisfaction surveys: points mapped exactly, anonymity below the threshold through the page and the API,
only invited respondents answer, reminders only to those who have not answered, and the answers reaching the
"internal support satisfaction" metric through ingested survey_response records."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from perflink.accounts.actions import do_create_user
from perflink.accounts.choices import Role
from perflink.collab.models import Survey, SurveyInvitation, SurveyResponse
from perflink.collab.surveys import (
    UnitAnswer,
    do_answer_survey,
    do_close_survey,
    do_remind_survey,
    do_schedule_survey,
    unit_results,
)
from perflink.collab.tests.factories import make_head, make_support_unit
from perflink.core.context import SYSTEM, tenant_context
from perflink.core.errors import Conflict, NotFound, ValidationFailed
from perflink.ingest.models import SurveyResponseRecord
from perflink.notify.models import Notification
from tests.factories import PASSWORD, World, make_employee

API = "/api/v1"
TODAY = dt.date(2026, 4, 1)


def session(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def respondent(world: World, n: int) -> Any:
    """A unit head inside the sales department (so invited for it)."""
    return make_head(world, world.sales_team, f"rater{n}@{world.tenant.slug}")


def schedule(world: World, **overrides: Any) -> Survey:
    with tenant_context(world.tenant, SYSTEM):
        return do_schedule_survey(
            **{
                "title": "3月职能支持满意度",
                "period": "2026-03",
                "rated_units": [world.hr],
                "rating_units": [world.sales],
                "opens_on": TODAY,
                "closes_on": TODAY + dt.timedelta(days=7),
                "questions": ["总体满意度"],
                "today": TODAY,
                "actor": SYSTEM,
                **overrides,
            }
        )


def answer(world: World, survey: Survey, user: Any, option: str, comment: str = "") -> int:
    with tenant_context(world.tenant, SYSTEM):
        return do_answer_survey(
            survey, user=user, answers=[UnitAnswer(world.hr.pk, {"q1": option}, comment)], actor=SYSTEM
        )


@pytest.fixture
def raters(world: World) -> list[Any]:
    return [respondent(world, n) for n in range(1, 4)]


@pytest.fixture
def hr_head(world: World) -> Any:
    return make_head(world, world.hr, f"hr-head@{world.tenant.slug}")


def hr_result(world: World, survey: Survey, user: Any) -> Any:
    with tenant_context(world.tenant, SYSTEM):
        (result,) = unit_results(survey, user)
    return result


# --- scheduling and invitations --------------------------------------------------------------------------------


def test_opening_invites_the_rating_units_heads_through_the_inbox(world: World, raters: list[Any]) -> None:
    survey = schedule(world)

    with tenant_context(world.tenant, SYSTEM):
        invited = set(SurveyInvitation.objects.filter(survey=survey).values_list("user__username", flat=True))
        notes = Notification.objects.filter(kind="survey.invited").values_list(
            "recipient__username", flat=True
        )
    assert survey.status == "open"
    assert invited == {"unit_head@alpha", *(u.username for u in raters)}
    assert set(notes) == invited
    # 满意 10 / 一般 5 / 不满意 0 (labelled in the scheduler's language)
    assert [(o["key"], o["points"]) for o in survey.scale] == [
        ("satisfied", "10"),
        ("neutral", "5"),
        ("dissatisfied", "0"),
    ]


def test_employees_are_invited_when_the_survey_asks_them(world: World) -> None:
    with tenant_context(world.tenant, SYSTEM):
        person = make_employee(world.sales_team, name="赵六")
        do_create_user(
            username="zhao@alpha", password=PASSWORD, role=Role.EMPLOYEE, employee=person, check_password=False,
            actor=SYSTEM,
        )  # fmt: skip
    survey = schedule(world, respondent_roles=["employee"])

    with tenant_context(world.tenant, SYSTEM):
        invited = list(
            SurveyInvitation.objects.filter(survey=survey).values_list("user__username", flat=True)
        )
    assert invited == ["zhao@alpha"]


def test_a_survey_opening_later_waits_and_only_functional_units_are_rated(world: World) -> None:
    later = schedule(world, opens_on=TODAY + dt.timedelta(days=3))
    with tenant_context(world.tenant, SYSTEM):
        assert (later.status, later.invitations.count()) == ("scheduled", 0)

    with pytest.raises(ValidationFailed) as exc:
        schedule(world, rated_units=[world.sales])
    assert exc.value.field == "rated_units"


# --- points ----------------------------------------------------------------------------------------------------


def test_two_satisfied_and_one_neutral_average_exactly_8_33(world: World, raters: list[Any]) -> None:
    survey = schedule(world)
    for user, option in zip(raters, ["satisfied", "satisfied", "neutral"], strict=True):
        answer(world, survey, user, option)

    result = hr_result(world, survey, None)

    assert result.average == Decimal("8.33")  # (10 + 10 + 5) / 3, ROUND_HALF_UP
    assert [(d["key"], d["count"]) for d in result.distribution] == [
        ("satisfied", 2),
        ("neutral", 1),
        ("dissatisfied", 0),
    ]


def test_a_configured_scale_maps_to_its_own_points(world: World, raters: list[Any]) -> None:
    scale = [
        {"label": "很好", "points": "100"},
        {"label": "还行", "points": "62.5"},
        {"label": "差", "points": "0"},
    ]
    survey = schedule(world, scale=scale)
    for user, option in zip(raters, ["o1", "o2", "o2"], strict=True):
        answer(world, survey, user, option)

    assert hr_result(world, survey, None).average == Decimal("75.00")  # (100 + 62.5 + 62.5) / 3


# --- answering -------------------------------------------------------------------------------------------------


def test_answering_twice_replaces_the_first_answer_until_the_survey_closes(
    world: World, raters: list[Any]
) -> None:
    survey = schedule(world)
    answer(world, survey, raters[0], "dissatisfied", "慢")
    answer(world, survey, raters[0], "satisfied", "快多了")

    with tenant_context(world.tenant, SYSTEM):
        rows = list(SurveyResponse.objects.filter(survey=survey).values_list("ratings", "comment"))
        assert not SurveyResponseRecord.objects.exists()  # records are written when the answers are final
        do_close_survey(survey, actor=SYSTEM)
        records = list(SurveyResponseRecord.objects.values_list("points", "answered_at"))
    assert rows == [({"q1": "satisfied"}, "快多了")]
    assert [points for points, _ in records] == [Decimal("10.00")]
    assert timezone.localtime(records[0][1]).time() == dt.time(
        0, 0
    )  # the day only: never matched to a person
    with pytest.raises(Conflict):
        answer(world, survey, raters[0], "neutral")


def test_an_uninvited_user_cannot_answer(world: World, raters: list[Any], hr_head: Any) -> None:
    survey = schedule(world)

    with pytest.raises(NotFound):
        answer(world, survey, hr_head, "dissatisfied")
    page = session(hr_head.username).get(f"/collab/surveys/{survey.pk}/answer/")
    api = session(hr_head.username).post(
        f"{API}/surveys/{survey.pk}/answer",
        {"units": [{"rated_unit_id": world.hr.pk, "ratings": {"q1": "dissatisfied"}}]},
        content_type="application/json",
    )
    assert (page.status_code, api.status_code) == (404, 404)
    assert api.json()["code"] == "not_found"


def test_a_unit_card_must_answer_every_question_or_none(world: World, raters: list[Any]) -> None:
    survey = schedule(world, questions=["总体", "响应速度"])

    with pytest.raises(ValidationFailed):
        answer(world, survey, raters[0], "satisfied")  # only q1 of two


def test_the_answering_page_saves_and_thanks(world: World, raters: list[Any]) -> None:
    survey = schedule(world)
    client = session(raters[0].username)
    url = f"/collab/surveys/{survey.pk}/answer/"

    shown = client.get(url)
    sent = client.post(url, {f"u{world.hr.pk}-q1": "neutral", f"u{world.hr.pk}-comment": "还可以"})
    thanks = client.get(sent["Location"])

    assert shown.status_code == 200 and b'value="neutral"' in shown.content
    assert sent.status_code == 302
    assert b'id="survey-thanks"' in thanks.content and b"checked" in thanks.content


def test_the_api_answers_for_an_invited_respondent(world: World, raters: list[Any]) -> None:
    survey = schedule(world)
    response = session(raters[0].username).post(
        f"{API}/surveys/{survey.pk}/answer",
        {"units": [{"rated_unit_id": world.hr.pk, "ratings": {"q1": "satisfied"}, "comment": "好"}]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"survey_id": survey.pk, "units_rated": 1}


# --- anonymity -------------------------------------------------------------------------------------------------


def test_the_rated_units_head_sees_nothing_below_the_threshold_on_the_page_or_the_api(
    world: World, raters: list[Any], hr_head: Any
) -> None:
    survey = schedule(world)
    answer(world, survey, raters[0], "dissatisfied", "秘密意见")
    answer(world, survey, raters[1], "satisfied")
    client = session(hr_head.username)

    page = client.get(f"/collab/surveys/{survey.pk}/")
    api = client.get(f"{API}/surveys/{survey.pk}").json()["results"][0]

    assert page.status_code == 200
    assert b'data-hidden="true"' in page.content
    assert "秘密意见".encode() not in page.content and b"data-respondents" not in page.content
    assert api["hidden"] is True
    assert (api["respondents"], api["average"], api["distribution"], api["comments"]) == (None, None, [], [])
    assert client.get(f"{API}/surveys/{survey.pk}/response-rates").status_code == 403


def test_at_the_threshold_the_results_appear_to_the_rated_unit(
    world: World, raters: list[Any], hr_head: Any
) -> None:
    survey = schedule(world)
    for user, option in zip(raters, ["dissatisfied", "satisfied", "neutral"], strict=True):
        answer(world, survey, user, option, "秘密意见" if option == "dissatisfied" else "")
    client = session(hr_head.username)

    page = client.get(f"/collab/surveys/{survey.pk}/")
    api = client.get(f"{API}/surveys/{survey.pk}").json()["results"][0]

    assert b'data-hidden="false"' in page.content and "秘密意见".encode() in page.content
    assert (api["hidden"], api["respondents"], api["average"], api["comments"]) == (
        False,
        3,
        "5.00",
        ["秘密意见"],
    )


def test_managers_see_response_rates_but_never_who_answered(world: World, raters: list[Any]) -> None:
    survey = schedule(world)
    answer(world, survey, raters[0], "neutral")
    client = session("performance_admin@alpha")

    rates = client.get(f"{API}/surveys/{survey.pk}/response-rates").json()
    page = client.get(f"/collab/surveys/{survey.pk}/")

    assert (rates["invited"], rates["answered"], rates["rate"]) == (4, 1, "25.0")
    assert raters[0].username.encode() not in page.content
    with tenant_context(world.tenant, SYSTEM):
        assert not hasattr(SurveyResponse, "user")
        assert "user" not in {f.name for f in SurveyResponseRecord._meta.get_fields()}


def test_an_employee_without_surveys_view_gets_403_on_results(world: World) -> None:
    survey = schedule(world)
    client = session("employee@alpha")
    assert client.get(f"/collab/surveys/{survey.pk}/").status_code == 403
    assert client.get(f"{API}/surveys/{survey.pk}").status_code == 403


# --- reminders and recurrence -------------------------------------------------------------------------------------


def test_reminders_go_only_to_those_who_have_not_answered(world: World, raters: list[Any]) -> None:
    survey = schedule(world)
    answer(world, survey, raters[0], "satisfied")

    with tenant_context(world.tenant, SYSTEM):
        reminded = do_remind_survey(survey, actor=SYSTEM)
        to = set(
            Notification.objects.filter(kind="survey.reminded").values_list("recipient__username", flat=True)
        )
    assert reminded == 3
    assert to == {"unit_head@alpha", raters[1].username, raters[2].username}


def test_the_remind_button_is_for_managers_only(world: World, raters: list[Any]) -> None:
    survey = schedule(world)
    url = f"/collab/surveys/{survey.pk}/"
    assert session("unit_head@alpha").post(url, {"step": "remind"}).status_code == 403
    assert session("performance_admin@alpha").post(url, {"step": "remind"}).status_code == 302


def test_closing_a_monthly_survey_schedules_next_months(world: World) -> None:
    survey = schedule(world, recurrence="monthly")
    with tenant_context(world.tenant, SYSTEM):
        following = do_close_survey(survey, actor=SYSTEM)
    assert following is not None
    assert (following.period, following.opens_on, following.previous_id) == (
        "2026-04",
        dt.date(2026, 5, 1),
        survey.pk,
    )


# --- the metric ------------------------------------------------------------------------------------------------


def test_the_support_satisfaction_metric_is_calculated_from_survey_response_records(
    world: World, raters: list[Any]
) -> None:
    import polars as pl

    from perflink.metrics.actions import do_calculate, do_install_library
    from perflink.metrics.selectors import run_frame

    with tenant_context(world.tenant, SYSTEM):
        do_install_library(years=range(2025, 2028), actor=SYSTEM)
    survey = schedule(world)
    for user, option in zip(raters, ["satisfied", "satisfied", "neutral"], strict=True):
        answer(world, survey, user, option)

    with tenant_context(world.tenant, SYSTEM):
        do_close_survey(survey, actor=SYSTEM)
        records = SurveyResponseRecord.objects.filter(rated_unit=world.hr)
        assert records.count() == 3 and {r.period_on for r in records} == {dt.date(2026, 3, 1)}
        run = do_calculate("2026-03", actor=SYSTEM, as_of=dt.date(2026, 4, 30))
        values = run_frame(run, "values").filter(pl.col("metric") == "internal_support_satisfaction")
    (value,) = values.filter(pl.col("subject_id") == world.hr.pk).get_column("value").to_list()
    assert Decimal(str(value)).quantize(Decimal("0.01")) == Decimal("8.33")


# --- pages -----------------------------------------------------------------------------------------------------


def test_a_manager_schedules_a_survey_from_the_form(world: World, raters: list[Any]) -> None:
    client = session("performance_admin@alpha")
    form = client.get("/collab/surveys/new/")
    today = dt.date.today()
    sent = client.post(
        "/collab/surveys/new/",
        {
            "title": "职能支持满意度",
            "period": "2026-03",
            "rated_units": [world.hr.pk],
            "rating_units": [world.sales.pk],
            "respondent_roles": ["unit_head"],
            "questions": "总体满意度\n响应速度",
            "scale": "满意 = 10\n一般 = 5\n不满意 = 0",
            "threshold": 3,
            "opens_on": today.isoformat(),
            "closes_on": (today + dt.timedelta(days=7)).isoformat(),
            "recurrence": "monthly",
        },
    )
    listing = client.get("/collab/surveys/")

    assert form.status_code == 200
    assert sent.status_code == 302, sent.content.decode()[:2000]
    with tenant_context(world.tenant, SYSTEM):
        survey = Survey.objects.get()
        assert (survey.status, survey.invitations.count(), survey.recurrence) == ("open", 4, "monthly")
    assert [o["points"] for o in survey.scale] == ["10", "5", "0"]
    assert [q["key"] for q in survey.questions] == ["q1", "q2"]
    assert f'data-survey="{survey.pk}"'.encode() in listing.content


def test_a_bad_scale_line_is_reported_on_the_form(world: World) -> None:
    sent = session("performance_admin@alpha").post("/collab/surveys/new/", {"scale": "满意 10"})
    assert sent.status_code == 400
    assert b'id="field-scale"' in sent.content


def test_an_employee_sees_their_invitations(world: World) -> None:
    with tenant_context(world.tenant, SYSTEM):
        person = make_employee(world.sales_team, name="赵六")
        do_create_user(
            username="zhao@alpha", password=PASSWORD, role=Role.EMPLOYEE, employee=person, check_password=False,
            actor=SYSTEM,
        )  # fmt: skip
    survey = schedule(world, respondent_roles=["employee"])
    page = session("zhao@alpha").get("/collab/surveys/mine/")
    assert page.status_code == 200
    assert f'data-survey="{survey.pk}"'.encode() in page.content


def test_a_functional_unit_may_rate_another_but_never_itself(world: World) -> None:
    support = make_support_unit(world)
    survey = schedule(
        world,
        rated_units=[support],
        rating_units=[world.sales, world.hr],
        respondent_roles=["unit_head", "employee"],
    )

    with tenant_context(world.tenant, SYSTEM):
        invited = set(
            SurveyInvitation.objects.filter(survey=survey).values_list("user__username", "rating_unit")
        )
    assert {("unit_head@alpha", world.sales.pk), ("employee@alpha", world.hr.pk)} <= invited
    with pytest.raises(ValidationFailed) as exc:
        schedule(world, rated_units=[world.hr], rating_units=[world.hr])
    assert exc.value.field == "rating_units"


# --- the survey API for an OA system or a scheduler --------------------------------------------------------------


def test_a_manager_schedules_reminds_and_closes_through_the_api(world: World, raters: list[Any]) -> None:
    admin = session(world.users["performance_admin"].username)
    today = timezone.localdate()
    body = {
        "title": "本月职能支持满意度",
        "period": "2026-10",
        "rated_unit_ids": [world.hr.pk],
        "rating_unit_ids": [world.sales.pk],
        "questions": ["总体满意度"],
        "opens_on": today.isoformat(),
        "closes_on": (today + dt.timedelta(days=7)).isoformat(),
    }
    created = admin.post(f"{API}/surveys", body, content_type="application/json")
    assert created.status_code == 201, created.content
    survey = created.json()
    assert (survey["status"], survey["threshold"]) == ("open", 3)  # opening day has come: invited at once
    assert [s["points"] for s in survey["scale"]] == ["10", "5", "0"]
    with tenant_context(world.tenant, SYSTEM):
        # The three raters and the sales department's own head.
        assert SurveyInvitation.objects.filter(survey_id=survey["id"]).count() == 4
        opened = Survey.objects.get(pk=survey["id"])
    for rater, option in zip(raters, ["satisfied", "satisfied", "neutral"], strict=True):
        answer(world, opened, rater, option)
    reminded = admin.post(f"{API}/surveys/{survey['id']}/remind")
    assert reminded.status_code == 200 and reminded.json()["notified"] == 1  # only the head has not answered

    closed = admin.post(f"{API}/surveys/{survey['id']}/close")
    assert closed.status_code == 200, closed.content
    assert closed.json()["survey"]["status"] == "closed"
    with tenant_context(world.tenant, SYSTEM):
        points = sorted(SurveyResponseRecord.objects.values_list("points", flat=True))
    assert points == [Decimal("5.00"), Decimal("10.00"), Decimal("10.00")]
    again = admin.post(f"{API}/surveys/{survey['id']}/close")
    assert (again.status_code, again.json()["code"]) == (409, "survey_not_open")


def test_scheduling_through_the_api_names_the_bad_field_and_is_for_managers_only(
    world: World, raters: list[Any], other_world: World
) -> None:
    body = {
        "title": "调研",
        "period": "2026-10",
        "rated_unit_ids": [world.hr.pk],
        "rating_unit_ids": [other_world.sales.pk],  # another tenant's unit is as unknown as a missing one
        "opens_on": "2026-11-01",
        "closes_on": "2026-11-08",
    }
    admin = session(world.users["performance_admin"].username)
    refused = admin.post(f"{API}/surveys", body, content_type="application/json")
    assert refused.status_code == 404, refused.content
    assert (refused.json()["code"], refused.json()["field"]) == ("not_found", "rating_unit_ids")
    wrong_unit = admin.post(
        f"{API}/surveys", {**body, "rating_unit_ids": [world.sales.pk], "rated_unit_ids": [world.sales.pk]},
        content_type="application/json",
    )  # fmt: skip
    assert (wrong_unit.status_code, wrong_unit.json()["field"]) == (422, "rated_units")
    with tenant_context(world.tenant, SYSTEM):
        assert not Survey.objects.exists()
    head = session(raters[0].username)
    assert head.post(f"{API}/surveys", body, content_type="application/json").status_code == 403
