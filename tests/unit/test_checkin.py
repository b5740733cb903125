"""Check-in as pure logic: a fake recognizer and an in-memory store."""
import datetime as dt

import pytest

from attendance.checkin import CheckIns, Photo
from attendance.errors import OutsideWindow, SessionClosed, UnknownSession
from shared.contracts import ErrorCode, Reply
from shared import imaging
from shared.imaging import JPEG_MAGIC

T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.timezone.utc)
ROSTER = ["ANN", "BOB", "CAT"]
NAMES = {"ANN": "Ann", "BOB": "Bob", "CAT": "Cat", "ZED": "Zed"}


class FakeStore:
    """The store methods a check-in uses, in memory, with the database's
    one-mark-per-person-per-session guarantee."""

    def __init__(self, **session):
        self.session = {"_id": "s1", "name": "Maths", "roster": ROSTER, "starts_at": T0,
                        "ends_at": T0 + dt.timedelta(hours=1), "grace_minutes": 10, "status": "open", **session}
        self.marks: dict[tuple[str, str], dict] = {}
        self.audit: list[dict] = []
        self.checkins: list[dict] = []
        self.reviews = FakeCollection()

    def get_session(self, session_id):
        return self.session if session_id == self.session["_id"] else None

    def add_mark(self, mark, by, reason, token=None):
        key = (mark["session_id"], mark["rollNo"])
        if key in self.marks:
            return False
        self.marks[key] = dict(mark)
        self.audit.append({"rollNo": mark["rollNo"], "by": by, "reason": reason, "token": token})
        return True

    def log_checkin(self, entry):
        self.checkins.append(dict(entry))

    def marks_of_session(self, session_id):
        return [m for (sid, _), m in self.marks.items() if sid == session_id]


class FakeCollection:
    def __init__(self):
        self.docs: list[dict] = []

    def insert_one(self, doc):
        self.docs.append(dict(doc))


def photo(name: str) -> Photo:
    return Photo(f"{name}.jpg", JPEG_MAGIC + name.encode())


def face(roll_no: str | None, similarity: float = 0.8) -> dict:
    match = {"rollNo": roll_no, "name": NAMES[roll_no]} if roll_no else None
    return {"box": [0, 0, 10, 10], "confidence": 0.99, "match": match, "similarity": similarity}


class FakeRecognizer:
    """Answers each image with the Reply given for its photo; records what it was asked."""

    def __init__(self, replies: dict[str, Reply]):
        self.replies = {photo(name).data: reply for name, reply in replies.items()}
        self.calls: list[list[bytes]] = []

    def __call__(self, images, roster):
        assert roster == sorted(ROSTER)  # the roster is matched first
        self.calls.append(list(images))
        return [self.replies[data] for data in images]


def seen(*faces) -> Reply:
    return Reply(job_id="j", ok=True, faces=list(faces))


def check_in(store, recognizer, names, minutes=5, force=False):
    checkins = CheckIns(store, recognizer)
    admission = checkins.admit("s1", T0 + dt.timedelta(minutes=minutes), force=force)
    return checkins.record(admission, [photo(n) for n in names], token="door")


def test_marks_present_within_grace_and_late_after():
    store = FakeStore()
    rec = FakeRecognizer({"early": seen(face("ANN")), "later": seen(face("BOB"))})
    assert [(m["rollNo"], m["status"]) for m in check_in(store, rec, ["early"], minutes=10).marked] == [
        ("ANN", "present")]
    assert [(m["rollNo"], m["status"]) for m in check_in(store, rec, ["later"], minutes=11).marked] == [
        ("BOB", "late")]
    assert store.marks[("s1", "BOB")]["marked_at"] == T0 + dt.timedelta(minutes=11)
    assert store.audit[0] == {"rollNo": "ANN", "by": "check-in", "reason": "recognized in photo early.jpg",
                              "token": "door"}


def test_a_person_in_two_photos_is_marked_once():
    store = FakeStore()
    rec = FakeRecognizer({"door1": seen(face("ANN", 0.7)), "door2": seen(face("ANN", 0.9), face("BOB"))})
    out = check_in(store, rec, ["door1", "door2"])
    assert [(m["rollNo"], m["photo"]) for m in out.marked] == [("ANN", "door1.jpg"), ("BOB", "door2.jpg")]
    assert out.already_marked == []  # seen twice in this check-in is not "already marked"
    assert len(store.marks) == 2 and [e["recognized"] for e in out.photos] == [["ANN"], ["ANN", "BOB"]]


def test_people_off_the_roster_are_reported_not_marked():
    store = FakeStore()
    out = check_in(store, FakeRecognizer({"room": seen(face("ZED", 0.6), face("ZED", 0.7), face("CAT"))}), ["room"])
    assert out.not_on_roster == [{"rollNo": "ZED", "name": "Zed", "similarity": 0.7}]
    assert [m["rollNo"] for m in out.marked] == ["CAT"] and ("s1", "ZED") not in store.marks
    assert out.photos[0]["not_on_roster"] == ["ZED"]


def test_unknown_faces_are_counted():
    out = check_in(FakeStore(), FakeRecognizer({"a": seen(face(None), face(None)), "b": seen(face(None), face("ANN"))}),
                   ["a", "b"])
    assert out.unknown_faces == 3
    assert [(e["faces"], e["unknown_faces"]) for e in out.photos] == [(2, 2), (2, 1)]


