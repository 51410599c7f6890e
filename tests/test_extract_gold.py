"""Every gold report extracts at 100 %: fields, meta and section 五, with provenance that holds."""

from __future__ import annotations

import re

from service.extract import extract
from service.ingest import load
from service.registry import registry
from tests.conftest import blank_equal, load_gold, source_path


def _extract(gold_dir):
    path = source_path(gold_dir)
    document = load(path.read_bytes(), path.name)
    return document, extract(document)


def test_every_field_matches_gold(gold_dir) -> None:
    gold = load_gold(gold_dir)
    _, report = _extract(gold_dir)
    values = report.values()
    wrong = {k: (v, values.get(k, "MISSING")) for k, v in gold["fields"].items()
             if not blank_equal(v, values.get(k, "MISSING"))}
    assert wrong == {}


def test_keys_absent_from_gold_are_reported_missing(gold_dir) -> None:
    gold = load_gold(gold_dir)
    _, report = _extract(gold_dir)
    template = registry().templates[gold["meta"]["template"]]
    assert set(report.missing) == set(template.keys) - set(gold["fields"])


def test_meta_matches_gold(gold_dir) -> None:
    gold = load_gold(gold_dir)
    _, report = _extract(gold_dir)
    assert report.flat()["meta"] == gold["meta"]


def test_section_five_matches_gold(gold_dir) -> None:
    expected = load_gold(gold_dir)["sections"].get("problems_and_improvements")
    _, report = _extract(gold_dir)
    got = report.sections.get("problems_and_improvements")
    squash = lambda s: re.sub(r"\s+", "", s or "")
    assert squash(got) == squash(expected)


def test_provenance_points_at_the_raw_cell_text(gold_dir) -> None:
    document, report = _extract(gold_dir)
    assert report.fields
    for key, field in report.fields.items():
        where = field.provenance.location
        assert field.method == "rule" and 0 < field.confidence <= 1
        assert document.text[where.start:where.end] == field.provenance.raw, key
        if document.source_format == "pdf":
            assert where.page >= 1 and len(where.bbox) == 4, key
