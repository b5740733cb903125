"""The 5-celebrity faces data set: 5 people, ``train/`` and ``val/`` photos.

``scripts/setup.sh`` fetches it into ``$ASSETS_DIR/5-celebrity-faces-dataset``.
The end-to-end tests and ``bench/latency.py`` enroll four of the people
(``ENROLLED``) from their train photos and keep the fifth (``HELD_OUT``) as
somebody the system must not recognise.
"""
from __future__ import annotations

import os
from pathlib import Path

ASSETS_DIR = Path(os.environ.get("ASSETS_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                  / "attendance-tracker")
DATASET = ASSETS_DIR / "5-celebrity-faces-dataset"

ENROLLED = ["ben_afflek", "elton_john", "jerry_seinfeld", "madonna"]
HELD_OUT = "mindy_kaling"
ROLL_NOS = {person: f"CEL{i + 1:03d}" for i, person in enumerate(ENROLLED + [HELD_OUT])}


def photos(split: str, person: str) -> list[Path]:
    """The photos of ``person`` in ``split`` ("train" or "val"), sorted."""
    return sorted((DATASET / split / person).glob("*.jpg"))


def display_name(person: str) -> str:
    """``ben_afflek`` -> ``Ben Afflek``."""
    return person.replace("_", " ").title()
