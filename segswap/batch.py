"""Batch edits: a folder of scenes, each with its mask (and object), into a folder.

:func:`plan` pairs the files (masks and objects by file stem, or one file for all) and
:func:`run_batch` runs the edits, in this process or in ``jobs`` processes (each builds
its engine once), reporting each result as it comes. A result is written atomically
(a hidden temporary file in the output folder, renamed into place), so an output file
is either complete or absent; :func:`is_complete` is what ``--resume`` checks. A file
that cannot be used fails alone: its :class:`Failure` says why and the others go on.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from segswap.engine import Engine
from segswap.errors import SegswapError
from segswap.params import SwapParams
from segswap.settings import Settings

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff")
"""The files of a folder taken as images (case-insensitive); others are left alone."""


@dataclass(frozen=True)
class Task:
    """One edit: the scene, its mask and object (None: a removal) and where it goes."""

    scene: Path
    mask: Path
    object: Path | None
    output: Path


@dataclass(frozen=True)
class Done:
    """An edit written to ``task.output``: the edit that ran, the mask doctor's warnings
    and the file's size in bytes."""

    task: Task
    mode: str
    warnings: list[dict[str, str]] = field(default_factory=list)
    size: int = 0


@dataclass(frozen=True)
class Failure:
    """A scene that was not edited, and why (``scene`` is its file)."""

    scene: Path
    reason: str


Result = Done | Failure


def images_by_stem(folder: Path) -> dict[str, list[Path]]:
    """The image files of ``folder`` (not its sub-folders, not hidden files) by stem."""
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if (
            path.is_file()
            and not path.name.startswith(".")
            and path.suffix.lower() in IMAGE_SUFFIXES
        ):
            found.setdefault(path.stem, []).append(path)
    return found


def _partner(
    stem: str, source: Path, by_stem: dict[str, list[Path]] | None, what: str
) -> Path | str:
    """The mask/object for ``stem``: ``source`` itself when it is a file, else the one
    file of that stem in the folder; a string saying why when there is none or several."""
    if by_stem is None:
        return source
    matches = by_stem.get(stem, [])
    if not matches:
        return f"no {what} named {stem}.* in {source}"
    if len(matches) > 1:
        return f"several {what}s named {stem}.* in {source}: " + ", ".join(m.name for m in matches)
    return matches[0]


def plan(
    main: Path, mask: Path, object_image: Path | None, output: Path, suffix: str
) -> tuple[list[Task], list[Failure]]:
    """The edits to run for every image in the folder ``main``, and the scenes that
    cannot be paired (no mask or object of their stem, or a stem two scenes share).

    Args:
        main: a folder of scenes.
        mask: a folder of masks named like the scenes, or one mask for all.
        object_image: a folder of objects named like the scenes, one object for all,
            or None (removals).
        output: the folder the results go to, as ``<stem><suffix>``.
        suffix: the output files' suffix (``.png``...).

    Raises:
        SegswapError: ``main`` is not a folder, or ``mask`` / ``object_image`` do not exist.
    """
    if not main.is_dir():
        raise SegswapError(f"--main: {main} is not a folder (segswap swap edits one file)")
    for flag, path in (("--mask", mask), ("--object", object_image)):
        if path is not None and not path.exists():
            raise SegswapError(f"{flag}: {path} does not exist")
    masks = images_by_stem(mask) if mask.is_dir() else None
    objects = (
        images_by_stem(object_image) if object_image is not None and object_image.is_dir() else None
    )
    tasks: list[Task] = []
    failures: list[Failure] = []
    for stem, scenes in images_by_stem(main).items():
        if len(scenes) > 1:
            names = ", ".join(scene.name for scene in scenes)
            failures += [
                Failure(scene, f"several scenes share the stem {stem} ({names})")
                for scene in scenes
            ]
            continue
        scene = scenes[0]
        found_mask = _partner(stem, mask, masks, "mask")
        found_object = (
            None if object_image is None else _partner(stem, object_image, objects, "object")
        )
        if isinstance(found_mask, str):
            failures.append(Failure(scene, found_mask))
        elif isinstance(found_object, str):
            failures.append(Failure(scene, found_object))
        else:
            tasks.append(Task(scene, found_mask, found_object, output / (stem + suffix)))
    return tasks, failures


