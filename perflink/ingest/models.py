"""Source systems, batches and the canonical record tables (see docs/data-model.md).

Every record keeps where it came from: tenant, source system, external id, batch, received time and
version. (source system, external id) is unique, so a re-sent record updates instead of duplicating.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from perflink.core.fields import EncryptedTextField
from perflink.core.models import TenantOwned
from perflink.ingest.choices import (
    BatchStatus,
    Channel,
    PaymentKind,
    PolicyStatus,
    ProductLine,
    PullPagination,
    PullStatus,
    RecordKind,
    RuleSeverity,
    Severity,
    SystemKind,
)

MONEY = {"max_digits": 16, "decimal_places": 2}


class SourceSystem(TenantOwned):
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=SystemKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="sourcesystem_unique_code")]

    def __str__(self) -> str:
        return self.name


class Batch(TenantOwned):
    """One delivery of records: a push request, a pulled page run, an imported file, a demo load."""

    source_system = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, related_name="batches")
    kind = models.CharField(_("record kind"), max_length=20, choices=RecordKind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=BatchStatus.choices, default=BatchStatus.COMMITTED
    )
    file_name = models.CharField(_("file"), max_length=255, blank=True)
    created_by_label = models.CharField(_("by"), max_length=150, blank=True)
    received_at = models.DateTimeField(_("received"))
    n_created = models.PositiveIntegerField(default=0)
    n_updated = models.PositiveIntegerField(default=0)
    n_unchanged = models.PositiveIntegerField(default=0)
    n_rejected = models.PositiveIntegerField(default=0)
    n_rows = models.PositiveIntegerField(_("rows"), default=0)
    report = models.JSONField(_("cleaning report"), default=dict, blank=True)
    quarantine_path = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=120, blank=True)
    rolled_back_at = models.DateTimeField(_("rolled back"), null=True, blank=True)
    rolled_back_by_label = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["tenant", "source_system", "kind", "received_at"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.channel} {self.file_name}".strip()


class RecordHistory(TenantOwned):
    """The values a record had before a batch changed it, so that batch can be rolled back."""

    kind = models.CharField(max_length=20, choices=RecordKind.choices)
    record_id = models.BigIntegerField()
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="+")  # the batch that replaced it
    previous_batch_id = models.BigIntegerField()
    data = models.JSONField()

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "batch"]),
            models.Index(fields=["tenant", "previous_batch_id"]),
        ]


class ImportMapping(TenantOwned):
    """A saved column mapping for files whose headers the built-in synonyms do not know."""

    name = models.CharField(_("name"), max_length=80)
    kind = models.CharField(_("record kind"), max_length=20, choices=RecordKind.choices)
    columns = models.JSONField(_("columns"), default=dict)  # header text -> canonical field
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="importmapping_unique_name")]

    def __str__(self) -> str:
        return self.name


class PlausibilityOverride(TenantOwned):
    """A tenant's choice for one plausibility rule (see `plausibility.RULES`): another severity, or off."""

    rule = models.CharField(_("rule"), max_length=80)
    severity = models.CharField(_("severity"), max_length=10, choices=RuleSeverity.choices)
    changed_by_label = models.CharField(_("changed by"), max_length=150, blank=True)
    changed_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "rule"], name="plausibilityoverride_unique_rule")
        ]

    def __str__(self) -> str:
        return f"{self.rule}: {self.severity}"


class IdempotencyRecord(TenantOwned):
    """The first answer to a push request with an Idempotency-Key, replayed for retries."""

    key = models.CharField(max_length=120)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "key"], name="idempotency_unique_key")]


class SourceRecord(TenantOwned):
    source_system = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, related_name="+")
    external_id = models.CharField(_("external id"), max_length=80)
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(_("received"))
    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        abstract = True


