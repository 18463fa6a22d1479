"""The diffusion engine on the CPU, with tiny random models written to a temp folder.

The models load through the path users take (``SEGSWAP_MODEL_DIR`` / Settings →
``get_engine("diffusion")``). Nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("transformers")

import diffusion_tiny  # noqa: E402

from segswap.cli import main as cli_main  # noqa: E402
from segswap.engine import get_engine  # noqa: E402
from segswap.engine.composite import CompositeEngine  # noqa: E402
from segswap.engine.diffusion import DiffusionSetupError  # noqa: E402
from segswap.engine.diffusion.engine import (  # noqa: E402
    REMOVE_STRENGTH,
    DiffusionEngine,
    denoise_steps,
    pipeline_strength,
    plan_edit,
)
from segswap.engine.diffusion.geometry import (  # noqa: E402
    model_region,
    native_size,
    resize,
    square_box,
)
from segswap.engine.diffusion.runtime import load_model  # noqa: E402
from segswap.engine.region import Box, feather_reach, grow_mask, reframe  # noqa: E402
from segswap.errors import InvalidParameter  # noqa: E402
from segswap.params import SwapParams  # noqa: E402
from segswap.settings import Settings  # noqa: E402


def fast(**values: Any) -> SwapParams:
    """Parameters at the fewest steps the API allows (10), unless given."""
    return SwapParams.model_validate({"steps": 10, **values})


def settings_of(**values: Any) -> Settings:
    return Settings.model_validate(values)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return diffusion_tiny.save_tiny_model(tmp_path_factory.mktemp("tiny-sd-inpaint"))


@pytest.fixture(scope="module")
def engine(model_dir: Path) -> DiffusionEngine:
    settings = Settings.from_env(
        {"SEGSWAP_ENGINE": "diffusion", "SEGSWAP_MODEL_DIR": str(model_dir)}
    )
    built = get_engine(settings.engine, settings)
    assert isinstance(built, DiffusionEngine)
    return built


def scene_and_mask(height: int, width: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A smooth scene with some texture, and a rectangular mask off-centre."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx * 255 / width, yy * 255 / height, (xx + yy) * 127 / (width + height)], -1)
    scene = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    mask = np.zeros((height, width), bool)
    mask[height // 3 : height // 3 + height // 4, width // 4 : width // 4 + width // 5] = True
    return scene, mask


def red_square() -> np.ndarray:
    obj = np.zeros((40, 30, 4), np.uint8)
    obj[6:34, 4:26] = (200, 40, 30, 255)
    return obj


def stripes() -> np.ndarray:
    obj = np.full((24, 24, 4), 255, np.uint8)
    obj[:, ::6, :3] = (20, 60, 180)
    return obj


def green_disc() -> np.ndarray:
    obj = np.zeros((36, 36, 4), np.uint8)
    yy, xx = np.mgrid[0:36, 0:36]
    obj[(yy - 18) ** 2 + (xx - 18) ** 2 < 15**2] = (30, 190, 60, 255)
    return obj


def transparent() -> np.ndarray:
    return np.zeros((16, 16, 4), np.uint8)


OBJECTS = {"object": red_square, "pattern": stripes, "remove": transparent}


class UNetCalls:
    """Counts forward calls of a module while active."""

    def __init__(self, module: object) -> None:
        self.count = 0
        self._handle = module.register_forward_hook(self._hook)  # type: ignore[attr-defined]

    def _hook(self, *_: object) -> None:
        self.count += 1

    def close(self) -> None:
        self._handle.remove()


@pytest.fixture
def unet_calls(engine: DiffusionEngine) -> Iterator[UNetCalls]:
    counter = UNetCalls(engine.model.pipe.unet)
    yield counter
    counter.close()


# --- output geometry and untouched pixels -------------------------------------------


@pytest.mark.parametrize(
    ("mode", "height", "width", "growmask"),
    [("object", 97, 131, 5), ("pattern", 120, 75, 0), ("remove", 81, 163, 11)],
)
def test_size_and_pixels_outside_the_feather_are_the_scenes(
    engine: DiffusionEngine, mode: str, height: int, width: int, growmask: int
) -> None:
    scene, mask = scene_and_mask(height, width)
    obj = OBJECTS[mode]()
    params = fast(mode=mode, growmask=growmask)
    out = engine(scene, mask, obj, params)
    assert out.shape == scene.shape and out.dtype == np.uint8
    reach = feather_reach(grow_mask(mask, growmask))
    assert np.array_equal(out[~reach], scene[~reach])
    # The model did refine the composite result inside the mask.
    composite = CompositeEngine()(scene, mask, obj, params)
    assert not np.array_equal(out[mask], composite[mask])


def test_large_scene_costs_the_same_crop(engine: DiffusionEngine) -> None:
    """Only a crop around the mask, at the model's native size, goes through the model."""
    scene, mask = scene_and_mask(900, 1300)
    planned = CompositeEngine().plan(mask, transparent(), fast(mode="remove"))
    region = model_region(planned.region, 900, 1300)
    assert region.crop.height == region.crop.width  # square when the scene has room
    assert engine.model.native == 64  # tiny UNet: sample_size 32 × VAE factor 2
    out = engine(scene, mask, transparent(), fast(mode="remove"))
    reach = feather_reach(grow_mask(mask, 5))
    assert np.array_equal(out[~reach], scene[~reach])


