"""The diffusion engine: the composite result, refined by an SD/SDXL inpainting model.

Pipeline for one edit:

1. the composite engine plans the edit (the edit, and the mask grown by ``growmask``,
   once) and renders the initial image from that plan (object placed and harmonised,
   pattern laid, or hole filled) — exactly what ``SEGSWAP_ENGINE=composite`` returns;
2. the plan's grown mask is re-framed onto a square-ish crop (its box plus context),
   which is resized to the model's native resolution (512² for SD 1.5, 1024² for SDXL);
3. the inpainting model re-denoises the grown mask (+ feather band) of that crop from the
   initial image, guided by ``prompt`` and, with an IP-Adapter, by the object image;
4. the result is resized back and pasted into the initial image with the same feather as
   the composite engine (:func:`segswap.engine.region.paste_back`), so every pixel
   farther than FEATHER_PX from the grown mask is the scene's, byte for byte.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from segswap.engine.composite import CompositeEngine
from segswap.engine.diffusion.geometry import model_region, native_size, resize
from segswap.engine.diffusion.runtime import DiffusionModel, load_model
from segswap.engine.objects import cut_out
from segswap.engine.pattern import tile_pattern
from segswap.engine.progress import checkpoint, stage
from segswap.engine.region import bounding_box, paste_back
from segswap.params import EditParams
from segswap.settings import Settings

GUIDANCE_SCALE = 7.5
"""Classifier-free guidance scale: how strongly the sampler follows ``prompt``."""

OBJECT_STRENGTH_MAX = 0.9
OBJECT_STRENGTH_MIN = 0.3
"""Object mode: denoising strength at ``subject_strength`` 0 and 1 (linear between)."""

PATTERN_STRENGTH_MAX = 0.5
"""Pattern mode: denoising strength at ``fashion_strength`` 1 (``0.5 × fashion_strength``)."""

REMOVE_STRENGTH = 0.8
"""Remove mode: denoising strength over the exemplar fill."""

REFERENCE_SIDE = 448
"""Longer side (pixels) of the reference image given to the IP-Adapter."""

NEUTRAL_GREY = 127

COMPOSITE_SHARE = 0.1
"""Share of an edit's progress (0–1) given to the composite initial image; the sampler's
steps make up the rest (progress after step n of N: 0.1 + 0.9 × n / N)."""


@dataclass(frozen=True)
class Denoising:
    """How the model is driven for one edit.

    Attributes:
        edit: ``object``, ``pattern`` or ``remove``.
        strength: img2img denoising strength (share of the ``steps`` schedule run).
        reference_scale: IP-Adapter scale (0 = the object image is not used).
    """

    edit: str
    strength: float
    reference_scale: float


def plan_edit(edit: str, params: EditParams) -> Denoising:
    """The denoising strength and IP-Adapter scale for ``edit`` (see docs/diffusion.md).

    - object: strength ``0.9 − 0.6 × subject_strength`` (1 → 0.3: the placed object's
      colours and detail are kept, light and seams are redrawn; 0 → 0.9: the object is
      redrawn in the scene's look); IP-Adapter scale ``subject_strength``.
    - pattern: strength ``0.5 × fashion_strength`` (0: the region is left unchanged, as in
      the composite engine); IP-Adapter scale ``fashion_strength``.
    - remove: strength 0.8; IP-Adapter scale 0.
    """
    if edit == "object":
        strength = (
            OBJECT_STRENGTH_MAX
            - (OBJECT_STRENGTH_MAX - OBJECT_STRENGTH_MIN) * params.subject_strength
        )
        return Denoising(edit, strength, params.subject_strength)
    if edit == "pattern":
        return Denoising(
            edit, PATTERN_STRENGTH_MAX * params.fashion_strength, params.fashion_strength
        )
    return Denoising(edit, REMOVE_STRENGTH, 0.0)


def denoise_steps(steps: int, strength: float) -> int:
    """Sampler steps actually run: ``floor(steps × strength)`` (diffusers' rule), 0–steps."""
    return max(0, min(steps, math.floor(steps * strength + 1e-9)))


def pipeline_strength(steps: int, count: int) -> float:
    """A strength for which diffusers runs exactly ``count`` of ``steps`` steps
    (``int(steps × strength)`` is fragile in floating point, e.g. 100 × 0.29 = 28.99...)."""
    return 1.0 if count >= steps else (count + 0.5) / steps


def reference_image(
    edit: str, obj: np.ndarray, params: EditParams, shape: tuple[int, int]
) -> np.ndarray:
    """What the IP-Adapter sees: the object cut out on neutral grey (object mode), the
    pattern tiled ``horizontal_repeat`` × ``vertical_repeat`` over the region's aspect
    (``shape``, pattern mode), or plain grey (remove)."""
    if edit == "object":
        rgb, alpha = cut_out(obj)
        weight = alpha[:, :, None].astype(np.float32)
        mixed = rgb * weight + NEUTRAL_GREY * (1.0 - weight)
        return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    if edit == "pattern":
        height, width = shape
        scale = REFERENCE_SIDE / max(height, width)
        return tile_pattern(
            obj[:, :, :3],
            max(1, round(height * scale)),
            max(1, round(width * scale)),
            params.horizontal_repeat,
            params.vertical_repeat,
        )
    return np.full((224, 224, 3), NEUTRAL_GREY, np.uint8)


class DiffusionEngine:
    """Prompt-guided refinement of the composite edit by a local SD/SDXL inpainting model.

    Uses ``prompt`` (text guidance), ``steps`` (schedule length), ``seed`` (sampler
    noise), ``subject_strength`` / ``fashion_strength`` (denoising strength and
    IP-Adapter scale, :func:`plan_edit`), ``growmask`` and the repeats (as in the
    composite engine, which makes the initial image).
    """

    name = "diffusion"
    edits_within_reach = True
    """Like the composite engine, it pastes back only the grown mask and its feather band."""

    def __init__(self, model: DiffusionModel, composite: CompositeEngine | None = None) -> None:
        """An engine from its components (diffusers style): the loaded ``model`` and the
        ``composite`` engine that makes the initial image (default: a new one)."""
        self.model = model
        self.composite = composite or CompositeEngine()

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> DiffusionEngine:
        """The engine ``settings`` describe (default: from ``SEGSWAP_*``): ``model_dir``,
        ``ip_adapter_dir``, ``device``, ``dtype`` and ``compile``; the model is loaded once
        per process and shared by every engine with the same ones. Its initial image is
        the composite engine's with the same settings (the same ``fill``)."""
        settings = settings or Settings.from_env()
        composite = CompositeEngine.from_settings(settings)
        model = load_model(
            settings.model_dir,
            settings.ip_adapter_dir,
            settings.device,
            settings.dtype,
            settings.compile,
        )
        return cls(model, composite)

    @property
    def pipeline(self) -> object:
        """The shared diffusers pipeline (for inspection and hooks)."""
        return self.model.pipe

    def __call__(
        self, scene: np.ndarray, mask: np.ndarray, obj: np.ndarray, params: EditParams
    ) -> np.ndarray:
        planned = self.composite.plan(mask, obj, params)
        with stage(0.0, COMPOSITE_SHARE):
            initial = self.composite.render(scene, obj, params, planned)
        edit = planned.edit
        denoising = plan_edit(edit, params)
        count = denoise_steps(params.steps, denoising.strength)
        if count == 0:
            return initial  # e.g. pattern at fashion_strength 0: the region stays as it was

        # The composite plan's grown mask on the model's crop: grown once, for both.
        region = model_region(planned.region, scene.shape[0], scene.shape[1])
        crop = initial[region.crop.slices]
        repaint = region.reach
        height, width = native_size(
            crop.shape[0], crop.shape[1], self.model.native, self.model.multiple
        )
        box = bounding_box(region.grown)
        reference = reference_image(edit, obj, params, (box.height, box.width))
        generated = self.model.generate(
            params.prompt,
            resize(crop, height, width),
            resize(repaint.view(np.uint8), height, width, nearest=True).astype(bool),
            steps=params.steps,
            strength=pipeline_strength(params.steps, count),
            seed=params.seed,
            guidance_scale=GUIDANCE_SCALE,
            reference=reference,
            reference_scale=denoising.reference_scale,
            on_step=lambda done: checkpoint(COMPOSITE_SHARE + (1 - COMPOSITE_SHARE) * done / count),
        )
        refined = resize(generated, crop.shape[0], crop.shape[1])
        return paste_back(initial, refined, region)
