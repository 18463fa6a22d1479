"""Shared fixtures of the segswap.io tests: real photos from scikit-image."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data

from segswap.settings import Settings


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """512×512 RGB photo."""
    return skimage.data.astronaut()


@pytest.fixture(scope="session")
def chelsea() -> np.ndarray:
    """300×451 RGB photo (not square, so transposes show)."""
    return skimage.data.chelsea()


@pytest.fixture(scope="session")
def cutout() -> np.ndarray:
    """500×500 RGBA: scikit-image's logo (stored fully opaque) with its white background
    made transparent, so the alpha channel has both 0 and 255."""
    rgba = skimage.data.logo().copy()
    rgba[..., 3] = np.where(rgba[..., :3].min(axis=2) > 240, 0, 255)
    return rgba


@pytest.fixture
def settings() -> Settings:
    """Limits small enough to test: 4 MP, 5 MB."""
    return Settings(max_pixels=4_000_000, fetch_max_bytes=5_000_000)
