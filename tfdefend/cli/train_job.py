"""`train_job`: the job behind `tfdefend train`, callable from Python as `tfdefend.cli.jobs.train_job`."""

import json
import os
import time

from tfdefend.cli.job_helpers import default_attack_eps, versions
from tfdefend.utils.atomic import atomic_write_text

DEFAULT_IMAGE_SIZE = (64, 64)
FOLDER_TEST_FRACTION = 0.2


def train_job(*, model, dataset=None, epochs, batch_size, learning_rate, seed, output,
              metrics_output=None, limit=None, verbose="auto", command=None,
              include_optimizer=True, overrides=None, data_dir=None, image_size=None, augment="none",
              advmask_model=None, advmask_cache=None, advmask_eps=None, advmask_steps=50, advmask_limit=None,
              backup=True, backup_dir=None, backup_every_steps=None, strategy="default", log=None,
              defense="none", eps=None, beta=None, attack_steps=None, guard_images=1000):
    """Trains registered model `model` on `dataset` or an image folder, saves it and its metrics.

    With `data_dir` (a one-subfolder-per-class folder, see
    `tfdefend.data.image_folder`) instead of `dataset`, every image is
    decoded as RGB and resized to `image_size` (default 64x64) with the
    app's preprocessing (`read_image`), a seeded stratified 20% is held
    out as the test split, and the sorted class names are saved in the
    metrics as `class_names` (label i is `class_names[i]`; `tfdefend app
    export` reads them from there). Without both, `dataset` defaults to
    "fashion_mnist".

    Classifiers train with labels (`train_classifier`); trainable
    preprocessors (ComDefend, DAE) train on the clean images alone
    (`train_preprocessor`). Writes `output` (.keras, with the optimizer state
    unless `include_optimizer` is False) and `metrics_output` (JSON;
    default: `output` with ".json") atomically.

    `augment` (classifiers only) trains on a `tf.data` pipeline of a
    `tfdefend.augment` method: "cutout", "random_erasing", "hide_and_seek",
    "gridmask", or "advmask" (sensitive points of `advmask_model`, cached in
    `advmask_cache`, default `output` with ".sensitive_points"); see
    `tfdefend.cli.augment_option.augmented_training_data`.

    Crash safety: unless `backup` is False, training is backed up (after
    every epoch, and every `backup_every_steps` steps if given) to
    `backup_dir` (default: `output` + ".backup", e.g. `m.keras.backup/`)
    with `tfdefend.training.TrainingBackup`. Running the same job again
    after a kill resumes from the last backup (it prints from which epoch;
    the metrics record `resumed_from_epoch`); the folder is deleted once the
    model and the metrics are saved. A backup of other settings is refused.

    `strategy` ("default", "mirrored" or "multiworker", see
    `tfdefend.utils.get_strategy`) builds, compiles and trains the model
    inside that `tf.distribute` strategy's scope; `batch_size` is the global
    batch. With "multiworker" (from `TF_CONFIG`) every worker runs this job
    and only the chief writes `output` and the metrics (the others save to a
    temporary folder that they delete).

    `defense` ("trades", "fast-at", "pgd-at", "mart"; see
    `tfdefend.training.train_robust_classifier`) trains a classifier
    adversarially at L-inf `eps` (default: the data set's usual budget),
    holding the last `guard_images` training images out to measure PGD-10
    accuracy after every epoch (`pgd_curve`; fast-AT's catastrophic-
    overfitting guard), and adds PGD-20 accuracy on the full test split.

    Args:
        overrides: Extra constructor arguments of the model.
        verbose: Passed to `fit` (`keras_verbose()`: one line per epoch when
            the output is not a terminal).
        log: If given (e.g. `print`), called with a line saying what happens
            before each phase (loading, training, measuring).

    Returns:
        The metrics dict.
    """
    from tfdefend.cli.augment_option import augmented_training_data
    from tfdefend.cli.defense_option import check_defense, hold_out
    from tfdefend.training import TrainingBackup
    from tfdefend.utils.distribute import get_strategy
    from tfdefend.utils.seeding import set_seed

    if not str(output).endswith(".keras"):
        raise ValueError(f"`output` must end in '.keras', got {output!r}.")
    dist = get_strategy(strategy)  # first: MultiWorkerMirroredStrategy must precede other TF work
    robust = None if defense == "none" else {"defense": defense, "eps": eps, "beta": beta,
                                             "attack_steps": attack_steps}
    run_backup = TrainingBackup.for_output(
        output, enabled=backup, directory=backup_dir, every_steps=backup_every_steps,
        fingerprint={"job": "train", "model": model, "dataset": dataset, "image_size": image_size,
                     "data_dir": data_dir and os.path.abspath(data_dir), "epochs": epochs,
                     "batch_size": batch_size, "learning_rate": learning_rate, "seed": seed, "limit": limit,
                     "overrides": overrides or {}, "augment": augment,
                     **({} if robust is None else {**robust, "guard_images": guard_images})})
    kind = _trainable_kind(model)
    check_defense(defense, kind, eps, beta, attack_steps, guard_images)
    set_seed(seed, deterministic=False)
    say = log or (lambda _message: None)
    split = _load_split(dataset, data_dir, image_size, seed, limit, say)
    if augment != "none" and kind != "classifier":
        raise ValueError(f"`augment` applies to classifiers; {model!r} is a {kind}.")
    (x_train, y_train), guard_data = split["train"], None
    if robust is not None:
        robust.update(eps=float(eps if eps is not None else default_attack_eps(split["dataset"])), seed=seed)
        (x_train, y_train), guard_data = hold_out(x_train, y_train, guard_images)
    train_data, augment_info = augmented_training_data(
        augment, x_train, y_train, batch_size=batch_size, seed=seed, dataset=split["dataset"],
        advmask_model=advmask_model, advmask_eps=advmask_eps, advmask_steps=advmask_steps,
        advmask_limit=advmask_limit, verbose=verbose not in (0, False),
        advmask_cache=advmask_cache or os.path.splitext(output)[0] + ".sensitive_points")
    with dist.scope():  # the model and its optimizer are built in the strategy's scope
        net = _create_model(model, kind, split, overrides)
        callbacks = run_backup.callbacks("fit", name=f"train {model}")
        start = time.perf_counter()
        say(f"Training {model} ({kind}, {int(net.count_params()):,} parameters) on {len(x_train):,} images "
            f"for {epochs} epoch{'s' if epochs != 1 else ''}, batch {batch_size} ...")
        fit_args = {"epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
                    "callbacks": callbacks, "verbose": verbose}
        quality = _fit_and_measure(net, kind, robust, train_data, guard_data, x_train, split["test"],
                                   fit_args, say)
    metrics = {"model": model, "kind": kind, "dataset": split["name"], **quality, **split["info"],
               **augment_info, "overrides": overrides or {}, "epochs": epochs,
               "resumed_from_epoch": callbacks[0].resumed_from_epoch if callbacks else None,
               **_run_record(net, dist, strategy, batch_size, learning_rate, seed, split, x_train, start),
               "command": command, "versions": versions()}
    _save(net, metrics, output, metrics_output, dist, include_optimizer)
    run_backup.remove()  # only now: a kill before this line resumes from the backup
    return metrics


