"""`nianbao extract` of a text or HTML report imports what it needs only: no PDF, Word or OCR stack,
no model client, no vector store (issue 14: a cold process within 0.35 s; the time itself is measured
by `python -m eval.bench --only speed`, never asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEAVY = ("cv2", "numpy", "onnx", "onnxruntime", "pdfplumber", "pdfminer", "docx", "PIL", "langchain_core",
         "langchain_openai", "openai", "chromadb", "celery", "fastapi", "httpx", "rich", "pydantic_settings")

_RUN = """
import json, sys
from service.cli import app
try:
    app(["extract", sys.argv[1], "--format", "flat"], prog_name="nianbao")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": sorted(m for m in sys.argv[2:] if m in sys.modules)}), file=sys.stderr)
"""


@pytest.mark.parametrize("source", ["../shared/gold/beilun-development-2020/source.txt",
                                    "eval/gold/shanghai-government-office-2019/source.html"])
def test_a_text_or_html_extract_imports_no_heavy_stack(source: str) -> None:
    done = subprocess.run([sys.executable, "-c", _RUN, str(ROOT / source), *HEAVY],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    result = json.loads(done.stderr.strip().splitlines()[-1])
    assert result["code"] in (0, None) and json.loads(done.stdout)["fields"]
    assert result["loaded"] == []
