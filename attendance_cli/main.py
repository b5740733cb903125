"""``attendance``: enroll, recognize, run attendance sessions and print reports.

Talks to the gateway over HTTP (``--url`` or ``ATTENDANCE_URL``, default
http://127.0.0.1:8080). Run ``attendance --help`` and ``attendance COMMAND --help``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
import zoneinfo
from pathlib import Path

from attendance_cli import bulk, output
from attendance_cli.client import ApiFailure, Client

SESSION_COLUMNS = ["id", "name", "department", "starts_at", "ends_at", "status"]
REPORT_COLUMNS = ["rollNo", "name", "status", "marked_at", "similarity", "source"]
PERSON_COLUMNS = ["session_id", "name", "starts_at", "status", "marked_at"]
DEPARTMENT_COLUMNS = ["rollNo", "name", "sessions", "present", "late", "absent", "percentage"]


class UsageError(Exception):
    pass


def when(value: str | None) -> str | None:
    """ISO 8601, or HH:MM meaning today on this computer's clock."""
    if not value:
        return None
    try:
        hour, minute = (int(x) for x in value.split(":"))
        local = dt.datetime.now().astimezone().replace(hour=hour, minute=minute, second=0, microsecond=0)
        return local.isoformat()
    except ValueError:
        pass
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{value!r} is neither HH:MM nor an ISO 8601 date-time") from None
    return (parsed if parsed.tzinfo else parsed.astimezone()).isoformat()


def local_zone() -> str:
    """This computer's time zone for reports: its IANA name where the system
    says it (``TZ``, the /etc/localtime link), else today's UTC offset."""
    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        link = os.path.realpath("/etc/localtime")
        name = link.split("zoneinfo/", 1)[1] if "zoneinfo/" in link else ""
    try:
        if name:
            zoneinfo.ZoneInfo(name)
            return name
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        pass
    return dt.datetime.now().astimezone().strftime("%z")


def existing_files(paths: list[str]) -> list[Path]:
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise UsageError("no such file: " + ", ".join(missing))
    return [Path(p) for p in paths]


def print_images(images: list[dict]) -> None:
    for img in images:
        if not img["accepted"]:
            print(f"  refused {img['filename']}: {img['reason']}")


def save_or_print(text: str, target: str | None) -> None:
    if target:
        Path(target).write_text(text, encoding="utf-8")
        print(f"written to {target}")
    else:
        sys.stdout.write(text)


# -- commands -------------------------------------------------------------------
def cmd_enroll(c: Client, a) -> int:
    fields = {"rollNo": a.roll_no, "name": a.name, "fatherName": a.father_name or "",
              "department": a.department or "", "contact": a.contact or ""}
    body = c.enroll(fields, existing_files(a.photos))
    print(output.record_line(body["person"]))
    accepted = sum(i["accepted"] for i in body["images"])
    print(f"{accepted} of {len(body['images'])} photos accepted")
    print_images(body["images"])
    return 0


def cmd_add_photos(c: Client, a) -> int:
    body = c.add_photos(a.roll_no, existing_files(a.photos))
    print(output.record_line(body["person"]))
    print_images(body["images"])
    return 0


