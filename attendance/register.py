"""The printable register of a session: the page a teacher prints and signs.

One row per roster member with status, time and an empty signature cell, in
the reader's time zone (the report's ``tz``). The markup is kept here, as a
template, apart from the code that fills it; every value is HTML-escaped.
Kept in a Python module rather than an .html file so it ships with the package
without any packaging configuration.
"""
from __future__ import annotations

import html
from string import Template

# The page's look is the console's register.css: the gateway's Content-Security-Policy
# allows no inline style or script.
PAGE = Template("""<!doctype html><html><head><meta charset="utf-8"><title>$title</title>
<link rel="stylesheet" href="/console/register.css"></head>
<body><h1>$title</h1>
<p>Department: $department &middot; $starts to
 $ends ($tz)
 &middot; grace $grace min &middot; session $session_id ($status)</p>
<p>Present $present &middot; Late $late &middot; Absent $absent &middot;
 Roster $roster_size</p>
<table><tr><th>#</th><th>Roll No</th><th>Name</th><th>Status</th><th>Time ($tz)</th>
<th>Signature</th></tr>
$rows</table><p>Teacher's signature: ____________________</p>
<p class="screen-only">Print this page with your browser (Ctrl+P or &#8984;P).</p></body></html>""")

ROW = Template("<tr><td>$number</td><td>$roll_no</td><td>$name</td><td>$status</td><td>$time</td><td></td></tr>")


def day_and_time(iso_time: str) -> str:
    """``2026-11-25T09:00:00+05:30`` as ``2026-11-25 09:00``."""
    return f"{iso_time[:10]} {iso_time[11:16]}"


def register_page(report: dict) -> str:
    """The session report (see :func:`attendance.reports.session_report`, with its ``tz``) as HTML."""
    esc = html.escape
    s, c = report["session"], report["counts"]
    rows = "".join(
        ROW.substitute(number=i, roll_no=esc(r["rollNo"]), name=esc(r["name"]), status=esc(r["status"]),
                       time=esc((r["marked_at"] or "")[11:16]))
        for i, r in enumerate(report["rows"], 1))
    return PAGE.substitute(
        title=esc(s["name"]), department=esc(s["department"] or "-"),
        starts=esc(day_and_time(s["starts_at"])), ends=esc(day_and_time(s["ends_at"])), tz=esc(report["tz"]),
        grace=s["grace_minutes"], session_id=esc(s["id"]), status=esc(s["status"]),
        present=c["present"], late=c["late"], absent=c["absent"], roster_size=report["roster_size"], rows=rows)
