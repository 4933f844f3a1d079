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

from perflink.ingest.connectors.config import (
    CONFIG_FIELDS,
    check_url,
    connector_spec,
    do_create_connector,
    do_queue_run,
    do_update_connector,
    public_config,
)
from perflink.ingest.connectors.cursor import CursorTracker, cursor_key
from perflink.ingest.connectors.fetch import (
    BACKOFF_CAP,
    MAX_PAGE_BYTES,
    FetchError,
    backoff_delay,
    build_opener,
    iter_pages,
    map_record,
)
from perflink.ingest.connectors.runs import SCHEDULER, run_connector, run_due_connectors

__all__ = [
    "BACKOFF_CAP",
    "CONFIG_FIELDS",
    "MAX_PAGE_BYTES",
    "SCHEDULER",
    "CursorTracker",
    "FetchError",
    "backoff_delay",
    "build_opener",
    "check_url",
    "connector_spec",
    "cursor_key",
    "do_create_connector",
    "do_queue_run",
    "do_update_connector",
    "iter_pages",
    "map_record",
    "public_config",
    "run_connector",
    "run_due_connectors",
]
