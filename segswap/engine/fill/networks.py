"""The learned networks, loaded once per process and called exactly as IOPaint calls them.

Each contract, as in IOPaint's ``iopaint/model/lama.py``, ``mi_gan.py`` and ``helper.py``:

- **LaMa, TorchScript** (``big-lama.pt``): ``model(image, mask)``; image float32
  ``(1,3,H,W)`` RGB in [0, 1]; mask ``(1,1,H,W)`` int64, 1 in the hole, 0 elsewhere;
  H and W padded up to a multiple of 8 by mirroring (``np.pad`` ``symmetric``); result
  ``(1,3,H,W)`` RGB in [0, 1], scaled by 255, clipped and truncated to uint8, the
  padding cut off.
- **LaMa, ONNX** (the export with fixed 512×512 inputs, e.g. ``lama_fp32.onnx``):
  inputs ``image`` float32 ``(1,3,512,512)`` RGB in [0, 1] and ``mask`` float32
  ``(1,1,512,512)``, 1 in the hole; output ``(1,3,512,512)`` RGB in [0, 255]. A crop of
  at most 512 px a side is mirrored up to 512×512.
- **MI-GAN, TorchScript** (``migan_traced.pt``): ``model(x)`` with x float32
  ``(1,4,512,512)``: channel 0 is ``0.5 - mask`` (mask 1 in the hole), channels 1–3 the
  RGB image in [-1, 1] times ``1 - mask``; output ``(1,3,512,512)`` RGB in [-1, 1],
  mapped by ``x * 127.5 + 127.5``, rounded and clamped to uint8. A crop of at most
  512 px a side is mirrored up to 512×512 (IOPaint's ``pad_mod=512``, square).

Every network here takes an RGB uint8 crop and a bool hole of the same size and returns
an RGB uint8 crop of that size; the caller (:mod:`segswap.engine.fill.learned`) crops,
resizes and pastes back. Importing this module imports neither torch nor onnxruntime.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from segswap.engine.fill.models import EXPECTED, EXTRA, FillSetupError, ModelFile

MIGAN_SIDE = 512
"""MI-GAN's input side (IOPaint's ``min_size`` and ``pad_mod``)."""

ONNX_SIDE = 512
"""The LaMa ONNX export's fixed input side."""

LAMA_PAD = 8
"""LaMa's sides are padded up to a multiple of this (IOPaint's ``pad_mod``)."""


class Network(Protocol):
    """A loaded network behind a learned fill.

    Attributes:
        fill: ``lama`` or ``migan``.
        model: the file it was loaded from.
        max_side: the longest side of a crop it is given (the caller resizes to fit).
    """

    fill: str
    model: ModelFile
    max_side: int

    def __call__(self, image: np.ndarray, hole: np.ndarray) -> np.ndarray:
        """``image`` (h×w×3 uint8 RGB, h, w ≤ :attr:`max_side`) with ``hole`` (h×w bool)
        inpainted: h×w×3 uint8 RGB (the network's output everywhere)."""
        ...


