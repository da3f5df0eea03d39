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

COMDEFEND_EPOCHS = 1
COMDEFEND_ARGS = ("--set code_channels=4 --set 'comcnn_filters=[4,8,16,32,64,32,16,8]' "
                  "--set 'rescnn_filters=[8,16,32,64,32,16,8,4]'")
# The residual variant: the same code and widths, plus two residual blocks after the third
# convolution (after the widest one they would cost 3x the compute on a CPU).
RESIDUAL_ARGS = COMDEFEND_ARGS + " --set residual_blocks=2 --set residual_after=3"

# name: (model, dataset, epochs, batch_size, extra arguments of `tfdefend train`)
ENTRIES = {
    "small_cnn_fashion_mnist": ("small_cnn", "fashion_mnist", 10, 128, ""),
    "small_cnn_mnist": ("small_cnn", "mnist", 20, 64, ""),
    "small_cnn_digits": ("small_cnn", "digits", 40, 64, ""),
    "small_cnn_lfw_subset": ("small_cnn", "lfw_subset", 60, 32, ""),
    # ComDefend at a quarter of the paper's widths (CPU budget), 4 code channels per gray
    # channel (the paper's 12 for RGB): 3,136 code bits per 28x28 image vs 6,272 image bits.
    "comdefend_fashion_mnist": ("comdefend", "fashion_mnist", COMDEFEND_EPOCHS, 64, COMDEFEND_ARGS),
    "comdefend_residual_fashion_mnist": ("comdefend_residual", "fashion_mnist", COMDEFEND_EPOCHS, 64,
                                         RESIDUAL_ARGS),
    "dae_fashion_mnist": ("dae", "fashion_mnist", 2, 64, ""),
}


def command_for(name):
    model, dataset, epochs, batch_size, extra = ENTRIES[name]
    rel = os.path.relpath(os.path.join(ZOO_DIR, f"{name}.keras"), ROOT)
    return (f"tfdefend train --model {model} --dataset {dataset} --epochs {epochs} "
            f"--batch-size {batch_size} --seed 0 --no-optimizer {extra}".rstrip() + f" --output {rel}")


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
        model, dataset = ENTRIES[name][:2]
        quality = ({"clean_accuracy": round(metrics["clean_accuracy"], 4)} if metrics["kind"] == "classifier"
                   else {"test_mse": round(metrics["test_mse"], 6), "test_psnr_db": round(metrics["test_psnr_db"], 2)})
        manifest[name] = {
            "file": f"{name}.keras",
            "sha256": sha256_file(weights),
            "model": model,
            "kind": metrics["kind"],
            "dataset": dataset,
            "default": metrics["kind"] == "classifier",
            **quality,
            "test_examples": metrics["test_examples"],
            "params": metrics["params"],
            "size_bytes": os.path.getsize(weights),
            "command": command,
            "versions": metrics["versions"],
        }
        atomic_write_text(MANIFEST_PATH, json.dumps({"models": manifest}, indent=2, sort_keys=True) + "\n")
        print(f"{name}: {quality}", flush=True)


if __name__ == "__main__":
    main()
