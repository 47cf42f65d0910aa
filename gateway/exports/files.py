"""The file of an export, pure: tables laid out as an xlsx workbook (a sheet a table) or as CSV
(UTF-8 with a BOM, so Excel reads Chinese right; one table as one file, several as a zip of one
file each). Text that a spreadsheet would run as a formula is kept as text."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

BOM = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what Excel and its kin read as a formula (CSV injection)
SHEET_TITLE_MAX = 31  # Excel's limit
BAD_SHEET_CHARS = re.compile(r"[\\/*?:\[\]]")


class ExportFormat(StrEnum):
    XLSX = "XLSX"
    CSV = "CSV"


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
ZIP_TYPE = "application/zip"


@dataclass
class Table:
    """One part of an export: a sheet of the workbook, a CSV file. `percent` names the columns
    holding shares (0–1), shown as percentages in a workbook."""

    title: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    percent: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ExportFile:
    data: bytes
    content_type: str
    extension: str


def safe_text(value: str) -> str:
    """Text a spreadsheet shows as it is: one that would start a formula gets a leading `'`."""
    return "'" + value if value.startswith(FORMULA_START) else value


def sheet_title(title: str, taken: set[str]) -> str:
    base = BAD_SHEET_CHARS.sub("_", title)[:SHEET_TITLE_MAX] or "Sheet"
    name, n = base, 2
    while name in taken:
        suffix = f"({n})"
        name, n = base[: SHEET_TITLE_MAX - len(suffix)] + suffix, n + 1
    taken.add(name)
    return name


def xlsx(tables: list[Table]) -> bytes:
    """A workbook with a sheet per table: a bold header row, frozen; strings always as text."""
    book = Workbook(write_only=True)
    taken: set[str] = set()
    for table in tables:
        sheet = book.create_sheet(sheet_title(table.title, taken))
        sheet.freeze_panes = "A2"
        header = []
        for h in table.headers:
            cell = WriteOnlyCell(sheet, value=h)
            cell.font = Font(bold=True)
            header.append(cell)
        sheet.append(header)
        shares = [h in table.percent for h in table.headers]
        for row in table.rows:
            cells = []
            for value, share in zip(row, shares, strict=True):
                cell = WriteOnlyCell(sheet, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # never a formula, whatever it starts with
                elif share and value is not None:
                    cell.number_format = "0.00%"
                cells.append(cell)
            sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_text(table: Table) -> bytes:
    """One table as CSV: UTF-8 with a BOM, CRLF rows, formula-like text quoted as text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow(["" if v is None else safe_text(v) if isinstance(v, str) else v for v in row])
    return (BOM + out.getvalue()).encode("utf-8")


def render(tables: list[Table], fmt: ExportFormat) -> ExportFile:
    """The export's file: a workbook; or one CSV for a single table, a zip of CSVs for several."""
    if fmt is ExportFormat.XLSX:
        return ExportFile(xlsx(tables), XLSX_TYPE, "xlsx")
    if len(tables) == 1:
        return ExportFile(csv_text(tables[0]), CSV_TYPE, "csv")
    out = io.BytesIO()
    taken: set[str] = set()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for i, table in enumerate(tables, 1):
            z.writestr(f"{i}-{sheet_title(table.title, taken)}.csv", csv_text(table))
    return ExportFile(out.getvalue(), ZIP_TYPE, "zip")