def pad_to(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """``array`` (h×w or h×w×c) mirrored at its bottom and right up to height×width, as
    IOPaint's ``pad_img_to_modulo`` does (``np.pad`` ``symmetric``)."""
    pad = [(0, height - array.shape[0]), (0, width - array.shape[1])] + [(0, 0)] * (array.ndim - 2)
    return np.pad(array, pad, mode="symmetric")


def ceil_to(value: int, multiple: int) -> int:
    """``value`` rounded up to a multiple of ``multiple``."""
    return -(-value // multiple) * multiple


@dataclass
class LamaTorchScript:
    """LaMa as IOPaint's ``big-lama.pt`` (TorchScript), on ``device``."""

    model: ModelFile
    module: Any
    device: Any
    max_side: int
    fill: str = "lama"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, image: np.ndarray, hole: np.ndarray) -> np.ndarray:
        import torch

        height, width = hole.shape
        padded_h, padded_w = ceil_to(height, LAMA_PAD), ceil_to(width, LAMA_PAD)
        rgb = pad_to(image, padded_h, padded_w).transpose(2, 0, 1).astype(np.float32) / 255
        mask = (pad_to(hole, padded_h, padded_w) > 0).astype(np.int64)  # IOPaint: (m > 0) * 1
        with self.lock, torch.no_grad():
            out = self.module(
                torch.from_numpy(rgb)[None].to(self.device),
                torch.from_numpy(mask)[None, None].to(self.device),
            )
        result = out[0].permute(1, 2, 0).detach().cpu().numpy()
        result = np.clip(result * 255, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(result[:height, :width])


@dataclass
class MiganTorchScript:
    """MI-GAN as IOPaint's ``migan_traced.pt`` (TorchScript, 512×512), on ``device``."""

    model: ModelFile
    module: Any
    device: Any
    max_side: int = MIGAN_SIDE
    fill: str = "migan"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, image: np.ndarray, hole: np.ndarray) -> np.ndarray:
        import torch

        height, width = hole.shape
        padded = pad_to(image, MIGAN_SIDE, MIGAN_SIDE).transpose(2, 0, 1)
        rgb = (padded.astype(np.float32) / 255 * 2 - 1).astype(np.float32)
        mask = pad_to(hole, MIGAN_SIDE, MIGAN_SIDE).astype(np.float32)[None]
        with self.lock, torch.no_grad():
            x = torch.from_numpy(rgb)[None].to(self.device)
            m = torch.from_numpy(mask)[None].to(self.device)
            out = self.module(torch.cat([0.5 - m, x * (1 - m)], dim=1))
            out = (out.permute(0, 2, 3, 1) * 127.5 + 127.5).round().clamp(0, 255)
            result = out.to(torch.uint8)[0].cpu().numpy()
        return np.ascontiguousarray(result[:height, :width])


@dataclass
class LamaOnnx:
    """The LaMa ONNX export (fixed 512×512 ``image`` and ``mask``), on onnxruntime."""

    model: ModelFile
    session: Any
    max_side: int = ONNX_SIDE
    fill: str = "lama"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, image: np.ndarray, hole: np.ndarray) -> np.ndarray:
        height, width = hole.shape
        rgb = pad_to(image, ONNX_SIDE, ONNX_SIDE).transpose(2, 0, 1).astype(np.float32) / 255
        mask = pad_to(hole, ONNX_SIDE, ONNX_SIDE).astype(np.float32)
        with self.lock:
            (out,) = self.session.run(None, {"image": rgb[None], "mask": mask[None, None]})[:1]
        result = np.rint(np.clip(np.asarray(out)[0].transpose(1, 2, 0), 0, 255))
        return np.ascontiguousarray(result[:height, :width].astype(np.uint8))


_CACHE: dict[tuple[object, ...], Network] = {}
_CACHE_LOCK = threading.Lock()


def load_network(
    fill: str, model: ModelFile, *, device: str = "auto", threads: int = 0, max_side: int = 1024
) -> Network:
    """The network ``fill`` runs from ``model``, loaded and checked once per process
    (the same file, device and threads give the same object; jobs share it, one call at
    a time).

    Args:
        fill: ``lama`` or ``migan``.
        model: the file (:func:`segswap.engine.fill.models.locate`).
        device: ``auto`` (a CUDA GPU where torch or onnxruntime sees one, else the CPU),
            ``cpu``, ``cuda``, ``cuda:N`` or ``mps`` (TorchScript only).
        threads: CPU threads for the network (0: the library's default).
        max_side: LaMa TorchScript: the longest side it is given (crops are resized to
            fit); the 512×512 networks take at most 512.

    Raises:
        FillSetupError: the extra is missing, or the file does not load or does not
            have the contract's inputs and outputs; the message names the file, what
            was expected and the cause.
    """
    stat = model.path.stat()
    key = (
        fill,
        str(model.path.resolve()),
        stat.st_mtime_ns,
        stat.st_size,
        device,
        threads,
        max_side,
    )
    with _CACHE_LOCK:
        network = _CACHE.get(key)
        if network is None:
            if model.format == "onnx":
                network = _load_onnx(fill, model, device, threads)
            else:
                network = _load_torchscript(fill, model, device, threads, max_side)
            _CACHE[key] = network
        return network


