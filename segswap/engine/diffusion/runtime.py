"""Loading the inpainting pipeline (once per process) and running it.

This module imports torch and diffusers; it is only imported when the diffusion engine
is selected. Nothing here ever downloads: every load is ``local_files_only=True`` and
``HF_HUB_OFFLINE=1`` is set (unless already set) before diffusers is imported.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import threading  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from segswap.engine.diffusion.layout import (  # noqa: E402
    DiffusionSetupError,
    IPAdapterLayout,
    ModelLayout,
    check_ip_adapter,
    check_model_dir,
)

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def resolve_device(name: str) -> torch.device:
    """``auto`` → the first CUDA GPU, else Apple MPS, else the CPU; otherwise as given."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise DiffusionSetupError(
            "device", f"expected auto, cpu, cuda, cuda:N or mps, got {name!r}"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DiffusionSetupError(
            "device", f"{name!r} was asked for but this torch build sees no CUDA GPU"
        )
    return device


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """``auto`` → float16 on a GPU, float32 on the CPU; otherwise float32/float16/bfloat16."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.float32 if device.type == "cpu" else torch.float16
    if name not in DTYPES:
        raise DiffusionSetupError(
            "dtype", f"expected one of auto, {', '.join(DTYPES)}, got {name!r}"
        )
    if device.type == "cpu" and name == "float16":
        raise DiffusionSetupError(
            "dtype", "float16 is not supported on the CPU; use float32 (or bfloat16)"
        )
    return DTYPES[name]


@dataclass
class DiffusionModel:
    """A loaded inpainting pipeline and what the engine needs to know about it.

    Attributes:
        pipe: the diffusers ``StableDiffusionInpaintPipeline`` or
            ``StableDiffusionXLInpaintPipeline``.
        native: the model's native side in pixels: ``unet.config.sample_size`` × the VAE
            scale factor (512 for SD 1.5, 1024 for SDXL).
        multiple: image sides are rounded to a multiple of this (VAE factor × UNet
            down-sampling: 64 for SD 1.5, 32 for SDXL).
        lock: held while the pipeline runs (a pipeline is not thread-safe; worker
            threads share one per process).
    """

    pipe: Any
    layout: ModelLayout
    ip_adapter: IPAdapterLayout | None
    device: torch.device
    dtype: torch.dtype
    native: int
    multiple: int
    lock: threading.Lock = field(default_factory=threading.Lock)

    def generate(
        self,
        prompt: str,
        image: np.ndarray,
        mask: np.ndarray,
        *,
        steps: int,
        strength: float,
        seed: int,
        guidance_scale: float,
        reference: np.ndarray | None = None,
        reference_scale: float = 0.0,
        on_step: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Inpaint ``image`` (H×W×3 uint8, sides multiples of :attr:`multiple`) where
        ``mask`` (H×W bool) is set; returns H×W×3 uint8.

        ``steps`` is the sampler's schedule length, ``strength`` the share of it run
        (img2img denoising strength), ``seed`` seeds a CPU ``torch.Generator`` (same
        noise on every device). ``reference`` (RGB) conditions the IP-Adapter, at
        ``reference_scale``; ignored without an IP-Adapter. ``on_step(n)`` is called
        after the sampler's n-th step (what it raises stops the sampler and comes out here).
        """
        height, width = image.shape[:2]
        extra: dict[str, Any] = {}
        with self.lock:
            if self.ip_adapter is not None:
                self.pipe.set_ip_adapter_scale(float(reference_scale))
                if reference is None:
                    reference = np.full((224, 224, 3), 127, np.uint8)
                extra["ip_adapter_image"] = Image.fromarray(reference, "RGB")
            generator = torch.Generator(device="cpu").manual_seed(int(seed))
            if on_step is not None:
                extra["callback_on_step_end"] = _step_callback(on_step)
            result = self.pipe(
                prompt=prompt,
                image=Image.fromarray(image, "RGB"),
                mask_image=Image.fromarray(mask.astype(np.uint8) * 255, "L"),
                height=height,
                width=width,
                strength=strength,
                num_inference_steps=steps,
                guidance_scale=guidance_scale,
                generator=generator,
                output_type="np",
                **extra,
            )
        pixels = np.asarray(result.images[0], dtype=np.float32)
        return np.clip(np.rint(pixels * 255.0), 0, 255).astype(np.uint8)


