"""The documentation site builds offline with ``mkdocs build --strict``, and holds together.

Checked on the built site: every ``<img src>``, stylesheet, script and internal link of every
page resolves to a file of the site (and an in-page anchor, when it names one), and every
page with a picture derived from the Hell-Char crops credits them. Checked on the sources:
the public API has runnable examples and one API page per module, the Getting started page
shows the README's commands, and every Python snippet on a page at least imports.
"""

from __future__ import annotations

import ast
import doctest
import importlib.util
import inspect
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CC_BY = "creativecommons.org/licenses/by/4.0"
MAX_IMAGE_BYTES = 300_000

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None,
    reason="mkdocs is not installed (pip install -e .[dev])",
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stderr[-6000:]}"
    return out


class _Page(HTMLParser):
    """Collects a page's ids and the URLs it refers to."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str]] = []  # (tag.attribute, url)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag == "a" and a.get("name"):
            self.ids.add(str(a["name"]))
        for attr in ("href", "src"):
            url = a.get(attr)
            if url is not None and tag in ("a", "img", "link", "script", "source"):
                self.refs.append((f"{tag}.{attr}", url))


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def _target(site: Path, page: Path, url: str) -> Path | None:
    """The file an internal URL points to, or ``None`` for an external one."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith(("mailto:", "javascript:", "data:")):
        return None
    if not parts.path:
        return page
    base = site if parts.path.startswith("/") else page.parent  # 404.html uses /-paths
    path = (base / unquote(parts.path).lstrip("/")).resolve()
    if url.endswith("/") or path.is_dir():
        path = path / "index.html"
    return path


def _parsed(path: Path, cache: dict[Path, _Page]) -> _Page:
    if path not in cache:
        cache[path] = _parse(path)
    return cache[path]


def _broken_refs(site: Path, page: Path, cache: dict[Path, _Page]) -> list[str]:
    parsed = _parsed(page, cache)
    broken = []
    for where, url in parsed.refs:
        target = _target(site, page, url)
        if target is None:
            continue
        if not target.is_file() or site.resolve() not in target.parents:
            broken.append(f"{where}={url!r} (no file {target})")
            continue
        fragment = unquote(urlsplit(url).fragment)
        if fragment and target.suffix == ".html":
            ids = _parsed(target, cache).ids
            if fragment not in ids:
                broken.append(f"{where}={url!r} (no id {fragment!r} in {target.name})")
    return broken


def test_index_images_and_links_resolve(site: Path) -> None:
    index = site / "index.html"
    page = _parse(index)
    images = [url for where, url in page.refs if where == "img.src"]
    assert len(images) >= 2, "the landing page should show sample grids"
    assert _broken_refs(site, index, {}) == []


def test_every_page_links_resolve(site: Path) -> None:
    cache: dict[Path, _Page] = {}
    broken = {
        str(p.relative_to(site)): b
        for p in sorted(site.rglob("*.html"))
        if (b := _broken_refs(site, p, cache))
    }
    assert broken == {}


def test_pictures_of_crops_carry_the_attribution(site: Path) -> None:
    for path in site.rglob("*.html"):
        page = _parse(path)
        shown = [url for where, url in page.refs if where == "img.src" and "images/" in url]
        if shown:
            assert CC_BY in path.read_text(encoding="utf-8"), f"{path}: images without credit"


def test_images_are_small_and_used() -> None:
    images = sorted((DOCS / "images").glob("*.png"))
    assert images, "docs/images is empty: run docs/make_images.py"
    pages = "".join(p.read_text(encoding="utf-8") for p in DOCS.rglob("*.md"))
    for image in images:
        assert image.stat().st_size < MAX_IMAGE_BYTES, f"{image.name} is over 300 KB"
        assert f"images/{image.name}" in pages, f"{image.name} is not used by any page"


def test_public_api_has_runnable_examples() -> None:
    import glyphvae

    missing = []
    for name in glyphvae.__all__:
        obj = getattr(glyphvae, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            doc = inspect.getdoc(obj) or ""
        else:  # a constant: its example lives in its module's docstring
            module = glyphvae if name == "__version__" else _module_defining(name)
            doc = "\n".join(
                line for line in (module.__doc__ or "").splitlines() if line.startswith(">>>")
            )
            doc = doc if name in doc else ""
        if ">>>" not in doc:
            missing.append(name)
    assert missing == [], "public names without a >>> example in their docstring"


def _module_defining(name: str):
    import glyphvae

    for module in list(sys.modules.values()):
        mod_name = getattr(module, "__name__", "")
        if (
            mod_name.startswith("glyphvae.")
            and name in getattr(module, "__all__", ())
            and getattr(module, name) is getattr(glyphvae, name)
        ):
            return module
    raise LookupError(name)


def _api_targets() -> set[str]:
    targets = set()
    for page in (DOCS / "api").rglob("*.md"):
        targets |= set(re.findall(r"^::: (glyphvae[\w.]*)", page.read_text(), re.MULTILINE))
    return targets


def test_every_public_module_has_an_api_page() -> None:
    modules = set()
    for path in (ROOT / "glyphvae").rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        if path.name == "__init__.py" or "cli" in rel.parts or path.name.startswith("_"):
            continue
        modules.add(".".join(rel.parts))
    missing = sorted(modules - _api_targets())
    assert missing == [], "add a page with `::: <module>` under docs/api/ and to mkdocs.yml nav"


def test_getting_started_shows_the_readme_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```bash\n(.*?)```", readme, re.DOTALL)
    assert first_block is not None
    page = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    for line in first_block.group(1).strip().splitlines():
        assert line in page, f"README command missing from getting-started.md: {line}"


def _python_blocks() -> list[tuple[str, str]]:
    blocks = []
    for page in sorted(DOCS.rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        for block in re.findall(r"^ *```python[^\n]*\n(.*?)^ *```", text, re.MULTILINE | re.DOTALL):
            if "--8<--" not in block:  # included files are run by test_examples.py
                blocks.append((str(page.relative_to(DOCS)), inspect.cleandoc(block)))
    return blocks


@pytest.mark.parametrize(("page", "code"), _python_blocks())
def test_python_snippets_compile_and_import(page: str, code: str) -> None:
    tree = ast.parse(code, filename=page)
    imports = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    exec(compile(ast.Module(body=imports, type_ignores=[]), page, "exec"), {})


def test_snippets_name_real_files() -> None:
    for page in DOCS.rglob("*.md"):
        for rel in re.findall(r'--8<-- "([^"]+)"', page.read_text(encoding="utf-8")):
            assert (ROOT / rel).is_file(), f"{page.name} includes a missing file {rel}"
    shown = "".join(p.read_text(encoding="utf-8") for p in DOCS.rglob("*.md"))
    for example in (ROOT / "examples").glob("*.py"):
        assert f'--8<-- "examples/{example.name}"' in shown, f"{example.name} is not in the docs"


def test_griffe_extension_examples() -> None:
    spec = importlib.util.spec_from_file_location(
        "griffe_docstrings", DOCS / "griffe_docstrings.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = doctest.testmod(module)
    assert result.attempted and not result.failed
