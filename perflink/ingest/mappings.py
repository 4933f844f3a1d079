"""Saved column mappings: the write behind the import page's "remember how these headers map".

(An action like the others in `actions.py`; it sits in its own module while that file is edited
elsewhere and can move there unchanged.)
"""

from __future__ import annotations

from django.db import transaction

from perflink.audit.actions import record_event
from perflink.core.context import Actor
from perflink.core.errors import Conflict, ValidationFailed
from perflink.ingest.kinds import EXTERNAL_ID, KINDS, MASTER_KINDS, normalise_header
from perflink.ingest.models import ImportMapping

MAX_NAME = 80


def mapping_targets(kind: str) -> list[str]:
    """The canonical fields a header of a `kind` file may be mapped to."""
    spec = {**KINDS, **MASTER_KINDS}[kind]
    extra = [EXTERNAL_ID.name] if EXTERNAL_ID.name not in spec.names else []
    return [*spec.names, *extra]


def do_save_mapping(name: str, kind: str, columns: dict[str, str], *, actor: Actor) -> ImportMapping:
    """Create the mapping called `name`, or replace its columns when it exists for the same kind.

    `columns` maps header text (as in the file) to a canonical field of `kind`."""
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed("the mapping needs a name", field="name")
    if len(name) > MAX_NAME:
        raise ValidationFailed(f"the name is longer than {MAX_NAME} characters", field="name")
    if kind not in KINDS and kind not in MASTER_KINDS:
        raise ValidationFailed(f"unknown record kind {kind!r}", field="kind")
    allowed = set(mapping_targets(kind))
    cleaned: dict[str, str] = {}
    for header, target in columns.items():
        if not normalise_header(header):
            continue
        if target not in allowed:
            raise ValidationFailed(f"{target!r} is not a field of {kind} records", field="columns")
        if target in cleaned.values():
            raise ValidationFailed(f"two headers map to {target}", field="columns")
        cleaned[str(header)] = target
    if not cleaned:
        raise ValidationFailed("map at least one column to a field", field="columns")
    with transaction.atomic():
        mapping = ImportMapping.objects.select_for_update().filter(name=name).first()
        if mapping is not None and mapping.kind != kind:
            raise Conflict(
                f"a mapping named {name!r} already exists for {mapping.kind} files; choose another name",
                field="name",
                code="mapping_name_taken",
            )
        before = {"kind": mapping.kind, "columns": mapping.columns} if mapping else None
        if mapping is None:
            mapping = ImportMapping.objects.create(name=name, kind=kind, columns=cleaned)
        else:
            mapping.columns = cleaned
            mapping.save(update_fields=["columns"])
        record_event("ingest.mapping.save", mapping, before=before, after={"kind": kind, "columns": cleaned})
    return mapping
