"""One worker of the MultiWorkerMirroredStrategy test: `tfdefend train ... --strategy multiworker`.

Usage: `python tests/training/multiworker_worker.py RECORD_DIR OUTPUT` with `TF_CONFIG` set. Runs the
real command line; `tfdefend.export.export_keras` is wrapped so that the worker also records the weights
it trained (`RECORD_DIR/weights_<task index>.npz`) and the path it saved to
(`RECORD_DIR/saved_<task index>.json`), which `test_distributed_training.py` compares.
"""

import json
import os
import sys

import numpy as np

from tfdefend import export
from tfdefend.cli.main import main


def _recording(export_keras, record_dir, task):
    def save(model, path, **kwargs):
        np.savez(os.path.join(record_dir, f"weights_{task}.npz"), *model.get_weights())
        with open(os.path.join(record_dir, f"saved_{task}.json"), "w", encoding="utf-8") as handle:
            json.dump({"path": os.path.abspath(path)}, handle)
        return export_keras(model, path, **kwargs)

    return save


if __name__ == "__main__":
    record_dir, output = sys.argv[1], sys.argv[2]
    task = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    export.export_keras = _recording(export.export_keras, record_dir, task)
    sys.exit(main(["train", "--model", "small_cnn", "--set", "filters=4", "--set", "dense_units=8",
                   "--set", "dropout=0.0", "--dataset", "digits", "--limit", "64", "--epochs", "1",
                   "--batch-size", "16", "--lr", "0.01", "--seed", "0", "--no-backup",
                   "--strategy", "multiworker", "--output", output]))
