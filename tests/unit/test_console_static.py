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


# -- the page's structure: what the browser tests (tests/e2e/test_console_browser.py) prove in a real browser,
#    checked here without one, so that a slip shows in seconds --------------------------------------------
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Tree(HTMLParser):
    """Every element of index.html with its attributes and its ancestors' (tag, attrs)."""

    def __init__(self):
        super().__init__()
        self.elements, self._open = [], []

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        self.elements.append((tag, attrs, list(self._open)))
        if tag not in VOID:
            self._open.append((tag, attrs))

    def handle_endtag(self, tag):
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def all(self, tag):
        return [(attrs, ancestors) for t, attrs, ancestors in self.elements if t == tag]


@pytest.fixture(scope="module")
def tree():
    parsed = Tree()
    parsed.feed((STATIC / "index.html").read_text(encoding="utf-8"))
    return parsed


def scripts() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in STATIC.glob("*.js")}


def test_ids_are_unique_and_every_id_a_module_names_exists(tree):
    """A module that looks up a missing element fails as it loads, and the whole console with it."""
    ids = [attrs["id"] for _, attrs, _ in tree.elements if attrs.get("id")]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for name, text in scripts().items():
        for found in re.finditer(r"""\$\(\s*"([\w-]+)"\s*\)|getElementById\(\s*"([\w-]+)"\s*\)""", text):
            assert (found.group(1) or found.group(2)) in ids, f"{name} names #{found.group(1) or found.group(2)}"
        for prefix in re.findall(r"""tableOf\(\s*"([\w-]+)"\s*\)""", text):
            for part in ("body", "caption", "message"):
                assert f"{prefix}-{part}" in ids, f"{name}: tableOf({prefix!r}) needs #{prefix}-{part}"


def test_every_control_has_a_label(tree):
    labelled_by_for = {attrs.get("for") for attrs, _ in tree.all("label")}
    for tag in ("input", "select", "textarea"):
        for attrs, ancestors in tree.all(tag):
            if attrs.get("type") == "hidden" or "hidden" in attrs:
                continue
            named = (any(t == "label" for t, _ in ancestors) or attrs.get("aria-label") or attrs.get("aria-labelledby")
                     or attrs.get("id") in labelled_by_for)
            assert named, f"<{tag} name={attrs.get('name')!r}> has no label"


def test_every_table_scrolls_in_its_own_box(tree):
    """On a phone only a table's own box scrolls sideways, never the page; the box takes the keyboard focus."""
    tables = tree.all("table")
    assert tables
    for _, ancestors in tables:
        boxes = [a for t, a in ancestors if t == "div" and "scroll" in a.get("class", "").split()]
        assert boxes, "a <table> outside a .scroll box"
        assert boxes[-1].get("tabindex") == "0" and boxes[-1].get("role") == "region"
        assert boxes[-1].get("aria-label") or boxes[-1].get("aria-labelledby")


def test_dialogs_are_native_and_named(tree):
    ids = {attrs["id"] for _, attrs, _ in tree.elements if attrs.get("id")}
    dialogs = tree.all("dialog")
    assert len(dialogs) >= 3
    for attrs, _ in dialogs:
        assert attrs.get("aria-labelledby") in ids, attrs
    assert not re.search(r"\b(prompt|confirm|alert)\(", "\n".join(scripts().values())), \
        "a browser prompt/confirm/alert (use ask.js: an accessible <dialog>)"


def test_each_page_of_the_navigation_has_its_section_and_title(tree):
    navigated = {attrs["data-nav"] for attrs, _ in tree.all("a") if attrs.get("data-nav")}
    pages = {attrs["data-page"] for _, attrs, _ in tree.elements if attrs.get("data-page")}
    assert navigated <= pages and {"people", "person", "enroll", "recognize", "attendance", "admin"} <= pages
    router = (STATIC / "router.js").read_text(encoding="utf-8")
    for page in pages:
        assert re.search(rf"\b{page}: \"", router), f"router.js has no title for page {page}"
    h1 = [attrs for attrs, _ in tree.all("h1")]
    assert len(h1) == 1


def test_nothing_comes_from_another_site(page):
    """No CDN: the Content-Security-Policy allows the gateway's own files only."""
    assert all(local(url) or url.startswith(("#", "data:")) for url in page.urls), page.urls
    for path in STATIC.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""(?:src|href|url|import|from)\s*[(=]?\s*["']?(?:https?:)?//""", text, re.I), path.name
        if path.suffix == ".css":
            assert "@import" not in text, path.name


def test_the_key_is_kept_for_the_tab_only():
    """The API key lives in sessionStorage (or memory), never in localStorage, a cookie or a URL."""
    for name, text in scripts().items():
        assert "document.cookie" not in text, name
        if "localStorage" in text:
            assert name == "operator.js", f"{name} uses localStorage"  # the operator's name only
    api = (STATIC / "api.js").read_text(encoding="utf-8")
    assert "sessionStorage.setItem(TOKEN_KEY" in api and "Authorization" in api
