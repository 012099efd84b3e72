"""chatsift's package graph from its module-level imports: cycles between packages, and modules over
500 lines (where a module should be split).

An import inside a function (a lazy, optional dependency) is not an edge; ``import chatsift.x`` and
``from chatsift.x import ...`` at a module's top level are. Packages are the first level under
``chatsift/`` (``config.py`` is the package ``config``).

    python benchmarks/import_graph.py [REPO] [--edges]
"""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

MAX_LINES = 500


def package_edges(src: Path) -> tuple[dict[str, set[str]], list[tuple[str, int]]]:
    edges: dict[str, set[str]] = {}
    long: list[tuple[str, int]] = []
    for path in sorted(src.rglob("*.py")):
        parts = path.relative_to(src.parent).with_suffix("").parts
        if len(parts) < 2 or parts[1] == "__init__":
            continue
        package = parts[1]
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_LINES:
            long.append((str(path.relative_to(src.parent)), text.count("\n")))
        for node in ast.parse(text).body:
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                target = name.split(".")
                if target[0] == "chatsift" and len(target) > 1 and target[1] != package:
                    edges.setdefault(package, set()).add(target[1])
    return edges, long


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one package (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", nargs="?", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--edges", action="store_true", help="also print every package's imports")
    args = parser.parse_args()
    edges, long = package_edges(Path(args.repo) / "src" / "chatsift")
    out: dict = {"package_cycles": cycles(edges), "modules_over_500_lines": long}
    if args.edges:
        out["edges"] = {k: sorted(v) for k, v in sorted(edges.items())}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
