"""Writes the Markdown model card of every zoo entry to `tfdefend/models/zoo/cards/NAME.md`.

Usage (from the repository root, in the installed environment, after
`scripts/build_zoo.py` and optionally `benchmarks/export_latency.py`):
    python scripts/write_model_cards.py [--only NAME ...] [--output-dir DIR]
        [--latency benchmarks/results/export_latency.json]

Each card is `tfdefend.export.model_card(NAME)` (also printed by
`tfdefend zoo card NAME`), written atomically; cards of entries no longer in
the zoo are left alone.
"""

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tfdefend.export import model_card
from tfdefend.models.zoo import ZOO_DIR, list_pretrained
from tfdefend.utils import atomic_write_text

CARDS_DIR = os.path.join(ZOO_DIR, "cards")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=None, help="zoo entries (default: all)")
    parser.add_argument("--output-dir", default=CARDS_DIR)
    parser.add_argument("--latency", default=None,
                        help="the export benchmark's JSON (default: benchmarks/results/export_latency.json)")
    args = parser.parse_args(argv)
    written = []
    for name in args.only or list_pretrained():
        path = os.path.join(args.output_dir, f"{name}.md")
        atomic_write_text(path, model_card(name, latency_path=args.latency))
        written.append(path)
        print(f"wrote {path}", flush=True)
    return written


if __name__ == "__main__":
    main()
