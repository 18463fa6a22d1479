"""Real photos for the quality benchmarks, from three Debian packages and scikit-image.

The Debian photos are downloaded on first use with ``apt-get download`` and unpacked
with ``dpkg-deb -x`` into a cache folder (nothing is installed on the system):
``$SEGSWAP_BENCH_CACHE`` if set, else ``~/.cache/segswap-bench``. About 150 MB of
packages; each photo is then scaled down to about :data:`TARGET_PIXELS` and kept there
as PNG, so later runs only read the PNGs.

Photos are split by where they come from, so a fill can be tuned on some and judged on
others it has never seen:

- ``tuning``: ``tuxpaint-data`` (19 photos, ``usr/share/tuxpaint/templates/*.jpg``) and
  ``mate-backgrounds`` (12 photos, ``usr/share/backgrounds/mate/nature/``);
- ``validation``: ``plasma-workspace-wallpapers`` (11 photos, the ``2560x1600.jpg`` of
  each wallpaper; *Autumn*, a painting, is left out);
- ``skimage``: scikit-image's sample photos and matplotlib's Grace Hopper (the project
  was tuned on these for years: neither tuning nor validation).

Where ``apt-get`` or ``dpkg-deb`` is missing (or the download fails), :func:`photos`
raises :class:`PhotosUnavailable`, whose message says what to install or set.

Use: ``from photos import photos; for photo in photos("validation"): photo.image()``
(run from ``benchmarks/``, or with it on ``sys.path``). ``python benchmarks/photos.py``
downloads everything and lists the photos.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

TARGET_PIXELS = 1_500_000
"""Photos larger than this many pixels are scaled down (INTER_AREA) to about this."""

SPLITS = ("tuning", "validation", "skimage")


@dataclass(frozen=True)
class Package:
    """A Debian package of photos: which files, and the split they belong to."""

    name: str
    split: str
    pattern: str
    """Glob (relative to the unpacked package's root) of the photos."""
    exclude: tuple[str, ...] = ()
    """Photo names (see :func:`photo_name`) left out."""


PACKAGES = (
    Package("tuxpaint-data", "tuning", "usr/share/tuxpaint/templates/*.jpg"),
    Package("mate-backgrounds", "tuning", "usr/share/backgrounds/mate/nature/*.jpg"),
    Package(
        "plasma-workspace-wallpapers",
        "validation",
        "usr/share/wallpapers/*/contents/images/2560x1600.jpg",
        exclude=("Autumn",),
    ),
)


class PhotosUnavailable(RuntimeError):
    """The Debian photos cannot be fetched here (no apt-get / dpkg-deb, or no network)."""


@dataclass(frozen=True)
class Photo:
    """One photo: a stable name, its split and source, and a loader (H×W×3 uint8 RGB)."""

    name: str
    split: str
    source: str
    load: Callable[[], np.ndarray]

    def image(self) -> np.ndarray:
        """The photo, H×W×3 uint8 RGB, at most about TARGET_PIXELS."""
        return self.load()


def cache_dir() -> Path:
    """Where packages are unpacked and scaled photos kept."""
    override = os.environ.get("SEGSWAP_BENCH_CACHE")
    return Path(override) if override else Path.home() / ".cache" / "segswap-bench"


def photo_name(package: Package, path: Path) -> str:
    """A photo's name: the wallpaper's folder for plasma, else the file's stem."""
    if package.name == "plasma-workspace-wallpapers":
        return path.parents[2].name
    return path.stem


def unpacked(package: Package) -> Path:
    """The root of ``package`` unpacked in the cache (downloaded and unpacked once)."""
    root = cache_dir() / "packages" / package.name
    done = root / ".unpacked"
    if done.exists():
        return root
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise PhotosUnavailable(
                f"{tool} not found: the benchmark photos come from Debian packages "
                f"({', '.join(p.name for p in PACKAGES)}); run on Debian/Ubuntu, or unpack "
                f"them yourself under {cache_dir() / 'packages'}/<package>/ and create a "
                "'.unpacked' file there"
            )
    with tempfile.TemporaryDirectory() as work:
        try:
            subprocess.run(
                ["apt-get", "download", package.name],
                cwd=work,
                check=True,
                capture_output=True,
                text=True,
                timeout=600,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
            detail = getattr(error, "stderr", "") or ""
            raise PhotosUnavailable(
                f"apt-get download {package.name} failed (no network, or run apt-get "
                f"update first): {detail.strip()[-300:]}"
            ) from error
        (deb,) = Path(work).glob("*.deb")
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True, timeout=600)
    done.touch()
    return root


def scaled(image: np.ndarray, pixels: int = TARGET_PIXELS) -> np.ndarray:
    """``image`` scaled down (area averaging) to about ``pixels``, if it is larger."""
    height, width = image.shape[:2]
    if height * width <= pixels * 1.05:
        return image
    factor = (pixels / (height * width)) ** 0.5
    size = (round(width * factor), round(height * factor))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _scaled_photo(package: Package, path: Path, name: str) -> np.ndarray:
    kept = cache_dir() / "scaled" / package.name / f"{name}.png"
    if not kept.exists():
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise PhotosUnavailable(f"cannot read {path}")
        kept.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(kept), scaled(bgr))
    bgr = cv2.imread(str(kept), cv2.IMREAD_COLOR)
    return np.ascontiguousarray(bgr[:, :, ::-1])


