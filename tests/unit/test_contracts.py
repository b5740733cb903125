import json

import numpy as np
import pytest

from shared.contracts import (CONTRACT_VERSION, ENROLL, RECOGNIZE, Enrollment, ErrorCode, Face, GalleryChange, Job,
                              JobError, Reply, decode_array, encode_array)


def make_job(**kw):
    base = dict(kind=RECOGNIZE, reply_to="amq.gen-1", correlation_id="c1", deadline=1e12)
    base.update(kw)
    return Job(**base)


def test_job_round_trip_keeps_every_stage_field():
    crop = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    job = make_job(kind=ENROLL, image=b"\xff\xd8\xffjpeg", model="m", enroll=Enrollment("R1", "h1", "a.jpg"),
                   faces=[Face(box=(1, 2, 3, 4), confidence=0.9, crop=encode_array(crop), face_box=(0, 0, 3, 2),
                               vector=(0.5, 0.5), landmarks={"nose": (2, 3)})])
    back = Job.from_bytes(job.to_bytes())
    assert back == job
    assert np.array_equal(decode_array(back.faces[0].crop), crop)


def test_unknown_version_is_refused_with_a_clear_error():
    obj = json.loads(make_job().to_bytes())
    obj["v"] = CONTRACT_VERSION + 1
    with pytest.raises(JobError) as err:
        Job.from_bytes(json.dumps(obj).encode())
    assert err.value.code == ErrorCode.BAD_MESSAGE
    assert "version" in err.value.message


@pytest.mark.parametrize("body", [b"not json", b"{}", b'{"v":1,"kind":"dance"}'])
def test_malformed_jobs_raise_job_error(body):
    with pytest.raises(JobError) as err:
        Job.from_bytes(body)
    assert err.value.code == ErrorCode.BAD_MESSAGE


def test_crop_with_wrong_size_is_rejected():
    enc = encode_array(np.zeros((2, 2, 3), np.uint8))
    enc["shape"] = [3, 3, 3]
    with pytest.raises(JobError):
        decode_array(enc)


def test_expiry():
    assert make_job(deadline=100.0).expired(now=101.0)
    assert not make_job(deadline=100.0).expired(now=99.0)


def test_reply_and_gallery_change_round_trip():
    reply = Reply.failure("j", ErrorCode.NO_FACE, "no face")
    assert Reply.from_bytes(reply.to_bytes()) == reply
    change = GalleryChange(op="add", person_id="p1", face_id="f", version=4)
    assert GalleryChange.from_bytes(change.to_bytes()) == change
    with pytest.raises(JobError):
        GalleryChange.from_bytes(b'{"op":"explode","person_id":"p1"}')
    with pytest.raises(JobError):
        GalleryChange.from_bytes(b'{"op":"add","person_id":"p1"}')  # which face?


def test_records_are_immutable_and_stages_derive_new_jobs():
    job = make_job(image=b"x")
    with pytest.raises(AttributeError):
        job.image = None  # type: ignore[misc]
    face = Face(box=(1, 2, 3, 4), confidence=0.9, crop={"shape": [1], "data": "AA=="}, face_box=(0, 0, 1, 1))
    after = job.evolve(image=None, faces=[face.with_vector([0.6, 0.8])])
    assert job.image == b"x" and job.faces is None  # the input is unchanged
    assert after.image is None and after.faces[0].vector == (0.6, 0.8) and after.faces[0].crop is None
    assert isinstance(after.faces, tuple)


def good_job() -> dict:
    return json.loads(make_job(kind=ENROLL, enroll=Enrollment("R1", "h1"),
                               faces=[Face(box=(1, 2, 3, 4), confidence=0.9, vector=(1.0,))]).to_bytes())


@pytest.mark.parametrize("path,value", [
    (("deadline",), "soon"),
    (("deadline",), True),
    (("job_id",), 7),
    (("reply_to",), None),
    (("kind",), ["recognize"]),
    (("image",), "not base64!"),
    (("image",), 12),
    (("faces",), {"box": [1, 2, 3, 4]}),
    (("faces", 0), "a face"),
    (("faces", 0, "box"), [1, 2, 3]),
    (("faces", 0, "box"), [1, 2, "3", 4]),
    (("faces", 0, "confidence"), "high"),
    (("faces", 0, "vector"), ["x"]),
    (("faces", 0, "landmarks"), {"nose": [1]}),
    (("enroll",), "R1"),
    (("enroll", "rollNo"), 5),
    (("enroll", "photo_hash"), ""),
    (("model",), 3),
])
def test_fields_of_the_wrong_type_are_bad_messages(path, value):
    obj = good_job()
    target = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(JobError) as err:
        Job.from_bytes(json.dumps(obj).encode())
    assert err.value.code == ErrorCode.BAD_MESSAGE


@pytest.mark.parametrize("body", [b"[]", b"42", b'"job"', b"null", b"\xff\xfe"])
def test_json_that_is_not_an_object_is_a_bad_message(body):
    with pytest.raises(JobError) as err:
        Job.from_bytes(body)
    assert err.value.code == ErrorCode.BAD_MESSAGE