def cmd_bulk_enroll(c: Client, a) -> int:
    folder, details = Path(a.folder), Path(a.details)
    if not folder.is_dir():
        raise UsageError(f"no such folder: {folder}")
    try:
        plan = bulk.plan(folder, details)
    except bulk.CsvError as exc:
        raise UsageError(str(exc)) from None
    for warning in plan.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if plan.problems:
        print(f"{len(plan.problems)} line(s) of {details} cannot be imported:", file=sys.stderr)
        for problem in plan.problems:
            print(f"  {problem}", file=sys.stderr)
        if not a.import_valid:
            print("nothing imported; fix the lines, or pass --import-valid to import the "
                  f"{len(plan.people)} good one(s) only", file=sys.stderr)
            return 2
    total_photos = sum(len(p.photos) for p in plan.people)
    print(f"enrolling {len(plan.people)} people from {total_photos} photos", file=sys.stderr)
    started = time.monotonic()
    progress = output.Progress(len(plan.people))
    enrolled, failed, refused, accepted = 0, [], [], 0
    for person in plan.people:
        roll_no = person.fields["rollNo"]
        try:
            body = c.enroll(person.fields, person.photos)
        except ApiFailure as exc:
            failed.append(f"line {person.line}: {roll_no}: {exc}")
            progress.step(f"{roll_no} failed")
            continue
        enrolled += 1
        ok = sum(i["accepted"] for i in body["images"])
        accepted += ok
        refused += [f"{roll_no}/{i['filename']}: {i['reason']}" for i in body["images"] if not i["accepted"]]
        progress.step(f"{roll_no} {person.fields['name']}: {ok}/{len(person.photos)} photos accepted")
    seconds = time.monotonic() - started
    print(f"\nEnrolled {enrolled} of {len(plan.people)} people; {accepted} of {total_photos} photos accepted, "
          f"{len(refused)} refused; {seconds:.1f} s")
    if refused:
        print("Refused photos:")
        for line in refused:
            print(f"  {line}")
    if failed:
        print("Not enrolled:")
        for line in failed:
            print(f"  {line}")
    return 1 if failed else 0


def cmd_recognize(c: Client, a) -> int:
    answer = c.recognize(existing_files([a.photo])[0])
    print(json.dumps(answer, indent=2) if a.json else output.faces(answer))
    return 0


def cmd_persons(c: Client, a) -> int:
    params = {"department": a.department} if a.department else {}
    persons = c.json("GET", "/persons", params=params)["persons"]
    print(output.table(persons, output.RECORD_KEYS))
    return 0


def cmd_person(c: Client, a) -> int:
    print(output.record_line(c.json("GET", f"/persons/{a.roll_no}")))
    return 0


def cmd_delete_person(c: Client, a) -> int:
    c.json("DELETE", f"/persons/{a.roll_no}", params={"erase_attendance": "true"} if a.erase_attendance else None)
    print(f"deleted {a.roll_no}" + (" and their attendance history" if a.erase_attendance else ""))
    return 0


def cmd_export(c: Client, a) -> int:
    data = c.json("GET", f"/persons/{a.roll_no}/export")
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if a.out and a.out != "-":
        Path(a.out).write_text(text + "\n", encoding="utf-8")
        print(f"everything held about {a.roll_no} written to {a.out}", file=sys.stderr)
    else:
        print(text)
    return 0


def cmd_keys(c: Client, a) -> int:
    if a.action == "create":
        made = c.json("POST", "/keys", json={"name": a.name, "scope": a.scope})
        print(made["key"])
        print(f"key {made['name']} ({made['scope']}) created: it is shown once, keep it now", file=sys.stderr)
    elif a.action == "revoke":
        c.json("DELETE", f"/keys/{a.name}")
        print(f"revoked {a.name}")
    else:
        print(output.table(c.json("GET", "/keys")["keys"], ["name", "scope", "created_at", "revoked_at"]))
    return 0


def cmd_session(c: Client, a) -> int:
    if a.action == "create":
        start = when(a.start) or dt.datetime.now().astimezone().isoformat()
        end = when(a.end) or (dt.datetime.fromisoformat(start) + dt.timedelta(minutes=a.minutes)).isoformat()
        body = {"name": a.name, "starts_at": start, "ends_at": end, "grace_minutes": a.grace}
        if a.roster:
            body["roster"] = [r.strip() for r in a.roster.split(",") if r.strip()]
        if a.department:
            body["department"] = a.department
        s = c.json("POST", "/sessions", json=body)
        print(f"session {s['id']} created: {s['name']}, {len(s['roster'])} on the roster, "
              f"{s['starts_at']} to {s['ends_at']}, grace {s['grace_minutes']} min")
    elif a.action == "list":
        params = {k: v for k, v in (("status", a.status), ("department", a.department), ("from", a.from_),
                                    ("to", a.to)) if v}
        print(output.table(c.json("GET", "/sessions", params=params)["sessions"], SESSION_COLUMNS))
    elif a.action == "show":
        s = c.json("GET", f"/sessions/{a.id}")
        print(json.dumps(s, indent=2))
    elif a.action == "close":
        s = c.json("POST", f"/sessions/{a.id}/close")
        print(f"session {s['id']} closed")
    elif a.action == "delete":
        c.json("DELETE", f"/sessions/{a.id}")
        print(f"session {a.id} deleted")
    return 0