def _trainable_kind(model):
    """The registry kind of `model`; ValueError unless it is a classifier or preprocessor (what we train)."""
    from tfdefend import models

    kind = models.model_info(model)["kind"]
    if kind not in ("classifier", "preprocessor"):
        raise ValueError(f"`tfdefend train` trains classifiers and preprocessors; {model!r} is a {kind}.")
    return kind


def _load_split(dataset, data_dir, image_size, seed, limit, say):
    """The train and test arrays of a bundled data set or an image folder, and what the metrics record.

    Returns:
        A dict: "train" and "test" `(x, y)`, "input_shape", "num_classes",
        "dataset" (the bundled data set's name, None for a folder), "name"
        (the metrics' data set) and "info" (more metrics of a folder).
    """
    from tfdefend import data

    if data_dir is not None:
        if dataset is not None:
            raise ValueError("Give a bundled `dataset` or an image folder `data_dir`, not both.")
        say(f"Loading the image folder {data_dir} ...")
        folder = _load_folder(data_dir, image_size, seed, limit)
        return {**folder, "input_shape": folder["train"][0].shape[1:],
                "num_classes": len(folder["class_names"]), "dataset": None}
    if image_size is not None:
        raise ValueError("`image_size` applies to an image folder (`--data`) only; a bundled data set "
                         "has its own size.")
    dataset = dataset or "fashion_mnist"
    spec = data.dataset_info(dataset)
    say(f"Loading {dataset} ({spec.description}) ...")
    train = data.load(dataset, "train", as_numpy=True, limit=limit)
    test = data.load(dataset, "test", as_numpy=True)
    return {"train": train, "test": test, "input_shape": spec.image_shape, "num_classes": spec.num_classes,
            "dataset": dataset, "name": dataset, "info": {}}


def _create_model(model, kind, split, overrides):
    """Builds registered `model` for the images (and, for a classifier, the classes) of `split`."""
    from tfdefend import models

    shape_args = {"input_shape": tuple(int(d) for d in split["input_shape"])}
    if kind == "classifier":
        shape_args["num_classes"] = split["num_classes"]
    return models.create_model(model, **shape_args, **(overrides or {}))


def _fit_and_measure(net, kind, robust, train_data, guard_data, x_train, test, fit_args, say):
    """Trains `net` (adversarially if `robust` holds `--defense` settings); returns its test quality."""
    if robust is not None:
        return _fit_robust_classifier(net, train_data, guard_data, test, fit_args, robust, say)
    if kind == "classifier":
        return _fit_plain_classifier(net, train_data, test, fit_args, say)
    return _fit_preprocessor(net, x_train, test, fit_args, say)


