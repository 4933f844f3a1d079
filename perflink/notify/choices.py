from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Kind(models.TextChoices):
    """What a notification is about; the channels route by it (a channel subscribes to some of these)."""

    TEMPLATE_VERSION = "template.version", _("New template version")
    DEMAND_RAISED = "demand.raised", _("Demand raised")
    DEMAND_ACCEPTED = "demand.accepted", _("Demand accepted")
    DEMAND_DECLINED = "demand.declined", _("Demand declined")
    DEMAND_STARTED = "demand.started", _("Demand started")
    DEMAND_CHANGED = "demand.changed", _("Change requested on a demand")
    DEMAND_COMMENTED = "demand.commented", _("Comment on a demand")
    DEMAND_DELIVERED = "demand.delivered", _("Demand delivered")
    DEMAND_WITHDRAWN = "demand.withdrawn", _("Demand withdrawn")
    DEMAND_EVALUATED = "demand.evaluated", _("Demand evaluated")
    SURVEY_INVITED = "survey.invited", _("Survey invitation")
    SURVEY_REMINDED = "survey.reminded", _("Survey reminder")
    RESULTS_PUBLISHED = "results.published", _("Results published")
    BONUS_PUBLISHED = "bonus.published", _("Bonus run published")
    REPORT_WEEKLY = "report.weekly", _("Weekly coordination report")


# The test message a manager sends from the channel page; no channel subscribes to it.
TEST_EVENT = "notify.test"


class ChannelKind(models.TextChoices):
    EMAIL = "email", _("E-mail list")
    WECOM = "wecom", _("WeCom group robot")
    DINGTALK = "dingtalk", _("DingTalk group robot")
    WEBHOOK = "webhook", _("Outgoing webhook")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("delivery status", "Pending")
    RETRYING = "retrying", pgettext_lazy("delivery status", "Retrying")
    SUCCEEDED = "succeeded", pgettext_lazy("delivery status", "Delivered")
    FAILED = "failed", pgettext_lazy("delivery status", "Failed")