def scene_reach(region: Any, shape: tuple[int, int]) -> np.ndarray:
    """``region.reach`` placed in a scene of ``shape`` (False outside the crop)."""
    placed = np.zeros(shape, bool)
    placed[region.crop.slices] = region.reach
    return placed


@pytest.mark.parametrize(("mode", "growmask"), [("object", 5), ("pattern", 9), ("remove", 13)])
def test_the_mask_is_grown_once_and_the_model_repaints_the_plans_reach(
    engine: DiffusionEngine, monkeypatch: pytest.MonkeyPatch, mode: str, growmask: int
) -> None:
    """The diffusion engine takes the composite engine's plan (one dilation of the mask)
    and repaints exactly its reach, re-framed onto the model's crop."""
    import segswap.engine.region as region_module

    grown: list[int] = []
    real_grow_mask = region_module.grow_mask

    def counting_grow_mask(mask: np.ndarray, pixels: int) -> np.ndarray:
        grown.append(pixels)
        return real_grow_mask(mask, pixels)

    monkeypatch.setattr(region_module, "grow_mask", counting_grow_mask)
    repainted: list[np.ndarray] = []
    real_generate = engine.model.generate

    def recording_generate(prompt: str, image: np.ndarray, mask: np.ndarray, **kw: Any) -> Any:
        repainted.append(mask)
        return real_generate(prompt, image, mask, **kw)

    monkeypatch.setattr(engine.model, "generate", recording_generate)
    scene, mask = scene_and_mask(300, 400)
    params = fast(mode=mode, growmask=growmask)
    engine(scene, mask, OBJECTS[mode](), params)
    assert grown == [growmask]  # the composite plan's, and no second one for the model

    planned = CompositeEngine().plan(mask, OBJECTS[mode](), params)
    region = model_region(planned.region, 300, 400)
    assert region.crop != planned.region.crop  # a square crop of its own ...
    reach = scene_reach(planned.region, (300, 400))
    assert np.array_equal(scene_reach(region, (300, 400)), reach)  # ... with the same reach
    assert np.array_equal(reach, feather_reach(grow_mask(mask, growmask)))
    (model_mask,) = repainted
    native = resize(region.reach.view(np.uint8), *model_mask.shape, nearest=True).astype(bool)
    assert np.array_equal(model_mask, native)


