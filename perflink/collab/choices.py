from django.db import models
from django.utils.translation import pgettext_lazy


class DemandKind(models.TextChoices):
    RECRUITMENT = "recruitment", pgettext_lazy("demand kind", "Recruitment")
    TRAINING = "training", pgettext_lazy("demand kind", "Training")
    PAYMENT = "payment", pgettext_lazy("demand kind", "Payment acceleration")
    IT_SUPPORT = "it_support", pgettext_lazy("demand kind", "IT support")
    OTHER = "other", pgettext_lazy("demand kind", "Other")


class DemandStatus(models.TextChoices):
    SUBMITTED = "submitted", pgettext_lazy("demand status", "Submitted")
    ACCEPTED = "accepted", pgettext_lazy("demand status", "Accepted")
    DECLINED = "declined", pgettext_lazy("demand status", "Declined")
    IN_PROGRESS = "in_progress", pgettext_lazy("demand status", "In progress")
    DELIVERED = "delivered", pgettext_lazy("demand status", "Delivered")
    EVALUATED = "evaluated", pgettext_lazy("demand status", "Evaluated")
    WITHDRAWN = "withdrawn", pgettext_lazy("demand status", "Withdrawn")


# submitted → accepted (with a plan) | declined (with a reason); accepted → in progress → delivered → evaluated;
# the requester may withdraw while the work has not been delivered. Declined, withdrawn and evaluated are final
# (an evaluated demand is only re-evaluated, which records a new evaluation, while its figures are provisional).
DEMAND_TRANSITIONS: dict[str, frozenset[str]] = {
    DemandStatus.SUBMITTED: frozenset({DemandStatus.ACCEPTED, DemandStatus.DECLINED, DemandStatus.WITHDRAWN}),
    DemandStatus.ACCEPTED: frozenset({DemandStatus.IN_PROGRESS, DemandStatus.WITHDRAWN}),
    DemandStatus.IN_PROGRESS: frozenset({DemandStatus.DELIVERED, DemandStatus.WITHDRAWN}),
    DemandStatus.DELIVERED: frozenset({DemandStatus.EVALUATED}),
    DemandStatus.EVALUATED: frozenset(),
    DemandStatus.DECLINED: frozenset(),
    DemandStatus.WITHDRAWN: frozenset(),
}

# States in which the work is still open: change requests are accepted, SLA clocks run.
OPEN_STATUSES = frozenset({DemandStatus.SUBMITTED, DemandStatus.ACCEPTED, DemandStatus.IN_PROGRESS})


class EventKind(models.TextChoices):
    RAISED = "raised", pgettext_lazy("demand event", "Raised")
    ACCEPTED = "accepted", pgettext_lazy("demand event", "Accepted")
    DECLINED = "declined", pgettext_lazy("demand event", "Declined")
    STARTED = "started", pgettext_lazy("demand event", "Started")
    DELIVERED = "delivered", pgettext_lazy("demand event", "Delivered")
    WITHDRAWN = "withdrawn", pgettext_lazy("demand event", "Withdrawn")
    COMMENT = "comment", pgettext_lazy("demand event", "Comment")
    CHANGE_REQUEST = "change_request", pgettext_lazy("demand event", "Change request")
    EVALUATION = "evaluation", pgettext_lazy("demand event", "Evaluation")


class Side(models.TextChoices):
    """On whose behalf an event was written."""

    REQUESTER = "requester", pgettext_lazy("demand side", "Requesting unit")
    SERVER = "server", pgettext_lazy("demand side", "Serving unit")
    ADMIN = "admin", pgettext_lazy("demand side", "Performance administration")
    SYSTEM = "system", pgettext_lazy("demand side", "System")


class EvaluationState(models.TextChoices):
    NONE = "", pgettext_lazy("demand evaluation", "Not evaluated")
    PROVISIONAL = "provisional", pgettext_lazy("demand evaluation", "Provisional")
    FINAL = "final", pgettext_lazy("demand evaluation", "Final")
