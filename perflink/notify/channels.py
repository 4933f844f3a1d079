"""Formatting and sending one event on one channel: e-mail, WeCom and DingTalk group robots, outgoing webhooks.

Each sender returns an `Outcome` and never raises for a failure of the receiver; `perflink.notify.deliveries`
decides from it whether to try again. HTTP goes through ingest's guarded opener (http(s) only, no link-local
addresses, no proxies from the environment) with a timeout, and only to URLs an administrator configured.

Formats, as the vendors document them:
- WeCom group robot: POST ``{"msgtype": "markdown", "markdown": {"content": ...}}`` to the robot's URL; the
  answer is ``{"errcode": 0, "errmsg": "ok"}``.
- DingTalk group robot: POST ``{"msgtype": "markdown", "markdown": {"title": ..., "text": ...}}``. With 加签 the
  URL gets ``&timestamp=<ms>&sign=<urlencoded base64 HMAC-SHA256 of "<ms>\\n<secret>" keyed by the secret>``.
- Webhook: POST the envelope ``{"id", "event", "tenant", "created_at", "data"}`` with
  ``X-Perflink-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`` (see docs/notifications.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.utils import translation
from django.utils.translation import gettext

from perflink.ingest.connectors.fetch import AddressRefused, FetchError, build_opener
from perflink.notify.choices import ChannelKind, Kind
from perflink.notify.models import Channel, OutboundEvent

USER_AGENT = "Perflink-notify/1"
MAX_RESPONSE_BYTES = 64 * 1024
ERROR_CHARS = 500
WECOM_MAX_BYTES = 4096  # WeCom refuses markdown content over 4,096 bytes
# Robot error codes that mean "too many messages, try later"; any other non-zero errcode is a set-up fault.
ROBOT_RATE_LIMITED = {45009, 130101, 130102}


@dataclass(frozen=True)
class Outcome:
    ok: bool
    response_code: int | None = None
    error: str = ""
    retryable: bool = True


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: bytes


# (url, body, headers, timeout) -> answer; tests replace it to keep off the network.
Transport = Callable[[str, bytes, dict[str, str], float], HttpAnswer]


def http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> HttpAnswer:
    """POST through the guarded opener; an HTTP error status is an answer, not an exception."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (http(s) only: see build_opener)
    try:
        with build_opener().open(request, timeout=timeout) as response:
            return HttpAnswer(response.status, response.read(MAX_RESPONSE_BYTES))
    except urllib.error.HTTPError as exc:
        with exc:
            return HttpAnswer(exc.code, exc.read(MAX_RESPONSE_BYTES))


transport: Transport = http_post


def timeout() -> float:
    return float(getattr(settings, "PERFLINK_NOTIFY_TIMEOUT", 10.0))


# --- the message --------------------------------------------------------------------------------------------------


def absolute_url(url: str) -> str:
    """A Perflink path made absolute with PERFLINK_SITE_URL; other URLs are not passed on."""
    if not url.startswith("/") or url.startswith("//"):
        return ""
    site = str(getattr(settings, "PERFLINK_SITE_URL", "") or "").rstrip("/")
    return f"{site}{url}" if site else ""


def event_label(event: str) -> str:
    if event in Kind.values:
        return str(Kind(event).label)
    return gettext("Test message") if event.startswith("notify.test") else event


def envelope(event: OutboundEvent) -> dict[str, Any]:
    """The webhook body: the same for every retry of every webhook, apart from nothing (stable keys)."""
    return {
        "id": str(event.uid),
        "event": event.event,
        "tenant": event.tenant.slug,
        "created_at": event.created_at.isoformat(),
        "data": {
            "title": event.title,
            "body": event.body,
            "url": absolute_url(event.url) or event.url,
            **(event.data or {}),
        },
    }


def markdown(event: OutboundEvent) -> str:
    """The robots' message: the event as a heading, the title in bold, the text, and a link when there is one."""
    lines = [f"### {event_label(event.event)}", f"**{event.title}**"]
    if event.body:
        lines.append(event.body)
    link = absolute_url(event.url)
    if link:
        lines.append(f"[{gettext('Open in Perflink')}]({link})")
    return "\n\n".join(lines)


def wecom_payload(event: OutboundEvent) -> dict[str, Any]:
    content = markdown(event)
    encoded = content.encode("utf-8")
    if len(encoded) > WECOM_MAX_BYTES:
        content = encoded[: WECOM_MAX_BYTES - 3].decode("utf-8", errors="ignore") + "…"
    return {"msgtype": "markdown", "markdown": {"content": content}}


