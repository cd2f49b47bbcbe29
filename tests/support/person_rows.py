"""Synthetic person rows for the linkage CSV tests: 60 people, each written 2-3 times."""

from __future__ import annotations

import random

FIRST = ["Ana", "Luis", "Mei", "Omar", "Grace", "Tariq", "Ines", "Pavel", "Nia", "Sven"]
LAST = ["Reyes", "Okafor", "Lindqvist", "Haddad", "Tanaka", "Moreau", "Kowalski", "Abara"]
HEADER = ["record_id", "first_name", "middle_name", "last_name", "dob", "sex", "ssn", "phone",
          "address", "city", "state", "zip"]  # fmt: skip


def synthetic_rows(rng: random.Random) -> tuple[list[list[str]], dict[str, int]]:
    """60 synthetic people, each written 2-3 times with small differences; truth by row id."""
    rows, truth = [], {}
    for person in range(60):
        first, last = FIRST[person % 10], LAST[person % 8] + ("" if person < 40 else "son")
        dob = f"19{50 + person % 45:02d}-{1 + person % 12:02d}-{2 + person % 27:02d}"
        ssn = f"{100 + person:03d}-{10 + person % 80:02d}-{1000 + person * 7:04d}"
        phone = f"503{2000000 + person * 1311:07d}"
        for copy in range(2 + person % 2):
            record_id = f"r{person}-{copy}"
            truth[record_id] = person
            name = first if copy != 1 else first[:-1] + first[-1] * 2  # a doubled last letter
            rows.append([
                record_id, name, "", last, dob if copy != 2 else "", "F",
                ssn if copy == 0 else "", phone, f"{100 + person} Main St", "Riverbend", "OR",
                "97201",
            ])  # fmt: skip
    return rows, truth
