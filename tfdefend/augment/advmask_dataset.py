"""`tf.data` pipelines that apply an augmentation layer, so training is plain `model.fit(dataset)`."""

import numpy as np
import tensorflow as tf

from tfdefend.augment.adv_mask import AdvMask
from tfdefend.utils.validation import check_int, check_seed


def _check_xy(x, y):
    x = np.asarray(x)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise TypeError(f"`x` must be a numeric array, got dtype {x.dtype}.")
    if x.ndim != 4 or x.shape[0] == 0:
        raise ValueError(f"`x` must have shape [N, height, width, channels] with N >= 1, got {x.shape}.")
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"`y` must be a 1-D array of {x.shape[0]} labels, got shape {y.shape}.")
    return x.astype(np.float32, copy=False), y


def _pipeline(tensors, apply, *, batch_size, seed, shuffle, drop_remainder):
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    seed = check_seed(seed)
    dataset = tf.data.Dataset.from_tensor_slices(tensors)
    if shuffle:
        dataset = dataset.shuffle(len(tensors[0]), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.map(apply).prefetch(tf.data.AUTOTUNE)


def augmented_dataset(x, y, layer=None, *, batch_size=128, seed=0, shuffle=True, drop_remainder=False):
    """A batched `tf.data.Dataset` of `(layer(images, training=True), labels)`.

    Args:
        x: Images [N, H, W, C].
        y: Labels [N].
        layer: A Keras augmentation layer called on an image batch (e.g.
            `Cutout`, `GridMask`, `HideAndSeek`, `keras.layers.RandomErasing`),
            or None for no augmentation.
        batch_size: Batch size (int >= 1).
        seed: Int seed of the shuffling (re-shuffled every epoch), or None.
        shuffle: Whether to shuffle.
        drop_remainder: Drop the last incomplete batch.

    Returns:
        A `tf.data.Dataset` of `(images, labels)` batches, deterministic for a
        fixed `seed` and layer seed.

    Raises:
        TypeError, ValueError: Bad `x`, `y`, `batch_size` or `seed`.
    """
    x, y = _check_xy(x, y)
    if layer is not None and not callable(layer):
        raise TypeError(f"`layer` must be a Keras layer (callable) or None, got {type(layer).__name__}.")

    def apply(images, labels):
        return (images if layer is None else layer(images, training=True)), labels

    return _pipeline((x, y), apply, batch_size=batch_size, seed=seed, shuffle=shuffle,
                     drop_remainder=drop_remainder)


def advmask_dataset(x, y, masks, *, batch_size=128, seed=0, shuffle=True, drop_remainder=False, layer=None,
                    **advmask_kwargs):
    """A batched `tf.data.Dataset` of AdvMask-augmented `(images, labels)`.

    Each image travels with its own sensitive-point mask (`masks[i]` belongs
    to `x[i]`), and the deletion regions are drawn afresh every time a batch
    is produced, i.e. differently in every epoch.

    Args:
        x: Images [N, H, W, C].
        y: Labels [N].
        masks: Sensitive points [N, H, W, 1], 0/1 (e.g. from
            `SensitivePointCache.compute_or_load` or `sensitive_points`).
        batch_size: Batch size (int >= 1).
        seed: Int seed of the shuffling and, unless `layer` is given, of the
            `AdvMask` layer.
        shuffle: Whether to shuffle.
        drop_remainder: Drop the last incomplete batch.
        layer: An `AdvMask` layer to use; None builds `AdvMask(seed=seed, **advmask_kwargs)`.
        **advmask_kwargs: Arguments of `AdvMask` (when `layer` is None).

    Returns:
        A `tf.data.Dataset` of `(images, labels)` batches.

    Raises:
        TypeError, ValueError: Bad `x`, `y`, `masks` (shape other than
            [N, H, W, 1] matching `x`, values other than 0/1), `batch_size`,
            `seed` or AdvMask arguments.
    """
    x, y = _check_xy(x, y)
    masks = np.asarray(masks)
    if masks.ndim != 4 or masks.shape[:3] != x.shape[:3] or masks.shape[3] != 1:
        raise ValueError(f"`masks` must have shape {x.shape[:3] + (1,)} (one [H, W, 1] mask per image), "
                         f"got {masks.shape}.")
    if masks.dtype == object or not np.all(np.isin(masks, (0, 1))):
        raise ValueError("`masks` must hold only 0 and 1 (binary sensitive-point masks).")
    if layer is None:
        layer = AdvMask(seed=check_seed(seed), **advmask_kwargs)
    elif advmask_kwargs:
        raise TypeError(f"Pass either `layer` or AdvMask arguments, not both (got {sorted(advmask_kwargs)}).")

    def apply(images, labels, batch_masks):
        return layer((images, batch_masks), training=True), labels

    return _pipeline((x, y, masks.astype(np.uint8)), apply, batch_size=batch_size, seed=seed, shuffle=shuffle,
                     drop_remainder=drop_remainder)
