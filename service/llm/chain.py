"""The LLM chain's tasks. The model only fills what the rules left open, and nothing it says is
kept unless it is grounded in the source and, for corrections, restores the identities.

- map_rows: a row the rules could not place gets a registry key chosen by the model among the
  template's unfilled rows; its numbers are still the printed cells, read by the rules.
- read_prose: tables printed only in sentences (or as a stream the rules could not rebuild), one
  question per piece of text; each figure with its quote, aligned to the source, and its field one
  the words before the number support at least as well as any other.
- read_meta: the issuing body and the year when the title does not give them, kept only when printed.
- reask: identities broken on cells read by OCR or the LLM go back to the model with the checker's
  candidate repairs and the cells' source text; a correction must restore the identities.
- whole_report: the peers' approach, all fields in one call, kept as the eval baseline.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, create_model

from service.check import Finding, check
from service.document import Document, Location
from service.extract.meta import printed_years
from service.llm.gaps import mappable_rows, missing_meta, stated_keys
from service.llm.gaps import row_candidates as _row_candidates
from service.llm.grounding import (
    Source,
    before,
    best_supported,
    cell_support,
    ground,
    only_supported,
    support,
)
from service.numbers import fit_values, parse_cell
from service.registry import registry
from service.report import FieldValue, LLMRound, Provenance, Report
from service.textnorm import normalize_label

if TYPE_CHECKING:
    from service.llm.client import LLM
    from service.registry import Field as TemplateField

LLM_CONFIDENCE = 0.7
_PROSE_LIMIT = 3000  # characters of a table's prose read: the lines that carry digits
_CHUNK = 1500  # characters of prose per question
_PRINTED_NUMBER = re.compile(r"(?<!\d)[-−]?\d[\d,.]*")
_TABLE_SECTION = {"t2": "proactive", "t3": "requests", "t4": "review_litigation"}  # the section printing each table
_UNSURE = ("llm", "ocr")


class RowChoice(BaseModel):
    key: str | None = None
    reason: str = ""


class Correction(BaseModel):
    fields: dict[str, float | None] = Field(default_factory=dict)
    reason: str = ""


def _number(value: float | None) -> int | float | None:
    return int(value) if value is not None and float(value).is_integer() else value


def _record(report: Report, llm: LLM, round_: LLMRound) -> None:
    report.llm = llm.trace
    llm.trace.rounds.append(round_)


# ---------------------------------------------------------------------------------------------- map_rows
def _one_of(keys) -> Any:  # a Literal built at run time, which no static type describes
    """The keys as an enum, so a server that takes the schema cannot answer anything else."""
    return Literal[tuple(keys)]


def map_rows(report: Report, llm: LLM) -> None:
    prompt = llm.prompt("map_rows")
    for row in mappable_rows(report):
        candidates = _row_candidates(report, row.table)
        names = {key.split(".", 1)[1]: key for key in candidates}
        listing = "\n".join(f"{name}：{candidates[key][0].label}" for name, key in names.items())
        schema = create_model("RowChoice", __base__=RowChoice, key=(_one_of(names) | None, None))
        answer = llm.ask(prompt, {"candidates": listing, "label": row.label, "values": "、".join(row.values)},
                         schema)
        round_ = LLMRound(task="map_rows", prompt_version=prompt.version)
        chosen = names.get(answer.key) if answer and answer.key else None
        # the model's pick stands only where the printed label supports it at least as well as any other row
        supported = best_supported({key: (support(row.label, label.names),) for key, (label, _) in candidates.items()})
        if chosen is None:
            round_.rejected.append(f"“{row.label}”：模型未给出有效的候选行")
        elif chosen not in supported:
            round_.rejected.append(f"“{row.label}”：模型选了“{candidates[chosen][0].label}”，行名文字不支持，未采纳")
        else:
            _place(report, row, candidates[chosen][1], round_)
        _record(report, llm, round_)


def _place(report: Report, row, keys: list[str], round_: LLMRound) -> None:
    values = fit_values(list(zip(zip(row.values, row.value_locations), map(parse_cell, row.values))), len(keys))
    if values is None:
        round_.rejected.append(f"“{row.label}”：数值个数与模板行不符")
        return
    for key, ((raw, location), parsed) in zip(keys, values):
        report.fields[key] = FieldValue(value=parsed.value, method="llm", confidence=LLM_CONFIDENCE,
                                        provenance=Provenance(location=location, raw=raw, label=row.label))
        round_.accepted[key] = parsed.value
    report.unplaced.remove(row)
    report.missing = [k for k in report.missing if k not in keys]


# ---------------------------------------------------------------------------------------------- read_prose
def _prose(text: str) -> str:
    lines = [line for line in text.split("\n") if any(ch.isdigit() for ch in line)]
    return "\n".join(lines)[:_PROSE_LIMIT]


class ProseFigure(BaseModel):
    key: str | None = None
    number: str = ""
    quote: str = ""  # the words of the text up to and with the number


class ProseAnswer(BaseModel):
    figures: list[ProseFigure] = Field(default_factory=list)


def prose_chunks(document: Document, report: Report) -> list[tuple[str, str]]:
    """(table, text) per question: the lines with digits of the section printing each table the
    rules did not read, cut at line ends into pieces of at most _CHUNK characters."""
    template = registry().template(report.meta.template)
    chunks = []
    for table in sorted({template.fields[k].table for k in stated_keys(report)}):
        section = report.sections.get(_TABLE_SECTION[table])
        text = _prose(section or "") or _prose("\n".join(b.text for b in document.paragraphs))
        piece = ""
        for line in text.split("\n"):
            if piece and len(piece) + len(line) > _CHUNK:
                chunks.append((table, piece))
                piece = ""
            piece = f"{piece}\n{line}" if piece else line
        if piece:
            chunks.append((table, piece))
    return chunks


def read_prose(document: Document, report: Report, llm: LLM) -> None:
    """Tables printed only as prose, or as a stream of labels and numbers the rules could not put
    back in rows: one question per piece of their text (not per number). The model names the field
    of each printed number with its quote; a figure stands when the quote is in the source with the
    number in it and the words before the number support that field at least as well as any other
    of the table's (the model settles ties the words leave: 其他 of a row or of a column)."""
    source = Source(document.text)
    template = registry().template(report.meta.template)
    prompt = llm.prompt("read_prose")
    stated = stated_keys(report)  # before the first answer makes its table a printed one
    for table, text in prose_chunks(document, report):
        open_keys = [k for k in stated if template.fields[k].table == table and k not in report.fields]
        if not open_keys:
            continue
        schema = create_model("ProseFigureChoice", __base__=ProseFigure, key=(_one_of(open_keys) | None, None))
        answer_schema = create_model("ProseAnswerChoice", __base__=ProseAnswer, figures=(list[schema], []))
        answer = llm.ask(prompt, {"text": text, "candidates": "\n".join(
            f"{k}：{template.fields[k].label}" for k in open_keys)}, answer_schema)
        round_ = LLMRound(task="read_prose", prompt_version=prompt.version)
        if answer is None or not answer.figures:
            round_.rejected.append(f"{table}：模型未给出数字")
        table_keys = [k for k in template.keys if template.fields[k].table == table]
        taken: set[tuple[int, int]] = set()
        for figure in answer.figures if answer else []:
            _accept_figure(source, report, figure, table_keys, taken, round_)
        _record(report, llm, round_)


