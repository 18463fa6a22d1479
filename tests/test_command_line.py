"""SPEC §5: the ``segswap`` command line (swap, demo, and the service's serve/keys help).

Run in process through :func:`segswap.cli.main` and, once each for success and failure,
as a real subprocess of the installed console script.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

import segswap
from segswap.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"


def is_webp(blob: bytes) -> bool:
    return blob[:4] == b"RIFF" and blob[8:12] == b"WEBP"


def decode(path: Path) -> Image.Image:
    image = Image.open(io.BytesIO(path.read_bytes()))
    image.load()
    return image


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A real scene (coffee, as JPEG), a mask over the cup and a cut-out object (PNG)."""
    folder = tmp_path_factory.mktemp("photos")
    scene = data.coffee()  # 600×400
    Image.fromarray(scene).save(folder / "coffee.jpg", quality=92)
    mask = np.zeros(scene.shape[:2], np.uint8)
    cv2.ellipse(mask, (262, 185), (118, 135), 0, 0, 360, 255, -1)
    Image.fromarray(mask).save(folder / "cup-mask.png")
    logo = data.logo().copy()
    logo[:, :, 3] = np.where(logo[:, :, :3].min(axis=2) > 235, 0, 255).astype(np.uint8)
    Image.fromarray(logo).save(folder / "logo.png")
    Image.fromarray(np.zeros(scene.shape[:2], np.uint8)).save(folder / "black-mask.png")
    return {
        "main": folder / "coffee.jpg",
        "mask": folder / "cup-mask.png",
        "object": folder / "logo.png",
        "black": folder / "black-mask.png",
    }


def swap_args(photos: dict[str, Path], out: Path, *extra: str, **replace: str) -> list[str]:
    paths = {name: str(photos[name]) for name in ("main", "mask", "object")}
    paths.update(replace)
    return [
        "swap",
        "--main",
        paths["main"],
        "--mask",
        paths["mask"],
        "--object",
        paths["object"],
        "-o",
        str(out),
        *extra,
    ]


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got {err!r}"
    assert "Traceback" not in err
    return lines[0]


# --- swap, in process ------------------------------------------------------------------


