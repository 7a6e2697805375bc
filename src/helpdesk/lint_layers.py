"""Layer rule (STYLE.md): controllers never import sqlalchemy; SQL lives in repositories."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CONTROLLER_NAMES = {"routes.py", "api.py"}


def _is_controller(path: Path) -> bool:
    return path.name in CONTROLLER_NAMES or "routes" in path.relative_to(ROOT).parts[:-1]


def violations() -> list[str]:
    found: list[str] = []
    for path in sorted(ROOT.rglob("*.py")):
        if not _is_controller(path):
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name == "sqlalchemy" or (name.startswith("sqlalchemy.") and name != "sqlalchemy.orm"):
                    where = f"{path.relative_to(ROOT.parent)}:{getattr(node, 'lineno', 0)}"
                    found.append(f"{where}: controllers must not import {name}")
    return found


def main() -> int:
    problems = violations()
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
