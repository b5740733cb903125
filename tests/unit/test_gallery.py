import numpy as np
import pytest

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


def clustered(people: int, per: int, dims: int, seed: int = 0, spread: float = 0.6):
    """Unit vectors, ``per`` around each of ``people`` random centres (a person's photos)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, dims)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    noise = rng.normal(size=(people * per, dims)).astype(np.float32) / np.sqrt(dims)
    vectors = np.repeat(centres, per, axis=0) + spread * noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return centres, vectors, [f"P{i // per}" for i in range(people * per)]


def test_a_batch_loads_like_single_rows():
    _, vectors, owners = clustered(50, 4, 8)
    ids = [f"f{i}" for i in range(len(vectors))]
    one_by_one, batched = Gallery(), Gallery()
    one_by_one.replace_all(("m", f, p, v) for f, p, v in zip(ids, owners, vectors))
    batched.replace_all([("m", ids[:150], owners[:150], vectors[:150]), ("m", ids[150], owners[150], vectors[150]),
                         ("m", ids[151:], owners[151:], vectors[151:])])
    assert batched.size("m") == one_by_one.size("m") == 200
    assert batched.search_many("m", vectors[:20], 5) == one_by_one.search_many("m", vectors[:20], 5)
    assert batched.similarities("m", vectors[:3], ["P0", "P7", "nobody"]).tolist() == \
        one_by_one.similarities("m", vectors[:3], ["P0", "P7", "nobody"]).tolist()
    batched.add("m", "f0", "P0", vectors[0])  # loaded faces are known by id: idempotent
    assert batched.size("m") == 200


def test_the_matrix_grows_by_blocks_beyond_one_block():
    from services.matcher.gallery import BLOCK_ROWS

    n = BLOCK_ROWS + 100
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(n, 4)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    g = Gallery(ann_min_rows=None)
    g.replace_all([("m", [f"f{i}" for i in range(n)], [f"P{i % 1000}" for i in range(n)], vectors)])
    for i in range(BLOCK_ROWS):  # a third block, one enrollment at a time
        g.add("m", f"x{i}", "X", unit(1, 2, 3, 4 + i % 5))
    assert g.size("m") == n + BLOCK_ROWS
    assert g.search("m", unit(1, 2, 3, 4), 1)[0].person_id == "X"
    assert g.search("m", vectors[n - 1], 1)[0] == Candidate(f"P{(n - 1) % 1000}", 1.0)
    assert g.remove_person("X") == BLOCK_ROWS and g.size("m") == n
    g.add("m", "y", "Y", unit(1, 2, 3, 4))  # a freed row is reused
    assert g.search("m", unit(1, 2, 3, 4), 1)[0].person_id == "Y"


def test_the_same_face_id_under_another_person_is_another_face():
    g = Gallery()
    g.add("m", "same", "A", unit(1, 0))
    g.add("m", "same", "B", unit(0, 1))
    assert g.size("m") == 2 and g.search("m", unit(0, 1), 1)[0].person_id == "B"
    assert g.remove_person("B") == 1 and g.search("m", unit(1, 0), 2) == [Candidate("A", 1.0)]


def test_the_approximate_index_finds_what_exact_search_finds_and_follows_changes():
    centres, vectors, owners = clustered(400, 10, 32)
    g = Gallery(ann_min_rows=2000)
    g.replace_all([("m", [f"f{i}" for i in range(len(vectors))], owners, vectors)])
    assert g.wait_for_index(120) and g.indexed("m")
    rng = np.random.default_rng(9)
    queries = centres[:60] + 0.6 * rng.normal(size=(60, 32)).astype(np.float32) / np.sqrt(32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    approx, exact = g.search_many("m", queries, 5), g.search_many("m", queries, 5, exact=True)
    assert [a[0] for a in approx] == [e[0] for e in exact]  # the best person, and their exact similarity
    assert all(len(a) == 5 for a in approx)
    assert g.remove_person("P0") == 10  # erased: gone from the index too
    assert all(c.person_id != "P0" for c in g.search("m", queries[0], 5))
    g.add("m", "new", "NEW", queries[0])  # enrolled: searchable at once, through the index
    assert g.search("m", queries[0], 1) == [Candidate("NEW", 1.0)] and g.indexed("m")
    assert g.similarities("m", queries[:1], ["NEW", "P1"])[0, 0] == pytest.approx(1.0)


def test_changes_made_while_the_index_builds_are_not_lost():
    centres, vectors, owners = clustered(300, 10, 16, seed=5)
    g = Gallery(ann_min_rows=2000)
    g.replace_all([("m", [f"f{i}" for i in range(len(vectors))], owners, vectors)])
    g.add("m", "late", "LATE", centres[0])  # most likely while the build runs; found either way
    g.remove_person("P1")
    assert g.wait_for_index(120) and g.indexed("m")
    assert g.search("m", centres[0], 1)[0] == Candidate("LATE", 1.0)
    assert all(c.person_id != "P1" for c in g.search("m", centres[1], 5))
    assert g.size("m") == 3000 - 10 + 1


def test_gallery_entries_come_as_batches_per_model():
    from shared.storage import batches_of_entries, face_id, gallery_entry

    v = np.arange(4, dtype="<f4")
    h = [f"{i:064x}" for i in range(5)]
    a = gallery_entry("A", [{"_id": face_id("m", "A", h[2]), "model": "m", "vector": (v + 1).tobytes(), "photo_hash": h[2]},
                            {"_id": face_id("m", "A", h[1]), "model": "m", "vector": v.tobytes(), "photo_hash": h[1]},
                            {"_id": face_id("m2", "A", h[3]), "model": "m2", "vector": v[:2].tobytes(),
                             "photo_hash": h[3]}])
    b = gallery_entry("B", [{"_id": "b-older-id", "model": "m", "vector": [1.0, 2.0, 3.0, 4.0],  # an older document
                             "photo_hash": h[4]},
                            {"_id": face_id("m", "B", h[0]), "model": "m", "vector": v[:2].tobytes(),
                             "photo_hash": h[0]}])  # another size: left out
    assert a["n"] == 3 and "photos" in a and "faces" not in a  # ids from the photo hashes
    assert b["n"] == 2 and b["faces"] == "b-older-id" and "photos" not in b  # ids as they are
    batches = sorted(batches_of_entries([a, b]), key=lambda x: x.model)
    assert [(x.model, x.face_ids, x.person_ids) for x in batches] == [
        ("m", [face_id("m", "A", h[1]), face_id("m", "A", h[2]), "b-older-id"], ["A", "A", "B"]),
        ("m2", [face_id("m2", "A", h[3])], ["A"])]
    assert batches[0].vectors.tolist() == [[0, 1, 2, 3], [1, 2, 3, 4], [1, 2, 3, 4]]
    assert batches[1].vectors.tolist() == [[0, 1]]


def test_the_index_asks_for_more_rows_when_one_person_fills_the_first_ones():
    centres, vectors, owners = clustered(230, 10, 16, seed=7)
    big = clustered(1, 300, 16, seed=8, spread=0.05)[1]  # one person, 300 near-identical photos
    g = Gallery(ann_min_rows=2000)
    g.replace_all([("m", [f"f{i}" for i in range(len(vectors))], owners, vectors),
                   ("m", [f"b{i}" for i in range(len(big))], ["BIG"] * len(big), big)])
    assert g.wait_for_index(120) and g.indexed("m")
    found = g.search("m", big[0], 3)
    assert [c.person_id for c in found][:1] == ["BIG"] and len(found) == 3
    assert found == g.search_many("m", big[:1], 3, exact=True)[0]


def test_face_ids_stay_known_through_merges_of_their_sorted_arrays(monkeypatch):
    from services.matcher import gallery

    monkeypatch.setattr(gallery._FaceRows, "MERGE", 8)  # merge often
    _, vectors, owners = clustered(30, 5, 8, seed=2)
    g = Gallery()
    g.replace_all([("m", [f"f{i}" for i in range(100)], owners[:100], vectors[:100])])
    for i in range(100, 150):
        g.add("m", f"f{i}", owners[i], vectors[i])
    assert g.remove_person("P3") == 5 and g.remove_person("P25") == 5  # one loaded, one added
    for i in range(150):  # everything again: nothing new, the removed come back
        g.add("m", f"f{i}", owners[i], vectors[i])
    assert g.size("m") == 150
    assert g.search("m", vectors[17], 1)[0] == Candidate("P3", 1.0)
    assert g.search("m", vectors[127], 1)[0] == Candidate("P25", 1.0)


def test_the_gallery_lock_is_a_lock():
    import threading

    from services.matcher.gallery import _FairLock

    lock, count = _FairLock(), [0]

    def bump():
        for _ in range(2000):
            with lock:
                value = count[0]
                count[0] = value + 1

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert count[0] == 8000


def test_a_stranger_gets_the_exact_answer_even_through_the_index():
    from services.matcher import gallery

    _, vectors, owners = clustered(400, 10, 32, seed=9)
    g = Gallery(ann_min_rows=2000, nprobe=4)  # an index that misses (43 of these 50 answers differ without the exact check)
    g.replace_all([("m", [f"f{i}" for i in range(len(vectors))], owners, vectors)])
    assert g.wait_for_index(120) and g.indexed("m")
    rng = np.random.default_rng(3)
    strangers = rng.standard_normal((50, 32)).astype(np.float32)
    strangers /= np.linalg.norm(strangers, axis=1, keepdims=True)
    found, exact = g.search_many("m", strangers, 3), g.search_many("m", strangers, 3, exact=True)
    assert [r[0] for r in found] == [r[0] for r in exact]  # the best person and similarity, always
    unsure = [j for j, r in enumerate(exact) if r[0].similarity < gallery.ANN_SURE_SIMILARITY]
    assert len(unsure) >= 30 and all(found[j] == exact[j] for j in unsure)  # below the sure level: all of it
