"""Channels: e-mail lists, WeCom and DingTalk group robots and signed webhooks, the delivery queue with its retries
and log, and the pages that manage them. Nothing here reaches the network: receivers are a local HTTP server on
127.0.0.1 or a replaced transport."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from perflink.accounts.choices import Role
from perflink.audit.models import AuditEvent
from perflink.core.context import SYSTEM, tenant_context
from perflink.notify import channels
from perflink.notify.actions import (
    do_create_channel,
    do_notify,
    do_publish_event,
    do_retry_delivery,
    do_update_channel,
)
from perflink.notify.channels import HttpAnswer
from perflink.notify.choices import ChannelKind, DeliveryStatus
from perflink.notify.deliveries import BACKOFF, MAX_ATTEMPTS, deliver_due
from perflink.notify.models import Channel, Delivery, Notification
from tests.factories import World

Captured = Callable[..., Any]
SECRET = "whsec-test-0123456789"
DING_SECRET = "SEC0123456789abcdef"


# --- a receiver on 127.0.0.1 ----------------------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def query(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each POST with the next of `statuses` (the last one repeats) and the given JSON body."""

    url: str
    statuses: list[int]
    reply: dict[str, Any] = field(default_factory=lambda: {"errcode": 0, "errmsg": "ok"})
    requests: list[Received] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="", statuses=[200])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(Received(self.path, dict(self.headers.items()), body))
            status = state.statuses[min(len(state.requests), len(state.statuses)) - 1]
            payload = json.dumps(state.reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bytes, dict[str, str]]]:
    """A transport that records each call and answers 500: nothing leaves the process."""
    calls: list[tuple[str, bytes, dict[str, str]]] = []

    def fake(url: str, body: bytes, headers: dict[str, str], timeout: float) -> HttpAnswer:
        calls.append((url, body, headers))
        return HttpAnswer(500, b"receiver down")

    monkeypatch.setattr(channels, "transport", fake)
    return calls


def channel(
    kind: str, target: str, secret: str = "", events: tuple[str, ...] = ("demand.raised",)
) -> Channel:
    return do_create_channel(
        kind=kind, name=f"{kind} channel", target=target, secret=secret, events=events, actor=SYSTEM
    )


def publish(captured: Captured, **extra: Any) -> None:
    with captured(execute=True):
        do_publish_event(
            "demand.raised",
            title="销售部提出招聘需求",
            body="20 名代理人，10 个工作日到岗",
            url="/collab/demands/1/",
            data={"demand": 1},
            actor=SYSTEM,
            **extra,
        )


def only_delivery() -> Delivery:
    return Delivery.objects.get()


# --- signatures and formats ------------------------------------------------------------------------------------------


def test_a_webhook_is_signed_with_hmac_sha256_of_timestamp_dot_body(
    in_world: World, receiver: Receiver, django_capture_on_commit_callbacks: Captured
) -> None:
    channel(ChannelKind.WEBHOOK, receiver.url, SECRET)
    publish(django_capture_on_commit_callbacks)

    [got] = receiver.requests
    timestamp = got.headers["X-Perflink-Timestamp"]
    expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Perflink-Signature"] == f"sha256={expected}"
    envelope = got.json()
    assert set(envelope) == {"id", "event", "tenant", "created_at", "data"}
    assert envelope["event"] == "demand.raised" and envelope["tenant"] == in_world.tenant.slug
    assert envelope["data"]["demand"] == 1 and envelope["data"]["title"] == "销售部提出招聘需求"
    assert got.headers["X-Perflink-Delivery"] == envelope["id"]
    assert got.headers["X-Perflink-Event"] == "demand.raised"
    delivery = only_delivery()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.SUCCEEDED, 1, 200)
    assert str(delivery.event.uid) == envelope["id"]


def test_a_tampered_body_does_not_verify(
    in_world: World, receiver: Receiver, django_capture_on_commit_callbacks: Captured
) -> None:
    channel(ChannelKind.WEBHOOK, receiver.url, SECRET)
    publish(django_capture_on_commit_callbacks)
    [got] = receiver.requests
    ts = got.headers["X-Perflink-Timestamp"].encode()
    forged = hmac.new(SECRET.encode(), ts + b"." + got.body.replace(b"20", b"21"), hashlib.sha256).hexdigest()
    assert got.headers["X-Perflink-Signature"] != f"sha256={forged}"


