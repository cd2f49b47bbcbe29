"""Time and peak memory to link 1,000,000 person records, against a plain Splink run.

Both run on the same synthetic records (``linkage_data.records``), each in its own process so
that its peak memory (VmHWM) is its own: corespond's pipeline (features, training, scoring,
guarded clustering) and plain Splink as its tutorials set it up (stock comparisons, EM,
prediction, connected components). Pairwise precision and recall against the truth are
printed for both.

    .venv/bin/python bench/linkage_scale.py [--records 1000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent


def peak_mb() -> float:
    status = Path("/proc/self/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def pairwise(predicted: dict[int, int], truth: dict[int, int]) -> tuple[float, float]:
    def pairs(groups: Counter[object]) -> int:
        return sum(n * (n - 1) // 2 for n in groups.values())

    both = pairs(Counter((predicted[r], truth[r]) for r in truth))
    return both / max(1, pairs(Counter(predicted.values()))), both / max(
        1, pairs(Counter(truth.values()))
    )


def run_ours(count: int) -> dict[str, float]:
    from corespond.config import get_settings
    from corespond.linkage.cluster import cluster, collapse
    from corespond.linkage.features import features
    from corespond.linkage.model import LinkageModel, prior_from, to_table
    from linkage_data import records

    data = list(records(count))
    truth = {identity.record_id: person for identity, person in data}
    started = time.perf_counter()
    found = [features(identity) for identity, _ in data]
    del data
    linkable = [record for record in found if record.unlinkable is None]
    representatives, duplicates = collapse(linkable)
    model = LinkageModel(to_table(representatives))
    model.train(prior=prior_from(linkable) or None)
    settings = get_settings()
    pairs = model.predict(settings.review_threshold)
    model.close()
    clusters = cluster(
        representatives,
        pairs,
        link_threshold=settings.link_threshold,
        review_threshold=settings.review_threshold,
    )
    clusters.add_duplicates(duplicates)
    seconds = time.perf_counter() - started
    predicted = {r: clusters.of.get(r, -r) for r in truth}
    precision, recall = pairwise(predicted, truth)
    return {"seconds": seconds, "peak_mb": peak_mb(), "precision": precision, "recall": recall,
            "pairs": len(pairs)}  # fmt: skip


def run_plain(count: int) -> dict[str, float]:
    from corespond.linkage.features import features
    from linkage_data import records
    from linkage_quality import splink_default

    data = list(records(count))
    truth = {identity.record_id: person for identity, person in data}
    started = time.perf_counter()
    found = [features(identity) for identity, _ in data]
    del data
    predicted = splink_default(found)
    seconds = time.perf_counter() - started
    predicted = {r: predicted.get(r, -r) for r in truth}
    precision, recall = pairwise(predicted, truth)
    return {"seconds": seconds, "peak_mb": peak_mb(), "precision": precision, "recall": recall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--child", choices=("ours", "plain"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, str(HERE))
        runner = run_ours if args.child == "ours" else run_plain
        print(json.dumps(runner(args.records)))
        return
    print(f"linking {args.records:,} synthetic person records on this machine\n", flush=True)
    for label, child in (("corespond", "ours"), ("plain Splink", "plain")):
        out = subprocess.run(
            [sys.executable, __file__, "--records", str(args.records), "--child", child],
            capture_output=True,
            text=True,
        )
        if out.returncode:
            print(f"{label}: failed\n{out.stderr[-2000:]}")
            continue
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{label:<14} {result['seconds']:>7.1f} s  peak {result['peak_mb']:>7,.0f} MB  "
            f"precision {result['precision']:.4f}  recall {result['recall']:.4f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
