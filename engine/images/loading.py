"""Loading open_clip weights without holding them twice.

open_clip's own loader builds the model with random weights, reads the whole
checkpoint into memory, then copies it over: for ViT-B-32 that is 605 MB of random
weights plus 605 MB of checkpoint at the peak, on top of everything else the bot
holds. Here the model is built on PyTorch's `meta` device (no memory), the
checkpoint is memory-mapped, and its tensors become the model's parameters
(`load_state_dict(assign=True)`). Pages are read from disk as they are used, so a bot
that only embeds pictures never reads the text tower's weights at all.

Anything this path does not handle (safetensors, numpy or TorchScript checkpoints,
keys that need open_clip's conversions, fp16 weights, a `local-dir:` or `hf-hub:`
model) goes through open_clip's own loader instead, with the same result.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MAPPABLE = (".bin", ".pt", ".pth")


def load_open_clip(name: str, pretrained: str | None, device: str = "cpu") -> tuple[Any, Any, Any]:
    """(model in eval mode, inference preprocess, tokenizer) for an open_clip model whose
    pretrained weights must load (random weights are never returned)."""
    import open_clip

    loaded = None
    if pretrained and device == "cpu" and ":" not in name:
        path = checkpoint_file(name, pretrained)  # a failed download is reported, not retried
        if path is not None and path.suffix in MAPPABLE:
            try:
                loaded = _load_mapped(name, pretrained, path)
            except Exception as exc:  # open_clip's own loader knows more formats
                log.debug("memory-mapped load of %s / %s not possible: %s", name, pretrained, exc)
    if loaded is None:
        model, _, preprocess = open_clip.create_model_and_transforms(
            name, pretrained=pretrained, device=device, require_pretrained=True)
    else:
        model, preprocess = loaded
    return model.eval(), preprocess, open_clip.get_tokenizer(name)


def checkpoint_file(name: str, pretrained: str) -> Path | None:
    """The local file behind `pretrained`: a path, or a tag's file (downloaded into the
    Hugging Face cache on first use). None for tags open_clip does not know."""
    from open_clip.pretrained import download_pretrained, get_pretrained_cfg

    if Path(pretrained).is_file():
        return Path(pretrained)
    cfg = get_pretrained_cfg(name.replace("/", "-"), pretrained)
    if not cfg:
        return None
    found = download_pretrained(cfg)
    return Path(found) if found else None


def _load_mapped(name: str, pretrained: str, path: Path) -> tuple[Any, Any] | None:
    import open_clip
    import torch
    from open_clip.transform import PreprocessCfg, image_transform_v2

    with torch.device("meta"):
        # Resolves the architecture and the tag's preprocessing; reads no weights.
        model = open_clip.create_model(name, pretrained=pretrained, load_weights=False,
                                       device="meta")
    state = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if next(iter(state)).startswith("module."):
        state = {key.removeprefix("module."): value for key, value in state.items()}
    model.load_state_dict(state, strict=True, assign=True)
    if not _materialise_masks(model):
        return None
    if any(p.is_meta or p.dtype != torch.float32 for p in model.parameters()):
        return None
    preprocess = image_transform_v2(PreprocessCfg(**model.visual.preprocess_cfg), is_train=False)
    return model, preprocess


def _materialise_masks(model: Any) -> bool:
    """Non-persistent buffers are not in a checkpoint. The only one open_clip's CLIP
    models have is the text tower's causal attention mask, rebuilt here as open_clip
    builds it; anything else left on `meta` means this path cannot be used."""
    import torch

    for module in model.modules():
        for key, buffer in list(module._buffers.items()):
            if buffer is None or not buffer.is_meta:
                continue
            if key != "attn_mask" or buffer.dim() != 2 or buffer.shape[0] != buffer.shape[1]:
                return False
            module._buffers[key] = torch.full(tuple(buffer.shape), float("-inf")).triu_(1)
    return True