def test_dingtalk_signs_timestamp_newline_secret_as_its_documentation_says(
    in_world: World, receiver: Receiver, django_capture_on_commit_callbacks: Captured
) -> None:
    channel(ChannelKind.DINGTALK, receiver.url + "?access_token=tok123", DING_SECRET)
    publish(django_capture_on_commit_callbacks)

    [got] = receiver.requests
    query = got.query
    assert query["access_token"] == "tok123"
    # DingTalk's own sample: hmac(secret, f"{timestamp}\n{secret}", sha256) -> base64 -> quote_plus.
    string_to_sign = f"{query['timestamp']}\n{DING_SECRET}".encode()
    digest = hmac.new(DING_SECRET.encode("utf-8"), string_to_sign, digestmod=hashlib.sha256).digest()
    raw_query = urllib.parse.urlsplit(got.path).query
    assert f"sign={urllib.parse.quote_plus(base64.b64encode(digest))}" in raw_query
    assert query["sign"] == base64.b64encode(digest).decode()
    assert abs(int(query["timestamp"]) - int(timezone.now().timestamp() * 1000)) < 60_000
    payload = got.json()
    assert payload["msgtype"] == "markdown"
    assert set(payload["markdown"]) == {"title", "text"}
    assert payload["markdown"]["title"] == "销售部提出招聘需求"
    assert "20 名代理人" in payload["markdown"]["text"]
    assert only_delivery().status == DeliveryStatus.SUCCEEDED


def test_dingtalk_without_a_secret_posts_to_the_url_as_given(in_world: World) -> None:
    assert channels.dingtalk_url("https://oapi.dingtalk.com/robot/send?access_token=x", "", 1) == (
        "https://oapi.dingtalk.com/robot/send?access_token=x"
    )


def test_wecom_gets_a_markdown_message_and_its_errcode_is_read(
    in_world: World, receiver: Receiver, django_capture_on_commit_callbacks: Captured
) -> None:
    channel(ChannelKind.WECOM, receiver.url + "?key=abc")
    publish(django_capture_on_commit_callbacks)
    [got] = receiver.requests
    payload = got.json()
    assert payload["msgtype"] == "markdown" and set(payload["markdown"]) == {"content"}
    assert "销售部提出招聘需求" in payload["markdown"]["content"]
    assert only_delivery().status == DeliveryStatus.SUCCEEDED

    # A robot that answers 200 with a non-zero errcode refused the message: failed, and not retried.
    receiver.reply = {"errcode": 93000, "errmsg": "invalid webhook url"}
    publish(django_capture_on_commit_callbacks)
    refused = Delivery.objects.order_by("-pk").first()
    assert refused is not None
    assert (refused.status, refused.response_code) == (DeliveryStatus.FAILED, 200)
    assert "93000" in refused.error


def test_a_long_wecom_message_is_cut_to_its_4096_byte_limit(in_world: World) -> None:
    do_create_channel(kind="wecom", name="w", target="https://example.cn/x", events=[], actor=SYSTEM)
    from perflink.notify.actions import _event

    with transaction.atomic():
        event = _event("demand.raised", "t", "长" * 3000, "", {})
    content = channels.wecom_payload(event)["markdown"]["content"]
    assert len(content.encode()) <= channels.WECOM_MAX_BYTES


# --- the queue: retries, backoff, the log ---------------------------------------------------------------------------


def test_a_500_is_retried_and_the_next_200_delivers(
    in_world: World, receiver: Receiver, django_capture_on_commit_callbacks: Captured
) -> None:
    receiver.statuses = [500, 200]
    channel(ChannelKind.WEBHOOK, receiver.url, SECRET)
    publish(django_capture_on_commit_callbacks)

    first = only_delivery()
    assert (first.status, first.attempts, first.response_code) == (DeliveryStatus.RETRYING, 1, 500)
    assert first.next_attempt_at == first.last_attempt_at + timedelta(seconds=BACKOFF[0])
    assert deliver_due() == []  # not due yet

    done = deliver_due(now=first.next_attempt_at + timedelta(seconds=1))
    assert [d.pk for d in done] == [first.pk]
    first.refresh_from_db()
    assert (first.status, first.attempts, first.response_code, first.error) == (
        DeliveryStatus.SUCCEEDED,
        2,
        200,
        "",
    )
    ids = {r.headers["X-Perflink-Delivery"] for r in receiver.requests}
    assert len(receiver.requests) == 2 and len(ids) == 1  # the same event id on the retry: idempotent


