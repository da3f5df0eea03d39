"""The jobs behind the `tfdefend` command, callable from Python too.

Each job wires the layers below (data, models, training, attacks,
evaluation, export); `main.py` only parses arguments.
"""

import json
import os
import platform
import sys
import time

from tfdefend.cli.evaluate_job import evaluate_job  # noqa: F401 - the `evaluate` job, also importable here
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

    Classifiers train with labels (`fit_classifier`); trainable
    preprocessors (ComDefend, DAE) train on the clean images alone
    (`fit_preprocessor`). Writes `output` (.keras, with the optimizer state
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
    `tfdefend.training.fit_robust_classifier`) trains a classifier
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
    import keras

    from tfdefend import data, models
    from tfdefend.cli.augment_option import augmented_training_data
    from tfdefend.cli.defense_option import check_defense, fit_defended, hold_out, pgd_quality
    from tfdefend.evaluation import accuracy
    from tfdefend.export import save_keras
    from tfdefend.training import TrainingBackup, fit_classifier, fit_preprocessor, reconstruction_error
    from tfdefend.utils.distribute import chief_output_path, get_strategy, is_chief
    from tfdefend.utils.seeding import set_global_seed

    if not str(output).endswith(".keras"):
        raise ValueError(f"`output` must end in '.keras', got {output!r}.")
    dist = get_strategy(strategy)  # first: MultiWorkerMirroredStrategy must precede other TF work
    run_backup = TrainingBackup.for_output(
        output, enabled=backup, directory=backup_dir, every_steps=backup_every_steps,
        fingerprint={"job": "train", "model": model, "dataset": dataset, "image_size": image_size,
                     "data_dir": data_dir and os.path.abspath(data_dir), "epochs": epochs,
                     "batch_size": batch_size, "learning_rate": learning_rate, "seed": seed, "limit": limit,
                     "overrides": overrides or {}, "augment": augment,
                     **({} if defense == "none" else {"defense": defense, "eps": eps, "beta": beta,
                                                      "attack_steps": attack_steps, "guard_images": guard_images})})
    kind = models.model_info(model)["kind"]
    if kind not in ("classifier", "preprocessor"):
        raise ValueError(f"`tfdefend train` trains classifiers and preprocessors; {model!r} is a {kind}.")
    check_defense(defense, kind, eps, beta, attack_steps, guard_images)
    set_global_seed(seed)
    say = log or (lambda _message: None)
    if data_dir is not None:
        if dataset is not None:
            raise ValueError("Give a bundled `dataset` or an image folder `data_dir`, not both.")
        say(f"Loading the image folder {data_dir} ...")
        folder = _load_folder(data_dir, image_size, seed, limit)
        (x_train, y_train), (x_test, y_test) = folder["train"], folder["test"]
        input_shape, num_classes = x_train.shape[1:], len(folder["class_names"])
    else:
        if image_size is not None:
            raise ValueError("`image_size` applies to an image folder (`--data`) only; a bundled data set "
                             "has its own size.")
        dataset = dataset or "fashion_mnist"
        spec = data.dataset_info(dataset)
        say(f"Loading {dataset} ({spec.description}) ...")
        x_train, y_train = data.load(dataset, "train", as_numpy=True, limit=limit)
        x_test, y_test = data.load(dataset, "test", as_numpy=True)
        input_shape, num_classes = spec.image_shape, spec.num_classes
    if augment != "none" and kind != "classifier":
        raise ValueError(f"`augment` applies to classifiers; {model!r} is a {kind}.")
    if defense != "none":
        eps = float(eps if eps is not None else data.dataset_info(dataset).attack_eps if data_dir is None else 8 / 255)
        (x_train, y_train), guard_data = hold_out(x_train, y_train, guard_images)
    train_data, augment_info = augmented_training_data(
        augment, x_train, y_train, batch_size=batch_size, seed=seed, dataset=dataset if data_dir is None else None,
        advmask_model=advmask_model, advmask_eps=advmask_eps, advmask_steps=advmask_steps,
        advmask_limit=advmask_limit, verbose=verbose not in (0, False),
        advmask_cache=advmask_cache or os.path.splitext(output)[0] + ".sensitive_points")
    shape_args = {"input_shape": tuple(int(d) for d in input_shape)}
    if kind == "classifier":
        shape_args["num_classes"] = num_classes
    with dist.scope():  # the model and its optimizer are built in the strategy's scope
        net = models.create_model(model, **shape_args, **(overrides or {}))
        callbacks = run_backup.callbacks("fit", name=f"train {model}")
        start = time.perf_counter()
        say(f"Training {model} ({kind}, {int(net.count_params()):,} parameters) on {len(x_train):,} images "
            f"for {epochs} epoch{'s' if epochs != 1 else ''}, batch {batch_size} ...")
        if kind == "classifier" and defense != "none":
            history, defense_info = fit_defended(
                net, train_data, guard_data, defense=defense, eps=eps, beta=beta, attack_steps=attack_steps,
                epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed,
                validation_data=(x_test, y_test), callbacks=callbacks, verbose=verbose)
            logs = _epoch_logs(history, callbacks)
            say(f"Measuring clean and PGD-20 accuracy on the full test set ({len(x_test):,} images) ...")
            quality = {"clean_accuracy": accuracy(net, x_test, y_test), **pgd_quality(net, x_test, y_test, eps, seed),
                       "train_accuracy_last_epoch": float(logs["accuracy"][-1]),
                       "train_adv_accuracy_last_epoch": float(logs["adv_accuracy"][-1]),
                       "pgd_curve": [round(float(v), 4) for v in logs.get("val_pgd_accuracy", [])],
                       "clean_curve": [round(float(v), 4) for v in logs.get("val_accuracy", [])], **defense_info}
        elif kind == "classifier":
            history = fit_classifier(net, train_data, epochs=epochs, batch_size=batch_size,
                                     learning_rate=learning_rate, validation_data=(x_test, y_test),
                                     callbacks=callbacks, verbose=verbose)
            say(f"Measuring the clean accuracy on the full test set ({len(x_test):,} images) ...")
            quality = {"clean_accuracy": accuracy(net, x_test, y_test),
                       "train_accuracy_last_epoch": float(_epoch_logs(history, callbacks)["accuracy"][-1])}
        else:
            history = fit_preprocessor(net, x_train, epochs=epochs, batch_size=batch_size,
                                       learning_rate=learning_rate, callbacks=callbacks, verbose=verbose)
            say(f"Measuring the reconstruction error on the full test set ({len(x_test):,} images) ...")
            error = reconstruction_error(net, x_test)
            quality = {"test_mse": error["mse"], "test_psnr_db": error["psnr_db"],
                       "train_loss_last_epoch": float(_epoch_logs(history, callbacks)["loss"][-1])}
    seconds = time.perf_counter() - start
    metrics = {
        "model": model,
        "kind": kind,
        "dataset": dataset if data_dir is None else folder["name"],
        **quality,
        **({} if data_dir is None else folder["info"]),
        **augment_info,
        "overrides": overrides or {},
        "epochs": epochs,
        "resumed_from_epoch": callbacks[0].resumed_from_epoch if callbacks else None,
        "batch_size": batch_size,
        "strategy": strategy,
        "replicas": int(dist.num_replicas_in_sync),
        "learning_rate": learning_rate,
        "seed": seed,
        "train_examples": len(x_train),
        "test_examples": len(x_test),
        "params": int(net.count_params()),
        "train_seconds": round(seconds, 1),
        "command": command,
        "versions": {"python": platform.python_version(), "keras": keras.__version__,
                     "tensorflow": _tf_version()},
    }
    with chief_output_path(output, dist) as path:  # every worker saves; only the chief's file is kept
        save_keras(net, path, include_optimizer=include_optimizer)
    metrics_output = metrics_output or os.path.splitext(output)[0] + ".json"
    if is_chief(dist):
        atomic_write_text(metrics_output, json.dumps(metrics, indent=2) + "\n")
    run_backup.remove()  # only now: a kill before this line resumes from the backup
    return metrics


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