def test_a_photo_that_is_not_an_image_is_reported_and_the_rest_still_count():
    store = FakeStore()
    rec = FakeRecognizer({"door": seen(face("ANN"))})
    checkins = CheckIns(store, rec)
    admission = checkins.admit("s1", T0)
    out = checkins.record(admission, [Photo("notes.txt", b"hello"), photo("door"), Photo("", b"GIF89a")])
    assert out.photos[0] == {"filename": "notes.txt",
                             "error": {"code": ErrorCode.NOT_AN_IMAGE, "message": imaging.NOT_ACCEPTED}}
    assert out.photos[2]["filename"] == "unnamed" and out.photos[2]["error"]["code"] == ErrorCode.NOT_AN_IMAGE
    assert rec.calls == [[photo("door").data]]  # refused without a trip through recognition
    assert [m["rollNo"] for m in out.marked] == ["ANN"] and "photo_hash" in out.photos[1]


def test_a_failed_recognition_is_reported_per_photo():
    store = FakeStore()
    failure = Reply.failure("j", ErrorCode.IMAGE_TOO_LARGE, "too many pixels")
    out = check_in(store, FakeRecognizer({"huge": failure, "door": seen(face("BOB"))}), ["huge", "door"])
    assert out.photos[0]["error"] == {"code": ErrorCode.IMAGE_TOO_LARGE, "message": "too many pixels"}
    assert "faces" not in out.photos[0]
    assert [m["rollNo"] for m in out.marked] == ["BOB"]
    assert [e["filename"] for e in store.checkins] == ["door.jpg"]


def test_people_marked_before_are_already_marked():
    store = FakeStore()
    rec = FakeRecognizer({"first": seen(face("ANN")), "again": seen(face("ANN"), face("BOB"))})
    check_in(store, rec, ["first"])
    out = check_in(store, rec, ["again"], minutes=30)
    assert out.already_marked == ["ANN"] and [m["rollNo"] for m in out.marked] == ["BOB"]
    assert store.marks[("s1", "ANN")]["status"] == "present"  # the first mark stands


def test_a_closed_session_is_refused():
    rec = FakeRecognizer({})
    with pytest.raises(SessionClosed) as err:
        CheckIns(FakeStore(status="closed"), rec).admit("s1", T0)
    assert err.value.code == "session_closed" and rec.calls == []


def test_an_unknown_session_is_refused():
    with pytest.raises(UnknownSession):
        CheckIns(FakeStore(), FakeRecognizer({})).admit("nope", T0)


@pytest.mark.parametrize("minutes", [-1, 61])
def test_outside_the_window_is_refused_unless_forced(minutes):
    store = FakeStore()
    with pytest.raises(OutsideWindow) as err:
        check_in(store, FakeRecognizer({}), [], minutes=minutes)
    assert "force=true" in err.value.message
    out = check_in(store, FakeRecognizer({"door": seen(face("CAT"))}), ["door"], minutes=minutes, force=True)
    assert [m["rollNo"] for m in out.marked] == ["CAT"]


def test_the_answer_keeps_its_json_shape():
    out = check_in(FakeStore(), FakeRecognizer({"door": seen(face("ANN", 0.91))}), ["door"], minutes=0)
    body = out.as_dict()
    assert list(body) == ["session", "at", "photos", "marked", "already_marked", "not_on_roster", "unknown_faces",
                          "needs_review"]
    assert body["session"] == "s1" and body["at"] == "2026-11-25T09:00:00Z"
    assert body["marked"] == [{"rollNo": "ANN", "name": "Ann", "status": "present", "similarity": 0.91,
                               "photo": "door.jpg"}]
    assert body["photos"][0] == {"filename": "door.jpg", "photo_hash": body["photos"][0]["photo_hash"], "faces": 1,
                                 "unknown_faces": 0, "recognized": ["ANN"], "not_on_roster": []}


def near_miss(roll_no: str, similarity: float) -> dict:
    return dict(face(None), review={"rollNo": roll_no, "name": NAMES[roll_no], "similarity": similarity},
                vector=[0.6, 0.8], model="m")


def test_near_misses_of_unmarked_roster_members_open_review_items():
    store = FakeStore()
    rec = FakeRecognizer({"a": seen(face("ANN"), near_miss("BOB", 0.37)),
                          "b": seen(near_miss("BOB", 0.39), near_miss("ANN", 0.35), near_miss("ZED", 0.4))})
    out = check_in(store, rec, ["a", "b"])
    # BOB once (the closer face), ANN not (marked), ZED not (not on the roster)
    assert [(r["rollNo"], r["similarity"], r["photo"]) for r in out.needs_review] == [("BOB", 0.39, "b.jpg")]
    assert {"rollNo", "name", "similarity", "photo", "box", "id"} <= set(out.needs_review[0])
    (item,) = store.reviews.docs
    assert item["status"] == "open" and item["vector"] is not None and item["model"] == "m"
    assert [m["rollNo"] for m in out.marked] == ["ANN"] and out.unknown_faces == 4  # near misses are nobody yet
