"""Bytes → str for text-like sources: UTF-8 (with or without BOM), UTF-16, GB18030/GBK, Big5."""

from __future__ import annotations

import codecs

from service.ingest.errors import IngestError

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# Detected legacy Chinese encodings are read with their superset so rare characters survive.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "cp936": "gb18030", "big5": "big5hkscs"}


def decode(data: bytes, declared: str | None = None) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    if b"\x00" in data[:8192]:
        raise IngestError("文件内容无法识别：看起来是二进制文件，而不是文本", "NUL bytes in a text source")
    for encoding in filter(None, (declared, "utf-8")):
        try:
            return data.decode(_SUPERSETS.get(encoding.lower(), encoding))
        except (UnicodeDecodeError, LookupError):
            continue
    from charset_normalizer import from_bytes  # only for text that is not UTF-8

    best = from_bytes(data).best()
    if best is None:
        raise IngestError("文件内容无法识别：无法确定文字编码", "charset detection found no encoding")
    text = data.decode(_SUPERSETS.get(best.encoding.lower(), best.encoding), errors="replace")
    if _control_share(text) > 0.01:
        raise IngestError("文件内容无法识别：看起来是二进制文件，而不是文本", f"control characters in text ({best.encoding})")
    return text


def _control_share(text: str) -> float:
    sample = text[:20000]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f")
    return controls / max(len(sample), 1)
