"""Tiny models with the exact I/O contracts of IOPaint's LaMa and MI-GAN files, whose
output is known, so that a wrong value range, channel order, mask polarity, padding or
paste-back fails a test (random weights would hide all of it).

- *mean* models fill the hole with the mean colour of the known pixels, per channel,
  and return the known pixels as they are. On a uniform background holding an object of
  another colour, the hole comes back as the background colour. A swapped polarity
  gives the object's colour, a BGR order the background's channels reversed, an
  input in [0, 255] instead of [0, 1] (or a forgotten output scale) saturated or black
  pixels, and padding with zeros instead of mirrored pixels a darker mean.
- *identity* models return their input image: the filled pixels must then be the
  input's own, at the right place (crop, resize and paste-back geometry).

Each model also raises unless its input has the contract's shape and dtype (sides a
multiple of 8 and an int64 mask for LaMa, 512×512 for MI-GAN and the ONNX export).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch


class LamaMean(torch.nn.Module):
    """``model(image, mask)``: image (1,3,H,W) in [0, 1], mask (1,1,H,W) int64 {0, 1}."""

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if mask.dtype != torch.int64:
            raise ValueError("IOPaint passes the mask as int64")
        if image.shape[2] % 8 != 0 or image.shape[3] % 8 != 0:
            raise ValueError("sides must be multiples of 8")
        m = mask.to(image.dtype)
        known = 1.0 - m
        mean = (image * known).sum(dim=(2, 3), keepdim=True) / known.sum(dim=(2, 3), keepdim=True)
        return image * known + mean * m


class LamaIdentity(torch.nn.Module):
    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if image.shape[2] % 8 != 0 or image.shape[3] % 8 != 0:
            raise ValueError("sides must be multiples of 8")
        return image + 0.0 * mask.to(image.dtype)


class LamaOneInput(torch.nn.Module):
    """A LaMa-like model with the wrong signature (one input)."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return image[:, :3]


class LamaHalfSize(torch.nn.Module):
    """Right inputs, wrong output: half the size."""

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return image[:, :, ::2, ::2]


class MiganMean(torch.nn.Module):
    """``model(x)``: x (1,4,512,512), channel 0 ``0.5 - mask``, channels 1-3 the image
    in [-1, 1] times ``1 - mask``; output (1,3,512,512) in [-1, 1]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != 4 or x.shape[2] != 512 or x.shape[3] != 512:
            raise ValueError("MI-GAN takes 1x4x512x512")
        m = 0.5 - x[:, 0:1]
        known = 1.0 - m
        image = x[:, 1:4]
        mean = (image * known).sum(dim=(2, 3), keepdim=True) / known.sum(dim=(2, 3), keepdim=True)
        return image * known + mean * m


class MiganIdentityOfErased(torch.nn.Module):
    """Returns the erased image: the hole comes back mid-grey (0 in [-1, 1])."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != 4 or x.shape[2] != 512 or x.shape[3] != 512:
            raise ValueError("MI-GAN takes 1x4x512x512")
        return x[:, 1:4]


class OnnxMean(torch.nn.Module):
    """The LaMa ONNX export's contract: image (1,3,512,512) in [0, 1], mask (1,1,512,512)
    float {0, 1}; output (1,3,512,512) in [0, 255]."""

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        known = 1.0 - mask
        mean = (image * known).sum(dim=(2, 3), keepdim=True) / known.sum(dim=(2, 3), keepdim=True)
        return (image * known + mean * mask) * 255.0


def save_script(module: torch.nn.Module, path: Path) -> Path:
    """``module`` compiled with ``torch.jit.script`` and saved to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.jit.save(torch.jit.script(module), str(path))
    return path


def save_onnx(module: torch.nn.Module, path: Path, side: int = 512) -> Path:
    """``module`` exported to ONNX with fixed 1×3×side×side ``image`` and 1×1×side×side
    ``mask`` inputs and an ``output``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    example = (torch.rand(1, 3, side, side), (torch.rand(1, 1, side, side) > 0.5).float())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter is deprecated
        torch.onnx.export(
            module,
            example,
            str(path),
            input_names=["image", "mask"],
            output_names=["output"],
            dynamo=False,
        )
    return path
