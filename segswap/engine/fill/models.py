"""Where the learned fills' model files are, and what each one is (no torch import).

segswap never downloads a model. It uses files the user already has, such as those
IOPaint downloaded into torch's hub cache: ``$TORCH_HOME/hub/checkpoints/``
(``~/.cache/torch/hub/checkpoints/`` when ``TORCH_HOME`` is unset). A path given with
``--fill-model`` / ``SEGSWAP_FILL_MODEL`` wins over that folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from segswap.errors import InvalidParameter

Format = Literal["torchscript", "onnx"]

KNOWN_FILES: dict[str, tuple[tuple[str, Format], ...]] = {
    "lama": (("big-lama.pt", "torchscript"), ("lama_fp32.onnx", "onnx"), ("lama.onnx", "onnx")),
    "migan": (("migan_traced.pt", "torchscript"),),
}
"""The file names each learned fill looks for in the checkpoint folder, in order of
preference: IOPaint's TorchScript files, then the LaMa ONNX export (512×512 inputs)."""

EXPECTED = {
    "lama": "big-lama.pt (TorchScript, as IOPaint downloads it) or lama_fp32.onnx (the LaMa"
    " ONNX export with 1×3×512×512 `image` and 1×1×512×512 `mask` inputs)",
    "migan": "migan_traced.pt (TorchScript, as IOPaint downloads it: 1×4×512×512 in,"
    " 1×3×512×512 out)",
}
"""What each learned fill expects, for error messages."""

EXTRA = "pip install 'segswap[learned]'"
"""How to install what the learned fills need (torch, onnxruntime)."""


class FillSetupError(InvalidParameter):
    """A learned fill cannot start: its extra is missing, or its model file is missing,
    unreadable or of the wrong shape. The message names the cause, what was expected
    and where segswap looked."""


@dataclass(frozen=True)
class ModelFile:
    """A model file a learned fill can use.

    Attributes:
        fill: ``lama`` or ``migan``.
        path: the file.
        format: ``torchscript`` or ``onnx``.
        size: bytes.
    """

    fill: str
    path: Path
    format: Format
    size: int


def checkpoint_dir(environ: Mapping[str, str] | None = None) -> Path:
    """torch's hub checkpoint folder, where IOPaint keeps its models:
    ``$TORCH_HOME/hub/checkpoints`` (default ``~/.cache/torch/hub/checkpoints``; like
    torch, ``$XDG_CACHE_HOME/torch`` when only ``XDG_CACHE_HOME`` is set)."""
    env = os.environ if environ is None else environ
    torch_home = env.get("TORCH_HOME")
    if not torch_home:
        cache = env.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
        torch_home = str(Path(cache) / "torch")
    return Path(torch_home).expanduser() / "hub" / "checkpoints"


def where_looked(environ: Mapping[str, str] | None = None) -> str:
    """The checkpoint folder and how it was found, for messages."""
    env = os.environ if environ is None else environ
    if env.get("TORCH_HOME"):
        how = "TORCH_HOME"
    elif env.get("XDG_CACHE_HOME"):
        how = "TORCH_HOME unset; from XDG_CACHE_HOME"
    else:
        how = "TORCH_HOME unset"
    return f"{checkpoint_dir(env)} ({how})"


def file_format(path: Path) -> Format | None:
    """``torchscript`` for a zip archive (what ``torch.jit.save`` writes), ``onnx`` for a
    ``.onnx`` file, None otherwise (a missing or unreadable file included)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
    except OSError:
        return None
    if head == b"PK\x03\x04":
        return "torchscript"
    if path.suffix.lower() == ".onnx" and head:
        return "onnx"
    return None


def find_models(environ: Mapping[str, str] | None = None) -> list[ModelFile]:
    """The known model files present in the checkpoint folder, per fill in order of
    preference (nothing is loaded)."""
    folder = checkpoint_dir(environ)
    found = []
    for fill, names in KNOWN_FILES.items():
        for name, expected in names:
            path = folder / name
            if path.is_file():
                found.append(ModelFile(fill, path, file_format(path) or expected, _size(path)))
    return found


def locate(fill: str, model: Path | None, environ: Mapping[str, str] | None = None) -> ModelFile:
    """The model file ``fill`` runs: ``model`` when given, else the first known file in
    the checkpoint folder.

    Raises:
        FillSetupError: (field ``fill_model``) no such file, or not a TorchScript or
            ONNX file; the message names the path, what was expected and where
            segswap looked.
    """
    if model is not None:
        path = Path(model).expanduser()
        if not path.is_file():
            raise FillSetupError(
                "fill_model",
                f"{path} does not exist or is not a file; the {fill} fill expects {EXPECTED[fill]}",
            )
        kind = file_format(path)
        if kind is None:
            raise FillSetupError(
                "fill_model",
                f"{path} is neither a TorchScript archive nor an .onnx file; the {fill} fill"
                f" expects {EXPECTED[fill]}",
            )
        return ModelFile(fill, path, kind, _size(path))
    for found in find_models(environ):
        if found.fill == fill:
            return found
    raise FillSetupError(
        "fill_model",
        f"no {fill} model found: expected {EXPECTED[fill]} in {where_looked(environ)};"
        " point --fill-model / SEGSWAP_FILL_MODEL at the file, or set TORCH_HOME to the"
        " folder above hub/checkpoints (segswap never downloads models)",
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
