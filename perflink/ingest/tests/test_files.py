"""Files: Chinese headers, encodings, XLSX safety, and the `perflink import` command."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from django.core.management import CommandError, call_command

from perflink.core.context import tenant_context
from perflink.ingest.files import FileProblem, read_table
from perflink.ingest.kinds import KINDS
from perflink.ingest.models import Batch, ClaimRecord
from tests.factories import World

HEADERS = [
    "赔案号",
    "险种大类",
    "理赔员工号",
    "机构代码",
    "报案时间",
    "核赔时间",
    "赔付时间",
    "索赔金额",
    "满意度",
    "备注",
]


def _rows(world: World, n: int = 3) -> list[list]:
    emp, unit = world.staff.employee_no, world.hr.code
    return [
        [
            f"C{i:04d}",
            "车险",
            emp,
            unit,
            "2026/3/1 9:00",
            "2026-03-02 10:00",
            "2026年3月3日",
            "1,000",
            "满意",
            "x",
        ]
        for i in range(n)
    ]


def _csv(path: Path, rows: list[list], encoding: str = "utf-8-sig", headers: list[str] = HEADERS) -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(headers)
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def _xlsx(path: Path, rows: list[list], headers: list[str] = HEADERS) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("理赔")
    sheet.write_row(0, 0, headers)
    for i, row in enumerate(rows, start=1):
        sheet.write_row(i, 0, row)
    book.close()
    return path


def test_chinese_headers_map_by_name_and_unknown_ones_are_ignored(world: World, tmp_path: Path) -> None:
    mapping, chunks = read_table(_csv(tmp_path / "c.csv", _rows(world)), KINDS["claim"])
    assert mapping.fields["claim_no"] == "赔案号" and mapping.ignored == ["备注"]
    frame = next(chunks)
    assert frame["_row"].to_list() == [2, 3, 4] and frame["claim_no"][0] == "C0000"


def test_gb18030_files_from_excel_are_read(world: World, tmp_path: Path) -> None:
    _, chunks = read_table(_csv(tmp_path / "g.csv", _rows(world), encoding="gb18030"), KINDS["claim"])
    assert next(chunks)["line"][0] == "车险"


def test_missing_required_columns_name_the_file_and_columns(tmp_path: Path) -> None:
    path = _csv(tmp_path / "bad.csv", [["C1"]], headers=["赔案号"])
    with pytest.raises(FileProblem, match=r"bad\.csv: required columns missing: 险种大类 \(line\)"):
        read_table(path, KINDS["claim"])


def test_zip_bombs_and_wrong_types_are_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"<a>" + b" " * 50_000_000 + b"</a>")
    with pytest.raises(FileProblem, match="implausible size"):
        read_table(bomb, KINDS["claim"])
    fake = tmp_path / "fake.xlsx"
    fake.write_text("not a zip")
    with pytest.raises(FileProblem, match=r"not a valid \.xlsx"):
        read_table(fake, KINDS["claim"])
    with pytest.raises(FileProblem, match="unsupported file type"):
        read_table(_csv(tmp_path / "x.pdf", []), KINDS["claim"])


def test_import_command_dry_run_then_commit_then_idempotent(world: World, tmp_path: Path, capsys) -> None:
    path = _xlsx(tmp_path / "claims.xlsx", _rows(world, 5))
    call_command("import_records", str(path), kind="claim", tenant="alpha", dry_run=True)
    out = capsys.readouterr().out
    assert "DRY RUN" in out and "created 5" in out
    with tenant_context(world.tenant):
        assert ClaimRecord.objects.count() == 0
    call_command("import_records", str(path), kind="claim", tenant="alpha")
    call_command("import_records", str(path), kind="claim", tenant="alpha")
    out = capsys.readouterr().out
    assert "unchanged 5" in out
    with tenant_context(world.tenant):
        assert ClaimRecord.objects.count() == 5 and Batch.objects.count() == 2


def test_import_command_with_a_bad_row_writes_nothing_and_names_it(
    world: World, tmp_path: Path, capsys
) -> None:
    rows = _rows(world, 4)
    rows[3][4] = "2026-13-45"
    path = _xlsx(tmp_path / "claims.xlsx", rows)
    with pytest.raises(CommandError, match="1 of 4 rows rejected; nothing was written"):
        call_command("import_records", str(path), kind="claim", tenant="alpha")
    assert "row 5, column “报案时间”, value '2026-13-45'" in capsys.readouterr().out
    with tenant_context(world.tenant):
        assert ClaimRecord.objects.count() == 0
    call_command("import_records", str(path), kind="claim", tenant="alpha", quarantine=True)
    with tenant_context(world.tenant):
        assert ClaimRecord.objects.count() == 3
        assert "2026-13-45" in Path(Batch.objects.get().quarantine_path).read_text(encoding="utf-8-sig")


def test_import_command_file_problems_are_command_errors(world: World, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"nope\.csv: file not found"):
        call_command("import_records", str(tmp_path / "nope.csv"), kind="claim", tenant="alpha")
