"""Scheduled pull connectors: fetch JSON records from a source system's HTTP API and ingest them.

A run asks for the records changed since the connector's cursor, page by page. Each page is cleaned,
validated and stored in its own transaction together with the cursor's new position, so a run that
breaks half-way leaves pages 1..k stored and the cursor at page k's highest `cursor_field` value,
never past what was stored. Connection errors, timeouts, 429 and 5xx answers are retried with capped
exponential backoff; a page with invalid records stops the run. Org units and employees (rosters)
are the exception: their pages are collected and applied at once, since a unit's parent or an
employee's manager may arrive on a later page.

Only http(s) is spoken, redirects stay on the same host, link-local addresses (cloud metadata
services) are refused, and a page may not exceed MAX_PAGE_BYTES.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import json
import logging
import random
import re
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from perflink.audit.actions import record_event
from perflink.core.context import Actor, current_tenant, tenant_context, unscoped
from perflink.core.errors import Conflict, TenantScopeError, ValidationFailed
from perflink.ingest.actions import IngestRejected, do_ingest
from perflink.ingest.choices import Channel
from perflink.ingest.kinds import EXTERNAL_ID, KINDS, MASTER_KINDS, KindSpec
from perflink.ingest.models import PullConnector, PullPagination, PullRun, PullStatus, SourceSystem
from perflink.ingest.push import MAX_RECORDS, records_frame
from perflink.ingest.roster import RosterRejected, sync_roster

log = logging.getLogger(__name__)

SCHEDULER = Actor(kind="system", id=None, label="scheduler")
MAX_PAGE_BYTES = 50 * 1024 * 1024
MAX_PAGES = 10_000  # per run; the next run continues from the cursor
PAGE_DEADLINE = 600.0  # seconds to receive one page, however slowly the bytes trickle in
BACKOFF_CAP = 60.0
RETRY_AFTER_CAP = 120.0
LEASE = timedelta(hours=1)  # a run holds the connector this long past its last stored page
USER_AGENT = "Perflink-pull/1"
# Cloud metadata services live on link-local addresses; a connector URL must never reach them.
DENIED_NETWORKS = ("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128")
ERRORS_KEPT = 100
NOTES_KEPT = 200

Sleep = Callable[[float], None]


# --- configuration ----------------------------------------------------------------------------------

CONFIG_FIELDS = (
    "name",
    "source_system",
    "kind",
    "url",
    "auth_header_name",
    "auth_header_value",
    "pagination",
    "page_param",
    "first_page",
    "size_param",
    "page_size",
    "records_path",
    "next_cursor_path",
    "cursor_field",
    "cursor_param",
    "cursor_value",
    "field_map",
    "interval_minutes",
    "enabled",
    "max_retries",
    "backoff_seconds",
    "timeout_seconds",
)
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


def connector_spec(kind: str) -> KindSpec:
    spec = KINDS.get(kind) or MASTER_KINDS.get(kind)
    if spec is None:
        raise ValidationFailed(
            f"unknown record kind {kind!r}; one of {', '.join([*KINDS, *MASTER_KINDS])}", field="kind"
        )
    return spec


def _check_config(c: PullConnector) -> None:
    """Refuse a configuration that could not run, naming the field."""
    if not c.name.strip():
        raise ValidationFailed("a connector needs a name", field="name")
    spec = connector_spec(c.kind)
    check_url(c.url)
    if c.pagination not in PullPagination.values:
        raise ValidationFailed(
            f"pagination must be one of {', '.join(PullPagination.values)}", field="pagination"
        )
    if c.pagination != PullPagination.NONE and not c.page_param:
        raise ValidationFailed(f"{c.pagination} pagination needs page_param", field="page_param")
    if c.pagination == PullPagination.CURSOR and not c.next_cursor_path:
        raise ValidationFailed("cursor pagination needs next_cursor_path", field="next_cursor_path")
    if not 1 <= c.page_size <= MAX_RECORDS:
        raise ValidationFailed(f"page_size must be between 1 and {MAX_RECORDS}", field="page_size")
    if bool(c.cursor_field) != bool(c.cursor_param):
        raise ValidationFailed(
            "cursor_field (the record field to track) and cursor_param (the query parameter to send it "
            "in) go together",
            field="cursor_param" if c.cursor_field else "cursor_field",
        )
    if c.auth_header_name and not HEADER_NAME.match(c.auth_header_name):
        raise ValidationFailed("not a valid HTTP header name", field="auth_header_name")
    if any(ch in (c.auth_header_value or "") for ch in "\r\n\0"):
        raise ValidationFailed("the header value may not contain line breaks", field="auth_header_value")
    _check_field_map(c.field_map, spec)
    if not 0 <= c.max_retries <= 10:
        raise ValidationFailed("max_retries must be between 0 and 10", field="max_retries")
    if not 0 <= c.backoff_seconds <= BACKOFF_CAP:
        raise ValidationFailed(
            f"backoff_seconds must be between 0 and {BACKOFF_CAP:g}", field="backoff_seconds"
        )
    if not 0.05 <= c.timeout_seconds <= 300:
        raise ValidationFailed("timeout_seconds must be between 0.05 and 300", field="timeout_seconds")
    if len(c.cursor_value) > 200:
        raise ValidationFailed("the cursor may be at most 200 characters", field="cursor_value")


def check_url(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationFailed("the URL must start with http:// or https:// and name a host", field="url")
    if parts.username or parts.password:
        raise ValidationFailed(
            "put credentials in the auth header, not in the URL (URLs are shown and logged)", field="url"
        )
    if parts.fragment:
        raise ValidationFailed("the URL may not have a #fragment", field="url")


def _check_field_map(field_map: Any, spec: KindSpec) -> None:
    if not isinstance(field_map, dict):
        raise ValidationFailed("field_map must map remote field names to record fields", field="field_map")
    canonical = {*spec.names, EXTERNAL_ID.name}
    seen: dict[str, str] = {}
    for remote, target in field_map.items():
        if not isinstance(remote, str) or not remote or not isinstance(target, str):
            raise ValidationFailed("field_map keys and values must be field names", field="field_map")
        if target not in canonical:
            raise ValidationFailed(
                f"field_map: {remote!r} -> {target!r}, but {spec.kind} has no field {target!r} "
                f"(fields: {', '.join(sorted(canonical))})",
                field="field_map",
            )
        if target in seen:
            raise ValidationFailed(
                f"field_map: both {seen[target]!r} and {remote!r} map to {target!r}", field="field_map"
            )
        seen[target] = remote


def public_config(c: PullConnector) -> dict[str, Any]:
    """The configuration for audit events and listings: the auth header's value never leaves."""
    out = {
        name: (c.source_system.code if name == "source_system" else getattr(c, name))
        for name in CONFIG_FIELDS
        if name != "auth_header_value"
    }
    out["auth_header_value"] = "***" if c.auth_header_value else ""
    return out


