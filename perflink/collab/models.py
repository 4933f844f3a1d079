"""Demands (协同需求): a quantified request from a business unit to a functional unit, tracked to evaluation.

A demand carries its kind's quantified fields (``spec``, checked per kind in :mod:`perflink.collab.specs`) and
the rule it is evaluated by (``rule``: per component a scoring rule of the metrics engine). Its state moves only
along ``DEMAND_TRANSITIONS``; every move, comment, change request and evaluation is a ``DemandEvent`` row that is
never edited.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from perflink.collab.choices import DemandKind, DemandStatus, EvaluationState, EventKind, Side
from perflink.core.models import TenantOwned, TimeStamped


class Demand(TenantOwned, TimeStamped):
    number = models.CharField(_("number"), max_length=20)  # XQ-202603-0001: per tenant, by submission month
    kind = models.CharField(_("kind of demand"), max_length=20, choices=DemandKind.choices)
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    requesting_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("requesting unit"), on_delete=models.PROTECT, related_name="+"
    )
    serving_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("serving unit"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=12, choices=DemandStatus.choices, default=DemandStatus.SUBMITTED
    )
    spec = models.JSONField(_("quantified request"), default=dict)
    rule = models.JSONField(_("evaluation rule"), default=dict)
    plan = models.TextField(_("plan"), blank=True)
    decline_reason = models.CharField(_("reason declined"), max_length=300, blank=True)
    withdraw_reason = models.CharField(_("reason withdrawn"), max_length=300, blank=True)
    period = models.CharField(_("evaluated in"), max_length=7)  # YYYY-MM
    # SLA clocks in Chinese working days (see perflink.collab.sla); estimated when a year has no calendar yet.
    acceptance_due_on = models.DateField(_("acceptance due"), null=True, blank=True)
    delivery_due_on = models.DateField(_("delivery due"), null=True, blank=True)
    due_dates_estimated = models.BooleanField(default=False)
    submitted_at = models.DateTimeField(_("submitted"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    declined_at = models.DateTimeField(_("declined"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    evaluated_at = models.DateTimeField(_("evaluated"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    # The latest evaluation (each one is also kept as a DemandEvent with its figures).
    points = models.DecimalField(_("points"), max_digits=12, decimal_places=2, null=True, blank=True)
    evaluation_state = models.CharField(
        _("evaluation"),
        max_length=12,
        choices=EvaluationState.choices,
        default=EvaluationState.NONE,
        blank=True,
    )
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_label = models.CharField(_("raised by"), max_length=150)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "number"], name="demand_unique_number")]
        indexes = [
            models.Index(fields=["tenant", "status"]),
            models.Index(fields=["tenant", "period"]),
        ]
        verbose_name = _("demand")

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class DemandEvent(TenantOwned):
    """One entry of a demand's log (append-only): a state change, a comment, a change request or an evaluation,
    with who wrote it, on which side, and when. Evaluations keep their figures and points in ``data``."""

    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    from_status = models.CharField(max_length=12, choices=DemandStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=DemandStatus.choices, blank=True)
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    side = models.CharField(max_length=10, choices=Side.choices)
    by_label = models.CharField(max_length=150)
    at = models.DateTimeField()

    class Meta:
        ordering = ["demand_id", "at", "id"]
        indexes = [models.Index(fields=["tenant", "demand", "at"])]


# --- support-satisfaction surveys (满意度调研) ----------------------------------------------------------------


class SurveyStatus(models.TextChoices):
    SCHEDULED = "scheduled", pgettext_lazy("survey status", "Scheduled")
    OPEN = "open", pgettext_lazy("survey status", "Open")
    CLOSED = "closed", pgettext_lazy("survey status", "Closed")


class SurveyRecurrence(models.TextChoices):
    NONE = "", pgettext_lazy("survey recurrence", "Once")
    MONTHLY = "monthly", pgettext_lazy("survey recurrence", "Monthly")


class Survey(TenantOwned, TimeStamped):
    """Business units rate the support of functional units for one period.

    ``scale`` is the answer scale with its points (``[{"key", "label", "points"}]``, points as text for exact
    decimals), ``questions`` the single-choice questions asked of every rated unit (``[{"key", "text"}]``);
    each rated unit also gets one free-text comment. Results are shown to anyone but the survey's managers only
    once a rated unit has ``threshold`` respondents."""

    title = models.CharField(_("title"), max_length=120)
    period = models.CharField(_("period"), max_length=7)  # YYYY-MM: the month whose support is rated
    status = models.CharField(
        _("status"), max_length=10, choices=SurveyStatus.choices, default=SurveyStatus.SCHEDULED
    )
    recurrence = models.CharField(
        _("recurrence"), max_length=10, choices=SurveyRecurrence.choices, default="", blank=True
    )
    opens_on = models.DateField(_("opens on"))
    closes_on = models.DateField(_("closes on"))
    threshold = models.PositiveSmallIntegerField(_("anonymity threshold"), default=3)
    scale = models.JSONField(_("answer scale"), default=list)
    questions = models.JSONField(_("questions"), default=list)
    respondent_roles = models.JSONField(_("respondents"), default=list)  # "unit_head", "employee"
    rated_units = models.ManyToManyField("org.OrgUnit", related_name="+", verbose_name=_("rated units"))
    rating_units = models.ManyToManyField("org.OrgUnit", related_name="+", verbose_name=_("rating units"))
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="next_survey"
    )
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    created_by_label = models.CharField(_("scheduled by"), max_length=150)

    class Meta:
        ordering = ["-period", "-id"]
        indexes = [models.Index(fields=["tenant", "status"]), models.Index(fields=["tenant", "period"])]
        verbose_name = _("survey")

    def __str__(self) -> str:
        return f"{self.period} {self.title}"


class SurveyInvitation(TenantOwned):
    """One respondent invited to a survey, answering for ``rating_unit``. It records *that* they answered (for
    response rates and reminders), never *what*: the answers carry only a random ``response_key``."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    rating_unit = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    invited_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    reminders = models.PositiveSmallIntegerField(default=0)
    response_key = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["survey", "user"], name="surveyinvitation_unique_user")
        ]
        indexes = [models.Index(fields=["tenant", "user"])]


