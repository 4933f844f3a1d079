from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    TENANT_ADMIN = "tenant_admin", _("Tenant administrator")
    PERFORMANCE_ADMIN = "performance_admin", _("Performance administrator")
    UNIT_HEAD = "unit_head", _("Unit head")
    EMPLOYEE = "employee", _("Employee")
    AUDITOR = "auditor", _("Auditor")
    INTEGRATION = "integration", _("Integration client")
