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

import os
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

# Width (in model pixels, 48 high) that a batch holds in all. The recogniser's cost per pixel is
# flat up to a few thousand and rises by half beyond (its activations outgrow the CPU caches): a
# batch of 12 lines 1434 wide cost 1.8 s, the same lines one at a time a third less.
_BATCH_PIXELS = 576
_WORKERS = os.cpu_count() or 2
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


def _session(model: str | bytes):
    """A one-thread CPU session: callers run one batch (or one page) per core instead. Small
    batches gain little from splitting each operator across cores, and on a shared machine every
    operator then waits for the core that was taken away (measured: ~10 % less wall time)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


@cache
def _recogniser():
    from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer

    with _lock:
        config = _config("Rec")
        model = TextRecognizer(config)  # its character list (from the model) and its resizing
        model.session.session = _session(_shortened(config["model_path"]))
        return model


@cache
def _classifier():
    from rapidocr_onnxruntime.ch_ppocr_cls import TextClassifier

    with _lock:
        config = _config("Cls")
        model = TextClassifier(config)
        model.infer.session = _session(config["model_path"])
        return model


def _shortened(model_path: str) -> bytes:
    """The recogniser's graph with its element-wise chains shortened, in memory. Every convolution
    of PP-LCNetV3 (as paddle2onnx wrote it) is followed by eight element-wise operators that
    onnxruntime does not fuse, and on these small tensors they took a third of the time:
      conv → ·s + b               s and b go into the conv's weights and bias;
      ·s + b → 1×1 conv           likewise (no padding, so exactly);
      x · clip(x + 3, 0, 6) / 6   hard-swish as x · HardSigmoid(x) (HardSwish itself needs opset 14).
    Same readings on all 1,275 crops of four gold renderings (probabilities within 3e-4), 20 % less CPU."""
    import onnx

    model = onnx.load(model_path)
    graph = _Graph(list(model.graph.node))
    for conv in graph.of_type("Conv"):
        graph.fold_affine_after(conv)
        graph.fold_affine_before(conv)
    for div in graph.of_type("Div"):
        graph.shorten_hard_swish(div)
    del model.graph.node[:]
    model.graph.node.extend(graph.nodes())
    return model.SerializeToString()


class _Graph:
    """Just enough of an ONNX graph to rewrite it: constants, producers and consumers by name."""

    def __init__(self, nodes: list) -> None:
        self._nodes = nodes
        self._constants = {n.output[0]: n.attribute[0].t for n in nodes if n.op_type == "Constant"}
        self._producer = {name: n for n in nodes for name in n.output}
        self._consumers: dict[str, list] = defaultdict(list)
        for n in nodes:
            for name in n.input:
                self._consumers[name].append(n)
        self._replaced: dict[int, list] = {}  # id(node) → what stands in its place (nothing: dropped)

    def nodes(self) -> list:
        return [m for n in self._nodes for m in self._replaced.get(id(n), [n])]

    def of_type(self, op: str) -> list:
        return [n for n in self._nodes if n.op_type == op]

    def value(self, name: str) -> np.ndarray | None:
        from onnx import numpy_helper

        return numpy_helper.to_array(self._constants[name]) if name in self._constants else None

    def number(self, name: str) -> float | None:
        value = self.value(name)
        return float(value.item()) if value is not None and value.size == 1 else None

    def set_value(self, name: str, array: np.ndarray) -> None:
        from onnx import numpy_helper

        self._constants[name].CopyFrom(numpy_helper.from_array(array.astype(np.float32), name))

    def sole_consumer(self, name: str):
        consumers = self._consumers[name]
        return consumers[0] if len(consumers) == 1 else None

    def sole_producer(self, name: str):
        """The node that makes `name`, when nothing else reads it (so it can go)."""
        return self._producer.get(name) if len(self._consumers[name]) == 1 else None

    def scalar(self, node, op: str) -> tuple[float, str] | None:
        """For `op` (Mul, Add) with a one-element constant: that constant and the other input."""
        if node is None or node.op_type != op or id(node) in self._replaced:
            return None
        for constant, other in (node.input, node.input[::-1]):
            if (number := self.number(constant)) is not None:
                return number, other
        return None

    def _weights(self, conv) -> tuple[np.ndarray, np.ndarray] | None:
        """A conv's own weights and bias, when they are constants no other node reads."""
        if len(conv.input) != 3 or any(len(self._consumers[name]) > 1 for name in conv.input[1:]):
            return None
        weights, bias = self.value(conv.input[1]), self.value(conv.input[2])
        return None if weights is None or bias is None else (weights, bias)

    def fold_affine_after(self, conv) -> None:
        mul = self.sole_consumer(conv.output[0])
        add = mul and self.sole_consumer(mul.output[0])
        scale, shift, weights = self.scalar(mul, "Mul"), self.scalar(add, "Add"), self._weights(conv)
        if scale is None or shift is None or weights is None:
            return
        self.set_value(conv.input[1], weights[0] * scale[0])
        self.set_value(conv.input[2], weights[1] * scale[0] + shift[0])
        conv.output[0] = add.output[0]
        self._replaced[id(mul)] = self._replaced[id(add)] = []

    def fold_affine_before(self, conv) -> None:
        add = self.sole_producer(conv.input[0])
        shift = self.scalar(add, "Add")
        mul = self.sole_producer(shift[1]) if shift else None
        scale, weights = self.scalar(mul, "Mul"), self._weights(conv)
        padded = any(a.name == "pads" and any(a.ints) for a in conv.attribute)
        if shift is None or scale is None or weights is None or weights[0].shape[2:] != (1, 1) or padded:
            return
        self.set_value(conv.input[1], weights[0] * scale[0])
        self.set_value(conv.input[2], weights[1] + shift[0] * weights[0].sum(axis=(1, 2, 3)))
        conv.input[0] = scale[1]
        self._replaced[id(mul)] = self._replaced[id(add)] = []

    def shorten_hard_swish(self, div) -> None:
        from onnx import helper

        mul = self.sole_producer(div.input[0])
        if self.number(div.input[1]) != 6 or mul is None or mul.op_type != "Mul":
            return
        for x, gated in (mul.input, mul.input[::-1]):
            clip = self.sole_producer(gated)
            add = self.sole_producer(clip.input[0]) if clip is not None and clip.op_type == "Clip" else None
            bounds = [self.number(name) for name in clip.input[1:]] if add is not None else None
            if self.scalar(add, "Add") == (3.0, x) and bounds == [0.0, 6.0]:
                gate = div.output[0] + ".gate"
                self._replaced[id(div)] = [helper.make_node("HardSigmoid", [x], [gate], alpha=1 / 6, beta=0.5),
                                           helper.make_node("Mul", [x, gate], [div.output[0]])]
                self._replaced[id(mul)] = self._replaced[id(clip)] = self._replaced[id(add)] = []
                return


