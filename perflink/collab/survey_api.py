"""API: support-satisfaction surveys: the list, one survey with its results (anonymity enforced), answering one's
own invitation, and for survey managers scheduling, opening, reminding, closing and response rates.

Results of a rated unit with fewer respondents than the survey's threshold come back as ``hidden: true`` with every
figure null and no comments, for everyone who does not manage surveys. Answering a survey one is not invited to is
answered like a missing survey (404)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from perflink.collab.surveys import (
    DEFAULT_THRESHOLD,
    UnitAnswer,
    do_answer_survey,
    do_close_survey,
    do_open_survey,
    do_remind_survey,
    do_schedule_survey,
    get_invitation,
    get_survey,
    my_invitations,
    response_rates,
    unit_results,
    visible_surveys,
)
from perflink.core.api import errors, principal, requires
from perflink.core.context import current_actor
from perflink.core.errors import NotFound
from perflink.core.schemas import Id
from perflink.org.models import OrgUnit

router = Router(tags=["surveys"])


class SurveyOut(Schema):
    id: int
    title: str
    period: str
    status: str
    recurrence: str
    opens_on: dt.date
    closes_on: dt.date
    threshold: int
    scale: list[dict[str, str]]
    questions: list[dict[str, str]]


class UnitResultOut(Schema):
    unit_id: int
    unit_code: str
    unit_name: str
    hidden: bool
    respondents: int | None
    invited: int | None
    response_rate: Decimal | None
    average: Decimal | None
    questions: list[dict[str, Any]]
    distribution: list[dict[str, Any]]
    comments: list[str]


class SurveyDetailOut(SurveyOut):
    results: list[UnitResultOut]


class InvitationOut(Schema):
    survey: SurveyOut
    rating_unit_id: int
    answered: bool
    answered_at: dt.datetime | None


class UnitAnswerIn(Schema):
    rated_unit_id: int
    ratings: dict[str, str]
    comment: str = ""


class AnswerIn(Schema):
    units: list[UnitAnswerIn]


class AnsweredOut(Schema):
    survey_id: int
    units_rated: int


class ScheduleIn(Schema):
    title: str
    period: str  # the month rated, YYYY-MM
    rated_unit_ids: list[Id]  # functional units
    rating_unit_ids: list[Id]  # the units whose people answer
    opens_on: dt.date
    closes_on: dt.date
    questions: list[str] | None = None  # default: the standard support questions
    scale: list[dict[str, str]] | None = None  # default: 满意 10 / 一般 5 / 不满意 0
    respondent_roles: list[str] = ["unit_head"]
    threshold: int = DEFAULT_THRESHOLD
    recurrence: str = ""  # "" or "monthly": the next one is scheduled when this one closes


class StepOut(Schema):
    survey: SurveyOut
    notified: int | None = None  # invitations (open) or reminders (remind) sent


class RateOut(Schema):
    unit_id: int
    unit_name: str
    invited: int
    answered: int
    rate: Decimal | None


class RatesOut(Schema):
    survey_id: int
    invited: int
    answered: int
    rate: Decimal | None
    units: list[RateOut]


@router.get(
    "/surveys",
    response={200: list[SurveyOut], **errors()},
    summary="Surveys one may see, newest period first",
)
@requires("surveys.view")
def list_surveys(request: HttpRequest) -> Any:
    return list(visible_surveys(principal(request))[:200])


@router.get(
    "/surveys/invitations",
    response={200: list[InvitationOut], **errors()},
    summary="The surveys one is invited to answer",
)
@requires("surveys.answer")
def list_invitations(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "survey": i.survey,
            "rating_unit_id": i.rating_unit_id,
            "answered": i.answered_at is not None,
            "answered_at": i.answered_at,
        }
        for i in my_invitations(principal(request))
    ]


@router.get(
    "/surveys/{survey_id}",
    response={200: SurveyDetailOut, **errors(404)},
    summary="A survey with its results per rated unit (hidden below the anonymity threshold)",
)
@requires("surveys.view")
def read_survey(request: HttpRequest, survey_id: int) -> dict[str, Any]:
    who = principal(request)
    survey = get_survey(who, survey_id)
    return {
        **SurveyOut.model_validate(survey).model_dump(),
        "results": [r.as_data() for r in unit_results(survey, who)],
    }


@router.post(
    "/surveys/{survey_id}/answer",
    response={200: AnsweredOut, **errors(400, 404, 409)},
    summary="Answer (or, until it closes, change one's answers to) a survey one is invited to",
)
@requires("surveys.answer")
def answer_survey(request: HttpRequest, survey_id: int, payload: AnswerIn) -> dict[str, Any]:
    who = principal(request)
    invitation = get_invitation(who, survey_id)
    rated = do_answer_survey(
        invitation.survey,
        user=who,
        answers=[UnitAnswer(u.rated_unit_id, u.ratings, u.comment) for u in payload.units],
        actor=current_actor(),
    )
    return {"survey_id": survey_id, "units_rated": rated}


@router.get(
    "/surveys/{survey_id}/response-rates",
    response={200: RatesOut, **errors(404)},
    summary="Invited and answered per rating unit (survey managers; never who)",
)
@requires("surveys.manage")
def read_response_rates(request: HttpRequest, survey_id: int) -> dict[str, Any]:
    who = principal(request)
    survey = get_survey(who, survey_id)
    rows, total = response_rates(survey)
    return {
        "survey_id": survey.pk,
        "invited": total.invited if total else 0,
        "answered": total.answered if total else 0,
        "rate": total.rate if total else None,
        "units": [
            {
                "unit_id": r.unit.pk,
                "unit_name": r.unit.name,
                "invited": r.invited,
                "answered": r.answered,
                "rate": r.rate,
            }
            for r in rows
        ],
    }


def _units(ids: list[int], field: str) -> list[OrgUnit]:
    """The tenant's units by id; an id that is not one of them (another tenant's alike) is 404 naming the field."""
    found = OrgUnit.objects.in_bulk(ids)
    unknown = [str(i) for i in ids if i not in found]
    if unknown:
        raise NotFound(f"unknown unit id(s): {', '.join(unknown)}", field=field)
    return [found[i] for i in ids]


@router.post(
    "/surveys",
    response={201: SurveyOut, **errors(400, 404)},
    summary="Schedule a survey (it opens and invites at once when its opening day has come)",
)
@requires("surveys.manage")
def schedule_survey(request: HttpRequest, payload: ScheduleIn) -> Any:
    survey = do_schedule_survey(
        title=payload.title,
        period=payload.period,
        rated_units=_units(payload.rated_unit_ids, "rated_unit_ids"),
        rating_units=_units(payload.rating_unit_ids, "rating_unit_ids"),
        opens_on=payload.opens_on,
        closes_on=payload.closes_on,
        questions=payload.questions,
        scale=payload.scale,
        respondent_roles=payload.respondent_roles,
        threshold=payload.threshold,
        recurrence=payload.recurrence,
        actor=current_actor(),
    )
    return Status(201, survey)


def _step(request: HttpRequest, survey_id: int, action: Callable[..., Any]) -> dict[str, Any]:
    """Run a manager's step on the survey; open and remind return how many people they notified."""
    survey = get_survey(principal(request), survey_id)
    done = action(survey, actor=current_actor())
    survey.refresh_from_db()
    return {"survey": survey, "notified": done if isinstance(done, int) else None}


@router.post(
    "/surveys/{survey_id}/open",
    response={200: StepOut, **errors(404, 409)},
    summary="Open a scheduled survey now and invite its respondents",
)
@requires("surveys.manage")
def open_survey(request: HttpRequest, survey_id: int) -> dict[str, Any]:
    return _step(request, survey_id, do_open_survey)


@router.post(
    "/surveys/{survey_id}/remind",
    response={200: StepOut, **errors(404, 409)},
    summary="Remind the invited who have not answered an open survey",
)
@requires("surveys.manage")
def remind_survey(request: HttpRequest, survey_id: int) -> dict[str, Any]:
    return _step(request, survey_id, do_remind_survey)


@router.post(
    "/surveys/{survey_id}/close",
    response={200: StepOut, **errors(404, 409)},
    summary="Close an open survey: its answers become records the support-satisfaction metric reads",
)
@requires("surveys.manage")
def close_survey(request: HttpRequest, survey_id: int) -> dict[str, Any]:
    return _step(request, survey_id, do_close_survey)
