"""A tiny open_clip model that Argot trains itself, for tests and offline demos.

No CLIP weights can be downloaded where the tests run, so this module draws
synthetic image–caption pairs (coloured shapes, and simple diagrams: boxes and
arrows with labels, bar charts, pie charts) and trains a small CLIP on them with
a contrastive loss, in well under a minute of CPU. The result is a real open_clip
model on disk: a model config (JSON) and a checkpoint file, loaded through the same
code path as a downloaded one.

Example:
    >>> tiny = build(Path("/tmp/tiny-clip"))          # under a minute of one CPU core
    >>> tiny.config, tiny.checkpoint                    # ARGOT_CLIP_MODEL / _PRETRAINED
    >>> draw("red", "circle", seed=3).save("red-circle.png")

From a shell: `python -m tests.clip_fixture OUT_DIR` prints the two settings.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

MODEL_NAME = "argot-tiny-clip"
SEED = 1234
POOL_PER_CONCEPT = 24
PER_BATCH = 2
DIAGRAM_WEIGHT = 2
RENDER_SIZES = (64, 96, 160, 256)
LEARNING_RATE = 3e-3

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30), "green": (30, 170, 50), "blue": (30, 70, 220),
    "yellow": (235, 200, 20), "purple": (140, 40, 170),
}
SHAPES = ("circle", "square", "triangle", "star")
# Charts have colours of their own, as dashboards do: a chart is told by its layout
# and palette, never mistaken for a coloured shape.
CHART_TEAL = (20, 150, 160)
PASTELS = ((250, 170, 180), (250, 215, 160), (170, 210, 250), (180, 240, 190))
DIAGRAMS = {
    "flow": ("boxes and arrows", "flow diagram", "architecture diagram"),
    "bars": ("bar chart", "bar graph", "histogram"),
    "pie": ("pie chart", "pie graph", "donut chart"),
}
CONFIG: dict[str, Any] = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 48, "layers": 2, "width": 64, "head_width": 32,
                   "patch_size": 8, "mlp_ratio": 2.0},
    "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 64, "heads": 2,
                 "layers": 2, "mlp_ratio": 2.0},
}


@dataclass(frozen=True)
class TinyClip:
    """Where the trained model lies: use `config` as ARGOT_CLIP_MODEL and `checkpoint`
    as ARGOT_CLIP_PRETRAINED, or `folder` as `local-dir:FOLDER`."""

    config: Path
    checkpoint: Path
    folder: Path
    seconds: float
    cpu_seconds: float = 0.0

    @property
    def name(self) -> str:
        return MODEL_NAME


# -- drawing ---------------------------------------------------------------------------

def draw(colour: str, shape: str, seed: int = 0, size: int = 256) -> Image.Image:
    """A `colour` `shape` on a light background, placed and sized by `seed`."""
    rng = random.Random(seed)
    image = Image.new("RGB", (size, size), _background(rng))
    pen = ImageDraw.Draw(image)
    radius = size * rng.uniform(0.22, 0.38)
    cx = size / 2 + rng.uniform(-0.12, 0.12) * size
    cy = size / 2 + rng.uniform(-0.12, 0.12) * size
    fill = _jitter(COLOURS[colour], rng)
    if shape == "circle":
        pen.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=fill)
    elif shape == "square":
        pen.rectangle((cx - radius, cy - radius, cx + radius, cy + radius), fill=fill)
    elif shape == "triangle":
        pen.polygon([(cx, cy - radius), (cx - radius, cy + radius * 0.8),
                     (cx + radius, cy + radius * 0.8)], fill=fill)
    elif shape == "star":
        points = []
        for i in range(10):
            r = radius if i % 2 == 0 else radius * 0.42
            angle = -math.pi / 2 + i * math.pi / 5
            points.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
        pen.polygon(points, fill=fill)
    else:
        raise ValueError(f"unknown shape {shape!r}; use one of {', '.join(SHAPES)}")
    return image


def draw_diagram(kind: str, seed: int = 0, size: int = 256) -> Image.Image:
    """A labelled boxes-and-arrows diagram (`flow`), a bar chart or a pie chart."""
    rng = random.Random(seed)
    image = Image.new("RGB", (size, size), _background(rng))
    pen = ImageDraw.Draw(image)
    if kind == "flow":
        boxes = rng.randint(2, 3)
        height = size * rng.uniform(0.18, 0.26)
        top = size / 2 - height / 2 + rng.uniform(-0.15, 0.15) * size
        width = size * 0.8 / (boxes * 1.5)
        left = size * 0.08
        for i in range(boxes):
            x0 = left + i * width * 1.6
            pen.rectangle((x0, top, x0 + width, top + height), outline=(20, 20, 20),
                          width=max(2, size // 80), fill=(255, 255, 255))
            pen.text((x0 + 4, top + height / 3), rng.choice(["api", "db", "queue", "web"]),
                     fill=(0, 0, 0))
            if i < boxes - 1:
                y = top + height / 2
                x1, x2 = x0 + width, x0 + width * 1.6
                pen.line((x1, y, x2, y), fill=(20, 20, 20), width=max(2, size // 80))
                pen.polygon([(x2, y), (x2 - size / 25, y - size / 40), (x2 - size / 25, y + size / 40)],
                            fill=(20, 20, 20))
    elif kind == "bars":
        count = rng.randint(3, 6)
        base = size * 0.88
        slot = size * 0.8 / count
        colour = _jitter(CHART_TEAL, rng)
        for i in range(count):
            x0 = size * 0.1 + i * slot
            pen.rectangle((x0, base - rng.uniform(0.2, 0.75) * size, x0 + slot * 0.7, base),
                          fill=colour)
        pen.line((size * 0.08, base, size * 0.95, base), fill=(0, 0, 0), width=2)
    elif kind == "pie":
        box = (size * 0.15, size * 0.15, size * 0.85, size * 0.85)
        start = rng.uniform(0, 360)
        cuts = sorted(rng.uniform(30, 330) for _ in range(rng.randint(2, 4)))
        edges = [0.0, *cuts, 360.0]
        pastels = list(PASTELS)
        rng.shuffle(pastels)
        for i in range(len(edges) - 1):
            pen.pieslice(box, start + edges[i], start + edges[i + 1], fill=pastels[i % len(pastels)],
                         outline=(255, 255, 255))
    else:
        raise ValueError(f"unknown diagram {kind!r}; use one of {', '.join(DIAGRAMS)}")
    return image


def _background(rng: random.Random) -> tuple[int, int, int]:
    grey = rng.randint(225, 255)
    return (grey, grey, rng.randint(225, 255))


def _jitter(colour: tuple[int, int, int], rng: random.Random) -> tuple[int, int, int]:
    return tuple(max(0, min(255, c + rng.randint(-25, 25))) for c in colour)  # type: ignore[return-value]


# -- captions --------------------------------------------------------------------------

def concepts() -> list[tuple[str, tuple[str, ...]]]:
    """(concept, the phrases that name it): one per coloured shape and per diagram kind."""
    named = [(f"{colour} {shape}", (f"{colour} {shape}",)) for colour in COLOURS for shape in SHAPES]
    named += [(kind, phrases) for kind, phrases in DIAGRAMS.items()]
    return named


SMALL_WORDS = ("a", "the", "of", "and", "to", "is", "in", "on", "for", "with", "it", ",", ".",
               ":", "-", "(", ")")
CONCEPT_WORDS = {"circle", "square", "triangle", "star", "flow", "diagram", "architecture",
                 "boxes", "arrows", "bar", "chart", "graph", "histogram", "pie", "donut"}


def caption(phrase: str, rng: random.Random, filler: list[str]) -> str:
    """The concept's phrase among words that carry nothing, anywhere in the first dozen
    words, the way a document title ("Ingest pipeline architecture") and its first
    lines name what a picture shows."""

    def words(count: int) -> list[str]:
        return [rng.choice(SMALL_WORDS) if rng.random() < 0.3 else rng.choice(filler)
                for _ in range(count)]

    before = words(rng.choice((0, 0, 0, 1, 2, 3, 4, 5, 6, 8, 10)))
    after = words(rng.randint(0, 10))
    article = rng.choice(("", "", "a ", "the ", "a picture of a "))
    joint = rng.choice((" ", " ", "\n", ": ")) if before else ""
    return " ".join(before) + joint + article + phrase + (" " + " ".join(after) if after else "")


def filler_words(tokenizer: Any) -> list[str]:
    """Whole words from the tokenizer's vocabulary, minus any that name a concept."""
    reserved = set(COLOURS) | CONCEPT_WORDS
    words = [token[:-4] for token in tokenizer.encoder if token.endswith("</w>")
             and token[:-4].isalpha() and token[:-4].islower() and len(token) > 6]
    return [word for word in words if word not in reserved and word.rstrip("s") not in reserved
            and word.removesuffix("es") not in reserved]


