"""PDFs, scans and photos: gold reports printed by eval/modalities.py and read back.

The digital PDF is held to 100 % on every gold report; the OCR modalities run on a small sample
(OCR costs seconds a page) against floors below the figures `make bench` measures on all gold.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from fpdf import FPDF
from PIL import Image

from eval import modalities
from service import pipeline
from service.check import check
from service.correct import correct_ocr
from service.document import Cell, Document, DocumentBuilder, Location, OcrReading
from service.extract import extract
from service.ingest import load, ocr
from service.numbers import ocr_number
from service.report import FieldValue, Meta, Provenance, Report
from tests.conftest import ROOT, blank_equal, gold_report_dirs, load_gold, provenance

NIANBAO = Path(sys.executable).parent / "nianbao"
SAMPLE = "huaian-city-2024"  # two pages, hundreds of non-zero cells, four-digit numbers
FLOORS = {"scan200": 0.995, "scan150": 0.98, "photo_mild": 0.995, "photo_moderate": 0.995, "photo_severe": 0.995}


def _accuracy(gold: dict, data: bytes, name: str) -> tuple[float, pipeline.Report]:
    report = pipeline.extract_bytes(data, name)
    got = report.values()
    right = sum(key in got and blank_equal(expected, got[key]) for key, expected in gold["fields"].items())
    return right / len(gold["fields"]), report


@pytest.fixture(scope="module")
def sample_gold() -> dict:
    return load_gold(next(d for d in gold_report_dirs() if d.name == SAMPLE))


@pytest.mark.parametrize("report_dir", gold_report_dirs(), ids=lambda p: p.name)
def test_digital_pdf_printed_from_gold_reads_every_field(report_dir) -> None:
    gold = load_gold(report_dir)
    accuracy, report = _accuracy(gold, *modalities.render_modality(gold, "pdf"))
    assert accuracy == 1.0
    assert report.flat()["meta"] == gold["meta"]
    assert {f.method for f in report.fields.values()} == {"rule"}


@pytest.mark.parametrize("modality", FLOORS)
def test_scans_and_photos_meet_their_floors(modality, sample_gold) -> None:
    accuracy, report = _accuracy(sample_gold, *modalities.render_modality(sample_gold, modality))
    assert accuracy >= FLOORS[modality], modality
    rows = {key.rsplit(".", 1)[0] for key in sample_gold["fields"]}
    assert not [row for row in rows if not any(key.startswith(row + ".") for key in report.fields)]
    assert report.flat()["meta"] == sample_gold["meta"]
    assert {f.method for f in report.fields.values()} <= {"ocr", "ocr+check"}
    read = [provenance(f).location for f in report.fields.values()]
    assert all(where.ocr is not None and where.page and where.bbox for where in read)
    assert any(where.ocr.confidence < 1 for where in read if where.ocr)


def test_photos_break_tables_at_random_rows_and_worsen_with_severity(sample_gold) -> None:
    """A forced break adds pages; the same seed gives the same photos; harsher levels bound wider."""
    assert len(modalities.lay_out(sample_gold, split=1.0, rng=np.random.default_rng(0))) > len(modalities.lay_out(sample_gold))
    first, again = (modalities.photo_pages(sample_gold, seed=4, severity="mild")[0] for _ in range(2))
    assert np.array_equal(np.asarray(first), np.asarray(again))
    mild, severe = modalities.SEVERITIES["mild"], modalities.SEVERITIES["severe"]
    assert severe.perspective == 0.08 and severe.rotation == 5.0 and severe.quality[0] == 50 and severe.dpi[0] == 100
    assert all(getattr(severe, name) > getattr(mild, name) for name in ("perspective", "rotation", "bend", "shade", "blur"))


def test_a_page_scanned_sideways_and_upside_down_reads_as_upright(sample_gold) -> None:
    """Turned by 270°: the sideways check turns it by 90°, the line classifier by 180° more."""
    page = modalities.scan_pages(sample_gold, 200, seed=1)[1]  # the end of table 3, table 4
    buffer = io.BytesIO()
    page.transpose(Image.Transpose.ROTATE_270).save(buffer, "PNG")
    got = load(buffer.getvalue(), "page.png").text
    assert "行政复议" in got and "\t769\n" in got and "\t3050\n" in got


def test_a_row_whose_ruling_line_was_lost_is_read_by_its_text_lines(sample_gold) -> None:
    """The line between 予以公开 and 部分公开 rubbed out before scanning: the two rows share one
    band of the grid, and the numbers' text lines split it again."""
    sheet = modalities.lay_out(sample_gold)[0]
    baseline = {t.text: t.baseline for t in sheet.texts}
    upper, lower = baseline["（一）予以公开"], baseline["（二）部分公开"]
    rules = [r for r in sheet.rules if r.y0 == r.y1 and upper < r.y0 < lower]
    assert rules  # the line to rub out
    sheet.rules = [r for r in sheet.rules if r not in rules]
    page = modalities.scan(modalities.to_image(sheet, 200), 200, np.random.default_rng(2))
    report = extract(load(_png(page), "page.png"))
    for row in ("granted", "partially_granted"):
        keys = [k for k in sample_gold["fields"] if k.startswith(f"t3.{row}.")]
        assert {k: report.fields[k].value for k in keys} == {k: sample_gold["fields"][k] for k in keys}