def dingtalk_payload(event: OutboundEvent) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"title": event.title, "text": markdown(event)}}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's 加签: base64 of HMAC-SHA256(key=secret, msg="<timestamp>\\n<secret>"), URL-encoded."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), to_sign, hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def dingtalk_url(url: str, secret: str, timestamp_ms: int) -> str:
    if not secret:
        return url
    joiner = "&" if urllib.parse.urlsplit(url).query else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={dingtalk_sign(secret, timestamp_ms)}"


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256, keyed by the secret, of ``"<timestamp>.<raw body>"``.

    The timestamp is signed with the body so a captured request cannot be replayed later with a fresh one."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def json_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --- sending ------------------------------------------------------------------------------------------------------


def send(channel: Channel, event: OutboundEvent) -> Outcome:
    """Send the event on the channel, in the installation's language."""
    with translation.override(settings.LANGUAGE_CODE):
        if channel.kind == ChannelKind.EMAIL:
            return send_email(addresses(channel.target), event)
        if channel.kind == ChannelKind.WECOM:
            return _post_robot(channel.target, json_body(wecom_payload(event)))
        if channel.kind == ChannelKind.DINGTALK:
            url = dingtalk_url(channel.target, channel.secret, int(time.time() * 1000))
            return _post_robot(url, json_body(dingtalk_payload(event)))
        if channel.kind == ChannelKind.WEBHOOK:
            return send_webhook(channel.target, channel.secret, event)
    return Outcome(False, error=f"unknown channel kind {channel.kind!r}", retryable=False)


def addresses(target: str) -> list[str]:
    return [a.strip() for a in target.replace(";", ",").replace("\n", ",").split(",") if a.strip()]


def send_email(to: list[str], event: OutboundEvent) -> Outcome:
    """Through Django's mail back-end: the console by default, SMTP when configured (EMAIL_* settings)."""
    with translation.override(settings.LANGUAGE_CODE):
        lines = [event.body] if event.body else []
        link = absolute_url(event.url)
        if link:
            lines.append(f"{gettext('Open in Perflink')}: {link}")
        lines.append(f"— {event_label(event.event)} · {settings.APP_NAME}")
        try:
            send_mail(
                subject=f"[{settings.APP_NAME}] {event.title}",
                message="\n\n".join(lines),
                from_email=None,
                recipient_list=to,
                fail_silently=False,
            )
        except (OSError, ValueError) as exc:  # smtplib's errors are OSErrors
            return Outcome(False, error=_short(f"{type(exc).__name__}: {exc}"))
    return Outcome(True)


def send_webhook(url: str, secret: str, event: OutboundEvent) -> Outcome:
    body = json_body(envelope(event))
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Perflink-Event": event.event,
        "X-Perflink-Delivery": str(event.uid),
        "X-Perflink-Timestamp": str(timestamp),
    }
    if secret:
        headers["X-Perflink-Signature"] = webhook_signature(secret, timestamp, body)
    answer = _post(url, body, headers)
    if isinstance(answer, Outcome):
        return answer
    return _judge_status(answer)


def _post_robot(url: str, body: bytes) -> Outcome:
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
    answer = _post(url, body, headers)
    if isinstance(answer, Outcome):
        return answer
    if not 200 <= answer.status < 300:
        return _judge_status(answer)
    # Both robots answer 200 with {"errcode": 0, "errmsg": "ok"}; a non-zero errcode is a refusal.
    try:
        reply = json.loads(answer.body or b"{}")
    except ValueError:
        return Outcome(False, answer.status, _short(f"not JSON: {answer.body[:200]!r}"))
    code = reply.get("errcode", 0) if isinstance(reply, dict) else 0
    if code in (0, None):
        return Outcome(True, answer.status)
    message = f"errcode {code}: {reply.get('errmsg', '')}"
    return Outcome(False, answer.status, _short(message), retryable=code in ROBOT_RATE_LIMITED)


def _post(url: str, body: bytes, headers: dict[str, str]) -> HttpAnswer | Outcome:
    try:
        return transport(url, body, headers, timeout())
    except FetchError as exc:
        return Outcome(False, error=_short(str(exc)), retryable=exc.retryable)
    except AddressRefused as exc:
        return Outcome(False, error=_short(str(exc)), retryable=False)
    except TimeoutError:
        return Outcome(False, error=f"no answer within {timeout():g} s")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return Outcome(False, error=_short(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"))


def _judge_status(answer: HttpAnswer) -> Outcome:
    """2xx delivered; 408, 429 and 5xx are tried again; any other status is the receiver refusing for good."""
    if 200 <= answer.status < 300:
        return Outcome(True, answer.status)
    text = answer.body[:300].decode("utf-8", errors="replace")
    retry = answer.status in (408, 425, 429) or answer.status >= 500
    return Outcome(False, answer.status, _short(f"HTTP {answer.status}: {text}"), retryable=retry)


def _short(text: str) -> str:
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"