def _fit_robust_classifier(net, train_data, guard_data, test, fit_args, robust, say):
    """Adversarial training (`--defense`); returns the clean and PGD-20 quality, curves and defense info."""
    from tfdefend.cli.defense_option import fit_defended, pgd_quality
    from tfdefend.evaluation import accuracy

    x_test, y_test = test
    history, defense_info = fit_defended(net, train_data, guard_data, **robust, **fit_args,
                                         validation_data=(x_test, y_test))
    logs = _epoch_logs(history, fit_args["callbacks"])
    say(f"Measuring clean and PGD-20 accuracy on the full test set ({len(x_test):,} images) ...")
    return {"clean_accuracy": accuracy(net, x_test, y_test),
            **pgd_quality(net, x_test, y_test, robust["eps"], robust["seed"]),
            "train_accuracy_last_epoch": float(logs["accuracy"][-1]),
            "train_adv_accuracy_last_epoch": float(logs["adv_accuracy"][-1]),
            "pgd_curve": [round(float(v), 4) for v in logs.get("val_pgd_accuracy", [])],
            "clean_curve": [round(float(v), 4) for v in logs.get("val_accuracy", [])], **defense_info}


def _fit_plain_classifier(net, train_data, test, fit_args, say):
    """Standard training; returns the clean test accuracy and the last epoch's training accuracy."""
    from tfdefend.evaluation import accuracy
    from tfdefend.training import train_classifier

    x_test, y_test = test
    history = train_classifier(net, train_data, **fit_args, validation_data=(x_test, y_test))
    say(f"Measuring the clean accuracy on the full test set ({len(x_test):,} images) ...")
    return {"clean_accuracy": accuracy(net, x_test, y_test),
            "train_accuracy_last_epoch": float(_epoch_logs(history, fit_args["callbacks"])["accuracy"][-1])}


def _fit_preprocessor(net, x_train, test, fit_args, say):
    """Trains a preprocessor on the clean images; returns its test reconstruction error and last loss."""
    from tfdefend.training import reconstruction_error, train_preprocessor

    x_test, _ = test
    history = train_preprocessor(net, x_train, **fit_args)
    say(f"Measuring the reconstruction error on the full test set ({len(x_test):,} images) ...")
    error = reconstruction_error(net, x_test)
    return {"test_mse": error["mse"], "test_psnr_db": error["psnr_db"],
            "train_loss_last_epoch": float(_epoch_logs(history, fit_args["callbacks"])["loss"][-1])}


def _run_record(net, dist, strategy, batch_size, learning_rate, seed, split, x_train, start):
    """The metrics that describe the run: batch, strategy, replicas, sizes, parameters and seconds."""
    return {"batch_size": batch_size, "strategy": strategy, "replicas": int(dist.num_replicas_in_sync),
            "learning_rate": learning_rate, "seed": seed, "train_examples": len(x_train),
            "test_examples": len(split["test"][0]), "params": int(net.count_params()),
            "train_seconds": round(time.perf_counter() - start, 1)}


def _save(net, metrics, output, metrics_output, dist, include_optimizer):
    """Writes the model (every worker; the chief's file is kept) and, on the chief, the metrics JSON."""
    from tfdefend.export import export_keras
    from tfdefend.utils.distribute import chief_output_path, is_chief

    with chief_output_path(output, dist) as path:  # every worker saves; only the chief's file is kept
        export_keras(net, path, include_optimizer=include_optimizer)
    if is_chief(dist):
        atomic_write_text(metrics_output or os.path.splitext(output)[0] + ".json",
                          json.dumps(metrics, indent=2) + "\n")


def _epoch_logs(history, callbacks):
    """Per-epoch logs of the whole run: the backup's (they span restarts), else this `fit`'s."""
    return callbacks[0].history if callbacks else history.history


def _load_folder(data_dir, image_size, seed, limit):
    """The train/test arrays of an image folder and what the metrics record about it."""
    from tfdefend.data import image_folder
    from tfdefend.data.load import stratified_split

    image_size = image_folder.check_image_size(DEFAULT_IMAGE_SIZE if image_size is None else image_size)
    x, y, class_names = image_folder.load_image_folder_arrays(data_dir, image_size=image_size)
    train_idx, test_idx = stratified_split(y, FOLDER_TEST_FRACTION, seed)
    if len(test_idx) == 0 or len(train_idx) == 0:
        raise ValueError(f"Image folder {data_dir!r} has too few images ({len(y)} in {len(class_names)} "
                         f"classes) to hold out {100 * FOLDER_TEST_FRACTION:.0f}% of each class as a test "
                         "split; add images (3 or more per class).")
    if limit is not None:
        train_idx = train_idx[:limit]
    info = {"data_dir": os.path.abspath(data_dir), "class_names": list(class_names),
            "image_size": list(image_size),
            "preprocessing": {"color": "RGB", "resize": image_folder.RESIZE_METHOD,
                              "antialias": image_folder.RESIZE_ANTIALIAS, "round_to_uint8": True,
                              "scale": "1/255"},
            "test_split": f"seeded stratified {100 * FOLDER_TEST_FRACTION:.0f}% of each class (seed {seed})"}
    return {"train": (x[train_idx], y[train_idx]), "test": (x[test_idx], y[test_idx]),
            "class_names": class_names, "info": info,
            "name": f"image_folder:{os.path.basename(os.path.abspath(data_dir))}"}

