import csv
import datetime as dt
import io

import pytest

from attendance import reports, rules, times
from attendance.errors import AttendanceError, BadRange, BadTime, BadTz, OutsideWindow
from services.gateway.errors import attendance_status

T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.timezone.utc)
SESSION = {"_id": "s1", "name": "Maths", "department": "CSD", "roster": ["B", "A", "C"],
           "starts_at": T0, "ends_at": T0 + dt.timedelta(hours=1), "grace_minutes": 10, "status": "open"}


def test_parse_time_accepts_offsets_and_assumes_utc():
    assert times.parse_time("2026-11-25T14:30:00+05:30", "x") == T0
    assert times.parse_time("2026-11-25T09:00:00Z", "x") == T0
    assert times.parse_time("2026-11-25T09:00:00", "x") == T0


@pytest.mark.parametrize("value", ["", "tomorrow", "2026-13-40T00:00", 12, None])
def test_malformed_times_are_400(value):
    with pytest.raises(BadTime) as err:
        times.parse_time(value, "starts_at")
    assert attendance_status(err.value) == 400 and "starts_at" in err.value.message
    assert err.value.code == "bad_time"


def test_date_range_whole_days_inclusive():
    lo, hi = times.parse_date_range("2026-11-01", "2026-11-30")
    assert lo == dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    assert hi == dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    with pytest.raises(BadRange):
        times.parse_date_range("2026-11-30", "2026-11-01")
    with pytest.raises(AttendanceError):
        times.parse_date_range("last week", None)


def test_window_present_late_and_refusals():
    w = rules.window_of(SESSION)
    assert w.status_at(T0 + dt.timedelta(minutes=10)) == "present"
    assert w.status_at(T0 + dt.timedelta(minutes=11)) == "late"
    w.check(T0 + dt.timedelta(minutes=30), force=False)
    for outside in (T0 - dt.timedelta(minutes=1), T0 + dt.timedelta(hours=2)):
        with pytest.raises(OutsideWindow) as err:
            w.check(outside, force=False)
        assert attendance_status(err.value) == 409 and "force" in err.value.message
        assert err.value.code == "outside_window"
        w.check(outside, force=True)  # the operator insists


def test_classify_faces_dedupes_and_splits():
    faces = [
        {"match": {"rollNo": "A", "name": "Ann"}, "similarity": 0.7},
        {"match": {"rollNo": "A", "name": "Ann"}, "similarity": 0.9},
        {"match": {"rollNo": "Z", "name": "Zed"}, "similarity": 0.8},
        {"match": None, "similarity": 0.2},
        {"match": None, "similarity": None},
    ]
    on, off, unknown = rules.classify_faces(faces, {"A", "B"})
    assert on == [{"rollNo": "A", "name": "Ann", "similarity": 0.9}]
    assert off == [{"rollNo": "Z", "name": "Zed", "similarity": 0.8}]
    assert unknown == 2


def test_session_report_and_its_csv_agree():
    marks = [{"rollNo": "A", "status": "present", "marked_at": T0, "similarity": 0.9, "source": "photo"},
             {"rollNo": "C", "status": "late", "marked_at": T0 + dt.timedelta(minutes=20), "similarity": None,
              "source": "manual"}]
    persons = {"A": {"name": "Ann", "department": "CSD"}, "B": {"name": "Bob", "department": "CSD"}}
    report = reports.session_report(SESSION, persons, marks)
    assert [r["rollNo"] for r in report["rows"]] == ["A", "B", "C"]
    assert [r["status"] for r in report["rows"]] == ["present", "absent", "late"]
    assert report["counts"] == {"present": 1, "late": 1, "absent": 1}
    assert report["rows"][2]["name"] == "(deleted)"
    parsed = list(csv.DictReader(io.StringIO(reports.to_csv(report["rows"], reports.SESSION_CSV))))
    assert [(r["rollNo"], r["status"], r["similarity"]) for r in parsed] == [
        ("A", "present", "0.9"), ("B", "absent", ""), ("C", "late", "")]


def test_person_history_percentage():
    sessions = [dict(SESSION, _id=f"s{i}", starts_at=T0 + dt.timedelta(days=i)) for i in range(4)]
    marks = [{"session_id": "s0", "status": "present", "marked_at": T0},
             {"session_id": "s2", "status": "late", "marked_at": T0}]
    h = reports.person_history("A", sessions, marks)
    assert (h["sessions"], h["present"], h["late"], h["absent"], h["percentage"]) == (4, 1, 1, 2, 50.0)
    assert reports.person_history("A", [], [])["percentage"] is None


