import numpy as np

from services.matcher.core import face_result
from services.matcher.core import FaceDecision
from services.matcher.gallery import Candidate, Gallery
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
    assert [c.person_id for c in cands] == ["A", "B"]  # one entry per person
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
    assert [c.person_id for c in g.search("m", unit(1, 0), 3)] == ["B"]
    g.replace_all([("m", "c", "C", unit(1, 0))])
    assert g.size() == 1 and g.search("m", unit(1, 0), 3)[0].person_id == "C"


def test_adding_the_same_face_twice_is_idempotent():
    g = Gallery()
    g.add("m", "a", "A", unit(1, 0))
    g.add("m", "a", "A", unit(1, 0))
    assert g.size("m") == 1


def test_face_result_carries_record_similarity_and_candidates():
    persons = {"A": {"rollNo": "A", "name": "Ann"}, "B": {"rollNo": "B", "name": "Bob"}}  # by person id
    face = Face(box=[1, 2, 3, 4], confidence=0.99)
    hit = face_result(face, [Candidate("A", 0.8), Candidate("B", 0.3)], FaceDecision("A", 0.8), persons, 0.5)
    assert hit["match"] == persons["A"] and hit["similarity"] == 0.8
    assert hit["candidates"] == [{"rollNo": "A", "name": "Ann", "similarity": 0.8},
                                 {"rollNo": "B", "name": "Bob", "similarity": 0.3}]
    assert hit["review"] is None and hit["threshold"] == 0.5
    miss = face_result(face, [Candidate("B", 0.3)], FaceDecision(review="B", review_similarity=0.3), persons, 0.5)
    assert miss["match"] is None and miss["candidates"][0]["rollNo"] == "B" and miss["similarity"] == 0.3
    assert miss["review"] == {"rollNo": "B", "name": "Bob", "similarity": 0.3}


def test_search_many_equals_exact_per_person_maximum_on_a_large_gallery():
    rng = np.random.default_rng(0)
    g = Gallery()
    vectors = rng.normal(size=(3000, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    owners = rng.integers(0, 700, size=3000)
    for i, (v, o) in enumerate(zip(vectors, owners)):
        g.add("m", f"f{i}", f"P{o}", v)
    queries = vectors[:5] + 0.05 * rng.normal(size=(5, 16)).astype(np.float32)
    got = g.search_many("m", queries, top_k=5)
    for q, cands in zip(queries, got):
        sims = vectors @ q
        best = {}
        for s, o in zip(sims, owners):
            best[f"P{o}"] = max(best.get(f"P{o}", -9), s)
        expected = sorted(best, key=lambda p: -best[p])[:5]
        assert [c.person_id for c in cands] == expected


def test_rows_of_removed_people_are_reused_and_growth_keeps_everything():
    g = Gallery()
    for i in range(2500):  # beyond the initial capacity: the matrix grows in place
        g.add("m", f"a{i}", "A" if i % 2 else "B", unit(1, i % 7, 0))
    assert g.size("m") == 2500
    assert g.remove_person("A") == 1250
    g.add("m", "c1", "C", unit(0, 0, 1))
    assert g.size("m") == 1251
    assert g.search("m", unit(0, 0, 1), 1)[0].person_id == "C"
    assert {c.person_id for c in g.search("m", unit(1, 0, 0), 5)} == {"B", "C"}


def test_a_query_of_another_dimension_finds_nobody():
    g = Gallery()
    g.add("m", "a", "A", unit(1, 0))
    assert g.search("m", unit(1, 0, 0), 3) == []
