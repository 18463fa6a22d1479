"""Per-step time and end-to-end latency of the diffusion engine, with random weights.

Run on a CUDA machine (needs ``pip install 'segswap[diffusion]'``)::

    .venv/bin/python benchmarks/diffusion.py --random-weights sd15 --random-weights sdxl
    .venv/bin/python benchmarks/diffusion.py --random-weights sdxl --repeats 5 --compile

and anywhere, on the CPU, as the same code on a tiny random model::

    .venv/bin/python benchmarks/diffusion.py --tiny

``--random-weights sd15`` / ``sdxl`` builds the full-size SD 1.5-inpainting /
SDXL-inpainting architecture (UNet with 9 input channels, VAE, CLIP text encoders; the
configurations are written out below, from the published ``config.json`` files) with
**random weights** on the device: nothing is downloaded, and the time does not depend on
the weights' values. For each, at its native resolution (512² / 1024²) and ``--steps``
(30), medians over ``--repeats`` runs after one warm-up run:

- ``sampler step``: one denoising step (UNet on the guided batch of 2 + scheduler),
  the median gap between consecutive step-end callbacks of a full-strength
  ``generate`` call through segswap's runtime, the device synchronised at each;
- ``stock``: ``StableDiffusion[XL]InpaintPipeline(...)(prompt, image, mask_image,
  num_inference_steps=steps)`` as built (dtype as asked, diffusers defaults), end to end;
- ``segswap generate``: the same call through segswap's runtime (channels-last UNet/VAE,
  TF32, optional torch.compile), same steps, strength 1, end to end;
- ``segswap engine <mode> <scene>``: a whole engine call (composite initial image, crop,
  resize, model, paste back) with default parameters, on 1024² and 4096² scenes with
  the same 500×400 mask. Object mode runs floor(steps × 0.3) sampler steps, remove mode
  floor(steps × 0.8) (docs/diffusion.md).

Without a CUDA GPU the full-size models are far too slow to time, so the benchmark says
so and runs ``--tiny`` instead (on the CPU, 64 px, the same code; one repeat, a 1024²
scene only, as a check that it runs).
"""

from __future__ import annotations

import argparse
import json
import statistics
import string
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

TEXT_L = {  # CLIP ViT-L/14 text tower (SD 1.5, SDXL's first encoder)
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "projection_dim": 768,
    "hidden_act": "quick_gelu",
}
TEXT_BIG_G = {  # OpenCLIP ViT-bigG/14 text tower (SDXL's second encoder)
    "hidden_size": 1280,
    "intermediate_size": 5120,
    "num_attention_heads": 20,
    "num_hidden_layers": 32,
    "projection_dim": 1280,
    "hidden_act": "gelu",
}
VAE = {
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "block_out_channels": [128, 256, 512, 512],
    "layers_per_block": 2,
    "latent_channels": 4,
}
ARCHS: dict[str, dict[str, Any]] = {
    "sd15": {  # runwayml/stable-diffusion-inpainting, unet/ vae/ text_encoder/
        "unet": {
            "sample_size": 64,
            "in_channels": 9,
            "out_channels": 4,
            "layers_per_block": 2,
            "block_out_channels": [320, 640, 1280, 1280],
            "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
            "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
            "cross_attention_dim": 768,
            "attention_head_dim": 8,
        },
        "vae": {**VAE, "sample_size": 512, "scaling_factor": 0.18215},
        "text": [TEXT_L],
    },
    "sdxl": {  # diffusers/stable-diffusion-xl-1.0-inpainting-0.1
        "unet": {
            "sample_size": 128,
            "in_channels": 9,
            "out_channels": 4,
            "layers_per_block": 2,
            "block_out_channels": [320, 640, 1280],
            "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
            "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
            "transformer_layers_per_block": [1, 2, 10],
            "attention_head_dim": [5, 10, 20],
            "use_linear_projection": True,
            "cross_attention_dim": 2048,
            "addition_embed_type": "text_time",
            "addition_time_embed_dim": 256,
            "projection_class_embeddings_input_dim": 2816,
        },
        "vae": {**VAE, "sample_size": 1024, "scaling_factor": 0.13025, "force_upcast": True},
        "text": [TEXT_L, TEXT_BIG_G],
    },
    "tiny": {  # smoke runs on the CPU: the shapes of tests/engine/diffusion_tiny.py
        "unet": {
            "sample_size": 32,
            "in_channels": 9,
            "out_channels": 4,
            "layers_per_block": 1,
            "block_out_channels": [32, 64],
            "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"],
            "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"],
            "cross_attention_dim": 32,
            "attention_head_dim": [2, 4],
            "norm_num_groups": 8,
        },
        "vae": {
            **VAE,
            "down_block_types": ["DownEncoderBlock2D"] * 2,
            "up_block_types": ["UpDecoderBlock2D"] * 2,
            "block_out_channels": [16, 32],
            "layers_per_block": 1,
            "norm_num_groups": 8,
            "sample_size": 64,
        },
        "text": [
            {
                "hidden_size": 32,
                "intermediate_size": 37,
                "num_attention_heads": 4,
                "num_hidden_layers": 2,
                "projection_dim": 32,
            }
        ],
    },
}
PROMPT = "photo of a wooden table in center of living room"


