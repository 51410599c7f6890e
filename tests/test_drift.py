"""The drift and prose-only renderings (eval/drift.py): they really drift, the rules miss fields on
them, the chain on the real local server never accepts a value gold disagrees with, and clean
renderings never reach the model."""

from __future__ import annotations

from eval import drift, render
from service.llm import LLM
from service.pipeline import read
from service.registry import registry
from service.textnorm import normalize_label
from tests.conftest import gold_report_dirs, load_gold, source_path

GOLDS = [load_gold(d) for d in gold_report_dirs()]
SAMPLE = [g for g in GOLDS if g["meta"]["template"] == "2021"][:1] + [g for g in GOLDS if g["meta"]["template"] == "2019"][:1]


def test_drifted_labels_are_none_of_the_registry_s_and_the_renderings_are_deterministic() -> None:
    known = drift._known_names(drift.registry())
    for gold in GOLDS:
        rendering = drift.make(gold, "drift", "html")
        assert rendering.drift and rendering.drift.renamed, gold["id"]
        for label, _ in rendering.drift.renamed.values():
            assert normalize_label(label.rpartition("·")[2]) not in known, label
        assert drift.make(gold, "drift", "html").data == rendering.data


def test_rules_alone_miss_fields_on_drift_and_read_nothing_from_prose() -> None:
    for gold in SAMPLE:
        runs = {kind: drift.run_one(drift.make(gold, kind, "text_tsv"), gold, None) for kind in drift.KINDS}
        assert runs["drift_t2_prose"]["rules"]["focus"]["field_accuracy"] < 1, gold["id"]
        prose = runs["prose_only"]
        assert prose["focus"] and prose["rules"]["focus"]["nonzero_accuracy"] == 0, gold["id"]


def test_clean_renderings_never_ask_the_model() -> None:
    """Whole reports only: a capture cut off before a table leaves that table to the prose, which
    the model is rightly asked about."""
    asked = []
    for directory in gold_report_dirs():
        gold = load_gold(directory)
        if set(gold["fields"]) != set(registry().templates[gold["meta"]["template"]].keys):
            continue
        inputs = [(source_path(directory).read_bytes(), gold["source"])]
        inputs += [render.render(gold, layout) for layout in ("html", "docx", "text_lines")]
        for data, name in inputs:
            read(data, name, lambda: asked.append(name))  # noqa: B023 (called during read)
    assert asked == []


def test_the_chain_never_accepts_a_value_gold_disagrees_with(llm_server) -> None:
    from service.llm.gaps import mappable_rows

    # a report whose drifted labels the rules leave unplaced: the bundled model maps rows, never prose
    gold = next(g for g in GOLDS if mappable_rows(read(drift.make(g, "drift", "html").data, "drift.html")[1]))
    runs = [drift.run_one(drift.make(gold, kind, "html"), gold, lambda: LLM(llm_server))
            for kind in ("drift", "drift_t2_prose")]
    assert sum(r["llm"]["calls"] for r in runs) >= 1, "the drift left the model nothing to do"
    for run in runs:
        assert run["llm"]["accepted_wrong"] == [], run["kind"]
        assert run["llm"]["all"]["field_accuracy"] >= run["rules"]["all"]["field_accuracy"], run["kind"]