def _debian_photos(package: Package) -> list[Photo]:
    root = unpacked(package)
    found = []
    for path in sorted(root.glob(package.pattern)):
        name = photo_name(package, path)
        if name in package.exclude:
            continue

        def load(package: Package = package, path: Path = path, name: str = name) -> np.ndarray:
            return _scaled_photo(package, path, name)

        found.append(Photo(name, package.split, package.name, load))
    if not found:
        raise PhotosUnavailable(f"no photos matching {package.pattern} in {package.name}")
    return found


def _rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        image = np.dstack([image] * 3)
    return np.ascontiguousarray(image[:, :, :3])


def _grace_hopper() -> np.ndarray:
    import matplotlib.cbook

    path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return np.ascontiguousarray(cv2.imread(str(path))[:, :, ::-1])


def _skimage_photos() -> list[Photo]:
    from skimage import data

    loaders: dict[str, Callable[[], np.ndarray]] = {
        "astronaut": data.astronaut,
        "coffee": data.coffee,
        "chelsea": data.chelsea,
        "rocket": data.rocket,
        "camera": data.camera,
        "motorcycle": lambda: data.stereo_motorcycle()[0],
        "grass": data.grass,
        "gravel": data.gravel,
        "brick": data.brick,
    }
    found = [
        Photo(name, "skimage", "scikit-image", lambda load=load: _rgb(load()))
        for name, load in loaders.items()
    ]
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return found
    return [*found, Photo("grace_hopper", "skimage", "matplotlib", _grace_hopper)]


@cache
def _all_photos() -> tuple[Photo, ...]:
    found: list[Photo] = []
    for package in PACKAGES:
        found += _debian_photos(package)
    return tuple(found + _skimage_photos())


def photos(split: str | None = None) -> list[Photo]:
    """The photos of ``split`` (``tuning``, ``validation``, ``skimage``; None: all),
    downloading the Debian packages on first use (raises :class:`PhotosUnavailable`)."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    if split == "skimage":
        return _skimage_photos()
    return [p for p in _all_photos() if split is None or p.split == split]


def photo(name: str) -> Photo:
    """The photo called ``name`` (any split; scikit-image's need no download)."""
    for candidate in _skimage_photos():
        if candidate.name == name:
            return candidate
    for candidate in _all_photos():
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def main() -> None:
    try:
        every = photos()
    except PhotosUnavailable as error:
        raise SystemExit(f"skipped: {error}") from error
    print(f"cache: {cache_dir()}")
    for split in SPLITS:
        chosen = [p for p in every if p.split == split]
        print(f"{split}: {len(chosen)} photos")
        for p in chosen:
            height, width = p.image().shape[:2]
            print(f"  {p.name:<28} {p.source:<28} {width}×{height}")


if __name__ == "__main__":
    main()
