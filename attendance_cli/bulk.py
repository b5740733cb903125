"""Bulk enrollment plan: a folder of per-person photo folders plus a CSV of details.

Pure: reads files, talks to nobody. The CSV needs the columns
``rollNo,name,fatherName,department,contact`` (header row); each person's photos
are in ``<folder>/<rollNo>/`` (any format the API accepts, told by suffix: ``PHOTO_TYPES``).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

COLUMNS = ["rollNo", "name", "fatherName", "department", "contact"]
# The photo files a folder's listing picks up, and the content type each is sent
# with (the API tells the format by the file's first bytes; the type is for proxies
# and logs). As the API accepts: shared/imaging.py ACCEPTED.
PHOTO_TYPES = {
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
    ".gif": "image/gif", ".bmp": "image/bmp", ".tif": "image/tiff", ".tiff": "image/tiff",
    ".heic": "image/heic", ".heif": "image/heif", ".avif": "image/avif",
}
PHOTO_SUFFIXES = set(PHOTO_TYPES)


class CsvError(Exception):
    """The CSV cannot be used at all (unreadable, missing columns)."""


@dataclass
class Person:
    line: int
    fields: dict
    photos: list[Path]


@dataclass
class Plan:
    people: list[Person] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "line N: ..." - those lines are left out
    warnings: list[str] = field(default_factory=list)  # worth knowing, nothing left out


def photos_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)


def plan(folder: Path, details_csv: Path) -> Plan:
    try:
        text = details_csv.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CsvError(f"cannot read {details_csv}: {exc}") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise CsvError(f"{details_csv}: missing column(s) {', '.join(missing)}; the header must name "
                       f"{','.join(COLUMNS)}")
    rows = []
    for number, row in enumerate(reader, start=2):  # line 1 is the header
        fields = {c: (row.get(c) or "").strip() for c in COLUMNS}
        if any(fields.values()):
            rows.append((number, fields))

    result = Plan()
    lines_of: dict[str, list[int]] = {}
    for number, fields in rows:
        lines_of.setdefault(fields["rollNo"], []).append(number)
    for number, fields in rows:
        roll_no = fields["rollNo"]
        if not roll_no or not fields["name"]:
            result.problems.append(f"line {number}: rollNo and name are required")
            continue
        if len(lines_of[roll_no]) > 1:
            others = ", ".join(str(n) for n in lines_of[roll_no] if n != number)
            result.problems.append(f"line {number}: duplicate rollNo {roll_no} (also on line {others})")
            continue
        person_dir = folder / roll_no
        if not person_dir.is_dir():
            result.problems.append(f"line {number}: no photo folder {person_dir}")
            continue
        photos = photos_in(person_dir)
        if not photos:
            result.problems.append(f"line {number}: no photos ({', '.join(sorted(PHOTO_SUFFIXES))}) in {person_dir}")
            continue
        result.people.append(Person(number, fields, photos))
    listed = {f["rollNo"] for _, f in rows}
    for extra in sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name not in listed):
        result.warnings.append(f"folder {folder / extra} has no line in {details_csv.name}; not enrolled")
    return result
