"""Questions embedded by ONNX Runtime: the same vectors as PyTorch, in less than half the time.

A question is one short forward pass, and on two CPU cores PyTorch spends more time
around that pass than in it. The model's transformer is exported once to ONNX
(`export_queries`, into the folder the caller names: next to a fine-tuned version, or
under ARGOT_HOME for the base model), checked against PyTorch on a few sentences, and
from then on questions go through an `onnxruntime` session with the model's own pooling
and normalisation. Documents (ingest, re-embedding) stay with PyTorch, whose batches are
already efficient. A model whose layout is not Transformer → Pooling (mean or CLS) →
Normalize, or whose exported vectors differ from PyTorch's, is not exported, and its
questions stay with PyTorch.

Measured on the demo's 211 questions (bench/onnx_query.py, docs/benchmarks.md): one
question 11.8 ms in PyTorch, 5.1 ms here, minimum cosine to PyTorch's vector 1.0000,
dense nDCG@10 unchanged.

Example:
    >>> if export_queries(model, folder):
    ...     vectors = OnnxQueryEncoder(folder).encode(["what is the tollbooth?"])
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine.embedders import normalise

log = logging.getLogger(__name__)

SETTINGS_FILE = "encoder.json"
MODEL_FILE = "model.onnx"
POOLINGS = ("mean", "cls")
CHECK_SENTENCES = ("what is the tollbooth?", "Who owns the billing service when it is down at night?",
                   "RLQ")
MIN_COSINE = 0.9999
"""How close the exported model's vectors must be to PyTorch's to be used."""


class OnnxQueryEncoder:
    """An exported model: tokenizer, ONNX session, pooling. Thread-safe (one session)."""

    def __init__(self, folder: Path, threads: int | None = None) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        settings = json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))
        self.pooling: str = settings["pooling"]
        self.normalize: bool = settings["normalize"]
        self.max_length: int = settings["max_length"]
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle session threads must not spin: on two cores they would take the CPU from
        # the bot's other threads (and from PyTorch in the same process).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(folder / MODEL_FILE), options,
                                            providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        batch = self.tokenizer(list(texts), padding=True, truncation=True,
                               max_length=self.max_length, return_tensors="np")
        hidden = self.session.run(None, {name: np.asarray(batch[name], dtype=np.int64)
                                         for name in self.inputs})[0]
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = batch["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        return normalise(pooled) if self.normalize else np.asarray(pooled, dtype=np.float32)


def is_exported(folder: Path) -> bool:
    return (folder / SETTINGS_FILE).is_file() and (folder / MODEL_FILE).is_file()


def export_queries(model: Any, folder: Path) -> bool:
    """Export a SentenceTransformer's question path to `folder` and check it; False (and
    nothing written) when its layout is not supported or the check fails."""
    layout = _layout(model)
    if layout is None:
        log.info("questions stay with PyTorch: the model is not Transformer → Pooling → Normalize")
        return False
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".onnx-", dir=folder.parent))
    try:
        _write(model, staging, layout)
        encoder = OnnxQueryEncoder(staging)
        expected = model.encode(list(CHECK_SENTENCES), convert_to_numpy=True,
                                normalize_embeddings=layout["normalize"])
        cosine = float(np.min(np.sum(normalise(encoder.encode(CHECK_SENTENCES)) * normalise(expected),
                                     axis=1)))
        if cosine < MIN_COSINE:
            log.warning("questions stay with PyTorch: the ONNX export differs (cosine %.5f)", cosine)
            return False
        if not is_exported(folder):  # another process may have exported it meanwhile
            shutil.rmtree(folder, ignore_errors=True)
            try:
                staging.rename(folder)  # the whole export appears at once, or none of it
            except OSError:
                return is_exported(folder)  # lost the race to another process: use its export
        return True
    except Exception as exc:  # an exporter or runtime that cannot take this model
        log.warning("questions stay with PyTorch: cannot export the model to ONNX: %s", exc)
        return False
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _layout(model: Any) -> dict[str, Any] | None:
    modules = list(model)
    names = [type(m).__name__ for m in modules]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return None
    pooling = modules[1].get_config_dict()
    if pooling.get("pooling_mode") not in POOLINGS or pooling.get("include_prompt") is False:
        return None
    return {"pooling": pooling["pooling_mode"], "normalize": len(modules) == 3,
            "max_length": int(model.max_seq_length)}


def _write(model: Any, folder: Path, layout: dict[str, Any]) -> None:
    import torch

    inner = model[0].auto_model
    sample = model.tokenizer(list(CHECK_SENTENCES[:1]), return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class ByName(torch.nn.Module):
        """The transformer with its inputs by name: their positions differ by version."""

        def __init__(self) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *tensors: Any) -> Any:
            return self.inner(**dict(zip(names, tensors, strict=True))).last_hidden_state

    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
    was_training = inner.training
    inner.eval()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on shapes: noise in the bot's log
            torch.onnx.export(ByName(), tuple(sample[n] for n in names), str(folder / MODEL_FILE),
                              input_names=names, output_names=["last_hidden_state"],
                              dynamic_axes=axes, opset_version=17, dynamo=False)
    finally:
        inner.train(was_training)
    model.tokenizer.save_pretrained(str(folder))
    (folder / SETTINGS_FILE).write_text(json.dumps(layout), encoding="utf-8")

