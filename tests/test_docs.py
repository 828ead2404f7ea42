"""The README and docs/ stand alone: every setting documented, every link and every cited test real."""
import re
from pathlib import Path

import pytest

from webapp.config import ENV_NAMES

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# A cited test: `tests/…py` optionally followed by ::name, or a bare `::name` that belongs to the last file cited.
CITED = re.compile(r"`(tests/[\w/]+\.py)?(?:::(\w+))?`")


def _anchors(page):
    """GitHub's heading ids: lowercased, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+\s+(.+)$", page.read_text(), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_docs_exist_and_the_readme_links_them():
    readme = (ROOT / "README.md").read_text()
    for name in ("architecture.md", "operations.md", "guarantees.md"):
        assert (ROOT / "docs" / name).is_file()
        assert f"(docs/{name})" in readme


@pytest.mark.parametrize("name", ENV_NAMES)
def test_every_setting_is_documented_in_operations(name):
    assert f"`{name}`" in (ROOT / "docs" / "operations.md").read_text()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve_inside_the_repository(page):
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.is_relative_to(ROOT), f"{page.name} links outside the repository: {target}"
        assert resolved.exists(), f"{page.name}: broken link {target}"
        if anchor:
            assert anchor in _anchors(resolved), f"{page.name}: no heading #{anchor} in {resolved.name}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_nothing_points_outside_the_repository(page):
    assert "../" not in page.read_text(), f"{page.name} refers to a path outside the repository"


def test_every_cited_test_exists():
    text = (ROOT / "docs" / "guarantees.md").read_text()
    current = None
    cited = 0
    for path, name in CITED.findall(text):
        if path:
            current = ROOT / path
            assert current.is_file(), f"cited test file {path} does not exist"
        if name:
            assert current is not None
            assert re.search(rf"^def {name}\(", current.read_text(), re.M), f"{current.name} has no {name}"
            cited += 1
    assert cited > 30
