"""`nianbao batch`: a tree of report files → results.jsonl, fields.csv and findings.csv in one directory.

Files are keyed by their content's SHA-256: the same bytes under two names are read once, and
`resume` skips every hash already in results.jsonl, so an interrupted batch goes on where it
stopped; a file whose model endpoint could not be reached is recorded with `redo` and read again by
the next `--resume` (its newest record is the one the tables show). The work runs in local
processes (`LocalRunner`) or on Celery workers (`ClusterRunner`,
when NIANBAO_BROKER_URL is set); both run `service.jobs.task.process`, as the service does.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import multiprocessing
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from service.agency import bodies, known_name
from service.check.crossyear import check_cross_year
from service.jobs.task import OUTAGE, LLMOutage, process
from service.registry import registry
from service.report import Report

log = logging.getLogger(__name__)

RESULTS = "results.jsonl"
FIELDS_CSV = "fields.csv"
FINDINGS_CSV = "findings.csv"
INTERNAL_ERROR = "处理时发生内部错误，请联系管理员"

__all__ = ["BatchError", "ClusterRunner", "Item", "LocalRunner", "plan", "run", "write_tables"]


class BatchError(RuntimeError):
    """Why a batch cannot start or go on; `message` is Chinese and fit to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Item:
    path: Path
    sha256: str


# ---------------------------------------------------------------------------------------------- planning
def plan(files: Iterable[Path], out: Path, resume: bool) -> tuple[list[Item], int]:
    """The files still to read, one per distinct content, and how many were skipped (done or repeated)."""
    done = finished_hashes(out / RESULTS)
    if done and not resume:
        raise BatchError(f"输出目录 {out} 中已有 {len(done)} 份结果：加 --resume 继续，或换一个输出目录")
    seen, todo, skipped = set(done), [], 0
    for path in files:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in seen:
            skipped += 1
            continue
        seen.add(digest)
        todo.append(Item(path, digest))
    return todo, skipped


def finished_hashes(results: Path) -> set[str]:
    """Files read for good: the newest record of each, unless it waits for the model endpoint."""
    newest = {record["sha256"]: record for record in read_results(results)}
    return {digest for digest, record in newest.items() if not record.get("redo")}


def read_results(results: Path) -> Iterator[dict]:
    """The records written so far; a line cut short by an interruption is not a record."""
    return (record for _offset, record in _records(results))


def _records(results: Path) -> Iterator[tuple[int, dict]]:
    """Records with their byte offsets, so that one can be read again without holding them all."""
    if not results.exists():
        return
    with results.open("rb") as lines:
        offset = 0
        for line in lines:
            try:
                yield offset, json.loads(line)
            except json.JSONDecodeError:
                log.warning("ignoring a torn line in %s", results)
            offset += len(line)


# ---------------------------------------------------------------------------------------------- runners
class Runner(Protocol):
    window: int  # how many items may be in flight at once

    def submit(self, item: Item) -> None: ...

    def finished(self) -> list[tuple[Item, dict]]: ...

    def close(self) -> None: ...


def _process_file(path: str) -> dict:
    """In a pool process: one file through the job step."""
    from service.settings import Settings

    file = Path(path)
    return process(file.read_bytes(), file.name, Settings().job_llm())


class LocalRunner:
    """`workers` processes on this machine."""

    def __init__(self, workers: int) -> None:
        # spawn, not fork: the parent runs the progress bar's thread, and a forked thread's locks are unsafe
        self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        self.window = 2 * workers  # each process has its next file ready, and no more is held
        self.running: dict = {}

    def submit(self, item: Item) -> None:
        self.running[self.pool.submit(_process_file, str(item.path))] = item

    def finished(self) -> list[tuple[Item, dict]]:
        done, _ = wait(self.running, timeout=0.5, return_when=FIRST_COMPLETED)
        return [(self.running.pop(future), _outcome(future)) for future in done]

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


def _outcome(future) -> dict:
    try:
        return future.result()
    except LLMOutage:  # the endpoint was down: not a finished file, --resume reads it again
        return {"status": "failed", "error": OUTAGE.replace("稍后自动重做", "加 --resume 重做"), "redo": True}
    except BrokenProcessPool as exc:  # a process died (out of memory, a crash in a native library)
        raise BatchError("处理进程意外退出，已完成的结果已保存；可加 --resume 继续") from exc
    except Exception:  # a bug fails its file, not the batch
        log.exception("processing failed")
        return {"status": "failed", "error": INTERNAL_ERROR}


class ClusterRunner:
    """Celery workers, through Redis (`service.jobs.cluster.Cluster`)."""

    def __init__(self, cluster) -> None:
        self.cluster = cluster
        self.window = cluster.inflight  # bounds what waits in Redis: each message holds a file
        self.running: dict[str, Item] = {}

    def submit(self, item: Item) -> None:
        self.cluster.send(item.sha256, item.path.name, item.path.read_bytes())
        self.running[item.sha256] = item

    def finished(self) -> list[tuple[Item, dict]]:
        out = []
        for digest in list(self.running):
            state = self.cluster.poll(digest)
            if state["status"] in ("done", "failed"):
                out.append((self.running.pop(digest), state))
        if not out:
            time.sleep(0.2)
        return out

    def close(self) -> None:
        """Nothing to stop: what is in flight finishes on the workers, and --resume collects it."""