def cmd_checkin(c: Client, a) -> int:
    body = c.checkin(a.session, existing_files(a.photos), when(a.at), a.force)
    for m in body["marked"]:
        print(f"marked {m['status']}: {m['rollNo']} {m['name']} (similarity {m['similarity']:.2f}, {m['photo']})")
    if body["already_marked"]:
        print("already marked: " + ", ".join(body["already_marked"]))
    if body["not_on_roster"]:
        print("recognized but not on the roster: " + ", ".join(
            f"{p['rollNo']} {p['name']}" for p in body["not_on_roster"]))
    print(f"unknown faces: {body['unknown_faces']}")
    for r in body.get("needs_review", []):
        print(f"needs review {r['id']}: {r['rollNo']} {r['name']}? (similarity {r['similarity']:.2f}, {r['photo']}) "
              f"- attendance review confirm|reject {a.session} {r['id']} --reason ...")
    for photo in body["photos"]:
        if photo.get("error"):
            print(f"  {photo['filename']}: {photo['error']['message']}")
    return 0


def need_operator(c: Client) -> None:
    if not c.operator:
        raise UsageError("say who makes the change: --operator NAME or ATTENDANCE_OPERATOR")


def cmd_mark(c: Client, a) -> int:
    need_operator(c)
    body = {"rollNo": a.roll_no, "status": "late" if a.late else "present", "reason": a.reason}
    result = c.json("POST", f"/sessions/{a.session}/marks", json=body)
    was = f" (was {result['replaced']['status']})" if result["replaced"] else ""
    print(f"{a.roll_no} marked {result['mark']['status']}{was}")
    return 0


def cmd_unmark(c: Client, a) -> int:
    need_operator(c)
    c.json("DELETE", f"/sessions/{a.session}/marks/{a.roll_no}", json={"reason": a.reason})
    print(f"{a.roll_no} unmarked")
    return 0


def cmd_audit(c: Client, a) -> int:
    entries = c.json("GET", f"/sessions/{a.session}/audit")["entries"]
    for e in entries:
        before = e["before"]["status"] if e["before"] else "-"
        after = e["after"]["status"] if e["after"] else "-"
        who = e["by"] + (f" (token {e['token']})" if e.get("token") else "")
        print(f"{e['at']}  {e['action']:<7} {e['rollNo']:<12} {before} -> {after}  by {who}: {e['reason']}")
    return 0


def cmd_reviews(c: Client, a) -> int:
    items = c.json("GET", f"/sessions/{a.session}/reviews", params={"status": a.status})["reviews"]
    print(output.table(items, ["id", "rollNo", "name", "similarity", "photo", "status", "decided_by", "reason"]))
    return 0


def cmd_review(c: Client, a) -> int:
    need_operator(c)
    body = {"reason": a.reason}
    if a.decision == "confirm":
        body.update(status="late" if a.late else "present", enroll=a.enroll)
    out = c.json("POST", f"/sessions/{a.session}/reviews/{a.review}/{a.decision}", json=body)
    review = out["review"]
    print(f"review {review['id']} {review['status']}: {review['rollNo']} {review['name']}")
    if a.decision == "confirm" and a.enroll:
        print("the face was enrolled" if out["enrolled"] else f"the face was not enrolled: {out['enroll_refused']}")
    return 0


def cmd_verify(c: Client, a) -> int:
    out = c.verify(a.roll_no, existing_files([a.photo])[0])
    sim = "-" if out["similarity"] is None else f"{out['similarity']:.2f}"
    print(f"{a.roll_no}: {'verified' if out['verified'] else 'NOT verified'} "
          f"(similarity {sim}, threshold {out['threshold']:.2f})")
    return 0 if out["verified"] else 1


