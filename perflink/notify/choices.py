from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    """What a notification is about; the channels added later (mail, WeCom/DingTalk robots, webhooks) route by it."""

    TEMPLATE_VERSION = "template.version", _("New template version")