# ---------------------------------------------------------------------------------------------- running
def run(items: list[Item], out: Path, runner: Runner, on_record: Callable[[dict], None],
        apart: Collection[str] = ()) -> None:
    """Process `items`, appending one record per file to results.jsonl as it finishes, then the CSVs
    (`apart`: agency names kept apart from the names they would join, see `write_tables`)."""
    out.mkdir(parents=True, exist_ok=True)
    try:
        with _append(out / RESULTS) as sink:
            for item, outcome in _execute(items, runner):
                record = _record(item, outcome)
                sink.write(json.dumps(record, ensure_ascii=False) + "\n")
                sink.flush()  # a record on disk is a file --resume will not redo
                on_record(record)
    finally:
        runner.close()
    write_tables(out, apart)


def _execute(items: list[Item], runner: Runner) -> Iterator[tuple[Item, dict]]:
    pending = iter(items)
    in_flight = 0
    while True:
        while in_flight < runner.window and (item := next(pending, None)) is not None:
            runner.submit(item)
            in_flight += 1
        if not in_flight:
            return
        for item, outcome in runner.finished():
            in_flight -= 1
            yield item, outcome


def _append(results: Path) -> IO[str]:
    """results.jsonl for appending, a line cut short by an earlier interruption cut off first."""
    if results.exists():
        data = results.read_bytes()
        if data and not data.endswith(b"\n"):
            results.write_bytes(data[: data.rfind(b"\n") + 1])
    return results.open("a", encoding="utf-8")


def _record(item: Item, outcome: dict) -> dict:
    """What a batch keeps of an outcome: the document's text stays out, the report keeps its provenance."""
    return {"path": str(item.path), "sha256": item.sha256, "status": outcome["status"], "error": outcome.get("error"),
            "attempts": outcome.get("attempts", 1), "seconds": outcome.get("seconds"),
            "report": outcome.get("report"), "findings": outcome.get("findings", [])} | (
        {"redo": True} if outcome.get("redo") else {})


# ---------------------------------------------------------------------------------------------- tables
def write_tables(out: Path, apart: Collection[str] = ()) -> None:
    """fields.csv (one row per file, one column per field key of both templates) and findings.csv,
    which adds the cross-year findings between the batch's own reports of one body (service/agency.py:
    `bodies` over the batch's agency names, the names in `apart` joining none)."""
    keys = list(dict.fromkeys(key for template in registry().templates.values() for key in template.keys))
    head = ["path", "sha256", "status", "error", "agency", "year", "template"]
    body_of = bodies({_agency(record) for _, record in _records(out / RESULTS)}, apart)
    years = _agency_years(out / RESULTS, body_of)
    with _csv(out / FIELDS_CSV) as fields_file, _csv(out / FINDINGS_CSV) as findings_file, \
            (out / RESULTS).open("rb") as earlier:
        fields, findings = csv.writer(fields_file), csv.writer(findings_file)
        fields.writerow(head + keys)
        findings.writerow(["path", "sha256", "agency", "year", "rule", "severity", "fields", "message"])
        newest = {record["sha256"]: offset for offset, record in _records(out / RESULTS)}
        for offset, record in _records(out / RESULTS):
            if newest[record["sha256"]] != offset:
                continue  # read again later (after an outage of the model endpoint)
            report = record["report"] or {"meta": {}, "fields": {}}
            meta = report["meta"]
            values = {key: field["value"] for key, field in report["fields"].items()}
            fields.writerow([record["path"], record["sha256"], record["status"], record["error"] or "",
                             meta.get("agency") or "", meta.get("year") or "", meta.get("template") or ""]
                            + [_cell(values.get(key)) for key in keys])
            for finding in record["findings"] + _cross_year(record, body_of, years, earlier):
                findings.writerow([record["path"], record["sha256"], meta.get("agency") or "", meta.get("year") or "",
                                   finding["rule"], finding["severity"], " ".join(finding["fields"]), finding["message"]])


def _agency(record: dict) -> str | None:
    """Who a report read is by (its agency, with the places it prints above it), None for a file that failed."""
    meta = (record["report"] or {}).get("meta", {})
    return known_name(meta.get("agency"), meta.get("region")) if record["status"] == "done" else None


def _agency_year(record: dict, body_of: dict[str, str]) -> tuple[str, int] | None:
    """Whose report for which year: the body its agency name belongs to, and the year."""
    agency, year = _agency(record), (record["report"] or {}).get("meta", {}).get("year")
    return (body_of[agency], year) if agency and year else None


def _agency_years(results: Path, body_of: dict[str, str]) -> dict[tuple[str, int], int]:
    """(body, year) → the offset of its record; the first file wins when a year comes twice."""
    years: dict[tuple[str, int], int] = {}
    for offset, record in _records(results):
        if (key := _agency_year(record, body_of)) is not None:
            years.setdefault(key, offset)
    return years


def _cross_year(record: dict, body_of: dict[str, str], years: dict[tuple[str, int], int],
                results: IO[bytes]) -> list[dict]:
    """The report against the same body's report of the year before, when the batch holds it."""
    here = _agency_year(record, body_of)
    offset = years.get((here[0], here[1] - 1)) if here else None
    if offset is None:
        return []
    results.seek(offset)
    previous = json.loads(results.readline())
    return [f.model_dump(mode="json") for f in check_cross_year(Report.model_validate(record["report"]),
                                                                 Report.model_validate(previous["report"]))]


def _csv(path: Path) -> IO[str]:
    return path.open("w", encoding="utf-8-sig", newline="")  # the BOM lets Excel open Chinese CSV correctly


def _cell(value) -> str:
    return "" if value is None else str(value)