def test_reframe_keeps_the_grown_mask_and_refuses_a_crop_that_cuts_it() -> None:
    _, mask = scene_and_mask(100, 120)
    planned = CompositeEngine().plan(mask, transparent(), fast(mode="remove", growmask=6))
    wider = reframe(planned.region, Box(0, 0, 100, 120))
    assert wider.grown.sum() == planned.region.grown.sum()
    assert np.array_equal(wider.grown, grow_mask(mask, 6))
    assert np.array_equal(wider.mask, mask)
    with pytest.raises(ValueError, match="reach"):
        reframe(planned.region, Box(40, 0, 100, 120))  # the mask starts at row 33


# --- parameters reach the sampler ----------------------------------------------------


def test_same_seed_same_bytes_other_seed_differs(engine: DiffusionEngine) -> None:
    scene, mask = scene_and_mask(90, 110)
    first = engine(scene, mask, red_square(), fast(seed=7))
    again = engine(scene, mask, red_square(), fast(seed=7))
    other = engine(scene, mask, red_square(), fast(seed=8))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("steps", [10, 23])
def test_steps_set_the_schedule(engine: DiffusionEngine, unet_calls: UNetCalls, steps: int) -> None:
    scene, mask = scene_and_mask(80, 96)
    engine(scene, mask, transparent(), SwapParams(mode="remove", steps=steps))
    assert len(engine.model.pipe.scheduler.timesteps) == steps
    assert unet_calls.count == denoise_steps(steps, REMOVE_STRENGTH) == int(steps * 0.8)


def test_subject_strength_sets_the_denoising_share(
    engine: DiffusionEngine, unet_calls: UNetCalls
) -> None:
    scene, mask = scene_and_mask(80, 96)
    counts = []
    for strength in (1.0, 0.0):
        before = unet_calls.count
        engine(scene, mask, red_square(), SwapParams(subject_strength=strength, steps=20))
        counts.append(unet_calls.count - before)
    assert counts == [6, 18]  # floor(20 × 0.3), floor(20 × 0.9)


def test_fashion_strength_zero_leaves_the_composite_result(
    engine: DiffusionEngine, unet_calls: UNetCalls
) -> None:
    scene, mask = scene_and_mask(80, 96)
    params = fast(mode="pattern", fashion_strength=0.0)
    out = engine(scene, mask, stripes(), params)
    assert unet_calls.count == 0
    assert np.array_equal(out, CompositeEngine()(scene, mask, stripes(), params))
    assert np.array_equal(out, scene)


def test_prompt_reaches_the_text_encoder(engine: DiffusionEngine) -> None:
    scene, mask = scene_and_mask(80, 96)
    seen: list[object] = []
    handle = engine.model.pipe.text_encoder.register_forward_hook(
        lambda _m, args, kwargs_or_out, *rest: seen.append(args[0].clone())
    )
    try:
        a = engine(scene, mask, red_square(), fast(prompt="a red chair"))
        b = engine(scene, mask, red_square(), fast(prompt="blue velvet sofa"))
    finally:
        handle.remove()
    assert not np.array_equal(a, b)
    assert len(seen) >= 2 and not np.array_equal(np.asarray(seen[0]), np.asarray(seen[-1]))


def test_strength_plan_and_exact_step_counts() -> None:
    assert plan_edit("object", SwapParams(subject_strength=1.0)).strength == pytest.approx(0.3)
    assert plan_edit("object", SwapParams(subject_strength=0.25)).reference_scale == 0.25
    assert plan_edit("pattern", SwapParams(fashion_strength=0.5)).strength == 0.25
    assert plan_edit("remove", SwapParams()).reference_scale == 0.0
    for steps in range(10, 101):
        for count in range(0, steps + 1):
            assert int(steps * pipeline_strength(steps, count)) == count  # diffusers' rule


# --- selection through settings, env and the CLI ---------------------------------


