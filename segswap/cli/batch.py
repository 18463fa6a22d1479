"""``segswap batch``: a folder of edits, with progress, resume and a summary.

``--main DIR`` of scenes; ``--mask`` a folder of masks matched by file stem, or one mask
for all; ``--object`` a folder matched by stem, one object or pattern for all, or none
with ``--mode remove``; results go to ``-o DIR`` as ``<stem>.<format>``. Every ``swap``
flag applies to every edit. A bad file fails alone; the summary names each failure and
the exit status is 1 when any failed (130 when stopped by Ctrl-C, 0 otherwise).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from segswap.batch import Done, Failure, Result, is_complete, plan, run_batch
from segswap.cli.flags import command
from segswap.cli.swap import add_edit_flags, edit_settings, given_params, warning_lines
from segswap.errors import SegswapError
from segswap.formats import FORMATS
from segswap.params import parse_params


class Progress:
    """Reports results: a bar (count, rate, ETA; :mod:`tqdm`) on a terminal, one plain
    line per file otherwise. Warnings go to stderr either way."""

    def __init__(self, total: int, tty: bool) -> None:
        from tqdm import tqdm

        self.total = total
        self.count = 0
        self.done: list[Done] = []
        self.failures: list[Failure] = []
        self.bar: Any = tqdm(total=total, unit="image", file=sys.stderr) if tty else None

    def _say(self, line: str, error: bool = False) -> None:
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr if error else sys.stdout, flush=True)

    def __call__(self, result: Result) -> None:
        self.count += 1
        where = f"[{self.count}/{self.total}]"
        if isinstance(result, Done):
            self.done.append(result)
            for line in warning_lines(result.warnings):
                self._say(
                    line.replace("warning: ", f"warning: {result.task.scene.name}: ", 1), True
                )
            if self.bar is None:
                self._say(
                    f"{where} {result.task.scene.name} -> {result.task.output} ({result.mode})"
                )
        else:
            self.failures.append(result)
            self._say(f"{where} {result.scene.name}: failed: {result.reason}", True)
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def stopping() -> None:
    """Say at once that Ctrl-C was taken (the edits under way may take a while)."""
    print(
        "stopping (Ctrl-C): the edits under way finish, the rest are not started",
        file=sys.stderr,
        flush=True,
    )


def run(args: argparse.Namespace) -> int:
    """Plan, run and summarise the batch; returns the exit status."""
    if args.jobs is not None and args.jobs < 1:
        raise SegswapError("--jobs: expected a number of processes >= 1")
    jobs = args.jobs or os.cpu_count() or 1
    params = parse_params({**given_params(args), "image_format": args.image_format or "png"})
    if args.object is None and params.mode != "remove":
        raise SegswapError(
            f"--object: required for mode {params.mode}; leave it out only with --mode remove"
        )
    settings = edit_settings(args, workers=jobs)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    suffix = FORMATS[params.image_format].suffixes[0]
    tasks, failures = plan(
        Path(args.main),
        Path(args.mask),
        None if args.object is None else Path(args.object),
        output,
        suffix,
    )
    skipped = [task for task in tasks if is_complete(task.output)] if args.resume else []
    todo = [task for task in tasks if task not in skipped]
    if skipped:
        print(f"{len(skipped)} already complete in {output} (--resume): skipped")
    for failure in failures:
        print(f"{failure.scene.name}: failed: {failure.reason}", file=sys.stderr)
    progress = Progress(len(todo), tty=sys.stderr.isatty())
    started = time.perf_counter()
    try:
        finished = run_batch(
            todo, params, settings, min(jobs, max(1, len(todo))), progress, stopping
        )
    finally:
        progress.close()
    seconds = time.perf_counter() - started
    failures += progress.failures
    scenes = len(tasks) + len(failures) - len(progress.failures)
    rate = f", {len(progress.done) / seconds:.2f} images/s" if progress.done else ""
    print(
        f"{scenes} scenes: {len(progress.done)} written, {len(skipped)} already complete, "
        f"{len(failures)} failed{'' if finished else ', the rest not started (interrupted)'}"
        f" ({seconds:.1f} s{rate}, {jobs} jobs)"
    )
    if failures:
        print("failed:")
        for failure in sorted(failures, key=lambda f: f.scene.name):
            print(f"  {failure.scene.name}: {failure.reason}")
    if not finished:
        return 130
    return 1 if failures else 0


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``batch`` to the ``segswap`` command."""
    parser = command(
        commands,
        "batch",
        run,
        help="edit a folder of scenes (masks and objects by file stem, or one for all)",
        description="Edit every image in --main DIR with the mask (and object) of the same"
        " file stem, or one mask/object for all, into -o DIR. A bad file fails alone; the"
        " summary lists each failure and the exit status is 1 when any failed. Ctrl-C: the"
        " edits under way finish, no file is left half-written.",
    )
    parser.add_argument("--main", required=True, help="a folder of scenes")
    parser.add_argument(
        "--mask", required=True, help="a folder of masks named like the scenes, or one mask"
    )
    parser.add_argument(
        "--object",
        default=None,
        help="a folder of objects/patterns named like the scenes, or one for all (leave it"
        " out with --mode remove)",
    )
    parser.add_argument(
        "-o", "--output", required=True, help="the folder for the results (made if missing)"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="edits run at once, each in a process of its own (default: the number of cores)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="skip scenes whose output already exists and is a whole image",
    )
    add_edit_flags(parser)
