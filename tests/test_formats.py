"""One format registry: params, encoder, media names, CLI suffixes and the web page all
agree with segswap.formats.FORMATS."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import numpy as np
import pytest

from segswap.cli.swap import format_from_suffix
from segswap.errors import InvalidParameter
from segswap.formats import DEFAULT_FORMAT, FORMATS, FormatName, format_for_suffix
from segswap.io.decode import sniff_format
from segswap.io.encode import CONTENT_TYPES, encode_image
from segswap.params import SwapParams, describe_allowed, parse_params
from segswap.service.jobs.media import content_type, new_token, valid_name

ROOT = Path(__file__).resolve().parents[1]


def test_params_accept_exactly_the_registry():
    assert set(get_args(FormatName)) == set(FORMATS)
    assert SwapParams().image_format == DEFAULT_FORMAT == next(iter(FORMATS))
    for name in FORMATS:
        assert parse_params({"image_format": name}).image_format == name
        assert f'"{name}"' in describe_allowed("image_format")
    with pytest.raises(InvalidParameter) as error:
        parse_params({"image_format": "gif"})
    assert error.value.field == "image_format"


@pytest.mark.parametrize("name", list(FORMATS))
def test_encoder_writes_each_format_up_to_its_limit_and_names_the_field_past_it(name):
    image_format = FORMATS[name]
    assert CONTENT_TYPES[name] == image_format.mime
    rgb = np.full((2, 3, 3), 200, np.uint8)
    assert sniff_format(encode_image(rgb, name, 95)) == name
    side = image_format.max_side
    if side <= 70_000:  # a band of the largest side encodes (PNG's 10^6 is too slow here)
        assert sniff_format(encode_image(np.zeros((1, side, 3), np.uint8), name, 95)) == name
    with pytest.raises(InvalidParameter) as error:
        encode_image(np.zeros((side + 1, 1, 3), np.uint8), name, 95)
    assert error.value.field == "image_format" and str(side) in str(error.value)


@pytest.mark.parametrize("name", list(FORMATS))
def test_media_names_and_types_follow_the_registry(name):
    media_name = f"{new_token()}.{name}"
    assert valid_name(media_name)
    assert content_type(media_name) == FORMATS[name].mime
    assert not valid_name(f"{new_token()}.gif")


def test_cli_suffixes_follow_the_registry():
    for image_format in FORMATS.values():
        for suffix in image_format.suffixes:
            assert format_for_suffix(suffix.upper()) is image_format
            assert format_from_suffix(Path("out" + suffix)) == image_format.name
    assert format_from_suffix(Path("out")) == DEFAULT_FORMAT


def test_web_page_offers_the_registry():
    html = (ROOT / "segswap" / "web" / "index.html").read_text()
    select = re.search(r'<select id="image_format".*?</select>', html, re.S)
    assert select is not None
    offered = re.findall(r'<option value="([a-z]+)"', select.group(0))
    assert offered == list(FORMATS)
