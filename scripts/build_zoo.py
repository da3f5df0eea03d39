"""Rebuilds the pretrained zoo: trains each entry with its exact command, then writes the manifest.

Usage (from the repository root, in the installed environment):
    python scripts/build_zoo.py [--only NAME ...]

Every entry's command is a plain `tfdefend train ...` line, recorded in the
manifest so anyone can reproduce the weights.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tfdefend.models.zoo import MANIFEST_PATH, ZOO_DIR, read_manifest  # noqa: E402
from tfdefend.utils import atomic_write_text, sha256_file  # noqa: E402

ENTRIES = {
    # name: (model, dataset, epochs, batch_size)
    "small_cnn_fashion_mnist": ("small_cnn", "fashion_mnist", 10, 128),
    "small_cnn_mnist": ("small_cnn", "mnist", 20, 64),
    "small_cnn_digits": ("small_cnn", "digits", 40, 64),
    "small_cnn_lfw_subset": ("small_cnn", "lfw_subset", 60, 32),
}


def command_for(name):
    model, dataset, epochs, batch_size = ENTRIES[name]
    rel = os.path.relpath(os.path.join(ZOO_DIR, f"{name}.keras"), ROOT)
    return (f"tfdefend train --model {model} --dataset {dataset} --epochs {epochs} "
            f"--batch-size {batch_size} --seed 0 --no-optimizer --output {rel}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(ENTRIES), default=sorted(ENTRIES))
    args = parser.parse_args()
    manifest = read_manifest()
    for name in args.only:
        command = command_for(name)
        print(f"$ {command}", flush=True)
        argv = shlex.split(command)
        subprocess.run([sys.executable, "-m", "tfdefend"] + argv[1:], cwd=ROOT, check=True)
        weights = os.path.join(ZOO_DIR, f"{name}.keras")
        with open(os.path.join(ZOO_DIR, f"{name}.json"), encoding="utf-8") as handle:
            metrics = json.load(handle)
        model, dataset, _, _ = ENTRIES[name]
        manifest[name] = {
            "file": f"{name}.keras",
            "sha256": sha256_file(weights),
            "model": model,
            "dataset": dataset,
            "default": True,
            "clean_accuracy": round(metrics["clean_accuracy"], 4),
            "test_examples": metrics["test_examples"],
            "params": metrics["params"],
            "size_bytes": os.path.getsize(weights),
            "command": command,
            "versions": metrics["versions"],
        }
        atomic_write_text(MANIFEST_PATH, json.dumps({"models": manifest}, indent=2, sort_keys=True) + "\n")
        print(f"{name}: clean accuracy {100 * metrics['clean_accuracy']:.2f}%", flush=True)


if __name__ == "__main__":
    main()
