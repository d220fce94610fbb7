"""``facetrack report``: the HTML report with its plots, and the one-page PDF."""

from __future__ import annotations

from facetrack.reporting.report import build_report
from facetrack.storage.store import Store


def run(args) -> int:
    with Store(args.data_dir, readonly=True) as store:
        page = build_report(store, args.out, args.patient, args.session)
    print(f"report: {page} (plots as PNG and a one-page report.pdf beside it)")
    return 0
