"""Text normalisation shared by every stage: width folding and label canonical forms."""

import re

# Full-width ASCII (！ to ～) and the ideographic space fold to their half-width forms.
_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20

_CN_DIGITS = "一二三四五六七八九十"
# Leading enumeration as printed in reports: 一、 （一） (1) 1. 1、 ① 第一 and stacked forms.
_NUMBERING = re.compile(
    r"^(?:第?[一二三四五六七八九十]+[、.．:：]"
    r"|[(（][一二三四五六七八九十\d]+[)）][、.．]?"
    r"|\d+(?:\.(?!\d)|[、．])"
    r"|[①②③④⑤⑥⑦⑧⑨⑩])"
)
# Everything that is not a letter, digit or CJK character carries no meaning in a label.
_NOISE = re.compile(r"[^0-9A-Za-z\u4e00-\u9fff]+")


_HAS_FULLWIDTH = re.compile("[\uff01-\uff5e\u3000]").search


def halfwidth(text: str) -> str:
    """Fold full-width digits, letters and punctuation to ASCII."""
    # translate looks every character up; most labels and lines have nothing to fold
    return text.translate(_FULLWIDTH) if _HAS_FULLWIDTH(text) else text


_NUMBERING_STARTS = frozenset("第" + _CN_DIGITS + "(（①②③④⑤⑥⑦⑧⑨⑩")  # and any digit (\d)


def strip_numbering(text: str) -> str:
    """Drop any stack of leading enumeration marks ("三、（一）1." → "")."""
    text = text.strip()
    if not text or (text[0] not in _NUMBERING_STARTS and not text[0].isdecimal()):
        return text  # most labels: no mark can start here
    while True:
        stripped = _NUMBERING.sub("", text, count=1).lstrip()
        if stripped == text:
            return text
        text = stripped


_TOP_NUMBERING = re.compile(rf"^\s*(第[{_CN_DIGITS}]+部分|[{_CN_DIGITS}]+[、.．])")


def has_top_level_numbering(text: str) -> bool:
    """True for "三、…" or "第三部分…" style headings, false for "（三）…" or "3.…"."""
    return bool(_TOP_NUMBERING.match(halfwidth(text)))


def normalize_label(text: str) -> str:
    """Canonical form of a row/column label: no numbering, spaces, quotes or punctuation."""
    return normalize_halfwidth(halfwidth(text))


def normalize_halfwidth(text: str) -> str:
    """`normalize_label` of a text already folded by `halfwidth`, which folds it again for nothing."""
    return _NOISE.sub("", strip_numbering(text))
