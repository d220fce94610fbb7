"""``facetrack sessions``: what has been recorded."""

from __future__ import annotations

from facetrack.storage.store import DB_NAME, Store, data_dir


def run(args) -> int:
    if not (data_dir(args.data_dir) / DB_NAME).exists():  # a new user: nothing yet is not an error
        print(f"no sessions recorded yet (in {data_dir(args.data_dir)}); start one with `facetrack exercise`")
        return 0
    with Store(args.data_dir, readonly=True) as store:
        rows = store.sessions(args.patient)
        if not rows:
            print("no sessions" + (f" for {args.patient}" if args.patient else ""))
            return 0
        print(f"{'id':>4}  {'patient':<20} {'started':<25} {'status':<10} {'kind':<8} {'movements':>9} {'reps':>5}")
        for r in rows:
            name = r["patient"] if len(r["patient"]) <= 20 else r["patient"][:19] + "~"
            print(f"{r['id']:>4}  {name:<20} {r['started_at']:<25} {r['status']:<10} {r['kind']:<8} "
                  f"{r['n_movements']:>9} {r['n_reps']:>5}")
    return 0
