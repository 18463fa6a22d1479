"""Every command in README.md and docs/*.md runs, as a reader would run it.

Each ``## section`` of a document is one shell session (bash, ``set -euo pipefail``,
variables exported, ``.venv/bin`` first on PATH), run in a scratch folder holding the
files the examples name: ``room.png`` (a 512×512 photo, 425 KB: too big for a command
line as base64), ``mask.png`` and ``table.png`` (an object with transparency). Its
```` ```sh ```` blocks run as written and its ```` ```python ```` blocks through
``python -``, in order. Blocks without a language are output or diagrams, ``text`` ones
usage synopses; neither is run.

What the harness changes, so that examples written for real machines run on one:

* lines starting ``segswap serve``, ``segswap worker`` or ``redis-server`` run in the
  background; the session waits until the server answers, and they are stopped (by
  process id) when it ends;
* ports: each ``serve`` gets a free port (the first one also stands for ``8000`` and is
  ``SEGSWAP_PORT``), Redis a free one for ``6379``; ``10.0.0.5`` (the docs' Redis host)
  is ``127.0.0.1``;
* ``/models/...`` paths are a tiny random model (and IP-Adapter) in the diffusers layout.

A block preceded by ``<!-- doc-test: in-checkout -->`` runs in the checkout itself
(``scripts/demo``); ``<!-- doc-test: skip <reason> -->`` skips one, and the reason is
printed. After a session, every image file it wrote into the scratch folder must decode
at the scene's size.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUNNABLE = {"sh", "python"}
NOT_RUN = {"", "text"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
BACKGROUND = re.compile(
    r"^(?:[A-Z_]+=\S+\s+)*(?:\.venv/bin/)?(segswap (serve|worker)|redis-server)\b"
)
DIRECTIVE = re.compile(r"<!--\s*doc-test:\s*(in-checkout|skip)\s*(.*?)\s*-->")
SCENE_SIZE = (512, 512)
COMMAND_LINE = re.compile(
    r"^\s*(segswap (swap|batch|serve|worker|keys|demo|webhooks|models)\b|curl\s|\.venv/bin/\S)",
    re.M,
)


@dataclass(frozen=True)
class Block:
    language: str
    code: str
    line: int
    directive: str  # "", "in-checkout" or "skip"
    reason: str


@dataclass(frozen=True)
class Section:
    doc: Path
    title: str
    blocks: tuple[Block, ...]

    @property
    def id(self) -> str:
        return f"{self.doc.name}: {self.title}"


def sections(doc: Path) -> list[Section]:
    """The ``##`` sections of ``doc`` with their fenced blocks (``###`` stay inside)."""
    found: list[Section] = []
    title, blocks = "(top)", []
    lines = doc.read_text(encoding="utf-8").splitlines()
    index, directive = 0, ("", "")
    while index < len(lines):
        line = lines[index]
        if line.startswith("## "):
            found.append(Section(doc, title, tuple(blocks)))
            title, blocks = line[3:].strip(), []
        elif match := DIRECTIVE.search(line):
            directive = (match.group(1), match.group(2))
        elif line.startswith("```"):
            language, start, body = line[3:].strip(), index + 1, []
            index += 1
            while not lines[index].startswith("```"):
                body.append(lines[index])
                index += 1
            blocks.append(Block(language, "\n".join(body), start, *directive))
            directive = ("", "")
        index += 1
    found.append(Section(doc, title, tuple(blocks)))
    return [section for section in found if section.blocks]


ALL_SECTIONS = [section for doc in DOCS for section in sections(doc)]


def test_every_block_is_a_command_or_marked_output() -> None:
    for section in ALL_SECTIONS:
        for block in section.blocks:
            where = f"{section.doc.name}:{block.line}"
            assert block.language in RUNNABLE | NOT_RUN, f"{where}: unknown ```{block.language}"
            if block.directive == "skip":
                assert block.reason, f"{where}: a skipped block must say why"
            if block.language == "":
                # Output, not a command: no shell line hides in there (usage synopses,
                # not runnable as written, are ```text).
                assert not COMMAND_LINE.search(block.code), (
                    f"{where}: looks like a command; mark it ```sh"
                )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny random stand-ins for the docs' ``/models/...`` folders (when diffusers is here)."""
    try:
        sys.path.insert(0, str(ROOT / "tests" / "engine"))
        import diffusion_tiny
    except ImportError:
        return {}
    folder = tmp_path_factory.mktemp("models")
    model = diffusion_tiny.save_tiny_model(folder / "stable-diffusion-inpainting")
    adapter = diffusion_tiny.save_tiny_ip_adapter(folder / "IP-Adapter" / "models")
    (adapter / "ip-adapter.safetensors").rename(adapter / "ip-adapter_sd15.safetensors")
    return {
        "/models/stable-diffusion-inpainting": model,
        "/models/IP-Adapter": folder / "IP-Adapter",
    }


def scratch_folder(path: Path) -> Path:
    path.mkdir()
    scene = data.astronaut()
    Image.fromarray(scene).save(path / "room.png")
    mask = np.zeros(scene.shape[:2], np.uint8)
    mask[260:420, 180:360] = 255
    Image.fromarray(mask).save(path / "mask.png")
    logo = data.logo().copy()
    logo[:, :, 3] = np.where(logo[:, :, :3].min(axis=2) > 235, 0, 255).astype(np.uint8)
    Image.fromarray(logo).save(path / "table.png")
    (path / ".venv").symlink_to(ROOT / ".venv")
    (path / "benchmarks").symlink_to(ROOT / "benchmarks")
    return path


