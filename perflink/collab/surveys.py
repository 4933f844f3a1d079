"""Support-satisfaction surveys (满意度调研): business units rate the support of functional units.

A performance admin schedules a survey for a period: the functional units rated, the business units invited (their
unit heads and/or employees), the questions (single choice on the answer scale, plus a comment per rated unit), the
scale's points (满意 10 / 一般 5 / 不满意 0 by default) and the anonymity threshold N. Opening it invites every
respondent through the in-app inbox; reminders go to those who have not answered; closing it schedules next month's
survey when it recurs.

Anonymity: an invitation records *that* its user answered, never *what*; the answers carry a random response key
instead of the user. A rated unit's results (respondents, average, distribution, comments) are shown to anyone but
the survey's managers only once it has N respondents; below that the results say "hidden" and reveal nothing.

When the survey closes, every answer is written as an ingest record of kind ``survey_response`` (survey, question,
rated unit, rating unit, points, period, the day answered; no respondent), in one batch by the system, so the metrics
engine reads survey results like any other source and never imports this module.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from perflink.accounts.access import can
from perflink.accounts.choices import Role
from perflink.accounts.models import User
from perflink.audit.actions import record_event
from perflink.collab.models import (
    Survey,
    SurveyInvitation,
    SurveyRecurrence,
    SurveyResponse,
    SurveyStatus,
)
from perflink.core.context import Actor
from perflink.core.errors import Conflict, NotFound, ValidationFailed
from perflink.engine.periods import Period, PeriodError, add_months
from perflink.ingest.actions import do_push_records
from perflink.org.choices import UnitType
from perflink.org.models import OrgUnit

DEFAULT_THRESHOLD = 3
RESPONDENT_ROLES = ("unit_head", "employee")
COMMENT_MAX = 1000
TEXT_MAX = 200
TWO_PLACES = Decimal("0.01")
# The survey's notifications: the kinds perflink.notify routes by.
INVITED = "survey.invited"
SURVEY_ACTOR = Actor("system", None, "survey")
REMINDED = "survey.reminded"


def default_scale() -> list[dict[str, str]]:
    """满意 10 / 一般 5 / 不满意 0, labelled in the scheduler's language."""
    return [
        {"key": "satisfied", "label": _("Satisfied"), "points": "10"},
        {"key": "neutral", "label": _("Neutral"), "points": "5"},
        {"key": "dissatisfied", "label": _("Dissatisfied"), "points": "0"},
    ]


def default_questions() -> list[str]:
    return [
        _("How satisfied are you with this unit's support overall?"),
        _("How quickly did this unit respond to your requests?"),
    ]


# --- who may ---------------------------------------------------------------------------------------------------


def may_manage(user: Any) -> bool:
    return user is None or can(user, "surveys.manage")


def _scope(user: Any) -> OrgUnit | None:
    return getattr(user, "scope_unit", None) if getattr(user, "role", None) == Role.UNIT_HEAD else None


def visible_surveys(user: Any) -> QuerySet[Survey]:
    """Surveys a reader may see: all of them for managers, auditors and tenant admins; for a unit head those
    rating or rated by a unit of their subtree, or they are invited to."""
    surveys = Survey.objects.all()
    if getattr(user, "role", None) != Role.UNIT_HEAD:
        return surveys if can(user, "surveys.view") else surveys.none()
    scope = _scope(user)
    invited = SurveyInvitation.objects.filter(user=user).values("survey_id")
    if scope is None:
        return surveys.filter(pk__in=invited)
    units = OrgUnit.objects.filter(path__startswith=scope.path).values("pk")
    return surveys.filter(Q(rated_units__in=units) | Q(rating_units__in=units) | Q(pk__in=invited)).distinct()


def get_survey(user: Any, survey_id: int) -> Survey:
    survey = visible_surveys(user).filter(pk=survey_id).first()
    if survey is None:
        raise NotFound("survey not found")
    return survey


def get_invitation(user: Any, survey_id: int) -> SurveyInvitation:
    """The user's own invitation; "not invited" and "no such survey" are alike (404)."""
    invitation = (
        SurveyInvitation.objects.select_related("survey", "rating_unit")
        .filter(survey_id=survey_id, user_id=getattr(user, "pk", None))
        .exclude(survey__status=SurveyStatus.SCHEDULED)
        .first()
    )
    if invitation is None:
        raise NotFound("survey not found")
    return invitation


