"""Which data set a command runs a trained model on: the model's own, unless the user insists.

A classifier's accuracy on a data set with other classes is a meaningless
number (a digit classifier scores about 10% on Fashion-MNIST), so the
commands that take a trained model and a `--dataset` (`evaluate
--pretrained/--model-file`, `train-uddn/train-rl-chain --classifier`,
`train --advmask-model`) default the data set to the model's own, refuse
another kind of data set unless `--allow-other-dataset` is given (then they
warn), and always refuse images of another size. Nothing here imports
TensorFlow: the checks run before any model is loaded.
"""

import json
import os
import sys

from tfdefend.data import dataset_info, list_datasets
from tfdefend.models.zoo import pretrained_info

DEFAULT_DATASET = "fashion_mnist"
ALLOW_FLAG = "--allow-other-dataset"
ALLOW_HELP = ("use --dataset even if the model was trained on a data set with other classes (prints a "
              "warning); images of another size are always refused")


def model_dataset(source):
    """The bundled data set that model `source` was trained on, and where that is recorded.

    Args:
        source: A zoo name or a `.keras` file (a file is looked for first, as
            `load_model_or_pretrained` does); for a file, the training
            metrics JSON beside it (`tfdefend train` writes one) is read.

    Returns:
        `(dataset, where)`, or `(None, None)` if unknown (an unknown zoo name,
        a file without metrics, a model trained on an image folder).
    """
    if source is None:
        return None, None
    if os.path.exists(str(source)):
        metrics = os.path.splitext(str(source))[0] + ".json"
        try:
            with open(metrics, encoding="utf-8") as handle:
                dataset = json.load(handle).get("dataset")
        except (OSError, ValueError, AttributeError):  # no metrics, not JSON, not an object
            return None, None
        if isinstance(dataset, str) and dataset in list_datasets():
            return dataset, f"its training metrics {metrics}"
        return None, None
    try:
        entry = pretrained_info(source)
    except ValueError:  # not a zoo name: the loader reports it
        return None, None
    return entry["dataset"], "its zoo entry"


def choose_dataset(dataset, source, *, allow_other=False, option="--dataset", remedy=None):
    """Returns the data set to run model `source` on.

    Args:
        dataset: The data set the user asked for, or None for the model's own
            (`DEFAULT_DATASET` when that is unknown).
        source: The model: a zoo name or a `.keras` file.
        allow_other: The user insists (`--allow-other-dataset`): a data set of
            the same image size but other classes is used, with a warning on
            stderr.
        option: The command-line option that named `dataset`, for messages.
        remedy: What the refusal suggests (default: leave `option` out to use
            the model's own data set).

    Raises:
        ValueError: An unknown data set; a data set whose images differ in
            size from the model's own; one with other classes, unless
            `allow_other`.
    """
    home, where = model_dataset(source)
    if dataset is None:
        return home or DEFAULT_DATASET
    spec = dataset_info(dataset)  # an unknown name raises, listing the known ones
    if home is None or home == dataset:
        return dataset
    own = dataset_info(home)
    trained = f"{source} was trained on {home} ({where})"
    remedy = remedy or f"Leave {option} out to use {home}"
    if tuple(spec.image_shape) != tuple(own.image_shape):
        raise ValueError(f"{trained}, which has {_shape(own)} images; {option} {dataset} has {_shape(spec)} "
                         f"images, which this model cannot take. {remedy}.")
    if tuple(spec.class_names) != tuple(own.class_names):
        if not allow_other:
            raise ValueError(f"{trained}, not on {dataset}: the images have the same size but other classes "
                             f"({_classes(own)} vs {_classes(spec)}), so its accuracy on {dataset} would "
                             f"mean nothing. {remedy}, or pass {ALLOW_FLAG} to use {dataset} anyway.")
        print(f"tfdefend: warning: {trained}; using {dataset}, a data set with other classes, because "
              f"{ALLOW_FLAG} was given: accuracies on it do not measure the model on its own task.",
              file=sys.stderr, flush=True)
    return dataset


def require_classifier(source, option):
    """Refuses a zoo entry that is not a classifier (a preprocessor, toolbox, agent or generator).

    Raises:
        ValueError: If `source` names a zoo entry of another kind.
    """
    if source is None or os.path.exists(str(source)):
        return
    try:
        kind = pretrained_info(source).get("kind", "classifier")
    except ValueError:  # not a zoo name: the loader reports it
        return
    if kind != "classifier":
        raise ValueError(f"{option} takes a classifier; the zoo entry {source!r} is a {kind} (see "
                         "`tfdefend zoo list`).")


def check_input_shape(model, dataset, source):
    """Refuses a loaded model whose input size differs from the images of `dataset`.

    Raises:
        ValueError: Naming the model, its input shape and the data set's.
    """
    try:
        got = tuple(model.input_shape[1:])
    except (AttributeError, ValueError, TypeError):  # a model without a defined input: Keras checks later
        return
    if not all(d is None or isinstance(d, int) for d in got):  # several inputs: not a classifier's
        return
    expected = tuple(dataset_info(dataset).image_shape)
    if len(got) != len(expected) or any(g is not None and g != e for g, e in zip(got, expected)):
        raise ValueError(f"The model {source} takes inputs of shape {got}, but {dataset} has images of shape "
                         f"{expected}; pick the data set it was trained on.")


def _shape(spec):
    return "x".join(str(d) for d in spec.image_shape)


def _classes(spec, shown=3):
    names = list(spec.class_names)
    return ", ".join(names[:shown]) + (", ..." if len(names) > shown else "")