def tokenizer(folder: Path) -> Any:
    """A character-level CLIP tokenizer written on the spot (no download)."""
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for symbol in string.ascii_lowercase + string.digits + ".,-'":
        vocab[symbol] = len(vocab)
        vocab[symbol + "</w>"] = len(vocab)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 77}))
    return CLIPTokenizer.from_pretrained(str(folder))


def build_pipeline(arch: str, device: Any, dtype: Any) -> Any:
    """A randomly initialised inpainting pipeline of ``arch``, built on ``device``."""
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionInpaintPipeline,
        StableDiffusionXLInpaintPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    spec = ARCHS[arch]
    torch.manual_seed(0)
    common: dict[str, Any] = {"vocab_size": 49408, "max_position_embeddings": 77}
    common |= {"bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 1}
    with torch.device(device), tempfile.TemporaryDirectory() as scratch:
        unet = UNet2DConditionModel(**spec["unet"])
        vae = AutoencoderKL(**spec["vae"])
        encoders = [
            CLIPTextModel(CLIPTextConfig(**spec["text"][0], **common)),
            *(CLIPTextModelWithProjection(CLIPTextConfig(**c, **common)) for c in spec["text"][1:]),
        ]
        tok = tokenizer(Path(scratch))
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1
    )
    pipe: Any
    if len(encoders) == 2:
        pipe = StableDiffusionXLInpaintPipeline(
            vae=vae,
            text_encoder=encoders[0],
            text_encoder_2=encoders[1],
            tokenizer=tok,
            tokenizer_2=tok,
            unet=unet,
            scheduler=scheduler,
            requires_aesthetics_score=False,
            force_zeros_for_empty_prompt=True,
        )
    else:
        pipe = StableDiffusionInpaintPipeline(
            vae=vae,
            text_encoder=encoders[0],
            tokenizer=tok,
            unet=unet,
            scheduler=scheduler,
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        )
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device, dtype)


def median_seconds(action: Callable[[], object], repeats: int, sync: Callable[[], None]) -> float:
    action()  # warm-up: kernels, allocator, torch.compile
    sync()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        sync()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def step_seconds(
    model: Any, square: np.ndarray, hole: np.ndarray, args: argparse.Namespace, sync: Any
) -> float:
    """Median seconds between consecutive sampler steps over ``--repeats`` calls."""
    gaps: list[float] = []
    for run_index in range(args.repeats + 1):
        ends: list[float] = []

        def on_step(done: int, ends: list[float] = ends) -> None:
            sync()
            ends.append(time.perf_counter())

        model.generate(
            PROMPT, square, hole, steps=args.steps, strength=1.0, seed=42,
            guidance_scale=7.5, on_step=on_step,
        )  # fmt: skip
        if run_index > 0:  # the first call warms up
            gaps += [later - earlier for earlier, later in zip(ends, ends[1:], strict=False)]
    return statistics.median(gaps)