def _accept_figure(source: Source, report: Report, figure: ProseFigure, table_keys: list[str],
                   taken: set[tuple[int, int]], round_: LLMRound) -> None:
    value = _number(parse_cell(figure.number).value)
    named = f"{figure.key} = {figure.number}"
    if figure.key is None or value is None:
        round_.rejected.append(f"{named}：没有字段或不是数字，已舍弃")
        return
    if figure.key in report.fields:
        round_.rejected.append(f"{named}：该字段已有数值，已舍弃")
        return
    span, why = ground(source, value, figure.quote)
    if span is None or span in taken:
        round_.rejected.append(f"{named}：{why or '这个数字已归入别的字段'}，已舍弃")
        return
    if figure.key not in best_supported(field_scores(source.text, span[0], table_keys)):
        round_.rejected.append(f"{named}：数字前的文字说的不是这个字段，已舍弃")
        return
    taken.add(span)
    clause = before(source.text, span[0])[1]
    report.fields[figure.key] = FieldValue(
        value=value, method="llm", confidence=LLM_CONFIDENCE,
        provenance=Provenance(location=Location(start=span[0], end=span[1]),
                              raw=source.text[span[0]:span[1]], label=clause + source.text[span[0]:span[1]]))
    if figure.key in report.missing:
        report.missing.remove(figure.key)
    round_.accepted[figure.key] = value


