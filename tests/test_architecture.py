"""The boundaries of the design, as the import-linter contracts of `pyproject.toml` (`make lint`
runs them too): the composition root `lgsp` above the apps, the apps above the kit and
`contracts`, no service importing another, the gateway and the services importing none of each
other. Here they run on the tree as it is, and on copies of it with one forbidden import each,
so a contract that could not fail would show."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CONFIG = PYPROJECT["tool"]["importlinter"]
CONTRACTS = {c["id"]: c["name"] for c in CONFIG["contracts"]}
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
# Everything below the composition root.
LOWER = ["gateway", "services", "scenarios", "lgsp_kit", "contracts"]


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    # The tree comes first on the path, so a copy's packages shadow the installed project.
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def broken(output: str) -> set[str]:
    """The ids of the contracts the report names as broken (a long name may wrap)."""
    found = set()
    for id_, name in CONTRACTS.items():
        words = r"\s+".join(re.escape(word) for word in name.split())
        if re.search(rf"{words}\s+BROKEN", output):
            found.add(id_)
    return found


def test_the_tree_keeps_every_import_contract() -> None:
    proc = lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in proc.stdout


@pytest.mark.parametrize(
    ("file", "source", "contract"),
    [
        ("services/dossier/stray.py", "import services.reporting.models\n", "services-independent"),
        ("services/dossier/stray.py", "from ..reporting import models\n", "services-independent"),
        ("services/documents/stray.py", "from gateway import settings\n", "services-no-gateway"),
        ("gateway/stray.py", "from services.dossier import main\n", "gateway-no-services"),
        # A lazy import, inside a function, counts as much as one at the top.
        ("lgsp_kit/stray.py", "def app():\n    from gateway import main\n", "layers"),
        ("contracts/stray.py", "import lgsp_kit.db\n", "layers"),
        ("scenarios/stray.py", "from lgsp import cli\n", "layers"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, file: str, source: str, contract: str
) -> None:
    tree = tmp_path / "tree"
    skip = shutil.ignore_patterns("__pycache__")
    for package in CONFIG["root_packages"]:
        shutil.copytree(ROOT / package, tree / package, ignore=skip)
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    (tree / file).write_text(source, encoding="utf-8")
    proc = lint_imports(tree)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert contract in broken(proc.stdout), proc.stdout


def test_only_the_composition_root_loads_modules_by_name() -> None:
    """import-linter reads import statements; `importlib.import_module("services…")` escapes it,
    so below the root no code loads a module by its name."""
    found = [
        str(path.relative_to(ROOT))
        for package in LOWER
        for path in sorted((ROOT / package).rglob("*.py"))
        if re.search(r"\bimport_module\b|\b__import__\(", path.read_text(encoding="utf-8"))
    ]
    assert found == []
