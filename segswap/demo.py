"""``segswap demo``: one edit of each mode on real photos that ship with Python packages.

No download: the scenes are scikit-image's ``data`` photos, the object is the RGBA gift
box photo in matplotlib's sample data (install the ``demo`` extra); the masks are drawn
here, around real objects of the photos:

- object swap: the espresso cup of ``coffee()`` becomes the gift box, standing on the
  saucer where the cup stood, as large as it must be to hide the cup (300 px tall). The
  mask (:func:`gift_mask`) is the cup and the gift's outline there, so what the fill
  must rebuild and shows is only the slivers of the cup the gift leaves uncovered and a
  feather band; the spoon's bowl, in front, stays out of it and in front of the gift;
- pattern transfer: the astronaut's orange suit (found by its colour, without the neck
  ring, the helmet or the flag) takes a swatch of the stained tissue photo
  ``immunohistochemistry()``, tiled 4 × 4, keeping the suit's folds and shadows;
- removal: the model space shuttle (with its stand) on the wall behind the astronaut,
  and the rocket of ``rocket()`` with its launch mount, leaving an empty pad.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from segswap.engine import get_engine, run_engine
from segswap.io.encode import encode_image
from segswap.params import SwapParams

GIFT_BOX = "Minduka_Present_Blue_Pack.png"
"""The RGBA object photo in matplotlib's sample data."""

SHEET_WIDTH = 1200
"""Width in pixels of each row of the before/after sheet."""

GIFT_HEIGHT = 300
"""Height in pixels the gift box stands in ``coffee()`` (600×400): the cup's height."""

GIFT_CENTRE_X = 290
"""Column of the gift's centre in ``coffee()``: the cup's."""

GIFT_BASE_Y = 312
"""Row of the gift's base in ``coffee()``: where the cup's foot and handle end."""


def gift_box() -> np.ndarray:
    """The RGBA gift box photo (128×128×4 uint8) from matplotlib's sample data.

    Raises:
        RuntimeError: matplotlib is not installed (``pip install 'segswap[demo]'``).
    """
    try:
        from matplotlib import cbook
    except ImportError:  # pragma: no cover - the demo extra is installed with tests
        raise RuntimeError(
            "segswap demo needs matplotlib's sample data: pip install 'segswap[demo]'"
        ) from None
    from PIL import Image

    path = cbook.get_sample_data(GIFT_BOX, asfileobj=False)
    with Image.open(str(path)) as image:
        return np.asarray(image.convert("RGBA")).copy()


def cup_mask(shape: tuple[int, int]) -> np.ndarray:
    """The whole espresso cup of ``skimage.data.coffee()`` (600×400): rim, body, handle;
    not the spoon's handle rising behind its rim."""
    mask = np.zeros(shape, np.uint8)
    cv2.ellipse(mask, (290, 105), (120, 88), 0, 0, 360, 255, -1)
    body = [[172, 110], [408, 110], [385, 230], [340, 280], [260, 290], [195, 310], [190, 250]]
    cv2.fillPoly(mask, [np.array(body + [[178, 180]])], 255)
    cv2.ellipse(mask, (228, 268), (36, 42), 0, 0, 360, 255, -1)
    # The spoon's handle, which rises behind the cup's rim on the right, is a neighbour
    # to keep, not part of the cup: it is cut out of the rim's ellipse.
    return np.where(spoon_handle_mask(shape), 0, mask).astype(np.uint8)


def spoon_handle_mask(shape: tuple[int, int]) -> np.ndarray:
    """The spoon's handle in ``coffee()``, rising behind the cup's rim on the right."""
    handle = np.zeros(shape, np.uint8)
    outline = [[401, 66], [426, 72], [417, 112], [410, 140], [406, 140], [404, 112]]
    cv2.fillPoly(handle, [np.array(outline)], 255)
    return handle > 0


def spoon_mask(shape: tuple[int, int]) -> np.ndarray:
    """The spoon's bowl in ``coffee()``, lying on the saucer in front of the cup."""
    return _ellipse_mask(shape, (366, 278), (41, 47)) > 0


