"""The composite engine: exact, CPU-only edits with no model weights.

Pipeline: plan the edit (:meth:`CompositeEngine.plan`: the edit, the grown mask and the
crop) → render it (:meth:`CompositeEngine.render`: fill or lay the pattern → place and
harmonise the object → blend back with a FEATHER_PX-pixel feather). Only the crop around
the mask is processed. Other engines (the diffusion engine) take the plan and refine the
render without growing the mask again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segswap.engine.inpaint import FillEffort, fill_hole
from segswap.engine.modes import choose_edit
from segswap.engine.objects import compose_object, layout_object
from segswap.engine.pattern import transfer_pattern
from segswap.engine.progress import checkpoint, stage
from segswap.engine.region import EditRegion, edit_region, paste_back
from segswap.errors import InvalidParameter
from segswap.params import EditParams

CONTEXT = {"remove": 0.5, "object": 0.25, "pattern": 0.05}
"""Scene kept around the mask, as a share of its longer side, per edit: a removal fills
from a wide neighbourhood; an object swap rebuilds what its object leaves uncovered from
a ring of a quarter of the mask's size (a thinner one leaves the reduced-resolution fill
too few sources, and it falls back to full resolution), and a pattern needs only the
feather band."""


REDUCED_FILL_PIXELS = 40_000
"""Around a placed object, a fill larger than this is made at half resolution (or less)."""


def fill_effort(steps: int, full_resolution: bool) -> FillEffort:
    """Search effort of the fill for ``steps`` (10–100): ``steps // 3`` random
    candidates per PatchMatch pass (10 at the default 30); a full-resolution EM round and
    a sharper last vote only when the fill is what the user sees (remove mode); under an
    object a search down to quarter resolution, carried up and voted, is enough for the
    little of it that shows, with a pyramid as deep as the whole hole needs (not only
    the part the object leaves visible: a wide ring would make the coarsest search
    large)."""
    return FillEffort(
        candidates=max(2, steps // 3),
        finest_iterations=int(full_resolution),
        sharpen=full_resolution,
        search_depth=0 if full_resolution else 2,
        max_pixels=None if full_resolution else REDUCED_FILL_PIXELS,
        shown_depth=full_resolution,
    )


@dataclass(frozen=True)
class CompositePlan:
    """What one edit does and where, before any pixel is touched.

    Attributes:
        edit: ``object``, ``pattern`` or ``remove`` (:func:`segswap.engine.modes.choose_edit`).
        region: the crop (scene kept around the mask, :data:`CONTEXT` for ``edit``), the
            user's mask and the mask grown by ``growmask`` inside it, and its ``reach``
            (the grown mask and its FEATHER_PX band: every pixel the edit may change).
    """

    edit: str
    region: EditRegion


class CompositeEngine:
    """Object swap, pattern transfer and removal with NumPy and OpenCV.

    ``prompt`` is not used by this engine (it has no text model); ``steps`` sets the
    fill's search effort; ``seed`` seeds the fill's random search.
    """

    name = "composite"
    edits_within_reach = True
    """Every pixel it changes is within FEATHER_PX of the mask grown by ``growmask``
    (:func:`segswap.engine.proof.reach_box` relies on it)."""

    def __call__(
        self, scene: np.ndarray, mask: np.ndarray, obj: np.ndarray, params: EditParams
    ) -> np.ndarray:
        """``scene`` (H×W×3 uint8) edited inside ``mask`` (H×W bool) with ``obj`` (RGBA):
        :meth:`plan`, then :meth:`render`."""
        return self.render(scene, obj, params, self.plan(mask, obj, params))

    def plan(self, mask: np.ndarray, obj: np.ndarray, params: EditParams) -> CompositePlan:
        """The edit ``params`` and ``obj`` ask for, and its region: ``mask`` (H×W bool,
        non-empty) grown once by ``growmask`` pixels, on a crop of the scene."""
        edit = choose_edit(params, obj)
        return CompositePlan(edit, edit_region(mask, params.growmask, CONTEXT[edit]))

    def render(
        self, scene: np.ndarray, obj: np.ndarray, params: EditParams, plan: CompositePlan
    ) -> np.ndarray:
        """A copy of ``scene`` with ``plan`` carried out: only the pixels in
        ``plan.region.reach`` can differ from the scene's."""
        checkpoint(0.0)
        edit, region = plan.edit, plan.region
        crop = scene[region.crop.slices]
        checkpoint(0.05)
        if edit == "pattern":
            edited = transfer_pattern(
                crop,
                region,
                obj,
                params.horizontal_repeat,
                params.vertical_repeat,
                params.fashion_strength,
            )
        elif edit == "remove":
            with stage(0.05, 0.95):
                edited = self._fill(crop, region.reach, True, params)
        else:
            # The object is laid out first (matte, fit, light): the fill then rebuilds
            # only what it leaves visible. The old object goes entirely: every pixel the
            # edit reaches is rebuilt from the scene outside the grown mask (never from
            # the old object), the pixels the new object hides with a smooth estimate,
            # the rest with the exemplar fill, then the new object is laid over it.
            try:
                layer = layout_object(crop, region, obj, params.subject_strength)
            except ValueError as error:
                raise InvalidParameter("object_image", str(error)) from None
            checkpoint(0.1)
            with stage(0.1, 0.8):
                filled = fill_under_object(crop, region.reach, params, layer.hides())
            checkpoint(0.8)
            edited = compose_object(filled, layer)
        checkpoint(0.95)
        return paste_back(scene, edited, region)

    @staticmethod
    def _fill(crop: np.ndarray, hole: np.ndarray, removing: bool, params: EditParams) -> np.ndarray:
        if hole.all():
            if removing:
                raise InvalidParameter(
                    "mask_image",
                    "the mask, grown by growmask and its feather band, covers the whole scene: "
                    "nothing is left to fill from",
                )
            mean = crop.reshape(-1, 3).mean(axis=0)
            return np.broadcast_to(np.rint(mean).astype(np.uint8), crop.shape).copy()
        rng = np.random.default_rng(params.seed)
        return fill_hole(crop, hole, rng, fill_effort(params.steps, removing))


