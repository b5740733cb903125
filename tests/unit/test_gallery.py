import numpy as np

from services.matcher.core import face_result
from services.matcher.gallery import Candidate, Gallery, decide
from shared.contracts import Face


def unit(*xs):
    v = np.array(xs, np.float32)
    return v / np.linalg.norm(v)


def test_search_ranks_people_by_their_best_vector():
    g = Gallery()
    g.add("m", "a1", "A", unit(1, 0, 0))
    g.add("m", "a2", "A", unit(0.9, 0.1, 0))
    g.add("m", "b1", "B", unit(0, 1, 0))
    cands = g.search("m", unit(1, 0.05, 0), top_k=3)
    assert [c.rollNo for c in cands] == ["A", "B"]  # one entry per person
    assert cands[0].similarity > 0.99


def test_models_are_never_compared():
    g = Gallery()
    g.add("m128", "a", "A", unit(1, 0))
    assert g.search("m512", unit(1, 0), top_k=3) == []


def test_remove_person_and_replace_all():
    g = Gallery()
    g.add("m", "a", "A", unit(1, 0))
    g.add("m", "b", "B", unit(0, 1))
    assert g.remove_person("A") == 1
    assert [c.rollNo for c in g.search("m", unit(1, 0), 3)] == ["B"]
    g.replace_all([("m", "c", "C", unit(1, 0))])
    assert g.size() == 1 and g.search("m", unit(1, 0), 3)[0].rollNo == "C"


def test_adding_the_same_face_twice_is_idempotent():
    g = Gallery()
    g.add("m", "a", "A", unit(1, 0))
    g.add("m", "a", "A", unit(1, 0))
    assert g.size("m") == 1


def test_threshold_decides_the_match():
    cands = [Candidate("A", 0.61), Candidate("B", 0.2)]
    assert decide(cands, 0.6).rollNo == "A"
    assert decide(cands, 0.7) is None
    assert decide([], 0.1) is None


def test_face_result_carries_record_similarity_and_candidates():
    persons = {"A": {"rollNo": "A", "name": "Ann"}, "B": {"rollNo": "B", "name": "Bob"}}
    face = Face(box=[1, 2, 3, 4], confidence=0.99)
    hit = face_result(face, [Candidate("A", 0.8), Candidate("B", 0.3)], persons, 0.5)
    assert hit["match"] == persons["A"] and hit["similarity"] == 0.8
    assert hit["candidates"] == [{"rollNo": "A", "name": "Ann", "similarity": 0.8},
                                 {"rollNo": "B", "name": "Bob", "similarity": 0.3}]
    miss = face_result(face, [Candidate("B", 0.3)], persons, 0.5)
    assert miss["match"] is None and miss["candidates"][0]["rollNo"] == "B"