def test_the_backoff_is_1_5_30_120_minutes_then_failed(
    in_world: World, offline: list[Any], django_capture_on_commit_callbacks: Captured
) -> None:
    channel(ChannelKind.WEBHOOK, "https://oa.example.cn/hook", SECRET)
    publish(django_capture_on_commit_callbacks)
    waits = []
    for _ in range(MAX_ATTEMPTS - 1):
        row = only_delivery()
        assert row.status == DeliveryStatus.RETRYING
        waits.append((row.next_attempt_at - row.last_attempt_at).total_seconds())
        deliver_due(now=row.next_attempt_at + timedelta(seconds=1))
    assert waits == [60, 300, 1800, 7200]
    final = only_delivery()
    assert (final.status, final.attempts, final.next_attempt_at) == (
        DeliveryStatus.FAILED,
        MAX_ATTEMPTS,
        None,
    )
    assert final.response_code == 500 and "receiver down" in final.error
    assert len(offline) == MAX_ATTEMPTS
    assert deliver_due(now=timezone.now() + timedelta(days=1)) == []  # a failed delivery is left alone

    do_retry_delivery(final, actor=SYSTEM)
    final.refresh_from_db()
    assert (final.status, final.attempts) == (DeliveryStatus.PENDING, 0)


def test_a_refusal_4xx_is_not_retried(
    in_world: World, receiver: Receiver, django_capture_on_commit_callbacks: Captured
) -> None:
    receiver.statuses = [401]
    channel(ChannelKind.WEBHOOK, receiver.url, SECRET)
    publish(django_capture_on_commit_callbacks)
    row = only_delivery()
    assert (row.status, row.attempts, row.response_code) == (DeliveryStatus.FAILED, 1, 401)


def test_an_unreachable_receiver_is_retried(
    in_world: World, django_capture_on_commit_callbacks: Captured
) -> None:
    with socket_closed_port() as url:
        channel(ChannelKind.WEBHOOK, url, SECRET)
        publish(django_capture_on_commit_callbacks)
    row = only_delivery()
    assert (row.status, row.response_code) == (DeliveryStatus.RETRYING, None)
    assert row.error


def socket_closed_port() -> Any:
    import contextlib
    import socket

    @contextlib.contextmanager
    def closed() -> Iterator[str]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        yield f"http://127.0.0.1:{port}/hook"

    return closed()


def test_nothing_is_sent_from_a_rolled_back_transaction(
    in_world: World, receiver: Receiver, django_capture_on_commit_callbacks: Captured
) -> None:
    channel(ChannelKind.WEBHOOK, receiver.url, SECRET)

    def failing_change() -> None:
        with transaction.atomic():
            do_publish_event("demand.raised", title="回滚", users=[in_world.users["unit_head"]], actor=SYSTEM)
            raise RuntimeError("the change failed")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        failing_change()
    assert callbacks == []
    assert receiver.requests == []
    assert not Delivery.objects.exists() and not Notification.objects.exists()


def test_only_subscribed_enabled_channels_get_the_event(
    in_world: World, offline: list[Any], django_capture_on_commit_callbacks: Captured
) -> None:
    channel(ChannelKind.WEBHOOK, "https://a.example.cn/hook", SECRET, events=("survey.invited",))
    off = channel(ChannelKind.WECOM, "https://b.example.cn/hook")
    do_update_channel(off, name=off.name, events=["demand.raised"], enabled=False, actor=SYSTEM)
    publish(django_capture_on_commit_callbacks)
    assert offline == [] and not Delivery.objects.exists()


