"""Regenerate docs/images/pack-page-1.png and pack-page-2.png: the first two pages of a
demo client's monthly evidence pack, as the README shows them.

    .venv/bin/python tools/pack_images.py [--client acme]

Runs ``sla-connector demo`` flat out into a scratch folder (no dashboard port needed) and
draws the pack's first two pages with ``pdftoppm`` (poppler-utils). Not run by the tests.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", default="acme")
    parser.add_argument("--days", default="7")
    parser.add_argument("--port", default="8399", help="the demo's dashboard port (loopback)")
    args = parser.parse_args()
    if shutil.which("pdftoppm") is None:
        print("pdftoppm is missing: apt-get install poppler-utils", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "demo-output"
        cli = Path(sys.executable).parent / "sla-connector"
        subprocess.run(
            [str(cli), "demo", "--days", args.days, "--speed", "max", "--out", str(out),
             "--port", args.port],
            check=True, timeout=1800,
        )  # fmt: skip
        packs = sorted(out.glob(f"{args.client}-monthly-*.pdf"))
        if not packs:
            print(f"the demo wrote no pack for {args.client}", file=sys.stderr)
            return 1
        prefix = Path(scratch) / "page"
        subprocess.run(
            ["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "2", str(packs[-1]), str(prefix)],
            check=True, timeout=300,
        )  # fmt: skip
        images = ROOT / "docs" / "images"
        for number, page in enumerate(sorted(Path(scratch).glob("page*.png")), start=1):
            target = images / f"pack-page-{number}.png"
            shutil.copyfile(page, target)
            print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
