"""Fine-tuning the embedding model on mined examples, and blending it with its base.

`fine_tune` trains with `SentenceTransformerTrainer` and `MultipleNegativesRankingLoss`
over (anchor, positive, negative_1 … negative_n): every other positive and negative in
the batch is a negative too, and the batch sampler keeps duplicates out of a batch so
a document is never its own negative. `TripletLoss` (the classic recipe) and
`GISTEmbedLoss` (MNRL with the base model as a guide that drops in-batch negatives it
scores above the positive: likely unrated right answers) are the options.

Training is sized to the data: a few dozen rated pairs are a handful of batches, which
one epoch would barely move, so the number of epochs rises until at least `min_steps`
optimizer steps are taken (at most `max_epochs`), and training stops when its time
budget (`max_seconds`) is spent, however far it got. Where the CPU computes bfloat16
natively (AVX512-BF16 or AMX), the forward and backward passes run in it (`precision`),
the weights and the optimizer staying in float32: more steps fit the same budget.

`blend` guards against forgetting the LM-Cocktail way: the new weights are
`alpha × fine-tuned + (1 - alpha) × base`; the learning cycle picks `alpha` on the
held-out questions, so a model that over-fitted the ratings is pulled back towards the
base, which still knows general English.

Tip:
    On a CPU, `TrainingConfig`'s defaults train MiniLM on a few hundred rated questions in
    minutes (docs/learning.md has how they were chosen).
    Larger batches help MNRL (more in-batch negatives) if memory and time allow.

Example:
    >>> result = fine_tune(default_model_path(), mined.examples, Path("ft0001"), TrainingConfig())
    >>> result.steps
    12
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from engine.errors import ArgotError
from engine.learning import pacing
from engine.learning.mining import TrainingExample

log = logging.getLogger(__name__)

Loss = Literal["mnrl", "triplet", "gist"]
LOSSES: tuple[str, ...] = get_args(Loss)
Precision = Literal["auto", "bf16", "fp32"]
PRECISIONS: tuple[str, ...] = get_args(Precision)


class TrainingError(ArgotError):
    """Training cannot start with what it was given; the message says what to provide."""


@dataclass(frozen=True)
class TrainingConfig:
    """How a candidate is trained.

    Args:
        loss: "mnrl" (MultipleNegativesRankingLoss, default), "triplet" (TripletLoss) or
            "gist" (GISTEmbedLoss guided by the base model).
        epochs: passes over the examples at least.
        min_steps: optimizer steps at least: more epochs for a small set (see `planned_epochs`).
        max_epochs: passes at most, however small the set.
        max_seconds: training stops after this long (0: no limit).
        batch_size: examples per step (MNRL: also the number of in-batch negatives).
        learning_rate: AdamW's peak rate, reached after `warmup_ratio` of the steps.
        max_seq_length: tokens per text while training (answers are cut to this).
        max_steps: stop after this many steps (-1: no limit; tests use a few).
        num_negatives: negative columns per MNRL row.
        frozen_layers: the word embeddings and this many of the lowest transformer layers
            stay as the base has them (0: every weight trains).
        precision: "bf16" computes in bfloat16 (autocast; the weights stay float32),
            "fp32" in float32, "auto" in bfloat16 where the CPU has it natively.
        seed: the same data and seed give the same model.
    """

    loss: Loss = "mnrl"
    epochs: float = 1.0
    min_steps: int = 60
    max_epochs: float = 10.0
    max_seconds: float = 150.0
    batch_size: int = 16
    learning_rate: float = 3e-5
    warmup_ratio: float = 0.1
    max_seq_length: int = 128
    max_steps: int = -1
    num_negatives: int = 1
    frozen_layers: int = 2
    precision: Precision = "auto"
    seed: int = 12


@dataclass(frozen=True)
class TrainingResult:
    model: Any
    """The fine-tuned `SentenceTransformer`, in memory."""
    steps: int
    rows: int
    loss: float | None
    seconds: float
    epochs: float = 1.0
    stopped_early: bool = False
    """True when the time budget ran out before the planned steps."""
    frozen_layers: int = 0
    """Transformer layers kept as the base has them (`freeze`: fewer than asked when the
    model has fewer, none when it is not BERT-like)."""
    precision: str = "fp32"
    """What the passes computed in: "bf16" or "fp32" (`computing_precision`)."""


def planned_epochs(rows: int, config: TrainingConfig) -> float:
    """Epochs for `rows` training rows: at least `config.epochs`, more until `min_steps`
    steps are reached, never more than `max_epochs`.

    Example:
        >>> planned_epochs(44, TrainingConfig())    # 3 batches an epoch → 10 epochs, 30 steps
        10.0
    """
    per_epoch = max(1, math.ceil(rows / max(1, config.batch_size)))
    wanted = config.min_steps / per_epoch
    return round(min(max(config.epochs, wanted), max(config.epochs, config.max_epochs)), 2)


def training_rows(examples: Sequence[TrainingExample], config: TrainingConfig
                  ) -> dict[str, dict[str, list[str]]]:
    """Column-wise datasets: {"with_negatives": {...}, "pairs": {...}} for MNRL, or
    {"triplets": {...}} for TripletLoss. Empty datasets are left out."""
    if config.loss == "triplet":
        triplets: dict[str, list[str]] = {"anchor": [], "positive": [], "negative": []}
        for example in examples:
            for negative in example.negatives:
                triplets["anchor"].append(example.anchor)
                triplets["positive"].append(example.positive)
                triplets["negative"].append(negative.text)
        return {"triplets": triplets} if triplets["anchor"] else {}
    width = max(1, config.num_negatives)
    columns = ["anchor", "positive", *(f"negative_{i + 1}" for i in range(width))]
    tuples: dict[str, list[str]] = {name: [] for name in columns}
    pairs: dict[str, list[str]] = {"anchor": [], "positive": []}
    for example in examples:
        texts = [n.text for n in example.negatives]
        if not texts:
            pairs["anchor"].append(example.anchor)
            pairs["positive"].append(example.positive)
            continue
        # More explicit negatives than columns: one row per group. A short group repeats
        # its own negatives, which only weighs them more in the softmax.
        for start in range(0, len(texts), width):
            group = texts[start:start + width]
            group = (group * width)[:width]
            tuples["anchor"].append(example.anchor)
            tuples["positive"].append(example.positive)
            for i, text in enumerate(group):
                tuples[f"negative_{i + 1}"].append(text)
    found = {}
    if tuples["anchor"]:
        found["with_negatives"] = tuples
    if pairs["anchor"]:
        found["pairs"] = pairs
    return found


def fine_tune(base: str, examples: Sequence[TrainingExample], config: TrainingConfig, *,
              work_dir: Path, query_prompt: str = "", document_prompt: str = "",
              progress: Callable[[str], None] | None = None) -> TrainingResult:
    """Fine-tune `base` (a model name or folder) on the examples.

    Args:
        base: the model to start from.
        examples: training examples; the held-out slice must not be among them.
        config: the hyper-parameters.
        work_dir: scratch space for the trainer (nothing is saved there by default).
        query_prompt / document_prompt: prompts the model answers with, used in training too.
        progress: hears "step 10/120, about 9 min left" about ten times while training.

    Returns:
        `TrainingResult` with the model in memory; `save` writes it.
    """
    rows = training_rows(examples, config)
    if not rows:
        raise TrainingError("The dataset is empty. Provide at least one rated question with a 👍"
                            + (" and a negative (TripletLoss needs one)" if config.loss == "triplet"
                               else "") + ".")
    from datasets import Dataset, DatasetDict
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import (
        GISTEmbedLoss,
        MultipleNegativesRankingLoss,
        TripletLoss,
    )
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers

    from engine.embedders import load_sentence_transformer

    started = time.perf_counter()
    model = load_sentence_transformer(base)
    answering_length = model.max_seq_length
    model.max_seq_length = min(config.max_seq_length, answering_length or config.max_seq_length)
    frozen = freeze(model, config.frozen_layers)
    precision = computing_precision(config.precision)
    datasets = {name: Dataset.from_dict(columns) for name, columns in rows.items()}
    train: Any = datasets if len(datasets) > 1 else next(iter(datasets.values()))
    if isinstance(train, dict):
        train = DatasetDict(train)
    if config.loss == "triplet":
        loss = TripletLoss(model)
    elif config.loss == "gist":
        guide = load_sentence_transformer(base)
        guide.max_seq_length = model.max_seq_length
        loss = GISTEmbedLoss(model, guide)
    else:
        loss = MultipleNegativesRankingLoss(model)
    total_rows = sum(len(d) for d in datasets.values())
    epochs = planned_epochs(total_rows, config)
    prompts = {}
    for columns in rows.values():
        for column in columns:
            prompt = query_prompt if column == "anchor" else document_prompt
            if prompt:
                prompts[column] = prompt
    args = SentenceTransformerTrainingArguments(
        output_dir=str(work_dir), num_train_epochs=epochs, max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size, learning_rate=config.learning_rate,
        warmup_steps=config.warmup_ratio, seed=config.seed, data_seed=config.seed,
        batch_sampler=BatchSamplers.NO_DUPLICATES, save_strategy="no", logging_strategy="no",
        report_to="none", disable_tqdm=True, use_cpu=True, dataloader_num_workers=0,
        bf16=precision == "bf16", prompts=prompts or None)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=train, loss=loss)
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    for callback in (PrinterCallback, ProgressCallback):  # stdout is for `argot train --json`
        trainer.remove_callback(callback)
    if progress is not None:
        trainer.add_callback(pacing.step_reporter(progress))
    budget = pacing.time_budget(config.max_seconds)
    trainer.add_callback(budget)
    output = trainer.train()
    # Mixed precision wraps the model's forward in autocast; answers and the candidate's
    # document vectors are computed in float32, as the saved model computes them.
    model = trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False)
    model.max_seq_length = answering_length  # answers read whole chunks again
    loss_value = getattr(output, "training_loss", None)
    log.info("trained %d steps on %d rows in %.1fs (%s)", output.global_step, total_rows,
             time.perf_counter() - started, precision)
    return TrainingResult(model, int(output.global_step), total_rows,
                          float(loss_value) if loss_value is not None else None,
                          time.perf_counter() - started, epochs, budget.stopped, frozen, precision)


def computing_precision(asked: str) -> str:
    """What `TrainingConfig.precision` computes in, "bf16" or "fp32": "auto" is bf16 where
    the CPU computes it natively (AVX512-BF16 or AMX); elsewhere bfloat16 is emulated, and
    slower than float32."""
    if asked != "auto":
        return asked
    import torch

    def has(feature: str) -> bool:  # torch.cpu's probes are private: absent means no
        probe = getattr(torch.cpu, f"_is_{feature}_supported", None)
        return bool(probe and probe())

    native = has("avx512_bf16") or has("amx_tile")
    return "bf16" if native else "fp32"


def freeze(model: Any, layers: int) -> int:
    """Keep the word embeddings and the lowest `layers` transformer layers of a
    sentence-transformers model out of training (at most all layers but one); returns how
    many layers were frozen. A model without BERT-like embeddings and encoder layers
    trains whole, with one log line."""
    if layers <= 0:
        return 0
    encoder = getattr(model[0], "auto_model", None)
    stack = getattr(getattr(encoder, "encoder", None), "layer", None)
    if stack is None or not hasattr(encoder, "embeddings"):
        log.warning("cannot freeze layers of %s: no BERT-like embeddings and encoder layers; "
                    "training every weight", type(encoder).__name__)
        return 0
    frozen = min(layers, len(stack) - 1)
    for part in (encoder.embeddings, *list(stack)[:frozen]):
        for weight in part.parameters():
            weight.requires_grad = False
    return frozen


def blend(tuned: Any, base_state: Mapping[str, Any], alpha: float) -> Any:
    """A copy of `tuned` whose weights are `alpha × tuned + (1 - alpha) × base`.

    Args:
        tuned: the fine-tuned `SentenceTransformer`.
        base_state: the base model's `state_dict()` (same architecture).
        alpha: 1.0 is the fine-tuned model itself, 0.0 the base; above 1 goes further
            from the base than the fine-tuning did (task arithmetic).
    """
    import copy

    import torch

    if alpha == 1.0:
        return tuned
    merged = copy.deepcopy(tuned)
    state = merged.state_dict()
    with torch.no_grad():
        for name, tensor in state.items():
            other = base_state.get(name)
            if other is not None and tensor.is_floating_point() and other.shape == tensor.shape:
                tensor.mul_(alpha).add_(other.to(tensor.dtype), alpha=1.0 - alpha)
    return merged


def base_state_dict(base: str) -> dict[str, Any]:
    from engine.embedders import load_sentence_transformer

    return load_sentence_transformer(base).state_dict()


def save(model: Any, folder: Path) -> Path:
    """Write a model so `SentenceTransformer(folder)` loads it."""
    folder.mkdir(parents=True, exist_ok=True)
    model.save(str(folder))
    return folder


def in_memory_embedder(model: Any, model_id: str, *, query_prompt: str | None = None,
                       document_prompt: str | None = None, batch_size: int = 64) -> Any:
    """A `SentenceTransformerEmbedder` over a model that is in memory, not yet on disk."""
    from engine.embedders import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder(f"in-memory:{model_id}", model_id=model_id,
                                           query_prompt=query_prompt,
                                           document_prompt=document_prompt, batch_size=batch_size)
    embedder._model = model  # noqa: SLF001 - the model is built here, not loaded from a path
    return embedder
