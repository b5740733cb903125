"""A new enrollment reaches every matcher copy at once (no reload, no stall):
the gallery change message adds the stored vectors in place."""
from __future__ import annotations

import time

import requests

from dataset.celebrities import photos
from tests.e2e.conftest import largest_face_match

MATCHERS = ("matcher-a", "matcher-b")


def test_an_enrollment_answers_on_every_matcher_within_moments(api, stack, enrolled):
    before = {m: stack.services[m].metric("attendance_gallery_vectors") for m in MATCHERS}
    resp = api.enroll("FRESH-1", "Fresh Face", photos("train", "mindy_kaling")[:3])
    answered = time.monotonic()
    assert resp.status_code == 201, resp.text
    accepted = sum(1 for i in resp.json()["images"] if i["accepted"])
    assert accepted >= 2
    try:
        pending, seconds = set(MATCHERS), {}
        while pending and time.monotonic() - answered < 10:
            for m in list(pending):
                if stack.services[m].metric("attendance_gallery_vectors") == before[m] + accepted:
                    seconds[m] = time.monotonic() - answered
                    pending.discard(m)
            time.sleep(0.02)
        assert not pending, f"matchers without the new vectors after 10 s: {pending}"
        print(f"new vectors on every matcher {max(seconds.values()):.3f} s after the enrollment's answer")
        # both copies answer with the new person (the queue hands the photos to either)
        for path in photos("val", "mindy_kaling")[:4]:
            assert largest_face_match(api.recognize(path.read_bytes())) == "FRESH-1"
    finally:
        requests.delete(api.url("/persons/FRESH-1"), timeout=30)