def uddn_job(*, dataset, classifier, uddn_output, generator_output=None, student_output=None,
             real_count=8000, gnr_count=16000, use_gnr=True, guidance="logits", gan_epochs=5,
             uddn_epochs=4, distill_epochs=1, batch_size=64, seed=0, eps=None, limit=None,
             verbose="auto", command=None, backup=True, backup_dir=None, backup_every_steps=None,
             strategy="default"):
    """Trains the UDDN defense (GNR, UDDN, knowledge transfer) against a zoo or saved classifier.

    Writes the denoiser (and, if paths are given, the GNR generator and the
    distilled student) as .keras files, each with a metrics JSON beside it,
    atomically. Returns the metrics of the denoiser.

    Unless `backup` is False, every stage is backed up to `backup_dir`
    (default: `uddn_output` + ".backup"): rerunning the same job after a
    kill skips the finished stages and resumes the unfinished one (see
    `train_job`); the folder is deleted once every output is saved.

    `strategy` ("default", "mirrored" or "multiworker") trains every stage
    inside that `tf.distribute` strategy's scope (see `train_job`; with
    "multiworker" only the chief writes the outputs and metrics).
    """
    import keras
    import numpy as np

    from tfdefend import data, models
    from tfdefend.attacks import fgsm
    from tfdefend.cli.backup_options import classifier_identity
    from tfdefend.cli.dataset_choice import check_input_shape
    from tfdefend.evaluation import accuracy, denoising_l1
    from tfdefend.export import save_keras
    from tfdefend.training import TrainingBackup, reconstruction_error, train_uddn_defense
    from tfdefend.utils.distribute import chief_output_path, get_strategy, is_chief
    from tfdefend.utils.seeding import set_global_seed

    outputs = {"uddn": uddn_output, "generator": generator_output, "student": student_output}
    for key, path in outputs.items():
        if path is not None and not str(path).endswith(".keras"):
            raise ValueError(f"`{key}_output` must end in '.keras', got {path!r}.")
    dist = get_strategy(strategy)  # first: MultiWorkerMirroredStrategy must precede other TF work
    run_backup = TrainingBackup.for_output(
        uddn_output, enabled=backup, directory=backup_dir, every_steps=backup_every_steps,
        fingerprint={"job": "train-uddn", "dataset": dataset, **classifier_identity(classifier),
                     "real_count": real_count, "gnr_count": gnr_count, "use_gnr": use_gnr,
                     "guidance": guidance,
                     "gan_epochs": gan_epochs, "uddn_epochs": uddn_epochs, "batch_size": batch_size,
                     "distill_epochs": distill_epochs if student_output else 0, "seed": seed, "eps": eps,
                     "limit": limit})
    set_global_seed(seed)
    with dist.scope():  # every model of every stage is built in the strategy's scope
        target = models.load_model_or_pretrained(classifier)
        check_input_shape(target, dataset, classifier)
        spec = data.dataset_info(dataset)
        eps = float(eps or spec.attack_eps)
        x_train, y_train = data.load(dataset, "train", as_numpy=True, limit=limit)
        x_test, y_test = data.load(dataset, "test", as_numpy=True, limit=2000)
        start = time.perf_counter()
        result = train_uddn_defense(target, x_train, y_train, eps=eps, real_count=real_count,
                                    gnr_count=gnr_count, use_gnr=use_gnr, guidance=guidance, gan_epochs=gan_epochs,
                                    uddn_epochs=uddn_epochs,
                                    distill_epochs=distill_epochs if student_output else 0,
                                    batch_size=batch_size, seed=seed, verbose=verbose,
                                    backup_dir=run_backup.subfolder("stages"),
                                    backup_every_steps=backup_every_steps)
    seconds = time.perf_counter() - start
    uddn = result["uddn"]
    x_fgsm = fgsm(target, x_test, y_test, eps=eps)
    denoised_fgsm = np.asarray(uddn.predict(x_fgsm, verbose=0))
    common = {"dataset": dataset, "classifier": str(classifier), "eps": eps, **result["info"],
              "train_seconds": round(seconds, 1), "command": command, "seed": seed,
              "test_examples": len(x_test),
              "versions": {"python": platform.python_version(), "keras": keras.__version__,
                           "tensorflow": _tf_version()}}
    error = reconstruction_error(uddn, x_test)
    metrics = {"uddn": {
        "model": "uddn", "kind": "preprocessor", "test_mse": error["mse"], "test_psnr_db": error["psnr_db"],
        "test_l1_clean": denoising_l1(uddn, x_test, x_test), "test_l1_fgsm": denoising_l1(uddn, x_fgsm, x_test),
        "defended_accuracy_clean": accuracy(target, uddn.predict(x_test, verbose=0), y_test),
        "defended_accuracy_fgsm": accuracy(target, denoised_fgsm, y_test),
        "undefended_accuracy_fgsm": accuracy(target, x_fgsm, y_test),
        "params": int(uddn.count_params()), **common}}
    if result["generator"] is not None:
        metrics["generator"] = {"model": "gnr_generator", "kind": "generator",
                                "params": int(result["generator"].count_params()), **common}
    if result["student"] is not None:
        student = result["student"]
        metrics["student"] = {
            "model": type(student).__name__, "kind": "classifier",
            "clean_accuracy": accuracy(student, x_test, y_test),
            "defended_accuracy_clean": accuracy(student, uddn.predict(x_test, verbose=0), y_test),
            "defended_accuracy_fgsm_on_teacher": accuracy(student, denoised_fgsm, y_test),
            "params": int(student.count_params()), **common}
    for key, path in outputs.items():
        if path is None or key not in metrics:
            continue
        network = result["uddn" if key == "uddn" else key]
        with chief_output_path(path, dist) as worker_path:  # every worker saves; the chief's file is kept
            save_keras(network, worker_path, include_optimizer=False)
        if is_chief(dist):
            atomic_write_text(os.path.splitext(path)[0] + ".json", json.dumps(metrics[key], indent=2) + "\n")
    run_backup.remove()  # only once every output is saved
    return metrics["uddn"]


def _tf_version():
    import tensorflow as tf

    return tf.__version__


def keras_verbose():
    """Keras' `verbose` for the command line: progress bars on a terminal, one line per epoch in a log file."""
    return 1 if sys.stdout.isatty() else 2


def command_line(argv=None):
    """The `tfdefend ...` command line (`argv` or this process's), for the metrics JSON."""
    return " ".join(["tfdefend"] + list(sys.argv[1:] if argv is None else argv))