def model_files() -> list[Path]:
    """The model files recognition loads: all inside the installed package."""
    return [Path(_config(section)["model_path"]) for section in ("Rec", "Cls")]


def recognise(crops: list[np.ndarray]) -> list[Reading]:
    """Read grey-scale line crops, in small batches of similar width, one batch per core."""
    if not crops:
        return []
    model = _recogniser()
    batches = _batches(crops)[::-1]  # widest first, so that no core is left with a long one at the end
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:  # onnxruntime releases the GIL
        readings = list(pool.map(lambda chosen: _read_batch(model, [crops[i] for i in chosen]), batches))
    out: dict[int, Reading] = {}
    for chosen, read in zip(batches, readings):
        for i, reading in zip(chosen, read):
            out[i] = reading
    return [out[i] for i in range(len(crops))]  # every crop is in one batch


def _read_batch(model, crops: list[np.ndarray]) -> list[Reading]:
    images = [np.repeat(c[:, :, None], 3, axis=2) for c in crops]
    # Padded only to the widest crop of the batch (rapidocr pads to 320 px): most crops are short
    # numbers, and the recogniser's cost grows with the padded width.
    ratio = max(max(im.shape[1] / im.shape[0] for im in images), _MIN_RATIO)
    batch = np.stack([model.resize_norm_img(im, ratio) for im in images]).astype(np.float32)
    return [_decode(probs, model.postprocess_op.character) for probs in model.session(batch)[0]]


def _batches(crops: list[np.ndarray]) -> list[list[int]]:
    """Crop indices by width/height ratio, cut into batches of at most _BATCH_PIXELS padded width
    (a wider crop goes alone)."""
    ratios = [max(c.shape[1] / c.shape[0], _MIN_RATIO) for c in crops]
    batches: list[list[int]] = []
    for i in np.argsort(ratios, kind="stable"):
        if not batches or (len(batches[-1]) + 1) * 48 * ratios[i] > _BATCH_PIXELS:
            batches.append([])
        batches[-1].append(int(i))
    return batches


def _decode(probs: np.ndarray, characters: list[str]) -> Reading:
    """Greedy CTC with the runner-up of every character kept as an alternative reading, and a
    doubled character ("2" read as "22") as one when the blank that split it was unsure. Only the
    frames that are not blank are visited: most are blank."""
    best = probs.argmax(axis=1)
    frames = np.flatnonzero(best)
    if not frames.size:
        return Reading("", 1.0)
    others = probs[frames]
    others[np.arange(frames.size), best[frames]] = -1.0
    runners = others.argmax(axis=1)
    chars: list[tuple] = []  # char, its probability, runner-up, the runner-up's probability
    doubled: list[tuple[float, int]] = []  # (how unsure the splitting blank was, index of the copy)
    last = -2  # the previous frame that was not blank
    for t, runner in zip(frames, runners):
        index = best[t]
        read = (characters[index], probs[t, index], characters[runner] if runner else "", probs[t, runner])
        if t == last + 1 and index == best[last]:  # the same character goes on
            if read[1] > chars[-1][1]:  # its surest frame speaks for it
                chars[-1] = read
        else:
            if chars and t > last + 1 and chars[-1][0] == read[0]:
                doubled.append((1.0 - float(probs[last + 1:t, 0].min()), len(chars)))
            chars.append(read)
        last = int(t)
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