def clear_cache() -> None:
    """Forget every loaded network (tests)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _require(module: str, fill: str, model: ModelFile) -> None:
    """Import ``module`` (torch or onnxruntime), or say which extra installs it."""
    try:
        importlib.import_module(module)
    except ImportError as error:
        raise FillSetupError(
            "fill",
            f"the {fill} fill needs {module} to run {model.path} ({model.format}), and"
            f" it does not import ({error}): {EXTRA}",
        ) from None


def _refuse(fill: str, model: ModelFile, cause: str) -> FillSetupError:
    cause = " ".join(cause.split())[:300]
    return FillSetupError(
        "fill_model", f"{model.path}: {cause}; the {fill} fill expects {EXPECTED[fill]}"
    )


def _load_torchscript(
    fill: str, model: ModelFile, device: str, threads: int, max_side: int
) -> Network:
    _require("torch", fill, model)
    import torch

    torch_device = _torch_device(device)
    if threads > 0 and torch_device.type == "cpu":
        torch.set_num_threads(threads)
    try:
        module = torch.jit.load(str(model.path), map_location="cpu").to(torch_device).eval()
    except Exception as error:  # torch raises RuntimeError, ValueError... for a bad archive
        raise _refuse(fill, model, f"does not load as TorchScript ({error})") from None
    inputs = _input_count(module)
    wanted = 2 if fill == "lama" else 1
    if inputs is not None and inputs != wanted:
        raise _refuse(fill, model, f"its forward takes {inputs} input(s), not {wanted}")
    network: Network
    if fill == "lama":
        network = LamaTorchScript(model, module, torch_device, max(8, max_side))
        probe_side = 64
    else:
        network = MiganTorchScript(model, module, torch_device)
        probe_side = MIGAN_SIDE
    _probe(fill, model, network, probe_side)
    return network


def _load_onnx(fill: str, model: ModelFile, device: str, threads: int) -> Network:
    if fill != "lama":
        raise _refuse(fill, model, "is an ONNX file")
    _require("onnxruntime", fill, model)
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if threads > 0:
        options.intra_op_num_threads = threads
    available = onnxruntime.get_available_providers()
    providers = ["CPUExecutionProvider"]
    if device != "cpu" and "CUDAExecutionProvider" in available:
        providers.insert(0, "CUDAExecutionProvider")
    elif device.startswith("cuda"):
        raise FillSetupError(
            "device", f"{device!r} was asked for but onnxruntime has no CUDA provider here"
        )
    try:
        session = onnxruntime.InferenceSession(
            str(model.path), sess_options=options, providers=providers
        )
    except Exception as error:  # onnxruntime raises its own exception types
        raise _refuse(fill, model, f"does not load as ONNX ({error})") from None
    inputs = {item.name: list(item.shape) for item in session.get_inputs()}
    wanted = {"image": [3, ONNX_SIDE, ONNX_SIDE], "mask": [1, ONNX_SIDE, ONNX_SIDE]}
    if set(inputs) != set(wanted) or any(inputs[n][1:] != wanted[n] for n in wanted):
        shown = ", ".join(f"{name} {shape}" for name, shape in inputs.items())
        raise _refuse(fill, model, f"has inputs {shown}")
    network = LamaOnnx(model, session)
    _probe(fill, model, network, ONNX_SIDE)
    return network


def _torch_device(name: str) -> Any:
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise FillSetupError(
            "device", f"expected auto, cpu, cuda, cuda:N or mps, got {name!r}"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise FillSetupError("device", f"{name!r} was asked for but torch sees no CUDA GPU")
    return device


def _input_count(module: Any) -> int | None:
    """How many inputs a TorchScript module's forward takes (None: unknown)."""
    try:
        arguments = module.forward.schema.arguments
    except (AttributeError, RuntimeError):
        return None
    return sum(1 for argument in arguments if argument.name != "self")


def _probe(fill: str, model: ModelFile, network: Network, side: int) -> None:
    """Run ``network`` once on a side×side grey image with a hole in its middle: a file
    with the right inputs but the wrong output fails here, at start-up."""
    image = np.full((side, side, 3), 128, np.uint8)
    hole = np.zeros((side, side), bool)
    hole[side // 4 : 3 * side // 4, side // 4 : 3 * side // 4] = True
    try:
        out = network(image, hole)
    except Exception as error:  # a wrongly shaped model fails inside torch/onnxruntime
        raise _refuse(fill, model, f"fails on a {side}×{side} test input ({error})") from None
    if out.shape != image.shape:
        raise _refuse(fill, model, f"returns {out.shape[:2]} for a {side}×{side} input")


def model_runs(fill: str, model: ModelFile) -> str:
    """``yes`` if ``model`` loads and passes the test input as ``fill``, else why not
    (for ``segswap models``)."""
    try:
        load_network(fill, model, device="cpu")
    except FillSetupError as error:
        return f"no: {error.message}"
    return "yes"


def describe(network: Network) -> str:
    """``lama (torchscript, /path/big-lama.pt)`` for logs and ``/health``."""
    return f"{network.fill} ({network.model.format}, {Path(network.model.path)})"
