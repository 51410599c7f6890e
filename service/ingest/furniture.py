"""Page furniture every paged source prints between its content: page numbers."""

import re

_PAGE_NUMBER = re.compile(
    r"^\s*(?:[-—–－]\s*\d+\s*[-—–－]|第\s*\d+\s*页(?:\s*[,，/]?\s*共\s*\d+\s*页)?|\d+\s*/\s*\d+"
    r"|page\s*\d+(?:\s*of\s*\d+)?)\s*$",
    re.IGNORECASE,
)


def is_page_number(text: str) -> bool:
    return bool(_PAGE_NUMBER.match(text))
