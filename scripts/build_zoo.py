"""Rebuilds the pretrained zoo: trains each entry with its exact command, then writes the manifest.

Usage (from the repository root, in the installed environment):
    python scripts/build_zoo.py [--only NAME ...]

Every entry's command is a plain `tfdefend train ...` (or `tfdefend
train-uddn ...`, which writes three entries) line, recorded in the manifest
so anyone can reproduce the weights. `--record-only` re-reads the weights and
metrics already in the zoo and rewrites their manifest entries.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tfdefend.models.zoo import MANIFEST_PATH, ZOO_DIR, read_manifest
from tfdefend.utils import atomic_write_text, sha256_file

# One epoch each. Three epochs of the plain ComDefend lowered the training loss (noisy soft code,
# MSE 0.0113) but made the binarized inference-time reconstruction worse (test MSE 0.113 vs 0.0375
# after one epoch; benchmarks/results/comdefend_fashion_mnist_3epoch_train_metrics.json): with
# sigma = 20 the code penalty keeps |code| well below the noise, so the decoder learns to read
# noisy bits and the deterministic bits of inference drift away from them as training goes on.
COMDEFEND_EPOCHS = 1
RESIDUAL_EPOCHS = 1
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
    "comdefend_residual_fashion_mnist": ("comdefend_residual", "fashion_mnist", RESIDUAL_EPOCHS, 64,
                                         RESIDUAL_ARGS),
    "dae_fashion_mnist": ("dae", "fashion_mnist", 2, 64, ""),
}


# Multi-output pipelines: name -> (command, {zoo entry: (registry model, dataset)}).
_ZOO_REL = "tfdefend/models/zoo"
PIPELINES = {
    "uddn_fashion_mnist": (
        ("tfdefend train-uddn --dataset fashion_mnist --classifier small_cnn_fashion_mnist --seed 0 "
         "--real-count 8000 --gnr-count 16000 --gan-epochs 3 --uddn-epochs 3 --distill-epochs 1 "
         f"--output {_ZOO_REL}/uddn_fashion_mnist.keras "
         f"--generator-output {_ZOO_REL}/gnr_generator_fashion_mnist.keras "
         f"--student-output {_ZOO_REL}/uddn_student_fashion_mnist.keras"),
        {"uddn_fashion_mnist": ("uddn", "fashion_mnist"),
         "gnr_generator_fashion_mnist": ("gnr_generator", "fashion_mnist"),
         "uddn_student_fashion_mnist": ("small_cnn", "fashion_mnist")},
    ),
}
# Classifiers that are the default of their data set (the others are students, variants, ...).
NOT_DEFAULT = {"uddn_student_fashion_mnist"}


def command_for(name):
    model, dataset, epochs, batch_size, extra = ENTRIES[name]
    rel = os.path.relpath(os.path.join(ZOO_DIR, f"{name}.keras"), ROOT)
    return (f"tfdefend train --model {model} --dataset {dataset} --epochs {epochs} "
            f"--batch-size {batch_size} --seed 0 --no-optimizer {extra}".rstrip() + f" --output {rel}")


def manifest_entry(name, model, dataset, command):
    """The manifest entry of zoo file `name`, from its weights and the metrics JSON beside them."""
    weights = os.path.join(ZOO_DIR, f"{name}.keras")
    with open(os.path.join(ZOO_DIR, f"{name}.json"), encoding="utf-8") as handle:
        metrics = json.load(handle)
    quality = {}
    if metrics["kind"] == "classifier":
        quality = {"clean_accuracy": round(metrics["clean_accuracy"], 4)}
    elif "test_mse" in metrics:
        quality = {"test_mse": round(metrics["test_mse"], 6), "test_psnr_db": round(metrics["test_psnr_db"], 2)}
    extra = {key: round(metrics[key], 4) for key in ("test_l1_clean", "test_l1_fgsm", "defended_accuracy_clean",
                                                      "defended_accuracy_fgsm") if key in metrics}
    return {
        "file": f"{name}.keras",
        "sha256": sha256_file(weights),
        "model": model,
        "kind": metrics["kind"],
        "dataset": dataset,
        "default": metrics["kind"] == "classifier" and name not in NOT_DEFAULT,
        **quality,
        **extra,
        "test_examples": metrics.get("test_examples", 2000),
        "params": metrics["params"],
        "size_bytes": os.path.getsize(weights),
        "command": command,
        "versions": metrics["versions"],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    choices = sorted(ENTRIES) + sorted(PIPELINES)
    parser.add_argument("--only", nargs="+", choices=choices, default=choices)
    parser.add_argument("--record-only", action="store_true",
                        help="do not train: re-record the manifest entries of the files already in the zoo")
    args = parser.parse_args()
    manifest = read_manifest()
    for name in args.only:
        if name in PIPELINES:
            command, outputs = PIPELINES[name]
        else:
            command, outputs = command_for(name), {name: ENTRIES[name][:2]}
        if not args.record_only:
            print(f"$ {command}", flush=True)
            argv = shlex.split(command)
            subprocess.run([sys.executable, "-m", "tfdefend"] + argv[1:], cwd=ROOT, check=True)
        for entry, (model, dataset) in outputs.items():
            manifest[entry] = manifest_entry(entry, model, dataset, command)
            atomic_write_text(MANIFEST_PATH, json.dumps({"models": manifest}, indent=2, sort_keys=True) + "\n")
            print(f"{entry}: {manifest[entry]}", flush=True)


if __name__ == "__main__":
    main()
