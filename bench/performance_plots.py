"""The plots of docs/PERFORMANCE.md (matplotlib, Agg): one PNG per figure."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BASELINE_STYLE = {"compiled": ("tab:green", "--", "compiled in-process"), "seed": ("tab:red", ":", "seed's way")}


def _grid(n: int):
    fig, axes = plt.subplots(1, n, figsize=(3.4 * n, 3.4), squeeze=False)
    return fig, axes[0]


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def baseline_lines(ax, baselines: dict, image_set: str, value, suffix: str) -> None:
    """Each baseline's ``value(figures)`` on ``image_set`` as a horizontal line."""
    for kind, (color, style, label) in BASELINE_STYLE.items():
        figures = baselines.get(kind, {}).get("sets", {}).get(image_set)
        if figures:
            ax.axhline(value(figures), color=color, linestyle=style, label=label + suffix)


def throughput(system: dict, baselines: dict, path: Path) -> Path:
    """Photos/s against concurrency per image set; the baselines as horizontal lines."""
    def draw(ax, runs, cs):
        ax.plot(cs, [runs[str(c)]["photos_per_second"] for c in cs], "o-", color="tab:blue", label="system")

    return _per_image_set(system, baselines, path, draw, lambda figures: figures["photos_per_second"], "",
                          "photos/s")


def latency(system: dict, baselines: dict, path: Path) -> Path:
    """p50/p95/p99 against concurrency per image set; the baselines' p50 as lines."""
    def draw(ax, runs, cs):
        for q, style in (("p50", "o-"), ("p95", "s--"), ("p99", "^:")):
            ax.plot(cs, [runs[str(c)]["latency_seconds"].get(q) for c in cs], style, label=f"system {q}")

    return _per_image_set(system, baselines, path, draw, lambda figures: figures["latency_seconds"]["p50"], " p50",
                          "seconds per photo")


def _per_image_set(system: dict, baselines: dict, path: Path, draw, baseline_value, suffix: str,
                   ylabel: str) -> Path:
    """A panel per image set: the system's curves against concurrency (``draw``), the baselines as lines."""
    sets = list(system["sets"])
    fig, axes = _grid(len(sets))
    for ax, name in zip(axes, sets):
        runs = system["sets"][name]
        cs = [int(c) for c in runs]
        draw(ax, runs, cs)
        baseline_lines(ax, baselines, name, baseline_value, suffix)
        ax.set_title(name)
        ax.set_xlabel("concurrent clients")
        ax.set_xticks(cs)
        ax.set_ylim(bottom=0)
    axes[0].set_ylabel(ylabel)
    axes[0].legend(fontsize=7)
    return _save(fig, path)


def embedder(report: dict, path: Path) -> Path:
    """Faces/s against batch size per runtime."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    batches = []
    for key, r in report.get("runtimes", {}).items():
        if "faces_per_second" in r:
            batches = sorted(int(b) for b in r["faces_per_second"])
            ax.plot(batches, [r["faces_per_second"][str(b)] for b in batches], "o-", label=key)
    ax.set_xscale("log", base=2)
    ax.set_xticks(batches, [str(b) for b in batches])
    ax.set_ylim(bottom=0)
    _label(ax, "batch size (faces)", "faces/s", "embedder: faces/s against batch size")
    return _save(fig, path)


def matcher(report: dict, path: Path) -> Path:
    """Query latency (p50 per face) and memory per vector against gallery size, log x."""
    sizes = sorted(int(n) for n in report.get("sizes", {}))
    rows = [report["sizes"][str(n)] for n in sizes]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    for key, label in (("search_per_face_ms", "search (per face)"), ("exact_search_per_face_ms", "exact search"),
                       ("search_10_face_photo_ms", "10-face photo"),
                       ("search_per_face_ms_stranger", "a stranger (index + exact check)")):
        left.plot(sizes, [r.get(key, {}).get("p50") for r in rows], "o-", label=label)
    left.set_xscale("log")
    left.set_yscale("log")
    _label(left, "gallery vectors", "p50 ms", "matcher query latency")
    memory = [r.get("memory_per_vector_bytes", {}) for r in rows]
    right.plot(sizes, [m.get("rss_growth") for m in memory], "o-", label="RSS growth (noisy when small)")
    right.plot(sizes, [m.get("traced_numpy_and_python", 0) + m.get("index_codes_and_ids", 0) for m in memory], "s--",
               label="numpy, Python and index")
    right.axhline(512, color="grey", linestyle=":", label="128 float32 (512 B)")
    right.set_xscale("log")
    right.set_ylim(bottom=0)
    _label(right, "gallery vectors", "bytes per vector", "matcher memory")
    return _save(fig, path)


def _label(ax, xlabel: str, ylabel: str, title: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
    ax.set_title(title)
