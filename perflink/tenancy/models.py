"""A tenant is one insurer (or insurance group) using the platform."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from perflink.core.models import TimeStamped

MODULES = ("ingest", "metrics", "linkage", "incentives", "collab", "analytics", "selfservice")


def default_modules() -> list[str]:
    return list(MODULES)


class Tenant(TimeStamped):
    slug = models.SlugField(_("slug"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    is_active = models.BooleanField(_("active"), default=True)
    modules = models.JSONField(_("modules"), default=default_modules)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("tenant")

    def __str__(self) -> str:
        return self.name