def _step_callback(on_step: Callable[[int], None]) -> Callable[..., dict[str, Any]]:
    """A diffusers ``callback_on_step_end`` calling ``on_step(steps done)``."""

    def callback(pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        on_step(step + 1)
        return tensors

    return callback


_CACHE: dict[tuple[str, str, str, str, str, bool], DiffusionModel] = {}
_CACHE_LOCK = threading.Lock()


def load_model(
    model_dir: Any,
    ip_adapter_dir: Any = None,
    device: str = "auto",
    dtype: str = "auto",
    compile: bool = False,  # noqa: A002 - the setting's name
) -> DiffusionModel:
    """The pipeline for these settings, loaded once per process and then shared.

    Raises:
        DiffusionSetupError: a folder is missing or incomplete, the UNet is not an
            inpainting UNet, or the device/dtype is unusable; the message names it.
    """
    layout = check_model_dir(model_dir)
    adapter = check_ip_adapter(ip_adapter_dir) if ip_adapter_dir else None
    torch_device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, torch_device)
    key = (
        str(layout.path),
        str(adapter.folder / adapter.weight_name) if adapter else "",
        str(torch_device),
        str(torch_dtype),
        layout.variant or "",
        bool(compile),
    )
    with _CACHE_LOCK:
        model = _CACHE.get(key)
        if model is None:
            model = _load(layout, adapter, torch_device, torch_dtype, bool(compile))
            _CACHE[key] = model
        return model


def clear_cache() -> None:
    """Forget every loaded pipeline (tests; frees memory once nothing else holds them)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _load(
    layout: ModelLayout,
    adapter: IPAdapterLayout | None,
    device: torch.device,
    dtype: torch.dtype,
    compile_unet: bool,
) -> DiffusionModel:
    from diffusers import StableDiffusionInpaintPipeline, StableDiffusionXLInpaintPipeline

    kwargs: dict[str, Any] = {"torch_dtype": dtype, "local_files_only": True}
    if layout.variant:
        kwargs["variant"] = layout.variant
    if layout.kind == "sdxl":
        pipeline_class: Any = StableDiffusionXLInpaintPipeline
    else:
        pipeline_class = StableDiffusionInpaintPipeline
        # No safety checker: segswap never blanks an image silently (see docs/diffusion.md).
        kwargs.update(safety_checker=None, requires_safety_checker=False)
    try:
        with warnings.catch_warnings():  # newer diffusers call torch_dtype "dtype"
            warnings.simplefilter("ignore", FutureWarning)
            pipe = pipeline_class.from_pretrained(str(layout.path), **kwargs)
    except (OSError, ValueError, KeyError, RuntimeError, TypeError) as error:
        raise DiffusionSetupError(
            "model_dir", f"cannot load the model in {layout.path}: {error}"
        ) from error
    if adapter is not None:
        try:
            pipe.load_ip_adapter(
                str(adapter.folder),
                subfolder="",
                weight_name=adapter.weight_name,
                image_encoder_folder="image_encoder",
                local_files_only=True,
            )
        except (OSError, ValueError, KeyError, RuntimeError, TypeError) as error:
            raise DiffusionSetupError(
                "ip_adapter_dir",
                f"cannot load the IP-Adapter {adapter.folder / adapter.weight_name} into "
                f"this {layout.kind.upper()} model: {error}",
            ) from error
    return prepare_pipeline(pipe, layout, adapter, device, dtype, compile_unet)


def prepare_pipeline(
    pipe: Any,
    layout: ModelLayout,
    adapter: IPAdapterLayout | None,
    device: torch.device,
    dtype: torch.dtype,
    compile_unet: bool = False,
) -> DiffusionModel:
    """Move a loaded pipeline to ``device`` and apply segswap's speed settings: on CUDA,
    channels-last UNet and VAE and TF32 matmuls; the UNet through ``torch.compile`` if
    asked. Attention is PyTorch's scaled_dot_product_attention (diffusers' default with
    torch 2; the IP-Adapter processors use it too)."""
    pipe.set_progress_bar_config(disable=True)
    pipe.to(device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        pipe.unet.to(memory_format=torch.channels_last)
        pipe.vae.to(memory_format=torch.channels_last)
    unet_config = pipe.unet.config
    vae_factor = 2 ** (len(pipe.vae.config.block_out_channels) - 1)
    native = int(unet_config.sample_size) * vae_factor
    multiple = vae_factor * 2 ** (len(unet_config.block_out_channels) - 1)
    if compile_unet:
        pipe.unet = torch.compile(pipe.unet)
    return DiffusionModel(
        pipe=pipe,
        layout=layout,
        ip_adapter=adapter,
        device=device,
        dtype=dtype,
        native=native,
        multiple=multiple,
    )
