"""What collaboration hands to the metrics: survey answers and demand evaluations written as ingest records.

The metrics engine reads these like records from any source system (kinds ``survey_response`` and
``demand_evaluation``), so the metrics never import collaboration code, and every value on a scorecard still leads
to a batch and a record.
"""

from __future__ import annotations

from typing import Any

from perflink.core.context import Actor, actor_context


def ingest_records(kind: str, records: list[dict[str, Any]], *, actor: Actor) -> None:
    """One push batch of ``kind`` records by ``actor``; records sent again with their external id are versioned.
    After the commit the ingest recalculates the periods whose runs read them."""
    from perflink.ingest.actions import do_ingest, source_system_for
    from perflink.ingest.kinds import KINDS
    from perflink.ingest.push import records_frame

    if not records:
        return
    spec = KINDS[kind]
    frame, _unknown = records_frame(spec, records)
    with actor_context(actor):
        do_ingest(spec, [frame], source=source_system_for(kind), channel="push", actor=actor)
