"""Query encoding with ONNX Runtime (fp32 and int8 dynamic quantization) against PyTorch.

Issue 12 asks whether ONNX Runtime lowers the floor of an answer (one query embedding)
on these 2 cores without costing retrieval quality. The fp32 encoder is Argot's own
(`engine.onnxqueries`: the transformer exported with `torch.onnx.export`, checked against
PyTorch, pooled as the model pools); the int8 one is the same export quantized with
`onnxruntime.quantization.quantize_dynamic` (int8 weights).

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
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

QUESTIONS = REPO / "bot" / "demo" / "questions.jsonl"


def quantized(folder: Path) -> Path:
    """A copy of an export (`engine.onnxqueries`) with int8 dynamic quantization."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from engine.onnxqueries import MODEL_FILE

    target = folder.parent / "int8"
    shutil.copytree(folder, target)
    quantize_dynamic(str(folder / MODEL_FILE), str(target / MODEL_FILE), weight_type=QuantType.QInt8)
    return target


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
    from engine.onnxqueries import MODEL_FILE, OnnxQueryEncoder, export_queries

    torch.set_num_threads(args.threads)
    embedder = SentenceTransformerEmbedder()
    model = embedder.model
    queries = QuerySet.load(QUESTIONS)
    texts = list(queries.texts)
    folder = Path(tempfile.mkdtemp(prefix="argot-onnx-")) / "fp32"
    if not export_queries(model, folder):
        raise SystemExit("the model could not be exported (see the log)")
    int8 = quantized(folder)
    encoders = {
        "PyTorch": lambda batch: embedder.embed_batch(batch, "query"),
        "ONNX Runtime fp32": OnnxQueryEncoder(folder, args.threads).encode,
        "ONNX Runtime int8": OnnxQueryEncoder(int8, args.threads).encode,
    }
    sizes = {"PyTorch": None, "ONNX Runtime fp32": (folder / MODEL_FILE).stat().st_size,
             "ONNX Runtime int8": (int8 / MODEL_FILE).stat().st_size}

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
