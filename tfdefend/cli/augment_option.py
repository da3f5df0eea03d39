"""`tfdefend train --augment NAME`: the training data as an augmented `tf.data` pipeline."""

import os

import numpy as np

from tfdefend.cli.job_helpers import default_attack_eps


def augmented_training_data(name, x_train, y_train, *, batch_size, seed, dataset=None, advmask_model=None,
                            advmask_cache=None, advmask_eps=None, advmask_steps=50, advmask_limit=None,
                            verbose=False):
    """Returns `(train_data, info)`: a batched `tf.data.Dataset` for `train_classifier` and what to record.

    Baselines ("cutout", "random_erasing", "hide_and_seek", "gridmask") come
    from `tfdefend.augment.create_augmentation`. "advmask" computes every
    training image's sensitive points with the sparse attack of a trained
    classifier (`advmask_model`: a zoo name or a .keras file; default the
    zoo's default classifier of `dataset`), caches them in `advmask_cache`
    (recomputed when the model, the data or the attack settings change) and
    grows deletion regions from them, re-drawn every epoch.

    Args:
        name: One of `tfdefend.augment.AUGMENTATIONS`; "none" returns the arrays.
        x_train, y_train: Training images [N, H, W, C] in [0, 1] and int labels.
        batch_size, seed: Of the pipeline (shuffled every epoch).
        dataset: The bundled data set's name (for the default AdvMask model and eps).
        advmask_model: Zoo name or .keras file of the classifier whose sensitive points are used.
        advmask_cache: Directory of the sensitive-point cache (required for "advmask").
        advmask_eps: L-inf budget of the dense attack (default: the data set's `attack_eps`, else 8/255).
        advmask_steps: Mask optimization steps of the sparse attack.
        advmask_limit: Compute sensitive points for the first N training images only (the
            others get AdvMask's GridMask fallback): the cost knob on CPU.
        verbose: Print the sensitive-point progress.

    Raises:
        ValueError: Unknown name, missing AdvMask model or cache, a model whose input
            shape does not match the images.
    """
    from tfdefend import augment

    if name not in augment.AUGMENTATIONS:
        raise ValueError(f"Unknown `augment` {name!r}; choose one of {', '.join(augment.AUGMENTATIONS)}.")
    if name == "none":
        return (x_train, y_train), {"augment": "none"}
    if name != "advmask":
        layer = augment.create_augmentation(name, x_train.shape[1:], seed=seed)
        return (augment.augmented_dataset(x_train, y_train, layer, batch_size=batch_size, seed=seed),
                {"augment": name, "augment_config": layer.get_config()})
    if advmask_cache is None:
        raise ValueError("`advmask_cache` (a directory for the sensitive points) is required with augment='advmask'.")
    model, model_name = _advmask_model(advmask_model, dataset)
    expected = tuple(int(d) for d in x_train.shape[1:])
    got = tuple(int(d) for d in model.input_shape[1:])
    if got != expected:
        raise ValueError(f"The AdvMask model {model_name!r} takes inputs {got}, but the training images are "
                         f"{expected}; train a base model on this data first (`tfdefend train`) and pass it "
                         "as `--advmask-model`.")
    eps = float(advmask_eps) if advmask_eps is not None else default_attack_eps(dataset)
    limit = len(x_train) if advmask_limit is None else min(int(advmask_limit), len(x_train))
    if limit < 1:
        raise ValueError(f"`advmask_limit` must be >= 1, got {advmask_limit!r}.")
    cache = augment.SensitivePointCache(verbose=verbose)
    points = cache.compute_or_load(model, x_train[:limit], y_train[:limit], advmask_cache, eps=eps,
                                   steps=int(advmask_steps), seed=int(seed))
    masks = np.zeros(x_train.shape[:3] + (1,), np.float32)
    masks[:limit] = points
    info = {"augment": "advmask", "advmask_model": model_name, "advmask_eps": eps,
            "advmask_steps": int(advmask_steps), "advmask_images_with_points": limit,
            "advmask_mean_points": float(points.sum(axis=(1, 2, 3)).mean()),
            "advmask_cache": os.path.abspath(advmask_cache), "advmask_cache_action": cache.last_action}
    return augment.advmask_dataset(x_train, y_train, masks, batch_size=batch_size, seed=seed), info


def _advmask_model(advmask_model, dataset):
    from tfdefend import models

    if advmask_model is None:
        if dataset is None:
            raise ValueError("AdvMask on an image folder needs `--advmask-model`: a classifier already trained "
                             "on that folder (first run `tfdefend train --data DIR` without --augment).")
        advmask_model = models.default_pretrained(dataset)
    return models.load_model_or_pretrained(advmask_model), str(advmask_model)

