"""Mutation benchmark for the checker: break gold reports one cell at a time and see what it finds.

From each gold report, N mutations with a fixed seed, of the kinds real reports and extraction
produce: a value changed, a digit dropped, a digit doubled, adjacent cells swapped, a row shifted
one column, a number split across two cells. Only table 3 and 4 cells are mutated (the tables
with identities). Measured: detection of the mutations that break an identity, whether the top
(top-3) suggestion names exactly the mutated cells, and whether it restores the original value.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from service.check import check
from service.check.identities import checked_residuals
from service.registry import registry
from service.report import report_from_flat

ROOT = Path(__file__).resolve().parents[1]
GOLD_DIRS = [ROOT.parent / "shared" / "gold", ROOT / "eval" / "gold"]
KINDS = ("value", "digit_dropped", "digit_doubled", "swap", "row_shift", "split")
SINGLE = ("value", "digit_dropped", "digit_doubled")  # one cell changed: its value can be recovered


@dataclass
class Mutation:
    kind: str
    changes: dict[str, int | None]


@dataclass
class Tally:
    mutations: int = 0
    breaking: int = 0
    detected: int = 0
    localisable: int = 0
    top1: int = 0
    top3: int = 0
    recoverable: int = 0
    recovered: int = 0
    seconds: list[float] = field(default_factory=list)

    def add(self, other: "Tally") -> None:
        for name in ("mutations", "breaking", "detected", "localisable", "top1", "top3", "recoverable", "recovered"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.seconds += other.seconds

    def summary(self) -> dict:
        share = lambda a, b: round(a / b, 4) if b else None
        return {"mutations": self.mutations, "breaking": self.breaking,
                "detection": share(self.detected, self.breaking),
                "top1": share(self.top1, self.localisable), "top3": share(self.top3, self.localisable),
                "value_recovery": share(self.recovered, self.recoverable),
                "median_check_ms": round(statistics.median(self.seconds) * 1000, 3) if self.seconds else None}


def _rows(keys: list[str]) -> list[list[str]]:
    """Table 3 and 4 keys grouped by printed row, in column order."""
    rows: dict[str, list[str]] = {}
    for key in keys:
        rows.setdefault(key.rsplit(".", 1)[0], []).append(key)
    return list(rows.values())


def mutate(fields: dict, kind: str, rng: random.Random) -> Mutation | None:
    keys = [k for k in fields if k.startswith(("t3.", "t4."))]
    if not keys:
        return None
    key = rng.choice(keys)
    old = fields[key] or 0
    digits = str(old)
    if kind == "value":
        new = rng.choice([v for v in range(0, max(12, 2 * old + 3)) if v != old])
        return Mutation(kind, {key: new})
    if kind == "digit_dropped":
        candidates = [k for k in keys if (fields[k] or 0) >= 10]
        if not candidates:
            return None
        key = rng.choice(candidates)
        digits = str(fields[key])
        i = rng.randrange(len(digits))
        return Mutation(kind, {key: int(digits[:i] + digits[i + 1:])})
    if kind == "digit_doubled":
        candidates = [k for k in keys if fields[k]]
        if not candidates:
            return Mutation("value", {key: old + rng.randint(1, 9)})
        key = rng.choice(candidates)
        digits = str(fields[key])
        i = rng.randrange(len(digits))
        return Mutation(kind, {key: int(digits[:i + 1] + digits[i:])})
    row = next(r for r in _rows(keys) if key in r)
    if kind == "swap":
        pairs = [(a, b) for r in _rows(keys) for a, b in zip(r, r[1:]) if (fields[a] or 0) != (fields[b] or 0)]
        if not pairs:
            return None
        a, b = rng.choice(pairs)
        return Mutation(kind, {a: fields[b], b: fields[a]})
    if kind == "row_shift":
        values = [fields[k] for k in row]
        shifted = [None] + values[:-1]
        changes = {k: v for k, v, w in zip(row, shifted, values) if (v or 0) != (w or 0)}
        return Mutation(kind, changes) if changes else None
    if kind == "split":
        candidates = [(r[i], r[i + 1]) for r in _rows(keys) for i in range(len(r) - 1) if (fields[r[i]] or 0) >= 10]
        if not candidates:
            return None
        a, b = rng.choice(candidates)
        digits = str(fields[a])
        cut = rng.randrange(1, len(digits))
        return Mutation(kind, {a: int(digits[:cut]), b: int(digits[cut:])})
    raise ValueError(kind)


def _identity_keys(findings) -> set:
    return {(f.rule, f.message) for f in findings if f.severity == "error"}


def run_report(gold: dict, count: int, seed: int) -> Tally:
    template = registry().templates[gold["meta"]["template"]]
    base = report_from_flat(gold)
    base_errors = _identity_keys(check(base))
    # a partial gold report is held to the identities its keys can be checked on, as the checker does
    base_residuals = checked_residuals(template, gold["fields"])
    already_broken = {k for identity, r in zip(template.identities, base_residuals) if r
                      for k in identity.lhs + identity.rhs}
    rng = random.Random(seed)
    tally = Tally()
    while tally.mutations < count:
        mutation = mutate(gold["fields"], KINDS[tally.mutations % len(KINDS)], rng)
        if mutation is None:
            mutation = mutate(gold["fields"], "value", rng)
        if mutation is None:
            break  # no table-3 or table-4 cell to mutate: a partial gold report that holds table 2 only
        mutation.changes = {k: v for k, v in mutation.changes.items() if (v or 0) != (gold["fields"][k] or 0)}
        mutated = {**gold["fields"], **mutation.changes}
        tally.mutations += 1
        if checked_residuals(template, mutated) == base_residuals:
            continue  # this mutation breaks no identity: nothing for the checker to see
        tally.breaking += 1
        started = time.perf_counter()
        findings = check(report_from_flat({**gold, "fields": mutated}))
        tally.seconds.append(time.perf_counter() - started)
        tally.detected += _identity_keys(findings) != base_errors
        if not set(mutation.changes) & already_broken:
            # a change inside an identity the report already breaks cannot be told from the report's own error
            _score_localisation(tally, mutation, findings, gold["fields"], already_broken)
    return tally


def _score_localisation(tally: Tally, mutation: Mutation, findings, original: dict, own_breaks: set) -> None:
    """A repair names the mutated cells when those are the cells it changes, leaving aside cells
    of the identities the gold report itself breaks (a repair may mend those too)."""
    if mutation.kind == "row_shift":
        return  # many cells move at once: detection only
    touched = set(mutation.changes)
    suggestions, seen = [], set()
    for finding in findings:
        if touched & set(finding.fields):
            for s in finding.suggestions:
                if s.reason not in seen:
                    seen.add(s.reason)
                    suggestions.append(s)
    suggestions.sort(key=lambda s: -s.score)
    tally.localisable += 1
    hits = [set(s.fields) - own_breaks == touched for s in suggestions[:3]]
    tally.top1 += bool(hits[:1] and hits[0])
    tally.top3 += any(hits)
    if mutation.kind in SINGLE:
        (key,) = touched
        tally.recoverable += 1
        right = next((s for s in suggestions[:1] if set(s.fields) - own_breaks == touched), None)
        tally.recovered += bool(right and (right.fields[key] or 0) == (original[key] or 0))


def gold_files() -> list[Path]:
    return sorted(p for d in GOLD_DIRS for p in d.glob("*/gold.json"))


def run(count: int, seed: int, golds: list[dict] | None = None) -> dict:
    per_report, overall, consistent = {}, Tally(), Tally()
    if golds is None:
        golds = [json.loads(path.read_text("utf-8")) for path in gold_files()]
    for gold in golds:
        tally = run_report(gold, count, seed)
        holds = not _identity_keys(check(report_from_flat(gold)))
        per_report[gold["id"]] = {**tally.summary(), "gold_identities_hold": holds}
        overall.add(tally)
        if holds:
            consistent.add(tally)
    return {"seed": seed, "per_report": per_report, "overall": overall.summary(),
            "reports_whose_identities_hold": consistent.summary()}


def print_table(result: dict) -> None:
    columns = ("mutations", "breaking", "detection", "top1", "top3", "value_recovery", "median_check_ms")
    print(f"{'report':40} " + " ".join(f"{c:>15}" for c in columns))
    rows = [*result["per_report"].items(), ("ALL", result["overall"]),
            ("ALL (gold identities hold)", result["reports_whose_identities_hold"])]
    for name, summary in rows:
        print(f"{name:40} " + " ".join(f"{str(summary[c]):>15}" for c in columns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "results" / "mutations.json")
    args = parser.parse_args()
    result = run(args.count, args.seed)
    print_table(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
