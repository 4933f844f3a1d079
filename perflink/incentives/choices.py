from django.db import models
from django.utils.translation import pgettext_lazy


class LinkStatus(models.TextChoices):
    PROPOSED = "proposed", pgettext_lazy("link status", "Proposed")
    CONFIRMED = "confirmed", pgettext_lazy("link status", "Confirmed")
    REJECTED = "rejected", pgettext_lazy("link status", "Rejected")
    WITHDRAWN = "withdrawn", pgettext_lazy("link status", "Withdrawn")


# Allowed transitions: a decision is final for that version; a rejected or withdrawn link can be proposed again
# (a new version), a confirmed one can be withdrawn by the business side or re-proposed with a new rationale.
LINK_TRANSITIONS: dict[str, frozenset[str]] = {
    LinkStatus.PROPOSED: frozenset({LinkStatus.CONFIRMED, LinkStatus.REJECTED, LinkStatus.WITHDRAWN}),
    LinkStatus.CONFIRMED: frozenset({LinkStatus.WITHDRAWN, LinkStatus.PROPOSED}),
    LinkStatus.REJECTED: frozenset({LinkStatus.PROPOSED}),
    LinkStatus.WITHDRAWN: frozenset({LinkStatus.PROPOSED}),
}


class BonusRunStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("bonus run status", "Draft")
    SUBMITTED = "submitted", pgettext_lazy("bonus run status", "Submitted")
    APPROVED = "approved", pgettext_lazy("bonus run status", "Approved")
    PUBLISHED = "published", pgettext_lazy("bonus run status", "Published")
    DISCARDED = "discarded", pgettext_lazy("bonus run status", "Discarded")


# draft → submitted → approved → published; a submitted or approved run may be sent back to draft; a draft may be
# discarded (kept, with its reason, but never payable).
BONUS_TRANSITIONS: dict[str, frozenset[str]] = {
    BonusRunStatus.DRAFT: frozenset({BonusRunStatus.SUBMITTED, BonusRunStatus.DISCARDED}),
    BonusRunStatus.SUBMITTED: frozenset({BonusRunStatus.APPROVED, BonusRunStatus.DRAFT}),
    BonusRunStatus.APPROVED: frozenset({BonusRunStatus.PUBLISHED, BonusRunStatus.DRAFT}),
    BonusRunStatus.PUBLISHED: frozenset(),
    BonusRunStatus.DISCARDED: frozenset(),
}
# The states in which a run is on its way to being paid, or paid: one regular run per plan and period at most.
PAYABLE_STATES: frozenset[str] = frozenset(
    {BonusRunStatus.SUBMITTED, BonusRunStatus.APPROVED, BonusRunStatus.PUBLISHED}
)


class BonusRunKind(models.TextChoices):
    REGULAR = "regular", pgettext_lazy("bonus run kind", "Regular")
    CORRECTION = "correction", pgettext_lazy("bonus run kind", "Correction")


class PayoutKind(models.TextChoices):
    """What a payout row is: a component's amount, or the step from the components' subtotal to the amount paid."""

    COMPONENT = "component", pgettext_lazy("payout kind", "Component")
    MULTIPLIERS = "multipliers", pgettext_lazy("payout kind", "Multipliers")
    LIMITS = "limits", pgettext_lazy("payout kind", "Floor and cap")
    POOL = "pool", pgettext_lazy("payout kind", "Pool")
    ADJUSTMENT = "adjustment", pgettext_lazy("payout kind", "Adjustment")


class PayoutStatus(models.TextChoices):
    FINAL = "final", pgettext_lazy("payout status", "Final")
    PROVISIONAL = "provisional", pgettext_lazy("payout status", "Provisional")
