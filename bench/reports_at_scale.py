"""How fast are attendance reports over a year of data?

Fills a scratch database (on MONGO_URI: FerretDB locally, MongoDB in
production) with one department of 60 students and a year of sessions - 5 a
day, 365 days, 1,825 sessions, each with the 60 on its roster - and about 90 %
of them marked (~98,000 marks), stored as the store stores them, then builds
the read models from them (``AttendanceStore.rebuild_read_models``: what
``ensure_indexes`` does once for a database written before they existed).
Then times each report, and the writes that keep the read models (a mark by
check-in, a correction by hand, a session created), through the gateway's real
Flask app and storage code (no pipeline needed), 5 runs each (medians), and
writes bench/reports/reports-at-scale.json. The scratch database is dropped.

    .venv/bin/python -m bench.reports_at_scale [--days 365] [--students 60]   (from the repository root)
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time
import uuid

from attendance.store import AttendanceStore, mark_id  # noqa: E402
from bench.report import write_report  # noqa: E402
from services.gateway.api import create_app  # noqa: E402
from services.gateway.pipeline import PipelineClient  # noqa: E402
from shared import config  # noqa: E402
from shared.storage import Storage  # noqa: E402

SESSIONS_PER_DAY = 5


def fill(storage: Storage, store: AttendanceStore, days: int, students: int) -> tuple[int, int]:
    rng = random.Random(7)
    roster = [f"Y{i:04d}" for i in range(students)]
    storage.persons.insert_many([{"rollNo": r, "name": f"Student {r}", "fatherName": "", "department": "YEAR",
                                  "contact": "", "images_count": 5} for r in roster])
    first = dt.datetime(2025, 12, 1, 9, tzinfo=dt.timezone.utc)
    sessions, marks = [], []
    for day in range(days):
        for slot in range(SESSIONS_PER_DAY):
            start = first + dt.timedelta(days=day, hours=slot)
            session = dict(store.session_document({
                "name": f"Lecture {day}-{slot}", "department": "YEAR", "roster": roster, "starts_at": start,
                "ends_at": start + dt.timedelta(minutes=50), "grace_minutes": 10}), status="closed", created_at=start)
            sid = session["_id"]
            sessions.append(session)
            for roll_no in roster:
                if rng.random() < 0.9:
                    late = rng.random() < 0.1
                    marks.append({"_id": mark_id(sid, roll_no), "session_id": sid, "rollNo": roll_no,
                                  "status": "late" if late else "present",
                                  "marked_at": start + dt.timedelta(minutes=20 if late else 2),
                                  "similarity": 0.8, "photo": "door.jpg", "photo_hash": "x", "source": "photo"})
    store.sessions.insert_many(sessions)
    for i in range(0, len(marks), 5000):
        store.marks.insert_many(marks[i:i + 5000])
    return len(sessions), len(marks)


def timed(client, path: str, runs: int = 5, method: str = "get", bodies=None) -> dict:
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        resp = getattr(client, method)(path, json=bodies(i) if bodies else None)
        times.append(time.perf_counter() - t0)
        assert resp.status_code in (200, 201), resp.get_data(as_text=True)
    return {"median_s": round(statistics.median(times), 4), "max_s": round(max(times), 4),
            "bytes": len(resp.get_data())}


def timed_call(fn, runs: int = 5) -> dict:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"median_s": round(statistics.median(times), 4), "max_s": round(max(times), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--students", type=int, default=60)
    args = parser.parse_args()
    settings = config.load()
    db_name = f"attendance_bench_{uuid.uuid4().hex[:8]}"
    storage = Storage(settings.mongo_uri, db_name)
    store = AttendanceStore(storage)
    try:
        storage.ensure_indexes()
        store.ensure_indexes()
        t0 = time.perf_counter()
        n_sessions, n_marks = fill(storage, store, args.days, args.students)
        fill_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        store.rebuild_read_models()
        rebuild_seconds = time.perf_counter() - t0
        app = create_app(settings, PipelineClient(settings), storage, store)  # pipeline not started: not needed
        client = app.test_client()
        one_session = store.sessions.find_one({}, sort=[("starts_at", -1)])["_id"]
        figures = {
            "session report (60 rows)": timed(client, f"/api/v1/sessions/{one_session}/report"),
            "session report CSV": timed(client, f"/api/v1/sessions/{one_session}/report?format=csv"),
            "person report, whole year": timed(client, "/api/v1/persons/Y0007/report?from=2025-11-01&to=2026-12-31"),
            "department report, whole year": timed(
                client, "/api/v1/departments/YEAR/report?from=2025-11-01&to=2026-12-31"),
            "department report, one month": timed(
                client, "/api/v1/departments/YEAR/report?from=2026-03-01&to=2026-03-31"),
            "sessions of one month": timed(client, "/api/v1/sessions?from=2026-03-01&to=2026-03-31"),
            "session overview": timed(client, f"/api/v1/sessions/{one_session}"),
        }
        first = dt.datetime(2025, 12, 1, 9, tzinfo=dt.timezone.utc)
        open_one = client.post("/api/v1/sessions", json={
            "name": "Bench", "department": "YEAR", "starts_at": (first + dt.timedelta(days=100)).isoformat(),
            "ends_at": (first + dt.timedelta(days=100, hours=1)).isoformat()}).get_json()["id"]
        check_ins = iter(range(args.students))
        writes = {
            "create a session (department roster)": timed(client, "/api/v1/sessions", method="post", bodies=lambda i: {
                "name": f"New {i}", "department": "YEAR", "starts_at": (first + dt.timedelta(days=i)).isoformat(),
                "ends_at": (first + dt.timedelta(days=i, hours=1)).isoformat()}),
            "a mark by check-in (store.add_mark)": timed_call(lambda: store.add_mark({
                "session_id": open_one, "rollNo": f"Y{next(check_ins):04d}", "status": "present",
                "marked_at": first, "similarity": 0.8, "photo": "door.jpg", "photo_hash": "x", "source": "photo"},
                by="check-in", reason="bench")),
            "a correction by hand": timed(client, f"/api/v1/sessions/{one_session}/marks", method="post",
                                          bodies=lambda i: {"rollNo": "Y0003", "reason": "bench", "by": "bench",
                                                            "status": ("late", "present")[i % 2]}),
        }
        write_report("reports-at-scale", {
            "database": settings.mongo_uri, "sessions": n_sessions, "marks": n_marks,
            "students": args.students, "fill_seconds": round(fill_seconds, 1),
            "read_models_built_seconds": round(rebuild_seconds, 1), "reports": figures, "writes": writes})
    finally:
        storage.client.drop_database(db_name)


if __name__ == "__main__":
    main()
