"""Finding the six sections by their headings (numbering and wording vary) and cutting their text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.document import Document, Paragraph, Table
from service.registry import Section, registry
from service.textnorm import halfwidth, has_top_level_numbering, normalize_halfwidth

_SUB_NUMBERING = re.compile(r"^\s*(?:[(（][一二三四五六七八九十\d]+[)）]|\d+[.、．]|[①-⑩])")
_PROBLEMS, _OTHER = "problems_and_improvements", "other_matters"
_PROBLEM_WORDS = ("问题", "改进")
_MAX_EXTRA = 14  # characters a heading may carry beyond its keyword ("政府信息公开", "的", …)


@dataclass(frozen=True)
class Heading:
    section: Section
    start: int  # span of the heading in Document.text
    end: int


def heading_of(text: str) -> Section | None:
    """The section a line heads, or None. Sub-headings such as "（一）…" never head a section.

    A heading carries at most 6 characters beyond its keyword, or _MAX_EXTRA when numbered as a
    part ("三、"); the numbering is looked at only for a line that could be such a heading."""
    folded = halfwidth(text)
    if _SUB_NUMBERING.match(folded):
        return None
    printed = normalize_halfwidth(folded)
    numbered = None
    for section in registry().sections:
        for key in section.keyword_names:
            if key in printed:
                extra = len(printed) - len(key)
                if extra <= 6:
                    return section
                if extra <= _MAX_EXTRA:
                    if numbered is None:
                        numbered = has_top_level_numbering(folded)
                    if numbered:
                        return section
    return None


def unit_texts(document: Document):
    """(text, start, end) of every paragraph and of every table row without numbers, in order."""
    for block in document.blocks:
        if isinstance(block, Paragraph):
            yield block.text, block.location.start, block.location.end
        elif isinstance(block, Table):
            for row in block.rows:
                texts = [c.text for c in row if c.text]
                if texts and len(texts) <= 2:
                    yield "".join(texts), row[0].location.start, row[-1].location.end


def find_headings(document: Document) -> list[Heading]:
    """Section headings in reading order; each section at most once and never out of order."""
    order = {s.key: i for i, s in enumerate(registry().sections)}
    found: list[Heading] = []
    for text, start, end in unit_texts(document):
        section = heading_of(text)
        if section and (not found or order[section.key] > order[found[-1].section.key]):
            found.append(Heading(section, start, end))
    return found


def section_texts(document: Document, headings: list[Heading], tables_end: int | None = None) -> dict[str, str | None]:
    """Each section's text between its heading and the next; `tables_end` (where the last table
    cell read ends) finds section 五 when its heading was lost."""
    texts: dict[str, str | None] = {s.key: None for s in registry().sections}
    for heading, following in zip(headings, headings[1:] + [None]):
        end = following.start if following else len(document.text)
        texts[heading.section.key] = document.text[heading.end:end].strip() or None
    if texts[_PROBLEMS] is None:
        texts[_PROBLEMS] = _unheaded_problems(document, headings, tables_end)
    return texts


def _unheaded_problems(document: Document, headings: list[Heading], tables_end: int | None) -> str | None:
    """Section 五 whose heading was lost (as converters of PDFs lose lines): the text between the
    last table and the 六 heading, when it speaks of problems or improvements."""
    after = next((h for h in headings if h.section.key == _OTHER), None)
    end = after.start if after else len(document.text)
    tables = [b.location.end for b in document.blocks
              if isinstance(b, Table) and b.location.end is not None and b.location.end <= end]
    if tables_end is not None and tables_end <= end:
        tables.append(tables_end)
    if not tables:
        return None
    text = document.text[max(tables):end].strip()
    return text if any(word in text for word in _PROBLEM_WORDS) else None
