"""The learned fills (LaMa, MI-GAN) with tiny known-output models of each exact I/O
contract (see learned_models.py): discovery, errors, exactness outside the hole, the
crop/resize path on large scenes, the library and the CLI. Skipped without torch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from learned_models import (  # noqa: E402
    LamaHalfSize,
    LamaIdentity,
    LamaMean,
    LamaOneInput,
    MiganIdentityOfErased,
    MiganMean,
    OnnxMean,
    save_onnx,
    save_script,
)

import segswap  # noqa: E402
from segswap.cli import main  # noqa: E402
from segswap.engine.fill import build_fill  # noqa: E402
from segswap.engine.fill.learned import LearnedFill  # noqa: E402
from segswap.engine.fill.models import FillSetupError, find_models, locate  # noqa: E402
from segswap.engine.fill.networks import clear_cache, load_network  # noqa: E402
from segswap.engine.region import feather_reach, grow_mask  # noqa: E402
from segswap.settings import Settings  # noqa: E402

BACKGROUND = np.array([30, 90, 200])
OBJECT = (250, 20, 20)


@pytest.fixture(autouse=True)
def fresh_cache():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty fake TORCH_HOME; returns its hub/checkpoints folder."""
    home = tmp_path / "torch-home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    folder = home / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    return folder


def scene_with_object(height: int = 240, width: int = 320, box=(80, 100, 160, 220)):
    """A noisy uniform background (±10 around BACKGROUND) with a red object in ``box``
    (top, left, bottom, right), and a mask covering the object."""
    rng = np.random.default_rng(0)
    noise = rng.integers(-10, 11, (height, width, 3))
    scene = np.clip(BACKGROUND + noise, 0, 255).astype(np.uint8)
    top, left, bottom, right = box
    scene[top:bottom, left:right] = OBJECT
    mask = np.zeros((height, width), np.uint8)
    mask[top:bottom, left:right] = 255
    return scene, mask


def interior(mask: np.ndarray, growmask: int) -> np.ndarray:
    """The grown mask less a band of FEATHER_PX + 1 at its edge (full weight, no feather)."""
    grown = grow_mask(mask > 127, growmask)
    return ~feather_reach(~grown) & grown


def untouched(mask: np.ndarray, growmask: int) -> np.ndarray:
    return ~feather_reach(grow_mask(mask > 127, growmask))


def check_removed(scene: np.ndarray, mask: np.ndarray, out: np.ndarray, growmask: int = 8):
    """Inside the mask: the background's colour (the mean model's output, ±1); outside
    the edit's reach: the scene, byte for byte."""
    inside = out[interior(mask, growmask)].astype(int)
    assert np.abs(inside - BACKGROUND).max() <= 1, inside.mean(axis=0)
    far = untouched(mask, growmask)
    assert np.array_equal(out[far], scene[far])


TRANSPARENT = np.zeros((4, 4, 4), np.uint8)


def test_lama_torchscript_found_under_torch_home(torch_home: Path) -> None:
    save_script(LamaMean(), torch_home / "big-lama.pt")
    scene, mask = scene_with_object()
    image = segswap.swap(scene, mask, TRANSPARENT, mode="remove", growmask=8, fill="lama")
    out = np.asarray(image)
    check_removed(scene, mask, out)
    x0, y0, x1, y1 = image.info["segswap"]["changed_box"]
    assert (x0, y0) <= (100 - 8, 80 - 8) and (x1, y1) >= (220 + 8, 160 + 8)
    changed = np.argwhere((out != scene).any(axis=2))
    assert changed[:, 1].min() >= x0 and changed[:, 1].max() < x1


