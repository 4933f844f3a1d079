"""Links (联动关系): a functional unit's metric tied to the business outcome it serves in a business unit.

Anyone allowed may propose a link; only the business unit's side confirms or rejects it (never the functional
unit itself), and only confirmed links count. Every change is a new version kept in ``LinkVersion``.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from perflink.core.models import TenantOwned, TimeStamped
from perflink.incentives.choices import (
    BonusRunKind,
    BonusRunStatus,
    LinkStatus,
    PayoutKind,
    PayoutStatus,
)


class Link(TenantOwned, TimeStamped):
    functional_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("functional unit"), on_delete=models.PROTECT, related_name="+"
    )
    functional_metric = models.ForeignKey(
        "metrics.MetricDefinition",
        verbose_name=_("functional metric"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    business_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("business unit"), on_delete=models.PROTECT, related_name="+"
    )
    business_metric = models.ForeignKey(
        "metrics.MetricDefinition",
        verbose_name=_("business outcome"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    rationale = models.TextField(_("why they are linked"))
    status = models.CharField(
        _("status"), max_length=12, choices=LinkStatus.choices, default=LinkStatus.PROPOSED
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    proposed_by_label = models.CharField(_("proposed by"), max_length=150)
    decided_by_label = models.CharField(_("decided by"), max_length=150, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=300, blank=True)

    class Meta:
        ordering = ["functional_unit_id", "business_unit_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "functional_unit", "functional_metric", "business_unit", "business_metric"],
                name="link_unique_pair",
            )
        ]
        verbose_name = _("link")

    def __str__(self) -> str:
        return f"{self.functional_metric_id}@{self.functional_unit_id} → {self.business_metric_id}@{self.business_unit_id}"


class LinkVersion(TenantOwned):
    """One state of a link: what it said, who moved it there and when (append-only)."""

    link = models.ForeignKey(Link, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=LinkStatus.choices)
    rationale = models.TextField()
    note = models.CharField(max_length=300, blank=True)
    by_label = models.CharField(max_length=150)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["link_id", "number", "id"]


class IncentivePlan(TenantOwned, TimeStamped):
    """An incentive plan (激励方案) for a population; what it pays lives in effective-dated versions."""

    code = models.SlugField(_("code"), max_length=60)
    name = models.CharField(_("name"), max_length=120)
    # The population: the employees of a unit (and below it), or of a unit category, of an employment type.
    unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    category = models.CharField(_("unit category"), max_length=20, blank=True)
    employment_type = models.CharField(_("employment type"), max_length=10, blank=True)

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="plan_unique_code")]
        verbose_name = _("incentive plan")

    def __str__(self) -> str:
        return self.name


class PlanVersion(TenantOwned):
    """One version of a plan, in force from ``valid_from`` (versions are never edited; a change is a new one)."""

    plan = models.ForeignKey(IncentivePlan, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    valid_from = models.DateField(_("valid from"))
    definition = models.JSONField(_("plan (data)"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plan_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "plan", "number"], name="plan_version_unique")
        ]
        verbose_name = _("plan version")


class BonusRun(TenantOwned):
    """A plan's bonus for a period, built on that period's calculation run alone (what it stored: values, links,
    targets, definitions), so the same calculation always pays the same. Frames are stored as Arrow IPC like
    calculation runs; what each person is paid is also stored as rows (:class:`BonusPayout`).

    One regular run per plan and period may be submitted, approved or published; once one is published, later
    changes are correction runs (``kind=correction``, ``corrects`` the published run) that post only the
    differences as adjustment entries."""

    plan = models.ForeignKey(IncentivePlan, on_delete=models.PROTECT, related_name="runs")
    plan_version = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, related_name="runs")
    period = models.CharField(_("period"), max_length=10, db_index=True)
    calc_run = models.ForeignKey("metrics.CalcRun", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(
        _("kind"), max_length=12, choices=BonusRunKind.choices, default=BonusRunKind.REGULAR
    )
    corrects = models.ForeignKey(
        "self",
        verbose_name=_("corrects"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    # A correction run: the sum of its differences (what it adds to, or takes from, the published run).
    difference = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=BonusRunStatus.choices, default=BonusRunStatus.DRAFT
    )
    status_note = models.CharField(max_length=300, blank=True)
    submitted_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_by_label = models.CharField(max_length=150, blank=True)
    approved_by_label = models.CharField(max_length=150, blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    fingerprint = models.CharField(max_length=64)
    total = models.DecimalField(_("total"), max_digits=18, decimal_places=2)
    total_before_pool = models.DecimalField(max_digits=18, decimal_places=2)
    people = models.PositiveIntegerField(default=0)
    amounts = models.BinaryField()
    lines = models.BinaryField()
    inputs = models.BinaryField()
    created_by_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("bonus run")
        constraints = [
            # The database itself refuses a second payable regular run for one plan and period.
            models.UniqueConstraint(
                fields=["tenant", "plan", "period"],
                condition=models.Q(
                    kind=BonusRunKind.REGULAR,
                    status__in=[BonusRunStatus.SUBMITTED, BonusRunStatus.APPROVED, BonusRunStatus.PUBLISHED],
                ),
                name="bonus_one_payable_run",
            )
        ]

    @property
    def is_correction(self) -> bool:
        return self.kind == BonusRunKind.CORRECTION


class BonusAdjustment(TenantOwned):
    """A correction to a published bonus run: never an edit, always an entry with its reason (audited)."""

    run = models.ForeignKey(BonusRun, on_delete=models.PROTECT, related_name="adjustments")
    employee = models.ForeignKey("org.Employee", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=300)
    by_label = models.CharField(max_length=150)
    at = models.DateTimeField(auto_now_add=True)
    # Posted by a published correction run (its payout rows carry the detail), or entered by hand when null.
    correction = models.ForeignKey(
        BonusRun, null=True, blank=True, on_delete=models.PROTECT, related_name="posted_adjustments"
    )

    class Meta:
        ordering = ["run_id", "id"]
        verbose_name = _("bonus adjustment")


class BonusPayout(TenantOwned):
    """One line of what a person is paid, as a plain row for payroll, BI tools and auditors to query in SQL.

    A run writes, per person, a row per component and a row for each step from the components' subtotal to the
    amount (multipliers, floor and cap, pool) where it changes the amount, so a person's rows add up to the
    statement's amount to the fen. A correction run's rows are the differences against what the published run
    and earlier corrections paid; an adjustment entered by hand is a row of the run it adjusts. What was paid
    for a plan and period: the rows of its published runs."""

    run = models.ForeignKey(BonusRun, on_delete=models.CASCADE, related_name="payouts")
    period = models.CharField(_("period"), max_length=10)
    employee = models.ForeignKey(
        "org.Employee", verbose_name=_("employee"), on_delete=models.PROTECT, related_name="+"
    )
    unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=12, choices=PayoutKind.choices)
    component = models.CharField(_("component"), max_length=60)
    label = models.CharField(_("label"), max_length=120)
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    status = models.CharField(_("status"), max_length=12, choices=PayoutStatus.choices)
    adjustment = models.ForeignKey(
        BonusAdjustment, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        ordering = ["run_id", "employee_id", "id"]
        indexes = [
            models.Index(fields=["tenant", "period", "employee"]),
            models.Index(fields=["run", "employee"]),
        ]
        verbose_name = _("payout line")


class PlanBase(TenantOwned, TimeStamped):
    """One person's bonus base (人员基数) under a plan whose base is ``per_person``, in force from ``valid_from``
    until the person's next base; imported from a file or the API (``do_import_plan_bases``), never keyed in a
    bonus run. A run reads the base in force at its period's start."""

    plan = models.ForeignKey(IncentivePlan, on_delete=models.CASCADE, related_name="bases")
    employee = models.ForeignKey(
        "org.Employee", verbose_name=_("employee"), on_delete=models.PROTECT, related_name="+"
    )
    amount = models.DecimalField(_("base"), max_digits=18, decimal_places=2)
    valid_from = models.DateField(_("valid from"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by_label = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["plan_id", "employee_id", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "plan", "employee", "valid_from"], name="plan_base_unique"
            )
        ]
        verbose_name = _("bonus base")
