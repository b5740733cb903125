"""How fast is the matcher's gallery at 1k, 10k, 100k and 1M vectors, and how much memory does it take?

For each gallery size the gallery is filled with synthetic 128-d unit vectors,
10 per synthetic person around a random centre (so that a person's best
vector matters, as with real photos: same person ~0.6, others ~0), plus the
real FaceNet vectors of the 5-celebrity data set (train photos; computed with
the real detector and embedder as bench/threshold.py does). Then it measures

* latency of the 1:N search (``Gallery.search_many``, top 3 people) per face
  and per 10-face photo (one search for the photo), p50/p95, and of the exact
  search at the same size (the reference);
* recall@1 against exact search: the share of queries whose best person is the
  one exact search gives (genuine: a new photo of an enrolled synthetic person;
  impostor: a person not enrolled; real: the data set's val photos, whose
  celebrity must also be the answer);
* memory per vector: the process's RSS growth for the gallery and its index,
  and what tracemalloc sees (numpy and Python objects, not faiss);
* ``Gallery.add`` latency (an enrollment) at that size, and search latency
  while another thread keeps adding (no stall: no search waits for a rebuild);
* the time to build the gallery from vectors in memory, and for the
  approximate index to be ready (a background thread; searches are exact
  meanwhile).

Then the load from the local database: N faces written to a scratch database
with ``insert_many`` (documents as ``Storage.store_face`` writes them, and each
person's gallery entry as ``Storage.sync_images_count`` leaves it), read back
with ``Storage.face_batches`` (the entries) into ``Gallery.replace_all`` (the
matcher's reload), and the scratch database dropped.

Prints the figures and writes bench/reports/matcher.json.

    .venv/bin/python -m bench.matcher [--million] [--load N] [--no-real]   (from the repository root)

Without ``--million`` the sizes are 1k, 10k, 100k and the load is of 100k
faces (about 4 minutes here); ``--million`` adds the 1M gallery and loads 1M
faces from the database (about 15 more minutes on this machine's FerretDB).
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import hashlib
import os
import statistics
import threading
import time
import tracemalloc
import uuid
from pathlib import Path

import numpy as np

from bench.report import write_report
from services.matcher import gallery as gallery_module
from services.matcher.gallery import Gallery
from shared import config
from shared.storage import Storage, encode_vector, face_id, gallery_entry

MODEL = "20170512-110547"
DIMS = 128
PER_PERSON = 10
SPREAD = 0.8  # noise around a person's centre: same-person similarity ~0.6, like real photos here
TOP_K = 3  # the matcher's default (MATCH_TOP_K)
REVIEW_FLOOR = 0.30  # the default review floor: below it a best candidate changes no decision
SEED = 11


# -- data ----------------------------------------------------------------------------------------
def normalised(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@dataclasses.dataclass
class Synthetic:
    centres: np.ndarray
    vectors: np.ndarray
    person_ids: list[str]
    face_ids: list[str]


def synthetic(n: int, rng: np.random.Generator) -> Synthetic:
    people = max(1, n // PER_PERSON)
    centres = normalised(rng.standard_normal((people, DIMS), dtype=np.float32))
    vectors = np.empty((n, DIMS), np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        noise = rng.standard_normal((stop - start, DIMS), dtype=np.float32) / np.sqrt(DIMS)
        vectors[start:stop] = normalised(centres[np.arange(start, stop) // PER_PERSON % people] + SPREAD * noise)
    person_ids = [f"{p:032x}" for p in (np.arange(n) // PER_PERSON % people)]
    face_ids = [face_id(MODEL, p, hashlib.sha256(f"{i}".encode()).hexdigest()) for i, p in enumerate(person_ids)]
    return Synthetic(centres, vectors, person_ids, face_ids)


def genuine_queries(data: Synthetic, count: int, rng: np.random.Generator) -> np.ndarray:
    """New photos of enrolled synthetic people."""
    who = rng.integers(0, len(data.centres), count)
    noise = rng.standard_normal((count, DIMS), dtype=np.float32) / np.sqrt(DIMS)
    return normalised(data.centres[who] + SPREAD * noise)


def impostor_queries(count: int, rng: np.random.Generator) -> np.ndarray:
    return normalised(rng.standard_normal((count, DIMS), dtype=np.float32))


@dataclasses.dataclass
class Real:
    train: np.ndarray
    train_people: list[str]
    val: np.ndarray
    val_people: list[str]
    seconds: float


def real_vectors(settings) -> Real | None:
    """The 5-celebrity data set's largest face per photo, embedded by the real cores."""
    from services.detector.core import MtcnnDetector, QualityRules, faces_for_embedding
    from services.embedder.models import load_model
    from shared import imaging
    from shared.contracts import decode_array

    dataset = Path(settings.assets_dir) / "5-celebrity-faces-dataset"
    if not dataset.is_dir():
        return None
    started = time.perf_counter()
    detector = MtcnnDetector(settings.detect_max_side)
    rules = QualityRules(settings.detect_min_face_px, settings.detect_min_confidence)
    embedder = load_model(settings)
    if embedder.spec.dimensions != DIMS:
        return None
    out: dict[str, tuple[list, list]] = {"train": ([], []), "val": ([], [])}
    for path in sorted(dataset.glob("*/*/*.jpg")):
        if path.parent.parent.name not in out:
            continue
        image = imaging.decode_image(path.read_bytes())
        usable = [d for d in detector.detect(image) if rules.usable(d)]
        if not usable:
            continue
        face = faces_for_embedding(image, [max(usable, key=lambda d: d.box[2] * d.box[3])])[0]
        vectors, people = out[path.parent.parent.name]
        vectors.append(embedder.embed([(decode_array(face.crop), face.face_box)])[0])
        people.append(path.parent.name)
    (tv, tp), (vv, vp) = out["train"], out["val"]
    return Real(normalised(np.array(tv, np.float32)), tp, normalised(np.array(vv, np.float32)), vp,
                round(time.perf_counter() - started, 1))