def _schedule(c: PullConnector, now: datetime) -> datetime | None:
    if not c.enabled or not c.interval_minutes:
        return None
    if c.last_run_at is None:
        return now
    return c.last_run_at + timedelta(minutes=c.interval_minutes)


def do_create_connector(
    *, name: str, source_system: SourceSystem, kind: str, url: str, actor: Actor, **options: Any
) -> PullConnector:
    """Create a pull connector; when enabled with an interval, its first run is due at once."""
    unknown = set(options) - set(CONFIG_FIELDS)
    if unknown:
        raise ValidationFailed(
            f"unknown connector settings: {', '.join(sorted(unknown))}", field=min(unknown)
        )
    connector = PullConnector(name=name, source_system=source_system, kind=kind, url=url, **options)
    _check_config(connector)
    with transaction.atomic():
        if not SourceSystem.objects.filter(pk=source_system.pk).exists():
            raise ValidationFailed("unknown source system", field="source_system")
        if PullConnector.objects.filter(name=name).exists():
            raise Conflict(f"a connector named {name!r} already exists", field="name", code="name_taken")
        connector.next_run_at = _schedule(connector, timezone.now())
        connector.save()
        record_event("ingest.pull.connector.create", connector, after=public_config(connector))
    return connector


def do_update_connector(connector: PullConnector, *, changes: dict[str, Any], actor: Actor) -> PullConnector:
    """Change a connector's settings. Setting `cursor_value` to "" makes the next run fetch everything."""
    unknown = set(changes) - set(CONFIG_FIELDS)
    if unknown:
        raise ValidationFailed(f"cannot change {', '.join(sorted(unknown))}", field=min(unknown))
    with transaction.atomic():
        before = public_config(connector)
        for key, value in changes.items():
            setattr(connector, key, value)
        _check_config(connector)
        if (
            "source_system" in changes
            and not SourceSystem.objects.filter(pk=connector.source_system.pk).exists()
        ):
            raise ValidationFailed("unknown source system", field="source_system")
        if (
            "name" in changes
            and PullConnector.objects.filter(name=connector.name).exclude(pk=connector.pk).exists()
        ):
            raise Conflict(
                f"a connector named {connector.name!r} already exists", field="name", code="name_taken"
            )
        connector.next_run_at = _schedule(connector, timezone.now())
        # Only the changed columns: a run in progress owns the cursor and the run bookkeeping.
        connector.save(update_fields=[*changes, "next_run_at"])
        after = public_config(connector)
        record_event(
            "ingest.pull.connector.update",
            connector,
            before={k: before[k] for k in changes},
            after={k: after[k] for k in changes},
        )
    return connector


