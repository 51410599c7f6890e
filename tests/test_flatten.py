"""Flattenings of every gold report (eval/flatten.py): text whose tables lost their grid.

(a) The metamorphic test: every gold report in every named flattening, every modifier and every
Style perturbation on a family that rotates with the report, and 500 seeded random compositions
spread over the reports extracts to exactly gold's fields and meta, and no field gold lacks.
(b) The generator: the same recipe gives the same bytes; the named flattenings of one report differ
from each other; every number printed in a table is a non-null gold value (or a row the template
lacks), each non-null gold value printed once, and a null cell prints none; title, headings and
section 五 are all there.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from eval.flatten import FAMILIES, MODIFIERS, NAMED, Recipe, compose, flatten, prepare, recipe_for
from eval.render import PERTURBATIONS, Grid, Para
from service.pipeline import extract_bytes
from service.registry import registry
from tests.conftest import blank_equal, gold_report_dirs, load_gold

COMPOSITIONS = 500
# A null cell must print no number, so blanks printed as "0" are no flattening.
STYLES = {name: style for name, style in PERTURBATIONS.items() if "0" not in style.blanks}


def _seed(report_dir: Path) -> int:
    return zlib.crc32(report_dir.name.encode())


def _metamorphic_cases() -> list:
    reports = gold_report_dirs()
    families = list(FAMILIES)
    cases: list[tuple[Path, str, Recipe | None]] = []
    for i, report in enumerate(reports):
        cases += [(report, f"named-{name}", None) for name in NAMED]
        cases += [(report, f"modifier-{m}", Recipe(families[(i + j) % len(families)], (m,), seed=_seed(report)))
                  for j, m in enumerate(MODIFIERS)]
        cases += [(report, f"style-{s}", Recipe(families[(i + j + 5) % len(families)],
                                               style=replace(style, seed=_seed(report)), seed=_seed(report)))
                  for j, (s, style) in enumerate(STYLES.items())]
    cases += [(reports[n % len(reports)], f"random-{n}", compose(n)) for n in range(COMPOSITIONS)]
    return [pytest.param(report, name, recipe, id=f"{report.name}-{name}") for report, name, recipe in cases]


def _recipe(gold: dict, name: str, recipe: Recipe | None) -> Recipe:
    return recipe or recipe_for(gold, name.removeprefix("named-"))


def test_gold_reports_are_found() -> None:
    assert gold_report_dirs()


@pytest.mark.parametrize(("report_dir", "name", "recipe"), _metamorphic_cases())
def test_every_flattening_reads_as_its_source(report_dir: Path, name: str, recipe: Recipe | None) -> None:
    gold = load_gold(report_dir)
    recipe = _recipe(gold, name, recipe)
    report = extract_bytes(flatten(gold, recipe), f"{gold['id']}.txt")
    values = report.values()
    wrong = {key: (expected, values.get(key, "MISSING")) for key, expected in gold["fields"].items()
             if not blank_equal(expected, values.get(key, "MISSING"))}
    extra = {key: value for key, value in values.items() if key not in gold["fields"] and value is not None}
    assert (wrong, extra) == ({}, {}), recipe.describe()
    assert report.flat()["meta"] == gold["meta"], recipe.describe()


# ---------------------------------------------------------------------------------------------- generator
_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
_NUMBER = re.compile(r"(?<![\d.])-?\d+(?:,\d{3})*(?:\.\d+)?")


def _numbers(text: str) -> Counter:
    """Every number printed, by value: 1,234 and １２３４ alike, 0 = 00 = 0.00."""
    return Counter(Decimal(m.replace(",", "")) for m in _NUMBER.findall(text.translate(_FULLWIDTH)))


def _generator_cases() -> list:
    cases = []
    for i, report in enumerate(gold_report_dirs()):
        cases += [pytest.param(report, f"named-{name}", None, id=f"{report.name}-{name}") for name in NAMED]
        cases += [pytest.param(report, f"random-{n}", compose(n), id=f"{report.name}-random-{n}")
                  for n in range(1000 + 7 * i, 1000 + 7 * i + 7)]
    return cases


@pytest.mark.parametrize(("report_dir", "name", "recipe"), _generator_cases())
def test_flattening_prints_every_value_and_no_number_for_a_blank(report_dir: Path, name: str,
                                                                 recipe: Recipe | None) -> None:
    gold = load_gold(report_dir)
    recipe = _recipe(gold, name, recipe)
    text = flatten(gold, recipe).decode("utf-8")
    page, _ = prepare(gold, recipe)
    paragraphs = [b.text for b in page.blocks if isinstance(b, Para)]
    cells = [c for b in page.blocks if isinstance(b, Grid) for row in b.rows for c in row]
    # Null cells print no digit; every other cell of gold prints its value.
    printed: Counter[Decimal] = Counter()
    for cell in cells:
        if cell.key in gold["fields"]:
            if gold["fields"][cell.key] is None:
                assert not re.search(r"[0-9０-９]", cell.text), (cell.key, cell.text, recipe.describe())
            else:
                printed += _numbers(cell.text)
    expected = Counter(Decimal(str(v)) for v in gold["fields"].values() if v is not None)
    assert printed == expected, recipe.describe()
    # The text holds exactly the numbers of the paragraphs, the labels and the value cells: nothing
    # glued two numbers into one, split one, or printed a number for a blank.
    around = sum((_numbers(t) for t in paragraphs + [c.text for c in cells if c.key is None]), Counter())
    extra = sum((_numbers(c.text) for c in cells if c.key and c.key not in gold["fields"]), Counter())
    assert _numbers(text) == around + expected + extra, recipe.describe()
    # Title, section headings and section 五 are kept.
    squash = lambda s: re.sub(r"\s+", "", s or "")
    meta = gold["meta"]
    assert f"{meta['agency']}{meta['year']}年" in squash(text)
    for section in registry().sections:
        assert section.label in text
    five = (gold.get("sections") or {}).get("problems_and_improvements")
    if five:
        assert squash(five) in squash(text)


@pytest.mark.parametrize("report_dir", gold_report_dirs(), ids=lambda p: p.name)
def test_flattenings_are_deterministic_and_distinct(report_dir: Path) -> None:
    gold = load_gold(report_dir)
    outputs = {name: flatten(gold, recipe_for(gold, name)) for name in NAMED}
    assert outputs == {name: flatten(gold, recipe_for(gold, name)) for name in NAMED}
    assert flatten(gold, compose(7)) == flatten(gold, compose(7))
    assert compose(7) == compose(7) and compose(7) != compose(8)
    seen: dict[bytes, str] = {}
    for name, data in outputs.items():
        recipe = recipe_for(gold, name)
        if recipe.modifiers and prepare(gold, recipe)[0] == prepare(gold, replace(recipe, modifiers=()))[0]:
            continue  # the modifier finds nothing to change in this report (no merged rows, no table 2 …)
        assert data not in seen, f"{name} prints what {seen.get(data)} prints"
        seen[data] = name


def test_compositions_cover_every_family_and_modifier() -> None:
    recipes = [compose(n) for n in range(COMPOSITIONS)]
    assert {r.family for r in recipes} == set(FAMILIES)
    assert {m for r in recipes for m in r.modifiers} == set(MODIFIERS)
    assert not any({"merged_once", "merged_repeat"} <= set(r.modifiers) for r in recipes)
    assert all("0" not in r.style.blanks for r in recipes)
    assert len(FAMILIES) >= 12


def test_cli_writes_one_flattening(tmp_path: Path) -> None:
    from eval.flatten import main

    report = gold_report_dirs()[0]
    out = tmp_path / "out.txt"
    main([str(report / "gold.json"), "--family", "aligned", "--seed", "3", "-o", str(out)])
    gold = load_gold(report)
    assert out.read_bytes() == flatten(gold, replace(NAMED["aligned"], seed=3, style=replace(NAMED["aligned"].style, seed=3)))
    main([str(report / "gold.json"), "--family", "random", "--seed", "3", "-o", str(out)])
    assert out.read_bytes() == flatten(gold, compose(3))