# -- measuring ---------------------------------------------------------------------------------------
def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def ms(values: list[float]) -> dict:
    return {"p50": round(statistics.median(values) * 1e3, 3), "p95": round(float(np.percentile(values, 95)) * 1e3, 3),
            "max": round(max(values) * 1e3, 3), "n": len(values)}


def timed_calls(fn, args_list) -> list[float]:
    times = []
    for args in args_list:
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return times


def best_people(results) -> list[str | None]:
    return [r[0].person_id if r else None for r in results]


def exact_best(g: Gallery, queries: np.ndarray, batch: int = 50) -> list[str | None]:
    return best_people(exact_results(g, queries, batch))


def exact_results(g: Gallery, queries: np.ndarray, batch: int = 50) -> list:
    out = []
    for start in range(0, len(queries), batch):
        out += g.search_many(MODEL, queries[start:start + batch], TOP_K, exact=True)
    return out


def what_a_miss_costs(approx: list, exact: list, floor: float) -> dict:
    """For queries whose best person the index missed: how much lower the best
    similarity it found is, and recall@1 over the queries whose exact best is
    at or above ``floor`` (the review floor: below it no decision changes)."""
    best = lambda r: r[0].similarity if r else float("-inf")  # noqa: E731
    lost = [best(e) - best(a) for a, e in zip(approx, exact) if best_people([a]) != best_people([e])]
    relevant = [(a, e) for a, e in zip(approx, exact) if best(e) >= floor]
    return {"misses": len(lost), "similarity_lost_max": round(max(lost), 4) if lost else 0.0,
            "similarity_lost_median": round(float(np.median(lost)), 4) if lost else 0.0,
            f"queries_at_or_above_{floor}": len(relevant),
            f"recall_at_1_at_or_above_{floor}": round(float(np.mean([best_people([a]) == best_people([e])
                                                                     for a, e in relevant])), 4) if relevant else None}


def index_bytes(g: Gallery) -> int:
    """What the faiss index holds: codes and ids in its inverted lists."""
    index = g._models[MODEL].ann
    if index is None:
        return 0
    lists = index.invlists
    return int(sum(lists.list_size(i) for i in range(index.nlist)) * (index.code_size + 8))


