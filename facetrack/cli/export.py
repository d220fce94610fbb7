"""``facetrack export``: tidy CSV (or an Excel workbook) for clinicians, a data dictionary beside it."""

from __future__ import annotations

from facetrack.reporting.csvfile import dictionary_path
from facetrack.reporting.export import export, export_format
from facetrack.reporting.xlsxfile import DICTIONARY_SHEET
from facetrack.storage.store import Store


def run(args) -> int:
    with Store(args.data_dir, readonly=True) as store:
        path, counts = export(
            store,
            args.level,
            args.out,
            args.patient,
            getattr(args, "from"),
            args.to,
            args.pseudonymise,
            args.overwrite,
            args.format,
        )
    rows = ", ".join(f"{n} row{'' if n == 1 else 's'} ({level})" for level, n in counts.items())
    xlsx = export_format(path, args.format) == "xlsx"
    where = f"its {DICTIONARY_SHEET!r} sheet" if xlsx else dictionary_path(path)
    print(f"{rows} written to {path}; data dictionary: {where}")
    return 0