# --- HTTP -------------------------------------------------------------------------------------------


class FetchError(Exception):
    """A page could not be fetched or read. `retryable` failures are tried again after a pause."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class AddressRefused(OSError):
    """The host resolved to an address a connector may not reach."""


def _denied_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    extra = getattr(settings, "PERFLINK_PULL_DENIED_NETWORKS", ())
    return [ipaddress.ip_network(n) for n in (*DENIED_NETWORKS, *extra)]


def _guarded_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
    # The check runs on the address actually connected to, so DNS answers that change between a
    # check and the connection (rebinding) cannot get around it.
    sock = socket.create_connection(address, *args, **kwargs)
    peer = ipaddress.ip_address(sock.getpeername()[0])
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped:
        peer = peer.ipv4_mapped
    if any(peer in net for net in _denied_networks()):
        sock.close()
        raise AddressRefused(f"{address[0]} resolves to {peer}, an address connectors may not reach")
    return sock


class _GuardedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _guarded_connection


class _GuardedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _guarded_connection


class _GuardedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_GuardedHTTPConnection, req)


class _GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_GuardedHTTPSConnection, req, context=self._context)  # type: ignore[attr-defined]


class _SameHostRedirectHandler(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        old, new = urllib.parse.urlsplit(req.full_url), urllib.parse.urlsplit(newurl)
        if (old.scheme, old.hostname, old.port) != (new.scheme, new.hostname, new.port):
            fp.close()
            raise FetchError(
                f"the source redirected to another host or scheme ({newurl}); connectors do not follow that",
                retryable=False,
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def build_opener() -> urllib.request.OpenerDirector:
    """An opener that speaks http(s) only (no file:, ftp:, data:), ignores proxy environment variables,
    stays on the same host across redirects and refuses link-local addresses."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.UnknownHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
        _SameHostRedirectHandler(),
        _GuardedHTTPHandler(),
        _GuardedHTTPSHandler(),
    ):
        opener.add_handler(handler)
    return opener


