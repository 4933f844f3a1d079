"""Demands (协同需求): a quantified request from a business unit to a functional unit, tracked to evaluation.

A demand carries its kind's quantified fields (``spec``, checked per kind in :mod:`perflink.collab.specs`) and
the rule it is evaluated by (``rule``: per component a scoring rule of the metrics engine). Its state moves only
along ``DEMAND_TRANSITIONS``; every move, comment, change request and evaluation is a ``DemandEvent`` row that is
never edited.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

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
