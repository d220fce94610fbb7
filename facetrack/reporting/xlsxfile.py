"""Excel workbooks from :class:`facetrack.tables.Schema` s: a sheet a table, each with the header
and rows its schema defines, and a ``dictionary`` sheet (the CSV data dictionary of every sheet).

Cells hold what the CSV holds: numbers as numbers (missing ones empty), text made inert for
spreadsheets exactly as in the CSV (:func:`facetrack.reporting.csvfile.format_cell`), times as
ISO 8601 text with their zone (an Excel date has no time zone).  Written owner-only to
``<path>.partial`` and renamed on success, like the CSVs.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from facetrack.reporting.csvfile import DICTIONARY_HEADER, dictionary_rows, format_cell, open_private
from facetrack.tables import Schema

DICTIONARY_SHEET = "dictionary"


def xlsx_cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return None if math.isnan(value) or math.isinf(value) else value
    return format_cell(value)


def write_xlsx(path: Path, sheets: Sequence[tuple[str, Schema, Iterable[Sequence[Any]]]]) -> dict[str, int]:
    """One sheet per (name, schema, rows), then the dictionary sheet; returns rows per sheet."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    wb = Workbook(write_only=True)
    counts: dict[str, int] = {}
    bold = Font(bold=True)

    def header(ws, names) -> None:
        ws.freeze_panes = "A2"  # the header stays in view (set before the first row: a streamed sheet)
        cells = []
        for n in names:
            cell = WriteOnlyCell(ws, value=n)
            cell.font = bold
            cells.append(cell)
        ws.append(cells)

    try:
        for name, schema, rows in sheets:
            ws = wb.create_sheet(name)
            header(ws, schema.names)
            counts[name] = 0
            for row in rows:
                ws.append([xlsx_cell(v) for v in row])
                counts[name] += 1
        ws = wb.create_sheet(DICTIONARY_SHEET)
        header(ws, ("sheet", *DICTIONARY_HEADER))
        for name, schema, _ in sheets:
            for entry in dictionary_rows(schema):
                ws.append([name, *(xlsx_cell(v) for v in entry)])
        with open_private(tmp, binary=True) as fh:
            wb.save(fh)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return counts