def build(data: Synthetic, real: Real | None) -> tuple[Gallery, dict]:
    batches = [(MODEL, data.face_ids, data.person_ids, data.vectors)]
    if real is not None:
        ids = [face_id(MODEL, f"real-{p}", f"{i:064x}") for i, p in enumerate(real.train_people)]
        batches.append((MODEL, ids, [f"real-{p}" for p in real.train_people], real.train))
    gc.collect()
    before = rss()
    tracemalloc.start()
    t0 = time.perf_counter()
    g = Gallery()
    g.replace_all(batches)
    built = time.perf_counter() - t0
    traced = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    g.wait_for_index(1800)
    ready = time.perf_counter() - t0
    gc.collect()
    n = g.size(MODEL)
    codes = index_bytes(g)
    return g, {
        "vectors": n, "build_s": round(built, 2), "indexed": g.indexed(MODEL),
        "index_ready_s": round(ready, 2) if g.indexed(MODEL) else None,
        "memory_per_vector_bytes": {
            "rss_growth": round((rss() - before) / n), "traced_numpy_and_python": round(traced / n),
            "index_codes_and_ids": round(codes / n), "matrix_alone": DIMS * 4},
    }


def measure_size(n: int, real: Real | None, rng: np.random.Generator) -> dict:
    data = synthetic(n, rng)
    g, out = build(data, real)
    genuine = genuine_queries(data, 1000, rng)
    impostor = impostor_queries(100 if n >= 1_000_000 else 300, rng)

    single = [(MODEL, q[None], TOP_K) for q in genuine[:300]]
    photos = [(MODEL, genuine[i:i + 10], TOP_K) for i in range(0, 300, 10)]
    search_one = timed_calls(g.search_many, single)
    search_photo = timed_calls(g.search_many, photos)
    exact_calls = 20 if n >= 1_000_000 else 100
    exact_one = timed_calls(lambda m, q, k: g.search_many(m, q, k, exact=True), single[:exact_calls])
    # What a recognition does next in the gallery: exact similarities of the candidates.
    cands = [sorted({c.person_id for r in g.search_many(MODEL, q, TOP_K) for c in r}) for _, q, _ in photos]
    decide = timed_calls(g.similarities, [(MODEL, q, c) for (_, q, _), c in zip(photos, cands)])
    out["search_per_face_ms"] = ms(search_one)
    out["search_10_face_photo_ms"] = dict(ms(search_photo),
                                          per_face_p50=round(statistics.median(search_photo) * 100, 3))
    out["candidate_similarities_10_face_photo_ms"] = ms(decide)
    out["exact_search_per_face_ms"] = ms(exact_one)
    # A stranger's face: near nobody, so the index's answer is checked by the exact search.
    out["search_per_face_ms_stranger"] = ms(timed_calls(g.search_many, [(MODEL, q[None], TOP_K)
                                                                         for q in impostor[:exact_calls]]))

    recall = {}
    for name, queries in (("genuine", genuine), ("impostor", impostor)):
        approx, exact = g.search_many(MODEL, queries, TOP_K), exact_results(g, queries)
        recall[name] = round(float(np.mean([a == e for a, e in zip(best_people(approx), best_people(exact))])), 4)
        recall[f"{name}_misses"] = what_a_miss_costs(approx, exact, REVIEW_FLOOR)
    recall["queries"] = {"genuine": len(genuine), "impostor": len(impostor)}
    if real is not None:
        approx = best_people(g.search_many(MODEL, real.val, TOP_K))
        exact = exact_best(g, real.val)
        recall["real"] = round(float(np.mean([a == e for a, e in zip(approx, exact)])), 4)
        recall["real_right_celebrity"] = f"{sum(a == f'real-{p}' for a, p in zip(approx, real.val_people))}" \
                                         f"/{len(real.val_people)}"
    out["recall_at_1_vs_exact"] = recall

    # Enrollments at this size, then searches while another thread keeps enrolling.
    new = genuine_queries(data, 400, rng)
    adds = timed_calls(g.add, [(MODEL, f"new-{i}", f"new-person-{i // 4}", v) for i, v in enumerate(new[:200])])
    out["add_ms"] = ms(adds)
    during_adds: list[float] = []

    def keep_adding():
        for i in range(200, 400):
            t0 = time.perf_counter()
            g.add(MODEL, f"new-{i}", f"new-person-{i // 4}", new[i])
            during_adds.append(time.perf_counter() - t0)
            time.sleep(0.002)  # enrollments arrive one by one

    adder = threading.Thread(target=keep_adding)
    adder.start()
    searches = []
    while adder.is_alive():
        q = genuine[len(searches) % len(genuine)][None]
        t0 = time.perf_counter()
        g.search_many(MODEL, q, TOP_K)
        searches.append(time.perf_counter() - t0)
    adder.join()
    out["while_adding"] = {"search_per_face_ms": ms(searches), "add_ms": ms(during_adds) if during_adds else None}
    assert g.search(MODEL, new[399], 1)[0].person_id == "new-person-99"  # searchable at once
    del g
    gc.collect()
    return out


