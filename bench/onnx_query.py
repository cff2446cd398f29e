"""Query encoding with ONNX Runtime (fp32 and int8 dynamic quantization) against PyTorch.

Issue 12 asks whether ONNX Runtime lowers the floor of an answer (one query embedding)
on these 2 cores without costing retrieval quality. sentence-transformers' own ONNX
backend needs `optimum-onnx`, which pins transformers below 4.58 (Argot runs 5.x), so
this benchmark exports the model's transformer itself (`torch.onnx.export`, the
TorchScript exporter), pools and normalises as the model does (mean pooling, L2), and
quantizes with `onnxruntime.quantization.quantize_dynamic` (int8 weights). Needs the
`onnx` package besides `onnxruntime` (`pip install onnx`).

It reports, for each encoder, the median time of one question (one thread per request,
the questions of `bot/demo/questions.jsonl`, alternated round by round), how close its
vectors are to PyTorch's, and dense nDCG@10 / MRR@10 on the demo's 211 questions with the
documents embedded once by PyTorch (only the question side changes, as it would in
serving).

    .venv/bin/python bench/onnx_query.py [--rounds 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

QUESTIONS = REPO / "bot" / "demo" / "questions.jsonl"


class OrtEncoder:
    """The model's transformer in ONNX Runtime, mean pooled and normalised."""

    def __init__(self, path: Path, tokenizer: Any, threads: int, max_length: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # leave the CPU to others
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.inputs = {i.name for i in self.session.get_inputs()}

    def encode(self, texts: list[str]) -> np.ndarray:
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                               return_tensors="np")
        feed = {name: np.asarray(batch[name], dtype=np.int64) for name in self.inputs if name in batch}
        hidden = self.session.run(None, feed)[0]
        mask = batch["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def export(model: Any, folder: Path) -> tuple[Path, Path]:
    """(fp32, int8) ONNX files of the model's transformer."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class Transformer(torch.nn.Module):
        """The model's transformer with its inputs by name (positions differ by version)."""

        def __init__(self, inner: Any, names: list[str]) -> None:
            super().__init__()
            self.inner, self.names = inner, names

        def forward(self, *tensors: Any) -> Any:
            return self.inner(**dict(zip(self.names, tensors, strict=True))).last_hidden_state

    sample = model.tokenizer(["what is the tollbooth?"], return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]
    transformer = Transformer(model[0].auto_model.eval(), names)
    fp32, int8 = folder / "model.onnx", folder / "model-int8.onnx"
    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    with torch.no_grad():
        torch.onnx.export(transformer, tuple(sample[n] for n in names), str(fp32), input_names=names,
                          output_names=["last_hidden_state"],
                          dynamic_axes={**axes, "last_hidden_state": {0: "batch", 1: "tokens"}},
                          opset_version=17, dynamo=False)
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    return fp32, int8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch

    from engine.embedders import SentenceTransformerEmbedder
    from engine.evaluation.corpus import EvalCorpus, ExactVectors
    from engine.evaluation.metrics import score_rankings
    from engine.evaluation.querysets import QuerySet
    from engine.knowledge.chunking import chunk_document
    from engine.knowledge.sources import collect

    torch.set_num_threads(args.threads)
    embedder = SentenceTransformerEmbedder()
    model = embedder.model
    queries = QuerySet.load(QUESTIONS)
    texts = list(queries.texts)
    folder = Path(tempfile.mkdtemp(prefix="argot-onnx-"))
    fp32, int8 = export(model, folder)
    max_length = int(model.max_seq_length)
    encoders = {
        "PyTorch": lambda batch: embedder.embed_batch(batch, "query"),
        "ONNX Runtime fp32": OrtEncoder(fp32, model.tokenizer, args.threads, max_length).encode,
        "ONNX Runtime int8": OrtEncoder(int8, model.tokenizer, args.threads, max_length).encode,
    }
    sizes = {"PyTorch": None, "ONNX Runtime fp32": fp32.stat().st_size,
             "ONNX Runtime int8": int8.stat().st_size}

    for encode in encoders.values():  # warm up
        encode(texts[:8])
    times: dict[str, list[float]] = {name: [] for name in encoders}
    for _ in range(args.rounds):
        for text in texts:
            for name, encode in encoders.items():
                started = time.perf_counter()
                encode([text])
                times[name].append(time.perf_counter() - started)

    documents = collect([str(REPO / "bot" / "demo" / "kb")]).documents
    corpus = EvalCorpus.from_chunks(chunk for d in documents for chunk in chunk_document(d))
    doc_vectors = embedder.embed_documents(corpus.texts)
    exact = ExactVectors(corpus, doc_vectors)
    reference = encoders["PyTorch"](texts)
    base = statistics.median(times["PyTorch"])
    print(f"{len(texts)} questions x {args.rounds} rounds, {args.threads} threads, "
          f"{len(corpus.chunks)} chunks; load average {os.getloadavg()[0]:.1f}")
    print("| encoder | one question, median ms | p95 ms | × PyTorch | size MB | min cosine to PyTorch "
          "| dense nDCG@10 | dense MRR@10 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, encode in encoders.items():
        vectors = np.asarray(encode(texts), dtype=np.float32)
        cosine = float(np.min(np.sum(vectors * reference, axis=1)))
        rankings = exact.rank_vectors(vectors, 10)
        found = score_rankings(zip(rankings, [set(q.relevant) for q in queries.queries], strict=True))
        median = statistics.median(times[name])
        p95 = float(np.percentile(times[name], 95))
        size = "–" if sizes[name] is None else f"{sizes[name] / 1e6:.0f}"
        print(f"| {name} | {median * 1000:.2f} | {p95 * 1000:.2f} | {median / base:.2f} | {size} "
              f"| {cosine:.4f} | {found.ndcg_at_10:.4f} | {found.mrr_at_10:.4f} |")


if __name__ == "__main__":
    main()
