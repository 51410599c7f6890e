"""Rules on single cells and on what is absent: blanks, missing tables, impossible and implausible counts."""

from __future__ import annotations

from service.agency import parse_agency
from service.check.model import Finding
from service.registry import TABLE_NAMES, TABLE_TITLES, Template
from service.report import Report

# Counts above which a figure is worth a second look (a warning, never an error: a city's 11 398 889
# licensing decisions are real). Table 2 counts decisions (licences, penalties) over a whole
# jurisdiction; tables 3 and 4 count requests, reviews and lawsuits, a hundred times fewer. A
# department reports part of its place's figures, so it takes its place's bound; a name without a
# recognisable place (审计局) takes a city's.
PLAUSIBLE = {"national": 10_000_000_000, "province": 1_000_000_000, "city": 100_000_000, "county": 10_000_000, "township": 1_000_000}
_NATIONAL = ("国务院", "国家", "中华人民共和国")
_REQUEST_SHARE = 100  # tables 3 and 4: the table 2 bound divided by this


def plausible_bound(agency: str | None, table: str) -> int:
    """The largest count a body of this agency's level plausibly reports in a year in this table."""
    level = "national" if (agency or "").startswith(_NATIONAL) else parse_agency(agency).level
    bound = PLAUSIBLE.get(level, PLAUSIBLE["city"])
    return bound if table == "t2" else bound // _REQUEST_SHARE


def check_values(report: Report, template: Template) -> list[Finding]:
    return [*_missing(report, template), *_unread(report, template), *_blanks(report, template),
            *_impossible(report, template), *_implausible(report, template)]


def _by_table(keys, template: Template) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key in keys:
        out.setdefault(template.fields[key].table, []).append(key)
    return out


def _missing(report: Report, template: Template) -> list[Finding]:
    absent = _by_table([k for k in template.keys if k not in report.fields], template)
    expected = _by_table(template.keys, template)
    findings = []
    for table, keys in absent.items():
        whole = len(keys) == len(expected[table])
        rows = list(dict.fromkeys(template.fields[k].row.short for k in keys))
        message = (f"{TABLE_TITLES[table]}：整张表缺失" if whole else
                   f"{TABLE_NAMES[table]}缺少 {len(keys)} 个单元格，涉及 {len(rows)} 行：" + "；".join(rows[:6])
                   + (" 等" if len(rows) > 6 else ""))
        findings.append(Finding(rule="missing.table" if whole else "missing.cells", severity="warning",
                                fields=keys, message=message))
    return findings


def _unread(report: Report, template: Template) -> list[Finding]:
    """Cells of a page image OCR could not read: a value is missing that the table printed."""
    unread = _by_table([k for k, f in report.fields.items() if f.unread and k in template.fields], template)
    return [Finding(rule="ocr.unread", severity="warning", fields=keys,
                    message=f"{TABLE_NAMES[table]}有 {len(keys)} 个单元格未能从图像中识别，请对照原图填写："
                            + "、".join(template.fields[k].short for k in keys[:6]) + (" 等" if len(keys) > 6 else ""))
            for table, keys in unread.items()]


def _blanks(report: Report, template: Template) -> list[Finding]:
    blank = _by_table([k for k, f in report.fields.items() if f.value is None and not f.unread
                       and k in template.fields], template)
    return [Finding(rule="blank.cells", severity="info", fields=keys,
                    message=f"{TABLE_NAMES[table]}有 {len(keys)} 个空白单元格，没有数量时应填 0")
            for table, keys in blank.items()]


def _impossible(report: Report, template: Template) -> list[Finding]:
    findings = []
    for key, field in report.fields.items():
        value, spec = field.value, template.fields.get(key)
        if value is None or spec is None:
            continue
        problem = None
        if value < 0 and not spec.signed:
            problem = "不应为负数"
        elif value != int(value) and not spec.money:
            problem = "件数不应有小数"
        if problem:
            findings.append(Finding(rule="value.impossible", severity="error", fields=[key], numbers={key: value},
                                    message=f"{TABLE_NAMES[spec.table]}“{spec.short}”为 {value}，{problem}"))
    return findings


def _implausible(report: Report, template: Template) -> list[Finding]:
    findings = []
    for key, field in report.fields.items():
        value, spec = field.value, template.fields.get(key)
        if value is None or spec is None or spec.money:
            continue
        bound = plausible_bound(report.meta.agency, spec.table)
        if abs(value) > bound:
            findings.append(Finding(
                rule="value.implausible", severity="warning", fields=[key], numbers={key: value, "bound": bound},
                message=f"{TABLE_NAMES[spec.table]}“{spec.short}”为 {value}，超过此类机关通常的上限 {bound}，请核对"))
    return findings
