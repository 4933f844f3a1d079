from django.db import models
from django.utils.translation import gettext_lazy as _


class SystemKind(models.TextChoices):
    POLICY = "policy", _("Policy administration system")
    CLAIMS = "claims", _("Claims system")
    HR = "hr", _("HR system")
    FINANCE = "finance", _("Finance system")
    ITOPS = "itops", _("IT operations")
    SURVEY = "survey", _("Surveys")
    COLLAB = "collab", _("Collaboration")


class RecordKind(models.TextChoices):
    POLICY = "policy", _("Policy")
    CLAIM = "claim", _("Claim")
    REQUISITION = "requisition", _("Requisition")
    HIRE = "hire", _("Candidate / hire")
    TRAINING = "training", _("Training")
    EXIT = "exit", _("Exit")
    PAYMENT = "payment", _("Finance payment")
    INCIDENT = "incident", _("IT incident")
    SURVEY_RESPONSE = "survey_response", _("Survey response")
    DEMAND_EVALUATION = "demand_evaluation", _("Demand evaluation")
    UNIT = "unit", _("Org unit")
    EMPLOYEE = "employee", _("Employee")


class Channel(models.TextChoices):
    PUSH = "push", _("REST push")
    PULL = "pull", _("Scheduled pull")
    FILE = "file", _("File import")
    DEMO = "demo", _("Demo generator")


class BatchStatus(models.TextChoices):
    COMMITTED = "committed", _("Committed")
    ROLLED_BACK = "rolled_back", _("Rolled back")


class ProductLine(models.TextChoices):
    LIFE = "life", _("Life")
    HEALTH = "health", _("Health")
    AUTO = "auto", _("Motor (P&C)")
    PROPERTY = "property", _("Property (P&C)")
    LIABILITY = "liability", _("Liability (P&C)")


class PolicyStatus(models.TextChoices):
    IN_FORCE = "in_force", _("In force")
    LAPSED = "lapsed", _("Lapsed")
    SURRENDERED = "surrendered", _("Surrendered")
    CANCELLED = "cancelled", _("Cancelled")


class PaymentKind(models.TextChoices):
    CLAIM_PAYMENT = "claim_payment", _("Claim payment")
    REIMBURSEMENT = "reimbursement", _("Reimbursement")
    COMMISSION = "commission", _("Commission")


class Severity(models.TextChoices):
    P1 = "P1", _("P1 critical")
    P2 = "P2", _("P2 major")
    P3 = "P3", _("P3 minor")
    P4 = "P4", _("P4 low")


class PullPagination(models.TextChoices):
    PAGE = "page", _("Page number")
    OFFSET = "offset", _("Offset and limit")
    CURSOR = "cursor", _("Next-page token")
    NONE = "none", _("Single request")


class PullStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    PARTIAL = "partial", _("Partly stored")
    FAILED = "failed", _("Failed")


class RuleSeverity(models.TextChoices):
    """What a plausibility rule does with a row it flags (a tenant may change it or switch the rule off)."""

    ERROR = "error", _("Error: the row is rejected")
    WARNING = "warning", _("Warning: the row is kept and listed")
    OFF = "off", _("Off")
