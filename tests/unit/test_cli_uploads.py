"""The CLI splits photo uploads into requests the gateway accepts."""
from pathlib import Path

import pytest

from attendance_cli import uploads
from attendance_cli.client import ApiFailure, Client


def files(tmp_path: Path, sizes: list[int]) -> list[Path]:
    out = []
    for i, size in enumerate(sizes):
        path = tmp_path / f"{i}.jpg"
        path.write_bytes(b"x" * size)
        out.append(path)
    return out


def names(groups):
    return [[p.name for p in g] for g in groups]


def test_batches_keep_order_and_stay_under_the_limit(tmp_path):
    paths = files(tmp_path, [40, 40, 30, 90, 10, 10])
    assert names(uploads.batches(paths, 100)) == [["0.jpg", "1.jpg"], ["2.jpg"], ["3.jpg", "4.jpg"], ["5.jpg"]]


def test_a_file_larger_than_the_limit_travels_alone(tmp_path):
    paths = files(tmp_path, [10, 500, 10])
    assert names(uploads.batches(paths, 100)) == [["0.jpg"], ["1.jpg"], ["2.jpg"]]
    assert uploads.batches([], 100) == []


def test_merged_checkins_report_each_person_once():
    first = {"session": "s1", "marked": [{"rollNo": "A"}], "already_marked": [], "unknown_faces": 1,
             "not_on_roster": [{"rollNo": "X", "name": "x"}], "photos": [{"filename": "1.jpg"}]}
    second = {"session": "s1", "marked": [{"rollNo": "B"}], "already_marked": ["A", "C"], "unknown_faces": 2,
              "not_on_roster": [{"rollNo": "X", "name": "x"}], "photos": [{"filename": "2.jpg"}]}
    merged = uploads.merge_checkins([first, second])
    assert [m["rollNo"] for m in merged["marked"]] == ["A", "B"]
    assert merged["already_marked"] == ["C"]  # A was marked by this very command
    assert merged["not_on_roster"] == [{"rollNo": "X", "name": "x"}]
    assert merged["unknown_faces"] == 3 and len(merged["photos"]) == 2 and merged["session"] == "s1"


class FakeGateway(Client):
    """A gateway that refuses bodies over ``limit`` bytes with 413, as Flask does."""

    def __init__(self, limit: int, max_request_bytes: int):
        super().__init__("http://gateway.invalid", max_request_bytes=max_request_bytes)
        self.limit, self.requests, self.count = limit, [], 0

    def json(self, method, path, **kw):
        sent = [f for _, f in kw.get("files", [])]
        if sum(len(body) for _, body, _ in sent) > self.limit:
            raise ApiFailure(413, "too_large", "the upload exceeds the limit")
        self.requests.append((method, path, [name for name, _, _ in sent]))
        self.count += len(sent)
        images = [{"filename": name, "accepted": True, "reason": None} for name, _, _ in sent]
        return {"person": {"rollNo": "R1", "images_count": self.count}, "images": images}


def test_enroll_creates_once_then_adds_and_halves_what_the_gateway_refuses(tmp_path):
    gateway = FakeGateway(limit=100, max_request_bytes=1000)  # the gateway's limit is lower than assumed
    paths = files(tmp_path, [40, 40, 40, 40, 150, 40])
    body = gateway.enroll({"rollNo": "R1", "name": "Ann"}, paths)
    # 350 B is halved until each request fits 100 B: [0] creates, then [1, 2], [3], [5]; [4] alone is refused
    assert [r[2] for r in gateway.requests] == [["0.jpg"], ["1.jpg", "2.jpg"], ["3.jpg"], ["5.jpg"]]
    assert [r[1] for r in gateway.requests] == ["/persons"] + ["/persons/R1/images"] * 3
    assert [i["filename"] for i in body["images"]] == [p.name for p in paths]  # in the order given
    refused = [i for i in body["images"] if not i["accepted"]]
    assert refused == [{"filename": "4.jpg", "accepted": False, "reason": "image too large", "code": "too_large",
                        "detail": "the photo is larger than the gateway accepts"}]
    assert body["person"]["images_count"] == 5


def test_enroll_of_only_oversized_photos_fails_clearly(tmp_path):
    gateway = FakeGateway(limit=100, max_request_bytes=1000)
    with pytest.raises(ApiFailure, match="nothing was enrolled"):
        gateway.enroll({"rollNo": "R1", "name": "Ann"}, files(tmp_path, [200, 300]))
    assert gateway.requests == []


def test_other_errors_are_not_retried(tmp_path):
    class Down(Client):
        calls = 0

        def json(self, method, path, **kw):
            Down.calls += 1
            raise ApiFailure(503, "pipeline_unavailable", "broker down")

    with pytest.raises(ApiFailure, match="broker down"):
        Down("http://gateway.invalid").enroll({"rollNo": "R1", "name": "Ann"}, files(tmp_path, [10, 10]))
    assert Down.calls == 1