# -- object swap: the fill under the placed object ----------------------------------------


OBJECT_FILL_FULL_PIXELS = 80_000
"""Around a placed object, a fill of at most this many pixels is made at the removal's
full quality; a larger one (about 280×280 px and up) with the reduced-resolution search
of :func:`fill_effort`, which bounds its cost (a 500×400 mask at full quality would take
several times the whole request's I/O)."""


def object_fill_effort(steps: int, hole_pixels: int) -> FillEffort:
    """The fill's effort under an object for ``steps`` and a hole of ``hole_pixels``."""
    return fill_effort(steps, hole_pixels <= OBJECT_FILL_FULL_PIXELS)


def fill_under_object(
    crop: np.ndarray, hole: np.ndarray, params: EditParams, hidden: np.ndarray | None = None
) -> np.ndarray:
    """``crop`` with ``hole`` rebuilt from the pixels outside it (see
    :func:`object_fill_effort`). ``hidden`` (bool, optional): the hole's pixels the object
    covers completely; they only get a smooth estimate and the exemplar fill works on
    the rest (see :func:`segswap.engine.fill.fill_hole`). A hole covering the whole crop
    (a mask over the whole scene) becomes the crop's mean colour, under an object that
    covers it anyway."""
    if hole.all():
        mean = crop.reshape(-1, 3).mean(axis=0)
        return np.broadcast_to(np.rint(mean).astype(np.uint8), crop.shape).copy()
    rng = np.random.default_rng(params.seed)
    effort = object_fill_effort(params.steps, int(hole.sum()))
    return fill_hole(crop, hole, rng, effort, hidden)