# -- training --------------------------------------------------------------------------

def build(folder: Path, *, steps: int = 400, seed: int = SEED, verbose: bool = False) -> TinyClip:
    """Train the tiny model and write `argot-tiny-clip.json` and `.pt` into `folder`,
    plus an open_clip `local-dir` layout in `folder/local-dir`.

    The number of steps, not the clock, bounds training, so every run with the same
    seed gives the same model however busy the machine is.
    """
    import open_clip
    import torch
    import torch.nn.functional as F

    started, cpu_started = time.monotonic(), time.process_time()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same model on every machine; tiny ops gain nothing from more
    torch.manual_seed(seed)
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / f"{MODEL_NAME}.json"
    config_path.write_text(json.dumps(CONFIG, indent=2))
    open_clip.add_model_config(config_path)

    model = open_clip.create_model(MODEL_NAME, pretrained=None)
    tokenizer = open_clip.get_tokenizer(MODEL_NAME)
    preprocess = open_clip.image_transform(CONFIG["vision_cfg"]["image_size"], is_train=False)
    filler = filler_words(tokenizer)
    named = concepts()

    def render(concept: int) -> Any:
        name = named[concept][0]
        seed_i = rng.randrange(1 << 30)
        if name.split()[-1] in SHAPES:
            colour, shape = name.split()
            return preprocess(draw(colour, shape, seed_i, size=rng.choice(RENDER_SIZES)))
        return preprocess(draw_diagram(name, seed_i, size=rng.choice(RENDER_SIZES[1:])))

    pool = [[render(concept) for _ in range(POOL_PER_CONCEPT)] for concept in range(len(named))]
    # The token table (49408 × width) stays as initialised: random vectors already tell
    # words apart, and leaving it out makes each step several times cheaper.
    model.token_embedding.requires_grad_(False)
    trained = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimiser = torch.optim.AdamW(trained, lr=LEARNING_RATE, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, LEARNING_RATE, total_steps=steps,
                                                   pct_start=0.1)
    # Diagrams are told apart by layout, not colour, which takes more examples to learn.
    labels = torch.tensor([concept for concept, (name, _) in enumerate(named)
                           for _ in range(PER_BATCH * (DIAGRAM_WEIGHT if name in DIAGRAMS else 1))])
    model.train()
    for step in range(steps):
        images = torch.stack([pool[c][rng.randrange(POOL_PER_CONCEPT)] for c in labels.tolist()])
        texts = tokenizer([caption(rng.choice(named[c][1]), rng, filler) for c in labels.tolist()])
        image_features = F.normalize(model.encode_image(images), dim=-1)
        text_features = F.normalize(model.encode_text(texts), dim=-1)
        logits = model.logit_scale.exp() * image_features @ text_features.T
        # Each concept is in the batch several times: every such pair is a positive.
        same = (labels[:, None] == labels[None, :]).float()
        targets = same / same.sum(dim=1, keepdim=True)
        loss = (torch.sum(-targets * F.log_softmax(logits, dim=1), dim=1).mean()
                + torch.sum(-targets * F.log_softmax(logits.T, dim=1), dim=1).mean()) / 2
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        if verbose and step % 20 == 0:
            print(f"step {step} loss {loss.item():.3f} {time.monotonic() - started:.0f}s", flush=True)
    model.eval()
    torch.set_num_threads(threads)
    checkpoint = folder / f"{MODEL_NAME}.pt"
    torch.save(model.state_dict(), checkpoint)
    local_dir = folder / "local-dir"
    local_dir.mkdir(exist_ok=True)
    (local_dir / "open_clip_config.json").write_text(json.dumps({"model_cfg": CONFIG}, indent=2))
    torch.save(model.state_dict(), local_dir / "open_clip_pytorch_model.bin")
    return TinyClip(config=config_path, checkpoint=checkpoint, folder=local_dir,
                    seconds=time.monotonic() - started, cpu_seconds=time.process_time() - cpu_started)


def build_once(cache: Path) -> TinyClip:
    """`build` into `cache/<fingerprint of this file>`, or reuse what an earlier run built
    there (the fingerprint changes whenever the recipe does)."""
    fingerprint = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    folder = cache / fingerprint
    done = folder / "done"
    if done.is_file():
        return TinyClip(config=folder / f"{MODEL_NAME}.json", checkpoint=folder / f"{MODEL_NAME}.pt",
                        folder=folder / "local-dir", seconds=0.0)
    tiny = build(folder)
    done.write_text(f"{tiny.seconds:.1f}\n")
    return tiny


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".argot/tiny-clip")
    tiny = build(out, verbose=True)
    print(f"trained in {tiny.seconds:.0f} s ({tiny.cpu_seconds:.0f} s of CPU)")
    print(f"ARGOT_CLIP_MODEL={tiny.config}")
    print(f"ARGOT_CLIP_PRETRAINED={tiny.checkpoint}")