def test_lama_onnx_512(torch_home: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    save_onnx(OnnxMean(), torch_home / "lama_fp32.onnx")
    (found,) = find_models()
    assert found.format == "onnx" and found.fill == "lama"
    scene, mask = scene_with_object(700, 900, (200, 300, 420, 640))  # crop > 512: shrunk
    out = np.asarray(segswap.swap(scene, mask, TRANSPARENT, mode="remove", fill="lama"))
    check_removed(scene, mask, out)


def test_migan_torchscript(torch_home: Path) -> None:
    save_script(MiganMean(), torch_home / "migan_traced.pt")
    scene, mask = scene_with_object()
    out = np.asarray(segswap.swap(scene, mask, TRANSPARENT, mode="remove", fill="migan"))
    check_removed(scene, mask, out)


def test_migan_range_is_minus_one_to_one(tmp_path: Path) -> None:
    """An erased hole is 0 in [-1, 1]: mid-grey (128) once mapped back."""
    path = save_script(MiganIdentityOfErased(), tmp_path / "m.pt")
    fill = build_fill(Settings(fill="migan", fill_model=path))
    scene, mask = scene_with_object()
    out = fill(scene, mask > 0, 0)
    assert (out[mask > 0] == 128).all()
    assert np.array_equal(out[mask == 0], scene[mask == 0])


def test_the_fill_under_a_placed_object_is_learned_too(torch_home: Path) -> None:
    save_script(LamaMean(), torch_home / "big-lama.pt")
    scene, mask = scene_with_object()
    obj = np.zeros((20, 40, 4), np.uint8)
    obj[..., :3], obj[..., 3] = (0, 255, 0), 255  # a small green object
    out = np.asarray(segswap.swap(scene, mask, obj, mode="object", growmask=8, fill="lama"))
    far = untouched(mask, 8)
    assert np.array_equal(out[far], scene[far])
    # What the new object leaves uncovered is the learned fill (background), no red left.
    inside = out[interior(mask, 8)].astype(int)
    red = (np.abs(inside - OBJECT) <= 12).all(axis=1)
    assert not red.any()
    assert (np.abs(inside - BACKGROUND) <= 1).all(axis=1).mean() > 0.25  # the rest: object


def gradient(height: int, width: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.stack([x / width * 255, y / height * 255, (x + y) / (width + height) * 255], -1)


def test_large_crop_is_resized_and_pasted_in_place(tmp_path: Path) -> None:
    """A hole larger than the network's side: the crop is shrunk, run and enlarged; an
    identity network then gives back the image's own pixels in the hole (±2 after the
    round trip on a smooth gradient), at their place."""
    path = save_script(LamaIdentity(), tmp_path / "identity.pt")
    fill = build_fill(Settings(fill="lama", fill_model=path, fill_max_side=256))
    image = np.rint(gradient(900, 1200)).astype(np.uint8)
    hole = np.zeros((900, 1200), bool)
    hole[100:800, 150:1000] = True
    out = fill(image, hole, 0)
    assert np.array_equal(out[~hole], image[~hole])
    assert np.abs(out[hole].astype(int) - image[hole]).max() <= 2


class CountingNetwork:
    def __init__(self, inner):
        self.inner, self.calls = inner, []
        self.fill, self.model, self.max_side = inner.fill, inner.model, inner.max_side

    def __call__(self, image, hole):
        self.calls.append(hole.shape)
        return self.inner(image, hole)


def test_one_crop_per_region(tmp_path: Path) -> None:
    path = save_script(LamaMean(), tmp_path / "mean.pt")
    model = locate("lama", path)
    network = CountingNetwork(load_network("lama", model, device="cpu"))
    scene, _ = scene_with_object(600, 900, (50, 50, 120, 150))
    scene[400:480, 600:700] = OBJECT
    hole = np.zeros(scene.shape[:2], bool)
    hole[50:120, 50:150] = hole[400:480, 600:700] = True
    out = LearnedFill(network)(scene, hole, 0)
    assert len(network.calls) == 2
    assert all(max(shape) < 450 for shape in network.calls)  # crops, not the scene
    assert (np.abs(out[hole].astype(int) - BACKGROUND) <= 1).all()
    assert np.array_equal(out[~hole], scene[~hole])


def test_loaded_once_per_process(tmp_path: Path) -> None:
    settings = Settings(fill="lama", fill_model=save_script(LamaMean(), tmp_path / "m.pt"))
    first, second = build_fill(settings), build_fill(settings)
    assert first.network is second.network  # type: ignore[attr-defined]


def test_same_seed_same_bytes(torch_home: Path) -> None:
    save_script(LamaMean(), torch_home / "big-lama.pt")
    scene, mask = scene_with_object()
    runs = [
        np.asarray(segswap.swap(scene, mask, TRANSPARENT, mode="remove", fill="lama", seed=3))
        for _ in range(2)
    ]
    assert np.array_equal(*runs)


# ----- errors: one clear line naming the cause -----


def setup_error(**settings: object) -> str:
    with pytest.raises(FillSetupError) as error:
        build_fill(Settings(**settings))  # type: ignore[arg-type]
    return str(error.value)


def test_missing_model_names_what_and_where(torch_home: Path) -> None:
    text = setup_error(fill="lama")
    assert "big-lama.pt" in text and str(torch_home) in text and "TORCH_HOME" in text
    text = setup_error(fill="migan", fill_model=torch_home / "nope.pt")
    assert "nope.pt does not exist" in text and "migan_traced.pt" in text


def test_corrupt_model(tmp_path: Path) -> None:
    path = tmp_path / "big-lama.pt"
    path.write_bytes(b"PK\x03\x04" + bytes(200))
    text = setup_error(fill="lama", fill_model=path)
    assert "does not load as TorchScript" in text and str(path) in text
    path.write_bytes(b"not a model")
    assert "neither a TorchScript archive nor an .onnx file" in setup_error(
        fill="lama", fill_model=path
    )


def test_wrong_signatures(tmp_path: Path) -> None:
    one = save_script(LamaOneInput(), tmp_path / "one.pt")
    assert "takes 1 input(s), not 2" in setup_error(fill="lama", fill_model=one)
    lama = save_script(LamaMean(), tmp_path / "lama.pt")
    assert "takes 2 input(s), not 1" in setup_error(fill="migan", fill_model=lama)
    half = save_script(LamaHalfSize(), tmp_path / "half.pt")
    assert "returns (32, 32) for a 64×64 input" in setup_error(fill="lama", fill_model=half)


def test_onnx_with_other_inputs_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    small = save_onnx(OnnxMean(), tmp_path / "lama_256.onnx", side=256)
    assert "has inputs image [1, 3, 256, 256]" in setup_error(fill="lama", fill_model=small)
    assert "is an ONNX file" in setup_error(fill="migan", fill_model=small)


# ----- the command line -----


def write(path: Path, array: np.ndarray) -> str:
    Image.fromarray(array).save(path)
    return str(path)


def test_cli_swap_fill_lama(torch_home: Path, tmp_path: Path, capsys) -> None:
    save_script(LamaMean(), torch_home / "big-lama.pt")
    scene, mask = scene_with_object()
    args = ["swap", "--main", write(tmp_path / "s.png", scene)]
    args += ["--mask", write(tmp_path / "m.png", mask)]
    args += ["--object", write(tmp_path / "o.png", TRANSPARENT)]
    args += ["--mode", "remove", "--fill", "lama", "--growmask", "8", "-o", str(tmp_path / "r.png")]
    assert main(args) == 0
    check_removed(scene, mask, np.asarray(Image.open(tmp_path / "r.png").convert("RGB")))


def test_cli_models_lists_what_it_found(torch_home: Path, capsys) -> None:
    save_script(LamaMean(), torch_home / "big-lama.pt")
    (torch_home / "migan_traced.pt").write_bytes(b"PK\x03\x04 broken")
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    lama = next(line for line in out.splitlines() if "big-lama.pt" in line)
    migan = next(line for line in out.splitlines() if "migan_traced.pt" in line)
    assert "lama" in lama and "torchscript" in lama and "yes" in lama
    assert "migan" in migan and "no:" in migan and "TorchScript" in migan
    assert str(torch_home) in out


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "segswap", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def swap_args(tmp_path: Path) -> list[str]:
    scene, mask = scene_with_object(64, 64, (20, 20, 40, 40))
    return [
        "swap",
        "--main",
        write(tmp_path / "s.png", scene),
        "--mask",
        write(tmp_path / "m.png", mask),
        "--object",
        write(tmp_path / "o.png", TRANSPARENT),
        "--mode",
        "remove",
        "-o",
        str(tmp_path / "r.png"),
    ]


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_cli_missing_model_exits_2(tmp_path: Path) -> None:
    done = run_cli([*swap_args(tmp_path), "--fill", "lama"], {"TORCH_HOME": str(tmp_path)})
    line = one_line_error(done)
    assert "big-lama.pt" in line and str(tmp_path / "hub" / "checkpoints") in line


def test_cli_missing_extra_exits_2(tmp_path: Path) -> None:
    """Without torch (a stand-in package that fails to import), the named fill says
    which extra to install."""
    fake = tmp_path / "fake" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named torch')\n")
    model = save_script(LamaMean(), tmp_path / "big-lama.pt")
    env = {"PYTHONPATH": str(tmp_path / "fake"), "SEGSWAP_FILL_MODEL": str(model)}
    line = one_line_error(run_cli([*swap_args(tmp_path), "--fill", "lama"], env))
    assert "pip install 'segswap[learned]'" in line and "torch" in line


def test_serve_refuses_to_start_without_the_model(tmp_path: Path) -> None:
    args = ["serve", "--fill", "migan", "--data-dir", str(tmp_path / "data"), "--port", "0"]
    line = run_cli(args, {"TORCH_HOME": str(tmp_path)})
    text = one_line_error(line)
    assert "migan_traced.pt" in text and "TORCH_HOME" in text


def test_a_shrunk_pixel_is_hole_if_any_pixel_under_it_was() -> None:
    """The network never sees a removed pixel as scene: a one-pixel hole survives a
    4x shrink."""
    from segswap.engine.fill.learned import shrink

    image = np.zeros((1000, 1000, 3), np.uint8)
    hole = np.zeros((1000, 1000), bool)
    hole[501, 333] = True
    small_image, small_hole = shrink(image, hole, 250)
    assert small_image.shape == (250, 250, 3) and small_hole.sum() >= 1
    assert small_hole[501 // 4 - 1 : 501 // 4 + 2, 333 // 4 - 1 : 333 // 4 + 2].any()
