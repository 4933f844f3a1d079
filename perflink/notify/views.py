"""The inbox page: a user's notifications, newest first, with "mark read" for one or all of them.

One view serves the page, its htmx partial (paging) and the POST that marks notifications read."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from perflink.core.context import current_actor
from perflink.core.htmx import ago, render_page
from perflink.notify import selectors
from perflink.notify.actions import do_mark_read
from perflink.notify.choices import Kind
from perflink.web.decorators import page

NOTIFICATIONS_PER_PAGE = 25
KIND_ICONS = {Kind.TEMPLATE_VERSION: "gauge"}


def _posted_ids(request: HttpRequest) -> list[int] | None:
    """``all=1`` means every unread notification (None); otherwise the ``id`` values that are numbers."""
    if request.POST.get("all") == "1":
        return None
    return [int(v) for v in request.POST.getlist("id") if v.isdigit()]


@page("home.view")
@require_http_methods(["GET", "HEAD", "POST"])
def inbox(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        ids = _posted_ids(request)
        marked = do_mark_read(request.user, ids, actor=current_actor())
        if ids is None and marked:
            messages.success(request, _("All notifications are marked as read."))
        target = reverse("notify:inbox")
        back = request.POST.get("page", "")
        return redirect(f"{target}?page={back}" if back.isdigit() and back != "1" else target)
    notifications = selectors.inbox(request.user)
    page_obj = Paginator(notifications, NOTIFICATIONS_PER_PAGE).get_page(request.GET.get("page"))
    for note in page_obj:
        note.ago = ago(note.created_at)
        note.icon = KIND_ICONS.get(note.kind, "bell")
    # The unread count comes from the context processor that feeds the header bell: one query for both.
    return render_page(
        request, "notify/inbox.html", "notify/partials/inbox_list.html", {"page_obj": page_obj}
    )