def test_department_summary_counts_only_sessions_on_each_roster():
    s1 = dict(SESSION, _id="s1", roster=["A", "B"])
    s2 = dict(SESSION, _id="s2", roster=["A"])
    marks = [{"session_id": "s1", "rollNo": "A", "status": "present"},
             {"session_id": "s2", "rollNo": "A", "status": "late"},
             {"session_id": "s1", "rollNo": "B", "status": "present"}]
    out = reports.department_summary("CSD", [s1, s2], [{"rollNo": "A", "name": "Ann"},
                                                        {"rollNo": "B", "name": "Bob"}], marks)
    assert out["rows"] == [
        {"rollNo": "A", "name": "Ann", "sessions": 2, "present": 1, "late": 1, "absent": 0, "percentage": 100.0},
        {"rollNo": "B", "name": "Bob", "sessions": 1, "present": 1, "late": 0, "absent": 0, "percentage": 100.0}]


KOLKATA = "Asia/Kolkata"


@pytest.mark.parametrize("value, offset", [(None, 0), ("UTC", 0), ("+05:30", 330), ("-0800", -480),
                                           (KOLKATA, 330), ("Europe/Berlin", 60)])
def test_report_time_zones_by_name_or_offset(value, offset):
    tz = times.parse_tz(value)
    assert T0.astimezone(tz).utcoffset() == dt.timedelta(minutes=offset)


@pytest.mark.parametrize("value", ["Mars/Olympus", "+25:00", "5:30", "../etc/passwd"])
def test_unknown_time_zones_are_400(value):
    with pytest.raises(BadTz) as err:
        times.parse_tz(value)
    assert attendance_status(err.value) == 400 and err.value.code == "bad_tz"


def test_reports_show_times_in_the_readers_zone():
    marks = [{"session_id": "s1", "rollNo": "A", "status": "present", "marked_at": T0 + dt.timedelta(minutes=2),
              "similarity": 0.8, "source": "photo"}]
    tz = times.parse_tz(KOLKATA)
    report = reports.session_report(SESSION, {"A": {"name": "Ann"}}, marks, tz)
    assert report["session"]["starts_at"] == "2026-11-25T14:30:00+05:30"
    assert report["rows"][0]["marked_at"] == "2026-11-25T14:32:00+05:30"
    assert reports.session_report(SESSION, {}, marks)["rows"][0]["marked_at"] == "2026-11-25T09:02:00Z"
    history = reports.person_history("A", [SESSION], marks, tz)["history"]
    assert history[0]["starts_at"] == "2026-11-25T14:30:00+05:30" and times.tz_label(tz) == KOLKATA


def test_date_range_days_are_the_readers_days():
    lo, hi = times.parse_date_range("2026-12-01", "2026-12-01", times.parse_tz("+05:30"))
    assert lo == dt.datetime(2026, 11, 30, 18, 30, tzinfo=dt.timezone.utc)
    assert hi == dt.datetime(2026, 12, 1, 18, 30, tzinfo=dt.timezone.utc)


# -- the gateway's one table: domain errors -> HTTP status ----------------------------------------------
@pytest.mark.parametrize("name, code, status", [
    ("UnknownSession", "unknown_session", 404), ("SessionClosed", "session_closed", 409),
    ("OutsideWindow", "outside_window", 409), ("BadTime", "bad_time", 400), ("BadTz", "bad_tz", 400),
    ("BadRange", "bad_range", 400), ("BadField", "bad_field", 400), ("BadFormat", "bad_format", 400),
    ("NotOnRoster", "not_on_roster", 400), ("NoMark", "no_mark", 404), ("EmptyRoster", "empty_roster", 400),
    ("NotEnrolled", "unknown_person", 400), ("UnknownPerson", "unknown_person", 404),
    ("UnknownDepartment", "unknown_department", 404), ("MissingField", "missing_field", 400)])
def test_every_domain_error_has_todays_code_and_status(name, code, status):
    from attendance import errors
    err = getattr(errors, name)("message")
    assert (err.code, attendance_status(err), err.message) == (code, status, "message")


def test_a_time_is_written_in_rfc_3339_even_where_the_zone_had_local_mean_time():
    kolkata = times.parse_tz("Asia/Kolkata")
    then = dt.datetime(1835, 11, 26, 10, 7, 29, tzinfo=dt.timezone.utc)  # the zone's offset then: +05:53:28
    assert times.iso(then, kolkata) == "1835-11-26T10:07:29Z"  # RFC 3339 offsets are whole minutes
    now = dt.datetime(2026, 3, 4, 3, 30, tzinfo=dt.timezone.utc)
    assert times.iso(now, kolkata) == "2026-03-04T09:00:00+05:30"