def gift_mask(shape: tuple[int, int], gift: np.ndarray) -> np.ndarray:
    """The object swap's mask (bool) in ``coffee()``: the cup and the outline of the gift
    (an RGBA image) standing where the cup stood, GIFT_HEIGHT pixels tall, without the
    spoon (its bowl and its handle).

    The engine places an object in its mask's box less a margin of 3 % of its shorter
    side (:data:`segswap.engine.objects.INSET_SHARE`); at its four extremes the outline
    reaches that far, so the gift is placed within a few pixels of there (293 px tall,
    its soft base shadow is below the outline's 5 % level) and covers the cup but for
    slivers of its rim and handle.
    """
    from segswap.engine.objects import INSET_SHARE, cut_out, fit_box
    from segswap.engine.prepare import as_rgba

    _, alpha = cut_out(as_rgba(gift))
    height = GIFT_HEIGHT
    width = round(alpha.shape[1] * height / alpha.shape[0])
    top, left = GIFT_BASE_Y - height, GIFT_CENTRE_X - width // 2
    outline = np.zeros(shape, np.uint8)
    resized = cv2.resize(alpha, (width, height), interpolation=cv2.INTER_AREA)
    outline[top : top + height, left : left + width] = resized > 0.05
    margin = max(1, round(INSET_SHARE * (min(height, width) + 20)))
    near = cv2.dilate(outline, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))) > 0
    wide = cv2.dilate(outline, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1,) * 2))
    tips = np.zeros(shape, bool)
    bottom, right = top + height, left + width
    tips[: top + 2, :] = tips[bottom - 2 :, :] = True
    tips[:, : left + 2] = tips[:, right - 2 :] = True
    mask = (cup_mask(shape) > 127) | near | ((wide > 0) & tips)
    # The spoon's handle stays out of the mask where the gift, placed as the engine will
    # place it in this mask's box, does not hide it.
    from segswap.engine.region import bounding_box

    place = fit_box(bounding_box(mask), *alpha.shape)
    placed = np.zeros(shape, np.float32)
    placed[place.slices] = cv2.resize(
        alpha, (place.width, place.height), interpolation=cv2.INTER_AREA
    )
    return mask & ~spoon_mask(shape) & ~(spoon_handle_mask(shape) & (placed < 0.5))


def shuttle_mask(shape: tuple[int, int]) -> np.ndarray:
    """The model space shuttle (orbiter, tank, boosters and stand) on the wall behind the
    astronaut in ``skimage.data.astronaut()`` (512×512), down into the black cabinet
    it stands on. Of 24 variants of the outline's bottom tried, the one whose fill puts
    the cabinet's top edge and corner closest to where they run beside the mask (6.5 px
    off on average; others took a piece of the helmet's rim, or a mound of black)."""
    outline = [[392, 0], [440, 0], [452, 40], [462, 60], [466, 200], [470, 262], [468, 300]]
    outline += [[400, 295], [360, 274], [352, 240], [372, 190], [378, 100], [384, 40]]
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.array(outline)], 255)
    return mask


def rocket_mask(shape: tuple[int, int]) -> np.ndarray:
    """The rocket of ``skimage.data.rocket()`` (640×427) with the launch mount's legs
    around its base, down to 5 px above the pad's deck (the mount's feet there are a few
    dark pixels; masking the deck's edge too makes the fill grow deck up into the sky),
    not the lamp to its right."""
    outline = [[305, 106], [340, 106], [341, 328], [352, 340], [352, 404], [278, 404]]
    outline += [[280, 340], [304, 328]]
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.array(outline)], 255)
    return mask


def suit_mask(scene: np.ndarray) -> np.ndarray:
    """The astronaut's orange suit in ``skimage.data.astronaut()``: its orange pixels inside
    the torso (not the neck ring, the helmet or the flag), with the patches and the name
    tag sewn on it included."""
    hsv = cv2.cvtColor(scene, cv2.COLOR_RGB2HSV)
    orange = (hsv[:, :, 0] >= 4) & (hsv[:, :, 0] <= 22) & (hsv[:, :, 1] > 90)
    torso = np.zeros(scene.shape[:2], np.uint8)
    # The shoulders too, up to the neck ring: the print covers the whole visible suit.
    outline = [[14, 512], [18, 300], [70, 250], [120, 240], [180, 270], [250, 280]]
    outline += [[310, 250], [345, 262], [368, 330], [300, 356], [278, 420], [272, 512]]
    cv2.fillPoly(torso, [np.array(outline)], 1)
    mask = (orange & (torso > 0)).astype(np.uint8)
    closing = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15))
    closed: np.ndarray = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, closing)
    mask = closed & torso
    # Patches, the name tag and the zip are on the suit: fill the holes they leave.
    count, labels, stats, _ = cv2.connectedComponentsWithStats(1 - mask, connectivity=4)
    for label in range(1, count):
        x, y, width, height, area = stats[label]
        inner = x > 0 and y > 0 and x + width < mask.shape[1] and y + height < mask.shape[0]
        if inner and area < 6000:
            mask[labels == label] = 1
    return mask * 255


def swatch() -> np.ndarray:
    """A 190×180 crop of ``skimage.data.immunohistochemistry()`` around one round gland (a
    brown rosette on pale blue, like a floral print): a real photo, not a designed
    repeat, so its edges do not match when tiled."""
    from skimage import data

    return np.ascontiguousarray(data.immunohistochemistry()[295:485, 225:405])


def _ellipse_mask(
    shape: tuple[int, int], centre: tuple[int, int], axes: tuple[int, int]
) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 255, -1)
    return mask


