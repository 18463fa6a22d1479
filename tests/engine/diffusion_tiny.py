"""Tiny, randomly initialised SD-style inpainting models written in the diffusers layout.

Nothing is downloaded: the tokenizer's vocabulary is written here, every model is built
from a config. The folders load through the same code path as a real model
(``SEGSWAP_MODEL_DIR`` → ``get_engine("diffusion")``).
"""

from __future__ import annotations

import json
import string
import tempfile
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    StableDiffusionInpaintPipeline,
    UNet2DConditionModel,
)
from safetensors.torch import save_file
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTokenizer,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
)

CROSS_DIM = 32
IMAGE_EMBED_DIM = 32


def write_tokenizer_files(folder: Path) -> CLIPTokenizer:
    """A character-level CLIP BPE tokenizer (no merges) over a-z, 0-9 and a few marks."""
    folder.mkdir(parents=True, exist_ok=True)
    symbols = list(string.ascii_lowercase + string.digits + ".,-'")
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for symbol in symbols:
        vocab[symbol] = len(vocab)
        vocab[symbol + "</w>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"model_max_length": 32}), encoding="utf-8"
    )
    return CLIPTokenizer.from_pretrained(str(folder))


def tiny_unet(in_channels: int = 9) -> UNet2DConditionModel:
    return UNet2DConditionModel(
        sample_size=32,
        in_channels=in_channels,
        out_channels=4,
        layers_per_block=1,
        block_out_channels=(32, 64),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=CROSS_DIM,
        attention_head_dim=(2, 4),
        norm_num_groups=8,
    )


def tiny_pipeline(folder: Path, in_channels: int = 9) -> StableDiffusionInpaintPipeline:
    """An SD-1.5-shaped inpainting pipeline (native 64 px: sample 32 × VAE factor 2)."""
    torch.manual_seed(0)
    unet = tiny_unet(in_channels)
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        block_out_channels=(16, 32),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=8,
        sample_size=64,
    )
    with tempfile.TemporaryDirectory() as scratch:
        tokenizer = write_tokenizer_files(Path(scratch))
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=CROSS_DIM,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            max_position_embeddings=32,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
            projection_dim=CROSS_DIM,
        )
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    return StableDiffusionInpaintPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def save_tiny_model(folder: Path, in_channels: int = 9) -> Path:
    """Write a tiny inpainting model (``in_channels`` 9; 4 makes a non-inpainting one)."""
    folder.mkdir(parents=True, exist_ok=True)
    tiny_pipeline(folder, in_channels).save_pretrained(str(folder))
    return folder


def save_tiny_ip_adapter(folder: Path) -> Path:
    """A tiny IP-Adapter for :func:`tiny_unet`: ``ip-adapter.safetensors`` + ``image_encoder/``."""
    torch.manual_seed(1)
    folder.mkdir(parents=True, exist_ok=True)
    encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=32,
            intermediate_size=37,
            projection_dim=IMAGE_EMBED_DIM,
            num_hidden_layers=2,
            num_attention_heads=4,
            image_size=32,
            patch_size=8,
        )
    )
    encoder.save_pretrained(str(folder / "image_encoder"))
    tensors = {
        "image_proj.proj.weight": torch.randn(4 * CROSS_DIM, IMAGE_EMBED_DIM) * 0.2,
        "image_proj.proj.bias": torch.zeros(4 * CROSS_DIM),
        "image_proj.norm.weight": torch.ones(CROSS_DIM),
        "image_proj.norm.bias": torch.zeros(CROSS_DIM),
    }
    unet = tiny_unet()
    key_id = 1
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue
        if name.startswith("mid_block"):
            hidden = unet.config.block_out_channels[-1]
        elif name.startswith("up_blocks"):
            hidden = list(reversed(unet.config.block_out_channels))[int(name[len("up_blocks.")])]
        else:
            hidden = unet.config.block_out_channels[int(name[len("down_blocks.")])]
        for part in ("to_k_ip", "to_v_ip"):
            tensors[f"ip_adapter.{key_id}.{part}.weight"] = torch.randn(hidden, CROSS_DIM) * 0.5
        key_id += 2
    save_file(tensors, str(folder / "ip-adapter.safetensors"))
    return folder
