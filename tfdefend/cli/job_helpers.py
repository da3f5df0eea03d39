"""What the jobs behind the `tfdefend` command share: output checks, recorded versions, the final save.

TensorFlow and Keras are imported inside the functions that need them, so
importing this module keeps `tfdefend --help` fast.
"""

import json
import os
import platform
import sys

from tfdefend.utils.atomic import atomic_write_text

CALIBRATION_IMAGES = 200  # int8 calibration images of `app export`, `zoo export` and the leaderboard
FOLDER_EPS = 8 / 255  # the L-inf budget of an image folder, which has no usual budget of its own


def tf_version():
    """The installed TensorFlow's version string."""
    import tensorflow as tf

    return tf.__version__


def versions():
    """The Python, Keras and TensorFlow versions a job records in its metrics."""
    import keras

    return {"python": platform.python_version(), "keras": keras.__version__, "tensorflow": tf_version()}


def default_attack_eps(dataset):
    """The usual L-inf budget of bundled data set `dataset`; 8/255 if `dataset` is None (an image folder)."""
    from tfdefend.data import dataset_info

    return float(dataset_info(dataset).attack_eps) if dataset is not None else float(FOLDER_EPS)


def keras_verbose():
    """Keras' `verbose` for the command line: progress bars on a terminal, a line per epoch in a log file."""
    return 1 if sys.stdout.isatty() else 2


def command_line(argv=None):
    """The `tfdefend ...` command line (`argv` or this process's), for the metrics JSON."""
    return " ".join(["tfdefend"] + list(sys.argv[1:] if argv is None else argv))


def check_keras_outputs(outputs):
    """Refuses an output path that is not a `.keras` file.

    Args:
        outputs: `{key: path or None}`; a bad path is reported as `KEY_output`.

    Raises:
        ValueError: Naming the `KEY_output` argument and its value.
    """
    for key, path in outputs.items():
        if path is not None and not str(path).endswith(".keras"):
            raise ValueError(f"`{key}_output` must end in '.keras', got {path!r}.")


def save_outputs(outputs, networks, metrics, dist):
    """Saves each network whose output path is given, with its metrics JSON beside it, atomically.

    Every worker of `dist` saves (a collective operation); only the chief's
    files are kept, and only the chief writes the metrics.

    Args:
        outputs: `{key: .keras path or None}`; None skips the key.
        networks: `{key: Keras model}`.
        metrics: `{key: metrics dict}`, written to the path with ".json".
        dist: The job's `tf.distribute` strategy.

    Raises:
        ValueError: If a path is given for a key that has no network (checked
            before anything is written).
    """
    from tfdefend.export import export_keras
    from tfdefend.utils.distribute import chief_output_path, is_chief

    missing = sorted(key for key, path in outputs.items() if path is not None and key not in networks)
    if missing:
        raise ValueError("No network was trained for " + ", ".join(f"`{key}_output`" for key in missing)
                         + ": there is nothing to save there.")
    for key, path in outputs.items():
        if path is None:
            continue
        with chief_output_path(path, dist) as worker_path:  # every worker saves; the chief's file is kept
            export_keras(networks[key], worker_path, include_optimizer=False)
        if is_chief(dist):
            atomic_write_text(os.path.splitext(path)[0] + ".json", json.dumps(metrics[key], indent=2) + "\n")
