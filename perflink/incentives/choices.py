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


# draft → submitted → approved → published; a submitted or approved run may be sent back to draft.
BONUS_TRANSITIONS: dict[str, frozenset[str]] = {
    BonusRunStatus.DRAFT: frozenset({BonusRunStatus.SUBMITTED}),
    BonusRunStatus.SUBMITTED: frozenset({BonusRunStatus.APPROVED, BonusRunStatus.DRAFT}),
    BonusRunStatus.APPROVED: frozenset({BonusRunStatus.PUBLISHED, BonusRunStatus.DRAFT}),
    BonusRunStatus.PUBLISHED: frozenset(),
}
