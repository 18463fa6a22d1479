"""Mean rank per method from a blind judge's verdicts and the panels' key.

Run: ``.venv/bin/python benchmarks/judge_score.py VERDICTS KEY`` (files written by the
judge and by ``judge_panels.py``). Verdict lines look like
``panel-01: A=1 B=2 C=3 | reason``; each method's mean rank and how often it was ranked
first are printed for the ground-truth holes and the real-object removals apart.
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

LINE = re.compile(r"(panel-\d+)\S*\s*:?\s*A\s*=\s*(\d)\s*,?\s*B\s*=\s*(\d)\s*,?\s*C\s*=\s*(\d)")


def main() -> None:
    verdicts, key_file = Path(sys.argv[1]), Path(sys.argv[2])
    key = json.loads(key_file.read_text())
    ranks: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for line in verdicts.read_text().splitlines():
        found = LINE.search(line)
        if not found:
            continue
        panel = f"{found.group(1)}.png"
        entry = key[panel]
        for letter, rank in zip("ABC", found.groups()[1:], strict=True):
            ranks[entry["kind"]][entry[letter]].append(int(rank))
    for kind in ("hole", "removal"):
        methods = ranks[kind]
        if not methods:
            continue
        count = len(next(iter(methods.values())))
        print(f"{kind}s ({count} panels): mean rank, ranked first")
        for method, values in sorted(methods.items(), key=lambda m: sum(m[1])):
            firsts = sum(v == 1 for v in values)
            print(f"  {method:<13} {sum(values) / len(values):.2f}   {firsts}/{len(values)}")


if __name__ == "__main__":
    main()
