"""`make bench`: extraction and check speed on the gold reports, the CLI's wall time, and the
checker's mutation benchmark.

Medians over repeated runs, because these machines are shared and noisy; targets are reported,
never asserted.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import tempfile

from eval import load, mutations, scaleout
from service.check import check
from service.ingest import LOADERS
from service.pipeline import extract_bytes

ROOT = Path(__file__).resolve().parents[1]
GOLD_DIRS = [ROOT.parent / "shared" / "gold", ROOT / "eval" / "gold"]
TARGET_MS = 50


def _sources() -> list[Path]:
    sources = []
    for directory in GOLD_DIRS:
        for gold in sorted(directory.glob("*/gold.json")):
            source = gold.parent / json.loads(gold.read_text("utf-8"))["source"]
            if source.suffix.lower() in LOADERS:
                sources.append(source)
    return sources


def _time_ms(fn, repeats: int) -> list[float]:
    fn()  # warm caches (registry, parsers) once, as a running service would have them
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"median_ms": round(statistics.median(ordered), 2),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 2), "runs": len(ordered)}


def bench_extraction(repeats: int) -> dict:
    per_source, by_format = {}, {}
    for path in _sources():
        data = path.read_bytes()
        samples = _time_ms(lambda: extract_bytes(data, path.name), repeats)
        per_source[path.parent.name] = {"format": path.suffix.lstrip("."), "bytes": len(data), **_summary(samples)}
        by_format.setdefault(path.suffix.lstrip("."), []).append(statistics.median(samples))
    return {"per_report": per_source,
            "median_ms_by_format": {fmt: round(statistics.median(v), 2) for fmt, v in by_format.items()}}


def bench_check(repeats: int) -> dict:
    per_report = {}
    for path in _sources():
        report = extract_bytes(path.read_bytes(), path.name)
        per_report[path.parent.name] = _summary(_time_ms(lambda: check(report), repeats))
    medians = [r["median_ms"] for r in per_report.values()]
    return {"per_report": per_report, "median_ms": round(statistics.median(medians), 3), "target_ms": 5}


def bench_service(uploads: int, env: dict[str, str] | None = None) -> dict:
    """Concurrent uploads through a real server: throughput and upload-to-done latency
    (`env` NIANBAO_BROKER_URL: its jobs run on Celery workers instead of the embedded worker)."""
    with tempfile.TemporaryDirectory() as data_dir:
        port = load.free_port()
        base = f"http://127.0.0.1:{port}"
        server = load.start_server(Path(data_dir), port, env)
        try:
            started = time.monotonic()
            ids = [job_id for job_id, _ in load.submit_all(base, load.distinct_reports(uploads))]
            finished: dict[str, float] = {}
            while len(finished) < len(ids) and time.monotonic() - started < 600:
                for job_id, status in load.statuses(base).items():
                    if status["status"] in ("done", "failed") and job_id not in finished:
                        finished[job_id] = time.monotonic() - started
                time.sleep(0.1)
            elapsed = time.monotonic() - started
        finally:
            server.terminate()
            server.wait(timeout=30)
    latencies = sorted(finished.values())
    return {"uploads": uploads, "finished": len(finished), "distinct_ids": len(set(ids)),
            "reports_per_minute": round(len(finished) / elapsed * 60, 1),
            "p50_s": round(latencies[len(latencies) // 2], 2), "p95_s": round(latencies[int(len(latencies) * 0.95)], 2)}


def bench_scaleout(uploads: int, reports: int) -> dict:
    """The job backends on the same generated reports (eval/scaleout.py), two processes each on this
    machine: the service with Celery (its embedded queue is `service`), `nianbao batch` on local
    processes and on Celery workers, and the issue's done-when run: a worker SIGKILLed mid-run."""
    with tempfile.TemporaryDirectory() as directory:
        with scaleout.cluster(Path(directory)) as (env, _workers):
            service_celery = bench_service(uploads, env)
        expected = scaleout.prepare(Path(directory), reports)
        local = scaleout.local_batch(Path(directory), expected)
        celery = scaleout.cluster_batch(Path(directory), expected)
        killed = scaleout.cluster_batch(Path(directory), expected, kill_after=0.3, out_name="out-kill")
    return {"service_celery": service_celery, "batch_local": local, "batch_celery": celery, "batch_celery_kill": killed}


