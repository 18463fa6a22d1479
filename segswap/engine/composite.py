"""The composite engine: exact, CPU-only edits with no model weights.

Pipeline: plan the edit (:meth:`CompositeEngine.plan`: the edit, the grown mask and the
crop) → render it (:meth:`CompositeEngine.render`: fill or lay the pattern → place and
harmonise the object → blend back with a FEATHER_PX-pixel feather). Only the crop around
the mask is processed. Other engines (the diffusion engine) take the plan and refine the
render without growing the mask again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from segswap.engine.fill import Fill
from segswap.engine.fill.exemplar import ExemplarFill
from segswap.engine.modes import choose_edit
from segswap.engine.objects import compose_object, layout_object
from segswap.engine.pattern import transfer_pattern
from segswap.engine.progress import checkpoint, stage
from segswap.engine.region import (
    FEATHER_PX,
    EditRegion,
    distance_outside,
    edit_region,
    paste_back,
)
from segswap.engine.surfaces import fill_by_surface
from segswap.engine.vacated import old_object
from segswap.errors import InvalidParameter
from segswap.params import EditParams

if TYPE_CHECKING:
    from segswap.settings import Settings

CONTEXT = {"remove": 0.5, "object": 0.25, "pattern": 0.05}
"""Scene kept around the mask, as a share of its longer side, per edit: a removal fills
from a wide neighbourhood; an object swap rebuilds what its object leaves uncovered from
a ring of a quarter of the mask's size (a thinner one leaves the reduced-resolution fill
too few sources, and it falls back to full resolution), and a pattern needs only the
feather band."""


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

    ``prompt`` is not used by this engine (it has no text model); ``steps`` and ``seed``
    go to its :class:`~segswap.engine.fill.Fill` (the exemplar fill's search effort and
    random search).
    """

    name = "composite"
    edits_within_reach = True
    """Every pixel it changes is within FEATHER_PX of the mask grown by ``growmask``
    (:func:`segswap.engine.proof.reach_box` relies on it)."""

    def __init__(self, fill: Fill | None = None) -> None:
        """An engine whose holes (removal, and under a placed object) ``fill`` rebuilds
        (default: the exemplar fill)."""
        self.fill: Fill = fill or ExemplarFill()

    @classmethod
    def from_settings(cls, settings: Settings) -> CompositeEngine:
        """The engine with the fill ``settings.fill`` names (loaded here, once).

        Raises:
            InvalidParameter: (field ``fill``) the fill cannot be set up.
        """
        from segswap.engine.fill import build_fill

        return cls(build_fill(settings))

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
        # A fill may ask for more scene around the hole (a learned fill: IOPaint's margin).
        least = 16 if edit == "pattern" else max(16, int(getattr(self.fill, "context", 16)))
        return CompositePlan(edit, edit_region(mask, params.growmask, CONTEXT[edit], least))

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
                edited = self._fill(crop, region.reach, params, shown=True)
        else:
            # The object is laid out first (matte, fit, light): the fill then rebuilds
            # only what it leaves visible of the old object. The mask is often drawn
            # loosely: the scene it took in around the old object (matching the scene
            # around the mask, connected to it) is kept as it is, and only the old
            # object's footprint and its feather band are rebuilt, from the scene
            # outside it (never from the old object), the pixels the new object hides
            # with a smooth estimate, the rest with the fill; then the new object is
            # laid over it.
            try:
                layer = layout_object(crop, region, obj, params.subject_strength)
            except ValueError as error:
                raise InvalidParameter("object_image", str(error)) from None
            checkpoint(0.1)
            hole = region.reach & (distance_outside(old_object(crop, region)) <= FEATHER_PX)
            with stage(0.1, 0.8):
                if hole.any():
                    filled = fill_by_surface(
                        lambda image, where, hidden: self._fill(
                            image, where, params, shown=False, hidden=hidden
                        ),
                        crop,
                        hole,
                        layer.hides(),
                    )
                else:
                    filled = crop.copy()
            checkpoint(0.8)
            edited = compose_object(filled, layer)
        checkpoint(0.95)
        return paste_back(scene, edited, region)

    def _fill(
        self,
        crop: np.ndarray,
        hole: np.ndarray,
        params: EditParams,
        *,
        shown: bool,
        hidden: np.ndarray | None = None,
    ) -> np.ndarray:
        """``crop`` with ``hole`` rebuilt by :attr:`fill` (``shown``: removal). A hole
        covering the whole crop (a mask over the whole scene) has nothing to fill from:
        an error for a removal, the crop's mean colour under an object that covers it
        anyway."""
        if hole.all():
            if shown:
                raise InvalidParameter(
                    "mask_image",
                    "the mask, grown by growmask and its feather band, covers the whole scene: "
                    "nothing is left to fill from",
                )
            mean = crop.reshape(-1, 3).mean(axis=0)
            return np.broadcast_to(np.rint(mean).astype(np.uint8), crop.shape).copy()
        hidden = None if shown else hidden
        return self.fill(crop, hole, params.seed, steps=params.steps, shown=shown, hidden=hidden)
