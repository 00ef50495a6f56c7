"""Several bench/cpu.py results files (rounds of one comparison) summarised as one Markdown table.

    .venv/bin/python bench/rounds.py bench/results/cpu-final-round*.json [--baseline "SQLite @2fc2a5b"]

On a shared machine one run's absolute numbers say little; the same comparison repeated says
how far they move. Per process and scenario: the CPU per update (median of the rounds, and
their range), the httpx echo's cost ÷ this (the issue's ratio, same round), and, with
`--baseline` (a substring of a process's name, matched per database), this ÷ the baseline's
CPU in the same round: below 1.0 is cheaper than the baseline.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ECHO = "PTB echo, httpx (reference)"


def _span(values: list[float], digits: int = 2) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def _database(process: str) -> str:
    return "PostgreSQL" if "PostgreSQL" in process else "SQLite" if "SQLite" in process else ""


def table(runs: list[dict[str, Any]], baseline: str | None) -> str:
    cpu: dict[tuple[str, str, float], list[float]] = defaultdict(list)
    echo_ratio: dict[tuple[str, str, float], list[float]] = defaultdict(list)
    base_ratio: dict[tuple[str, str, float], list[float]] = defaultdict(list)
    for run in runs:
        measures = run["measures"]
        echo = {m["offered_per_s"]: m["cpu_ms_per_update"] for m in measures if m["process"] == ECHO}
        at = {(m["process"], m["scenario"], m["offered_per_s"]): m for m in measures}
        for m in measures:
            key = (m["process"], m["scenario"], m["offered_per_s"])
            cpu[key].append(m["cpu_ms_per_update"])
            if echo.get(m["offered_per_s"]):
                echo_ratio[key].append(echo[m["offered_per_s"]] / m["cpu_ms_per_update"])
            if baseline and _database(m["process"]):
                base = next(
                    (
                        other
                        for (process, scenario, rate), other in at.items()
                        if baseline in process
                        and _database(process) == _database(m["process"])
                        and (scenario, rate) == key[1:]
                    ),
                    None,
                )
                if base is not None:
                    base_ratio[key].append(m["cpu_ms_per_update"] / base["cpu_ms_per_update"])
    head = "| process | scenario | rate | CPU ms per update | echo ÷ this |"
    rule = "| --- | --- | ---: | ---: | ---: |"
    if baseline:
        head += " this ÷ baseline |"
        rule += " ---: |"
    lines = [head, rule]
    for key, values in cpu.items():
        process, scenario, rate = key
        ratios = echo_ratio.get(key) or [0.0]
        row = f"| {process} | {scenario} | {rate:.0f}/s | {_span(values)} | {_span(ratios)}× |"
        if baseline:
            row += f" {_span(base_ratio[key])} |" if key in base_ratio else " |"
        lines.append(row)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--baseline", help="substring of the process each is compared with, per database")
    args = parser.parse_args(argv)
    runs = [json.loads(path.read_text()) for path in args.files]
    loads = [run["machine"]["load_average_at_end"][0] for run in runs]
    print(f"{len(runs)} rounds; load average at the end of each: {', '.join(f'{v:.1f}' for v in loads)}\n")
    print(table(runs, args.baseline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
