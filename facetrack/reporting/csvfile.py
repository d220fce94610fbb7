"""CSV files from a :class:`facetrack.tables.Schema`: the header, the rows and the data dictionary
come from one definition.

:class:`CsvWriter` writes the header and rows from it, and ``write_dictionary`` writes
``<name>.dictionary.csv`` (column, unit, meaning, which way is positive, source) beside the
file, so a clinician re-analysing an export never has to guess.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

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


def open_private(path: Path, binary: bool = False) -> IO[Any]:
    """``path`` opened for writing, owner-only from its first byte (a patient's measures are
    never readable by others, not even briefly), also when it replaces an older, wider file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return open(fd, "wb") if binary else open(fd, "w", newline="", encoding="utf-8")


DICTIONARY_HEADER = ("column", "unit", "meaning", "positive", "source")


def dictionary_rows(schema: Schema) -> list[tuple[str, ...]]:
    """The data dictionary: every column with its unit, meaning, which way is positive (signed
    measures) and where it comes from."""
    return [(c.name, c.unit, c.meaning, c.positive, c.source) for c in schema.columns]


def dictionary_path(csv_path: Path) -> Path:
    return csv_path.with_name(csv_path.stem + ".dictionary.csv")


def write_dictionary(schema: Schema, csv_path: Path) -> Path:
    path = dictionary_path(csv_path)
    with open_private(path) as fh:
        out = csv.writer(fh)
        out.writerow(DICTIONARY_HEADER)
        out.writerows(dictionary_rows(schema))
    return path


class CsvWriter:
    """Writes to ``<path>.partial`` and renames on success, so a crash never leaves a
    half-written file under the final name."""

    def __init__(self, path: Path, schema: Schema):
        self.path = Path(path)
        self.schema = schema
        self._tmp = self.path.with_name(self.path.name + ".partial")
        self._fh = open_private(self._tmp)
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
