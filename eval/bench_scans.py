"""`make bench`, paper side: every gold report printed by eval/modalities.py and read back.

For each modality (digital PDF, scans at 200 and 150 dpi, phone photos) and each gold report:
field accuracy before and after checker-guided correction (service/correct.py), the cells that
correction changed and whether it was right, and seconds per page of reading (ingest and
extraction, the page images made beforehand), wall and CPU: on a machine shared with other work
the CPU time (all threads) says more about the code than the wall time does. Medians, since these machines are shared and
noisy; targets and floors are reported, never asserted (the tests hold a sample to floors).
Each modality runs in a fresh process, so its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from eval import modalities
from eval.score import score_cells, summarise
from eval.suite import gold_reports
from service.correct import correct_ocr
from service.extract import extract
from service.ingest import load

ROOT = Path(__file__).resolve().parents[1]
GOLD_DIRS = [ROOT.parent / "shared" / "gold", ROOT / "eval" / "gold"]
FLOORS = {"pdf": 1.0, "scan200": 0.995, "scan150": 0.98, "photo_mild": 0.995, "photo_moderate": 0.995, "photo_severe": 0.995}
TARGETS = {"pdf_s_per_page": 0.3, "scan_s_per_page": 3.0, "photo_s_per_page": 2.0, "peak_rss_mb": 2560}


def _read(gold: dict, modality: str) -> dict:
    data, name = modalities.render_modality(gold, modality)
    started, cpu_started = time.perf_counter(), time.process_time()
    document = load(data, name)
    before = extract(document)
    after = correct_ocr(before)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    pages = max([b.location.page or 1 for b in document.blocks] or [1])
    scores = {stage: score_cells(gold["id"], modality, gold, report.flat()) for stage, report in
              (("before", before), ("after", after))}
    corrected = [key for key, value in after.fields.items() if value.method == "ocr+check"]
    right = {c.key for c in scores["after"] if c.right}
    rows = {key.rsplit(".", 1)[0] for key in gold["fields"]}
    absent = sorted(row for row in rows if not any(key.startswith(row + ".") for key in after.fields))
    return {"pages": pages, "rows_absent": len(absent), "absent": absent, "seconds": round(seconds, 3), "s_per_page": round(seconds / pages, 3),
            "cpu_s_per_page": round(cpu / pages, 3),
            "before": summarise(scores["before"]), "after": summarise(scores["after"]),
            "corrected": len(corrected), "corrected_right": sum(key in right for key in corrected),
            "wrong": [{"key": c.key, "expected": c.expected, "got": c.got} for c in scores["after"] if not c.right],
            "_cells": scores}


def run(directories: list[Path], chosen: tuple[str, ...] = tuple(modalities.MODALITIES)) -> dict:
    """Each modality in a fresh process, so that its peak memory is its own."""
    spawn = multiprocessing.get_context("spawn")
    out = {}
    for modality in chosen:
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as worker:
            out[modality] = worker.submit(_modality, [str(d) for d in directories], modality).result()
    return out


def _modality(directories: list[str], modality: str) -> dict:
    golds = [json.loads((d / "gold.json").read_text("utf-8")) for d in gold_reports([Path(p) for p in directories])]
    _read(golds[0], "scan150")  # load the models once, as a running service has them
    runs = {gold["id"]: _read(gold, modality) for gold in golds}
    cells = {stage: [c for r in runs.values() for c in r["_cells"][stage]] for stage in ("before", "after")}
    return {
        "reports": len(runs), "pages": sum(r["pages"] for r in runs.values()),
        "before": summarise(cells["before"]), "after": summarise(cells["after"]),
        "floor": FLOORS.get(modality),
        "rows_absent": sum(r["rows_absent"] for r in runs.values()),
        "corrected": sum(r["corrected"] for r in runs.values()),
        "corrected_right": sum(r["corrected_right"] for r in runs.values()),
        "s_per_page_median": round(statistics.median(r["s_per_page"] for r in runs.values()), 3),
        "s_per_page_max": max(r["s_per_page"] for r in runs.values()),
        "cpu_s_per_page_median": round(statistics.median(r["cpu_s_per_page"] for r in runs.values()), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "by_report": {k: {key: v for key, v in r.items() if key != "_cells"} for k, r in runs.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "results" / "modalities.json")
    parser.add_argument("--modalities", default=",".join(modalities.MODALITIES))
    args = parser.parse_args()
    by_modality = run(GOLD_DIRS, tuple(args.modalities.split(",")))
    ocr_pages = [m["s_per_page_median"] for name, m in by_modality.items() if name.startswith("scan")]
    photo_pages = [m["s_per_page_median"] for name, m in by_modality.items() if name.startswith("photo")]
    result = {
        "machine": {"cores": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2)},
        "targets": TARGETS,
        "pdf_s_per_page_median": by_modality.get("pdf", {}).get("s_per_page_median"),
        "scan_s_per_page_median": statistics.median(ocr_pages) if ocr_pages else None,
        "photo_s_per_page_median": statistics.median(photo_pages) if photo_pages else None,
        "peak_rss_mb": max(m["peak_rss_mb"] for m in by_modality.values()),
        "by_modality": by_modality,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{'modality':<16}{'before':>9}{'after':>9}{'non-zero':>9}{'floor':>7}{'fixed':>8}{'rows lost':>10}"
          f"{'s/page':>8}{'cpu s/page':>11}{'peak MB':>9}")
    for name, m in by_modality.items():
        print(f"{name:<16}{m['before']['field_accuracy']:>9.2%}{m['after']['field_accuracy']:>9.2%}"
              f"{m['after']['nonzero_accuracy']:>9.2%}{m['floor'] or 0:>7.1%}{m['corrected_right']:>4}/{m['corrected']:<3}"
              f"{m['rows_absent']:>10}{m['s_per_page_median']:>8.2f}{m['cpu_s_per_page_median']:>11.2f}{m['peak_rss_mb']:>9.0f}")
    print(f"digital PDF {result['pdf_s_per_page_median']} s/page (target ≤ {TARGETS['pdf_s_per_page']}); "
          f"scans {result['scan_s_per_page_median']} s/page (target ≤ {TARGETS['scan_s_per_page']}); "
          f"photos {result['photo_s_per_page_median']} s/page (target ≤ {TARGETS['photo_s_per_page']}); "
          f"peak RSS {result['peak_rss_mb']} MB (target ≤ {TARGETS['peak_rss_mb']}); "
          f"load average {result['machine']['load_average_1m']} on {result['machine']['cores']} cores")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