def scene(side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A photo at side×side, a 500×400 mask near its centre, an RGBA object."""
    import cv2
    from skimage import data

    image = cv2.resize(data.astronaut(), (side, side), interpolation=cv2.INTER_LINEAR)
    mask = np.zeros((side, side), bool)
    top, left = side // 2 - 200, side // 2 - 250
    mask[top : top + 400, left : left + 500] = True
    coffee = data.coffee()[40:360, 100:500]
    obj = np.dstack([coffee, np.full(coffee.shape[:2], 255, np.uint8)])
    return image, mask, obj


def run(arch: str, args: argparse.Namespace) -> list[tuple[str, float]]:
    import torch
    from PIL import Image

    from segswap.engine.diffusion.engine import DiffusionEngine
    from segswap.engine.diffusion.layout import ModelLayout
    from segswap.engine.diffusion.runtime import prepare_pipeline, resolve_device, resolve_dtype
    from segswap.params import SwapParams

    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    started = time.perf_counter()
    pipe = build_pipeline(arch, device, dtype)
    print(f"[{arch}] built on {device} ({dtype}) in {time.perf_counter() - started:.1f}s")
    native = pipe.unet.config.sample_size * pipe.vae_scale_factor
    image, mask, obj = scene(1024)
    square = np.asarray(Image.fromarray(image).resize((native, native)))
    hole = np.asarray(Image.fromarray(mask).resize((native, native), Image.Resampling.NEAREST))
    generator = torch.Generator("cpu")
    rows: list[tuple[str, float]] = []

    def stock() -> object:
        return pipe(
            prompt=PROMPT,
            image=Image.fromarray(square),
            mask_image=Image.fromarray(hole.astype(np.uint8) * 255),
            height=native,
            width=native,
            num_inference_steps=args.steps,
            generator=generator.manual_seed(42),
            output_type="np",
        )

    rows.append(
        (
            f"stock diffusers {native}² ({args.steps} steps)",
            median_seconds(stock, args.repeats, sync),
        )
    )

    layout = ModelLayout(
        path=Path(f"<random {arch}>"), kind="sdxl" if arch == "sdxl" else "sd", variant=None
    )
    model = prepare_pipeline(pipe, layout, None, device, dtype, args.compile)
    engine = DiffusionEngine(model=model)

    def generate() -> object:
        return model.generate(
            PROMPT, square, hole, steps=args.steps, strength=1.0, seed=42, guidance_scale=7.5
        )

    rows.append(
        (
            f"segswap generate {native}² ({args.steps} steps)",
            median_seconds(generate, args.repeats, sync),
        )
    )
    rows.insert(
        0,
        (
            f"sampler step {native}² (UNet ×2 + scheduler)",
            step_seconds(model, square, hole, args, sync),
        ),
    )
    for side in args.scenes:
        big, big_mask, big_obj = scene(side)
        for mode in ("object", "remove"):
            params = SwapParams(steps=args.steps, mode=mode)  # type: ignore[arg-type]
            subject = big_obj if mode == "object" else np.zeros((8, 8, 4), np.uint8)

            call = partial(engine, big, big_mask, subject, params)
            rows.append(
                (f"segswap engine {mode} {side}² scene", median_seconds(call, args.repeats, sync))
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--random-weights",
        choices=[a for a in ARCHS if a != "tiny"],
        action="append",
        help="full-size architecture to build with random weights (repeatable; "
        "default: sd15 and sdxl)",
    )
    parser.add_argument("--tiny", action="store_true", help="tiny random model (CPU run)")
    parser.add_argument("--device", default="auto", help="auto, cuda, cuda:N or cpu")
    parser.add_argument("--dtype", default="auto", help="auto (float16 on GPU), float32, ...")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scenes", default="1024,4096", help="scene sides for engine calls")
    parser.add_argument("--compile", action="store_true", help="torch.compile the UNet")
    args = parser.parse_args(argv)
    args.scenes = [int(side) for side in args.scenes.split(",") if side]

    try:
        import diffusers  # noqa: F401
        import torch
        import transformers  # noqa: F401
    except ImportError as error:
        print(
            f"benchmarks/diffusion.py: {error.name} is not installed: "
            "pip install 'segswap[diffusion]'; nothing measured"
        )
        return 0
    archs = ["tiny"] if args.tiny else (args.random_weights or ["sd15", "sdxl"])
    if not args.tiny and not torch.cuda.is_available():
        print(
            "benchmarks/diffusion.py: no CUDA GPU here, and the full-size SD 1.5/SDXL "
            "architectures are far too slow to time on a CPU: running the same code at "
            "--tiny instead, once, on a 1024² scene (these are not SD 1.5/SDXL figures)."
        )
        args.tiny, archs = True, ["tiny"]
        args.repeats, args.scenes = 1, [1024]
    if args.tiny and not torch.cuda.is_available():
        args.device = "cpu"
    print(
        f"torch {torch.__version__}, diffusers {diffusers.__version__}, "
        f"device {args.device}, {args.steps} steps, median of {args.repeats}"
    )
    for arch in archs:
        for label, seconds in run(arch, args):
            print(f"  {label:<48} {seconds:8.3f} s")
        if torch.cuda.is_available():
            print(f"  peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
            torch.cuda.reset_peak_memory_stats()
            torch.cuda.empty_cache()  # the last architecture's pipeline is gone
    return 0


if __name__ == "__main__":
    sys.exit(main())