def bench_cli(repeats: int) -> dict:
    source = _sources()[0]
    cli = Path(sys.executable).parent / "nianbao"
    samples = _time_ms(lambda: subprocess.run([str(cli), "extract", str(source), "-f", "flat"],
                                              capture_output=True, check=False), repeats)
    return {"report": source.parent.name, **_summary(samples)}


def bench_drafting() -> dict:
    """Index time per report (cold embeddings), retrieval latency and draft time, on an embedded store holding
    the gold reports and generated variants (eval/variants.py)."""
    from eval.variants import generate
    from service.draft import draft
    from service.draft.facts import collect
    from service.report import report_from_flat
    from service.store import open_store

    golds = [json.loads(p.read_text("utf-8")) for d in GOLD_DIRS for p in sorted(d.glob("*/gold.json"))]
    reports = [report_from_flat(g) for g in golds + generate(golds)]
    with tempfile.TemporaryDirectory() as directory:
        store, _ = open_store(Path(directory))
        index_ms = []
        for report in reports:
            findings = check(report)
            started = time.perf_counter()
            store.index(report, findings, collect(report, None, findings))
            index_ms.append((time.perf_counter() - started) * 1000)
        query_ms, draft_store_ms = [], []
        for report in reports:
            started = time.perf_counter()
            store.past_reports(report)
            query_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            draft(report, None, check(report), store=store)
            draft_store_ms.append((time.perf_counter() - started) * 1000)
        draft_ms = [_time_ms(lambda: draft(report, None, check(report)), 1)[0] for report in reports]
    return {"reports": len(reports), "generated": len(reports) - len(golds),
            "index_per_report": _summary(index_ms), "query_past_reports": _summary(query_ms),
            "draft_fallback": _summary(draft_ms), "draft_fallback_with_store": _summary(draft_store_ms)}


def bench_llm_draft(samples: int = 3) -> dict:
    """Draft time through the bundled local model (llama.cpp, Gemma 3 270M) on a few gold reports; a small
    model often ends in the offline draft, and the figures say how often."""
    from service.draft import draft
    from service.llm import LLM, local
    from service.report import report_from_flat

    if not local.installed():
        return {"skipped": "the bundled model is not installed (make test installs it)"}
    golds = [json.loads(p.read_text("utf-8")) for d in GOLD_DIRS for p in sorted(d.glob("*/gold.json"))][:samples]
    with tempfile.TemporaryDirectory() as directory:
        process, config = local.start(Path(directory))
        try:
            llm = LLM(config.model_copy(update={"cache_dir": None}))
            seconds, methods = [], []
            for gold in golds:
                report = report_from_flat(gold)
                started = time.perf_counter()
                methods.append(draft(report, None, check(report), llm=llm).method)
                seconds.append(time.perf_counter() - started)
        finally:
            process.terminate()
            process.wait(timeout=30)
    return {"model": config.model, **_summary([1000 * s for s in seconds]), "llm_drafts": methods.count("llm"),
            "fallback_drafts": methods.count("fallback"), "calls": llm.trace.calls,
            "output_tokens": llm.trace.output_tokens}


def bench_llm_extraction(samples: int = 2) -> dict:
    """LLM calls per report on the gold reports as published and re-rendered in every layout (target 0:
    the rules read them all, and the chain runs only when `needs_llm`), and seconds per call through
    the bundled model (llama.cpp, Gemma 3 270M) on a few drift renderings (eval/drift.py), where the
    rules leave gaps for it."""
    from eval import drift, render
    from service.llm import LLM, local
    from service.pipeline import read

    if not local.installed():
        return {"skipped": "the bundled model is not installed (make test installs it)"}
    dirs = [p.parent for d in GOLD_DIRS for p in sorted(d.glob("*/gold.json"))]
    golds = [json.loads((d / "gold.json").read_text("utf-8")) for d in dirs]
    inputs = [(s.read_bytes(), s.name) for s in _sources()]
    inputs += [render.render(g, layout) for g in golds for layout in render.LAYOUTS]
    with tempfile.TemporaryDirectory() as directory:
        process, config = local.start(Path(directory))
        try:
            config = config.model_copy(update={"cache_dir": None})
            made: list = []  # a client for every clean report the pipeline found a gap in
            reports = [read(data, name, lambda: made.append(LLM(config)) or made[-1])[1] for data, name in inputs]
            runs = [drift.run_one(r, g, lambda: LLM(config)) for g, r in
                    zip(golds[:samples], drift.renderings(golds[:samples], ("drift_t2_prose",)))]
        finally:
            process.terminate()
            process.wait(timeout=30)
    timed = drift.aggregate(runs, "drift_t2_prose")
    return {"model": config.model, "clean_reports": len(inputs), "clean_reports_needing_llm": len(made),
            "clean_llm_calls_per_report": round(sum(r.llm.calls for r in reports if r.llm) / len(inputs), 3),
            "target_calls_per_report": 0,
            "drift_reports": len(runs), "drift_llm_calls": timed["llm_calls"], "seconds_per_call": timed["seconds_per_call"],
            "output_tokens": timed["output_tokens"], "accepted_wrong": timed["accepted_wrong"]}