def cmd_calibrate(c: Client, a) -> int:
    out = c.json("POST", "/calibration", json={"target_false_match_rate": a.target_fmr, "apply": a.apply})
    s = out["suggested"]
    print(f"model {out['model']}: {s['photos']} photos of {s['people']} people, scored leave-one-out")
    print(f"  genuine  min {s['genuine']['min']:.3f}  median {s['genuine']['median']:.3f}")
    print(f"  impostor max {s['impostor']['max']:.3f}  median {s['impostor']['median']:.3f}")
    print(f"suggested for a false-match rate of at most {a.target_fmr}: match threshold {s['match_threshold']:.3f} "
          f"(false matches {s['false_match_rate']:.2%}, false non-matches {s['false_non_match_rate']:.2%}), "
          f"review floor {s['review_floor']:.3f}")
    current = out["current"]
    print(("applied: " if out["applied"] else "in use: ")
          + f"match threshold {current['match_threshold']:.3f}, review floor {current['review_floor']:.3f}"
          + ("" if out["applied"] else " (--apply to use the suggestion)"))
    return 0


def cmd_report(c: Client, a) -> int:
    params = {k: v for k, v in (("from", getattr(a, "from_", None)), ("to", getattr(a, "to", None))) if v}
    params["tz"] = a.tz or local_zone()
    path = {"session": f"/sessions/{a.target}/report", "person": f"/persons/{a.target}/report",
            "department": f"/departments/{a.target}/report"}[a.kind]
    if a.csv:
        save_or_print(c.text(path, params={**params, "format": "csv"}), None if a.csv == "-" else a.csv)
        return 0
    if getattr(a, "html", None):
        save_or_print(c.text(path, params={**params, "format": "print"}), a.html)
        return 0
    r = c.json("GET", path, params=params)
    if a.kind == "session":
        s, n = r["session"], r["counts"]
        print(f"{s['name']} ({s['id']}, {s['status']}) {s['starts_at']} to {s['ends_at']} ({r['tz']})")
        print(f"present {n['present']}, late {n['late']}, absent {n['absent']} of {r['roster_size']}\n")
        print(output.table(r["rows"], REPORT_COLUMNS))
    elif a.kind == "person":
        pct = "-" if r["percentage"] is None else f"{r['percentage']}%"
        print(f"{r['person']['name']} ({r['rollNo']}): {pct} attendance over {r['sessions']} session(s): "
              f"present {r['present']}, late {r['late']}, absent {r['absent']}\n")
        print(output.table(r["history"], PERSON_COLUMNS))
    else:
        print(f"Department {r['department']}: {r['sessions']} session(s)\n")
        print(output.table(r["rows"], DEPARTMENT_COLUMNS))
    return 0


# -- argument parsing -------------------------------------------------------------
# Positional arguments by what they name: (dest, metavar, nargs).
ROLL_NO = ("roll_no", "ROLLNO", None)
SESSION = ("session", "SESSION", None)
PHOTOS = ("photos", "PHOTO", "+")


