"""Whether a change left the BO engine's proposals as they were: adaptive re-run on problems
and seeds that an earlier verdict journalled, compared run by run.

    python -m benchmarks.engine_parity --journal benchmarks/results/bo_suite.runs.jsonl \\
        --problems BraninCurrin DTLZ2 C2-DTLZ2 Hartmann6-constrained --seeds 10 --batches 1 4

Runs ``bo_compare --methods adaptive`` into a fresh journal in a temporary folder (nothing is
resumed), then pairs each run with the journalled run of the same problem, batch and seed
(the latest one where there are several): whether every trial's parameters are equal (the
engine proposed the same points, bit for bit), and the two final scores. A refactoring that
is meant to change no behaviour should show every run identical; a change of method shows
how far each row moved. ``--keep FILE`` keeps the re-run's journal; ``--after FILE`` compares a
kept journal instead of re-running (the same runs against another journal). Writes
``benchmarks/results/engine_parity.{md,json}`` (``--out``).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import bo_compare

RESULTS = Path(__file__).parent / "results"
logger = logging.getLogger("benchmarks.engine_parity")


def journal_rows(path: Path, method: str = "adaptive") -> dict[tuple[str, int, int], dict]:
    """The journal's runs of ``method`` by (problem, batch, seed), the latest of each."""
    out: dict[tuple[str, int, int], dict] = {}
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                continue  # a run cut short while its line was written
            raise
        if row.get("method") != method:
            continue
        key = (row["problem"], int(row["batch"]), int(row["seed"]))
        if key not in out or row["created"] > out[key]["created"]:
            out[key] = row
    return out


def compare(before: dict[tuple[str, int, int], dict], after: dict[tuple[str, int, int], dict]) -> list[dict]:
    """One line per (problem, batch): runs paired, how many proposed identical points, medians."""
    lines = []
    for problem, batch in sorted({(p, b) for p, b, _ in after}):
        keys = sorted(k for k in after if k[:2] == (problem, batch) and k in before)
        if not keys:
            continue
        same = sum(after[k]["params"] == before[k]["params"] for k in keys)
        diffs = [after[k]["score"] - before[k]["score"] for k in keys]
        lines.append({
            "problem": problem, "batch": batch, "runs": len(keys), "identical": same,
            "median_before": statistics.median(before[k]["score"] for k in keys),
            "median_after": statistics.median(after[k]["score"] for k in keys),
            "max_abs_score_difference": max(abs(d) for d in diffs),
            "seconds_per_call_before": statistics.median(before[k]["median_seconds_per_call"] for k in keys),
            "seconds_per_call_after": statistics.median(after[k]["median_seconds_per_call"] for k in keys),
            "journalled_on": sorted({before[k]["created"][:10] for k in keys}),
        })
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journal", type=Path, default=RESULTS / "bo_suite.runs.jsonl",
                        help="a verdict's journal of runs (bo_compare's OUT.runs.jsonl)")
    parser.add_argument("--problems", nargs="+", default=["BraninCurrin", "DTLZ2", "C2-DTLZ2", "Hartmann6-constrained"])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "engine_parity")
    parser.add_argument("--keep", type=Path, help="also copy the re-run's journal here")
    parser.add_argument("--after", type=Path, help="compare this journal of runs instead of re-running")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    before = journal_rows(args.journal)
    if args.after is not None:
        after = journal_rows(args.after)
    else:
        with tempfile.TemporaryDirectory() as folder:
            run = Path(folder) / "rerun"
            bo_compare.main(["--problems", *args.problems, "--methods", "adaptive", "--seeds", str(args.seeds),
                             "--batches", *map(str, args.batches), "--workers", str(args.workers), "--out", str(run)])
            if args.keep is not None:
                shutil.copy(run.with_suffix(".runs.jsonl"), args.keep)
            after = journal_rows(run.with_suffix(".runs.jsonl"))
    wanted = {(p, b, seed) for p in args.problems for b in args.batches for seed in range(args.seeds)}
    lines = compare(before, {k: v for k, v in after.items() if k in wanted})
    command = "python -m benchmarks.engine_parity " + " ".join(sys.argv[1:] if argv is None else argv)
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    args.out.with_suffix(".json").write_text(json.dumps({"command": command, "created": created,
                                                        "machine": bo_compare._machine(), "rows": lines}, indent=1) + "\n")
    table = [
        "| problem | q | runs | identical proposals | median before | median after | largest score change | s / suggest before | after |",
        "|---|---|---|---|---|---|---|---|---|",
    ] + [
        f"| {r['problem']} | {r['batch']} | {r['runs']} | {r['identical']} / {r['runs']} | {r['median_before']:.3f} | "
        f"{r['median_after']:.3f} | {r['max_abs_score_difference']:.2g} | {r['seconds_per_call_before']:.2f} | "
        f"{r['seconds_per_call_after']:.2f} |"
        for r in lines
    ]
    args.out.with_suffix(".md").write_text(
        "# Engine parity: adaptive re-run against a journalled verdict\n\n"
        f"`{command}` on {bo_compare._machine()}, {created}; the journal's runs are from "
        f"{', '.join(sorted({d for r in lines for d in r['journalled_on']}))}.\n\n" + "\n".join(table) + "\n"
    )
    logger.info("wrote %s", args.out.with_suffix(".md"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
