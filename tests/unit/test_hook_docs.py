"""Meta-tests, in the Datasette manner: every hook is documented and exercised by a test.

A hook without a docstring example, a documentation page, a link from the index or a
``test_hook_<name>…`` test fails here, so the plugin API cannot grow undocumented or untested.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from ledger import hooks
from ledger.rules import RuleSet

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "plugins"
HOOKS = sorted(name for name, value in vars(hooks).items() if hasattr(value, f"{hooks.PROJECT}_spec"))


def _test_functions() -> set[str]:
    names = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
                names.add(node.name)
    return names


def _signature(name: str) -> str:
    return f"{name}({', '.join(inspect.signature(getattr(hooks, name)).parameters)})"


def test_there_are_hooks_and_all_are_prefixed() -> None:
    assert len(HOOKS) >= 7
    assert all(name.startswith("xinfang_") for name in HOOKS)
    assert not [n for n in dir(hooks) if n.startswith("xinfang_") and n not in HOOKS], "a xinfang_ function without @hookspec"


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_docstring_with_what_it_returns_and_an_example(name: str) -> None:
    doc = inspect.getdoc(getattr(hooks, name)) or ""
    assert "Returns" in doc, f"{name}: say what it returns"
    assert "Example::" in doc and "@hookimpl" in doc.split("Example::", 1)[1], f"{name}: give an example"
    assert inspect.signature(getattr(hooks, name)).return_annotation != inspect.Signature.empty


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_documentation_page_linked_from_the_index(name: str) -> None:
    page = DOCS / "hooks" / f"{name}.md"
    assert page.exists(), f"docs/plugins/hooks/{name}.md is missing"
    text = page.read_text(encoding="utf-8")
    assert text.startswith(f"# `{_signature(name)}`"), f"{page.name} must start with the signature {_signature(name)}"
    assert "## Example" in text and "@hookimpl" in text
    assert f"(hooks/{name}.md)" in (DOCS / "index.md").read_text(encoding="utf-8")


def test_every_documentation_page_is_about_a_hook_that_exists() -> None:
    assert sorted(p.stem for p in (DOCS / "hooks").glob("*.md")) == HOOKS


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_exercised_by_a_test(name: str) -> None:
    short = name.removeprefix("xinfang_")
    assert any(t.startswith(f"test_hook_{short}") for t in _test_functions()), (
        f"no test named test_hook_{short}… exercises {name}"
    )


def test_the_rules_files_in_the_documentation_are_valid(tmp_path: Path) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", (DOCS / "index.md").read_text(encoding="utf-8"), re.S)
    rules_files = [b for b in blocks if "[plugins." in b]
    assert rules_files
    for number, block in enumerate(rules_files):
        path = tmp_path / f"rules-{number}.toml"
        path.write_text(block, encoding="utf-8")
        rules = RuleSet.from_config(path)
        assert rules.fingerprint != RuleSet().fingerprint, block


def test_the_hook_examples_in_the_documentation_compile() -> None:
    for page in [*(DOCS / "hooks").glob("*.md"), DOCS / "index.md"]:
        for block in re.findall(r"```python[^\n]*\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            compile(block, str(page), "exec")
