"""Metric definitions, seasons, templates, targets, the working-day calendar and calculation runs.

Definitions and rules are stored as JSON data (parsed and checked by the engine when saved). A run stores
its inputs and results as Arrow IPC blocks (``CalcRunData``), so it can be reproduced, compared and drilled
into exactly as it was computed.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from perflink.core.models import TenantOwned, TimeStamped
from perflink.metrics.choices import (
    CalendarDayKind,
    Domain,
    RunStatus,
    RunTrigger,
    SubjectLevel,
    TargetSource,
)
from perflink.org.choices import Category, EmploymentType


class MetricDefinition(TenantOwned, TimeStamped):
    """A metric as data: a base definition over one record kind, or a formula over other metrics."""

    code = models.SlugField(_("code"), max_length=60)
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=160, blank=True)
    description = models.TextField(_("definition"), blank=True)
    description_en = models.TextField(_("English definition"), blank=True)
    domain = models.CharField(_("domain"), max_length=20, choices=Domain.choices)
    definition = models.JSONField(_("definition (data)"))
    from_library = models.BooleanField(_("from the product library"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        ordering = ["domain", "code"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="metric_unique_code")]
        verbose_name = _("metric")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def unit(self) -> str:
        return str(self.definition.get("unit", ""))

    @property
    def direction(self) -> str:
        return str(self.definition.get("direction", "higher"))

    @property
    def is_derived(self) -> bool:
        return "formula" in self.definition


class Season(TenantOwned):
    """A named date range of a year (开门红 Jan–Mar, 汛期 Jun–Sep), editable per year."""

    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=60)
    name_en = models.CharField(_("English name"), max_length=80, blank=True)
    year = models.PositiveSmallIntegerField(_("year"))
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on (inclusive)"))

    class Meta:
        ordering = ["year", "starts_on"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code", "year"], name="season_unique_year")]
        verbose_name = _("season")

    def __str__(self) -> str:
        return f"{self.name} {self.year}"


class Template(TenantOwned, TimeStamped):
    """A weighted set of metrics for a kind of unit or employee; its content lives in versions."""

    code = models.SlugField(_("code"), max_length=60)
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=160, blank=True)
    level = models.CharField(_("scored subjects"), max_length=10, choices=SubjectLevel.choices)
    category = models.CharField(_("unit category"), max_length=20, choices=Category.choices)
    employment_type = models.CharField(
        _("employment type"), max_length=10, choices=EmploymentType.choices, blank=True
    )
    from_library = models.BooleanField(_("from the product library"), default=False)

    class Meta:
        ordering = ["level", "category", "code"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="template_unique_code")]
        verbose_name = _("template")

    def __str__(self) -> str:
        return self.name


class TemplateVersion(TenantOwned):
    """One version of a template: its items, and when it is in force (a season, a date range, or always).

    Which version applies to a period is decided in ``selectors.version_in_force`` (documented there).
    """

    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    season_code = models.SlugField(_("season"), max_length=40, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid until (exclusive)"), null=True, blank=True)
    items = models.JSONField(_("items"))  # [{metric, weight, rule, target, scope}]
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["template_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "template", "number"], name="template_version_unique")
        ]
        verbose_name = _("template version")

    def __str__(self) -> str:
        return f"{self.template} v{self.number}"


class Target(TenantOwned):
    """A subject's target for a metric in a period; without one the template's default applies."""

    period = models.CharField(_("period"), max_length=10)
    metric = models.ForeignKey(MetricDefinition, on_delete=models.CASCADE, related_name="targets")
    unit = models.ForeignKey("org.OrgUnit", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    employee = models.ForeignKey(
        "org.Employee", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    value = models.DecimalField(_("target"), max_digits=18, decimal_places=4)
    source = models.CharField(_("source"), max_length=10, choices=TargetSource.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["period", "metric_id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(unit__isnull=True) ^ models.Q(employee__isnull=True),
                name="target_one_subject",
            ),
            models.UniqueConstraint(fields=["tenant", "period", "metric", "unit"], name="target_unique_unit"),
            models.UniqueConstraint(
                fields=["tenant", "period", "metric", "employee"], name="target_unique_employee"
            ),
        ]
        verbose_name = _("target")


class CalendarDay(TenantOwned):
    """A tenant's change to the working-day calendar: a day off (休) or a make-up working day (班)."""

    day = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=4, choices=CalendarDayKind.choices)
    note = models.CharField(_("note"), max_length=120, blank=True)

    class Meta:
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["tenant", "day"], name="calendar_day_unique")]
        verbose_name = _("calendar day")


class CalendarYear(TenantOwned):
    """A year whose holidays the tenant has entered (e.g. from the State Council notice)."""

    year = models.PositiveSmallIntegerField(_("year"))
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        ordering = ["year"]
        constraints = [models.UniqueConstraint(fields=["tenant", "year"], name="calendar_year_unique")]


class CalcRun(TenantOwned):
    """One calculation of a period. Runs are never edited; a recalculation is a new run."""

    period = models.CharField(_("period"), max_length=10, db_index=True)
    number = models.PositiveIntegerField(_("run"))
    status = models.CharField(_("status"), max_length=10, choices=RunStatus.choices)
    trigger = models.CharField(_("trigger"), max_length=10, choices=RunTrigger.choices)
    previous = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    fingerprint = models.CharField(_("fingerprint"), max_length=64)
    input_fingerprint = models.CharField(max_length=64)
    rules = models.JSONField(_("definitions used"))  # metrics, templates (version per template), as of
    summary = models.JSONField(default=dict)  # counts, timings, missing calendar years, changes vs previous
    error = models.TextField(blank=True)
    created_by_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    as_of = models.DateField(_("data as of"))
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    published_by_label = models.CharField(max_length=150, blank=True)
    stale_since = models.DateTimeField(_("newer data since"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "period", "number"], name="calc_run_unique")]
        verbose_name = _("calculation run")

    def __str__(self) -> str:
        return f"{self.period} #{self.number}"


class CalcRunData(TenantOwned):
    """A run's frames as Arrow IPC (zstd): ``inputs.<kind>``, ``values``, ``results``, ``totals``."""

    run = models.ForeignKey(CalcRun, on_delete=models.CASCADE, related_name="data")
    name = models.CharField(max_length=60)
    rows = models.PositiveIntegerField(default=0)
    data = models.BinaryField(blank=True)
    # An incremental run shares the input frames that did not change with the run it started from.
    shared = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="calc_run_data_unique")]
