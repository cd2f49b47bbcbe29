"""The Fellegi-Sunter model: comparisons, blocking, unsupervised training and prediction (Splink).

Training needs no labels: u by random sampling, m by expectation maximisation over several
blocking passes, each leaving out the fields it blocks on. The trained model is Splink's own
JSON, stored with a version so that a run can be repeated or reused.
"""

from __future__ import annotations

import contextlib
import json
import logging
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import duckdb
import numpy as np
import pyarrow as pa
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on
from splink.backends.duckdb import DuckDBAPI
from splink.internals.exceptions import SplinkException

from corespond.config import get_settings
from corespond.linkage.features import Features

SEED = 20261129
U_SAMPLE_PAIRS = 2_000_000
PRIOR_RULES = (("ssn",), ("first_name", "last_name", "dob"))
PRIOR_RECALL = 0.7
"""Share of true matches the prior's rules are assumed to find."""
DUCKDB_MEMORY = "1500MB"
PREDICT_CHUNK_RECORDS = 200_000
"""Prediction blocks this many records at a time against all the others (bounds memory)."""
"""DuckDB's working memory while linking; beyond it, it spills to a temporary folder."""
FIELDS = ("first_name", "last_name", "dob", "ssn", "phone", "address", "sex")
"""The comparisons, in the order explanations list them."""
UNSEEN_LEVEL_M = 0.005
PRIOR_RANGE = (1e-8, 0.5)
"""Where the chance that two random records match is kept: a tiny file can estimate 0 or 1."""
DISAGREEMENT_FLOORS = {
    "first_name": 0.02, "last_name": 0.03, "dob": 0.01, "ssn": 0.01,
    "phone": 0.15, "address": 0.30, "sex": 0.01,
}  # fmt: skip
"""Least chance that a field disagrees between two records of one person.

EM learns 0 for a disagreement it never sees in training (a synthetic person keeps one phone),
and a 0 would make any such disagreement veto a match. People change phones and addresses,
clerks mis-key sex and birth dates: these floors keep a disagreement strong evidence, never proof.
"""

SCHEMA = pa.schema(
    [
        ("unique_id", pa.int64()),
        ("first_name", pa.string()),
        ("last_name", pa.string()),
        ("first_names", pa.list_(pa.string())),
        ("last_names", pa.list_(pa.string())),
        ("last_sound", pa.string()),
        ("dob", pa.string()),
        ("birth_year", pa.string()),
        ("sex", pa.string()),
        ("ssn", pa.string()),
        ("phone", pa.string()),
        ("street", pa.string()),
        ("zip", pa.string()),
        ("source", pa.int64()),
    ]
)

DOB_SWAPPED = (
    "substr(dob_l, 1, 4) = substr(dob_r, 1, 4) AND substr(dob_l, 6, 2) = substr(dob_r, 9, 2) "
    "AND substr(dob_l, 9, 2) = substr(dob_r, 6, 2)"
)


def _name(column: str, other_names: str, label: str) -> cl.CustomComparison:
    """Exact (weighted by how common the name is), in the other-names list, then near."""
    return cl.CustomComparison(
        output_column_name=column,
        comparison_levels=[
            cll.NullLevel(column),
            cll.ExactMatchLevel(column, term_frequency_adjustments=True),
            cll.ArrayIntersectLevel(other_names, min_intersection=1).configure(
                label_for_charts=label
            ),
            cll.JaroWinklerLevel(column, 0.92),
            cll.JaroWinklerLevel(column, 0.80),
            cll.ElseLevel(),
        ],
    )


def comparisons() -> list[cl.CustomComparison | Any]:
    return [
        _name("first_name", "first_names", "Nickname or alias"),
        _name("last_name", "last_names", "Alias or earlier last name"),
        cl.CustomComparison(
            output_column_name="dob",
            comparison_levels=[
                cll.NullLevel("dob"),
                cll.ExactMatchLevel("dob"),
                cll.CustomLevel(DOB_SWAPPED, "Day and month swapped"),
                cll.DamerauLevenshteinLevel("dob", 1),
                cll.ElseLevel(),
            ],
        ),
        cl.ExactMatch("ssn"),
        cl.ExactMatch("phone"),
        cl.CustomComparison(
            output_column_name="address",
            comparison_levels=[
                cll.CustomLevel("zip_l IS NULL OR zip_r IS NULL").configure(is_null_level=True),
                cll.CustomLevel("street_l = street_r AND zip_l = zip_r", "Same street address"),
                cll.ExactMatchLevel("zip"),
                cll.ElseLevel(),
            ],
        ),
        cl.ExactMatch("sex"),
    ]


