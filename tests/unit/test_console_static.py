"""The web console's files: all there, all served with their type, none inline.

A missing or misnamed module breaks the whole console (an ES module graph loads
entirely or not at all), and a browser refuses a module served with a wrong type;
inline script, handlers or styles would break a strict Content-Security-Policy.
"""
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask

from services.gateway.console import STATIC, console_blueprint

TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript"}
IMPORT = re.compile(r"""\b(?:import|export)\b[^'";]*?\bfrom\s*["']([^"']+)["']|\bimport\s*["']([^"']+)["']""")


class Page(HTMLParser):
    """The URLs index.html refers to, its inline scripts and its attributes."""

    def __init__(self):
        super().__init__()
        self.urls, self.scripts, self.attributes = [], [], []
        self._script = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.attributes += [(tag, name, value or "") for name, value in attrs.items()]
        self.urls += [attrs[key] for key in ("src", "href") if attrs.get(key)]
        if tag == "script":
            self._script = attrs
            self.scripts.append([attrs, ""])

    def handle_data(self, data):
        if self._script is not None:
            self.scripts[-1][1] += data

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None


@pytest.fixture(scope="module")
def client():
    app = Flask(__name__)
    app.register_blueprint(console_blueprint())
    return app.test_client()


@pytest.fixture(scope="module")
def page(client):
    res = client.get("/")
    assert res.status_code == 200 and res.mimetype == "text/html"
    parsed = Page()
    parsed.feed(res.get_data(as_text=True))
    return parsed


def local(url: str) -> bool:
    """A URL of a file of the console (not "#", a data: URL or another site)."""
    return not re.match(r"^(#|data:|[a-z][a-z0-9+.-]*://|//)", url, re.I)


def served(client, path: str):
    res = client.get(path)
    assert res.status_code == 200, f"{path}: HTTP {res.status_code}"
    assert res.mimetype == TYPES[Path(path).suffix], f"{path} served as {res.mimetype}"
    return res.get_data(as_text=True)


def module_graph(client, entry: str) -> dict[str, str]:
    """Every module reachable from entry (a path under /), by path, with its text; each one served."""
    modules, todo = {}, [entry]
    while todo:
        path = todo.pop()
        if path in modules:
            continue
        modules[path] = served(client, path)
        for found in IMPORT.finditer(modules[path]):
            spec = found.group(1) or found.group(2)
            assert spec.startswith("./"), f"{path} imports {spec!r}: only relative modules, no bare names (no build step)"
            todo.append(str(Path(path).parent / spec[2:]))
    return modules


def test_the_page_loads_its_module_and_stylesheet(page):
    modules = [attrs.get("src") for attrs, _ in page.scripts if attrs.get("type") == "module"]
    assert modules == ["console/main.js"]
    assert "console/console.css" in page.urls


def test_every_file_the_page_names_is_served_with_its_type(client, page):
    urls = [url for url in page.urls if local(url)]
    assert urls
    for url in urls:
        assert not url.startswith("/"), f"{url}: relative, so that the gateway may sit under a path prefix"
        served(client, "/" + url)


def test_every_module_imported_is_served_with_its_type(client):
    modules = module_graph(client, "/console/main.js")
    # Every module on disk is used, and every one used is on disk.
    assert {Path(p).name for p in modules} == {p.name for p in STATIC.glob("*.js")}


def test_a_missing_file_is_a_404_and_only_console_files_are_served(client):
    assert client.get("/console/nothing-here.js").status_code == 404
    assert client.get("/console/../__init__.py").status_code == 404
    assert client.get("/console/%2e%2e/__init__.py").status_code == 404


def test_nothing_inline(page):
    assert all(not text.strip() for _, text in page.scripts), "inline <script> content"
    assert all(attrs.get("src") for attrs, _ in page.scripts), "a <script> without src"
    for tag, name, value in page.attributes:
        assert not name.startswith("on"), f"inline handler <{tag} {name}=…>"
        assert name != "style", f"inline style on <{tag}>"
        assert not value.strip().lower().startswith("javascript:"), f"javascript: URL on <{tag} {name}>"
    assert "<style" not in (STATIC / "index.html").read_text().lower()


@pytest.mark.parametrize("path", sorted(STATIC.iterdir()), ids=lambda p: p.name)
def test_no_file_brings_inline_code_or_styles_back(path):
    text = path.read_text(encoding="utf-8")
    assert "javascript:" not in text.lower()
    if path.suffix == ".js":
        # Ways to run strings as code or to write markup (with its handlers and styles) from a string.
        for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert forbidden not in text, f"{path.name} uses {forbidden}"
        assert not re.search(r"""\bstyle\s*:|setAttribute\(\s*["'](style|on\w+)["']|\.style\.""", text), \
            f"{path.name} sets an inline style or handler"
    if path.suffix == ".html":
        assert not re.search(r"<[^>]*\son\w+\s*=", text, re.I), f"{path.name} has an inline handler"


def test_the_gateway_serves_the_console():
    """create_app registers the console: "/" is the page and its files are under /console/."""
    from unittest.mock import MagicMock

    from services.gateway.api import create_app
    from shared.config import Settings

    app = create_app(Settings(), MagicMock(), MagicMock(), MagicMock())
    client = app.test_client()
    res = client.get("/")
    assert res.status_code == 200 and res.mimetype == "text/html" and b'src="console/main.js"' in res.data
    assert served(client, "/console/main.js")
