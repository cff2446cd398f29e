"""The open_clip side: images and texts embedded into one space.

`ClipEmbedder` loads an open_clip model lazily, once, the first time something needs
it, and remembers a failure the same way: without weights (no internet, no
checkpoint) image search is off, and the reason is one line a person can act on.

Which model (`ARGOT_CLIP_MODEL`, `ARGOT_CLIP_PRETRAINED`):
    - a built-in architecture and a pretrained tag: `ViT-B-32` / `laion2b_s34b_b79k`
      (the default; about 600 MB, downloaded from the Hugging Face hub on first use);
    - a built-in architecture and a checkpoint file: `ViT-B-32` / `/models/clip.pt`;
    - an architecture config file and a checkpoint file: `/models/my-clip.json` /
      `/models/my-clip.pt` (the JSON is open_clip's model config: `embed_dim`,
      `vision_cfg`, `text_cfg`);
    - a folder in open_clip's own layout: `local-dir:/models/my-clip` (pretrained ignored);
    - `none` in either setting turns image search off.

Tip:
    ViT-B-32 with `laion2b_s34b_b79k` is the best quality per CPU second among the
    open_clip models that fit comfortably in the bot's memory (docs/images.md has the
    measurements). `ViT-B-16` / `datacomp_xl_s13b_b90k` reads small text in
    screenshots better at about four times the cost per image.

Example:
    >>> clip = ClipEmbedder("ViT-B-32", "laion2b_s34b_b79k")
    >>> clip.embed_images([picture.image]).shape          # loads the model here
    (1, 512)
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.embedders import Kind, TextEmbedder, normalise, slug
from engine.errors import ArgotError
from engine.images.loading import load_open_clip

if TYPE_CHECKING:
    from PIL.Image import Image

log = logging.getLogger(__name__)

IMAGE_BATCH = 16
TEXT_BATCH = 64


class ImagesUnavailable(ArgotError):
    """Image search is off: no CLIP weights could be loaded, or it was turned off."""


@dataclass
class _Loaded:
    model: Any
    preprocess: Any
    tokenizer: Any
    dimension: int


class ClipEmbedder:
    """An open_clip model by architecture name and pretrained tag or checkpoint file.

    Args:
        model: an open_clip architecture (`ViT-B-32`), a model-config JSON file, or
            `local-dir:FOLDER`.
        pretrained: a pretrained tag (`laion2b_s34b_b79k`) or a checkpoint file path.
        device: where to run (`cpu` by default; `cuda` where there is one).
    """

    def __init__(self, model: str, pretrained: str | None, *, device: str = "cpu") -> None:
        self.model_name = model
        self.pretrained = pretrained or None
        self.device = device
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None
        self._failure: str | None = None
        self.model_id = clip_model_id(model, self.pretrained)

    @classmethod
    def from_parts(cls, model: Any, preprocess: Any, tokenizer: Any, model_id: str
                   ) -> ClipEmbedder:
        """Wrap a model built elsewhere (benchmarks use random ViT-B-32 weights)."""
        embedder = cls(model_id, None)
        embedder.model_id = model_id
        embedder._loaded = _Loaded(model.eval(), preprocess, tokenizer,
                                   _output_dimension(model, tokenizer))
        return embedder

    # -- loading -------------------------------------------------------------------------

    @property
    def description(self) -> str:
        weights = Path(self.pretrained).name if self.pretrained and _is_path(self.pretrained) \
            else self.pretrained
        name = Path(self.model_name).stem if self.model_name.endswith(".json") else self.model_name
        return f"{name} ({weights})" if weights else name

    def load(self) -> None:
        """Load the model now if it is not loaded yet; raise `ImagesUnavailable` if it
        cannot be (and go on raising it, without trying again)."""
        if self._loaded is not None:
            return
        with self._lock:
            if self._loaded is not None:
                return
            if self._failure is not None:
                raise ImagesUnavailable(self._failure)
            try:
                self._loaded = self._load()
            except Exception as exc:
                self._failure = unavailable_reason(self.model_name, self.pretrained, exc)
                raise ImagesUnavailable(self._failure) from exc

    @property
    def failure(self) -> str | None:
        """Why the model could not be loaded, once a load has failed."""
        return self._failure

    def _load(self) -> _Loaded:
        import open_clip

        name = self.model_name
        if name.endswith(".json"):
            config = Path(name).expanduser()
            if not config.is_file():
                raise FileNotFoundError(f"model config {config} does not exist")
            open_clip.add_model_config(config)
            name = config.stem
        pretrained = self.pretrained
        if pretrained and _is_path(pretrained):
            pretrained = str(Path(pretrained).expanduser())
            if not Path(pretrained).is_file():
                raise FileNotFoundError(f"checkpoint {pretrained} does not exist")
        with _quiet_open_clip():
            model, preprocess, tokenizer = load_open_clip(name, pretrained, self.device)
        return _Loaded(model, preprocess, tokenizer, _output_dimension(model, tokenizer))

    def _parts(self) -> _Loaded:
        self.load()
        assert self._loaded is not None
        return self._loaded

    @property
    def dimension(self) -> int:
        return self._parts().dimension

    # -- embedding -----------------------------------------------------------------------

    def embed_images(self, images: Sequence[Image]) -> np.ndarray:
        """Normalised vectors, one row per picture (RGB PIL images)."""
        import torch

        parts = self._parts()
        rows = []
        with torch.inference_mode():
            for start in range(0, len(images), IMAGE_BATCH):
                batch = torch.stack([parts.preprocess(image) for image in
                                     images[start:start + IMAGE_BATCH]]).to(self.device)
                rows.append(parts.model.encode_image(batch).float().cpu().numpy())
        if not rows:
            return np.zeros((0, parts.dimension), dtype=np.float32)
        return normalise(np.concatenate(rows))

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised vectors for texts, cut to the model's context (77 tokens for CLIP)."""
        import torch

        parts = self._parts()
        rows = []
        with torch.inference_mode():
            for start in range(0, len(texts), TEXT_BATCH):
                tokens = parts.tokenizer(list(texts[start:start + TEXT_BATCH])).to(self.device)
                rows.append(parts.model.encode_text(tokens).float().cpu().numpy())
        if not rows:
            return np.zeros((0, parts.dimension), dtype=np.float32)
        return normalise(np.concatenate(rows))


