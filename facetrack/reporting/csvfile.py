"""CSV files from a :class:`facetrack.tables.Schema`: the header, the rows and the data dictionary
come from one definition.

:class:`CsvWriter` writes the header and rows from it, and ``write_dictionary`` writes ``<name>.dictionary.csv`` (column, unit, meaning)
beside the file, so a clinician re-analysing an export never has to guess.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

from facetrack.tables import Schema

# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def format_cell(value: Any) -> str:
    """Numbers compactly, missing as empty, text made inert for spreadsheets."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return ""
        return f"{value:.9g}" if abs(value) >= 1e5 else (f"{value:.6f}".rstrip("0").rstrip(".") or "0")
    if isinstance(value, (int,)):
        return str(value)
    text = str(value)
    try:
        float(text)
        return text  # a plain number is data, not a formula
    except ValueError:
        pass
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def dictionary_path(csv_path: Path) -> Path:
    return csv_path.with_name(csv_path.stem + ".dictionary.csv")


def write_dictionary(schema: Schema, csv_path: Path) -> Path:
    path = dictionary_path(csv_path)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", newline="", encoding="utf-8") as fh:
        os.chmod(path, 0o600)  # an older dictionary left by a previous export keeps no wider mode
        out = csv.writer(fh)
        out.writerow(["column", "unit", "meaning"])
        for c in schema.columns:
            out.writerow([c.name, c.unit, c.meaning])
    return path


class CsvWriter:
    """Writes to ``<path>.partial`` and renames on success, so a crash never leaves a
    half-written file under the final name."""

    def __init__(self, path: Path, schema: Schema):
        self.path = Path(path)
        self.schema = schema
        self._tmp = self.path.with_name(self.path.name + ".partial")
        # created owner-only: a patient's measures are never readable by others, not even briefly
        self._fh = open(os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", newline="",
                        encoding="utf-8")
        os.chmod(self._tmp, 0o600)
        self._out = csv.writer(self._fh)
        self._out.writerow(schema.names)

    def write(self, row: Sequence[Any]) -> None:
        self._out.writerow([format_cell(v) for v in row])

    def write_formatted(self, cells: Iterable[str]) -> None:
        """Rows already formatted by the caller (the per-frame hot path)."""
        self._out.writerow(cells)

    def close(self) -> Path:
        self._fh.close()
        os.replace(self._tmp, self.path)
        write_dictionary(self.schema, self.path)
        return self.path

    def abort(self) -> None:
        self._fh.close()
        self._tmp.unlink(missing_ok=True)