def test_env_and_cli_select_the_engine(
    engine: DiffusionEngine, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGSWAP_MODEL_DIR", str(model_dir))
    from_env = get_engine("diffusion")
    assert isinstance(from_env, DiffusionEngine)
    assert from_env.model is engine.model  # loaded once per process

    scene, mask = scene_and_mask(70, 91)
    from PIL import Image

    Image.fromarray(scene).save(tmp_path / "scene.png")
    Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / "mask.png")
    Image.fromarray(red_square(), "RGBA").save(tmp_path / "object.png")
    out = tmp_path / "out.png"
    args = ["swap", "--engine", "diffusion", "--main", str(tmp_path / "scene.png")]
    args += ["--mask", str(tmp_path / "mask.png"), "--object", str(tmp_path / "object.png")]
    args += ["-o", str(out), "--steps", "10", "--seed", "3"]
    assert cli_main(args) == 0
    result = np.asarray(Image.open(out).convert("RGB"))
    assert result.shape[:2] == (70, 91)
    expected = engine(scene, mask, red_square(), SwapParams(steps=10, seed=3))
    assert np.array_equal(result, expected)


def test_settings_fields_from_env(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "SEGSWAP_MODEL_DIR": str(tmp_path),
            "SEGSWAP_IP_ADAPTER_DIR": str(tmp_path / "ip"),
            "SEGSWAP_DEVICE": "cpu",
            "SEGSWAP_DTYPE": "bfloat16",
            "SEGSWAP_COMPILE": "1",
        }
    )
    assert settings.model_dir == tmp_path and settings.ip_adapter_dir == tmp_path / "ip"
    assert (settings.device, settings.dtype, settings.compile) == ("cpu", "bfloat16", True)
    defaults = Settings.from_env({})
    assert defaults.model_dir is None and defaults.dtype == "auto" and not defaults.compile


# --- IP-Adapter ---------------------------------------------------------------------


def test_ip_adapter_sees_the_object_at_subject_strength(model_dir: Path, tmp_path: Path) -> None:
    adapter = diffusion_tiny.save_tiny_ip_adapter(tmp_path / "ip-adapter")
    settings = settings_of(engine="diffusion", model_dir=model_dir, ip_adapter_dir=adapter)
    engine = get_engine("diffusion", settings)
    assert isinstance(engine, DiffusionEngine)
    pipe = engine.model.pipe
    assert pipe.image_encoder is not None
    encoded = UNetCalls(pipe.image_encoder)
    scene, mask = scene_and_mask(80, 96)
    try:
        strong = engine(scene, mask, red_square(), fast(subject_strength=0.5))
        scales = {
            tuple(p.scale)
            for p in pipe.unet.attn_processors.values()
            if hasattr(p, "scale") and isinstance(p.scale, list)
        }
        assert scales == {(0.5,)}
        assert encoded.count >= 1
        other = engine(scene, mask, green_disc(), fast(subject_strength=0.5))
        assert not np.array_equal(strong, other)
        # Same image, mask and seed: only the reference changes the result, and only
        # at a reference scale above 0.
        image = np.asarray(scene[:64, :64]).copy()
        hole = np.zeros((64, 64), bool)
        hole[16:48, 16:48] = True

        def run(reference: np.ndarray, scale: float) -> np.ndarray:
            return engine.model.generate(
                "a chair",
                image,
                hole,
                steps=10,
                strength=1.0,
                seed=1,
                guidance_scale=7.5,
                reference=reference,
                reference_scale=scale,
            )

        red, green = red_square()[:, :, :3], green_disc()[:, :, :3]
        assert not np.array_equal(run(red, 1.0), run(green, 1.0))
        assert np.array_equal(run(red, 0.0), run(green, 0.0))
    finally:
        encoded.close()


# --- clear errors for a wrong setup -----------------------------------------------


def _error(settings: Settings) -> DiffusionSetupError:
    with pytest.raises(DiffusionSetupError) as caught:
        get_engine("diffusion", settings)
    assert isinstance(caught.value, InvalidParameter)
    return caught.value