def command(sub, name: str, func, help: str, *positionals) -> argparse.ArgumentParser:
    """A subcommand running ``func`` with the given positional arguments."""
    c = sub.add_parser(name, help=help)
    for dest, metavar, nargs in positionals:
        c.add_argument(dest, metavar=metavar, nargs=nargs)
    c.set_defaults(func=func)
    return c


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="attendance", description="Attendance Tracker command-line tool.")
    p.add_argument("--url", default=os.environ.get("ATTENDANCE_URL", "http://127.0.0.1:8080"),
                   help="gateway address (env ATTENDANCE_URL; default %(default)s)")
    p.add_argument("--operator", default=os.environ.get("ATTENDANCE_OPERATOR") or os.environ.get("USER"),
                   help="your name, recorded with corrections (env ATTENDANCE_OPERATOR; default $USER)")
    p.add_argument("--token", default=os.environ.get("ATTENDANCE_TOKEN"),
                   help="API token, where the gateway requires one (env ATTENDANCE_TOKEN; prefer the variable: "
                        "a command line is visible to other users)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    e = sub.add_parser("enroll", help="enroll one person with photos")
    e.add_argument("roll_no", metavar="ROLLNO")
    e.add_argument("name", metavar="NAME")
    e.add_argument("photos", nargs="+", metavar="PHOTO")
    e.add_argument("--father-name")
    e.add_argument("--department")
    e.add_argument("--contact")
    e.set_defaults(func=cmd_enroll)

    ap = command(sub, "add-photos", cmd_add_photos, "add photos to an enrolled person", ROLL_NO, PHOTOS)

    b = sub.add_parser("bulk-enroll", help="enroll everybody from FOLDER/<rollNo>/ (photos of any accepted format) and a CSV of details",
                       description="The CSV has the header rollNo,name,fatherName,department,contact; each "
                                   "person's photos are in FOLDER/<rollNo>/. Lines with problems (missing "
                                   "values, duplicate rollNos, no photos) stop the import unless --import-valid.")
    b.add_argument("folder", metavar="FOLDER")
    b.add_argument("--details", required=True, metavar="CSV", help="the CSV of person details")
    b.add_argument("--import-valid", action="store_true", help="import the good lines even if others are bad")
    b.set_defaults(func=cmd_bulk_enroll)
    for p_ in (e, ap, b):
        p_.add_argument("--allow-lookalikes", dest="force_lookalikes", action="store_true",
                        help="enroll photos that look like another enrolled person too (flagged, not refused)")

    r = sub.add_parser("recognize", help="who is in a photo (records as the prototype printed them)")
    r.add_argument("photo", metavar="PHOTO")
    r.add_argument("--json", action="store_true", help="print the API's answer as JSON")
    r.set_defaults(func=cmd_recognize)

    command(sub, "persons", cmd_persons, "list enrolled persons").add_argument("--department")
    command(sub, "person", cmd_person, "show one person", ROLL_NO)
    command(sub, "delete-person", cmd_delete_person, "delete a person and their face data",
            ROLL_NO).add_argument("--erase-attendance", action="store_true",
                                  help="also erase their marks, audit entries and mentions in check-ins and rosters")
    command(sub, "export", cmd_export, "everything held about a person, as JSON (right of access)",
            ROLL_NO).add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    k = sub.add_parser("keys", help="API keys (admin): create, list, revoke")
    ksub = k.add_subparsers(dest="action", required=True, metavar="ACTION")
    kc = ksub.add_parser("create", help="create a key and print it (shown once)")
    kc.add_argument("name", metavar="NAME")
    kc.add_argument("--scope", required=True, choices=["recognize", "operator", "admin"],
                    help="recognize: a door camera or kiosk; operator: sessions, check-ins, corrections, reports; "
                         "admin: also people, keys and settings")
    ksub.add_parser("list", help="list keys (never the keys themselves)")
    ksub.add_parser("revoke", help="revoke a key at once").add_argument("name", metavar="NAME")
    k.set_defaults(func=cmd_keys)

    s = sub.add_parser("session", help="create, list, show, close or delete attendance sessions")
    ssub = s.add_subparsers(dest="action", required=True, metavar="ACTION")
    sc = ssub.add_parser("create", help="create a session")
    sc.add_argument("name", metavar="NAME")
    group = sc.add_mutually_exclusive_group(required=True)
    group.add_argument("--department", help="roster: everybody enrolled in this department")
    group.add_argument("--roster", help="roster: comma-separated rollNos")
    sc.add_argument("--start", help="HH:MM today or ISO 8601 (default: now)")
    sc.add_argument("--end", help="HH:MM today or ISO 8601 (default: start + --minutes)")
    sc.add_argument("--minutes", type=int, default=60, help="length when --end is not given (default 60)")
    sc.add_argument("--grace", type=int, default=10, help="minutes after the start that still count as on time")
    sl = ssub.add_parser("list", help="list sessions")
    sl.add_argument("--status", choices=["open", "closed"])
    sl.add_argument("--department")
    sl.add_argument("--from", dest="from_", metavar="DATE")
    sl.add_argument("--to", metavar="DATE")
    for action in ("show", "close", "delete"):
        sa = ssub.add_parser(action, help=f"{action} a session")
        sa.add_argument("id", metavar="SESSION")
    s.set_defaults(func=cmd_session)

    ci = command(sub, "checkin", cmd_checkin, "check in people from photos", SESSION, PHOTOS)
    ci.add_argument("--at", help="when the photos were taken: HH:MM today or ISO 8601 (default: now)")
    ci.add_argument("--force", action="store_true", help="record check-ins outside the session window")

    mk = command(sub, "mark", cmd_mark, "mark a person by hand (recorded in the audit trail)", SESSION, ROLL_NO)
    mk.add_argument("--reason", required=True)
    mk.add_argument("--late", action="store_true", help="mark late instead of present")
    command(sub, "unmark", cmd_unmark, "remove a person's mark (recorded in the audit trail)",
            SESSION, ROLL_NO).add_argument("--reason", required=True)
    command(sub, "audit", cmd_audit, "who changed which mark, when and why", SESSION)

    rv = command(sub, "reviews", cmd_reviews, "near misses of a session's check-ins, for a person to decide", SESSION)
    rv.add_argument("--status", default="open", choices=["open", "confirmed", "rejected", "all"])
    rd = sub.add_parser("review", help="confirm or reject a near miss (recorded in the audit trail)")
    rd.add_argument("decision", choices=["confirm", "reject"])
    rd.add_argument("session", metavar="SESSION")
    rd.add_argument("review", metavar="REVIEW")
    rd.add_argument("--reason", required=True)
    rd.add_argument("--late", action="store_true", help="confirm: mark late instead of present")
    rd.add_argument("--enroll", action="store_true", help="confirm: also add the face to the person's photos")
    rd.set_defaults(func=cmd_review)
    vf = command(sub, "verify", cmd_verify, "is the person in this photo ROLLNO? (exit 0 if verified)", ROLL_NO)
    vf.add_argument("photo", metavar="PHOTO")
    cb = command(sub, "calibrate", cmd_calibrate,
                 "suggest thresholds from the enrolled photos (leave-one-out); --apply uses them on every matcher")
    cb.add_argument("--target-fmr", type=float, default=0.001, help="false-match rate to stay under (default 0.001)")
    cb.add_argument("--apply", action="store_true")

    rp = sub.add_parser("report", help="attendance reports (print, or --csv FILE)")
    rsub = rp.add_subparsers(dest="kind", required=True, metavar="KIND")
    for kind, what in (("session", "SESSION"), ("person", "ROLLNO"), ("department", "DEPARTMENT")):
        k = rsub.add_parser(kind, help=f"report of one {kind}")
        k.add_argument("target", metavar=what)
        k.add_argument("--csv", metavar="FILE", help="write the CSV export to FILE ('-' for standard output)")
        k.add_argument("--tz", metavar="ZONE", help="time zone of the times shown: a name (Asia/Kolkata) or an "
                                                    "offset (+05:30); default: this computer's")
        if kind == "session":
            k.add_argument("--html", metavar="FILE", help="write the register to print (with a signature column)")
        if kind != "session":
            k.add_argument("--from", dest="from_", metavar="DATE", help="YYYY-MM-DD (default: a year ago)")
            k.add_argument("--to", metavar="DATE", help="YYYY-MM-DD, inclusive (default: today)")
    rp.set_defaults(func=cmd_report)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    client = Client(args.url, operator=args.operator, token=args.token)
    client.force_lookalikes = getattr(args, "force_lookalikes", False)
    try:
        return args.func(client, args)
    except UsageError as exc:
        print(f"attendance: {exc}", file=sys.stderr)
        return 2
    except ApiFailure as exc:
        print(f"attendance: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