def join_continued(code: str) -> list[str]:
    """Shell lines with backslash continuations joined (heredoc bodies pass through)."""
    lines: list[str] = []
    for line in code.splitlines():
        if lines and lines[-1].endswith("\\"):
            lines[-1] = lines[-1] + "\n" + line
        else:
            lines.append(line)
    return lines


class Script:
    """The bash script of one section."""

    def __init__(self, folder: Path, logs: Path, models: dict[str, Path]) -> None:
        self.folder, self.logs, self.models = folder, logs, models
        self.api_port, self.redis_port = free_port(), free_port()
        self.serves = 0
        self.parts = [
            "set -euo pipefail",
            "set -a",
            f"export PATH={shlex.quote(str(ROOT / '.venv' / 'bin'))}:$PATH",
            f"export SEGSWAP_PORT={self.api_port}",
            f"cd {shlex.quote(str(folder))}",
            '_ready() { for _ in $(seq 1 1200); do "$@" >/dev/null 2>&1 && return 0; '
            'sleep 0.1; done; echo "not ready: $*" >&2; return 1; }',
        ]

    def substitute(self, text: str) -> str:
        text = text.replace("10.0.0.5", "127.0.0.1").replace("6379", str(self.redis_port))
        for path, replacement in self.models.items():
            text = text.replace(path, str(replacement))
        return text.replace("8000", str(self.api_port))

    def add_shell(self, code: str, cwd: Path | None) -> None:
        if cwd is not None:
            self.parts.append(f"pushd {shlex.quote(str(cwd))} >/dev/null")
        for line in join_continued(code):
            stripped = line.strip()
            if BACKGROUND.match(stripped):
                self.add_background(stripped)
            else:
                self.parts.append(self.substitute(line))
        if cwd is not None:
            self.parts.append("popd >/dev/null")

    def add_background(self, line: str) -> None:
        port = self.api_port
        if " serve" in line:
            self.serves += 1
            port = self.api_port if self.serves == 1 else free_port()
            line = re.sub(r"--port \d+", f"--port {port}", line)
        line = self.substitute(line)
        log = self.logs / f"background-{len(self.parts)}.log"
        self.parts.append(
            f"setsid bash -c {shlex.quote(line)} > {shlex.quote(str(log))} 2>&1 & "
            f"echo $! >> {shlex.quote(str(self.logs / 'pids'))}"
        )
        if line.startswith("redis-server"):
            self.parts.append(f"_ready redis-cli -p {self.redis_port} ping")
        elif " serve" in line:
            self.parts.append(f"_ready curl -s -o /dev/null http://127.0.0.1:{port}/health")
        else:  # a worker: ready once Celery says so in its log
            self.parts.append(f"_ready grep -q 'ready' {shlex.quote(str(log))}")

    def add_python(self, code: str) -> None:
        self.parts.append(f"python - <<'__DOC_PY__'\n{self.substitute(code)}\n__DOC_PY__")

    def text(self) -> str:
        return "\n".join(self.parts) + "\n"


def stop_background(logs: Path) -> None:
    pids = logs / "pids"
    if not pids.exists():
        return
    for pid in pids.read_text().split():
        try:
            os.killpg(int(pid), signal.SIGTERM)
        except ProcessLookupError:
            continue
    for pid in pids.read_text().split():
        for _ in range(100):
            try:
                os.killpg(int(pid), 0)
            except ProcessLookupError:
                break
            subprocess.run(["sleep", "0.1"], check=False)
        else:
            os.killpg(int(pid), signal.SIGKILL)


@pytest.mark.parametrize("section", ALL_SECTIONS, ids=lambda section: section.id)
def test_documented_commands_run(
    section: Section, tmp_path: Path, models: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    runnable = [block for block in section.blocks if block.language in RUNNABLE]
    if not runnable:
        pytest.skip("no commands in this section")
    folder = scratch_folder(tmp_path / "work")
    logs = tmp_path / "logs"
    logs.mkdir()
    script = Script(folder, logs, models)
    for block in runnable:
        if block.directive == "skip":
            with capsys.disabled():
                print(f"\n{section.doc.name}:{block.line}: not run: {block.reason}")
            continue
        if "/models/" in block.code and not models:
            pytest.skip("diffusers is not installed: no stand-in for /models/...")
        cwd = ROOT if block.directive == "in-checkout" else None
        if block.language == "sh":
            script.add_shell(block.code, cwd)
        else:
            script.add_python(block.code)
    text = script.text()
    absent = [tool for tool in ("curl", "jq") if re.search(rf"\b{tool}\b", text)]
    absent = [tool for tool in absent if shutil.which(tool) is None]
    if absent:
        reason = f"{' and '.join(absent)} not installed (scripts/system-packages installs them)"
        if os.environ.get("SEGSWAP_REQUIRE_SYSTEM_PACKAGES") == "1":
            pytest.fail(f"{reason} (SEGSWAP_REQUIRE_SYSTEM_PACKAGES=1)")
        pytest.skip(reason)
    before = set(folder.iterdir())
    try:
        done = subprocess.run(
            ["bash", "-c", text],
            capture_output=True,
            text=True,
            timeout=900,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    finally:
        stop_background(logs)
    background = "".join(
        f"\n--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
        for log in sorted(logs.glob("background-*.log"))
    )
    assert done.returncode == 0, (
        f"{section.id} failed ({done.returncode})\n--- stdout\n{done.stdout[-4000:]}"
        f"\n--- stderr\n{done.stderr[-4000:]}{background}"
    )
    written = [p for p in set(folder.iterdir()) - before if p.suffix.lower() in IMAGE_SUFFIXES]
    for path in written:
        with Image.open(io.BytesIO(path.read_bytes())) as image:
            assert image.size == SCENE_SIZE, f"{path.name}: {image.size}"
    shutil.rmtree(folder / ".segswap", ignore_errors=True)