def print_scaleout(embedded: dict, runs: dict) -> None:
    print(f"service, embedded queue vs Celery (2 workers): {embedded['reports_per_minute']} vs "
          f"{runs['service_celery']['reports_per_minute']} reports/min")
    for name in ("batch_local", "batch_celery", "batch_celery_kill"):
        run = runs[name]
        print(f"{name}: {run['records']}/{run['reports']} written ({run['distinct']} distinct, {run['lost']} lost, "
              f"{run['done']} done, attempts {run['attempts']}), {run['reports_per_minute']} reports/min"
              + (f", worker killed after {run['killed_after']}" if run.get("killed_after") else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "results" / "bench.json")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--mutations", type=int, default=1000, help="mutations per gold report")
    parser.add_argument("--uploads", type=int, default=200, help="concurrent uploads in the service run")
    parser.add_argument("--batch", type=int, default=1000, help="generated reports in the nianbao batch runs")
    args = parser.parse_args()
    result = {
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine()},
        "target_ms_per_report": TARGET_MS,
        "extraction": bench_extraction(args.repeats),
        "check": bench_check(args.repeats),
        "cli_wall": bench_cli(max(3, args.repeats // 6)),
        "mutations": mutations.run(args.mutations, seed=20261125),
        "service": bench_service(args.uploads),
        "scaleout": bench_scaleout(args.uploads, args.batch),
        "drafting": {**bench_drafting(), "llm_draft": bench_llm_draft()},
        "llm_extraction": bench_llm_extraction(),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    for fmt, ms in result["extraction"]["median_ms_by_format"].items():
        print(f"extraction {fmt}: median {ms} ms per report (target ≤ {TARGET_MS} ms)")
    print(f"check: median {result['check']['median_ms']} ms per report (target ≤ 5 ms)")
    print(f"CLI wall time: median {result['cli_wall']['median_ms']} ms; peak RSS {result['peak_rss_mb']} MB")
    service = result["service"]
    print(f"service: {service['finished']}/{service['uploads']} uploads done, {service['reports_per_minute']} reports/min, "
          f"upload-to-done p50 {service['p50_s']} s, p95 {service['p95_s']} s")
    print_scaleout(service, result["scaleout"])
    drafting = result["drafting"]
    print(f"store: index median {drafting['index_per_report']['median_ms']} ms per report ({drafting['reports']} reports, "
          f"{drafting['generated']} generated), past-report query median {drafting['query_past_reports']['median_ms']} ms; "
          f"draft median {drafting['draft_fallback']['median_ms']} ms, with retrieval "
          f"{drafting['draft_fallback_with_store']['median_ms']} ms")
    llm_draft = drafting["llm_draft"]
    print("LLM draft: " + (llm_draft.get("skipped") or f"median {llm_draft['median_ms']} ms, "
                           f"{llm_draft['llm_drafts']} by the model, {llm_draft['fallback_drafts']} fell back"))
    llm_extraction = result["llm_extraction"]
    print("LLM extraction: " + (llm_extraction.get("skipped") or
          f"{llm_extraction['clean_llm_calls_per_report']} calls per clean report ({llm_extraction['clean_reports']} "
          f"gold reports as published and re-rendered; target 0), {llm_extraction['seconds_per_call']} s per call "
          f"with {llm_extraction['model']} ({llm_extraction['drift_llm_calls']} calls on "
          f"{llm_extraction['drift_reports']} drift renderings)"))
    mutations.print_table(result["mutations"])
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
