"""``--backend spark`` links the same spreadsheet into the same persons as DuckDB does.

Runs Splink's Spark backend in local mode (pyspark and Java 17, both installed by make install
and the CI), as a jurisdiction would on a cluster with CORESPOND_SPARK_MASTER.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from corespond.linkage.csvlink import link_csv
from support.person_rows import HEADER, synthetic_rows


def partition(path: Path) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            groups.setdefault(row["person_id"], set()).add(row["record_id"])
    return {frozenset(group) for group in groups.values()}


def test_spark_and_duckdb_find_the_same_persons(tmp_path: Path) -> None:
    rows, truth = synthetic_rows(random.Random(5))
    source = tmp_path / "people.csv"
    with source.open("w", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *rows])

    for backend in ("duckdb", "spark"):
        link_csv(
            source,
            tmp_path / f"{backend}.csv",
            link_threshold=0.5,
            review_threshold=0.2,
            backend=backend,  # type: ignore[arg-type]
        )

    on_spark = partition(tmp_path / "spark.csv")
    assert on_spark == partition(tmp_path / "duckdb.csv")
    together = sum(1 for group in on_spark if len({truth[r] for r in group}) == 1)
    assert together == len(on_spark)  # no person mixes two true people
