"""benchmarks/diffusion.py builds the published full-size architectures (checked on
PyTorch's meta device: shapes only, no memory, nothing downloaded)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("transformers")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import diffusion as benchmark  # noqa: E402

# Parameter counts of the published checkpoints (the UNets take 9 input channels:
# 4 latent + 1 mask + 4 masked-image latent, i.e. 5 × 320 × 3 × 3 weights more than the
# text-to-image UNets' 859,520,964 and 2,567,463,684).
PUBLISHED = {
    "sd15": {"unet": 859_535_364, "vae": 83_653_863, "text": [123_060_480]},
    "sdxl": {"unet": 2_567_478_084, "vae": 83_653_863, "text": [123_060_480, 694_659_840]},
}


def count(module: object) -> int:
    return sum(parameter.numel() for parameter in module.parameters())  # type: ignore[attr-defined]


@pytest.mark.parametrize("arch", ["sd15", "sdxl"])
def test_random_weight_architectures_match_the_published_models(arch: str) -> None:
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    spec = benchmark.ARCHS[arch]
    common = {"vocab_size": 49408, "max_position_embeddings": 77}
    with torch.device("meta"):
        unet = UNet2DConditionModel(**spec["unet"])
        vae = AutoencoderKL(**spec["vae"])
        first = CLIPTextModel(CLIPTextConfig(**spec["text"][0], **common))
        others = [
            CLIPTextModelWithProjection(CLIPTextConfig(**c, **common)) for c in spec["text"][1:]
        ]
    assert unet.config.in_channels == 9
    assert count(unet) == PUBLISHED[arch]["unet"]
    assert count(vae) == PUBLISHED[arch]["vae"]
    assert [count(m) for m in [first, *others]] == PUBLISHED[arch]["text"]
    native = unet.config.sample_size * 2 ** (len(vae.config.block_out_channels) - 1)
    assert native == {"sd15": 512, "sdxl": 1024}[arch]


def test_without_a_gpu_it_runs_the_same_code_tiny(capsys: pytest.CaptureFixture[str]) -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is here: the full-size run is the real one")
    assert benchmark.main(["--random-weights", "sd15", "--steps", "10"]) == 0
    out = capsys.readouterr().out
    assert "running the same code at --tiny" in out
    for label in ("sampler step 64²", "stock diffusers 64²", "segswap generate 64²",
                  "segswap engine object 1024²", "segswap engine remove 1024²"):  # fmt: skip
        assert label in out
    assert "4096²" not in out  # one scene only on the CPU
