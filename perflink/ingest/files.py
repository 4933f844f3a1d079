"""Reading CSV and XLSX files as streams of raw text chunks, with header mapping and safety checks.

CSV is read with pyarrow's streaming reader (bounded memory whatever the file size); the encoding is
UTF-8 (with or without BOM) or, failing that, GB18030 as Excel writes it on Chinese Windows. XLSX is
checked as a zip first (size, compression ratio, no external links), then read with calamine, which
does not resolve external entities.
"""

from __future__ import annotations

import csv
import math
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import polars as pl

from perflink.ingest.kinds import EXTERNAL_ID, KindSpec, header_index, normalise_header

MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_XLSX_UNCOMPRESSED = 2 * 1024 * 1024 * 1024
MAX_XLSX_RATIO = 200
CHUNK_ROWS = 50_000


class FileProblem(ValueError):
    """The file as a whole cannot be imported (type, size, encoding, headers). Names the file."""

    def __init__(self, path: str | Path, message: str) -> None:
        super().__init__(f"{Path(path).name}: {message}")
        self.path = str(path)
        self.message = message


@dataclass
class Mapping:
    """How the file's headers map to canonical fields."""

    fields: dict[str, str]  # canonical field -> header text in the file
    ignored: list[str] = field(default_factory=list)  # headers that map to nothing
    positions: dict[str, int] = field(default_factory=dict)  # canonical field -> column position


def map_headers(
    path: str | Path, headers: list[str], spec: KindSpec, custom: dict[str, str] | None = None
) -> Mapping:
    """Map by header NAME (never by position): custom mapping first, then built-in synonyms."""
    index = header_index(spec)
    custom_norm = {normalise_header(k): v for k, v in (custom or {}).items()}
    mapping = Mapping(fields={})
    for pos, header in enumerate(headers):
        key = normalise_header(header)
        target = custom_norm.get(key) or index.get(key)
        if not key:
            continue
        if target is None:
            mapping.ignored.append(header)
            continue
        if target in mapping.fields:
            raise FileProblem(path, f"columns “{mapping.fields[target]}” and “{header}” both map to {target}")
        mapping.fields[target] = header
        mapping.positions[target] = pos
    missing = [f for f in spec.fields if f.required and f.name not in mapping.fields]
    if spec.key == "external_id" and "external_id" not in mapping.fields:
        missing.insert(0, EXTERNAL_ID)
    if missing:
        names = ", ".join(f"{f.label} ({f.name})" for f in missing)
        raise FileProblem(
            path, f"required columns missing: {names}. Rename the headers or save a column mapping."
        )
    return mapping


def _detect_encoding(path: Path) -> str:
    head = path.open("rb").read(1 << 20)
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the buffer's end
            return "gb18030"
    return "utf-8"