def test_publish_tells_the_users_and_the_heads_of_the_units_in_the_inbox(
    in_world: World, offline: list[Any], django_capture_on_commit_callbacks: Captured
) -> None:
    admin, head = in_world.users["tenant_admin"], in_world.users["unit_head"]
    publish(django_capture_on_commit_callbacks, users=[admin], units=[in_world.sales_team])
    assert set(Notification.objects.values_list("recipient", flat=True)) == {admin.pk, head.pk}
    assert set(Notification.objects.values_list("kind", flat=True)) == {"demand.raised"}
    with pytest.raises(ValueError, match="unknown event"):
        do_publish_event("demand.exploded", title="x", actor=SYSTEM)


def test_the_deliver_command_attempts_what_is_due(
    world: World, offline: list[Any], django_capture_on_commit_callbacks: Captured
) -> None:
    with tenant_context(world.tenant, SYSTEM):
        channel(ChannelKind.WEBHOOK, "https://oa.example.cn/hook", SECRET)
        publish(django_capture_on_commit_callbacks)
        row = only_delivery()
        Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    call_command("notify", "deliver")
    with tenant_context(world.tenant):
        assert only_delivery().attempts == 2


# --- e-mail ---------------------------------------------------------------------------------------------------------


def test_an_email_channel_sends_through_djangos_mail_backend(
    in_world: World, django_capture_on_commit_callbacks: Captured
) -> None:
    channel(ChannelKind.EMAIL, "hr-team@example.cn, boss@example.cn")
    publish(django_capture_on_commit_callbacks)
    [message] = mail.outbox
    assert sorted(message.to) == ["boss@example.cn", "hr-team@example.cn"]
    assert "销售部提出招聘需求" in message.subject
    assert only_delivery().status == DeliveryStatus.SUCCEEDED


def test_an_inbox_item_is_emailed_to_a_recipient_with_an_address(
    in_world: World, django_capture_on_commit_callbacks: Captured
) -> None:
    head, admin = in_world.users["unit_head"], in_world.users["tenant_admin"]
    type(head).objects.filter(pk=head.pk).update(email="head@example.cn")
    head.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        do_notify([head, admin], kind="template.version", title="新版本", body="正文", actor=SYSTEM)
    [message] = mail.outbox  # the admin has no address
    assert message.to == ["head@example.cn"] and "新版本" in message.subject
    row = only_delivery()
    assert (row.recipient_id, row.status, row.target_label) == (
        head.pk,
        DeliveryStatus.SUCCEEDED,
        "h***@example.cn",
    )


# --- secrets --------------------------------------------------------------------------------------------------------


def test_targets_and_secrets_are_encrypted_at_rest_and_not_audited(in_world: World) -> None:
    made = channel(
        ChannelKind.DINGTALK, "https://oapi.dingtalk.com/robot/send?access_token=tok-SECRET", DING_SECRET
    )
    with connection.cursor() as cur:
        cur.execute("SELECT target, secret, target_hint FROM notify_channel WHERE id = %s", [made.pk])
        target, secret, hint = cur.fetchone()
    assert "tok-SECRET" not in target and DING_SECRET not in secret
    assert hint == "https://oapi.dingtalk.com/…"
    audit = AuditEvent.objects.get(action="notify.channel.create")
    assert "tok-SECRET" not in json.dumps(audit.after) and DING_SECRET not in json.dumps(audit.after)


def test_a_webhook_needs_a_secret(in_world: World) -> None:
    from perflink.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        do_create_channel(kind="webhook", name="n", target="https://x.example.cn/", actor=SYSTEM)
    assert caught.value.field == "secret"
    with pytest.raises(ValidationFailed) as caught:
        do_create_channel(kind="wecom", name="n", target="file:///etc/passwd", actor=SYSTEM)
    assert caught.value.field == "target"


# --- pages ----------------------------------------------------------------------------------------------------------


def logged_in(world: World, role: str) -> Client:
    client = Client()
    with tenant_context(world.tenant):
        client.force_login(world.users[role])
    return client


@pytest.mark.parametrize("role", [Role.PERFORMANCE_ADMIN, Role.UNIT_HEAD, Role.EMPLOYEE, Role.AUDITOR])
def test_only_notify_managers_see_the_channel_pages(world: World, role: str) -> None:
    client = logged_in(world, role)
    for name in ("notify:channels", "notify:deliveries"):
        assert client.get(reverse(name)).status_code == 403
        assert client.post(reverse(name), {"op": "delete", "channel": 1}).status_code == 403
    assert "channels-link" not in client.get(reverse("notify:inbox")).content.decode()


