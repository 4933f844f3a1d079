"""The inbox page, and for tenant administrators (``notify.manage``) the channel pages.

- ``/inbox/``: a user's notifications, newest first, with "mark read" for one or all of them.
- ``/inbox/channels/``: the channels (e-mail lists, WeCom/DingTalk robots, webhooks), a form to add or change one,
  and buttons to send a test message or delete one. Targets and secrets are never shown back.
- ``/inbox/deliveries/``: the delivery log, filtered by channel and status, paged; a failed delivery can be tried
  again.

Each view serves its page, its htmx partial and the POSTs of its buttons; the writes are actions.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from perflink.core.context import current_actor
from perflink.core.errors import NotFound, ValidationFailed
from perflink.core.htmx import ago, render_page
from perflink.notify import selectors
from perflink.notify.actions import (
    do_create_channel,
    do_delete_channel,
    do_mark_read,
    do_retry_delivery,
    do_send_test_message,
    do_update_channel,
)
from perflink.notify.channels import event_label
from perflink.notify.choices import ChannelKind, DeliveryStatus, Kind
from perflink.notify.deliveries import MAX_ATTEMPTS
from perflink.notify.forms import ChannelForm, DeliveryFilterForm
from perflink.notify.models import Channel, Delivery
from perflink.web.decorators import page

NOTIFICATIONS_PER_PAGE = 25
DELIVERIES_PER_PAGE = 50
KIND_ICONS = {
    Kind.TEMPLATE_VERSION: "gauge",
    Kind.RESULTS_PUBLISHED: "chart",
    Kind.BONUS_PUBLISHED: "coins",
    Kind.SURVEY_INVITED: "check-circle",
    Kind.SURVEY_REMINDED: "clock",
}
CHANNEL_ICONS = {
    ChannelKind.EMAIL: "book",
    ChannelKind.WECOM: "team",
    ChannelKind.DINGTALK: "team",
    ChannelKind.WEBHOOK: "link",
}
STATUS_BADGES = {
    DeliveryStatus.PENDING: "badge-gray",
    DeliveryStatus.RETRYING: "badge-amber",
    DeliveryStatus.SUCCEEDED: "badge-green",
    DeliveryStatus.FAILED: "badge-red",
}


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
        note.icon = KIND_ICONS.get(note.kind, "handshake" if note.kind.startswith("demand.") else "bell")
    # The unread count comes from the context processor that feeds the header bell: one query for both.
    return render_page(
        request, "notify/inbox.html", "notify/partials/inbox_list.html", {"page_obj": page_obj}
    )


# --- channels -------------------------------------------------------------------------------------------------------


def _channel_form(channel: Channel | None) -> ChannelForm:
    if channel is None:
        return ChannelForm(initial={"kind": ChannelKind.WECOM, "events": Kind.values, "enabled": True})
    return ChannelForm(
        initial={
            "kind": channel.kind,
            "name": channel.name,
            "events": channel.events,
            "enabled": channel.enabled,
        }
    )


def _channels_page(
    request: HttpRequest, form: ChannelForm, editing: Channel | None, status: int = 200
) -> HttpResponse:
    rows = list(selectors.channels())
    for row in rows:
        row.icon = CHANNEL_ICONS.get(row.kind, "bell")
        row.event_labels = [event_label(e) for e in row.events]
        row.all_events = set(row.events) >= set(Kind.values)
    return render_page(
        request,
        "notify/channels.html",
        "notify/partials/channel_form.html",
        {
            "channels": rows,
            "form": form,
            "editing": editing,
            "kinds": ChannelKind.choices,
            "events": Kind.choices,
            "picked_events": form["events"].value() or [],
        },
        status=status,
    )


@page("notify.manage")
@require_http_methods(["GET", "HEAD", "POST"])
def channels(request: HttpRequest) -> HttpResponse:
    """The channel list with the add/change form; ``?edit=<id>`` loads a channel into the form."""
    if request.method == "POST":
        return _channel_post(request)
    editing = selectors.get_channel(request.GET["edit"]) if request.GET.get("edit") else None
    return _channels_page(request, _channel_form(editing), editing)


def _channel_post(request: HttpRequest) -> HttpResponse:
    op = request.POST.get("op", "save")
    actor = current_actor()
    back = reverse("notify:channels")
    if op == "save":
        editing = selectors.get_channel(request.POST["channel"]) if request.POST.get("channel") else None
        form = ChannelForm(request.POST)
        if not form.is_valid():
            return _channels_page(request, form, editing, status=400)
        data = form.cleaned_data
        try:
            if editing is None:
                if not data["target"]:
                    raise ValidationFailed(_("Give the addresses or the URL."), field="target")
                channel = do_create_channel(
                    kind=data["kind"],
                    name=data["name"],
                    target=data["target"],
                    secret=data["secret"],
                    events=data["events"],
                    enabled=data["enabled"],
                    actor=actor,
                )
                messages.success(request, _("Channel “%(name)s” added.") % {"name": channel.name})
            else:
                channel = do_update_channel(
                    editing,
                    name=data["name"],
                    target=data["target"],
                    secret=data["secret"],
                    clear_secret=data["clear_secret"],
                    events=data["events"],
                    enabled=data["enabled"],
                    actor=actor,
                )
                messages.success(request, _("Channel “%(name)s” saved.") % {"name": channel.name})
        except ValidationFailed as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return _channels_page(request, form, editing, status=400)
        return redirect(back)
    channel = selectors.get_channel(request.POST.get("channel"))
    if op == "test":
        queued = do_send_test_message(channel, actor=actor)
        # Attempted inline after the commit (unless a worker takes it): say how it went.
        sent = Delivery.objects.get(pk=queued.pk)
        if sent.status == DeliveryStatus.SUCCEEDED:
            messages.success(request, _("Test message sent to “%(name)s”.") % {"name": channel.name})
        elif sent.status == DeliveryStatus.PENDING:
            messages.info(request, _("Test message queued for “%(name)s”.") % {"name": channel.name})
        else:
            messages.error(
                request,
                _("The test message to “%(name)s” failed: %(error)s")
                % {"name": channel.name, "error": sent.error or sent.status},
            )
        return redirect(f"{reverse('notify:deliveries')}?{urlencode({'channel': channel.pk})}")
    if op == "delete":
        name = channel.name
        do_delete_channel(channel, actor=actor)
        messages.success(request, _("Channel “%(name)s” deleted.") % {"name": name})
        return redirect(back)
    raise NotFound("unknown operation")


# --- delivery log ---------------------------------------------------------------------------------------------------


@page("notify.manage")
@require_http_methods(["GET", "HEAD", "POST"])
def deliveries(request: HttpRequest) -> HttpResponse:
    """The delivery log, newest first, filtered by channel and status; POST ``retry`` tries a failed one again."""
    if request.method == "POST":
        posted = request.POST.get("delivery", "")
        row = selectors.delivery_log().filter(pk=posted).first() if posted.isdigit() else None
        if row is None:
            raise NotFound("delivery not found")
        try:
            do_retry_delivery(row, actor=current_actor())
        except ValidationFailed as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The delivery was tried again."))
        back = request.POST.get("back", "")
        return redirect(reverse("notify:deliveries") + (back if back.startswith("?") else ""))
    form = DeliveryFilterForm(request.GET)
    filters: dict[str, Any] = {}
    channel = None
    if form.is_valid():
        if form.cleaned_data["channel"]:
            channel = selectors.get_channel(form.cleaned_data["channel"])
        filters = {"channel": channel, "status": form.cleaned_data["status"]}
    page_obj = Paginator(selectors.delivery_log(**filters), DELIVERIES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    for row in page_obj:
        row.badge = STATUS_BADGES.get(row.status, "badge-gray")
        row.event_text = event_label(row.event.event)
        row.channel_icon = "user" if row.recipient_id else CHANNEL_ICONS.get(row.kind, "bell")
    query = {k: v for k, v in request.GET.items() if k in ("channel", "status") and v}
    return render_page(
        request,
        "notify/deliveries.html",
        "notify/partials/delivery_table.html",
        {
            "page_obj": page_obj,
            "form": form,
            "channel": channel,
            "channels": list(selectors.channels()),
            "statuses": DeliveryStatus.choices,
            "max_attempts": MAX_ATTEMPTS,
            "querystring": urlencode(query),
        },
    )
