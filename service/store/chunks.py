"""Cut a section's text into passages short enough to embed well and to quote."""

from __future__ import annotations

import re

MAX_CHARS = 300  # about 180 e5 tokens: one topic per passage, well inside the model's 512

_SENTENCE_END = re.compile(r"(?<=[。；！？])")


def chunk(text: str, limit: int = MAX_CHARS) -> list[str]:
    """Paragraphs joined up to `limit` characters; a longer paragraph is cut at sentence ends."""
    pieces = [s.strip() for line in text.splitlines() for s in _split_long(line.strip(), limit) if s.strip()]
    chunks: list[str] = []
    for piece in pieces:
        if chunks and len(chunks[-1]) + len(piece) + 1 <= limit:
            chunks[-1] += "\n" + piece
        else:
            chunks.append(piece)
    return chunks


def _split_long(line: str, limit: int) -> list[str]:
    if len(line) <= limit:
        return [line]
    out = [""]
    for sentence in _SENTENCE_END.split(line):
        if out[-1] and len(out[-1]) + len(sentence) > limit:
            out.append("")
        out[-1] += sentence
    # a sentence longer than the limit on its own is cut hard: rare, and better than one huge passage
    return [part[i:i + limit] for part in out for i in range(0, len(part), limit)]
