"""A blank file per kind to fill in: the columns as the import reads them, a required one
marked `*`; an `.xlsx` template has a second sheet, 说明, saying what each column takes."""

from __future__ import annotations

import csv
import io

from shared.onboarding.kinds import Kind

FORMATS = ("xlsx", "csv")


def header_cells(kind: Kind) -> list[str]:
    return [f"*{c.header}" if c.required else c.header for c in kind.columns]


def template(kind: Kind, fmt: str = "xlsx") -> bytes:
    if fmt == "csv":
        text = io.StringIO(newline="")
        csv.writer(text).writerow(header_cells(kind))
        return ("\ufeff" + text.getvalue()).encode("utf-8")  # the BOM: Excel then reads it as UTF-8
    if fmt != "xlsx":
        raise ValueError(f"a template is one of {', '.join(FORMATS)}")
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = kind.title
    ws.append(header_cells(kind))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.number_format = "@"
    for i, c in enumerate(kind.columns, start=1):
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = max(12, len(c.header) * 2 + 4)
        if c.key in ("id_number", "phone", "code", "number") or "编码" in c.header:
            for row in range(2, 1002):  # text cells: an ID number or a code keeps every digit
                ws.cell(row=row, column=i).number_format = "@"
    notes = wb.create_sheet("说明")
    notes.append(["列", "必填", "说明", "示例"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for c in kind.columns:
        notes.append([c.header, "是" if c.required else "", c.note, c.example])
    notes.append([])
    notes.append([kind.note])
    for letter, width in (("A", 16), ("B", 6), ("C", 70), ("D", 24)):
        notes.column_dimensions[letter].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
