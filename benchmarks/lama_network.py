"""The full-size LaMa generator (big-lama's configuration) with random weights, on this
CPU: what ``--fill lama`` costs per crop, beyond the wrapper ``benchmarks/learned.py``
times.

Run: ``.venv/bin/python benchmarks/lama_network.py [--sides 512 1024] [--repeats 3]``
(needs torch; without it, it says so and exits 0).

The network is rebuilt here from the published big-lama configuration (Suvorov et al.,
2022; ``configs/training/big-lama.yaml`` in the LaMa repository): an FFC ResNet
generator with 4 input channels (image and mask), ngf 64, three stride-2 downsamplings
(64 → 128 → 256 → 512 channels), 18 residual blocks of fast Fourier convolutions with
75 % of the channels in the global (spectral) branch and no local Fourier unit, three
transposed-convolution upsamplings, a 7×7 output convolution and a sigmoid. It is
written for this benchmark, not copied; its parameter count is printed so it can be
checked against big-lama's ~51 M. The weights are random: the time per call does not
depend on them. It is compiled with ``torch.jit.trace``, as IOPaint's ``big-lama.pt`` is
a TorchScript file, and called as the lama fill calls that file (image and int64 mask).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Any


def build(torch: Any) -> Any:
    """The big-lama generator, random weights, in eval mode."""
    nn = torch.nn

    def conv_bn_relu(cin: int, cout: int, **conv: Any) -> Any:
        return nn.Sequential(
            nn.Conv2d(cin, cout, bias=False, **conv), nn.BatchNorm2d(cout), nn.ReLU()
        )

    class FourierUnit(nn.Module):
        """1×1 convolution on the real and imaginary parts of the 2-D real FFT."""

        def __init__(self, channels: int) -> None:
            super().__init__()
            self.conv = conv_bn_relu(channels * 2, channels * 2, kernel_size=1)

        def forward(self, x: Any) -> Any:
            batch, channels, height, width = x.shape
            spectrum = torch.fft.rfftn(x, dim=(-2, -1), norm="ortho")
            parts = torch.stack((spectrum.real, spectrum.imag), dim=2)
            parts = self.conv(parts.reshape(batch, channels * 2, height, -1))
            parts = parts.reshape(batch, channels, 2, height, -1)
            spectrum = torch.complex(parts[:, :, 0], parts[:, :, 1])
            return torch.fft.irfftn(spectrum, s=(height, width), dim=(-2, -1), norm="ortho")

    class Spectral(nn.Module):
        def __init__(self, channels: int) -> None:
            super().__init__()
            half = channels // 2
            self.reduce = conv_bn_relu(channels, half, kernel_size=1)
            self.fourier = FourierUnit(half)
            self.expand = nn.Conv2d(half, channels, kernel_size=1, bias=False)

        def forward(self, x: Any) -> Any:
            x = self.reduce(x)
            return self.expand(x + self.fourier(x))

    class FFCLayer(nn.Module):
        """Local/global fast Fourier convolution, then BN and ReLU on each branch."""

        def __init__(self, channels: int, ratio: float) -> None:
            super().__init__()
            glob = int(channels * ratio)
            local = channels - glob
            conv = {"kernel_size": 3, "padding": 1, "padding_mode": "reflect", "bias": False}
            self.l2l = nn.Conv2d(local, local, **conv)
            self.l2g = nn.Conv2d(local, glob, **conv)
            self.g2l = nn.Conv2d(glob, local, **conv)
            self.g2g = Spectral(glob)
            self.bn_l, self.bn_g = nn.BatchNorm2d(local), nn.BatchNorm2d(glob)

        def forward(self, x_l: Any, x_g: Any) -> tuple[Any, Any]:
            out_l = self.l2l(x_l) + self.g2l(x_g)
            out_g = self.l2g(x_l) + self.g2g(x_g)
            return torch.relu(self.bn_l(out_l)), torch.relu(self.bn_g(out_g))

    class Block(nn.Module):
        def __init__(self, channels: int, ratio: float) -> None:
            super().__init__()
            self.first, self.second = FFCLayer(channels, ratio), FFCLayer(channels, ratio)

        def forward(self, x_l: Any, x_g: Any) -> tuple[Any, Any]:
            y_l, y_g = self.second(*self.first(x_l, x_g))
            return x_l + y_l, x_g + y_g

    class Generator(nn.Module):
        def __init__(self, ngf: int = 64, blocks: int = 18, ratio: float = 0.75) -> None:
            super().__init__()
            self.stem = nn.Sequential(nn.ReflectionPad2d(3), conv_bn_relu(4, ngf, kernel_size=7))
            self.down = nn.Sequential(
                *(
                    conv_bn_relu(ngf * 2**i, ngf * 2 ** (i + 1), kernel_size=3, stride=2, padding=1)
                    for i in range(3)
                )
            )
            width = ngf * 8
            self.split = width - int(width * ratio)
            self.blocks = nn.ModuleList(Block(width, ratio) for _ in range(blocks))
            up = []
            for i in range(3):
                cin = width // 2**i
                up += [
                    nn.ConvTranspose2d(cin, cin // 2, 3, stride=2, padding=1, output_padding=1),
                    nn.BatchNorm2d(cin // 2),
                    nn.ReLU(),
                ]
            self.up = nn.Sequential(*up)
            self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Sigmoid())

        def forward(self, image: Any, mask: Any) -> Any:
            m = mask.to(image.dtype)
            x = self.down(self.stem(torch.cat([image * (1 - m), m], dim=1)))
            x_l, x_g = x[:, : self.split], x[:, self.split :]
            for block in self.blocks:
                x_l, x_g = block(x_l, x_g)
            out = self.head(self.up(torch.cat([x_l, x_g], dim=1)))
            return out * m + image * (1 - m)

    return Generator().eval()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("torch is not installed (pip install 'segswap[learned]'): nothing to time")
        return 0
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(
        f"load average before: {load}; torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    torch.manual_seed(0)
    model = build(torch)
    print(f"parameters: {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M")
    for side in args.sides:
        image = torch.rand(1, 3, side, side)
        mask = torch.zeros(1, 1, side, side, dtype=torch.int64)
        mask[..., side // 4 : 3 * side // 4, side // 4 : 3 * side // 4] = 1
        with torch.no_grad():
            traced = torch.jit.trace(model, (image, mask))
            traced(image, mask)  # warm-up
            times = []
            for _ in range(args.repeats):
                started = time.perf_counter()
                traced(image, mask)
                times.append(time.perf_counter() - started)
        print(f"{side}x{side}: median {statistics.median(times):.2f} s of {args.repeats} calls")
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"load average after: {load}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
