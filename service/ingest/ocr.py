"""Text recognition with the PP-OCR models that the rapidocr-onnxruntime wheel ships.

Only two of its models are used: the line recogniser (PP-OCRv4 rec), on crops whose place the
page analysis already knows (table cells, text lines), and the 0°/180° line classifier for the
page orientation. Whole-page text detection is never run: it costs ~13 s a page on two cores,
while the grid of ruling lines gives the cells for free. The models load from the installed
package's own directory, so nothing is fetched at run time.

Decoding is greedy CTC, as rapidocr's own, but it also keeps what the model nearly read: every
character whose runner-up is likely enough gives an alternative reading of the crop, which the
checker-guided correction later weighs against the table's identities.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

_BATCH = 16
_MIN_RATIO = 1.5  # width / height a crop is padded to at least: room for a one-digit number
_ALTERNATIVE_MIN = 0.02  # a runner-up less likely than this is noise, not a reading
_MAX_ALTERNATIVES = 6
_lock = threading.Lock()  # onnxruntime sessions are thread-safe, but loading them is done once


@dataclass(frozen=True)
class Reading:
    text: str
    confidence: float  # the least sure character's probability; 1.0 for an empty crop
    alternatives: tuple[str, ...] = ()  # other readings, likeliest first


@cache
def _package_dir() -> Path:
    import rapidocr_onnxruntime

    return Path(rapidocr_onnxruntime.__file__).parent


def _config(section: str) -> dict:
    from rapidocr_onnxruntime.utils import read_yaml

    config = read_yaml(str(_package_dir() / "config.yaml"))
    options = {**config[section], "intra_op_num_threads": -1, "inter_op_num_threads": -1}
    options["model_path"] = str(_package_dir() / options["model_path"])
    return options


def _session(model_path: str):
    """A CPU session whose idle threads sleep instead of spinning: on a shared two-core machine
    spinning threads only take time from the page analysis running beside them."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(model_path, sess_options=options, providers=["CPUExecutionProvider"])


@cache
def _recogniser():
    from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer

    with _lock:
        config = _config("Rec")
        model = TextRecognizer(config)  # its character list (from the model) and its resizing
        model.session.session = _session(config["model_path"])
        return model


@cache
def _classifier():
    from rapidocr_onnxruntime.ch_ppocr_cls import TextClassifier

    with _lock:
        config = _config("Cls")
        model = TextClassifier(config)
        model.infer.session = _session(config["model_path"])
        return model


def model_files() -> list[Path]:
    """The model files recognition loads: all inside the installed package."""
    return [Path(_config(section)["model_path"]) for section in ("Rec", "Cls")]


def recognise(crops: list[np.ndarray]) -> list[Reading]:
    """Read grey-scale line crops, in batches of similar width (padding costs time)."""
    if not crops:
        return []
    model = _recogniser()
    characters = model.postprocess_op.character
    order = np.argsort([c.shape[1] / c.shape[0] for c in crops])
    out: list[Reading | None] = [None] * len(crops)
    for start in range(0, len(crops), _BATCH):
        chosen = order[start:start + _BATCH]
        images = [np.repeat(crops[i][:, :, None], 3, axis=2) for i in chosen]
        # Padded only to the widest crop of the batch (rapidocr pads to 320 px): most crops are
        # short numbers, and the recogniser's cost grows with the padded width.
        ratio = max(max(im.shape[1] / im.shape[0] for im in images), _MIN_RATIO)
        batch = np.stack([model.resize_norm_img(im, ratio) for im in images]).astype(np.float32)
        probabilities = model.session(batch)[0]
        for i, probs in zip(chosen, probabilities):
            out[i] = _decode(probs, characters)
    return out  # type: ignore[return-value]


def _decode(probs: np.ndarray, characters: list[str]) -> Reading:
    """Greedy CTC with the runner-up of every character kept as an alternative reading, and a
    doubled character ("2" read as "22") as one when the blank that split it was unsure."""
    frames = np.arange(len(probs))
    top2 = np.argpartition(-probs, 1, axis=1)[:, :2]
    first = np.where(probs[frames, top2[:, 0]] >= probs[frames, top2[:, 1]], 0, 1)
    best, runner = top2[frames, first], top2[frames, 1 - first]
    chars: list[list] = []  # char, its probability, runner-up, the runner-up's probability
    doubled: list[tuple[float, int]] = []  # (how unsure the splitting blank was, index of the copy)
    previous, weakest_blank = 0, 1.0
    for t, index in enumerate(best):
        if index == 0:
            weakest_blank = min(weakest_blank, probs[t, 0])
        elif index != previous:
            if chars and chars[-1][0] == characters[index] and previous == 0:
                doubled.append((1.0 - weakest_blank, len(chars)))
            chars.append([characters[index], probs[t, index], characters[runner[t]] if runner[t] else "",
                          probs[t, runner[t]]])
            weakest_blank = 1.0
        elif chars and probs[t, index] > chars[-1][1]:  # the surest frame of a character
            chars[-1] = [chars[-1][0], probs[t, index], characters[runner[t]] if runner[t] else "",
                         probs[t, runner[t]]]
        previous = index
    if not chars:
        return Reading("", 1.0)
    text = "".join(c[0] for c in chars)
    candidates = [(p, text[:i] + other + text[i + 1:]) for i, (_, _, other, p) in enumerate(chars)]
    candidates += [(p, text[:i] + text[i + 1:]) for p, i in doubled]
    ranked = dict.fromkeys(t for p, t in sorted(candidates, reverse=True) if p >= _ALTERNATIVE_MIN and t != text)
    return Reading(text, float(min(c[1] for c in chars)), tuple(ranked)[:_MAX_ALTERNATIVES])


def upside_down(crops: list[np.ndarray]) -> float:
    """Share of line crops the classifier finds turned by 180°, weighted by its certainty."""
    if not crops:
        return 0.0
    images = [np.repeat(c[:, :, None], 3, axis=2) for c in crops]
    _, results, _ = _classifier()(images)
    votes = [score if label == "180" else -score for label, score in results]
    return sum(v > 0 for v in votes) / len(votes)
