"""Checks of the model folders the diffusion engine loads, before anything is imported.

Everything here is plain file-system work (no torch, no diffusers), so a wrong
``SEGSWAP_MODEL_DIR`` or ``SEGSWAP_IP_ADAPTER_DIR`` gets an error that names what is
missing, at start-up, before any weight is read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from segswap.errors import InvalidParameter

ModelKind = Literal["sd", "sdxl"]

WEIGHT_SUFFIXES = (".safetensors", ".bin")
MODEL_WEIGHTS = ("diffusion_pytorch_model", "model", "pytorch_model")
"""Stems of a component's weights file (diffusers models, then transformers models)."""

SD_COMPONENTS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")
SDXL_COMPONENTS = SD_COMPONENTS + ("text_encoder_2", "tokenizer_2")
WEIGHTED = ("unet", "vae", "text_encoder", "text_encoder_2")
CONFIG_FILE = {
    "scheduler": ("scheduler_config.json",),
    "tokenizer": ("vocab.json", "tokenizer.json", "tokenizer_config.json"),
    "tokenizer_2": ("vocab.json", "tokenizer.json", "tokenizer_config.json"),
}
INPAINT_CHANNELS = 9
"""Input channels of an inpainting UNet: 4 noisy latents + 4 masked-image latents + 1 mask."""


class DiffusionSetupError(InvalidParameter):
    """The diffusion engine cannot start: a model folder, a setting or a dependency is wrong.

    ``field`` is the setting to fix (``model_dir``, ``ip_adapter_dir``, ``device``,
    ``dtype`` or ``engine``); the message names the missing files or folders.
    """


@dataclass(frozen=True)
class ModelLayout:
    """A checked diffusers-format inpainting model folder.

    Attributes:
        path: the folder (absolute).
        kind: ``sd`` (Stable Diffusion 1.x/2.x inpainting) or ``sdxl``.
        variant: ``fp16`` when the folder only has ``*.fp16.*`` weights, else None.
    """

    path: Path
    kind: ModelKind
    variant: str | None


@dataclass(frozen=True)
class IPAdapterLayout:
    """A checked IP-Adapter: ``folder/weight_name`` plus ``folder/image_encoder/``."""

    folder: Path
    weight_name: str


