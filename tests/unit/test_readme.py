"""The README's configuration table names every setting."""
from dataclasses import fields
from pathlib import Path

from shared.config import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_environment_variable_is_documented():
    missing = [f.name.upper() for f in fields(Settings) if f"`{f.name.upper()}`" not in README]
    assert not missing, f"document these in README.md's configuration table: {missing}"


def test_the_two_commands_are_there():
    assert "make run" in README and "make test" in README
