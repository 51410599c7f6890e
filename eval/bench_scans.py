"""`make bench`, paper side: every gold report printed by eval/modalities.py and read back.

For each modality (digital PDF, scans at 200 and 150 dpi, phone photos) and each gold report:
field accuracy before and after checker-guided correction (service/correct.py), the cells that
correction changed and whether it was right, and seconds per page of reading (ingest and
extraction, the page images made beforehand), wall and CPU: on a machine shared with other work
the CPU time (all threads) says more about the code than the wall time does. Medians, since these machines are shared and
noisy; targets and floors are reported, never asserted (the tests hold a sample to floors).
Run in its own process so its peak memory is that of OCR alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
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
TARGETS = {"pdf_s_per_page": 0.3, "scan_s_per_page": 3.0, "peak_rss_mb": 2560}


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
    return {"pages": pages, "seconds": round(seconds, 3), "s_per_page": round(seconds / pages, 3),
            "cpu_s_per_page": round(cpu / pages, 3),
            "before": summarise(scores["before"]), "after": summarise(scores["after"]),
            "corrected": len(corrected), "corrected_right": sum(key in right for key in corrected),
            "wrong": [{"key": c.key, "expected": c.expected, "got": c.got} for c in scores["after"] if not c.right],
            "_cells": scores}


def run(directories: list[Path], chosen: tuple[str, ...] = tuple(modalities.MODALITIES)) -> dict:
    golds = [json.loads((d / "gold.json").read_text("utf-8")) for d in gold_reports(directories)]
    _read(golds[0], "scan150")  # load the models once, as a running service has them
    out = {}
    for modality in chosen:
        runs = {gold["id"]: _read(gold, modality) for gold in golds}
        cells = {stage: [c for r in runs.values() for c in r["_cells"][stage]] for stage in ("before", "after")}
        out[modality] = {
            "reports": len(runs), "pages": sum(r["pages"] for r in runs.values()),
            "before": summarise(cells["before"]), "after": summarise(cells["after"]),
            "floor": FLOORS.get(modality),
            "corrected": sum(r["corrected"] for r in runs.values()),
            "corrected_right": sum(r["corrected_right"] for r in runs.values()),
            "s_per_page_median": round(statistics.median(r["s_per_page"] for r in runs.values()), 3),
            "s_per_page_max": max(r["s_per_page"] for r in runs.values()),
            "cpu_s_per_page_median": round(statistics.median(r["cpu_s_per_page"] for r in runs.values()), 3),
            "by_report": {k: {key: v for key, v in r.items() if key != "_cells"} for k, r in runs.items()},
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "results" / "modalities.json")
    parser.add_argument("--modalities", default=",".join(modalities.MODALITIES))
    args = parser.parse_args()
    by_modality = run(GOLD_DIRS, tuple(args.modalities.split(",")))
    ocr_pages = [m["s_per_page_median"] for name, m in by_modality.items() if name != "pdf"]
    result = {
        "machine": {"cores": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2)},
        "targets": TARGETS,
        "pdf_s_per_page_median": by_modality.get("pdf", {}).get("s_per_page_median"),
        "scan_s_per_page_median": statistics.median(ocr_pages) if ocr_pages else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "by_modality": by_modality,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{'modality':<10}{'before':>10}{'after':>10}{'floor':>8}{'fixed':>8}{'s/page':>9}{'cpu s/page':>12}")
    for name, m in by_modality.items():
        print(f"{name:<10}{m['before']['field_accuracy']:>10.4%}{m['after']['field_accuracy']:>10.4%}"
              f"{m['floor'] or 0:>8.1%}{m['corrected_right']:>4}/{m['corrected']:<3}{m['s_per_page_median']:>9.2f}"
              f"{m['cpu_s_per_page_median']:>12.2f}")
    print(f"digital PDF {result['pdf_s_per_page_median']} s/page (target ≤ {TARGETS['pdf_s_per_page']}); "
          f"OCR {result['scan_s_per_page_median']} s/page (target ≤ {TARGETS['scan_s_per_page']}); "
          f"peak RSS {result['peak_rss_mb']} MB (target ≤ {TARGETS['peak_rss_mb']}); "
          f"load average {result['machine']['load_average_1m']} on {result['machine']['cores']} cores")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