def _unique(name: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(
        fields=["tenant", "source_system", "external_id"], name=f"{name}_unique_ext"
    )


class PolicyRecord(SourceRecord):
    policy_no = models.CharField(_("policy number"), max_length=40)
    product_line = models.CharField(_("product line"), max_length=20, choices=ProductLine.choices)
    agent = models.ForeignKey(
        "org.Employee", on_delete=models.PROTECT, related_name="+", verbose_name=_("agent")
    )
    unit = models.ForeignKey(
        "org.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    applied_on = models.DateField(_("applied on"))
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    terminated_on = models.DateField(_("lapsed / surrendered on"), null=True, blank=True)
    first_year_premium = models.DecimalField(_("first-year premium"), **MONEY)
    annualised_premium = models.DecimalField(_("annualised premium"), **MONEY)
    status = models.CharField(_("status"), max_length=20, choices=PolicyStatus.choices)

    class Meta:
        constraints = [_unique("policy")]
        indexes = [models.Index(fields=["tenant", "issued_on"]), models.Index(fields=["tenant", "agent"])]


class ClaimRecord(SourceRecord):
    claim_no = models.CharField(_("claim number"), max_length=40)
    line = models.CharField(_("line"), max_length=20, choices=ProductLine.choices)
    handler = models.ForeignKey(
        "org.Employee", on_delete=models.PROTECT, related_name="+", verbose_name=_("handler")
    )
    unit = models.ForeignKey(
        "org.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    reported_at = models.DateTimeField(_("reported"))
    registered_at = models.DateTimeField(_("registered"), null=True, blank=True)
    assessed_at = models.DateTimeField(_("assessed"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    amount_claimed = models.DecimalField(_("amount claimed"), **MONEY)
    amount_paid = models.DecimalField(_("amount paid"), null=True, blank=True, **MONEY)
    satisfaction = models.PositiveSmallIntegerField(_("claimant satisfaction (1-5)"), null=True, blank=True)
    catastrophe_tag = models.CharField(_("catastrophe event"), max_length=40, blank=True)

    class Meta:
        constraints = [_unique("claim")]
        indexes = [models.Index(fields=["tenant", "reported_at"]), models.Index(fields=["tenant", "paid_at"])]


class RequisitionRecord(SourceRecord):
    requisition_no = models.CharField(_("requisition number"), max_length=40)
    requesting_unit = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    recruiting_unit = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    position_title = models.CharField(_("position"), max_length=80)
    positions = models.PositiveIntegerField(_("positions"))
    opened_on = models.DateField(_("opened on"))
    target_date = models.DateField(_("target date"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)

    class Meta:
        constraints = [_unique("requisition")]


class HireRecord(SourceRecord):
    """A candidate through to arrival: offer and arrival dates, the employee once on the books."""

    requisition = models.ForeignKey(
        RequisitionRecord, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    candidate_name = models.CharField(_("candidate"), max_length=60)
    channel = models.CharField(_("channel"), max_length=40)
    offer_on = models.DateField(_("offer date"), null=True, blank=True)
    arrived_on = models.DateField(_("arrival date"), null=True, blank=True)
    employee = models.ForeignKey(
        "org.Employee", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [_unique("hire")]


class TrainingRecord(SourceRecord):
    employee = models.ForeignKey("org.Employee", on_delete=models.PROTECT, related_name="+")
    course = models.CharField(_("course"), max_length=120)
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    passed = models.BooleanField(_("passed"), null=True)
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=1, null=True, blank=True)

    class Meta:
        constraints = [_unique("training")]


class ExitRecord(SourceRecord):
    employee = models.ForeignKey("org.Employee", on_delete=models.PROTECT, related_name="+")
    exit_date = models.DateField(_("exit date"))
    reason = models.CharField(_("reason"), max_length=120, blank=True)

    class Meta:
        constraints = [_unique("exit")]


class PaymentRecord(SourceRecord):
    kind = models.CharField(_("kind"), max_length=20, choices=PaymentKind.choices)
    reference = models.CharField(_("reference"), max_length=60, blank=True, db_index=True)
    payee = models.ForeignKey(
        "org.Employee", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unit = models.ForeignKey("org.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested"))
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    amount = models.DecimalField(_("amount"), **MONEY)

    class Meta:
        constraints = [_unique("payment")]
        indexes = [models.Index(fields=["tenant", "kind", "paid_at"])]


class IncidentRecord(SourceRecord):
    system = models.CharField(_("system"), max_length=80)
    severity = models.CharField(_("severity"), max_length=4, choices=Severity.choices)
    started_at = models.DateTimeField(_("started"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    affected_transactions = models.PositiveIntegerField(_("affected transactions"), default=0)
    affected_units = models.ManyToManyField("org.OrgUnit", through="IncidentUnit", related_name="+")

    class Meta:
        constraints = [_unique("incident")]


class SurveyResponseRecord(SourceRecord):
    """One answer of a support-satisfaction survey: the points one business unit gave one functional unit on one
    question. Deliberately without the respondent: survey answers are anonymous."""

    survey = models.CharField(_("survey"), max_length=40)
    question = models.CharField(_("question"), max_length=40)
    rated_unit = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    rating_unit = models.ForeignKey(
        "org.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    points = models.DecimalField(_("points"), max_digits=6, decimal_places=2, null=True, blank=True)
    period_on = models.DateField(_("rated period"))
    answered_at = models.DateTimeField(_("answered"))

    class Meta:
        constraints = [_unique("survey_response")]
        indexes = [models.Index(fields=["tenant", "period_on"])]


class DemandEvaluationRecord(SourceRecord):
    """The latest evaluation of one collaboration demand: the points its serving (functional) unit earned by the
    demand's rule, for the period the demand is evaluated in. Re-evaluation (a provisional result maturing into a
    final one) sends the same external id again, so the record is versioned, never duplicated."""

    demand = models.CharField(_("demand"), max_length=40)
    demand_kind = models.CharField(_("demand kind"), max_length=20)
    serving_unit = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    requesting_unit = models.ForeignKey(
        "org.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    points = models.DecimalField(_("points"), max_digits=8, decimal_places=2, null=True, blank=True)
    provisional = models.BooleanField(_("provisional"), default=False)
    period_on = models.DateField(_("evaluated period"))
    evaluated_at = models.DateTimeField(_("evaluated"))

    class Meta:
        constraints = [_unique("demand_evaluation")]
        indexes = [models.Index(fields=["tenant", "period_on"])]


class IncidentUnit(TenantOwned):
    incident = models.ForeignKey(IncidentRecord, on_delete=models.CASCADE)
    unit = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "unit"], name="incidentunit_unique")]


# --- Scheduled pull connectors ----------------------------------------------------------------------


class PullConnector(TenantOwned):
    """A source system's HTTP JSON endpoint that Perflink pulls records from, on a schedule or on demand.

    `cursor_value` is the highest `cursor_field` value stored so far; a run asks only for records from
    there on and moves it forward page by page, in the same transaction as the page's records."""

    name = models.CharField(_("name"), max_length=80)
    source_system = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, related_name="connectors")
    kind = models.CharField(_("record kind"), max_length=20, choices=RecordKind.choices)
    url = models.URLField(_("URL"), max_length=500)
    auth_header_name = models.CharField(_("auth header"), max_length=60, default="Authorization", blank=True)
    auth_header_value = EncryptedTextField(_("auth header value"), blank=True)
    pagination = models.CharField(
        _("pagination"), max_length=10, choices=PullPagination.choices, default=PullPagination.PAGE
    )
    page_param = models.CharField(_("page parameter"), max_length=60, default="page", blank=True)
    first_page = models.PositiveIntegerField(_("first page number"), default=1)
    size_param = models.CharField(_("page size parameter"), max_length=60, default="page_size", blank=True)
    page_size = models.PositiveIntegerField(_("page size"), default=500)
    records_path = models.CharField(_("records path"), max_length=120, blank=True)
    next_cursor_path = models.CharField(_("next-page token path"), max_length=120, blank=True)
    cursor_field = models.CharField(_("cursor field"), max_length=80, blank=True)
    cursor_param = models.CharField(_("cursor parameter"), max_length=60, blank=True)
    cursor_value = models.CharField(_("cursor"), max_length=200, blank=True)
    # The source returns records in ascending cursor order, so the cursor may move page by page.
    # When it does not, the cursor moves only when a run completes.
    cursor_sorted = models.BooleanField(_("records sorted by the cursor field"), default=True)
    field_map = models.JSONField(_("field mapping"), default=dict, blank=True)  # remote name -> field
    interval_minutes = models.PositiveIntegerField(_("interval (minutes)"), default=60)  # 0: on demand
    enabled = models.BooleanField(_("enabled"), default=True)
    max_retries = models.PositiveSmallIntegerField(_("retries"), default=3)
    backoff_seconds = models.FloatField(_("backoff (seconds)"), default=2.0)
    timeout_seconds = models.FloatField(_("timeout (seconds)"), default=30.0)
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)
    next_run_at = models.DateTimeField(_("next run"), null=True, blank=True)
    last_status = models.CharField(_("last status"), max_length=10, choices=PullStatus.choices, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)  # a run's lease, so two never overlap
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="pullconnector_unique_name")]
        indexes = [models.Index(fields=["enabled", "next_run_at"])]

    def __str__(self) -> str:
        return self.name


class PullRun(TenantOwned):
    """One run of a connector: what was fetched and stored, and where the cursor went."""

    connector = models.ForeignKey(PullConnector, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=PullStatus.choices, default=PullStatus.RUNNING
    )
    triggered_by = models.CharField(_("by"), max_length=150, blank=True)
    pages = models.PositiveIntegerField(_("pages stored"), default=0)
    requests = models.PositiveIntegerField(_("HTTP requests"), default=0)
    records = models.PositiveIntegerField(_("records"), default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    batch_ids = models.JSONField(default=list, blank=True)
    cursor_before = models.CharField(max_length=200, blank=True)
    cursor_after = models.CharField(max_length=200, blank=True)
    ignored_fields = models.JSONField(default=list, blank=True)
    errors = models.JSONField(default=list, blank=True)  # the rejected page's first errors
    notes = models.JSONField(default=list, blank=True)  # retries and warnings, in order
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["tenant", "connector", "started_at"])]

    def __str__(self) -> str:
        return f"{self.connector_id} {self.started_at:%Y-%m-%d %H:%M} {self.status}"
