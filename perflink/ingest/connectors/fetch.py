"""Fetching pages over HTTP: a guarded opener, retries with backoff, pagination, page parsing.

Only http(s) is spoken, redirects stay on the same host, link-local addresses (cloud metadata
services) are refused, and a page may not exceed MAX_PAGE_BYTES.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import json
import random
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

from django.conf import settings

from perflink.ingest.models import PullConnector, PullPagination, PullRun

MAX_PAGE_BYTES = 50 * 1024 * 1024
MAX_PAGES = 10_000  # per run; the next run continues from the cursor
PAGE_DEADLINE = 600.0  # seconds to receive one page, however slowly the bytes trickle in
BACKOFF_CAP = 60.0
RETRY_AFTER_CAP = 120.0
USER_AGENT = "Perflink-pull/1"
# Cloud metadata services live on link-local addresses; a connector URL must never reach them.
DENIED_NETWORKS = ("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128")
NOTES_KEPT = 200

Sleep = Callable[[float], None]


def note(run: PullRun, text: str) -> None:
    """Add a line to the run's notes (retries, warnings), up to NOTES_KEPT."""
    if len(run.notes) < NOTES_KEPT:
        run.notes.append(text)


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


def dig(doc: Any, path: str) -> Any:
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


def field_value(record: dict[str, Any], name: str) -> Any:
    """A record's field by its name, or by a dotted path into nested objects."""
    if name in record:
        return record[name]
    value = dig(record, name) if "." in name else _MISSING
    return None if value is _MISSING else value


def map_record(record: dict[str, Any], field_map: dict[str, str]) -> dict[str, Any]:
    """Rename remote fields to record fields; a mapped field wins over a same-named unmapped one."""
    out = {k: v for k, v in record.items() if k not in field_map}
    for remote, target in field_map.items():
        value = field_value(record, remote)
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
    records = dig(doc, c.records_path)
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
        raw = dig(doc, c.next_cursor_path)
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
                note(
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
