"""Report year, issuing agency and template version."""

from __future__ import annotations

import re

from service.agency import known_name, parse_agency
from service.document import Document
from service.extract.sections import Heading, unit_texts
from service.registry import Template, registry
from service.textnorm import halfwidth

_CN_NUM = str.maketrans("〇零一二三四五六七八九○Ｏ", "001234567890O")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_CN_YEAR = re.compile(r"([〇零一二三四五六七八九○Ｏ]{4})\s*年")
_PERIOD = re.compile(r"(?:统计期限|统计期间|时间范围)[^。]{0,6}?((?:19|20)\d{2})\s*年")
_TITLE_TAIL = re.compile(r"(?:政府信息公开|信息公开|政务公开).*$")
_TITLE_MARK = "报告"
_TITLE_LINE = re.compile(r"^[^。；，,：:、《》]{2,80}$")  # a line of a title: no sentence punctuation
_TITLE_PART = re.compile(r"^[\u4e00-\u9fff0-9０-９〇（）()·]{2,30}$")  # a body's name, perhaps with its year
_BODY_YEAR_DISCLOSURE = re.compile(r"^\S{2,30}?(?:19|20)\d{2}\s*年度?\s*政府信息公开")
_OPENING = 600  # characters of the report's opening searched for the body that issues it
_PUBLISHES = re.compile(r"(?:现|特)?(?:予以)?公布(?P<agency>[^，,。；;、《》“”]{2,30}?)(?:19|20)\d{2}\s*年度?政府信息公开工作年度报告")
_BODY_END = r"(?:人民政府办公室|人民政府|办公室|办公厅|局|委员会|委|办|中心|街道办事处|办事处|镇|乡|厅|院|署)"
_YEAR_THEN_BODY = re.compile(rf"(?:^|\n)\s*(?:19|20)\d{{2}}\s*年度?\s*[,，]\s*(?P<agency>[\u4e00-\u9fff]{{2,24}}?{_BODY_END})")
_COMPILED_BY = re.compile(r"本报告由(?P<body>[\u4e00-\u9fff]{2,30}?)(?:根据|依据|按照|负责|编制)")
_NOISE = re.compile(r"^[\s《“\"'【\[（(]+|[\s》”\"'】\]）)]+$")


def find_title(document: Document, headings: list[Heading]) -> str | None:
    """The report's own title: the last line naming a disclosure report before the first section.

    Titles printed over two lines are joined: the body's name above "2023年政府信息公开工作年度报告"
    (joined when the lower line names no body), or a break inside the title itself
    ("2025 年上海市人民政府办公厅政府信息公开" over "工作年度报告").
    """
    first = headings[0].start if headings else len(document.text)
    lines = [text.strip() for text, start, _ in unit_texts(document) if start < first]
    best = None
    for i, text in enumerate(lines):
        previous = lines[i - 1] if i else ""
        if _is_title(text):
            starts_with_year = _YEAR.match(halfwidth(text)) or _CN_YEAR.match(text)
            joinable = _TITLE_PART.match(previous) and (starts_with_year or find_agency(text) is None)
            best = previous + text if joinable else text
        elif previous and not _is_title(previous) and _is_title(previous + text):
            best = previous + text
    if best is None and document.title and "信息公开" in document.title:
        best = document.title
    return best


def _is_title(text: str) -> bool:
    """A title names a disclosure report and reads as a heading, not as a sentence quoting one; a
    title whose tail a capture scrambled still opens with a body, a year and 政府信息公开."""
    named = _TITLE_MARK in text or _BODY_YEAR_DISCLOSURE.match(halfwidth(text))
    return "信息公开" in text and bool(named) and bool(_TITLE_LINE.match(text.strip("《》")))


def find_year(title: str | None, document: Document) -> int | None:
    for source in filter(None, (title, document.title)):
        year = _year_in(source)
        if year:
            return year
    text = halfwidth(document.text[:20000])
    for pattern in (_PERIOD, _YEAR):
        match = pattern.search(text)
        if match:
            return int(match.group(1))
    return None


def printed_years(text: str) -> set[int]:
    """Every year the text prints before 年, in digits or in Chinese numerals (二〇二三年)."""
    found = {int(m.group(1)) for m in _YEAR.finditer(halfwidth(text))}
    found |= {int(m.group(1).translate(_CN_NUM).replace("O", "0")) for m in _CN_YEAR.finditer(text)}
    return {year for year in found if 1990 < year < 2100}


def _year_in(text: str) -> int | None:
    text = halfwidth(text)
    match = _YEAR.search(text) or _CN_YEAR.search(text)
    if not match:
        return None
    year = int(match.group(1).translate(_CN_NUM).replace("O", "0"))
    return year if 1990 < year < 2100 else None


def agency_in_opening(document: Document) -> str | None:
    """The body an untitled report names in its opening sentences: "现公布X2023年政府信息公开工作
    年度报告", or "2022年度，X政务公开工作……" where X ends as a body's name does."""
    opening = halfwidth(document.text[:_OPENING])
    for pattern in (_PUBLISHES, _YEAR_THEN_BODY):
        if match := pattern.search(opening):
            return match.group("agency")
    return None


def issuer_region(agency: str | None, document: Document) -> str | None:
    """The places of the office that says it compiled the report (本报告由淮安市洪泽区人民政府办公室根据…编制),
    when they extend the agency's own name: the body's parent places, printed by the report itself."""
    match = _COMPILED_BY.search(re.sub(r"\s+", "", halfwidth(document.text[:_OPENING])))
    region = parse_agency(match.group("body")).region if match else None
    return region if known_name(agency, region) != agency else None


def find_agency(title: str | None) -> str | None:
    """The body the title names: the words before the year, or after it when the title opens with it."""
    if not title:
        return None
    text = halfwidth(title).strip()
    text = re.sub(r"^关于", "", text)
    match = _YEAR.search(text) or _CN_YEAR.search(text)
    if match and match.start() > 0:
        agency = text[: match.start()]
    else:
        agency = text[match.end():] if match else text
        agency = re.sub(r"^度", "", agency)
        agency = _TITLE_TAIL.sub("", agency)
    agency = _NOISE.sub("", agency).rstrip("的")
    return agency or None


def detect_template(document: Document, year: int | None) -> Template:
    """The layout the report prints (its table 2 and row （六）), the year deciding only a tie."""
    reg = registry()
    printed = re.sub(r"[^0-9A-Za-z\u4e00-\u9fff]+", "", halfwidth(document.text))
    scores = {t.id: sum(anchor in printed for anchor in t.anchors) for t in reg.templates.values()}
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    if ranked[0][1] > ranked[1][1]:
        return reg.templates[ranked[0][0]]
    if year:
        return reg.template_for_year(year)
    return reg.templates[max(reg.templates)]
