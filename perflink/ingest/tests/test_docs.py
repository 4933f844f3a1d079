"""docs/data-model.md describes every field of every kind (so the page cannot drift from kinds.py)."""

from pathlib import Path

from perflink.ingest.kinds import KINDS, MASTER_KINDS

DOC = Path(__file__).resolve().parents[3] / "docs" / "data-model.md"


def test_data_model_doc_names_every_field() -> None:
    text = DOC.read_text(encoding="utf-8")
    for spec in (*KINDS.values(), *MASTER_KINDS.values()):
        assert f"{spec.kind}: {spec.label}" in text
        for f in spec.fields:
            assert f"| `{f.name}` |" in text, f"{spec.kind}.{f.name} missing from docs/data-model.md"


def test_ingestion_doc_lists_every_plausibility_rule_with_its_severity() -> None:
    from perflink.ingest.plausibility import RULES

    text = (DOC.parent / "ingestion.md").read_text(encoding="utf-8")
    for rules in RULES.values():
        for rule in rules:
            line = next((ln for ln in text.splitlines() if ln.startswith(f"| `{rule.code}` |")), None)
            assert line is not None, f"{rule.code} missing from docs/ingestion.md"
            assert line.endswith(f"| {rule.severity} |"), line