def _read_json(path: Path, field: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DiffusionSetupError(field, f"cannot read {path}: {error}") from None
    if not isinstance(data, dict):
        raise DiffusionSetupError(field, f"{path} is not a JSON object")
    return data


def _weights(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and p.name.split(".")[0] in MODEL_WEIGHTS
        and (p.name.endswith(WEIGHT_SUFFIXES) or p.name.endswith(".index.json"))
    )


def check_model_dir(model_dir: Path | str | None) -> ModelLayout:
    """Check that ``model_dir`` holds a diffusers-format SD or SDXL **inpainting** model.

    Expected: ``model_index.json``; the folders ``unet/``, ``vae/``, ``text_encoder/``,
    ``tokenizer/``, ``scheduler/`` (SDXL also ``text_encoder_2/``, ``tokenizer_2/``),
    each with its config and, for models, its weights (``*.safetensors`` or ``*.bin``,
    possibly only the ``fp16`` variant); ``unet/config.json`` with ``in_channels`` 9.

    Raises:
        DiffusionSetupError: (field ``model_dir``) naming every missing file or folder, or
            saying why the model is not an inpainting model.
    """
    field = "model_dir"
    if model_dir is None or str(model_dir).strip() == "":
        raise DiffusionSetupError(
            field,
            "the diffusion engine needs a local diffusers-format inpainting model: set "
            "SEGSWAP_MODEL_DIR (serve: --model-dir) to its folder (e.g. a copy of "
            "stable-diffusion-inpainting or stable-diffusion-xl-1.0-inpainting-0.1)",
        )
    path = Path(model_dir).expanduser().resolve()
    if not path.is_dir():
        raise DiffusionSetupError(field, f"model folder {path} does not exist or is not a folder")
    index_file = path / "model_index.json"
    if not index_file.is_file():
        raise DiffusionSetupError(
            field,
            f"{path} is not a diffusers-format model: model_index.json is missing "
            "(a single .safetensors/.ckpt checkpoint must be converted to the diffusers "
            "layout first)",
        )
    index = _read_json(index_file, field)
    kind: ModelKind = (
        "sdxl" if "text_encoder_2" in index or (path / "text_encoder_2").is_dir() else "sd"
    )
    components = SDXL_COMPONENTS if kind == "sdxl" else SD_COMPONENTS

    missing: list[str] = []
    only_fp16 = True
    for name in components:
        folder = path / name
        if not folder.is_dir():
            missing.append(f"{name}/")
            continue
        configs = CONFIG_FILE.get(name, ("config.json",))
        if not any((folder / config).is_file() for config in configs):
            missing.append(f"{name}/{configs[0]}")
        if name in WEIGHTED:
            weights = _weights(folder)
            if not weights:
                missing.append(f"{name}/ weights (*.safetensors or *.bin)")
            elif any(".fp16." not in w.name for w in weights):
                only_fp16 = False
    if missing:
        raise DiffusionSetupError(
            field, f"incomplete model folder {path}: missing {', '.join(missing)}"
        )

    unet_config = _read_json(path / "unet" / "config.json", field)
    channels = unet_config.get("in_channels")
    if channels != INPAINT_CHANNELS:
        raise DiffusionSetupError(
            field,
            f"{path} is not an inpainting model: unet/config.json has in_channels={channels}, "
            f"an inpainting UNet has {INPAINT_CHANNELS} (use e.g. stable-diffusion-inpainting "
            "or stable-diffusion-xl-1.0-inpainting-0.1)",
        )
    return ModelLayout(path=path, kind=kind, variant="fp16" if only_fp16 else None)


def check_ip_adapter(ip_adapter: Path | str) -> IPAdapterLayout:
    """Check an IP-Adapter given as its weights file or as the folder holding it.

    The folder must hold exactly one IP-Adapter weights file (``*.safetensors`` or
    ``*.bin``; point at the file itself when there are several) and ``image_encoder/``
    (a transformers CLIPVisionModelWithProjection: ``config.json`` + weights).

    Raises:
        DiffusionSetupError: (field ``ip_adapter_dir``) naming what is missing.
    """
    field = "ip_adapter_dir"
    path = Path(ip_adapter).expanduser().resolve()
    if path.is_file():
        folder, weight_name = path.parent, path.name
    elif path.is_dir():
        folder = path
        candidates = sorted(
            p.name for p in path.iterdir() if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES)
        )
        if not candidates:
            raise DiffusionSetupError(
                field, f"no IP-Adapter weights (*.safetensors or *.bin) in {path}"
            )
        if len(candidates) > 1:
            raise DiffusionSetupError(
                field,
                f"{path} holds several weights files ({', '.join(candidates)}): set "
                "SEGSWAP_IP_ADAPTER_DIR to the one to use",
            )
        weight_name = candidates[0]
    else:
        raise DiffusionSetupError(field, f"IP-Adapter {path} does not exist")
    encoder = folder / "image_encoder"
    problems = []
    if not encoder.is_dir():
        problems.append(f"{encoder}/")
    else:
        if not (encoder / "config.json").is_file():
            problems.append(f"{encoder}/config.json")
        if not _weights(encoder):
            problems.append(f"{encoder}/ weights (*.safetensors or *.bin)")
    if problems:
        raise DiffusionSetupError(
            field,
            f"the IP-Adapter image encoder is missing: {', '.join(problems)} (it must sit "
            f"beside {weight_name})",
        )
    return IPAdapterLayout(folder=folder, weight_name=weight_name)
