"""API: support-satisfaction surveys: the list, one survey with its results (anonymity enforced), answering one's
own invitation, and response rates for survey managers.

Results of a rated unit with fewer respondents than the survey's threshold come back as ``hidden: true`` with every
figure null and no comments, for everyone who does not manage surveys. Answering a survey one is not invited to is
answered like a missing survey (404)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from perflink.collab.surveys import (
    UnitAnswer,
    do_answer_survey,
    get_invitation,
    get_survey,
    my_invitations,
    response_rates,
    unit_results,
    visible_surveys,
)
from perflink.core.api import errors, principal, requires
from perflink.core.context import current_actor

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