# -- the database --------------------------------------------------------------------------------------
def load_from_database(settings, n: int, rng: np.random.Generator) -> dict:
    data = synthetic(n, rng)
    db_name = f"matcher_bench_{uuid.uuid4().hex[:8]}"
    storage = Storage(settings.mongo_uri, db_name, timeout_ms=10_000)
    now = dt.datetime.now(dt.timezone.utc)
    try:
        t0 = time.perf_counter()
        for start in range(0, n, 10_000):  # people's faces never straddle a chunk (10 per person)
            faces = [{"_id": data.face_ids[i], "person_id": data.person_ids[i], "rollNo": f"R{data.person_ids[i][-8:]}",
                      "model": MODEL, "vector": encode_vector(data.vectors[i]), "photo_hash": data.face_ids[i][-64:],
                      "filename": f"photo-{i}.jpg", "created_at": now}
                     for i in range(start, min(n, start + 10_000))]
            storage.faces.insert_many(faces, ordered=False)
            # ... and each person's gallery entry, as the enrollment path leaves it (Storage.sync_images_count)
            by_person: dict[str, list[dict]] = {}
            for face in faces:
                by_person.setdefault(face["person_id"], []).append(face)
            storage.gallery_people.insert_many([gallery_entry(p, f) for p, f in by_person.items()], ordered=False)
        written = time.perf_counter() - t0
        del data
        gc.collect()
        t0 = time.perf_counter()
        g = Gallery()
        g.replace_all(storage.face_batches())
        searchable = time.perf_counter() - t0
        g.wait_for_index(1800)
        ready = time.perf_counter() - t0
        assert g.size(MODEL) == n
        return {"faces": n, "database": settings.mongo_uri, "insert_many_s": round(written, 1),
                "load_until_searchable_s": round(searchable, 1), "read_from": "gallery_people (one entry per person)",
                "load_until_index_ready_s": round(ready, 1) if g.indexed(MODEL) else None,
                "faces_per_second": round(n / searchable)}
    finally:
        storage.client.drop_database(db_name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--million", action="store_true",
                        help="also 1M vectors, in memory and loaded from the database")
    parser.add_argument("--load", type=int, default=None, help="faces to load from the database (default 100k; 1M "
                                                               "with --million; 0: skip)")
    parser.add_argument("--no-real", action="store_true", help="skip embedding the 5-celebrity data set")
    args = parser.parse_args()
    settings = config.load()
    rng = np.random.default_rng(SEED)
    started = time.perf_counter()
    real = None if args.no_real else real_vectors(settings)
    sizes = [1_000, 10_000, 100_000] + ([1_000_000] if args.million else [])
    report: dict = {
        "machine": f"{os.cpu_count()} cores, shared with other work (figures vary run to run)",
        "date": dt.date.today().isoformat(),
        "gallery": {"ann_min_rows": gallery_module.ANN_MIN_ROWS, "nprobe": gallery_module.ANN_NPROBE,
                    "max_lists": gallery_module.ANN_MAX_LISTS, "block_rows": gallery_module.BLOCK_ROWS},
        "data": {"dims": DIMS, "synthetic_photos_per_person": PER_PERSON, "spread": SPREAD, "top_k": TOP_K,
                 "real": None if real is None else {"train": len(real.train_people), "val": len(real.val_people),
                                                    "embedding_s": real.seconds}},
        "sizes": {},
    }
    for n in sizes:
        report["sizes"][str(n)] = figures = measure_size(n, real, rng)
        print(f"{n}: {figures}", flush=True)
    load = args.load if args.load is not None else (1_000_000 if args.million else 100_000)
    if load:
        report["load_from_database"] = load_from_database(settings, load, rng)
    report["seconds"] = round(time.perf_counter() - started)
    write_report("matcher", report)


if __name__ == "__main__":
    main()
