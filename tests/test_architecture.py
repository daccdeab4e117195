"""The boundaries of the design: a service never imports another service, the gateway speaks only
HTTP to them, and shared code (kit, contracts) depends on no app."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ["dossier", "documents", "reporting"]


def imported_modules(package_dir: Path, root: Path = ROOT) -> dict[str, set[str]]:
    """Every module imported by each file below `package_dir` (relative imports resolved)."""
    found: dict[str, set[str]] = {}
    for path in package_dir.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        names: set[str] = set()
        package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    module = ".".join([*base, node.module] if node.module else base)
                else:
                    module = node.module or ""
                names.add(module)
                names.update(f"{module}.{alias.name}" for alias in node.names)
        found[str(path.relative_to(root))] = names
    return found


def offenders(package_dir: Path, forbidden: list[str], root: Path = ROOT) -> list[str]:
    bad = []
    for file, modules in imported_modules(package_dir, root).items():
        for module in sorted(modules):
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                bad.append(f"{file} imports {module}")
    return bad


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_never_imports_another_service(service: str) -> None:
    others = [f"services.{s}" for s in SERVICES if s != service] + ["gateway"]
    assert offenders(ROOT / "services" / service, others) == []


def test_the_gateway_never_imports_a_service() -> None:
    assert offenders(ROOT / "gateway", ["services"]) == []


def test_shared_code_depends_on_no_app() -> None:
    # contracts/tools is the generator of the published documents: it builds each app to read
    # its OpenAPI (a build tool, like the command line), and nothing at run time imports it.
    shared = [
        line
        for line in offenders(ROOT / "contracts", ["services", "gateway", "lgsp_kit"])
        if not line.startswith("contracts/tools/")
    ]
    assert shared == []
    for app in (ROOT / "gateway", ROOT / "services"):
        assert offenders(app, ["contracts.tools", "contracts.generate"]) == []
    # The command line is the one composition root: it may reach the gateway's CLI and
    # reporting's rebuild command.
    kit = [
        line
        for line in offenders(ROOT / "lgsp_kit", ["services", "gateway"])
        if not line.startswith("lgsp_kit/cli.py imports gateway.cli")
        and not line.startswith("lgsp_kit/cli.py imports services.reporting.rebuild")
    ]
    assert kit == []


def test_the_checker_sees_forbidden_imports(tmp_path: Path) -> None:
    """The scan itself must be able to fail: absolute, from- and relative imports are seen."""
    pkg = tmp_path / "services" / "dossier"
    pkg.mkdir(parents=True)
    (pkg / "a.py").write_text("import services.reporting.models\n")
    (pkg / "b.py").write_text("from services.documents import main\n")
    (pkg / "c.py").write_text("from ..reporting import models\n")
    (pkg / "d.py").write_text("from lgsp_kit.app import create_service_app\n")
    found = offenders(pkg, ["services.reporting", "services.documents"], root=tmp_path)
    assert sorted(f.split(" ")[0] for f in found) == [
        "services/dossier/a.py",
        "services/dossier/b.py",
        "services/dossier/b.py",
        "services/dossier/c.py",
        "services/dossier/c.py",
    ]
