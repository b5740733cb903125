"""One gateway process, many requests at once: each gets its own answer."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.e2e.conftest import ENROLLED, ROLL_NOS, photos


def summary(resp) -> list[tuple]:
    assert resp.status_code == 200, resp.text
    return sorted((tuple(f["box"]), f["match"]["rollNo"] if f["match"] else None) for f in resp.json()["faces"])


def test_sixteen_concurrent_recognitions_each_get_their_own_answer(api, enrolled):
    cases = [(person, path) for person in ENROLLED for path in photos("val", person)][:16]
    assert len(cases) == 16
    alone = {path: summary(api.recognize(path.read_bytes())) for _, path in cases}

    def recognize(case):
        person, path = case
        resp = api.recognize(path.read_bytes(), path.name)
        return path, resp.json().get("request_id"), summary(resp)

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(recognize, cases))
    assert len({request_id for _, request_id, _ in results}) == 16
    for path, _, faces in results:
        assert faces == alone[path], path.name  # the same answer as when asked alone
    right = sum(any(m == ROLL_NOS[person] for _, m in alone[path]) for person, path in cases)
    assert right >= 15
