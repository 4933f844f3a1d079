"""Links (联动关系): a functional unit's metric tied to the business outcome it serves in a business unit.

Anyone allowed may propose a link; only the business unit's side confirms or rejects it (never the functional
unit itself), and only confirmed links count. Every change is a new version kept in ``LinkVersion``.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from perflink.core.models import TenantOwned, TimeStamped
from perflink.incentives.choices import LinkStatus


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
