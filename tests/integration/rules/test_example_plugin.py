"""The worked example of docs/plugins/example.md, done for real: built, installed, configured, tested.

Every file of the example package is taken from the page, so the page cannot drift from what
works. The package is installed in editable mode, through its entry point, into a throwaway
environment layered on this one (the project's site-packages are visible to it, nothing is
installed into them): the shared environment and tests running beside this one never see
the example plugin.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "docs" / "plugins" / "example.md"

pytestmark = pytest.mark.slow


def example_files() -> dict[str, str]:
    blocks = re.findall(r'```\w+ title="([^"]+)"\n(.*?)```', EXAMPLE.read_text(encoding="utf-8"), re.S)
    return dict(blocks)


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "XINFANG_"))}


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=clean_environment(), capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(python of an environment where the example is installed, the example's directory)."""
    where = tmp_path_factory.mktemp("example")
    for name, text in example_files().items():
        path = where / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    package = where / "xinfang-shifan"

    venv = where / "venv"
    made = run(sys.executable, "-m", "venv", "--without-pip", venv)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip())
    ours = sysconfig.get_path("purelib")
    (site / "xinfang_ledger_environment.pth").write_text(f"import site; site.addsitedir({ours!r})\n", encoding="utf-8")

    pip = run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-build-isolation",
              "--quiet", "-e", package)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    return python, package


def test_the_example_page_holds_a_whole_package() -> None:
    assert set(example_files()) == {
        "xinfang-shifan/pyproject.toml", "xinfang-shifan/xinfang_shifan/__init__.py",
        "xinfang-shifan/tests/test_shifan.py", "xinfang-shifan/rules.toml",
    }


def test_the_installed_example_is_a_plugin_through_its_entry_point(installed: tuple[Path, Path]) -> None:
    python, package = installed
    listed = run(python, "-m", "ledger.cli", "plugins", "--json")
    assert listed.returncode == 0, listed.stderr
    plugins = {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}
    assert plugins["shifan"]["version"] == "1.0.0"
    assert plugins["shifan"]["hooks"] == ["xinfang_awards", "xinfang_check_command", "xinfang_time_limits"]
    assert plugins["shifan"]["config"] == {"accept_target_days": 7, "village_award": 3000}

    configured = run(python, "-m", "ledger.cli", "--rules", package / "rules.toml", "plugins", "--json")
    assert configured.returncode == 0, configured.stderr
    answer = json.loads(configured.stdout)
    assert answer["blocked"] == ["qinjiang", "zhijiang"]
    assert {p["name"]: p["config"] for p in answer["plugins"]}["shifan"] == {"accept_target_days": 5,
                                                                             "village_award": 3000}
    assert answer["fingerprint"] != json.loads(listed.stdout)["fingerprint"]

    # This environment does not see the example: it was installed elsewhere.
    from ledger.rules import RuleSet

    assert "shifan" not in {p.name for p in RuleSet().plugins}


def test_a_mistake_in_the_examples_configuration_is_reported_as_the_page_shows(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    python, _ = installed
    bad = tmp_path / "bad.toml"
    bad.write_text("[plugins.shifan]\naccept_target_days = 20\n", encoding="utf-8")
    result = run(python, "-m", "ledger.cli", "--rules", bad, "plugins")
    assert result.returncode == 2
    message = "错误：规则插件「shifan」的配置无效：accept_target_days：不能大于 15（bad_plugin_config）"
    assert message in " ".join(result.stderr.split())
    assert message in EXAMPLE.read_text(encoding="utf-8")


def test_the_examples_own_tests_pass_with_the_author_fixture(installed: tuple[Path, Path]) -> None:
    python, package = installed
    result = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=package)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