def backoff_delay(attempt: int, base: float, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter: between half and all of base * 2**attempt, capped."""
    ceiling = min(BACKOFF_CAP, base * 2**attempt)
    return ceiling / 2 + rng() * ceiling / 2


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _with_params(url: str, params: dict[str, str]) -> str:
    parts = urllib.parse.urlsplit(url)
    query = [
        (k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True) if k not in params
    ]
    query += list(params.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


_HINTS = {
    401: " — check the connector's auth header",
    403: " — check the connector's auth header and the account's rights at the source",
    404: " — check the connector's URL",
}


def _http_error(exc: urllib.error.HTTPError) -> FetchError:
    try:
        snippet = exc.read(300).decode("utf-8", "replace").strip()
    except (OSError, http.client.HTTPException):
        snippet = ""
    finally:
        exc.close()
    retryable = exc.code in {408, 429} or 500 <= exc.code <= 599
    text = f"HTTP {exc.code} {exc.reason}{_HINTS.get(exc.code, '')}"
    if snippet:
        text += f": {snippet[:200]}"
    return FetchError(text, retryable=retryable, retry_after=_retry_after(exc.headers.get("Retry-After")))


def _transport_error(exc: BaseException) -> FetchError:
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError):
        return FetchError("the source did not answer in time", retryable=True)
    if isinstance(reason, AddressRefused | ssl.SSLCertVerificationError | ValueError):
        return FetchError(str(reason), retryable=False)
    return FetchError(f"connection failed: {reason}", retryable=True)


def _get(opener: urllib.request.OpenerDirector, url: str, headers: dict[str, str], timeout: float) -> bytes:
    request = urllib.request.Request(url, headers=headers, method="GET")  # noqa: S310 - scheme checked
    try:
        response = opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise _http_error(exc) from exc
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise _transport_error(exc) from exc
    with response:
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > MAX_PAGE_BYTES:
            raise FetchError(_too_large(), retryable=False)
        if response.status == 204:
            return b""
        body = bytearray()
        deadline = time.monotonic() + PAGE_DEADLINE
        try:
            while chunk := response.read(64 * 1024):
                body += chunk
                if len(body) > MAX_PAGE_BYTES:
                    raise FetchError(_too_large(), retryable=False)
                if time.monotonic() > deadline:
                    raise FetchError(
                        f"the page took longer than {PAGE_DEADLINE:g} s to arrive", retryable=True
                    )
        except (OSError, http.client.HTTPException) as exc:
            raise _transport_error(exc) from exc
    return bytes(body)


def _too_large() -> str:
    return f"the page is larger than {MAX_PAGE_BYTES // (1024 * 1024)} MB; lower the connector's page size"


# --- pages ------------------------------------------------------------------------------------------

_MISSING = object()


def _dig(doc: Any, path: str) -> Any:
    """The value at a dotted path ("data.items"); "" is the document itself."""
    if not path:
        return doc
    for part in path.split("."):
        if isinstance(doc, dict) and part in doc:
            doc = doc[part]
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            return _MISSING
    return doc


def _field(record: dict[str, Any], name: str) -> Any:
    """A record's field by its name, or by a dotted path into nested objects."""
    if name in record:
        return record[name]
    value = _dig(record, name) if "." in name else _MISSING
    return None if value is _MISSING else value


def map_record(record: dict[str, Any], field_map: dict[str, str]) -> dict[str, Any]:
    """Rename remote fields to record fields; a mapped field wins over a same-named unmapped one."""
    out = {k: v for k, v in record.items() if k not in field_map}
    for remote, target in field_map.items():
        value = _field(record, remote)
        if value is not None or remote in record:
            out[target] = value
    return out


@dataclass
class Page:
    number: int
    records: list[dict[str, Any]]
    next_token: str | None


def _parse_page(c: PullConnector, body: bytes, number: int) -> Page:
    if not body.strip():
        return Page(number, [], None)
    try:
        doc = json.loads(body, parse_float=Decimal)  # money keeps its exact digits
    except ValueError as exc:
        snippet = body[:120].decode("utf-8", "replace")
        raise FetchError(
            f"page {number}: the answer is not JSON ({exc}): {snippet!r}", retryable=False
        ) from exc
    records = _dig(doc, c.records_path)
    if records is _MISSING:
        raise FetchError(
            f"page {number}: the answer has no {c.records_path!r}; check the connector's records path",
            retryable=False,
        )
    if records is None:
        records = []
    if not isinstance(records, list):
        where = repr(c.records_path) if c.records_path else "the answer"
        raise FetchError(f"page {number}: {where} is not a list of records", retryable=False)
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise FetchError(f"page {number}: record {i} is not a JSON object", retryable=False)
    token = None
    if c.pagination == PullPagination.CURSOR:
        raw = _dig(doc, c.next_cursor_path)
        token = None if raw is _MISSING or raw is None or raw == "" else str(raw)
    return Page(number, records, token)


class Fetcher:
    """Fetches one page, retrying transport failures with backoff; counts requests and notes retries."""

    def __init__(
        self, c: PullConnector, run: PullRun, opener: urllib.request.OpenerDirector, sleep: Sleep
    ) -> None:
        self.c, self.run, self.opener, self.sleep = c, run, opener, sleep
        self.headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if c.auth_header_name and c.auth_header_value:
            self.headers[c.auth_header_name] = c.auth_header_value

    def __call__(self, params: dict[str, str], number: int) -> bytes:
        url = _with_params(self.c.url, params)
        attempts = self.c.max_retries + 1
        for attempt in range(attempts):
            self.run.requests += 1
            try:
                return _get(self.opener, url, self.headers, self.c.timeout_seconds)
            except FetchError as exc:
                if not exc.retryable:
                    raise FetchError(f"page {number}: {exc}", retryable=False) from exc
                if attempt + 1 == attempts:
                    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
                    raise FetchError(f"page {number}: {exc} ({tries})", retryable=True) from exc
                if exc.retry_after is not None:
                    delay = min(exc.retry_after, RETRY_AFTER_CAP)
                else:
                    delay = backoff_delay(attempt, self.c.backoff_seconds)
                _note(
                    self.run, f"page {number}: {exc}; retry {attempt + 1} of {attempts - 1} in {delay:.1f} s"
                )
                self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover


def iter_pages(c: PullConnector, fetch: Callable[[dict[str, str], int], bytes]) -> Iterator[Page]:
    """The pages of one run, fetched lazily: page k+1 is asked for only after page k was handled.

    Page and offset pagination end at the first empty page (one request more than pages with
    records, but a source that caps the page size below `page_size` loses nothing); token
    pagination ends when the answer carries no next token."""
    base: dict[str, str] = {}
    if c.cursor_param and c.cursor_value:
        base[c.cursor_param] = c.cursor_value
    if c.size_param and c.pagination != PullPagination.NONE:
        base[c.size_param] = str(c.page_size)
    token: str | None = None
    offset = 0
    previous = b""
    for number in range(1, MAX_PAGES + 1):
        params = dict(base)
        if c.pagination == PullPagination.PAGE:
            params[c.page_param] = str(c.first_page + number - 1)
        elif c.pagination == PullPagination.OFFSET:
            params[c.page_param] = str(offset)
        elif c.pagination == PullPagination.CURSOR and token is not None:
            params[c.page_param] = token
        page = _parse_page(c, fetch(params, number), number)
        if c.pagination == PullPagination.CURSOR and page.next_token == token and token is not None:
            raise FetchError(
                f"page {number}: the source sent the same next-page token again; stopping", retryable=False
            )
        if not page.records:
            if c.pagination == PullPagination.CURSOR and page.next_token:
                token = page.next_token
                continue
            return
        digest = hashlib.sha256(json.dumps(page.records, sort_keys=True, default=str).encode()).digest()
        if c.pagination in {PullPagination.PAGE, PullPagination.OFFSET} and digest == previous:
            raise FetchError(
                f"page {number} has the same records as page {number - 1}: the source seems to ignore "
                f"the {c.page_param!r} parameter",
                retryable=False,
            )
        previous = digest
        yield page
        if c.pagination == PullPagination.NONE:
            return
        if c.pagination == PullPagination.CURSOR:
            if not page.next_token:
                return
            token = page.next_token
        offset += len(page.records)
    raise FetchError(
        f"stopped after {MAX_PAGES} pages; the next run continues from the cursor", retryable=True
    )


# --- the incremental cursor -------------------------------------------------------------------------

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def cursor_key(value: Any) -> tuple[int, Any]:
    """A sort key for cursor values: numbers as numbers, ISO dates and times as instants, else text."""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return (0, Decimal(value))
    text = str(value).strip()
    if _NUMBER.match(text):
        return (0, Decimal(text))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return (2, text)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return (1, moment)


@dataclass
class CursorTracker:
    """Where the cursor may move as pages are stored.

    Moving the cursor to a page's maximum is safe only when the source returns records in cursor
    order, which the connector contract asks for. If a page holds a value below an earlier page's
    maximum, the order is broken: from then on the cursor moves only when the whole run completes."""

    field: str
    value: str
    held: bool = False
    run_max: tuple[tuple[int, Any], str] | None = None

    def page_values(self, records: list[dict[str, Any]]) -> list[tuple[tuple[int, Any], str]]:
        out = []
        for r in records:
            v = _field(r, self.field)
            if v is None or v == "" or isinstance(v, dict | list | bool):
                continue
            out.append((cursor_key(v), str(v)))
        return out

    def after_page(self, records: list[dict[str, Any]], run: PullRun) -> str:
        """The cursor to store with this page."""
        if not self.field:
            return self.value
        values = self.page_values(records)
        if values:
            low = min(values, key=lambda kv: kv[0])
            high = max(values, key=lambda kv: kv[0])
            if self.run_max is not None and low[0] < self.run_max[0] and not self.held:
                self.held = True
                _note(
                    run,
                    f"records are not sorted by {self.field!r} across pages: the cursor now moves only "
                    "when the run completes",
                )
            if self.run_max is None or high[0] > self.run_max[0]:
                self.run_max = high
        if not self.held:
            self.value = self._later(self.value)
        return self.value

    def at_end(self) -> str:
        self.value = self._later(self.value)
        return self.value

    def _later(self, current: str) -> str:
        if self.run_max is None:
            return current
        key, text = self.run_max
        if len(text) > 200:
            raise FetchError(
                f"the cursor value {text[:40]!r}… is longer than 200 characters", retryable=False
            )
        if current and cursor_key(current) >= key:
            return current
        return text


# --- runs -------------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    status: str = PullStatus.SUCCEEDED
    error: str = ""
    errors: list[dict[str, Any]] = field(default_factory=list)


def _note(run: PullRun, text: str) -> None:
    if len(run.notes) < NOTES_KEPT:
        run.notes.append(text)


def run_connector(
    connector: PullConnector,
    *,
    actor: Actor,
    sleep: Sleep = time.sleep,
    opener: urllib.request.OpenerDirector | None = None,
) -> PullRun:
    """Run one connector now, inside its tenant's context. Returns the finished run.

    Raises Conflict when another run of the same connector holds it."""
    tenant = current_tenant()
    if tenant is None or tenant.pk != connector.tenant_id:
        raise TenantScopeError("run_connector() must run inside the connector's tenant context")
    started = timezone.now()
    claimed = (
        PullConnector.objects.filter(pk=connector.pk)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=started))
        .update(locked_until=started + LEASE)
    )
    if not claimed:
        raise Conflict(f"connector {connector.name!r} is already running", code="pull_running")
    connector.refresh_from_db()
    run = PullRun.objects.create(
        connector=connector,
        started_at=started,
        triggered_by=actor.label[:150],
        cursor_before=connector.cursor_value,
        cursor_after=connector.cursor_value,
    )
    outcome = _Outcome()
    try:
        fetch = Fetcher(connector, run, opener or build_opener(), sleep)
        pages = iter_pages(connector, fetch)
        if connector.kind in MASTER_KINDS:
            _pull_roster(connector, run, pages, actor)
        else:
            _pull_records(connector, run, pages, actor)
    except FetchError as exc:
        outcome.status = PullStatus.PARTIAL if run.pages else PullStatus.FAILED
        outcome.error = str(exc)
    except _PageRejected as exc:
        outcome.status, outcome.error, outcome.errors = PullStatus.FAILED, exc.message, exc.errors
    except Exception as exc:
        log.exception("pull connector %s (tenant %s) crashed", connector.name, connector.tenant_id)
        outcome.status, outcome.error = PullStatus.FAILED, f"internal error: {type(exc).__name__}: {exc}"
        try:
            _finish(connector, run, outcome)
        except Exception:
            log.exception("could not record the failed run of pull connector %s", connector.name)
        raise
    _finish(connector, run, outcome)
    return run