class ClipTextEmbedder(TextEmbedder):
    """The CLIP text tower as a `TextEmbedder`, so the ordinary `Ingestor` can keep a
    collection of CLIP text embeddings in step with the documents."""

    def __init__(self, clip: ClipEmbedder) -> None:
        self.clip = clip
        self.model_id = clip.model_id

    @property
    def dimension(self) -> int:
        return self.clip.dimension

    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        return self.clip.embed_texts(texts)


def clip_model_id(model: str, pretrained: str | None) -> str:
    """A stable, collection-safe identity: the same weights always give the same id.

    A checkpoint file is identified by its name, size and modification time, so a
    retrained file at the same path gets a new id (and fresh collections).
    """
    name = Path(model).stem if model.endswith(".json") else model.removeprefix("local-dir:")
    parts = [slug(Path(name).name, 16)]
    fingerprint = model
    if pretrained and _is_path(pretrained):
        path = Path(pretrained).expanduser()
        parts.append(slug(path.stem, 12))
        try:
            stat = path.stat()
            fingerprint += f"|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        except OSError:
            fingerprint += f"|{path}"
    elif pretrained:
        parts.append(slug(pretrained, 24))
    if model.startswith("local-dir:") or model.endswith(".json") or _is_path(pretrained or ""):
        parts.append(hashlib.sha1(fingerprint.encode()).hexdigest()[:8])
    return "clip-" + "-".join(parts)


def unavailable_reason(model: str, pretrained: str | None, exc: BaseException) -> str:
    """One line: what could not be loaded, why, and what to do about it."""
    detail = " ".join(str(exc).split())[:240] or exc.__class__.__name__
    what = f"{model} / {pretrained}" if pretrained else model
    return (f"cannot load the CLIP model {what} ({detail}). Where there is no internet, set "
            "ARGOT_CLIP_PRETRAINED to a checkpoint file; ARGOT_CLIP_MODEL=none turns image "
            "search off")


def _is_path(value: str) -> bool:
    return "/" in value or "\\" in value or value.endswith((".pt", ".pth", ".bin", ".safetensors",
                                                            ".npz"))


def _output_dimension(model: Any, tokenizer: Any) -> int:
    """Asked of the image tower, with a blank picture: a bot that only embeds pictures
    never reads the text tower's weights (engine/images/loading.py maps them lazily)."""
    import torch

    size = getattr(model.visual, "image_size", 224)
    height, width = size if isinstance(size, tuple | list) else (size, size)
    parameter = next(model.visual.parameters())
    with torch.inference_mode():
        blank = torch.zeros(1, 3, height, width, device=parameter.device, dtype=parameter.dtype)
        return int(model.encode_image(blank).shape[-1])


class _OpenClipRecords:
    """Drops open_clip's own log records (it logs to the root logger) while a model
    loads, so a failure is reported once, in Argot's words."""

    def filter(self, record: Any) -> bool:
        return "open_clip" not in record.pathname


@contextmanager
def _quiet_open_clip() -> Iterator[None]:
    root = logging.getLogger()
    quiet = _OpenClipRecords()
    root.addFilter(quiet)  # type: ignore[arg-type]
    try:
        yield
    finally:
        root.removeFilter(quiet)  # type: ignore[arg-type]
