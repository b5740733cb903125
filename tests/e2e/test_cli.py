"""The installed ``attendance`` command against the running system."""
from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import requests

from shared import imaging
from tests.e2e.conftest import ENROLLED, HELD_OUT, ROLL_NOS, Api, display_name, photos

CLI = Path(sys.executable).with_name("attendance")
PEOPLE = ENROLLED + [HELD_OUT]


def run(api, *args: str, check: bool = True, **env_vars: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ATTENDANCE_URL=api.base, ATTENDANCE_OPERATOR="Ms. Rao", **env_vars)
    done = subprocess.run([str(CLI), *args], env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert done.returncode == 0, f"attendance {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


def test_the_command_is_installed():
    assert CLI.is_file(), f"{CLI} missing: scripts/setup.sh installs the project into the virtualenv"


def test_recognize_prints_records_like_the_prototype(api, enrolled):
    out = run(api, "recognize", str(photos("val", "madonna")[0])).stdout
    record = requests.get(api.url(f"/persons/{enrolled['madonna']['person']['rollNo']}"), timeout=10).json()
    assert "{'rollNo': '%s', 'name': 'Madonna', 'fatherName': 'Father of Madonna', 'department': 'CEL', " \
           "'contact': '9876543210', 'images_count': %d}" % (record["rollNo"], record["images_count"]) in out
    stranger = run(api, "recognize", str(photos("val", HELD_OUT)[0])).stdout
    assert "unknown (nearest:" in stranger


def test_a_teachers_day(api, enrolled, tmp_path):
    ben, elton = ROLL_NOS["ben_afflek"], ROLL_NOS["elton_john"]
    created = run(api, "session", "create", "Physics 2", "--roster", f"{ben},{elton}", "--minutes", "90",
                  "--grace", "10").stdout
    session_id = re.search(r"session (\w+) created", created).group(1)
    checked = run(api, "checkin", session_id, str(photos("val", "ben_afflek")[2]),
                  str(photos("val", "madonna")[2])).stdout
    assert f"marked present: {ben}" in checked
    assert f"not on the roster: {ROLL_NOS['madonna']}" in checked
    run(api, "mark", session_id, elton, "--late", "--reason", "came in after the break")
    report = run(api, "report", "session", session_id, TZ="Asia/Kolkata").stdout
    assert "present 1, late 1, absent 0 of 2" in report
    assert "+05:30 (Asia/Kolkata)" in report  # the teacher's clock, not UTC
    register = tmp_path / "physics.html"
    run(api, "report", "session", session_id, "--html", str(register), "--tz", "Asia/Kolkata")
    assert "Time (Asia/Kolkata)" in register.read_text() and "Signature" in register.read_text()
    export = tmp_path / "physics.csv"
    run(api, "report", "session", session_id, "--csv", str(export))
    rows = {r["rollNo"]: r["status"] for r in csv.DictReader(export.open())}
    assert rows == {ben: "present", elton: "late"}
    audit = run(api, "audit", session_id).stdout
    assert "by Ms. Rao: came in after the break" in audit
    assert "by check-in: recognized in photo" in audit
    assert "%" in run(api, "report", "person", ben).stdout
    assert ben in run(api, "report", "department", "CEL").stdout
    run(api, "session", "close", session_id)
    refused = run(api, "checkin", session_id, str(photos("val", "ben_afflek")[3]), check=False)
    assert refused.returncode == 1 and "closed" in refused.stderr


def person_folder(tmp_path: Path, people: dict[str, str], limit: int | None = None) -> Path:
    folder = tmp_path / "photos"
    for roll_no, person in people.items():
        (folder / roll_no).mkdir(parents=True)
        for path in photos("train", person)[:limit]:
            (folder / roll_no / path.name).write_bytes(path.read_bytes())
    return folder


def details(tmp_path: Path, lines: list[str], header: str = "rollNo,name,fatherName,department,contact") -> Path:
    path = tmp_path / "details.csv"
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


@pytest.fixture
def cleanup(api):
    made: list[str] = []
    yield made
    for roll_no in made:
        requests.delete(api.url(f"/persons/{roll_no}"), timeout=10)


def test_bulk_enroll_of_the_whole_train_set(api, enrolled, tmp_path, cleanup):
    people = {f"BULK-{i + 1}": person for i, person in enumerate(PEOPLE)}
    cleanup.extend(people)
    folder = person_folder(tmp_path, people)
    csv_path = details(tmp_path, [f"{r},{display_name(p)},,BULK,555" for r, p in people.items()])
    started = time.monotonic()
    # The same five people are enrolled already under other rollNos: lookalikes, enrolled on purpose.
    done = run(api, "bulk-enroll", str(folder), "--details", str(csv_path), "--allow-lookalikes")
    seconds = time.monotonic() - started
    total = sum(len(photos("train", p)) for p in PEOPLE)
    assert total == 93
    summary = re.search(r"Enrolled (\d+) of 5 people; (\d+) of 93 photos accepted, (\d+) refused", done.stdout)
    assert summary, done.stdout
    accepted, refused = int(summary.group(2)), int(summary.group(3))
    assert summary.group(1) == "5" and accepted + refused == 93 and accepted >= 80
    assert done.stdout.count("several faces") + done.stdout.count("no face") + \
        done.stdout.count("face too small") == refused
    assert "5/5" in done.stderr  # the progress bar reached the end
    counts = {r: requests.get(api.url(f"/persons/{r}"), timeout=10).json()["images_count"] for r in people}
    assert sum(counts.values()) == accepted
    print(f"\nbulk enroll via CLI: 93 photos of 5 people in {seconds:.1f} s ({accepted} accepted)")
    listed = run(api, "persons", "--department", "BULK").stdout
    assert all(r in listed for r in people)


def test_bulk_enroll_refuses_a_bad_csv_unless_asked(api, enrolled, tmp_path, cleanup):
    people = {"CSV-1": "ben_afflek", "CSV-2": "elton_john"}
    cleanup.extend(people)
    folder = person_folder(tmp_path, people, limit=2)

    missing = run(api, "bulk-enroll", str(folder), "--details",
                  str(details(tmp_path, ["CSV-1,Ben"], header="rollNo,name")), check=False)
    assert missing.returncode == 2 and "missing column(s) fatherName, department, contact" in missing.stderr

    lines = ["CSV-1,Ben,,X,", "CSV-2,Elton,,X,", "CSV-2,Elton twice,,X,", "CSV-3,No Photos,,X,"]
    bad = run(api, "bulk-enroll", str(folder), "--details", str(details(tmp_path, lines)), check=False)
    assert bad.returncode == 2
    assert "line 3: duplicate rollNo CSV-2 (also on line 4)" in bad.stderr
    assert "line 5: no photo folder" in bad.stderr and "nothing imported" in bad.stderr
    assert requests.get(api.url("/persons/CSV-1"), timeout=10).status_code == 404

    good_only = run(api, "bulk-enroll", str(folder), "--details", str(details(tmp_path, lines)), "--import-valid")
    assert "Enrolled 1 of 1 people" in good_only.stdout
    assert requests.get(api.url("/persons/CSV-1"), timeout=10).status_code == 200
    assert requests.get(api.url("/persons/CSV-2"), timeout=10).status_code == 404


def test_photos_beyond_one_request_go_in_several(api, stack, enrolled, tmp_path, cleanup):
    """A gateway that takes at most 60 kB per request (real phone photos against
    the default 10 MiB are the same story): the CLI enrolls 12 photos of ~20 kB
    and checks in 5 frames in several requests, and reports a photo too large to
    send at all, instead of failing the whole person."""
    small = stack.start("gateway-small", "gateway", MAX_UPLOAD_BYTES="60000")
    stack.wait_ready("gateway-small")
    try:
        roll_no = "SMALL-1"
        cleanup.append(roll_no)
        train = photos("train", HELD_OUT)[:12]
        oversized = tmp_path / "oversized.jpg"
        noise = np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)
        oversized.write_bytes(imaging.encode_jpeg(noise, quality=100))
        assert oversized.stat().st_size > 60000
        done = run(Api(small.url), "enroll", roll_no, "Mindy Kaling", *map(str, train), str(oversized))
        assert "refused oversized.jpg: image too large" in done.stdout
        accepted = int(re.search(r"(\d+) of 13 photos accepted", done.stdout).group(1))
        assert accepted >= 10
        assert requests.get(api.url(f"/persons/{roll_no}"), timeout=10).json()["images_count"] == accepted

        created = run(api, "session", "create", "Small uploads", "--roster", roll_no).stdout
        session_id = re.search(r"session (\w+) created", created).group(1)
        frames = photos("val", HELD_OUT)
        assert sum(p.stat().st_size for p in frames) > 60000
        checked = run(Api(small.url), "checkin", session_id, *map(str, frames)).stdout
        assert checked.count(f"marked present: {roll_no}") == 1 and "already marked" not in checked
        log = requests.get(api.url(f"/sessions/{session_id}/checkins"), timeout=10).json()["checkins"]
        assert sorted(e["filename"] for e in log) == sorted(p.name for p in frames)
        run(api, "session", "delete", session_id)
    finally:
        stack.retire("gateway-small")