class _PageRejected(Exception):
    def __init__(self, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.message, self.errors = message, errors


def _describe(errors: list[dict[str, Any]], where: Callable[[int], str]) -> str:
    parts = [f"{where(e['row'])}, {e['column']} = {e['value']!r}: {e['reason']}" for e in errors[:3]]
    more = f"; … {len(errors) - 3} more" if len(errors) > 3 else ""
    return "; ".join(parts) + more


def _pull_records(c: PullConnector, run: PullRun, pages: Iterator[Page], actor: Actor) -> None:
    spec = KINDS[c.kind]
    cursor = CursorTracker(c.cursor_field, c.cursor_value)
    ignored: set[str] = set(run.ignored_fields)
    for page in pages:
        frame, unknown = records_frame(spec, [map_record(r, c.field_map) for r in page.records])
        try:
            with transaction.atomic():
                report = do_ingest(
                    spec,
                    [frame],
                    source=c.source_system,
                    channel=Channel.PULL,
                    actor=actor,
                    file_name=f"pull {c.name} page {page.number}",
                    ignored_columns=unknown,
                )
                # The cursor moves in the page's transaction: it is never ahead of what was stored.
                position = cursor.after_page(page.records, run)
                PullConnector.objects.filter(pk=c.pk).update(
                    cursor_value=position, locked_until=timezone.now() + LEASE
                )
                ignored.update(unknown)
                run.pages += 1
                run.records += report.total
                run.created += report.created
                run.updated += report.updated
                run.unchanged += report.unchanged
                run.batch_ids = [*run.batch_ids, report.batch_id]
                run.cursor_after = position
                run.ignored_fields = sorted(ignored)[:100]
                run.save()
        except IngestRejected as exc:
            rep = exc.report
            run.records += rep.total
            run.rejected += rep.rejected
            errors = [{"page": page.number, **e} for e in rep.errors[:ERRORS_KEPT]]
            raise _PageRejected(
                f"page {page.number} rejected: {rep.rejected} of {rep.total} records invalid, nothing from it "
                f"was stored and the cursor stays before it. "
                + _describe(rep.errors, lambda row, n=page.number: f"page {n} record {row}"),
                errors,
            ) from exc
    if cursor.held:
        with transaction.atomic():
            position = cursor.at_end()
            PullConnector.objects.filter(pk=c.pk).update(cursor_value=position)
            run.cursor_after = position
            run.save(update_fields=["cursor_after"])


def _pull_roster(c: PullConnector, run: PullRun, pages: Iterator[Page], actor: Actor) -> None:
    """Units and employees: every page first, then one all-or-nothing sync with the cursor."""
    spec = MASTER_KINDS[c.kind]
    records: list[dict[str, Any]] = []
    starts: list[int] = []  # index of each page's first record, to name the page of an error
    numbers: list[int] = []
    for page in pages:
        starts.append(len(records))
        numbers.append(page.number)
        records += page.records
        PullConnector.objects.filter(pk=c.pk).update(locked_until=timezone.now() + LEASE)
    if not records:
        return
    cursor = CursorTracker(c.cursor_field, c.cursor_value)
    frame, unknown = records_frame(spec, [map_record(r, c.field_map) for r in records])

    def where(row: int) -> str:
        i = bisect_right(starts, row) - 1
        return f"page {numbers[i]} record {row - starts[i]}"

    try:
        with transaction.atomic():
            report = sync_roster(c.kind, [frame], actor=actor)
            cursor.held = True  # the whole roster is stored at once, so the order does not matter
            cursor.after_page(records, run)
            position = cursor.at_end()
            PullConnector.objects.filter(pk=c.pk).update(cursor_value=position)
            run.pages = len(numbers)
            run.records = report.total
            run.created = report.created
            run.updated = report.updated + report.moved + report.exited
            run.unchanged = report.unchanged
            run.cursor_after = position
            run.ignored_fields = sorted(unknown)[:100]
            run.save()
    except RosterRejected as exc:
        rep = exc.report
        run.records, run.rejected = rep.total, rep.rejected
        errors = [
            {"page": numbers[bisect_right(starts, e["row"]) - 1], **e} for e in rep.errors[:ERRORS_KEPT]
        ]
        raise _PageRejected(
            f"roster rejected: {rep.rejected} of {rep.total} records invalid, nothing was changed. "
            + _describe(rep.errors, where),
            errors,
        ) from exc


def _finish(c: PullConnector, run: PullRun, outcome: _Outcome) -> None:
    now = timezone.now()
    with transaction.atomic():
        run.status = outcome.status
        run.error = outcome.error
        run.errors = outcome.errors
        run.finished_at = now
        run.save()
        # Read the schedule afresh: it may have been changed while the run was going.
        fresh = PullConnector.objects.select_for_update().get(pk=c.pk)
        PullConnector.objects.filter(pk=c.pk).update(
            last_run_at=run.started_at,
            next_run_at=(now + timedelta(minutes=fresh.interval_minutes))
            if fresh.enabled and fresh.interval_minutes
            else None,
            last_status=outcome.status,
            last_error=outcome.error[:2000],
            locked_until=None,
        )
        record_event(
            "ingest.pull.run",
            run,
            after={
                "connector": c.name,
                "kind": c.kind,
                "status": run.status,
                "pages": run.pages,
                "requests": run.requests,
                "records": run.records,
                "created": run.created,
                "updated": run.updated,
                "unchanged": run.unchanged,
                "rejected": run.rejected,
                "batches": run.batch_ids,
                "cursor_before": run.cursor_before,
                "cursor_after": run.cursor_after,
                "error": run.error[:500],
            },
        )
    c.refresh_from_db()


def run_due_connectors(
    now: datetime | None = None,
    *,
    sleep: Sleep = time.sleep,
    opener: urllib.request.OpenerDirector | None = None,
    report: Callable[[PullConnector, PullRun | None, str], None] | None = None,
) -> list[PullRun]:
    """Run every enabled connector whose next run is due, of every active tenant, one after another.

    For cron (`perflink pull --due`) or a scheduler loop. A connector that is already running is
    skipped; one that crashes is logged and does not stop the others."""
    now = now or timezone.now()
    with unscoped("scheduler: find the pull connectors that are due"):
        due = list(
            PullConnector.objects.filter(enabled=True, next_run_at__lte=now, tenant__is_active=True)
            .select_related("tenant")
            .order_by("next_run_at", "pk")
        )
    runs: list[PullRun] = []
    for candidate in due:
        with tenant_context(candidate.tenant, SCHEDULER):
            connector = PullConnector.objects.filter(pk=candidate.pk).first()
            if connector is None:
                continue
            try:
                run = run_connector(connector, actor=SCHEDULER, sleep=sleep, opener=opener)
            except Conflict:
                if report:
                    report(connector, None, "already running, skipped")
                continue
            except Exception:
                log.exception("scheduled pull of %s (tenant %s) crashed", connector.name, connector.tenant_id)
                if report:
                    report(connector, None, "crashed; see the log")
                continue
            runs.append(run)
            if report:
                report(connector, run, "")
    return runs