class SurveyResponse(TenantOwned):
    """One respondent's rating of one functional unit: an option per question and a comment. No user: the
    ``response_key`` ties the rows of one submission together so it can be edited until the survey closes."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    response_key = models.CharField(max_length=32)
    rated_unit = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    rating_unit = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    ratings = models.JSONField(default=dict)  # question key -> option key
    points = models.JSONField(default=dict)  # question key -> points (text), fixed when answered
    comment = models.TextField(blank=True)
    answered_at = models.DateTimeField()

    class Meta:
        ordering = ["survey_id", "rated_unit_id", "answered_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "response_key", "rated_unit"], name="surveyresponse_unique_unit"
            )
        ]


# --- weekly coordination reports (协同周报) ---------------------------------------------------------------------


class WeeklyReport(TenantOwned):
    """The stored report of one ISO week (Monday ``week_start``) for a functional unit, or for the whole company
    when ``unit`` is empty: the JSON of :func:`perflink.collab.weekly.weekly_report` as generated. Generating the
    week again replaces it."""

    week_start = models.DateField(_("week"))
    unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    data = models.JSONField(default=dict)
    generated_at = models.DateTimeField(_("generated"))
    generated_by_label = models.CharField(_("generated by"), max_length=150, blank=True)

    class Meta:
        ordering = ["-week_start", "unit_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "week_start", "unit"],
                condition=models.Q(unit__isnull=False),
                name="weeklyreport_unique_unit_week",
            ),
            models.UniqueConstraint(
                fields=["tenant", "week_start"],
                condition=models.Q(unit__isnull=True),
                name="weeklyreport_unique_company_week",
            ),
        ]
        verbose_name = _("weekly coordination report")

    def __str__(self) -> str:
        return f"{self.week_start.isoformat()} {self.unit.name if self.unit else '*'}"


class WeeklyReportSubscription(TenantOwned):
    """A user who receives a unit's weekly report (the company's when ``unit`` is empty) in their inbox."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey("org.OrgUnit", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "user", "unit"],
                condition=models.Q(unit__isnull=False),
                name="weeklysubscription_unique_unit",
            ),
            models.UniqueConstraint(
                fields=["tenant", "user"],
                condition=models.Q(unit__isnull=True),
                name="weeklysubscription_unique_company",
            ),
        ]