def blocking_rules() -> list[Any]:
    """Pairs worth scoring. Together they keep recall high when a name is misspelled and the
    date of birth is missing (CAD records often lack it): phone, address and a spelling-proof
    last-name code each find such pairs."""
    return [
        block_on("ssn"),
        block_on("dob"),
        block_on("phone"),
        block_on("first_names", "last_sound", arrays_to_explode=["first_names"]),
        block_on("last_names", "birth_year", arrays_to_explode=["last_names"]),
        block_on("street", "zip", "substr(first_name, 1, 1)"),
    ]


def settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons(),
        blocking_rules_to_generate_predictions=blocking_rules(),
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def to_table(records: Iterable[Features]) -> pa.Table:
    """The records as Splink's input table, built column by column (no row dicts)."""
    rows = list(records)
    return pa.Table.from_arrays(
        [pa.array([getattr(r, f.name) for r in rows], type=f.type) for f in SCHEMA],
        schema=SCHEMA,
    )


@dataclass
class Scored:
    """Scored pairs as arrays, strongest first: record ``a[i]`` and ``b[i]`` (a < b) match
    with probability ``p[i]``. Arrays, not objects: a million records score millions of pairs."""

    a: np.ndarray
    b: np.ndarray
    p: np.ndarray

    def __len__(self) -> int:
        return len(self.p)

    @classmethod
    def empty(cls) -> Scored:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))


Backend = Literal["duckdb", "spark"]


