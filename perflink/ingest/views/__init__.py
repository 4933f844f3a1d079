"""Data sources (数据接入) pages: the overview with feed health, file import (preview, dry run, commit,
quarantine), import history, batch detail with rollback, and the download of a batch's rejected rows.

Each view parses input, calls one selector or action and renders; one view serves a page and its htmx
fragment.
"""

from perflink.ingest.views.batches import batch_detail, batch_rejected, batch_rollback, history
from perflink.ingest.views.imports import import_file
from perflink.ingest.views.rules import plausibility_rules
from perflink.ingest.views.sources import sources

__all__ = [
    "batch_detail",
    "batch_rejected",
    "batch_rollback",
    "history",
    "import_file",
    "plausibility_rules",
    "sources",
]