def field_scores(text: str, start: int, keys: list[str]) -> dict[str, tuple[int, int]]:
    """How well the words before a number name each of `keys`: its clause first ("本年废止件数为"),
    then its sentence for the row ("规章方面，…"). Nothing when the clause is a row's and a
    column's name alike."""
    clause, sentence = before(text, start)
    field = _field
    columns = list({field(k).column.names for k in keys})
    if _row_and_column(clause, [field(k).row.names for k in keys], columns):
        return {}
    return {k: (cell_support(clause, field(k).row.names, field(k).column.names, field(k).column.key == "total",
                             columns), support(sentence, field(k).row.names)) for k in keys}


def _field(key: str) -> TemplateField:
    found = registry().field(key)
    assert found is not None  # the keys are a template's
    return found


def supported_field(text: str, start: int, keys: list[str]) -> str | None:
    """The one field the words before a number name best, or None when two fit equally."""
    return only_supported(field_scores(text, start, keys))


def _row_and_column(clause: str, rows: list[tuple[str, ...]], columns: list[tuple[str, ...]]) -> bool:
    """The clause is wholly the name of a row and of a column ("其他4件": the row 其他 or the
    applicants' column 其他), so its words name neither."""
    printed = normalize_label(clause)
    return any(printed in names for names in rows) and any(printed in names for names in columns)


# ---------------------------------------------------------------------------------------------- read_meta
class MetaAnswer(BaseModel):
    agency: str | None = None
    year: int | None = None


_HEAD = 600  # characters: the title and the opening sentence name the body and the year
_BODY = re.compile(r"^[\u4e00-\u9fff0-9（）()·]{3,30}(?:政府|局|委员会|委|办公室|办|厅|院|中心|署|会|所|部|处|站|队|馆)$")


def read_meta(document: Document, report: Report, llm: LLM) -> None:
    """The issuing body and the year when the title does not give them (no title, an odd one)."""
    if not missing_meta(report):
        return
    prompt = llm.prompt("read_meta")
    head = document.text[:_HEAD]
    answer = llm.ask(prompt, {"text": head}, MetaAnswer)
    round_ = LLMRound(task="read_meta", prompt_version=prompt.version)
    accept_meta(head, answer or MetaAnswer(), report, round_)
    _record(report, llm, round_)


def accept_meta(head: str, answer: MetaAnswer, report: Report, round_: LLMRound) -> None:
    """An agency is kept when the text prints it and it reads as a body's name; a year when printed."""
    missing = missing_meta(report)
    if "agency" in missing and answer.agency:
        if Source(head).find(answer.agency) and _BODY.match(answer.agency.strip()):
            report.meta.agency = answer.agency.strip()
            round_.accepted["meta.agency"] = report.meta.agency
        else:
            round_.rejected.append(f"机关名称“{answer.agency}”不在报告开头，或不像机关名称，已舍弃")
    if "year" in missing and answer.year:
        if answer.year in printed_years(head):
            report.meta.year = answer.year
            round_.accepted["meta.year"] = answer.year
        else:
            round_.rejected.append(f"年度 {answer.year} 不在报告开头，已舍弃")


# ---------------------------------------------------------------------------------------------- reask
def _unsure_breaks(report: Report, findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"
            and any(report.fields.get(k) and report.fields[k].method in _UNSURE for k in f.fields)]


def _raw(value: FieldValue) -> str:
    return value.provenance.raw if value.provenance else ""