class LinkageModel:
    """A Splink linker over one set of records, trained or loaded from JSON.

    ``backend="duckdb"`` (the default) links in this process; ``"spark"`` runs the same
    model on Splink's Spark backend, on ``CORESPOND_SPARK_MASTER`` (``local[2]`` by default,
    or a cluster's ``spark://host:7077``), for jurisdictions that outgrow one machine.
    """

    def __init__(
        self,
        table: pa.Table,
        model_json: dict[str, Any] | None = None,
        *,
        backend: Backend = "duckdb",
    ) -> None:
        logging.getLogger("splink").setLevel(logging.ERROR)
        logging.getLogger("py4j").setLevel(logging.ERROR)
        self.backend = backend
        self.spill = tempfile.TemporaryDirectory(prefix="corespond-linkage-")
        self.connection = duckdb.connect()
        if backend == "spark":
            self.db_api: Any = _spark_api(self.spill.name)
            self.frame = self.db_api.register(table, table_name="records")
        else:
            self.connection.execute("SET threads TO 2")
            self.connection.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
            self.connection.execute(f"SET temp_directory = '{self.spill.name}'")
            self.connection.execute("SET preserve_insertion_order = false")
            self.db_api = DuckDBAPI(self.connection)
            self.connection.register("records_arrow", table)
            self.connection.execute("CREATE TABLE records AS SELECT * FROM records_arrow")
            self.connection.unregister("records_arrow")
            self.frame = self.db_api.register("records")
        self.linker = Linker(self.frame, model_json or settings(), log_level=None)
        self.records = table.num_rows

    def train(self, prior: float | None = None) -> list[str]:
        """Estimate the model's parameters from the records themselves (no labels).

        ``prior``: the chance that two random records match, when the records given here are
        representatives of more (``cluster.collapse``): see ``prior_from``.

        Returns the training passes that found no pairs to learn from (a file where no SSN
        repeats, say); the other passes train those fields, and what none trains keeps a
        cautious default (``with_floors``).
        """
        skipped = []
        if prior is None:
            with contextlib.suppress(SplinkException):  # no such pairs: handled just below
                self.linker.training.estimate_probability_two_random_records_match(
                    [block_on(*rule) for rule in PRIOR_RULES], recall=PRIOR_RECALL
                )
        model = self.to_json()
        if prior is not None:
            model["probability_two_random_records_match"] = prior
        if (model.get("probability_two_random_records_match") or 0) <= PRIOR_RANGE[0]:
            # No pair agrees on SSN, or on name and date of birth: assume each record has
            # about one other record of the same person.
            model["probability_two_random_records_match"] = 1 / max(2, self.records)
            skipped.append("prior: no pairs agree on SSN or on name and date of birth")
        self.linker = Linker(self.frame, with_floors(model), log_level=None)
        self.linker.training.estimate_u_using_random_sampling(max_pairs=U_SAMPLE_PAIRS, seed=SEED)
        for fields in (("ssn",), ("dob",), ("last_name", "first_name")):
            before = self.to_json()
            try:
                self.linker.training.estimate_parameters_using_expectation_maximisation(
                    block_on(*fields), fix_probability_two_random_records_match=True
                )
            except SplinkException:
                # A failed pass leaves the linker without the fields it blocked on: start over
                # from the model as it was before the pass.
                self.linker = Linker(self.frame, before, log_level=None)
                skipped.append(f"EM blocked on {' and '.join(fields)}: no record pairs")
        self.linker = Linker(self.frame, with_floors(self.to_json()), log_level=None)
        return skipped

    def to_json(self) -> dict[str, Any]:
        return self.linker.misc.save_model_to_json()  # type: ignore[no-any-return]

    def predict(self, threshold: float) -> Scored:
        """Every blocked pair scoring at least ``threshold``, strongest first."""
        chunks = max(1, -(-self.records // PREDICT_CHUNK_RECORDS))
        frame = self.linker.inference.predict(
            threshold_match_probability=threshold, num_chunks_left=chunks
        )
        select = (
            "SELECT least(unique_id_l, unique_id_r) AS a, greatest(unique_id_l, unique_id_r) AS b,"
            f" match_probability AS p FROM {frame.physical_name} ORDER BY p DESC, a, b"
        )
        if self.backend == "spark":
            arrow = self.db_api.spark.sql(select).toArrow()
            columns = {name: arrow.column(name).to_numpy() for name in ("a", "b", "p")}
        else:
            columns = self.connection.sql(select).fetchnumpy()
        frame.drop_table_from_database_and_remove_from_cache()
        return Scored(
            np.asarray(columns["a"], np.int64),
            np.asarray(columns["b"], np.int64),
            np.asarray(columns["p"], np.float64),
        )

    def close(self) -> None:
        self.connection.close()
        self.spill.cleanup()


def _spark_api(scratch: str) -> Any:
    """Splink's Spark backend on ``CORESPOND_SPARK_MASTER``, with its similarity functions."""
    from pyspark.sql import SparkSession
    from splink.backends.spark import SparkAPI, similarity_jar_location

    spark = (
        SparkSession.builder.master(get_settings().spark_master)
        .appName("corespond-linkage")
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.ui.enabled", "false")
        .config("spark.local.dir", scratch)
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.setCheckpointDir(scratch)
    return SparkAPI(spark_session=spark, break_lineage_method="parquet")


def with_floors(model: dict[str, Any]) -> dict[str, Any]:
    """``model`` with each field's disagreement m raised to its floor (the others scaled down).

    A level training never saw (a one-digit DOB typo, when no source made one) gets m of
    ``UNSEEN_LEVEL_M`` rather than Splink's default, so it neither vetoes nor decides a match;
    the prior is kept inside ``PRIOR_RANGE``.
    """
    prior = model.get("probability_two_random_records_match") or 0.0
    model["probability_two_random_records_match"] = min(max(prior, PRIOR_RANGE[0]), PRIOR_RANGE[1])
    for comparison in model["comparisons"]:
        floor = DISAGREEMENT_FLOORS.get(comparison["output_column_name"])
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        for level in levels:
            if level.get("m_probability") is None:
                level["m_probability"] = UNSEEN_LEVEL_M
        if not levels:
            continue
        disagree = max(levels[-1]["m_probability"], floor or 0.0)
        rest = sum(level["m_probability"] for level in levels[:-1])
        for level in levels[:-1]:
            level["m_probability"] *= (1 - disagree) / rest if rest else 0
        levels[-1]["m_probability"] = disagree
    return model


def prior_from(records: list[Features]) -> float:
    """The chance that two random records match, estimated as Splink does (pairs agreeing on
    SSN, or on name and date of birth, over an assumed recall) but over every record.

    Estimated on the collapsed representatives instead, it would fall with every duplicate
    removed, and records that carry only a name would stop linking to anyone.
    """

    def pairs(keys: Iterable[tuple[object, ...]]) -> int:
        return sum(n * (n - 1) // 2 for n in Counter(keys).values())

    ssn = [(r.ssn,) for r in records if r.ssn]
    named = [(r.first_name, r.last_name, r.dob) for r in records
             if r.first_name and r.last_name and r.dob]  # fmt: skip
    both = [(r.ssn, r.first_name, r.last_name, r.dob) for r in records
            if r.ssn and r.first_name and r.last_name and r.dob]  # fmt: skip
    agreeing = pairs(ssn) + pairs(named) - pairs(both)
    total = len(records) * (len(records) - 1) // 2
    return agreeing / PRIOR_RECALL / total if total and agreeing else 0.0


class Pair:
    """Two records, how likely they are the same person, and the weight of each field."""

    __slots__ = ("a", "b", "explanation", "probability")

    def __init__(self, a: int, b: int, probability: float, explanation: dict[str, Any]) -> None:
        self.a, self.b = (a, b) if a < b else (b, a)
        self.probability = probability
        self.explanation = explanation

    def explain_json(self) -> str:
        return json.dumps({"records": [self.a, self.b], **self.explanation}, sort_keys=True)
