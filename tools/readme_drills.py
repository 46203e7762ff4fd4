#!/usr/bin/env python3
"""Copy the drills table of the last lab run (build/drills.md, written by the lab tests)
into the README between its `<!-- drills -->` markers, with the date it was taken.

    python3 tools/readme_drills.py          # after `make test` (or a lab-cluster6 run)

The figures are a record of one run, not a contract: nothing checks them against the
README, and a run on another machine gives other numbers.
"""

import datetime
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
START, END = "<!-- drills -->", "<!-- /drills -->"


def main():
    source = ROOT / "build" / "drills.md"
    if not source.is_file():
        sys.exit(f"{source} is missing: run the lab tests first (make test)")
    table = "\n".join(line for line in source.read_text().splitlines()
                      if line.startswith("|"))
    taken = datetime.datetime.fromtimestamp(source.stat().st_mtime, datetime.UTC)
    block = (f"{START}\nRecorded {taken:%Y-%m-%d} by the lab tests on the machine described "
             f"under Tests:\n\n{table}\n{END}")
    readme = ROOT / "README.md"
    text = readme.read_text()
    if START not in text or END not in text:
        sys.exit(f"README.md has no {START} ... {END} markers")
    readme.write_text(re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block,
                             text, flags=re.S))
    print(f"README.md: drills table of {taken:%Y-%m-%d %H:%M} UTC")


if __name__ == "__main__":
    main()
