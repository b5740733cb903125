"""Attendance: sessions, check-ins from recognized photos, corrections, reports.

The domain of the system, without Flask and without HTTP: the gateway parses
requests, calls this package and formats its answers; a command-line tool, a
batch job or a test can call it the same way. Failures are the errors of
:mod:`attendance.errors`, each with a stable machine code; the gateway alone
decides which HTTP status they answer.

* :mod:`attendance.times` - instants, ranges and time zones as people write them
* :mod:`attendance.rules` - statuses, windows, who a photo shows
* :mod:`attendance.sessions` - creating, listing, closing sessions
* :mod:`attendance.checkin` - marking attendance from photos
* :mod:`attendance.marks` - corrections by hand and the audit trail
* :mod:`attendance.reports` - session, person and department reports, CSV
* :mod:`attendance.register` - the printable register of a session
* :mod:`attendance.store` - the MongoDB collections behind all of it
"""
