"""MongoDB access for attendance: sessions, marks, audit trail, check-in log.

The one module of the package that knows the database; the others see its
methods only (the unit tests give them an in-memory stand-in).

Collections:

* ``sessions`` - one per attendance session: name, department, roster
  (rollNos, fixed when the session is created), window, grace, status.
* ``attendance`` - one mark per person per session: the record. Its ``_id`` is
  ``<session id>:<rollNo>`` (``mark_id``; sessions created before that carry
  no ``marks_keyed`` and their marks other ids), and a unique index on
  ``session_id, rollNo`` stays: the database, not only the code, guarantees
  that a person is never marked twice. status present|late, time, similarity,
  photo.
* ``session_marks`` - one per session, ``_id`` the session id: its start and
  its marks as one string, a line per mark (rollNo, status, time, similarity,
  source). Read model of ``attendance``, written in the same write path as each
  mark: the session report, the overview and check-in read a session's marks
  with one key lookup of a small document.
* ``department_weeks`` - one per department and week, ``_id``
  ``<department>|<Monday>``: the department's sessions starting that week (UTC)
  with start time, roster (a key into the document's ``rosters``, which holds
  each distinct roster once) and present/late bitsets over the roster. Read
  model too: a department report over a year reads ~53 small documents.
* ``attendance_audit`` - append-only: every mark, unmark and correction with
  who, when, why, and the mark before and after.
* ``checkins`` - one entry per submitted photo: what it was and what it found.

Why this shape: FerretDB 1.24's SQLite backend (the local and test database)
pushes down to SQL only a filter that is exactly ``{_id: ...}``; any other
query reads and decodes every document of the collection. And even an ``_id``
filter is not served by the ``_id`` index there (FerretDB's query writes the
path as ``->'$._id'``, its index as ``->"_id"``, and SQLite matches index
expressions as written): SQLite reads through the table up to the row, at
~3-13 ns per stored byte, only sparing FerretDB's decoding of the rows it
passes. So the hot reads are ``_id`` look-ups in collections kept small in
bytes: one short string per session for its marks, a few dozen week documents
per department and year with bitsets. On MongoDB (production) every ``_id``
look-up is an index look-up, and the read models are updated with
single-document operators (``$bit``) or a compare-and-set on a version (a
session's ledger), atomic there, so gateways side by side lose none of each
other's updates. FerretDB applies an update as a read-modify-write outside a
transaction, so this store serialises its own read-model updates with a lock:
enough for the one gateway process a FerretDB serves here. Every read model
can be rebuilt from ``attendance`` and ``sessions``
(:meth:`AttendanceStore.rebuild_read_models`; done once by ``ensure_indexes``
on a database written before they existed).

The indexes serve MongoDB: sessions by start time, department and roster
(listing, a person's sessions, erasure), marks by session and by person.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import threading
import uuid
from collections import defaultdict

import pymongo
from bson.int64 import Int64
from pymongo.errors import DuplicateKeyError

from attendance.rules import CLOSED, LATE, OPEN, PRESENT
from shared.storage import Storage, now

READ_MODELS_VERSION = 1
BITS = 62  # roster positions per bitset word (an int64, sign bit unused)


def mark_id(session_id: str, roll_no: str) -> str:
    return f"{session_id}:{roll_no}"


def _escape(roll_no: str) -> str:
    """A rollNo inside a ledger line (``|`` and newlines are its syntax)."""
    return roll_no.replace("%", "%25").replace("|", "%7C").replace("\n", "%0A")


def _unescape(text: str) -> str:
    return text.replace("%0A", "\n").replace("%7C", "|").replace("%25", "%")


def roster_key(roster: list[str]) -> str:
    return hashlib.sha1("\n".join(roster).encode()).hexdigest()[:12]


def monday(at: dt.datetime) -> dt.datetime:
    day = at.astimezone(dt.timezone.utc).date()
    return dt.datetime.combine(day - dt.timedelta(days=day.weekday()), dt.time.min, tzinfo=dt.timezone.utc)


def week_id(department: str, week: dt.datetime) -> str:
    return f"{department}|{week.date().isoformat()}"


def _words(roster_size: int) -> int:
    return max(1, -(-roster_size // BITS))


STATUS_CODES = {PRESENT: "p", LATE: "l"}
STATUS_OF_CODE = {v: k for k, v in STATUS_CODES.items()}


def ledger_line(mark: dict, starts_at: dt.datetime) -> str:
    """A mark as a session's ledger keeps it: what the reports show - rollNo,
    status, time (milliseconds from the session's start), similarity, source."""
    at = mark.get("marked_at")
    offset = "" if at is None else round((at - starts_at).total_seconds() * 1000)
    similarity = "" if mark.get("similarity") is None else repr(float(mark["similarity"]))
    status = STATUS_CODES.get(mark["status"], mark["status"])
    return f"{_escape(mark['rollNo'])}|{status}|{offset}|{similarity}|{mark.get('source') or ''}"


def parse_ledger(text: str) -> dict[str, str]:
    """``{rollNo: line}`` of a ledger."""
    return {_unescape(line.split("|", 1)[0]): line for line in text.split("\n") if line}


def mark_of_line(session_id: str, line: str, starts_at: dt.datetime) -> dict:
    roll_no, status, offset, similarity, source = line.split("|", 4)
    return {"session_id": session_id, "rollNo": _unescape(roll_no), "status": STATUS_OF_CODE.get(status, status),
            "marked_at": starts_at + dt.timedelta(milliseconds=int(offset)) if offset else None,
            "similarity": float(similarity) if similarity else None, "source": source or None}


class AttendanceStore:
    def __init__(self, storage: Storage):
        db = storage.db
        self.sessions = db["sessions"]
        self.marks = db["attendance"]
        self.session_marks = db["session_marks"]
        self.weeks = db["department_weeks"]
        self.state = db["attendance_state"]
        self.audit = db["attendance_audit"]
        self.checkins = db["checkins"]
        self.reviews = db["reviews"]
        self._lock = threading.RLock()  # read-model updates (see the module's docstring)
        self._positions: dict[str, dict[str, int]] = {}  # session id -> rollNo -> position in its bitsets
        self._meta: dict[str, dict] = {}  # session id -> what the read models need of it
        self._ferretdb: bool | None = None  # known at the first read-model write

    def ensure_indexes(self) -> None:
        self.sessions.create_index([("starts_at", pymongo.ASCENDING)], name="starts_at")
        self.sessions.create_index([("department", pymongo.ASCENDING), ("starts_at", pymongo.ASCENDING)],
                                   name="department_starts_at")
        self.sessions.create_index([("roster", pymongo.ASCENDING)], name="roster")
        self.marks.create_index([("session_id", pymongo.ASCENDING), ("rollNo", pymongo.ASCENDING)],
                                unique=True, name="one_mark_per_person_per_session")
        self.marks.create_index([("rollNo", pymongo.ASCENDING), ("marked_at", pymongo.ASCENDING)],
                                name="rollNo_marked_at")
        self.audit.create_index([("session_id", pymongo.ASCENDING), ("at", pymongo.ASCENDING)], name="session_at")
        self.reviews.create_index([("session_id", pymongo.ASCENDING), ("status", pymongo.ASCENDING)],
                                  name="session_status")
        self.checkins.create_index([("session_id", pymongo.ASCENDING), ("at", pymongo.ASCENDING)],
                                   name="session_at")
        self.weeks.create_index([("department", pymongo.ASCENDING), ("week", pymongo.ASCENDING)],
                                name="department_week")
        state = self.state.find_one({"_id": "read_models"})
        if state is None or state.get("version") != READ_MODELS_VERSION:
            self.rebuild_read_models()
            self.state.replace_one({"_id": "read_models"}, {"_id": "read_models", "version": READ_MODELS_VERSION,
                                                            "built_at": now()}, upsert=True)

    # -- sessions --------------------------------------------------------------
    @staticmethod
    def session_document(fields: dict) -> dict:
        """A new open session as stored (its marks keyed by ``mark_id``)."""
        return dict(fields, _id=uuid.uuid4().hex[:12], status=OPEN, created_at=now(), closed_at=None,
                    marks_keyed=True)

    def create_session(self, fields: dict) -> dict:
        doc = self.session_document(fields)
        self.sessions.insert_one(doc)
        with self._lock:
            self.session_marks.insert_one(self._ledger(doc, []))
            self._index_session(doc, [])
        return doc

    def get_session(self, session_id: str) -> dict | None:
        return self.sessions.find_one({"_id": session_id})

    def list_sessions(self, start: dt.datetime, end: dt.datetime, department: str | None = None,
                      status: str | None = None, roll_no: str | None = None) -> list[dict]:
        query: dict = {"starts_at": {"$gte": start, "$lt": end}}
        if department:
            query["department"] = department
        if status:
            query["status"] = status
        if roll_no:
            query["roster"] = roll_no
        return list(self.sessions.find(query).sort("starts_at", pymongo.ASCENDING))

    def close_session(self, session_id: str) -> None:
        session = self.sessions.find_one({"_id": session_id}, {"status": 1})
        if session is not None and session.get("status", OPEN) == OPEN:
            self.sessions.update_one({"_id": session_id}, {"$set": {"status": CLOSED, "closed_at": now()}})

    def delete_session(self, session_id: str) -> None:
        with self._lock:
            session = self.get_session(session_id)
            for collection in (self.marks, self.audit, self.checkins, self.reviews):
                collection.delete_many({"session_id": session_id})
            self.session_marks.delete_one({"_id": session_id})
            if session is not None and session.get("department"):
                self.weeks.update_one({"_id": week_id(session["department"], monday(session["starts_at"]))},
                                      {"$unset": {f"s.{session_id}": ""}})
            self._positions.pop(session_id, None)
            self._meta.pop(session_id, None)
            self.sessions.delete_one({"_id": session_id})

    # -- marks -----------------------------------------------------------------
    # ``by`` is who the change is for (an operator's name, "check-in");
    # ``token`` the name of the API token that made the request (None when the
    # API runs without authentication).
    def add_mark(self, mark: dict, by: str, reason: str, token: str | None = None) -> bool:
        """Insert a mark unless the person has one; returns whether it was new."""
        with self._lock:
            try:
                self.marks.insert_one(dict(mark, _id=mark_id(mark["session_id"], mark["rollNo"])))
            except DuplicateKeyError:
                return False
            self._mark_changed(mark["session_id"], mark["rollNo"], mark)
        self._audit(mark["session_id"], mark["rollNo"], "mark", by, token, reason, None, mark)
        return True

    def set_mark(self, mark: dict, by: str, reason: str, token: str | None = None) -> dict | None:
        """Create or replace a mark by hand; returns the mark it replaced."""
        with self._lock:
            session = self._session_meta(mark["session_id"])
            key = self._mark_key(mark["session_id"], mark["rollNo"], session)
            before = self.marks.find_one(key, {"_id": 0})
            if "_id" in key:
                self.marks.replace_one(key, dict(mark, _id=key["_id"]), upsert=True)
            else:  # a session from before keyed marks: its mark keeps its id
                self.marks.replace_one(key, dict(mark), upsert=True)
            self._mark_changed(mark["session_id"], mark["rollNo"], mark, session)
        action = "correct" if before else "mark"
        self._audit(mark["session_id"], mark["rollNo"], action, by, token, reason, before, mark)
        return before

    def remove_mark(self, session_id: str, roll_no: str, by: str, reason: str,
                    token: str | None = None) -> dict | None:
        with self._lock:
            session = self._session_meta(session_id)
            key = self._mark_key(session_id, roll_no, session)
            before = self.marks.find_one(key, {"_id": 0})
            if before is None:
                return None
            self.marks.delete_one(key)
            self._mark_changed(session_id, roll_no, None, session)
        self._audit(session_id, roll_no, "unmark", by, token, reason, before, None)
        return before

    @staticmethod
    def _mark_key(session_id: str, roll_no: str, session: dict | None) -> dict:
        if session is None or session.get("marks_keyed"):
            return {"_id": mark_id(session_id, roll_no)}
        return {"session_id": session_id, "rollNo": roll_no}

    def marks_of_session(self, session_id: str) -> list[dict]:
        """The session's marks, from its ledger: ``session_id``, ``rollNo``,
        ``status``, ``marked_at``, ``similarity``, ``source`` (what reports,
        overview and check-in use; the whole record is in ``attendance``)."""
        doc = self.session_marks.find_one({"_id": session_id})
        if doc is None:  # a session from before the read models
            with self._lock:
                if self.get_session(session_id) is None:
                    return []
                doc = self._build_ledger(session_id)
        return [mark_of_line(session_id, line, doc["t"]) for line in doc.get("m", "").split("\n") if line]

    def marks_of_sessions(self, session_ids: list[str]) -> list[dict]:
        return [m for sid in session_ids for m in self.marks_of_session(sid)]

    def marks_of_person(self, roll_no: str) -> list[dict]:
        """Every mark of one person (index ``rollNo_marked_at``); the caller
        picks the sessions it reports on. Cheaper than ``$in`` over a year of
        session ids, which FerretDB evaluates per stored mark."""
        return list(self.marks.find({"rollNo": roll_no}, {"_id": 0}))

    # -- read models -----------------------------------------------------------
    def _mark_changed(self, session_id: str, roll_no: str, mark: dict | None, session: dict | None = None) -> None:
        """Bring the session's read models to ``mark``, the mark of ``roll_no``
        just written (None: just removed). Called with the lock held, right
        after the write to ``attendance``."""
        session = session or self._session_meta(session_id)
        if session is None:
            return
        self._rewrite_ledger(session, lambda lines: lines.update({roll_no: ledger_line(mark, session["starts_at"])})
                             if mark else lines.pop(roll_no, None))
        if not session.get("department"):
            return
        position = self._position(session, roll_no)
        if position is None:
            return
        word, bit = divmod(position, BITS)
        status = mark.get("status") if mark else None
        entry = f"s.{session_id}"
        self.weeks.update_one({"_id": week_id(session["department"], monday(session["starts_at"]))}, {"$bit": {
            f"{entry}.p{word}": {"or": Int64(1 << bit)} if status == PRESENT else {"and": Int64(~(1 << bit))},
            f"{entry}.l{word}": {"or": Int64(1 << bit)} if status == LATE else {"and": Int64(~(1 << bit))}}})

    def _session_meta(self, session_id: str) -> dict | None:
        """What the read models need of a session (id, start, department,
        keyed marks): fixed at creation, so kept once read."""
        meta = self._meta.get(session_id)
        if meta is None:
            doc = self.sessions.find_one({"_id": session_id}, {"starts_at": 1, "department": 1, "marks_keyed": 1})
            if doc is None:
                return None
            if len(self._meta) > 4096:
                self._meta.clear()
            meta = self._meta[session_id] = doc
        return meta

    def _position(self, session: dict, roll_no: str) -> int | None:
        """Where ``roll_no`` is in the bitsets of ``session`` (its roster when
        it was created: an erasure leaves a blank there, never moves anyone)."""
        sid = session["_id"]
        positions = self._positions.get(sid)
        if positions is None:
            doc = self.weeks.find_one({"_id": week_id(session["department"], monday(session["starts_at"]))})
            entry = (doc or {}).get("s", {}).get(sid)
            if entry is None:  # a session from before the read models: index it now
                full = self.get_session(sid)
                if full is not None:
                    self._index_session(full, self._record_marks(sid))
                return None  # indexed from the record, this change included
            roster = doc.get("rosters", {}).get(entry["r"], [])
            if len(self._positions) > 4096:
                self._positions.clear()
            positions = self._positions[sid] = {r: i for i, r in enumerate(roster) if r}
        return positions.get(roll_no)

    def _record_marks(self, session_id: str) -> list[dict]:
        return list(self.marks.find({"session_id": session_id}))

    @staticmethod
    def _ledger(session: dict, marks: list[dict]) -> dict:
        return {"_id": session["_id"], "t": session["starts_at"], "v": 0,
                "m": "\n".join(ledger_line(m, session["starts_at"]) for m in marks)}

    def _build_ledger(self, session_id: str, session: dict | None = None) -> dict:
        session = session or self.get_session(session_id)
        doc = self._ledger(session, self._record_marks(session_id))
        try:
            self.session_marks.insert_one(doc)
        except DuplicateKeyError:  # built meanwhile (another gateway, on MongoDB)
            return self.session_marks.find_one({"_id": session_id}) or doc
        return doc

    def _rewrite_ledger(self, session: dict, change) -> None:
        """Apply ``change`` (on ``{rollNo: line}``) to the session's ledger.

        A read-modify-write of one string: on FerretDB serialised by the lock
        (held by the caller), on MongoDB a compare-and-set on the ledger's
        version, retried when another gateway wrote in between."""
        for _ in range(50):
            doc = self.session_marks.find_one({"_id": session["_id"]})
            if doc is None:
                self._build_ledger(session["_id"], session)  # from the record: holds this change
                return
            lines = parse_ledger(doc.get("m", ""))
            change(lines)
            version = doc.get("v", 0)
            where = {"_id": session["_id"]} if self._serialised() else {"_id": session["_id"], "v": version}
            if self.session_marks.update_one(where, {"$set": {"m": "\n".join(lines.values()),
                                                              "v": version + 1}}).matched_count:
                return
        raise RuntimeError(f"the ledger of session {session['_id']} keeps changing under this write")

    def _serialised(self) -> bool:
        """Whether this store's lock is all the serialisation its writes get:
        FerretDB (one gateway per database here; conditional updates there are
        not atomic anyway). On MongoDB, conditional updates are."""
        if self._ferretdb is None:
            self._ferretdb = "ferretdbVersion" in self.sessions.database.client.admin.command("buildInfo")
        return self._ferretdb

    @staticmethod
    def _week_entry(session: dict, marks: list[dict]) -> tuple[str, list[str], dict]:
        roster = list(session["roster"])
        where = {r: i for i, r in enumerate(roster)}
        words = _words(len(roster))
        present, late = [0] * words, [0] * words
        for m in marks:
            i = where.get(m["rollNo"])
            if i is not None and m.get("status") in (PRESENT, LATE):
                (present if m["status"] == PRESENT else late)[i // BITS] |= 1 << (i % BITS)
        key = roster_key(roster)
        entry = {"t": session["starts_at"], "r": key}
        entry.update({f"p{w}": Int64(v) for w, v in enumerate(present)})
        entry.update({f"l{w}": Int64(v) for w, v in enumerate(late)})
        return key, roster, entry

    def _index_session(self, session: dict, marks: list[dict]) -> None:
        """Put a session (with ``marks``) into its department's week document."""
        department = session.get("department")
        if not department:
            return
        week = monday(session["starts_at"])
        key, roster, entry = self._week_entry(session, marks)
        change = {"$set": {f"rosters.{key}": roster, f"s.{session['_id']}": entry},
                  "$setOnInsert": {"department": department, "week": week}}
        for attempt in range(2):  # two first sessions of a week at once: one upsert loses, then updates
            try:
                self.weeks.update_one({"_id": week_id(department, week)}, change, upsert=True)
                break
            except DuplicateKeyError:
                if attempt:
                    raise
        self._positions.pop(session["_id"], None)

    def department_sessions(self, department: str, start: dt.datetime,
                            end: dt.datetime) -> tuple[list[dict], list[dict]]:
        """The department's sessions starting in ``[start, end)`` (``_id``,
        ``starts_at``, current roster) and the status of each of their marks
        (``session_id``, ``rollNo``, ``status``), from the week documents."""
        # One query (the index ``department_week`` on MongoDB; on FerretDB one
        # pass over the few week documents beats a key lookup per week, each
        # of which also reads through the collection).
        sessions, marks = [], []
        for doc in self.weeks.find({"department": department, "week": {"$gte": monday(start), "$lt": end}}):
            rosters = doc.get("rosters", {})
            for sid, entry in doc.get("s", {}).items():
                starts = entry.get("t")
                if starts is None or not start <= starts < end:
                    continue
                roster = rosters.get(entry["r"], [])
                sessions.append({"_id": sid, "starts_at": starts, "roster": [r for r in roster if r]})
                for w in range(_words(len(roster))):
                    present, late = int(entry.get(f"p{w}", 0)), int(entry.get(f"l{w}", 0))
                    bits = present | late
                    while bits:
                        low = bits & -bits
                        i = w * BITS + low.bit_length() - 1
                        if i < len(roster) and roster[i]:
                            marks.append({"session_id": sid, "rollNo": roster[i],
                                          "status": PRESENT if present & low else LATE})
                        bits ^= low
        sessions.sort(key=lambda s: s["starts_at"])
        return sessions, marks

    def rebuild_read_models(self) -> dict:
        """Build every read model from ``sessions`` and ``attendance`` (once,
        for a database from before them; or to repair). Returns counts."""
        with self._lock:
            by_session: dict[str, list[dict]] = defaultdict(list)
            for m in self.marks.find({}):
                by_session[m["session_id"]].append(m)
            sessions = list(self.sessions.find({}))
            self.session_marks.delete_many({})
            self.weeks.delete_many({})
            ledgers = [self._ledger(s, by_session.get(s["_id"], [])) for s in sessions]
            for i in range(0, len(ledgers), 1000):
                self.session_marks.insert_many(ledgers[i:i + 1000])
            weeks: dict[str, dict] = {}
            for s in sessions:
                if not s.get("department"):
                    continue
                week = monday(s["starts_at"])
                key, roster, entry = self._week_entry(s, by_session.get(s["_id"], []))
                doc = weeks.setdefault(week_id(s["department"], week), {
                    "_id": week_id(s["department"], week), "department": s["department"], "week": week,
                    "rosters": {}, "s": {}})
                doc["rosters"][key] = roster
                doc["s"][s["_id"]] = entry
            docs = list(weeks.values())
            for i in range(0, len(docs), 100):
                self.weeks.insert_many(docs[i:i + 100])
            self._positions.clear()
            return {"sessions": len(sessions), "marks": sum(len(v) for v in by_session.values()), "weeks": len(weeks)}

    def forget_marks_of(self, roll_no: str) -> None:
        """Take ``roll_no`` out of every read model (an erasure of their
        attendance): their marks from the sessions' ledgers; in the week
        documents, a blank in the rosters that held them (positions do not
        move), under a new key (a new person with the same rollNo is not on
        those rosters), and their bits cleared."""
        with self._lock:
            for doc in self.session_marks.find({}, {"m": 1, "t": 1}):
                if roll_no in parse_ledger(doc.get("m", "")):
                    self._rewrite_ledger({"_id": doc["_id"], "starts_at": doc["t"]},
                                         lambda lines: lines.pop(roll_no, None))
            for doc in self.weeks.find({"rosters": {"$exists": True}}):
                change: dict = {"$set": {}, "$unset": {}, "$bit": {}}
                for key, roster in doc.get("rosters", {}).items():
                    if roll_no not in roster:
                        continue
                    blanked = ["" if r == roll_no else r for r in roster]
                    new_key = roster_key(blanked)
                    change["$set"][f"rosters.{new_key}"] = blanked
                    change["$unset"][f"rosters.{key}"] = ""
                    for sid, entry in doc.get("s", {}).items():
                        if entry.get("r") != key:
                            continue
                        change["$set"][f"s.{sid}.r"] = new_key
                        for i in (i for i, r in enumerate(roster) if r == roll_no):
                            word, bit = divmod(i, BITS)
                            for kind in "pl":
                                change["$bit"][f"s.{sid}.{kind}{word}"] = {"and": Int64(~(1 << bit))}
                if change["$set"]:
                    self.weeks.update_one({"_id": doc["_id"]}, {k: v for k, v in change.items() if v})
            self._positions.clear()

    # -- audit and check-in log ------------------------------------------------
    def open_review_count(self, session_id: str) -> int:
        return self.reviews.count_documents({"session_id": session_id, "status": "open"})

    def audit_event(self, session_id, roll_no, action, by, token, reason) -> None:
        """An audited decision that changes no mark (a rejected review)."""
        self._audit(session_id, roll_no, action, by, token, reason, None, None)

    def _audit(self, session_id, roll_no, action, by, token, reason, before, after) -> None:
        strip = (lambda m: {k: v for k, v in m.items() if k != "_id"} if m else None)
        self.audit.insert_one({"session_id": session_id, "rollNo": roll_no, "action": action, "by": by,
                               "token": token, "reason": reason, "at": now(),
                               "before": strip(before), "after": strip(after)})

    def audit_of_session(self, session_id: str) -> list[dict]:
        return list(self.audit.find({"session_id": session_id}, {"_id": 0}).sort("at", pymongo.ASCENDING))

    def log_checkin(self, entry: dict) -> None:
        self.checkins.insert_one(dict(entry, logged_at=now()))

    def checkins_of_session(self, session_id: str) -> list[dict]:
        return list(self.checkins.find({"session_id": session_id}, {"_id": 0}).sort("logged_at", pymongo.ASCENDING))
