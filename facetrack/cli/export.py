"""``facetrack export``: tidy CSV for clinicians, a data dictionary beside it."""

from __future__ import annotations

from facetrack.reporting.csvfile import dictionary_path
from facetrack.reporting.export import export
from facetrack.storage.store import Store


def run(args) -> int:
    with Store(args.data_dir, readonly=True) as store:
        path, n = export(store, args.level, args.out, args.patient, getattr(args, "from"), args.to,
                         args.pseudonymise, args.overwrite)
    print(f"{n} rows ({args.level}) written to {path}; data dictionary: {dictionary_path(path)}")
    return 0