def reask(document: Document, report: Report, llm: LLM, max_rounds: int = 2) -> list[Finding]:
    """Ask again while identities break on unsure cells; returns the findings after the last round."""
    findings = check(report)
    prompt = llm.prompt("reask")
    for _ in range(max_rounds):
        broken = _unsure_breaks(report, findings)
        if not broken:
            break
        unsure = sorted({k for f in broken for k in f.fields if report.fields.get(k)
                         and report.fields[k].method in _UNSURE})
        cells = "\n".join(f"{k}（{_field(k).label}）：读作 {report.fields[k].value}，原文“"
                          f"{_raw(report.fields[k])}”" for k in unsure)
        suggestions = "\n".join(s.reason for f in broken for s in f.suggestions[:3]) or "（无）"
        answer = llm.ask(prompt, {"problems": "\n".join(f.message for f in broken), "suggestions": suggestions,
                                  "cells": cells}, Correction)
        round_ = LLMRound(task="reask", prompt_version=prompt.version)
        findings = _apply_correction(report, answer, unsure, broken, round_)
        _record(report, llm, round_)
    return findings


def _apply_correction(report: Report, answer: Correction | None, unsure: list[str], broken: list[Finding],
                      round_: LLMRound) -> list[Finding]:
    proposed = {k: _number(v) for k, v in (answer.fields if answer else {}).items()}
    allowed = {k: v for k, v in proposed.items() if k in unsure and _printed_in(report, k, v)}
    round_.rejected += [f"{k} = {v}：不是可疑单元格，或原文中没有这个数字" for k, v in proposed.items() if k not in allowed]
    trial = report.model_copy(deep=True)
    for key, value in allowed.items():
        trial.fields[key].value = value
    after = check(trial)
    still = {(f.rule, tuple(f.fields)) for f in after if f.severity == "error"}
    if allowed and not any((f.rule, tuple(f.fields)) in still for f in broken):
        for key, value in allowed.items():
            report.fields[key].value = value
        round_.accepted.update(allowed)
        return after
    if allowed:
        round_.rejected.append(f"更正 {json.dumps(allowed, ensure_ascii=False)} 不能使勾稽关系成立，未采纳")
    return check(report)


def _printed_in(report: Report, key: str, value) -> bool:
    """A correction must be a number the source shows for that cell (its raw text or OCR reading)."""
    field = report.fields.get(key)
    if field is None or field.provenance is None or value is None:
        return False
    raw = field.provenance.raw
    return parse_cell(raw).value == value or str(value) in raw


# ---------------------------------------------------------------------------------------------- whole_report
_TOKENS_PER_FIELD = 10  # ' "f123": 4567,' measured at about eight tokens with Gemma's vocabulary


def _all_fields(template_id: str) -> type[BaseModel]:
    """Every field of the template under a short id (f1, f2 …), each required: a server that turns
    the schema into a grammar then writes the ids in order and the model only chooses the numbers
    (optional keys make the grammar branch at every key, which stalls llama.cpp's sampler; the
    registry's dotted keys cost three times the tokens of an id)."""
    keys = registry().templates[template_id].keys
    fields: dict[str, Any] = {f"f{i}": (float | None, Field()) for i in range(1, len(keys) + 1)}
    return create_model(f"AllFields{template_id}", **fields)


def whole_report(document: Document, template_id: str, llm: LLM) -> dict[str, int | float | None]:
    """The peers' approach: every field from one call over the whole text, kept as returned
    (nothing grounded or checked)."""
    template = registry().templates[template_id]
    keys = list(template.keys)
    prompt = llm.prompt("whole_report")
    listing = "\n".join(f"f{i}：{template.fields[k].label}" for i, k in enumerate(keys, 1))
    # the prompt lists the fields already: the schema goes only in the request, where servers take it
    answer = llm.ask(prompt, {"fields": listing, "text": document.text}, _all_fields(template_id),
                     schema_in_prompt=False, max_tokens=_TOKENS_PER_FIELD * len(keys) + 64)
    round_ = LLMRound(task="whole_report", prompt_version=prompt.version)
    values = {k: _number(getattr(answer, f"f{i}")) for i, k in enumerate(keys, 1)} if answer else {}
    round_.accepted = dict(values)
    llm.trace.rounds.append(round_)
    return values