def test_a_manager_adds_a_channel_tests_it_and_never_sees_its_secret_again(
    world: World, offline: list[Any], django_capture_on_commit_callbacks: Captured
) -> None:
    client = logged_in(world, Role.TENANT_ADMIN)
    assert 'id="channels-link"' in client.get(reverse("notify:inbox")).content.decode()
    url = "https://oapi.dingtalk.com/robot/send?access_token=tok-XYZ-987"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("notify:channels"),
            {"op": "save", "kind": "dingtalk", "name": "人力群", "target": url, "secret": DING_SECRET,
             "events": ["demand.raised", "survey.invited"], "enabled": "on"},
        )  # fmt: skip
    assert response.status_code == 302
    with tenant_context(world.tenant):
        made = Channel.objects.get()
    assert made.events == ["demand.raised", "survey.invited"] and made.secret == DING_SECRET
    for page in (reverse("notify:channels"), reverse("notify:channels") + f"?edit={made.pk}"):
        html = client.get(page).content.decode()
        assert "tok-XYZ-987" not in html and DING_SECRET not in html
        assert 'data-secret="set"' in html or "Secret set" in html or made.target_hint in html

    # A blank target and secret on save keep the stored ones.
    client.post(reverse("notify:channels"),
                {"op": "save", "channel": made.pk, "kind": "dingtalk", "name": "人力群2", "events": ["demand.raised"]})  # fmt: skip
    with tenant_context(world.tenant):
        made.refresh_from_db()
    assert (made.name, made.target, made.secret, made.enabled) == ("人力群2", url, DING_SECRET, False)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("notify:channels"), {"op": "test", "channel": made.pk})
    assert response.status_code == 302 and response["Location"].startswith(reverse("notify:deliveries"))
    assert len(offline) == 1 and "tok-XYZ-987" in offline[0][0]
    log = client.get(response["Location"]).content.decode()
    assert "tok-XYZ-987" not in log and 'data-status="retrying"' in log


def test_the_delivery_log_filters_by_status_and_channel(
    world: World, offline: list[Any], django_capture_on_commit_callbacks: Captured
) -> None:
    with tenant_context(world.tenant, SYSTEM):
        made = channel(ChannelKind.WEBHOOK, "https://oa.example.cn/hook", SECRET)
        publish(django_capture_on_commit_callbacks)
        publish(django_capture_on_commit_callbacks)
        first = Delivery.objects.order_by("pk").first()
        assert first is not None
        Delivery.objects.filter(pk=first.pk).update(status=DeliveryStatus.FAILED)
    client = logged_in(world, Role.TENANT_ADMIN)
    url = reverse("notify:deliveries")
    assert client.get(url).content.decode().count("data-delivery=") == 2
    failed = client.get(url, {"status": "failed"}, headers={"HX-Request": "true"}).content.decode()
    assert failed.count("data-delivery=") == 1 and f'data-delivery="{first.pk}"' in failed
    assert client.get(url, {"channel": made.pk}).content.decode().count("data-delivery=") == 2
    assert client.get(url, {"channel": 999999}).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        retried = client.post(url, {"delivery": first.pk, "back": "?status=failed"})
    assert retried.status_code == 302 and retried["Location"].endswith("?status=failed")
    with tenant_context(world.tenant):
        first.refresh_from_db()
    assert (first.status, first.attempts) == (DeliveryStatus.RETRYING, 1)


def test_another_tenants_channel_is_not_found(world: World, other_world: World) -> None:
    with tenant_context(other_world.tenant, SYSTEM):
        theirs = channel(ChannelKind.WECOM, "https://b.example.cn/hook?key=beta-token")
    client = logged_in(world, Role.TENANT_ADMIN)
    assert client.get(reverse("notify:channels"), {"edit": theirs.pk}).status_code == 404
    for op in ("test", "delete"):
        assert client.post(reverse("notify:channels"), {"op": op, "channel": theirs.pk}).status_code == 404
    with tenant_context(other_world.tenant):
        assert Channel.objects.filter(pk=theirs.pk).exists()