def is_complete(path: Path) -> bool:
    """Whether ``path`` is a whole image file (what ``--resume`` skips): it exists and its
    structure checks out to the end (:meth:`PIL.Image.Image.verify`)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.verify()
    except (OSError, SyntaxError, ValueError):  # missing, truncated, or not an image
        return False
    return True


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is never seen half-written: into a
    hidden temporary file beside it, flushed to disk, then renamed over ``path``."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with open(temporary, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@dataclass
class _Worker:
    """What one process needs for its edits (its engine is built once)."""

    params: SwapParams
    settings: Settings
    engine: Engine


_WORKER: _Worker | None = None


def _start_worker(params: SwapParams, settings: Settings, threads: int | None) -> None:
    """A pool process's initializer: build the engine; leave Ctrl-C to the parent (which
    lets the edits under way finish)."""
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if threads is not None:
        import cv2

        cv2.setNumThreads(threads)
    from segswap.engine import get_engine

    _WORKER = _Worker(params, settings, get_engine(settings.engine, settings))


def _run_in_worker(task: Task) -> Result:
    assert _WORKER is not None, "the pool's initializer did not run"
    return run_task(task, _WORKER)


def run_task(task: Task, worker: _Worker) -> Result:
    """Run one edit and write it atomically; any error is the task's :class:`Failure`
    (a batch goes on past a bad file)."""
    import numpy as np

    from segswap.api import swap
    from segswap.io.encode import encode_image
    from segswap.io.metadata import read_metadata

    params = worker.params
    try:
        image = swap(
            task.scene,
            task.mask,
            task.object,
            engine=worker.engine,
            settings=worker.settings,
            **params.edit().model_dump(),
        )
        data = encode_image(
            np.asarray(image), params.image_format, params.image_quality, read_metadata(image)
        )
        write_atomic(task.output, data)
    except SegswapError as error:
        return Failure(task.scene, str(error))
    except OSError as error:
        return Failure(task.scene, f"{error.strerror or error}: {error.filename or task.output}")
    except Exception as error:  # a decoder's or engine's own error: this file only
        return Failure(task.scene, f"{type(error).__name__}: {error}")
    proof = image.info["segswap"]
    return Done(task, proof["mode"], proof["warnings"], len(data))


def _outcome(future: Future[Result], task: Task) -> Result:
    """A finished future's result; a process that died under it (killed, out of memory)
    fails its task rather than the batch."""
    try:
        return future.result()
    except Exception as error:
        return Failure(task.scene, f"its process stopped ({type(error).__name__}: {error})")


def run_batch(
    tasks: Sequence[Task],
    params: SwapParams,
    settings: Settings,
    jobs: int,
    report: Callable[[Result], None],
    stopping: Callable[[], None] | None = None,
) -> bool:
    """Run ``tasks`` in ``jobs`` processes (1: in this one), calling ``report`` with each
    result as it comes. Returns False when stopped by Ctrl-C: the edits under way finish
    (and are reported), the others are not started; ``stopping`` is called as soon as
    Ctrl-C is taken, before waiting for the edits under way."""
    if jobs <= 1:
        from segswap.engine import get_engine

        worker = _Worker(params, settings, get_engine(settings.engine, settings))
        try:
            for task in tasks:
                report(run_task(task, worker))
        except KeyboardInterrupt:
            return False
        return True
    # Fresh processes ("spawn"): forking a process that runs threads (OpenCV's, numba's,
    # a test runner's) can leave a child waiting forever on a lock held at the fork.
    # One OpenCV thread per process: the processes already use the cores.
    # The processes are started while Ctrl-C is ignored, so they start ignoring it (an
    # ignored signal stays ignored across exec): one still importing when Ctrl-C comes
    # would otherwise die with a traceback and break the pool. Ctrl-C is the parent's.
    ignoring = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if ignoring else None
    try:
        pool = ProcessPoolExecutor(
            jobs,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(params, settings, 1),
        )
        futures: dict[Future[Result], Task] = {pool.submit(_run_in_worker, t): t for t in tasks}
    finally:
        if ignoring:
            signal.signal(signal.SIGINT, previous)
    reported: set[Future[Result]] = set()
    try:
        for future in as_completed(futures):
            reported.add(future)
            report(_outcome(future, futures[future]))
        return True
    except KeyboardInterrupt:
        for future in futures:
            future.cancel()
        if stopping is not None:
            stopping()
        for future in futures:
            if future not in reported and not future.cancelled():
                reported.add(future)
                report(_outcome(future, futures[future]))
        return False
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
