"""Support-satisfaction survey pages: the list (and one's invitations), scheduling one, a survey's results with
its response rates and the open / remind / close buttons, and the answering page (made for a phone).

Results below the anonymity threshold are hidden by :func:`perflink.collab.surveys.unit_results` itself, so the
page cannot show more than the API does."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_http_methods

from perflink.accounts.access import ACTIONS, can
from perflink.collab.models import SurveyRecurrence, SurveyStatus
from perflink.collab.surveys import (
    DEFAULT_THRESHOLD,
    UnitAnswer,
    default_questions,
    default_scale,
    do_answer_survey,
    do_close_survey,
    do_open_survey,
    do_remind_survey,
    do_schedule_survey,
    get_invitation,
    get_survey,
    my_answers,
    my_invitations,
    response_rates,
    unit_results,
    visible_surveys,
)
from perflink.core.context import current_actor
from perflink.core.errors import Conflict, ValidationFailed
from perflink.core.htmx import render_page
from perflink.org.choices import UnitType
from perflink.org.models import OrgUnit
from perflink.web.decorators import page

STATUS_BADGES = {
    SurveyStatus.SCHEDULED: "badge-gray",
    SurveyStatus.OPEN: "badge-green",
    SurveyStatus.CLOSED: "badge-blue",
}
ROLE_CHOICES = [
    ("unit_head", gettext_lazy("Unit heads")),
    ("employee", gettext_lazy("Employees")),
]


def _unit_choices(*unit_types: str) -> list[tuple[int, str]]:
    """Open units of those types; a name found more than once (every branch has its HR) gets its parent's."""
    units = list(
        OrgUnit.objects.filter(unit_type__in=unit_types, closed_on__isnull=True)
        .select_related("parent")
        .order_by("path")
    )
    names = Counter(u.name for u in units)
    return [
        (u.pk, f"{u.parent.name} · {u.name}" if names[u.name] > 1 and u.parent else u.name) for u in units
    ]


class ScheduleSurveyForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=120)
    period = forms.CharField(label=gettext_lazy("Period rated"), max_length=7)
    rated_units = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Functional units rated"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    rating_units = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Units invited to rate"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    respondent_roles = forms.MultipleChoiceField(
        label=gettext_lazy("Who answers"), choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple
    )
    questions = forms.CharField(
        label=gettext_lazy("Questions, one per line"), widget=forms.Textarea(attrs={"rows": 4})
    )
    scale = forms.CharField(
        label=gettext_lazy("Answer scale: one option per line, label = points"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    threshold = forms.IntegerField(label=gettext_lazy("Anonymity threshold"), min_value=1, max_value=50)
    opens_on = forms.DateField(
        label=gettext_lazy("Opens on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    closes_on = forms.DateField(
        label=gettext_lazy("Closes on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    recurrence = forms.ChoiceField(
        label=gettext_lazy("Repeat"), choices=SurveyRecurrence.choices, required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rated_units"].choices = _unit_choices(UnitType.FUNCTIONAL)
        self.fields["rating_units"].choices = _unit_choices(UnitType.BUSINESS, UnitType.FUNCTIONAL)

    def clean_scale(self) -> list[dict[str, str]]:
        options = []
        for line in self.cleaned_data["scale"].splitlines():
            if not line.strip():
                continue
            label, sep, points = line.rpartition("=")
            if not sep:
                raise forms.ValidationError(gettext("Write each option as label = points, e.g. 满意 = 10."))
            options.append({"label": label.strip(), "points": points.strip()})
        return options


def _initial() -> dict[str, Any]:
    today = timezone.localdate()
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    return {
        "title": gettext("Support satisfaction %(period)s") % {"period": last_month},
        "period": last_month,
        "respondent_roles": ["unit_head"],
        "questions": "\n".join(default_questions()),
        "scale": "\n".join(f"{o['label']} = {o['points']}" for o in default_scale()),
        "threshold": DEFAULT_THRESHOLD,
        "opens_on": today,
        "closes_on": today + dt.timedelta(days=7),
    }


@page("surveys.view")
@require_http_methods(["GET", "HEAD"])
def survey_list(request: HttpRequest) -> HttpResponse:
    """The surveys one may see, and those one is invited to answer."""
    surveys = visible_surveys(request.user).prefetch_related("rated_units")
    rows = []
    for survey in surveys[:200]:
        invited = survey.invitations.count()
        answered = survey.invitations.exclude(answered_at=None).count()
        rows.append(
            {
                "survey": survey,
                "badge": STATUS_BADGES[survey.status],
                "invited": invited,
                "answered": answered,
            }
        )
    ctx = {
        "rows": rows,
        "may_manage": can(request.user, "surveys.manage"),
        "invitations": list(my_invitations(request.user)) if can(request.user, "surveys.answer") else [],
    }
    return render_page(request, "collab/surveys.html", "collab/partials/survey_rows.html", ctx)


@page("surveys.answer")
@require_http_methods(["GET", "HEAD"])
def survey_inbox(request: HttpRequest) -> HttpResponse:
    """An answerer's own invitations (employees see only this)."""
    return render(request, "collab/survey_inbox.html", {"invitations": list(my_invitations(request.user))})


@page("surveys.manage")
@require_http_methods(["GET", "HEAD", "POST"])
def survey_new(request: HttpRequest) -> HttpResponse:
    form = ScheduleSurveyForm(request.POST or None, initial=_initial())
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            units = OrgUnit.objects.in_bulk([*data["rated_units"], *data["rating_units"]])
            try:
                survey = do_schedule_survey(
                    title=data["title"],
                    period=data["period"],
                    rated_units=[units[i] for i in data["rated_units"]],
                    rating_units=[units[i] for i in data["rating_units"]],
                    opens_on=data["opens_on"],
                    closes_on=data["closes_on"],
                    questions=data["questions"].splitlines(),
                    scale=data["scale"],
                    respondent_roles=data["respondent_roles"],
                    threshold=data["threshold"],
                    recurrence=data["recurrence"] or "",
                    actor=current_actor(),
                )
            except ValidationFailed as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, gettext("Survey scheduled."))
                return redirect("collab:survey", survey_id=survey.pk)
        status = 400
    return render(request, "collab/survey_form.html", {"form": form}, status=status)


STEPS = {"open": do_open_survey, "remind": do_remind_survey, "close": do_close_survey}


def _chart(survey: Any, result: Any) -> str:
    option = {
        "perflink": {"format": "number"},
        "legend": {"show": False},
        "grid": {"left": 8, "right": 16, "top": 8, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "value", "minInterval": 1},
        "yAxis": {"type": "category", "inverse": True, "data": [d["label"] for d in result.distribution]},
        "series": [
            {
                "type": "bar",
                "name": gettext("Answers"),
                "data": [d["count"] for d in result.distribution],
                "barMaxWidth": 28,
            }
        ],
    }
    return json.dumps(option, ensure_ascii=False)


@page("surveys.view")
@require_http_methods(["GET", "HEAD", "POST"])
def survey_detail(request: HttpRequest, survey_id: int) -> HttpResponse:
    """A survey's results per rated unit; managers also see response rates and the open / remind / close
    buttons (a POST with ``step``)."""
    survey = get_survey(request.user, survey_id)
    may_manage = can(request.user, "surveys.manage")
    if request.method == "POST":
        if not may_manage:
            return render(request, "web/403.html", {"action": ACTIONS["surveys.manage"]}, status=403)
        step = request.POST.get("step", "")
        if step not in STEPS:
            messages.error(request, gettext("Choose what to do with the survey."))
            return redirect("collab:survey", survey_id=survey.pk)
        try:
            outcome = STEPS[step](survey, actor=current_actor())
        except Conflict as exc:
            messages.error(request, exc.message)
        else:
            if step == "open":
                messages.success(request, gettext("Survey opened: %(n)d invited.") % {"n": outcome})
            elif step == "remind":
                messages.success(
                    request, gettext("Reminder sent to %(n)d who have not answered.") % {"n": outcome}
                )
            else:
                messages.success(request, gettext("Survey closed."))
        return redirect("collab:survey", survey_id=survey.pk)
    results = unit_results(survey, request.user)
    rates, total = response_rates(survey) if may_manage else ([], None)
    invitation = None
    if can(request.user, "surveys.answer"):
        invitation = survey.invitations.filter(user_id=request.user.pk).first()
    ctx = {
        "survey": survey,
        "badge": STATUS_BADGES[survey.status],
        "results": [{"r": r, "chart": "" if r.hidden else _chart(survey, r)} for r in results],
        "may_manage": may_manage,
        "rates": rates,
        "total": total,
        "invitation": invitation,
        "scale": survey.scale,
        "top_points": max((Decimal(o["points"]) for o in survey.scale), default=Decimal(10)),
    }
    return render_page(request, "collab/survey_detail.html", "collab/partials/survey_results.html", ctx)


@page("surveys.answer")
@require_http_methods(["GET", "HEAD", "POST"])
def survey_answer(request: HttpRequest, survey_id: int) -> HttpResponse:
    """One card per rated unit: an option per question, a comment; sent once, editable until the survey closes."""
    invitation = get_invitation(request.user, survey_id)
    survey = invitation.survey
    units = list(survey.rated_units.order_by("path"))
    error, status, error_unit = "", 200, ""
    if request.method == "POST" and survey.status == SurveyStatus.OPEN:
        answers = [
            UnitAnswer(
                u.pk,
                {q["key"]: request.POST.get(f"u{u.pk}-{q['key']}", "") for q in survey.questions},
                request.POST.get(f"u{u.pk}-comment", ""),
            )
            for u in units
        ]
        try:
            do_answer_survey(survey, user=request.user, answers=answers, actor=current_actor())
        except (ValidationFailed, Conflict) as exc:
            error, status, error_unit = exc.message, 400, exc.field or ""
        else:
            return redirect(f"{request.path}?thanks=1")
    mine = my_answers(invitation)
    cards = []
    for unit in units:
        answer = mine.get(unit.pk)
        posted = request.method == "POST"
        cards.append(
            {
                "unit": unit,
                "error": error_unit == f"units.{unit.pk}",
                "questions": [
                    {
                        **q,
                        "name": f"u{unit.pk}-{q['key']}",
                        "chosen": request.POST.get(f"u{unit.pk}-{q['key']}", "")
                        if posted
                        else (answer.ratings.get(q["key"], "") if answer else ""),
                    }
                    for q in survey.questions
                ],
                "comment": request.POST.get(f"u{unit.pk}-comment", "")
                if posted
                else (answer.comment if answer else ""),
            }
        )
    ctx = {
        "survey": survey,
        "invitation": invitation,
        "cards": cards,
        "scale": survey.scale,
        "error": error,
        "thanks": request.GET.get("thanks") == "1" and invitation.answered_at is not None,
        "closed": survey.status != SurveyStatus.OPEN,
    }
    return render(request, "collab/survey_answer.html", ctx, status=status)


urlpatterns: list[URLPattern] = [
    path("", survey_list, name="surveys"),
    path("mine/", survey_inbox, name="survey_inbox"),
    path("new/", survey_new, name="survey_new"),
    path("<int:survey_id>/", survey_detail, name="survey"),
    path("<int:survey_id>/answer/", survey_answer, name="survey_answer"),
]