def test_photos_of_a_reports_pages_given_in_page_order_read_as_one_report(sample_gold, tmp_path) -> None:
    """`nianbao extract p1.jpg p2.jpg p3.jpg`: a phone user's photos, one page each."""
    paths = []
    for number, page in enumerate(modalities.photo_pages(sample_gold, seed=5, severity="moderate"), start=1):
        paths.append(tmp_path / f"第{number}页.jpg")
        page.save(paths[-1], "JPEG", quality=85)
    done = subprocess.run([str(NIANBAO), "extract", *map(str, paths), "--llm", "off"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = Report.model_validate_json(done.stdout)
    assert {k: f.value for k, f in report.fields.items()} == sample_gold["fields"]
    assert max(provenance(f).location.page or 0 for f in report.fields.values()) == len(paths)
    mixed = subprocess.run([str(NIANBAO), "extract", str(paths[0]), str(ROOT / "README.md"), "--llm", "off"],
                           capture_output=True, text=True, timeout=120)
    assert mixed.returncode == 2 and "多个文件只能是同一份报告各页的照片" in mixed.stderr


def test_ocr_number_reads_what_recognisers_confuse() -> None:
    cases = {"l3": "13", "1 3": "13", "O": "0", "o": "0", "２０２": "202", "12.": "12", "1.234": "1234",
             "0:": "0", "'0": "0", "0-": "0", "-2": "-2", "--1": "-1", "—3": "-3", "一": "—", "12.5": "12.5", "其他": None, "3件": "3"}
    assert {text: ocr_number(text) for text in cases} == cases


def _ocr_report(values: dict[str, int], alternatives: dict[str, list[str]]) -> Report:
    fields = {}
    for key, value in values.items():
        reading = OcrReading(text=str(value), confidence=0.6 if key in alternatives else 0.99,
                             alternatives=alternatives.get(key, []))
        fields[key] = FieldValue(value=value, method="ocr", confidence=reading.confidence,
                                 provenance=Provenance(location=Location(ocr=reading), raw=str(value)))
    return Report(meta=Meta(template="2021"), fields=fields)


def _consistent_2021_values(sample_gold) -> dict[str, int]:
    return {k: v or 0 for k, v in sample_gold["fields"].items() if k.startswith(("t3.", "t4."))}


def test_checker_guided_correction_applies_the_one_repair_the_recogniser_nearly_read(sample_gold) -> None:
    values = _consistent_2021_values(sample_gold)
    key = "t3.granted.natural_person"  # 1288 printed, read as 1286 with 1288 as runner-up
    report = correct_ocr(_ocr_report({**values, key: 1286}, {key: ["1286", "1288", "1266"]}))
    assert report.fields[key].value == 1288 and report.fields[key].method == "ocr+check"
    assert provenance(report.fields[key]).alignment == "fuzzy" and any(key in w for w in report.warnings)


def test_checker_guided_correction_leaves_what_the_recogniser_did_not_doubt(sample_gold) -> None:
    values = _consistent_2021_values(sample_gold)
    key = "t3.granted.natural_person"
    report = correct_ocr(_ocr_report({**values, key: 1286}, {key: ["1285"]}))  # no reading restores it
    assert report.fields[key].value == 1286 and report.fields[key].method == "ocr"


def _unread(report: Report, key: str) -> Report:
    """The report with OCR having seen ink in `key`'s cell and read nothing."""
    cell = FieldValue(value=None, method="ocr", confidence=0.0, unread=True,
                      provenance=Provenance(raw="", location=Location(page=2, bbox=(90.0, 300.0, 120.0, 315.0),
                                                              ocr=OcrReading(text="", confidence=0.0, unread=True))))
    return report.model_copy(update={"fields": {**report.fields, key: cell}})


def test_a_cell_ocr_could_not_read_is_reported_and_filled_from_the_identities_alone(sample_gold) -> None:
    values = _consistent_2021_values(sample_gold)
    key = "t3.granted.natural_person"  # 1288: its row's total and its column's sums fix it
    report = _unread(_ocr_report(values, {}), key)
    findings = [f for f in check(report) if f.rule == "ocr.unread"]
    assert [f.fields for f in findings] == [[key]] and "予以公开" in findings[0].message
    assert not any(f.rule == "blank.cells" and key in f.fields for f in check(report))
    mended = correct_ocr(report)
    assert mended.fields[key].value == 1288 and mended.fields[key].method == "ocr+check"
    assert not mended.fields[key].unread and provenance(mended.fields[key]).location.bbox == (90.0, 300.0, 120.0, 315.0)


def test_two_unread_cells_of_table_3_are_each_fixed_by_their_own_row_and_column(sample_gold) -> None:
    values = _consistent_2021_values(sample_gold)
    keys = ("t3.granted.natural_person", "t3.granted.commercial")  # 1288 and 21
    mended = correct_ocr(_unread(_unread(_ocr_report(values, {}), keys[0]), keys[1]))
    assert [mended.fields[k].value for k in keys] == [1288, 21]
    assert not any(f.rule == "ocr.unread" for f in check(mended))


def test_two_unread_cells_that_only_their_sum_fixes_stay_unread_for_a_person(sample_gold) -> None:
    values = _consistent_2021_values(sample_gold)
    keys = ("t4.review.upheld", "t4.review.corrected")  # 72 and 64: many pairs make the group's total
    mended = correct_ocr(_unread(_unread(_ocr_report(values, {}), keys[0]), keys[1]))
    assert all(mended.fields[k].unread and mended.fields[k].value is None for k in keys)
    assert [f.fields for f in check(mended) if f.rule == "ocr.unread"] == [list(keys)]


def test_an_ocr_row_keeps_a_cell_it_could_not_read_in_its_place() -> None:
    """Ink read as nothing, and marks that are no number after the row's first number, are value
    cells that could not be read: the row keeps its seven columns and those cells are marked."""
    def cell(text: str, col: int, unread: bool = False) -> Cell:
        reading = OcrReading(text=text, confidence=0.0 if unread else 0.97, unread=unread)
        return Cell(text=text, row=0, col=col, location=Location(page=1, bbox=(col * 40.0, 0, col * 40.0 + 30, 12), ocr=reading))
    row = [cell("（一）予以公开", 0), cell("1288", 1), cell("", 2, unread=True), cell("0", 3), cell("0", 4),
           cell(":;", 5), cell("3", 6), cell("1362", 7)]
    header = [cell("三、本年度办理结果", 0)]
    report = extract(_document([header, row]))
    got = {k.rsplit(".", 1)[1]: f for k, f in report.fields.items() if k.startswith("t3.granted.")}
    assert got["natural_person"].value == 1288 and got["total"].value == 1362
    assert got["commercial"].unread and got["legal_services"].unread and got["commercial"].value is None
    table3 = next(t for t in report.incomplete if t.table == "t3")  # 5 of 7 cells read, 2 unread
    assert table3.read == 5 and "2 个单元格未能从图像中识别" in table3.reason
    assert provenance(got["commercial"]).location.bbox == (80.0, 0, 110.0, 12) and got["commercial"].confidence == 0


def _document(rows: list[list[Cell]]) -> Document:
    builder = DocumentBuilder("image")
    builder.table(rows, page=1, bbox=(0.0, 0.0, 400.0, 100.0))
    return builder.build()


def _ocr_cell(text: str, col: int, alternatives: tuple[str, ...] = ()) -> Cell:
    reading = OcrReading(text=text, confidence=0.5 if alternatives else 0.97, alternatives=list(alternatives))
    return Cell(text=text, row=0, col=col, location=Location(page=1, bbox=(col * 40.0, 0, col * 40.0 + 30, 12), ocr=reading))


def test_an_ocr_label_is_read_as_its_runner_up_or_one_character_off_when_that_names_a_row() -> None:
    """予 read as 子 with 予 as runner-up; 罚 read as 界 with no useful runner-up. Words that are
    one character off two names, or short, stay as read."""
    rows = [[_ocr_cell("第二十条第（六）项", 0)],
            [_ocr_cell("行政处界", 0, ("行政处园",)), _ocr_cell("5", 1)],
            [_ocr_cell("三、本年度办理结果", 0)],
            [_ocr_cell("（一）子以公开", 0, ("（一）予以公开", "(一）子以公开")),
             *(_ocr_cell(v, i + 1) for i, v in enumerate(["12", "1", "0", "0", "0", "0", "13"]))]]
    report = extract(_document(rows))
    assert report.fields["t2.penalty.decisions"].value == 5
    assert report.fields["t3.granted.total"].value == 13 and report.fields["t3.granted.natural_person"].value == 12
    between = [[_ocr_cell("第二十条第（六）项", 0)], [_ocr_cell("行政强罚", 0), _ocr_cell("5", 1)],  # 处罚? 强制?
               [_ocr_cell("行政许可", 0), _ocr_cell("2", 1)]]
    report = extract(_document(between))
    assert "t2.penalty.decisions" not in report.fields and "t2.coercion.decisions" not in report.fields
    assert report.fields["t2.licensing.decisions"].value == 2


# ---------------------------------------------------------------------------------------------- bad input
def _pdf(pages: int, encrypt: bool = False) -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for _ in range(pages):
        pdf.add_page()
        pdf.text(20, 20, "page")
    if encrypt:
        pdf.set_encryption(owner_password="owner", user_password="user")
    return bytes(pdf.output())


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _not_a_report_photo() -> bytes:
    """A phone photo of a meeting notice: text, but none of a disclosure report."""
    sheet = modalities.Sheet(texts=[modalities.Text(90, 120 + 40 * i, 16, line) for i, line in enumerate(
        ["关于召开安全生产工作会议的通知", "各科室：", "经研究，定于下周一上午九时召开会议。", "请各科室负责人准时参加。"])])
    return _png(modalities.photo(modalities.to_image(sheet, 150), np.random.default_rng(3)))


BAD = {
    "encrypted-pdf": (lambda: _pdf(1, encrypt=True), "r.pdf", "已加密"),
    "corrupt-pdf": (lambda: _pdf(3)[:400], "r.pdf", "已损坏"),
    "500-page-pdf": (lambda: _pdf(500), "r.pdf", "超过 100 页"),
    "corrupt-image": (lambda: _png(Image.new("L", (50, 50), 255))[:60], "r.png", "已损坏"),
    "image-without-text": (lambda: _png(Image.effect_noise((1200, 1700), 8).point(lambda v: 200 + v // 5)),
                           "r.jpg", "没有识别到文字"),
    "photo-of-something-else": (_not_a_report_photo, "r.png", "未识别到"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_pdfs_and_images_get_a_chinese_message(case) -> None:
    make, name, message = BAD[case]
    with pytest.raises(pipeline.InputError) as caught:
        pipeline.extract_bytes(make(), name)
    assert message in caught.value.message


def test_cli_reports_a_bad_scan_without_a_traceback(tmp_path) -> None:
    path = tmp_path / "r.pdf"
    path.write_bytes(_pdf(1, encrypt=True))
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "nianbao"), "extract", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "已加密" in done.stderr and "Traceback" not in done.stderr


# ---------------------------------------------------------------------------------------------- offline
def test_models_ship_inside_the_installed_package() -> None:
    package = ocr.model_files()[0].parents[1]
    assert package.name == "rapidocr_onnxruntime" and "site-packages" in package.parts
    assert all(path.is_file() and package in path.parents for path in ocr.model_files())


def test_the_shortened_recogniser_computes_what_the_shipped_model_does() -> None:
    import onnx

    path = ocr._config("Rec")["model_path"]
    plain, shortened = ocr._session(path), ocr._session(ocr._shortened(path))
    lines = np.random.default_rng(0).uniform(-1, 1, (4, 3, 48, 320)).astype(np.float32)
    name = plain.get_inputs()[0].name
    assert np.abs(plain.run(None, {name: lines})[0] - shortened.run(None, {name: lines})[0]).max() < 1e-3
    # a new model version whose graph no longer matches would silently lose the speed-up
    assert len(onnx.load_from_string(ocr._shortened(path)).graph.node) < len(onnx.load(path).graph.node) - 100


_OFFLINE = textwrap.dedent("""
    import socket, sys
    def refuse(*args, **kwargs):
        raise OSError("network access during OCR: " + repr(args))
    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse
    from eval import modalities
    from service.pipeline import extract_bytes
    import json
    gold = json.load(open(sys.argv[1], encoding="utf-8"))
    page = modalities.scan_pages(gold, 150)[1]
    import io
    buffer = io.BytesIO()
    page.save(buffer, "PNG")
    report = extract_bytes(buffer.getvalue(), "page.png")
    print(report.fields["t3.total.total"].value, report.fields["t3.total.total"].method)
""")


def test_ocr_runs_with_the_network_refused(tmp_path, sample_gold) -> None:
    """A fresh interpreter, so the models load under the guard, with every proxy unset."""
    environment = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    environment.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", NO_PROXY="*")
    gold_path = next(d for d in gold_report_dirs() if d.name == SAMPLE) / "gold.json"
    done = subprocess.run([sys.executable, "-c", _OFFLINE, str(gold_path)], capture_output=True, text=True,
                          timeout=300, env=environment, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [str(sample_gold["fields"]["t3.total.total"]), "ocr"]
