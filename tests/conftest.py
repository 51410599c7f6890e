"""Shared fixtures: the gold reports of ../shared/gold, eval/gold and eval/gold-relayout.

eval/gold-relayout holds our re-layouts of published reports (text we laid out, or captured through
Nianbao's own reader): not scored by eval as published sources, but still held to 100 % here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from service.report import FieldValue, Provenance

if TYPE_CHECKING:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
GOLD_DIRS = [ROOT.parent / "shared" / "gold", ROOT / "eval" / "gold", ROOT / "eval" / "gold-relayout"]


def gold_report_dirs() -> list[Path]:
    return sorted(p.parent for d in GOLD_DIRS for p in d.glob("*/gold.json"))


def load_gold(report_dir: Path) -> dict:
    return json.loads((report_dir / "gold.json").read_text("utf-8"))


def source_path(report_dir: Path) -> Path:
    return report_dir / load_gold(report_dir)["source"]


def provenance(field: FieldValue) -> Provenance:
    """Where a value was read (every value a reader or the model places has a provenance)."""
    assert field.provenance is not None
    return field.provenance


def app_of(client: TestClient) -> FastAPI:
    """The service behind a test client (which types it as any ASGI app)."""
    from fastapi import FastAPI

    assert isinstance(client.app, FastAPI)
    return client.app


def blank_equal(expected, got) -> bool:
    """A blank gold cell is matched by null or 0 (FORMAT.md)."""
    return got in (None, 0) if expected is None else got == expected


@pytest.fixture(params=gold_report_dirs(), ids=lambda p: p.name)
def gold_dir(request) -> Path:
    return request.param



@pytest.fixture(scope="session")
def llm_server(tmp_path_factory):
    """The bundled llama.cpp server with Gemma 3 270M on 127.0.0.1, one for the whole run; its
    config reaches the model on every call (no answer cache)."""
    from service.llm import local

    assert local.installed(), "make test installs llama-cpp-python and the bundled model"
    process, config = local.start(tmp_path_factory.mktemp("llm"))
    yield config.model_copy(update={"cache_dir": None})
    process.terminate()
    process.wait(timeout=30)