def my_invitations(user: Any) -> QuerySet[SurveyInvitation]:
    return (
        SurveyInvitation.objects.select_related("survey", "rating_unit")
        .filter(user_id=getattr(user, "pk", None))
        .exclude(survey__status=SurveyStatus.SCHEDULED)
        .order_by("-survey__opens_on", "-survey_id")
    )


# --- checks ----------------------------------------------------------------------------------------------------


def _points(value: Any, field_name: str) -> Decimal:
    try:
        points = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(_("Points must be a number."), field=field_name) from None
    if not points.is_finite() or points < 0 or points > 100 or points != points.quantize(TWO_PLACES):
        raise ValidationFailed(
            _("Points must be between 0 and 100, with at most two decimals."), field=field_name
        )
    return points


def check_scale(scale: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """2–7 options with distinct keys and labels; points as exact decimals from 0 to 100."""
    options: list[dict[str, str]] = []
    for i, option in enumerate(scale):
        label = str(option.get("label", "")).strip()[:40]
        key = str(option.get("key", "") or f"o{i + 1}").strip()[:20]
        if not label:
            raise ValidationFailed(_("Every answer option needs a label."), field="scale")
        points = _points(option.get("points", ""), "scale")
        options.append({"key": key, "label": label, "points": str(points.normalize() + 0)})
    if not 2 <= len(options) <= 7:
        raise ValidationFailed(_("The answer scale needs 2 to 7 options."), field="scale")
    if len({o["key"] for o in options}) != len(options) or len({o["label"] for o in options}) != len(options):
        raise ValidationFailed(_("The answer options must differ from each other."), field="scale")
    return options


def check_questions(questions: Iterable[str]) -> list[dict[str, str]]:
    texts = [q.strip()[:TEXT_MAX] for q in questions if q and q.strip()]
    if not 1 <= len(texts) <= 10:
        raise ValidationFailed(_("Ask 1 to 10 questions."), field="questions")
    return [{"key": f"q{i}", "text": text} for i, text in enumerate(texts, start=1)]


def _units(units: Iterable[OrgUnit], field_name: str) -> list[OrgUnit]:
    chosen = list({u.pk: u for u in units}.values())
    if not chosen:
        raise ValidationFailed(_("Choose at least one unit."), field=field_name)
    return chosen


def _check_units(
    rated_units: Iterable[OrgUnit], rating_units: Iterable[OrgUnit]
) -> tuple[list[OrgUnit], ...]:
    """Functional units are rated; the units answering are usually business units, but a functional unit may rate
    the others too (IT rates HR's support). No unit rates itself."""
    rated, rating = _units(rated_units, "rated_units"), _units(rating_units, "rating_units")
    wrong = [u.name for u in rated if u.unit_type != UnitType.FUNCTIONAL]
    if wrong:
        raise ValidationFailed(
            _("Only functional units are rated: %(units)s is not one.") % {"units": ", ".join(wrong)},
            field="rated_units",
        )
    both = [u.name for u in rated if u.pk in {r.pk for r in rating}]
    if both:
        raise ValidationFailed(
            _("A unit cannot rate itself: %(units)s is both rated and rating.") % {"units": ", ".join(both)},
            field="rating_units",
        )
    return rated, rating


def _snapshot(survey: Survey) -> dict[str, Any]:
    return {
        "title": survey.title,
        "period": survey.period,
        "status": survey.status,
        "opens_on": survey.opens_on.isoformat(),
        "closes_on": survey.closes_on.isoformat(),
        "threshold": survey.threshold,
        "recurrence": survey.recurrence,
        "scale": survey.scale,
        "questions": survey.questions,
        "respondent_roles": survey.respondent_roles,
        "rated_units": sorted(u.code for u in survey.rated_units.all()),
        "rating_units": sorted(u.code for u in survey.rating_units.all()),
    }


def _today() -> dt.date:
    return timezone.localdate()


# --- scheduling, opening, reminding, closing -----------------------------------------------------------------


def do_schedule_survey(
    *,
    title: str,
    period: str,
    rated_units: Iterable[OrgUnit],
    rating_units: Iterable[OrgUnit],
    opens_on: dt.date,
    closes_on: dt.date,
    questions: Iterable[str] | None = None,
    scale: Iterable[Mapping[str, Any]] | None = None,
    respondent_roles: Iterable[str] = ("unit_head",),
    threshold: int = DEFAULT_THRESHOLD,
    recurrence: str = "",
    previous: Survey | None = None,
    today: dt.date | None = None,
    actor: Actor,
) -> Survey:
    """Schedule a survey; it opens (and invites) at once when its opening date has come."""
    title = (title or "").strip()[:120]
    if not title:
        raise ValidationFailed(_("Give the survey a title."), field="title")
    try:
        if len(period or "") != 7:
            raise PeriodError(period)
        Period.parse(period)
    except PeriodError:
        raise ValidationFailed(_("The period is a month, like 2026-03."), field="period") from None
    if closes_on < opens_on:
        raise ValidationFailed(_("The survey must close on or after the day it opens."), field="closes_on")
    if not 1 <= threshold <= 50:
        raise ValidationFailed(_("The anonymity threshold is 1 to 50 respondents."), field="threshold")
    roles = sorted({r for r in respondent_roles if r})
    if not roles or any(r not in RESPONDENT_ROLES for r in roles):
        raise ValidationFailed(_("Invite unit heads, employees or both."), field="respondent_roles")
    if recurrence not in SurveyRecurrence.values:
        raise ValidationFailed(_("Unknown recurrence."), field="recurrence")
    rated, rating = _check_units(rated_units, rating_units)
    checked_questions = check_questions(questions if questions is not None else default_questions())
    checked_scale = check_scale(scale if scale is not None else default_scale())
    with transaction.atomic():
        survey = Survey.objects.create(
            title=title,
            period=period,
            recurrence=recurrence,
            opens_on=opens_on,
            closes_on=closes_on,
            threshold=threshold,
            scale=checked_scale,
            questions=checked_questions,
            respondent_roles=roles,
            previous=previous,
            created_by_label=actor.label[:150],
        )
        survey.rated_units.set(rated)
        survey.rating_units.set(rating)
        record_event("survey.schedule", survey, after=_snapshot(survey))
        if opens_on <= (today or _today()):
            do_open_survey(survey, actor=actor)
            survey.refresh_from_db()
    return survey


def respondents(survey: Survey) -> dict[int, OrgUnit]:
    """Who is invited: user id -> the rating unit they answer for. Unit heads whose scope lies in a rating unit's
    subtree, and employees' accounts of that subtree, as the survey says; a person is invited once."""
    people: dict[int, OrgUnit] = {}
    users = User.objects.filter(is_active=True).select_related("scope_unit", "employee__unit")
    for unit in survey.rating_units.order_by("path"):
        if "unit_head" in survey.respondent_roles:
            for user in users.filter(role=Role.UNIT_HEAD, scope_unit__path__startswith=unit.path):
                people.setdefault(user.pk, unit)
        if "employee" in survey.respondent_roles:
            for user in users.filter(role=Role.EMPLOYEE, employee__unit__path__startswith=unit.path):
                people.setdefault(user.pk, unit)
    return people


def _answer_url(survey: Survey) -> str:
    return reverse("collab:survey_answer", args=[survey.pk])


def _notify(users: list[User], *, kind: str, title: str, body: str, url: str, actor: Actor) -> None:
    """The respondents' inboxes (and e-mail), and the channels subscribed to survey invitations/reminders."""
    from perflink.notify.actions import do_publish_event

    do_publish_event(kind, title=title, body=body, url=url, users=users, actor=actor)


def do_open_survey(survey: Survey, *, actor: Actor) -> int:
    """Open a scheduled survey: one invitation per respondent, each told in the in-app inbox. Returns how many
    were invited."""
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        if survey.status != SurveyStatus.SCHEDULED:
            raise Conflict(_("Only a scheduled survey can be opened."), code="survey_not_scheduled")
        now = timezone.now()
        people = respondents(survey)
        users = {u.pk: u for u in User.objects.filter(pk__in=people)}
        SurveyInvitation.objects.bulk_create(
            [
                SurveyInvitation(
                    tenant_id=survey.tenant_id,
                    survey=survey,
                    user=users[pk],
                    rating_unit=unit,
                    invited_at=now,
                )
                for pk, unit in people.items()
            ]
        )
        survey.status, survey.opened_at = SurveyStatus.OPEN, now
        survey.save(update_fields=["status", "opened_at", "updated_at"])
        record_event("survey.open", survey, after={"period": survey.period, "invited": len(people)})
        _notify(
            list(users.values()),
            kind=INVITED,
            title=_("Rate the support you received: %(title)s") % {"title": survey.title},
            body=_("Your answers are anonymous. Open until %(date)s.")
            % {"date": survey.closes_on.isoformat()},
            url=_answer_url(survey),
            actor=actor,
        )
    return len(people)


def do_remind_survey(survey: Survey, *, actor: Actor) -> int:
    """Remind those invited who have not answered yet; returns how many were reminded."""
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        if survey.status != SurveyStatus.OPEN:
            raise Conflict(_("Reminders go out only while the survey is open."), code="survey_not_open")
        pending = list(survey.invitations.filter(answered_at__isnull=True).select_related("user"))
        now = timezone.now()
        for invitation in pending:
            invitation.last_reminded_at, invitation.reminders = now, invitation.reminders + 1
        SurveyInvitation.objects.bulk_update(pending, ["last_reminded_at", "reminders"])
        record_event("survey.remind", survey, after={"period": survey.period, "reminded": len(pending)})
        _notify(
            [i.user for i in pending],
            kind=REMINDED,
            title=_("Reminder: %(title)s is waiting for your answer") % {"title": survey.title},
            body=_("It closes on %(date)s and takes a minute. Your answers are anonymous.")
            % {"date": survey.closes_on.isoformat()},
            url=_answer_url(survey),
            actor=actor,
        )
    return len(pending)


def do_close_survey(survey: Survey, *, actor: Actor) -> Survey | None:
    """Close an open survey (answers are final); a monthly survey schedules the next month's. Returns the next
    survey, if any."""
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        if survey.status != SurveyStatus.OPEN:
            raise Conflict(_("Only an open survey can be closed."), code="survey_not_open")
        survey.status, survey.closed_at = SurveyStatus.CLOSED, timezone.now()
        survey.save(update_fields=["status", "closed_at", "updated_at"])
        record_event(
            "survey.close",
            survey,
            before={"status": SurveyStatus.OPEN},
            after={
                "status": SurveyStatus.CLOSED,
                "answered": survey.invitations.exclude(answered_at=None).count(),
            },
        )
        # The answers become records the metrics read, all at once now that they are final.
        _ingest(_records(survey))
        if survey.recurrence != SurveyRecurrence.MONTHLY or Survey.objects.filter(previous=survey).exists():
            return None
        return do_schedule_survey(
            title=survey.title,
            period=add_months(Period.parse(survey.period).start, 1).strftime("%Y-%m"),
            rated_units=survey.rated_units.all(),
            rating_units=survey.rating_units.all(),
            opens_on=add_months(survey.opens_on, 1),
            closes_on=add_months(survey.closes_on, 1),
            questions=[q["text"] for q in survey.questions],
            scale=survey.scale,
            respondent_roles=survey.respondent_roles,
            threshold=survey.threshold,
            recurrence=survey.recurrence,
            previous=survey,
            actor=actor,
        )


def do_close_due_surveys(*, today: dt.date | None = None, actor: Actor) -> list[Survey]:
    """Close the open surveys whose closing day has passed (for a daily job or command)."""
    due = list(Survey.objects.filter(status=SurveyStatus.OPEN, closes_on__lt=today or _today()))
    for survey in due:
        do_close_survey(survey, actor=actor)
    return due


def do_open_due_surveys(*, today: dt.date | None = None, actor: Actor) -> list[Survey]:
    """Open the scheduled surveys whose day has come (for a daily job or command)."""
    due = list(Survey.objects.filter(status=SurveyStatus.SCHEDULED, opens_on__lte=today or _today()))
    for survey in due:
        do_open_survey(survey, actor=actor)
    return due


# --- answering -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitAnswer:
    """A respondent's card for one rated unit: an option key per question, and a comment."""

    rated_unit_id: int
    ratings: Mapping[str, str]
    comment: str = ""


REMIND_DAYS_BEFORE_CLOSING = 2


def do_remind_due_surveys(today: dt.date, *, actor: Actor) -> list[tuple[Survey, int]]:
    """Remind the open surveys that close within two days and were not reminded today (by this round or by
    hand); returns each survey with how many were reminded."""
    done = []
    closing = Survey.objects.filter(
        status=SurveyStatus.OPEN,
        closes_on__gte=today,
        closes_on__lte=today + dt.timedelta(days=REMIND_DAYS_BEFORE_CLOSING),
    )
    for survey in closing.order_by("closes_on", "id"):
        reminded = survey.invitations.exclude(last_reminded_at=None).order_by("-last_reminded_at").first()
        if reminded and timezone.localdate(reminded.last_reminded_at) >= today:
            continue
        if not survey.invitations.filter(answered_at__isnull=True).exists():
            continue
        done.append((survey, do_remind_survey(survey, actor=actor)))
    return done


def _check_answers(survey: Survey, answers: Iterable[UnitAnswer]) -> list[UnitAnswer]:
    rated = set(survey.rated_units.values_list("pk", flat=True))
    options = {o["key"] for o in survey.scale}
    questions = [q["key"] for q in survey.questions]
    kept: dict[int, UnitAnswer] = {}
    for answer in answers:
        if answer.rated_unit_id not in rated:
            raise ValidationFailed(_("That unit is not rated in this survey."), field="rated_unit_id")
        ratings = {q: o for q, o in answer.ratings.items() if o}
        comment = (answer.comment or "").strip()
        if not ratings and not comment:
            continue  # a card left empty: no dealings with that unit this period
        if set(ratings) != set(questions):
            raise ValidationFailed(
                _("Answer every question for a unit you rate, or leave its card empty."),
                field=f"units.{answer.rated_unit_id}",
            )
        if any(o not in options for o in ratings.values()):
            raise ValidationFailed(
                _("Choose one of the answers offered."), field=f"units.{answer.rated_unit_id}"
            )
        if len(comment) > COMMENT_MAX:
            raise ValidationFailed(
                _("A comment is at most %(n)d characters.") % {"n": COMMENT_MAX},
                field=f"units.{answer.rated_unit_id}",
            )
        kept[answer.rated_unit_id] = UnitAnswer(answer.rated_unit_id, ratings, comment)
    if not kept:
        raise ValidationFailed(_("Rate at least one unit."), field="units")
    return list(kept.values())


def _records(survey: Survey) -> list[dict[str, Any]]:
    """The survey's answers as ingest records: one per response, rated unit and question. Neither the user nor the
    response key goes into them, and the time of answering only to the day, so no record can be matched to a
    respondent through the audit trail."""
    rows = list(survey.responses.select_related("rated_unit", "rating_unit").order_by("rated_unit_id", "id"))
    period_on = Period.parse(survey.period).start.isoformat()
    records = []
    for n, row in enumerate(rows, start=1):
        day = timezone.localtime(row.answered_at).date().isoformat()
        for question in survey.questions:
            records.append(
                {
                    "external_id": f"S{survey.pk}-{row.rated_unit_id}-{n}-{question['key']}",
                    "survey": f"S{survey.pk}",
                    "question": question["key"],
                    "rated_unit": row.rated_unit.code,
                    "rating_unit": row.rating_unit.code,
                    "points": row.points[question["key"]],
                    "period_on": period_on,
                    "answered_at": f"{day} 00:00",
                }
            )
    return records


def _ingest(records: list[dict[str, Any]]) -> None:
    # One batch for the whole survey, by the system: nothing ties a record to the person who closed it either.
    if records:
        do_push_records("survey_response", records, actor=SURVEY_ACTOR)


def do_answer_survey(survey: Survey, *, user: Any, answers: Iterable[UnitAnswer], actor: Actor) -> int:
    """Record (or, until the survey closes, replace) an invited respondent's answers; returns how many units were
    rated. Anyone not invited gets NotFound, as for a survey that does not exist."""
    with transaction.atomic():
        invitation = (
            SurveyInvitation.objects.select_for_update()
            .filter(survey_id=survey.pk, user_id=getattr(user, "pk", None))
            .first()
        )
        if invitation is None:
            raise NotFound("survey not found")
        survey = Survey.objects.get(pk=survey.pk)
        if survey.status != SurveyStatus.OPEN:
            raise Conflict(_("This survey is not open for answers."), code="survey_not_open")
        checked = _check_answers(survey, answers)
        points = {o["key"]: o["points"] for o in survey.scale}
        now = timezone.now()
        editing = bool(invitation.response_key)
        key = invitation.response_key or secrets.token_hex(16)
        SurveyResponse.objects.filter(survey=survey, response_key=key).delete()
        rows = SurveyResponse.objects.bulk_create(
            [
                SurveyResponse(
                    tenant_id=survey.tenant_id,
                    survey=survey,
                    response_key=key,
                    rated_unit_id=a.rated_unit_id,
                    rating_unit_id=invitation.rating_unit_id,
                    ratings=dict(a.ratings),
                    points={q: points[o] for q, o in a.ratings.items()},
                    comment=a.comment,
                    answered_at=now,
                )
                for a in checked
            ]
        )
        invitation.answered_at, invitation.response_key = now, key
        invitation.save(update_fields=["answered_at", "response_key"])
        # Who answered is audited (response rates are not secret); what they answered is not.
        record_event(
            "survey.answer",
            survey,
            after={"period": survey.period, "units": len(rows), "edited": editing},
        )
    return len(rows)


# --- results ---------------------------------------------------------------------------------------------------


def _mean(values: list[Decimal]) -> Decimal | None:
    if not values:
        return None
    return (sum(values, Decimal(0)) / len(values)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


@dataclass
class UnitResult:
    """One rated unit's results. When ``hidden``, nothing but the unit and the threshold is filled in."""

    unit: OrgUnit
    hidden: bool
    respondents: int | None = None
    invited: int | None = None
    average: Decimal | None = None
    questions: list[dict[str, Any]] = field(default_factory=list)  # key, text, average, distribution
    distribution: list[dict[str, Any]] = field(default_factory=list)  # key, label, points, count
    comments: list[str] = field(default_factory=list)

    @property
    def response_rate(self) -> Decimal | None:
        if self.respondents is None or not self.invited:
            return None
        return (Decimal(100) * self.respondents / self.invited).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )

    def as_data(self) -> dict[str, Any]:
        return {
            "unit_id": self.unit.pk,
            "unit_code": self.unit.code,
            "unit_name": self.unit.name,
            "hidden": self.hidden,
            "respondents": self.respondents,
            "invited": self.invited,
            "response_rate": self.response_rate,
            "average": self.average,
            "questions": self.questions,
            "distribution": self.distribution,
            "comments": self.comments,
        }


def unit_results(survey: Survey, user: Any) -> list[UnitResult]:
    """Per rated unit: respondents, response rate, average points, the distribution of answers, the comments.
    Below the threshold a reader who does not manage surveys gets ``hidden`` results with no figures at all."""
    manager = may_manage(user)
    invited = survey.invitations.count()
    responses: dict[int, list[SurveyResponse]] = {}
    for row in survey.responses.order_by("answered_at", "id"):
        responses.setdefault(row.rated_unit_id, []).append(row)
    results = []
    for unit in survey.rated_units.order_by("path"):
        rows = responses.get(unit.pk, [])
        if len(rows) < survey.threshold and not manager:
            results.append(UnitResult(unit, hidden=True))
            continue
        counts: Counter[str] = Counter()
        every: list[Decimal] = []
        per_question = []
        for question in survey.questions:
            q_counts = Counter(r.ratings[question["key"]] for r in rows)
            counts.update(q_counts)
            q_points = [Decimal(r.points[question["key"]]) for r in rows]
            every += q_points
            per_question.append(
                {
                    "key": question["key"],
                    "text": question["text"],
                    "average": _mean(q_points),
                    "distribution": [{"key": o["key"], "count": q_counts[o["key"]]} for o in survey.scale],
                }
            )
        # Comments in a stable order that is not the order of answering (which could point at a person).
        comments = sorted(r.comment for r in rows if r.comment)
        results.append(
            UnitResult(
                unit,
                hidden=False,
                respondents=len(rows),
                invited=invited,
                average=_mean(every),
                questions=per_question,
                distribution=[
                    {"key": o["key"], "label": o["label"], "points": o["points"], "count": counts[o["key"]]}
                    for o in survey.scale
                ],
                comments=comments,
            )
        )
    return results


@dataclass(frozen=True)
class ResponseRate:
    unit: OrgUnit
    invited: int
    answered: int

    @property
    def rate(self) -> Decimal | None:
        if not self.invited:
            return None
        return (Decimal(100) * self.answered / self.invited).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def response_rates(survey: Survey) -> tuple[list[ResponseRate], ResponseRate | None]:
    """Invited and answered per rating unit, and in total (for managers: never who)."""
    per_unit: dict[int, list[int]] = {}
    for unit_id, answered in survey.invitations.values_list("rating_unit_id", "answered_at"):
        slot = per_unit.setdefault(unit_id, [0, 0])
        slot[0] += 1
        slot[1] += answered is not None
    units = {u.pk: u for u in survey.rating_units.order_by("path")}
    rows = [ResponseRate(u, *per_unit.get(pk, [0, 0])) for pk, u in units.items()]
    if not rows:
        return rows, None
    total = ResponseRate(
        units[next(iter(units))], sum(r.invited for r in rows), sum(r.answered for r in rows)
    )
    return rows, total


def my_answers(invitation: SurveyInvitation) -> dict[int, SurveyResponse]:
    """The respondent's own answers (to edit them), by rated unit."""
    if not invitation.response_key:
        return {}
    rows = SurveyResponse.objects.filter(survey_id=invitation.survey_id, response_key=invitation.response_key)
    return {r.rated_unit_id: r for r in rows}
