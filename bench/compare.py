"""Before and after in one run: a bench on an earlier commit and on the working tree.

    .venv/bin/python bench/compare.py --before d3d433b orders.py --backend sqlite --seconds 5

The earlier commit is checked out in a temporary git worktree; each tree runs its own copy of
the bench (the bench may have changed with the code) with its own `src/` first on the path,
in turns (before, after, before, after... `--rounds`), so that a machine that slows down or
speeds up during the run weighs on both alike. Every measurement that both runs name alike is
printed with its best rate of each side and the ratio after ÷ before, then its CPU per
operation the same way: a ratio near 1 is no change, within the noise the rounds show.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the commit to compare with (any git ref)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each side, in turns")
    parser.add_argument("bench", help="the bench script in bench/, e.g. orders.py")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the bench's own arguments")
    options = parser.parse_args()
    if "--json" in options.args:
        parser.error("compare.py passes --json itself")
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    with worktree(options.before) as before, tempfile.TemporaryDirectory() as scratch:
        trees = {"before": before, "after": ROOT}
        for round_ in range(1, options.rounds + 1):
            for side, tree in trees.items():
                out = Path(scratch) / f"{side}-{round_}.json"
                print(f"round {round_}/{options.rounds}: {side} ({tree})", file=sys.stderr)
                run(tree, options.bench, [*options.args, "--json", str(out)])
                runs[side].append(json.loads(out.read_text()))
    report(options.before, options.bench, runs)


@contextlib.contextmanager
def worktree(ref: str) -> Iterator[Path]:
    """`ref` checked out in a temporary worktree, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="omnistock-before-") as parent:
        path = Path(parent) / "tree"
        git = ["git", "-C", str(ROOT)]
        subprocess.run([*git, "worktree", "add", "--detach", str(path), ref], check=True)
        try:
            yield path
        finally:
            subprocess.run([*git, "worktree", "remove", "--force", str(path)], check=True)


def run(tree: Path, bench: str, args: list[str]) -> None:
    """The tree's own bench, with the tree's own code first on the path."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    script = tree / "bench" / bench
    subprocess.run([sys.executable, str(script), *args], cwd=tree, env=env, check=True)


def figures(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, float]]:
    """Each measurement of a run, by (backend, name): its rate and CPU per operation."""
    found = {}
    for backend, measured in document["backends"].items():
        lists = [value for value in measured.values() if isinstance(value, list)]
        for result in (r for results in lists for r in results if isinstance(r, dict)):
            if "per_second" in result and "name" in result:
                workers = result.get("workers")
                name = result["name"] + (f" ({workers}w)" if workers else "")
                found[backend, name] = {
                    "per_second": float(result["per_second"]),
                    "cpu_ms": float(result.get("cpu_ms") or 0.0),
                }
    return found


def report(ref: str, bench: str, runs: dict[str, list[dict[str, Any]]]) -> None:
    """Best of the rounds on each side (the least disturbed run), and the ratios."""
    sides = {side: [figures(doc) for doc in docs] for side, docs in runs.items()}
    names = [key for key in sides["after"][0] if all(key in run for run in sides["before"])]
    table = Table(title=f"{bench}: {ref} (before) and the working tree (after)")
    for column in ("backend", "measurement", "before /s", "after /s", "after ÷ before"):
        table.add_column(
            column, justify="left" if column in ("backend", "measurement") else "right"
        )
    for column in ("CPU ms before", "CPU ms after", "÷"):
        table.add_column(column, justify="right")
    for backend, name in names:
        before = [run[backend, name] for run in sides["before"]]
        after = [run[backend, name] for run in sides["after"]]
        rate_b = max(f["per_second"] for f in before)
        rate_a = max(f["per_second"] for f in after)
        cpu_b = min(f["cpu_ms"] for f in before)
        cpu_a = min(f["cpu_ms"] for f in after)
        table.add_row(
            backend,
            name,
            f"{rate_b:,.0f}",
            f"{rate_a:,.0f}",
            f"{rate_a / rate_b:.2f}" if rate_b else "-",
            f"{cpu_b:.2f}",
            f"{cpu_a:.2f}",
            f"{cpu_a / cpu_b:.2f}" if cpu_b else "-",
        )
    console = Console(width=160)
    console.print(table)
    spread = [
        max(f["per_second"] for f in rounds) / min(f["per_second"] for f in rounds)
        for side in sides.values()
        for key in names
        if (rounds := [run[key] for run in side]) and min(f["per_second"] for f in rounds)
    ]
    if spread:
        console.print(
            f"Noise: the best round of a side beat its worst by up to {max(spread):.2f}x "
            f"({len(runs['after'])} rounds a side): read ratios within that as no change."
        )


if __name__ == "__main__":
    main()
