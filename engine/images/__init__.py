"""Image search: the CLIP model, loading and decoding images, image links, searching by image."""