def demo_cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, SwapParams]]:
    """(name, scene, mask, object, params) for each mode, on real photos."""
    from skimage import data

    coffee = data.coffee()
    astronaut = data.astronaut()
    rocket = data.rocket()
    gift = gift_box()
    nothing = np.zeros((4, 4, 4), np.uint8)
    object_mask = gift_mask(coffee.shape[:2], gift).astype(np.uint8) * 255
    return [
        # growmask 0: the mask is drawn tight around the gift, grown it would only
        # widen the band of fill around it. Seed 2: of the seeds 1-4 and the default
        # 42 the one whose fill left of the bow is wood only (the others leave a patch
        # of saucer red there, above where the saucer's far rim runs).
        ("object", coffee, object_mask, gift, SwapParams(growmask=0, seed=2)),
        (
            "pattern",
            astronaut,
            suit_mask(astronaut),
            swatch(),
            # growmask 2: the suit's anti-aliased edge pixels, outside its colour mask,
            # would stay an orange line along the arm and the flag.
            SwapParams(horizontal_repeat=4, vertical_repeat=4, growmask=2),
        ),
        ("remove", astronaut, shuttle_mask(astronaut.shape[:2]), nothing, SwapParams()),
        ("remove-rocket", rocket, rocket_mask(rocket.shape[:2]), nothing, SwapParams()),
    ]


LABEL_FONT = cv2.FONT_HERSHEY_DUPLEX
LABEL_SCALE = 0.75
"""Label text size (OpenCV font scale) on the SHEET_WIDTH-wide sheet."""


def _label(row: np.ndarray, text: str, left: int) -> None:
    """Write ``text`` once, in white on a translucent dark tab, in the top-left corner of
    the panel starting at column ``left`` of the sheet ``row`` (in place)."""
    (width, height), baseline = cv2.getTextSize(text, LABEL_FONT, LABEL_SCALE, 1)
    pad = 6
    top, x0 = 8, left + 8
    bottom, x1 = top + height + baseline + 2 * pad, x0 + width + 2 * pad
    tab = row[top:bottom, x0:x1].astype(np.float32)
    row[top:bottom, x0:x1] = np.rint(tab * 0.4).astype(np.uint8)
    origin = (x0 + pad, top + pad + height)
    cv2.putText(row, text, origin, LABEL_FONT, LABEL_SCALE, (255, 255, 255), 1, cv2.LINE_AA)


def _outlined(scene: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The scene with the mask's outline drawn on it (white over a dark edge)."""
    out = scene.copy()
    contours, _ = cv2.findContours(
        (mask > 127).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE
    )
    thickness = max(2, round(scene.shape[1] / 300))
    cv2.drawContours(out, contours, -1, (20, 20, 20), thickness + 2, cv2.LINE_AA)
    cv2.drawContours(out, contours, -1, (255, 255, 255), thickness, cv2.LINE_AA)
    return out


def _inset(image: np.ndarray, obj: np.ndarray) -> np.ndarray:
    """``image`` with the object (or swatch) shown in its bottom-left corner, framed."""
    if obj.shape[2] == 4 and int(obj[:, :, 3].max()) == 0:
        return image
    side = max(48, image.shape[0] // 4)
    height, width = obj.shape[:2]
    scale = side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    thumb = cv2.resize(obj, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    if thumb.shape[2] == 4:
        alpha = thumb[:, :, 3:4] / 255.0
        thumb = thumb[:, :, :3] * alpha + 235.0 * (1.0 - alpha)  # on light grey
    out = image.copy()
    pad = 6
    top = image.shape[0] - size[1] - 2 * pad - 8
    left = 8
    out[top : top + size[1] + 2 * pad, left : left + size[0] + 2 * pad] = 255
    out[top + pad : top + pad + size[1], left + pad : left + pad + size[0]] = np.rint(thumb).astype(
        np.uint8
    )
    return out


def sheet_row(
    name: str, scene: np.ndarray, mask: np.ndarray, obj: np.ndarray, result: np.ndarray
) -> np.ndarray:
    """One row of the before/after sheet: the scene with the mask's outline (and the object
    put in, bottom left), then the result; SHEET_WIDTH pixels wide, each half labelled."""
    before = _inset(_outlined(scene, mask), obj)
    gap = np.full((scene.shape[0], 8, 3), 255, np.uint8)
    row = np.hstack([before, gap, result])
    height = round(row.shape[0] * SHEET_WIDTH / row.shape[1])
    row = cv2.resize(row, (SHEET_WIDTH, height), interpolation=cv2.INTER_AREA)
    _label(row, "before", 0)
    _label(
        row, f"after: {name}", round((scene.shape[1] + 8) * SHEET_WIDTH / (2 * scene.shape[1] + 8))
    )
    return row


def run_demo(folder: Path) -> Iterator[str]:
    """Run every demo case, write results and a before/after sheet; yield report lines."""
    folder.mkdir(parents=True, exist_ok=True)
    engine = get_engine("composite")
    rows = []
    for name, scene, mask, obj, params in demo_cases():
        started = time.perf_counter()
        result = run_engine(engine, scene, mask, obj, params)
        took = time.perf_counter() - started
        path = folder / f"{name}.png"
        path.write_bytes(encode_image(result, "png", 95))
        rows.append(sheet_row(name, scene, mask, obj, result))
        rows.append(np.full((8, SHEET_WIDTH, 3), 255, np.uint8))
        yield f"{name:14s} {scene.shape[1]}x{scene.shape[0]}  {took * 1000:7.1f} ms  -> {path}"
    sheet = folder / "before-after.png"
    sheet.write_bytes(encode_image(np.vstack(rows[:-1]), "png", 95))
    yield f"before/after sheet -> {sheet}"