def _check_size(path: Path) -> None:
    if not path.exists():
        raise FileProblem(path, "file not found")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise FileProblem(path, f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it into parts")
    if path.stat().st_size == 0:
        raise FileProblem(path, "the file is empty")


def read_table(
    path: str | Path, spec: KindSpec, custom: dict[str, str] | None = None, chunk_rows: int = CHUNK_ROWS
) -> tuple[Mapping, Iterator[pl.DataFrame]]:
    """Open a CSV or XLSX file: its header mapping, and an iterator of raw chunks
    (String columns named by canonical field, plus `_row`, the row number as the user sees it)."""
    path = Path(path)
    _check_size(path)
    suffix = path.suffix.lower()
    if suffix in {".csv", ".txt", ".tsv"}:
        return _read_csv(path, spec, custom, chunk_rows)
    if suffix in {".xlsx", ".xlsm"}:
        return _read_xlsx(path, spec, custom, chunk_rows)
    if suffix == ".xls":
        raise FileProblem(path, "old .xls files are not supported; save it as .xlsx or .csv in Excel")
    raise FileProblem(path, "unsupported file type; use .csv or .xlsx")


def _csv_dialect(path: Path) -> tuple[str, str, list[str]]:
    """The encoding, the delimiter (sniffed from the header line) and the header names of a CSV file."""
    encoding = _detect_encoding(path)
    with path.open("r", encoding=encoding, errors="replace", newline="") as fh:
        first_line = fh.readline()
    delimiter = max([",", "\t", ";", "|"], key=first_line.count)
    return encoding, delimiter, next(csv.reader([first_line], delimiter=delimiter), [])


def _read_csv(
    path: Path, spec: KindSpec, custom: dict[str, str] | None, chunk_rows: int
) -> tuple[Mapping, Iterator[pl.DataFrame]]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    encoding, delimiter, header_names = _csv_dialect(path)
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(
                encoding=encoding, block_size=8 << 20, autogenerate_column_names=False
            ),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                # Every cell stays text (leading zeros of employee numbers survive); cleaning types them.
                column_types=dict.fromkeys(header_names, pa.string()),
                strings_can_be_null=False,
                auto_dict_encode=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise FileProblem(path, f"cannot read as CSV: {exc}") from exc
    headers = [str(n) for n in reader.schema.names]
    mapping = map_headers(path, headers, spec, custom)
    wanted = {pos: name for name, pos in mapping.positions.items()}

    def chunks() -> Iterator[pl.DataFrame]:
        row = 2
        pending: list[pl.DataFrame] = []
        size = 0
        try:
            for batch in reader:
                frame = pl.from_arrow(pa.Table.from_batches([batch]))
                assert isinstance(frame, pl.DataFrame)
                cols = frame.columns
                frame = frame.select([pl.col(cols[p]).cast(pl.String).alias(n) for p, n in wanted.items()])
                frame = frame.with_columns(
                    pl.int_range(row, row + frame.height, dtype=pl.Int64).alias("_row")
                )
                row += frame.height
                pending.append(frame)
                size += frame.height
                if size >= chunk_rows:
                    yield pl.concat(pending)
                    pending, size = [], 0
        except pa.ArrowInvalid as exc:
            raise FileProblem(path, f"malformed CSV near row {row}: {exc}") from exc
        if pending:
            yield pl.concat(pending)

    return mapping, chunks()


def _xlsx_safety(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            total = sum(i.file_size for i in infos)
            packed = sum(i.compress_size for i in infos) or 1
            if total > MAX_XLSX_UNCOMPRESSED or total / packed > MAX_XLSX_RATIO:
                raise FileProblem(path, "the workbook expands to an implausible size (a zip bomb?); refused")
            if any(i.filename.startswith("xl/externalLinks/") for i in infos):
                raise FileProblem(
                    path, "the workbook links to external files; remove the links and save again"
                )
    except zipfile.BadZipFile as exc:
        raise FileProblem(path, "not a valid .xlsx file (is it an old .xls renamed?)") from exc


def _cell_text(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        # The shortest spelling that reads back as the same float is what was typed (115744.7737, 2.675),
        # never the binary expansion (2.67499999…); written out without an exponent (1e-05 -> 0.00001).
        return format(Decimal(repr(value)), "f") if math.isfinite(value) else repr(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    return str(value)


def _xlsx_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, list[Any]]]]:
    """The first sheet of a checked workbook: the header row's text, and an iterator of the non-empty
    rows after it with their row numbers as Excel shows them."""
    from python_calamine import CalamineWorkbook

    _xlsx_safety(path)
    try:
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).iter_rows()
    except Exception as exc:  # calamine raises its own error types
        raise FileProblem(path, f"cannot read the workbook: {exc}") from exc
    header_row_no = 0
    headers: list[str] = []
    for values in rows:
        header_row_no += 1
        headers = [_cell_text(v) or "" for v in values]
        if any(headers):
            break
    if not any(headers):
        raise FileProblem(path, "the first sheet has no header row")

    def body() -> Iterator[tuple[int, list[Any]]]:
        for row_no, values in enumerate(rows, start=header_row_no + 1):
            if any(v not in (None, "") for v in values):
                yield row_no, values

    return headers, body()


def _read_xlsx(
    path: Path, spec: KindSpec, custom: dict[str, str] | None, chunk_rows: int
) -> tuple[Mapping, Iterator[pl.DataFrame]]:
    headers, rows = _xlsx_rows(path)
    mapping = map_headers(path, headers, spec, custom)
    wanted = list(mapping.positions.items())

    def chunks() -> Iterator[pl.DataFrame]:
        buf: dict[str, list[str | None]] = {name: [] for name, _ in wanted}
        numbers: list[int] = []
        for row_no, values in rows:
            for name, pos in wanted:
                buf[name].append(_cell_text(values[pos]) if pos < len(values) else None)
            numbers.append(row_no)
            if len(numbers) >= chunk_rows:
                yield _frame(buf, numbers)
                buf = {name: [] for name, _ in wanted}
                numbers = []
        if numbers:
            yield _frame(buf, numbers)

    return mapping, chunks()


def peek(path: str | Path, n: int = 10) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header row and the first `n` non-empty rows as text, with the row numbers an import
    reports errors with (for the mapping preview). Same checks and decoding as `read_table`."""
    path = Path(path)
    _check_size(path)
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        headers, body = _xlsx_rows(path)
        return headers, [(no, [_cell_text(v) or "" for v in values]) for no, values in islice(body, n)]
    encoding, delimiter, _ = _csv_dialect(path)
    with path.open("r", encoding=encoding, errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        headers = next(reader, [])
        rows = ((no, values) for no, values in enumerate(reader, start=2) if values)
        return headers, list(islice(rows, n))


def _frame(buf: dict[str, list[str | None]], numbers: list[int]) -> pl.DataFrame:
    data: dict[str, pl.Series] = {k: pl.Series(k, v, dtype=pl.String) for k, v in buf.items()}
    data["_row"] = pl.Series("_row", numbers, dtype=pl.Int64)
    return pl.DataFrame(data)