def test_swap_writes_png(photos: dict[str, Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "out.png"
    assert main(swap_args(photos, out)) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert str(out) in captured.out
    blob = out.read_bytes()
    assert blob.startswith(PNG_MAGIC)
    image = decode(out)
    assert image.size == (600, 400)


def test_swap_jpg_suffix_gives_jpeg(photos: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.jpg"
    assert main(swap_args(photos, out)) == 0
    assert out.read_bytes().startswith(JPEG_MAGIC)
    image = decode(out)
    assert image.format == "JPEG" and image.size == (600, 400)


def test_swap_image_format_webp(photos: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.webp"
    assert main(swap_args(photos, out, "--image-format", "webp")) == 0
    assert is_webp(out.read_bytes())
    assert decode(out).size == (600, 400)


def test_image_format_flag_wins_over_suffix(photos: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    assert main(swap_args(photos, out, "--image-format", "webp")) == 0
    assert is_webp(out.read_bytes())


def test_image_quality_flag(photos: dict[str, Path], tmp_path: Path) -> None:
    low, high = tmp_path / "low.jpg", tmp_path / "high.jpg"
    assert main(swap_args(photos, low, "--image-quality", "10")) == 0
    assert main(swap_args(photos, high, "--image-quality", "100")) == 0
    assert len(low.read_bytes()) < len(high.read_bytes())


def test_param_flags_reach_the_engine(photos: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    flags = ["--mode", "remove", "--growmask", "12", "--seed", "7", "--steps", "10"]
    assert main(swap_args(photos, out, *flags)) == 0
    library = segswap.swap(
        str(photos["main"]),
        str(photos["mask"]),
        str(photos["object"]),
        mode="remove",
        growmask=12,
        seed=7,
        steps=10,
    )
    assert np.asarray(decode(out).convert("RGB")).tobytes() == np.asarray(library).tobytes()


def test_fractional_strength_flag(photos: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    assert main(swap_args(photos, out, "--subject-strength", "0.25")) == 0
    assert decode(out).size == (600, 400)


# --- swap errors -----------------------------------------------------------------------


def test_steps_out_of_range(photos: dict[str, Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "out.png"
    assert main(swap_args(photos, out, "--steps", "5")) != 0
    line = error_line(capsys.readouterr().err)
    assert "steps" in line and "10-100" in line
    assert not out.exists()


@pytest.mark.parametrize(
    "flag,value,field,allowed",
    [
        ("--fashion-strength", "1.5", "fashion_strength", "0-1"),
        ("--horizontal-repeat", "11", "horizontal_repeat", "1-10"),
        ("--growmask", "-1", "growmask", "0-20"),
        ("--image-format", "gif", "image_format", "webp"),
        ("--mode", "inpaint", "mode", "remove"),
    ],
)
def test_bad_param_flag(
    photos: dict[str, Path], tmp_path: Path, capsys, flag: str, value: str, field: str, allowed: str
) -> None:
    assert main(swap_args(photos, tmp_path / "out.png", flag, value)) != 0
    line = error_line(capsys.readouterr().err)
    assert field in line and allowed in line


def test_missing_input_path(photos: dict[str, Path], tmp_path: Path, capsys) -> None:
    missing = tmp_path / "not-here" / "scene.png"
    assert main(swap_args(photos, tmp_path / "out.png", main=str(missing))) != 0
    line = error_line(capsys.readouterr().err)
    assert str(missing) in line
    assert "main_image" in line or "--main" in line


@pytest.mark.parametrize("name", ["scene-without-suffix", "a-folder"])
def test_missing_input_path_without_suffix(
    photos: dict[str, Path], tmp_path: Path, capsys, name: str
) -> None:
    path = tmp_path / name
    if name == "a-folder":
        path.mkdir()
    assert main(swap_args(photos, tmp_path / "out.png", object=str(path))) != 0
    line = error_line(capsys.readouterr().err)
    assert str(path) in line


def test_empty_mask(photos: dict[str, Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "out.png"
    assert main(swap_args(photos, out, mask=str(photos["black"]))) != 0
    line = error_line(capsys.readouterr().err)
    assert "mask_image" in line
    assert not out.exists()


def test_output_folder_missing(photos: dict[str, Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "no-such-folder" / "out.png"
    assert main(swap_args(photos, out)) != 0
    line = error_line(capsys.readouterr().err)
    assert "no-such-folder" in line


def test_output_folder_checked_before_the_edit(
    photos: dict[str, Path], tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_edit(*args: object, **kwargs: object) -> None:
        raise AssertionError("the edit ran although the output cannot be written")

    monkeypatch.setattr("segswap.api.swap", no_edit)
    assert main(swap_args(photos, tmp_path / "no-such-folder" / "out.png")) == 2
    assert "no-such-folder" in error_line(capsys.readouterr().err)


def test_output_is_a_folder(photos: dict[str, Path], tmp_path: Path, capsys) -> None:
    assert main(swap_args(photos, tmp_path)) == 2
    line = error_line(capsys.readouterr().err)
    assert "output" in line and "folder" in line


@pytest.mark.parametrize("name", ["out.gif", "out.tiff", "out.bmp"])
def test_unknown_output_suffix_is_an_error(
    photos: dict[str, Path], tmp_path: Path, capsys, name: str
) -> None:
    """A suffix segswap cannot write used to get PNG bytes under that name."""
    out = tmp_path / name
    assert main(swap_args(photos, out)) == 2
    line = error_line(capsys.readouterr().err)
    assert "output" in line and out.suffix in line and "--image-format" in line
    assert not out.exists()


def test_unknown_output_suffix_with_image_format(photos: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.bin"
    assert main(swap_args(photos, out, "--image-format", "jpeg")) == 0
    assert out.read_bytes().startswith(JPEG_MAGIC)


def test_output_without_suffix_is_png(photos: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "result"
    assert main(swap_args(photos, out)) == 0
    assert out.read_bytes().startswith(PNG_MAGIC)


@pytest.fixture
def photo_server(photos: dict[str, Path]) -> Iterator[str]:
    """The photos served over HTTP on 127.0.0.1 (a loopback, i.e. private, address)."""
    folder = str(photos["main"].parent)

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=folder, **kwargs)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_private_url_inputs_are_refused_by_default(
    photos: dict[str, Path], photo_server: str, tmp_path: Path, capsys, monkeypatch
) -> None:
    """SPEC §6 applies to the CLI (and the library) as to the server: a URL on a
    loopback or private address is refused unless allowed."""
    monkeypatch.delenv("SEGSWAP_ALLOW_PRIVATE_URLS", raising=False)
    out = tmp_path / "out.png"
    assert main(swap_args(photos, out, main=f"{photo_server}/coffee.jpg")) == 2
    line = error_line(capsys.readouterr().err)
    assert "main_image" in line
    assert "SEGSWAP_ALLOW_PRIVATE_URLS" in line and "--allow-private-urls" in line
    assert not out.exists()


def test_private_url_inputs_when_allowed(
    photos: dict[str, Path], photo_server: str, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("SEGSWAP_ALLOW_PRIVATE_URLS", raising=False)
    urls = {name: f"{photo_server}/{photos[name].name}" for name in ("main", "mask", "object")}
    by_flag, by_env = tmp_path / "flag.png", tmp_path / "env.png"
    assert main(swap_args(photos, by_flag, "--allow-private-urls", **urls)) == 0
    monkeypatch.setenv("SEGSWAP_ALLOW_PRIVATE_URLS", "1")
    assert main(swap_args(photos, by_env, **urls)) == 0
    assert main(swap_args(photos, tmp_path / "paths.png")) == 0
    local = (tmp_path / "paths.png").read_bytes()
    assert by_flag.read_bytes() == by_env.read_bytes() == local


def test_usage_error_exits_2(photos: dict[str, Path], capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["swap", "--main", str(photos["main"])])
    assert info.value.code == 2
    assert "--mask" in capsys.readouterr().err


def test_non_integer_steps_is_a_usage_error(
    photos: dict[str, Path], tmp_path: Path, capsys
) -> None:
    """Named with its range, as the API names it (exit 2, nothing written)."""
    assert main(swap_args(photos, tmp_path / "out.png", "--steps", "many")) == 2
    err = capsys.readouterr().err
    assert 'steps: expected an integer in 10-100, got "many"' in err and "Traceback" not in err
    assert not (tmp_path / "out.png").exists()


# --- demo ------------------------------------------------------------------------------


def test_demo(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "demo"
    assert main(["demo", "-o", str(folder)]) == 0
    out = capsys.readouterr().out
    printed = [Path(line.rsplit("-> ", 1)[1].strip()) for line in out.splitlines() if "-> " in line]
    assert printed, out
    for path in printed:
        assert path.exists(), path
    names = {path.name for path in printed}
    for name in ("object.png", "pattern.png", "remove.png", "before-after.png"):
        assert name in names
        image = decode(folder / name)
        assert image.width > 0 and image.height > 0
    assert decode(folder / "object.png").size == (600, 400)  # coffee
    assert decode(folder / "pattern.png").size == (512, 512)  # astronaut
    assert decode(folder / "remove.png").size == (512, 512)  # astronaut (the shuttle model)


# --- the service's subcommands ---------------------------------------------------------


@pytest.mark.parametrize(
    "argv,expected",
    [
        (["keys", "--help"], "create"),
        (["serve", "--help"], "--port"),
        (["keys", "create", "--help"], "--credits"),
        (["--help"], "swap"),
    ],
)
def test_help(argv: list[str], expected: str, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code in (0, None)
    assert expected in capsys.readouterr().out


# --- as a real process -----------------------------------------------------------------


def segswap_command() -> list[str]:
    script = Path(sys.executable).parent / "segswap"
    if script.exists() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "segswap.cli"]


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        segswap_command() + args,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_subprocess_swap(photos: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    done = run_cli(swap_args(photos, out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert decode(out).size == (600, 400)
    assert out.read_bytes().startswith(PNG_MAGIC)


def test_subprocess_error(photos: dict[str, Path], tmp_path: Path) -> None:
    done = run_cli(swap_args(photos, tmp_path / "out.png", "--steps", "5"), cwd=tmp_path)
    assert done.returncode != 0
    line = error_line(done.stderr)
    assert "steps" in line and "10-100" in line
    assert not (tmp_path / "out.png").exists()


def test_python_dash_m_segswap_and_version(photos: dict[str, Path], tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "segswap", "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"segswap {segswap.__version__}"
    out = tmp_path / "out.png"
    done = subprocess.run(
        [sys.executable, "-m", "segswap", *swap_args(photos, out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert decode(out).size == (600, 400)


@pytest.mark.parametrize(
    ("extra", "said"),
    [((), "mode object (auto)"), (("--mode", "remove"), "mode remove,")],
)
def test_swap_says_which_edit_ran_and_where(
    photos: dict[str, Path], tmp_path: Path, capsys, extra: tuple[str, ...], said: str
) -> None:
    out = tmp_path / "out.png"
    assert main(swap_args(photos, out, *extra)) == 0
    printed = capsys.readouterr().out
    assert said in printed
    box = [int(v) for v in printed.rsplit("changed box ", 1)[1].strip().split(",")]
    before = np.asarray(decode(photos["main"]).convert("RGB"))
    after = np.asarray(decode(out).convert("RGB"))
    keep = np.ones(before.shape[:2], bool)
    keep[box[1] : box[3], box[0] : box[2]] = False
    assert np.array_equal(before[keep], after[keep])
    assert not np.array_equal(before, after)


def test_swap_help_lists_the_engine_flags(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["swap", "--help"])
    text = capsys.readouterr().out
    for flag in ("--model-dir", "--ip-adapter-dir", "--device", "--dtype", "--compile"):
        assert flag in text


def test_worker_help_lists_only_worker_flags(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["worker", "--help"])
    text = capsys.readouterr().out
    for flag in ("--broker-url", "--engine", "--model-dir", "--max-pixels", "--concurrency"):
        assert flag in text
    import re

    for flag in ("--port", "--host", "--rate-limit", "--no-auth", "--public-url", "--workers"):
        assert not re.search(re.escape(flag) + r"(?![\w-])", text), flag


def test_webhooks_secret_is_a_command(tmp_path: Path, capsys) -> None:
    assert main(["webhooks", "secret", "--data-dir", str(tmp_path)]) == 0
    first = capsys.readouterr().out.strip()
    assert main(["webhooks", "secret", "--data-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == first and first.startswith("whsec_")


# --- what a newcomer meets: warnings, removal without an object, did you mean --------


def test_inverted_mask_is_warned_on_stderr_and_the_edit_runs(
    photos: dict[str, Path], tmp_path: Path, capsys
) -> None:
    """The mask doctor's warning, one line, with the API's code and words; exit 0."""
    mask = np.asarray(Image.open(photos["mask"]))
    inverted = tmp_path / "inverted.png"
    Image.fromarray(255 - mask).save(inverted)
    out = tmp_path / "out.png"
    assert main(swap_args(photos, out, mask=str(inverted))) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert lines and lines[0].startswith("warning: inverted: the mask looks inverted: it covers")
    assert "(white = the region to edit)" in lines[0]
    assert decode(out).size == (600, 400)


def test_a_clean_mask_prints_no_warning(photos: dict[str, Path], tmp_path: Path, capsys) -> None:
    assert main(swap_args(photos, tmp_path / "out.png")) == 0
    assert "warning" not in capsys.readouterr().err


def test_mask_of_another_aspect_is_warned_naming_both_sizes(
    photos: dict[str, Path], tmp_path: Path, capsys
) -> None:
    mask = Image.open(photos["mask"]).resize((400, 300), Image.Resampling.NEAREST)  # 4:3
    squeezed = tmp_path / "mask-4x3.png"
    mask.save(squeezed)
    out = tmp_path / "out.png"
    assert main(swap_args(photos, out, mask=str(squeezed))) == 0
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if line.startswith("warning: mask_aspect:")]
    assert "400x300" in line and "600x400" in line
    assert decode(out).size == (600, 400)


def test_remove_needs_no_object(photos: dict[str, Path], tmp_path: Path, capsys) -> None:
    """``--mode remove`` without ``--object``: pixels change only around the mask."""
    out = tmp_path / "out.png"
    args = ["swap", "--main", str(photos["main"]), "--mask", str(photos["mask"])]
    assert main([*args, "--mode", "remove", "-o", str(out)]) == 0
    assert "mode remove" in capsys.readouterr().out
    scene = np.asarray(Image.open(photos["main"]).convert("RGB")).astype(int)
    result = np.asarray(decode(out).convert("RGB")).astype(int)
    changed = np.abs(result - scene).max(axis=2) > 0
    mask = np.asarray(Image.open(photos["mask"])) > 127
    near = cv2.dilate(mask.astype(np.uint8), np.ones((41, 41), np.uint8)) > 0
    assert changed[mask].mean() > 0.5  # the cup is gone...
    assert not changed[~near].any()  # ...and nothing far from it moved


def test_missing_object_outside_remove_names_the_flag(
    photos: dict[str, Path], tmp_path: Path, capsys
) -> None:
    out = tmp_path / "out.png"
    args = ["swap", "--main", str(photos["main"]), "--mask", str(photos["mask"]), "-o", str(out)]
    assert main(args) == 2
    assert "--object: required for mode auto; leave it out only with --mode remove" in (
        capsys.readouterr().err
    )
    assert not out.exists()


def test_library_removes_without_an_object(photos: dict[str, Path]) -> None:
    image = segswap.swap(photos["main"], photos["mask"], mode="remove")
    assert image.info["segswap"]["mode"] == "remove"
    assert image.info["segswap"]["warnings"] == []
    with pytest.raises(segswap.InvalidParameter) as info:
        segswap.swap(photos["main"], photos["mask"])
    assert info.value.field == "object_image"


def test_misspelt_flag_names_the_closest(photos: dict[str, Path], tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(swap_args(photos, tmp_path / "out.png", "--grow-mask", "5"))
    assert info.value.code == 2
    assert '--grow-mask: unknown flag; did you mean "--growmask"?' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["keys", "create", "--nmae", "me"])
    assert 'did you mean "--name"?' in capsys.readouterr().err


def test_misspelt_mode_names_the_closest(photos: dict[str, Path], tmp_path: Path, capsys) -> None:
    assert main(swap_args(photos, tmp_path / "out.png", "--mode", "remov")) == 2
    err = capsys.readouterr().err
    assert "mode: expected one of" in err and 'got "remov"; did you mean "remove"?' in err


def test_misspelt_setting_values_name_the_closest(
    photos: dict[str, Path], tmp_path: Path, capsys
) -> None:
    assert main(swap_args(photos, tmp_path / "a.png", "--engine", "compsite")) == 2
    assert 'got "compsite"; did you mean "composite"?' in capsys.readouterr().err
    assert main(swap_args(photos, tmp_path / "a.png", "--dtype", "flaot16")) == 2
    assert "dtype: " in (err := capsys.readouterr().err) and 'did you mean "float16"?' in err
