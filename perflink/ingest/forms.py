"""Forms of the data-sources pages: they parse and validate input; actions do the writing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from perflink.ingest.choices import BatchStatus, Channel, RuleSeverity
from perflink.ingest.kinds import KINDS, MASTER_KINDS
from perflink.ingest.mappings import MAX_NAME, mapping_targets
from perflink.ingest.models import ImportMapping, SourceSystem
from perflink.ingest.plausibility import RULES_BY_CODE

ALL_KINDS = {**KINDS, **MASTER_KINDS}
# Chinese labels come from the kind specs themselves (they are the words people use in their files).
KIND_CHOICES = [(kind, f"{spec.label}") for kind, spec in ALL_KINDS.items()]
UPLOAD_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")
UPLOAD_TOKEN = re.compile(r"^[0-9a-f]{32}$")
BATCH_SORTS = {
    "received": "received_at",
    "kind": "kind",
    "rows": "n_rows",
    "rejected": "n_rejected",
}
HEALTH_SORTS = ("source", "kind", "last", "recent", "rejection")


def _mapping_choices(mappings: list[ImportMapping]) -> list[tuple[str, str]]:
    labels = {kind: spec.label for kind, spec in ALL_KINDS.items()}
    return [("", _("None: recognise the headers"))] + [
        (str(m.pk), f"{m.name} · {labels.get(m.kind, m.kind)}") for m in mappings
    ]


def _source_choices(sources: list[SourceSystem]) -> list[tuple[str, str]]:
    return [("", _("Default system for the record kind"))] + [
        (s.code, f"{s.name} ({s.code})") for s in sources
    ]


class ImportOptionsForm(forms.Form):
    """What to import the file as: the record kind, a saved mapping, the source system, quarantine."""

    kind = forms.ChoiceField(label=_("Record kind"), choices=KIND_CHOICES)
    mapping = forms.ChoiceField(label=_("Saved column mapping"), required=False)
    source = forms.ChoiceField(label=_("Source system"), required=False)
    quarantine = forms.BooleanField(label=_("Import the valid rows and quarantine the rest"), required=False)

    def __init__(
        self, *args: Any, mappings: list[ImportMapping], sources: list[SourceSystem], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.mappings = {str(m.pk): m for m in mappings}
        self.fields["mapping"].choices = _mapping_choices(mappings)
        self.fields["source"].choices = _source_choices(sources)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        mapping = self.mappings.get(data.get("mapping") or "")
        data["mapping_obj"] = mapping
        if mapping is not None and data.get("kind") and mapping.kind != data["kind"]:
            self.add_error(
                "mapping",
                _("This mapping is for %(kind)s files; choose another mapping or another record kind.")
                % {"kind": ALL_KINDS[mapping.kind].label if mapping.kind in ALL_KINDS else mapping.kind},
            )
        return data


class UploadForm(ImportOptionsForm):
    file = forms.FileField(
        label=_("File"),
        error_messages={
            "required": _("Choose a .csv or .xlsx file to upload."),
            "empty": _("The file is empty. Check that you picked the right file."),
        },
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() not in UPLOAD_SUFFIXES:
            raise forms.ValidationError(
                _(
                    "Only .csv and .xlsx files can be imported. In Excel, use “Save as” to save the sheet in one of them."
                )
            )
        return upload


class StepForm(ImportOptionsForm):
    """The preview's buttons: which upload, and whether to validate it or import it."""

    upload = forms.RegexField(regex=UPLOAD_TOKEN)
    step = forms.ChoiceField(choices=[("validate", "validate"), ("commit", "commit")])


class SaveMappingForm(forms.Form):
    """For each header the built-in names do not know: a field to map it to, or nothing; and a name."""

    name = forms.CharField(label=_("Mapping name"), max_length=MAX_NAME)

    def __init__(self, *args: Any, kind: str, headers: list[str], taken: set[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        spec = ALL_KINDS[kind]
        labels = {f.name: f.label for f in spec.fields} | {"external_id": "外部编号"}
        choices = [("", _("— leave ignored —"))] + [
            (name, f"{labels.get(name, name)} ({name})") for name in mapping_targets(kind)
        ]
        self.headers = headers
        self.taken = taken  # fields the file already provides through recognised headers
        for i, header in enumerate(headers):
            self.fields[f"col_{i}"] = forms.ChoiceField(label=header, choices=choices, required=False)

    def header_fields(self) -> list[tuple[str, Any]]:
        return [(header, self[f"col_{i}"]) for i, header in enumerate(self.headers)]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        columns: dict[str, str] = {}
        for i, header in enumerate(self.headers):
            target = data.get(f"col_{i}") or ""
            if not target:
                continue
            if target in self.taken or target in columns.values():
                self.add_error(
                    f"col_{i}",
                    _("Another column already provides this field; choose a different one."),
                )
                continue
            columns[header] = target
        if not columns and not self.errors:
            raise forms.ValidationError(
                _("Choose a field for at least one column, or leave the mapping unsaved.")
            )
        data["columns"] = columns
        return data


class BatchFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Record kind"), required=False)
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("All")), *Channel.choices]
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *BatchStatus.choices]
    )
    source = forms.ChoiceField(label=_("Source system"), required=False)
    sort = forms.ChoiceField(
        required=False, choices=[(s, s) for key in BATCH_SORTS for s in (key, f"-{key}")]
    )

    def __init__(self, *args: Any, sources: list[SourceSystem], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("All"))] + [(k, spec.label) for k, spec in KINDS.items()]
        self.fields["source"].choices = [("", _("All"))] + [(s.code, s.name) for s in sources]

    def cleaned_filters(self) -> dict[str, str]:
        data = self.cleaned_data if self.is_valid() else {}
        return {k: data.get(k) or "" for k in ("kind", "channel", "status", "source", "sort")}


class HealthFilterForm(forms.Form):
    source = forms.CharField(required=False, max_length=40)
    attention = forms.BooleanField(label=_("Only feeds that need attention"), required=False)
    sort = forms.ChoiceField(
        required=False, choices=[(s, s) for key in HEALTH_SORTS for s in (key, f"-{key}")]
    )


class PlausibilityRuleForm(forms.Form):
    """One rule's severity for the tenant (the rule's own severity removes the override)."""

    rule = forms.ChoiceField(choices=[(code, code) for code in RULES_BY_CODE])
    severity = forms.ChoiceField(choices=RuleSeverity.choices)