def test_missing_model_dir_setting() -> None:
    error = _error(settings_of(engine="diffusion"))
    assert error.field == "model_dir" and "SEGSWAP_MODEL_DIR" in str(error)


def test_model_dir_that_does_not_exist(tmp_path: Path) -> None:
    error = _error(settings_of(model_dir=tmp_path / "nowhere"))
    assert "nowhere" in str(error) and "does not exist" in str(error)


def test_folder_without_model_index(tmp_path: Path) -> None:
    error = _error(settings_of(model_dir=tmp_path))
    assert "model_index.json" in str(error)


def test_missing_unet_folder(model_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for item in model_dir.iterdir():
        if item.name != "unet":
            (broken / item.name).symlink_to(item)
    error = _error(settings_of(model_dir=broken))
    assert "unet/" in str(error) and "missing" in str(error)


def test_missing_weights(model_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for item in model_dir.iterdir():
        if item.name != "vae":
            (broken / item.name).symlink_to(item)
    (broken / "vae").mkdir()
    (broken / "vae" / "config.json").symlink_to(model_dir / "vae" / "config.json")
    error = _error(settings_of(model_dir=broken))
    assert "vae/ weights" in str(error)


def test_non_inpainting_unet(tmp_path: Path) -> None:
    plain = diffusion_tiny.save_tiny_model(tmp_path / "txt2img", in_channels=4)
    error = _error(settings_of(model_dir=plain))
    assert "not an inpainting model" in str(error) and "in_channels=4" in str(error)


def test_bad_ip_adapter_dir(model_dir: Path, tmp_path: Path) -> None:
    error = _error(settings_of(model_dir=model_dir, ip_adapter_dir=tmp_path / "nope"))
    assert error.field == "ip_adapter_dir" and "nope" in str(error)
    (tmp_path / "ip").mkdir()
    (tmp_path / "ip" / "ip-adapter.safetensors").write_bytes(b"")
    error = _error(settings_of(model_dir=model_dir, ip_adapter_dir=tmp_path / "ip"))
    assert "image_encoder" in str(error)


def test_bad_device(model_dir: Path) -> None:
    with pytest.raises(DiffusionSetupError, match="device"):
        load_model(model_dir, device="warp-drive")
    with pytest.raises(DiffusionSetupError, match="dtype"):
        load_model(model_dir, device="cpu", dtype="float16")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(DiffusionSetupError, match="CUDA"):
            load_model(model_dir, device="cuda")


# --- geometry -----------------------------------------------------------------------


def test_square_box_and_native_size() -> None:
    assert square_box(Box(10, 10, 30, 70), 200, 200) == Box(0, 10, 60, 70)
    assert square_box(Box(0, 0, 20, 100), 50, 300) == Box(0, 0, 50, 100)  # no room: clipped
    assert native_size(300, 300, 512, 64) == (512, 512)
    assert native_size(1000, 500, 1024, 64) == (1024, 512)
    assert native_size(4000, 100, 512, 64) == (512, 64)


def test_server_and_worker_build_it_from_the_environment(
    engine: DiffusionEngine, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The HTTP service's workers build engines with get_engine(SEGSWAP_ENGINE)."""
    from segswap.engine import resolve_engine

    monkeypatch.setenv("SEGSWAP_ENGINE", "diffusion")
    monkeypatch.setenv("SEGSWAP_MODEL_DIR", str(model_dir))
    factory = resolve_engine(Settings.from_env().engine)
    built = factory()
    assert isinstance(built, DiffusionEngine) and built.model is engine.model


def test_server_flags_reach_the_engine(
    engine: DiffusionEngine, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`segswap serve --engine diffusion --model-dir X`: the settings, not only the
    environment, configure the engine the workers build."""
    from segswap.engine import resolve_engine

    monkeypatch.delenv("SEGSWAP_MODEL_DIR", raising=False)
    settings = Settings(engine="diffusion", model_dir=model_dir)
    built = resolve_engine(settings.engine, settings)()
    assert isinstance(built, DiffusionEngine) and built.model is engine.model


def test_missing_extra_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import segswap.engine.diffusion as package

    monkeypatch.setattr(package, "missing_dependencies", lambda: ["diffusers"])
    with pytest.raises(DiffusionSetupError, match=r"segswap\[diffusion\]"):
        get_engine("diffusion", settings_of(model_dir="/nowhere"))


@pytest.mark.parametrize("mode", ["object", "pattern", "remove"])
def test_changed_box_is_exact_on_every_mode(engine: DiffusionEngine, mode: str) -> None:
    from segswap.engine import run_edit
    from segswap.engine.proof import outside_is_unchanged

    scene, mask = scene_and_mask(96, 128)
    obj = {"object": red_square(), "pattern": stripes(), "remove": transparent()}[mode]
    result = run_edit(engine, scene, mask.view(np.uint8) * 255, obj, fast(mode=mode))
    assert result.mode == mode
    x0, y0, x1, y1 = result.changed_box
    assert outside_is_unchanged(scene, result.image, result.changed_box)
    differs = (scene != result.image).any(axis=2)
    assert differs[y0, x0:x1].any() and differs[y1 - 1, x0:x1].any()
    assert differs[y0:y1, x0].any() and differs[y0:y1, x1 - 1].any()


def test_sampler_steps_report_progress_and_can_be_canceled(engine: DiffusionEngine) -> None:
    from segswap.engine import run_edit
    from segswap.engine.progress import EditCanceled, watch

    scene, mask = scene_and_mask(96, 128)
    params = fast(mode="remove", steps=10)  # floor(10 × 0.8) = 8 sampler steps
    seen: list[float] = []
    with watch(on_progress=seen.append):
        run_edit(engine, scene, mask.view(np.uint8) * 255, transparent(), params)
    after_composite = [value for value in seen if value > 0.1]
    assert seen == sorted(seen)
    assert after_composite[-8:] == pytest.approx([0.1 + 0.9 * n / 8 for n in range(1, 9)])

    def cancel_in_the_sampler() -> bool:
        return bool(seen) and seen[-1] > 0.3

    seen.clear()
    watching = watch(on_progress=seen.append, canceled=cancel_in_the_sampler)
    with watching, pytest.raises(EditCanceled):
        run_edit(engine, scene, mask.view(np.uint8) * 255, transparent(), params)
    assert 0.3 < seen[-1] < 1.0  # stopped after a sampler step, not at the end
    # The model's lock was released: the engine still works.
    assert (
        run_edit(engine, scene, mask.view(np.uint8) * 255, transparent(), params).mode == "remove"
    )


def test_swap_takes_model_dir_as_a_flag(
    engine: DiffusionEngine,
    model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys,
) -> None:
    from PIL import Image

    monkeypatch.delenv("SEGSWAP_MODEL_DIR", raising=False)
    scene, mask = scene_and_mask(70, 91)
    Image.fromarray(scene).save(tmp_path / "scene.png")
    Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / "mask.png")
    Image.fromarray(transparent(), "RGBA").save(tmp_path / "object.png")
    out = tmp_path / "out.png"
    args = ["swap", "--engine", "diffusion", "--model-dir", str(model_dir), "--device", "cpu"]
    args += ["--main", str(tmp_path / "scene.png"), "--mask", str(tmp_path / "mask.png")]
    args += ["--object", str(tmp_path / "object.png"), "-o", str(out), "--steps", "10"]
    assert cli_main(args) == 0
    assert "mode remove (auto)" in capsys.readouterr().out
    result = np.asarray(Image.open(out).convert("RGB"))
    expected = engine(scene, mask, transparent(), SwapParams(steps=10))
    assert np.array_equal(result, expected)
