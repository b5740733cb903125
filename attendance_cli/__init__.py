"""``attendance``: the command-line tool of the Attendance Tracker (talks HTTP to the gateway)."""
