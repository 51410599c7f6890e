"""Label matching: the indexed lookup ranks every name exactly as the definition `_rank` does."""

from __future__ import annotations

import random

from service.registry import labels, registry
from service.textnorm import normalize_label
from tests.conftest import gold_report_dirs, source_path


def _by_definition(printed: str, candidates) -> tuple:
    """match as defined: each candidate ranked by its best name; the one best candidate, or none."""
    if not printed:
        return None, 0.0
    best, best_rank, tied = None, (0.0, 0), False
    for candidate in candidates:
        rank = max((labels._rank(printed, name) for name in candidate.names), default=(0.0, 0))
        if rank[0] and rank > best_rank:
            best, best_rank, tied = candidate, rank, False
        elif rank[0] and rank == best_rank and candidate is not best:
            tied = True
    return (None, 0.0) if tied or best is None else (best, best_rank[0])


def _candidate_lists() -> list:
    reg = registry()
    lists: list = [list(reg.table3_columns), [*reg.table4_groups, *reg.table4_outcomes], list(reg.sections)]
    for template in reg.templates.values():
        lists += [template.table2_rows, template.table3_rows, template.table3_groups]
        lists += [[r for r in template.table3_rows if r.group == g] for g in {r.group for r in template.table3_rows}]
    rng = random.Random(14)
    lists += [[*c, rng.choice(c)] for c in lists if c]  # a candidate listed twice is still one candidate
    return lists


def _printed_labels(lists) -> set[str]:
    """Every name, cut, extended, misspelt and shuffled into others; and the gold sources' lines."""
    rng = random.Random(5)
    names = sorted({n for c in lists for label in c for n in label.names})
    printed = {""} | set(names)
    for name in names:
        i, j = sorted(rng.sample(range(len(name) + 1), 2))
        k = rng.randrange(len(name))
        printed |= {name[i:j], name[:i] + name[j:], name + rng.choice(names)[:4], rng.choice(names)[:3] + name,
                    name[:k] + "某" + name[k + 1:], name[:k] + name[k + 1:] + "的"}
    for report in gold_report_dirs()[::3]:
        for line in source_path(report).read_text("utf-8", errors="replace").splitlines()[:200]:
            printed |= {normalize_label(piece)[:60] for piece in [line, *line.split()]}
    return printed


def test_indexed_match_ranks_as_the_definition_does() -> None:
    lists = _candidate_lists()
    wrong = [(p, i) for p in _printed_labels(lists) for i, c in enumerate(lists)
             if labels._match(p, c) != _by_definition(p, c)]
    assert not wrong[:5]
