"""Attendance end to end: sessions, check-ins from real photos, corrections, reports."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pymongo
import pytest
import requests

from shared import imaging
from tests.e2e.conftest import HELD_OUT, ROLL_NOS, photos

NO_SHOW = "ATT-NOSHOW"
BEN, ELTON, JERRY, MADONNA = (ROLL_NOS[p] for p in ("ben_afflek", "elton_john", "jerry_seinfeld", "madonna"))
UTC = dt.timezone.utc


def iso(t: dt.datetime) -> str:
    return t.isoformat()


def val(person: str, i: int) -> tuple[str, bytes]:
    path = photos("val", person)[i]
    return path.name, path.read_bytes()


def checkin(api, session_id: str, images: list[tuple[str, bytes]], **form) -> requests.Response:
    return requests.post(api.url(f"/sessions/{session_id}/checkins"), data=form,
                         files=[("images", (n, b, "image/jpeg")) for n, b in images], timeout=120)


def ok(resp, status: int = 200) -> dict:
    assert resp.status_code == status, resp.text
    return resp.json()


@pytest.fixture
def no_show(api, enrolled):
    """A fifth enrolled person, who is never photographed (removed afterwards so
    that the recognition tests still see them as a stranger)."""
    ok(api.enroll(NO_SHOW, "Mindy Kaling", photos("train", HELD_OUT)[:5], department="CEL"), 201)
    yield NO_SHOW
    requests.delete(api.url(f"/persons/{NO_SHOW}"), timeout=10)


def test_checkin_reports_strangers_and_people_off_the_roster(api, enrolled):
    now = dt.datetime.now(UTC)
    session = ok(requests.post(api.url("/sessions"), json={
        "name": "Small group", "roster": [BEN, ELTON], "starts_at": iso(now - dt.timedelta(minutes=1)),
        "ends_at": iso(now + dt.timedelta(hours=1))}, timeout=10), 201)
    body = ok(checkin(api, session["id"], [val("madonna", 0), val(HELD_OUT, 0)]))
    assert body["marked"] == [] and body["already_marked"] == []
    assert [p["rollNo"] for p in body["not_on_roster"]] == [MADONNA]
    assert body["unknown_faces"] == 1
    report = ok(requests.get(api.url(f"/sessions/{session['id']}/report"), timeout=10))
    assert report["counts"] == {"present": 0, "late": 0, "absent": 2}


def test_a_lecture_from_roster_to_report(api, enrolled, no_show, stack):
    start = dt.datetime.now(UTC) - dt.timedelta(minutes=5)
    end = start + dt.timedelta(hours=2)
    session = ok(requests.post(api.url("/sessions"), json={
        "name": "CS101 Lecture 7", "department": "CEL", "roster": [BEN, ELTON, JERRY, MADONNA, NO_SHOW],
        "starts_at": iso(start), "ends_at": iso(end), "grace_minutes": 15}, timeout=10), 201)
    sid = session["id"]
    assert session["roster"] == sorted([BEN, ELTON, JERRY, MADONNA, NO_SHOW]) and session["status"] == "open"

    # A door camera: Ben twice (two frames), Elton once, all in one request.
    first = ok(checkin(api, sid, [val("ben_afflek", 0), val("elton_john", 0), val("ben_afflek", 1)]))
    assert sorted(m["rollNo"] for m in first["marked"]) == [BEN, ELTON]
    assert {m["status"] for m in first["marked"]} == {"present"}
    # The same photo again, and a classroom shot with Jerry and Elton side by side.
    again = ok(checkin(api, sid, [val("ben_afflek", 0)]))
    assert again["marked"] == [] and again["already_marked"] == [BEN]
    both = imaging.encode_jpeg(imaging.side_by_side(imaging.decode_image(val("jerry_seinfeld", 0)[1]),
                                                    imaging.decode_image(val("elton_john", 1)[1])))
    room = ok(checkin(api, sid, [("classroom.jpg", both)]))
    assert [m["rollNo"] for m in room["marked"]] == [JERRY] and room["already_marked"] == [ELTON]

    # Madonna arrives 30 minutes in: past the 15 minutes of grace.
    late = ok(checkin(api, sid, [val("madonna", 0)], at=iso(start + dt.timedelta(minutes=30))))
    assert late["marked"] == [{"rollNo": MADONNA, "name": "Madonna", "status": "late",
                               "similarity": late["marked"][0]["similarity"], "photo": val("madonna", 0)[0]}]

    # Outside the window: refused unless forced.
    after = iso(end + dt.timedelta(hours=1))
    refused = checkin(api, sid, [val("madonna", 1)], at=after)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "outside_window"
    forced = ok(checkin(api, sid, [val("madonna", 1)], at=after, force="true"))
    assert forced["already_marked"] == [MADONNA]

    # The database itself refuses a second mark for a person in a session.
    db = pymongo.MongoClient(stack.env.get("MONGO_URI", "mongodb://127.0.0.1:27017/"))[stack.db]
    with pytest.raises(pymongo.errors.DuplicateKeyError):
        db["attendance"].insert_one({"session_id": sid, "rollNo": BEN, "status": "present"})

    report = ok(requests.get(api.url(f"/sessions/{sid}/report"), timeout=10))
    status = {r["rollNo"]: r["status"] for r in report["rows"]}
    assert status == {BEN: "present", ELTON: "present", JERRY: "present", MADONNA: "late", NO_SHOW: "absent"}
    assert len(report["rows"]) == 5 and report["counts"] == {"present": 3, "late": 1, "absent": 1}

    # Corrections by hand, with an audit trail: Madonna was excused; a wrong
    # mark for the no-show is made and taken back.
    fixed = ok(requests.post(api.url(f"/sessions/{sid}/marks"), json={
        "rollNo": MADONNA, "status": "present", "reason": "bus was late; excused", "by": "Ms. Rao"}, timeout=10))
    assert fixed["replaced"]["status"] == "late" and fixed["mark"]["source"] == "manual"
    ok(requests.post(api.url(f"/sessions/{sid}/marks"), json={
        "rollNo": NO_SHOW, "reason": "clicked the wrong row", "by": "Ms. Rao"}, timeout=10), 201)
    ok(requests.delete(api.url(f"/sessions/{sid}/marks/{NO_SHOW}"), json={
        "reason": "was not there", "by": "Ms. Rao"}, timeout=10))
    no_reason = requests.post(api.url(f"/sessions/{sid}/marks"), json={"rollNo": BEN, "by": "x"}, timeout=10)
    assert no_reason.status_code == 400
    audit = ok(requests.get(api.url(f"/sessions/{sid}/audit"), timeout=10))["entries"]
    correction = next(e for e in audit if e["action"] == "correct")
    assert correction["rollNo"] == MADONNA and correction["by"] == "Ms. Rao"
    assert correction["reason"] == "bus was late; excused"
    assert correction["before"]["status"] == "late" and correction["after"]["status"] == "present"
    assert [e["action"] for e in audit if e["rollNo"] == NO_SHOW] == ["mark", "unmark"]
    assert sum(e["action"] == "mark" and e["by"] == "check-in" for e in audit) == 4

    final = ok(requests.get(api.url(f"/sessions/{sid}/report"), timeout=10))
    assert final["counts"] == {"present": 4, "late": 0, "absent": 1}
    exported = requests.get(api.url(f"/sessions/{sid}/report"), params={"format": "csv"}, timeout=10)
    assert exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["rollNo"], r["name"], r["status"], r["marked_at"]) for r in rows] == [
        (r["rollNo"], r["name"], r["status"], r["marked_at"] or "") for r in final["rows"]]
    printed = requests.get(api.url(f"/sessions/{sid}/report"), params={"format": "print"}, timeout=10)
    assert "CS101 Lecture 7" in printed.text and "Madonna" in printed.text

    # In the reader's time zone: the same instants, written as a school in India reads its clock.
    local = ok(requests.get(api.url(f"/sessions/{sid}/report"), params={"tz": "Asia/Kolkata"}, timeout=10))
    assert local["tz"] == "Asia/Kolkata" and local["session"]["starts_at"].endswith("+05:30")
    assert [(r["rollNo"], r["status"], r["marked_at"] and dt.datetime.fromisoformat(r["marked_at"]))
            for r in local["rows"]] == [(r["rollNo"], r["status"], r["marked_at"] and dt.datetime.fromisoformat(
                r["marked_at"].replace("Z", "+00:00"))) for r in final["rows"]]
    local_csv = requests.get(api.url(f"/sessions/{sid}/report"), params={"format": "csv", "tz": "+05:30"},
                             timeout=10).text
    assert all(r["marked_at"].endswith("+05:30") for r in csv.DictReader(io.StringIO(local_csv)) if r["marked_at"])
    register = requests.get(api.url(f"/sessions/{sid}/report"), params={"format": "print", "tz": "Asia/Kolkata"},
                            timeout=10).text
    assert "Time (Asia/Kolkata)" in register and "Signature" in register
    bad_tz = requests.get(api.url(f"/sessions/{sid}/report"), params={"tz": "Mars/Olympus"}, timeout=10)
    assert bad_tz.status_code == 400 and bad_tz.json()["error"]["code"] == "bad_tz"

    # Person and department reports over a date range.
    today = dt.date.today().isoformat()
    ben = ok(requests.get(api.url(f"/persons/{BEN}/report"), params={"from": today, "to": today}, timeout=10))
    assert ben["person"]["rollNo"] == BEN and any(h["session_id"] == sid and h["status"] == "present"
                                                   for h in ben["history"])
    assert ben["percentage"] == round(100 * (ben["present"] + ben["late"]) / ben["sessions"], 1)
    nobody = ok(requests.get(api.url(f"/persons/{NO_SHOW}/report"), timeout=10))
    assert (nobody["sessions"], nobody["absent"], nobody["percentage"]) == (1, 1, 0.0)
    dept = ok(requests.get(api.url("/departments/CEL/report"), params={"from": today}, timeout=10))
    assert {r["rollNo"]: r["percentage"] for r in dept["rows"]}[NO_SHOW] == 0.0
    dept_csv = list(csv.DictReader(io.StringIO(requests.get(
        api.url("/departments/CEL/report"), params={"from": today, "format": "csv"}, timeout=10).text)))
    assert [r["rollNo"] for r in dept_csv] == [r["rollNo"] for r in dept["rows"]]

    # Closing ends photo check-in; the session stays in the reports.
    closed = ok(requests.post(api.url(f"/sessions/{sid}/close"), timeout=10))
    assert closed["status"] == "closed" and closed["closed_at"]
    shut = checkin(api, sid, [val("jerry_seinfeld", 1)])
    assert shut.status_code == 409 and shut.json()["error"]["code"] == "session_closed"
    listed = ok(requests.get(api.url("/sessions"), params={"status": "closed", "department": "CEL"}, timeout=10))
    assert sid in [s["id"] for s in listed["sessions"]]


def test_attendance_errors(api, enrolled):
    now = dt.datetime.now(UTC)
    good = {"name": "x", "roster": [BEN], "starts_at": iso(now), "ends_at": iso(now + dt.timedelta(hours=1))}

    def create(**change):
        return requests.post(api.url("/sessions"), json={**good, **change}, timeout=10)

    assert create(starts_at="yesterday").status_code == 400
    assert create(ends_at=iso(now - dt.timedelta(hours=1))).json()["error"]["code"] == "bad_time"
    assert create(roster=[BEN, "GHOST-1"]).json()["error"]["message"] == "not enrolled: GHOST-1"
    assert create(roster=None, department="NO-SUCH-DEPT").json()["error"]["code"] == "empty_roster"
    assert create(grace_minutes=-5).status_code == 400
    assert create(name="").status_code == 400
    planned = create(name="Next term", starts_at=iso(now + dt.timedelta(days=90)),
                     ends_at=iso(now + dt.timedelta(days=90, hours=1))).json()["id"]
    assert planned in [s["id"] for s in requests.get(api.url("/sessions"), timeout=10).json()["sessions"]]
    for path in ("/sessions/nope", "/sessions/nope/report", "/sessions/nope/audit"):
        assert requests.get(api.url(path), timeout=10).json()["error"]["code"] == "unknown_session"
    assert requests.get(api.url("/persons/GHOST-1/report"), timeout=10).status_code == 404
    assert requests.get(api.url(f"/persons/{BEN}/report"), params={"from": "01/02/2026"},
                        timeout=10).status_code == 400
    sid = create().json()["id"]
    assert checkin(api, sid, []).json()["error"]["code"] == "missing_images"
    assert requests.post(api.url(f"/sessions/{sid}/marks"), json={"rollNo": MADONNA, "reason": "r", "by": "b"},
                         timeout=10).json()["error"]["code"] == "not_on_roster"
    assert requests.delete(api.url(f"/sessions/{sid}/marks/{BEN}"), json={"reason": "r", "by": "b"},
                           timeout=10).status_code == 404
    assert requests.get(api.url(f"/sessions/{sid}/report"), params={"format": "xls"}, timeout=10).status_code == 400
    assert requests.delete(api.url(f"/sessions/{sid}"), timeout=10).status_code == 204
    assert requests.get(api.url(f"/sessions/{sid}"), timeout=10).status_code == 404
