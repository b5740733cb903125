"""How the CLI shows things: records as the prototype printed them, tables, progress."""
from __future__ import annotations

import sys

RECORD_KEYS = ["rollNo", "name", "fatherName", "department", "contact", "images_count"]


def record_line(record: dict) -> str:
    """The person record, printed as the original prototype printed it."""
    return repr({k: record.get(k) for k in RECORD_KEYS})


def faces(answer: dict) -> str:
    found = answer["faces"]
    if not found:
        return "No face found in the photo."
    lines = [f"{len(found)} face(s) found:"]
    for i, face in enumerate(found, 1):
        where = "box [{}, {}, {}, {}]".format(*face["box"])
        if face["match"]:
            lines.append(f"Face {i} ({where}, similarity {face['similarity']:.2f}):")
            lines.append(record_line(face["match"]))
        else:
            near = ", ".join(f"{c['name']} {c['similarity']:.2f}" for c in face["candidates"]) or "nobody enrolled"
            lines.append(f"Face {i} ({where}): unknown (nearest: {near})")
    return "\n".join(lines)


def table(rows: list[dict], columns: list[str]) -> str:
    if not rows:
        return "(none)"
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    out = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(out)


class Progress:
    """A progress bar on a terminal; one line per step otherwise (logs, CI)."""

    def __init__(self, total: int, stream=sys.stderr, width: int = 30):
        self.total, self.done, self.stream, self.width = total, 0, stream, width
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def step(self, label: str) -> None:
        self.done += 1
        filled = int(self.width * self.done / max(self.total, 1))
        bar = "#" * filled + "." * (self.width - filled)
        text = f"[{bar}] {self.done}/{self.total} {label}"
        if self.tty:
            self.stream.write("\r\033[K" + text)
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
