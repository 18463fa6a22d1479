"""``segswap batch``: a folder of scenes with masks (and objects) matched by stem.

50 scenes, 3 of them corrupt and 2 without a mask: 45 results, 5 failures named with
their reasons, exit 1; ``--resume`` then runs nothing and says the same; Ctrl-C stops
with whole files only; a terminal gets a tqdm bar, anything else plain lines.
"""

from __future__ import annotations

import fcntl
import io
import os
import pty
import queue
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from segswap.batch import is_complete, write_atomic
from segswap.cli import main

CORRUPT = (7, 21, 33)
NO_MASK = (12, 40)
ROOT = Path(__file__).resolve().parents[1]


def make_folders(root: Path, count: int = 50, size: tuple[int, int] = (96, 64)) -> dict[str, Path]:
    """``count`` JPEG scenes (CORRUPT ones are not JPEG inside), PNG masks by stem (none
    for NO_MASK), objects by stem and one object for all."""
    scenes, masks, objects = root / "scenes", root / "masks", root / "objects"
    for folder in (scenes, masks, objects):
        folder.mkdir()
    width, height = size
    base = np.asarray(Image.fromarray(data.astronaut()).resize(size))
    for i in range(count):
        stem = f"scene-{i:02d}"
        if i in CORRUPT:
            (scenes / f"{stem}.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg" + bytes(64))
        else:
            Image.fromarray(np.roll(base, 3 * i, axis=1)).save(scenes / f"{stem}.jpg")
        if i not in NO_MASK:
            mask = np.zeros((height, width), np.uint8)
            mask[height // 3 : 2 * height // 3, width // 4 + i % 20 : width // 2 + i % 20] = 255
            Image.fromarray(mask).save(masks / f"{stem}.png")
        colour = np.zeros((24, 24, 4), np.uint8)
        colour[4:20, 4:20] = (10 * (i % 25), 200, 40, 255)
        Image.fromarray(colour).save(objects / f"{stem}.png")
    (root / "notes.txt").write_text("not an image")
    (scenes / "README.txt").write_text("left alone")
    Image.fromarray(np.full((24, 24, 4), (220, 30, 30, 255), np.uint8)).save(root / "obj.png")
    return {"scenes": scenes, "masks": masks, "objects": objects, "object": root / "obj.png"}


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_folders(tmp_path_factory.mktemp("batch"))


def batch(folders: dict[str, Path], out: Path, *extra: str, obj: str = "object") -> list[str]:
    return [
        "batch",
        "--main",
        str(folders["scenes"]),
        "--mask",
        str(folders["masks"]),
        "--object",
        str(folders[obj]),
        "-o",
        str(out),
        *extra,
    ]


def failures(out: str) -> dict[str, str]:
    """The summary's ``failed:`` list: scene name -> reason."""
    listed = out.split("\nfailed:\n", 1)[1].splitlines()
    return dict(line.strip().split(": ", 1) for line in listed if line.startswith("  "))


def test_batch_writes_45_lists_5_failures_and_resume_runs_nothing(
    folders: dict[str, Path], tmp_path: Path, capsys
) -> None:
    out = tmp_path / "out"
    assert main(batch(folders, out, "--jobs", "2")) == 1
    first = capsys.readouterr()
    written = sorted(path.name for path in out.iterdir())
    expected = [f"scene-{i:02d}.png" for i in range(50) if i not in CORRUPT + NO_MASK]
    assert written == expected  # nothing else: no temporary files
    for name in written:
        image = Image.open(out / name)
        assert image.format == "PNG" and image.size == (96, 64)
    assert "50 scenes: 45 written, 0 already complete, 5 failed" in first.out
    failed = failures(first.out)
    assert set(failed) == {f"scene-{i:02d}.jpg" for i in CORRUPT + NO_MASK}
    for i in CORRUPT:
        assert failed[f"scene-{i:02d}.jpg"].startswith("main_image: could not decode the image")
    for i in NO_MASK:
        assert (
            failed[f"scene-{i:02d}.jpg"] == f"no mask named scene-{i:02d}.* in {folders['masks']}"
        )
    # not a terminal: one plain line per file, no bar
    assert "[1/48] " in first.out and "[48/48] " in first.out and "image/s]" not in first.err

    stamps = {path.name: path.stat().st_mtime_ns for path in out.iterdir()}
    assert main(batch(folders, out, "--resume", "--jobs", "2")) == 1
    second = capsys.readouterr()
    assert "45 already complete" in second.out
    assert "50 scenes: 0 written, 45 already complete, 5 failed" in second.out
    assert failures(second.out) == failed
    assert {path.name: path.stat().st_mtime_ns for path in out.iterdir()} == stamps


def test_resume_redoes_a_truncated_output(folders: dict[str, Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    few = tmp_path / "few"
    few.mkdir()
    for name in ("scene-00.jpg", "scene-01.jpg", "scene-02.jpg"):
        (few / name).write_bytes((folders["scenes"] / name).read_bytes())
    args = [
        "batch",
        "--main",
        str(few),
        "--mask",
        str(folders["masks"]),
        "--object",
        str(folders["objects"]),
        "-o",
        str(out),
        "--jobs",
        "1",
    ]
    assert main(args) == 0
    whole = (out / "scene-01.png").read_bytes()
    (out / "scene-01.png").write_bytes(whole[: len(whole) // 2])
    assert not is_complete(out / "scene-01.png")
    capsys.readouterr()
    assert main([*args, "--resume"]) == 0
    said = capsys.readouterr().out
    assert "3 scenes: 1 written, 2 already complete, 0 failed" in said
    assert is_complete(out / "scene-01.png")


def test_one_mask_for_all_objects_by_stem_and_the_swap_flags(
    folders: dict[str, Path], tmp_path: Path, capsys
) -> None:
    few = tmp_path / "few"
    few.mkdir()
    for i in (0, 1):
        name = f"scene-{i:02d}.jpg"
        (few / name).write_bytes((folders["scenes"] / name).read_bytes())
    out = tmp_path / "out"
    mask = folders["masks"] / "scene-05.png"
    args = ["batch", "--main", str(few), "--mask", str(mask), "--object", str(folders["objects"])]
    assert main([*args, "-o", str(out), "--image-format", "webp", "--growmask", "0"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["scene-00.webp", "scene-01.webp"]
    region = np.asarray(Image.open(mask)) > 127
    for i in (0, 1):
        scene = np.asarray(Image.open(few / f"scene-{i:02d}.jpg").convert("RGB")).astype(int)
        result = np.asarray(Image.open(out / f"scene-{i:02d}.webp").convert("RGB")).astype(int)
        # each scene got its own object (green), inside the one mask
        inside = result[region].mean(axis=0)
        assert inside[1] > inside[0] + 60 and inside[1] > scene[region].mean(axis=0)[1] + 30


def test_remove_needs_no_object(folders: dict[str, Path], tmp_path: Path, capsys) -> None:
    few = tmp_path / "few"
    few.mkdir()
    (few / "scene-03.jpg").write_bytes((folders["scenes"] / "scene-03.jpg").read_bytes())
    out = tmp_path / "out"
    args = ["batch", "--main", str(few), "--mask", str(folders["masks"]), "-o", str(out)]
    assert main([*args, "--mode", "remove"]) == 0
    assert "(remove)" in capsys.readouterr().out
    assert main(args) == 2
    assert "--object: required for mode auto" in capsys.readouterr().err


def test_bad_folders_and_jobs_are_named(folders: dict[str, Path], tmp_path: Path, capsys) -> None:
    args = ["batch", "--mask", str(folders["masks"]), "-o", str(tmp_path / "o"), "--mode", "remove"]
    assert main([*args, "--main", str(folders["object"])]) == 2
    assert "--main: " in capsys.readouterr().err
    assert main([*args, "--main", str(folders["scenes"]), "--jobs", "0"]) == 2
    assert "--jobs" in capsys.readouterr().err


def test_an_interrupted_write_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "a.png"
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
    write_atomic(target, b"whole")
    assert target.read_bytes() == b"whole" and list(tmp_path.iterdir()) == [target]


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "segswap", *args]


def test_ctrl_c_stops_cleanly_leaving_whole_files(tmp_path: Path) -> None:
    folders = make_folders(tmp_path, count=50, size=(320, 240))
    out = tmp_path / "out"
    gate = tmp_path / "gate"
    gate.touch()  # every edit but the first waits while it exists: Ctrl-C comes with 49 left
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests" / "service")]),
        "SEGSWAP_ENGINE": "segswap_test_engines:FirstThenGatedEngine",
        "SEGSWAP_TEST_DELAY": "0",
        "SEGSWAP_TEST_GATE": str(gate),
    }
    process = subprocess.Popen(
        command(*batch(folders, out, "--jobs", "2")),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
        # As from a terminal: a shell without job control starts background commands (a
        # CI script's `cmd &`) with Ctrl-C ignored, and the batch would inherit that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while not (out.is_dir() and any(out.glob("*.png"))):
        assert process.poll() is None and time.monotonic() < deadline, "no output came"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends: the whole group
    deadline = time.monotonic() + 120
    assert process.stderr is not None
    lines: queue.Queue[str] = queue.Queue()
    stderr_lines = process.stderr
    reader = threading.Thread(target=lambda: [lines.put(line) for line in stderr_lines])
    reader.start()
    taken = ""
    try:
        while "stopping (Ctrl-C)" not in taken:  # the edits not yet started are cancelled
            taken += lines.get(timeout=max(0.0, deadline - time.monotonic()))
    except BaseException:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    gate.unlink()  # the edits under way (held at the gate) finish
    assert process.stdout is not None
    stdout = process.stdout.read()  # until the batch exits (the gate is open)
    process.wait(timeout=120)
    reader.join(timeout=120)
    stderr = taken + "".join(lines.queue)
    assert process.returncode == 130, stdout + stderr
    assert "interrupted" in stdout and "Traceback" not in stderr
    names = [path.name for path in out.iterdir()]
    assert names and all(not name.startswith(".") for name in names)  # no partial file
    assert all(is_complete(out / name) for name in names)
    assert len(names) < 45


def test_a_terminal_gets_a_progress_bar(folders: dict[str, Path], tmp_path: Path) -> None:
    few = tmp_path / "few"
    few.mkdir()
    for i in range(4):
        name = f"scene-{i:02d}.jpg"
        (few / name).write_bytes((folders["scenes"] / name).read_bytes())
    args = ["batch", "--main", str(few), "--mask", str(folders["masks"]), "--mode", "remove"]
    leader, follower = pty.openpty()
    # 24 rows, 120 columns (a new pseudo-terminal has none, and a bar 0 wide is empty)
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        command(*args, "-o", str(tmp_path / "out"), "--jobs", "1"),
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    seen = io.BytesIO()
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        seen.write(chunk)
    process.wait(timeout=120)
    os.close(leader)
    bar = seen.getvalue().decode("utf-8", "replace")
    assert process.returncode == 0, bar
    assert "4/4" in bar and "image/s" in bar and "100%" in bar  # count, rate, ETA's bar
    assert "[1/4]" not in process.stdout.read().decode()  # type: ignore[union-attr]
