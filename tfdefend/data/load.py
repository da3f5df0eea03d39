"""`load(name, split)`: real images in [0, 1] float32 NHWC with int labels."""

import functools

import numpy as np

from tfdefend.data.catalog import dataset_info, raw_loader
from tfdefend.utils.validation import check_positive_int

SPLITS = ("train", "test")


@functools.lru_cache(maxsize=8)
def _raw_splits(name):
    """Loads and caches the raw arrays of one data set as {split: (x, y)}."""
    spec = dataset_info(name)
    raw = raw_loader(name)()
    if spec.official_split:
        return raw
    return {"all": raw}


def stratified_split(labels, test_fraction, seed):
    """Seeded stratified split; returns shuffled (train_indices, test_indices).

    The index order is a seeded permutation, so the first `limit` examples
    of either split are a fair sample of every class.
    """
    rng = np.random.default_rng(seed)
    train, test = [], []
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        rng.shuffle(idx)
        n_test = int(round(len(idx) * test_fraction))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def load(name, split="train", *, as_numpy=False, batch_size=None, limit=None,
         seed=0, test_fraction=0.2):
    """Loads a bundled real data set.

    Images are float32 in [0, 1], NHWC; labels int32. Data sets without an
    official split get a deterministic stratified split from `seed`.

    Args:
        name: One of `list_datasets()`.
        split: "train" or "test".
        as_numpy: If True, returns `(x, y)` NumPy arrays instead of a dataset.
        batch_size: If given, the `tf.data.Dataset` is batched.
        limit: Keep only the first `limit` examples (after the split).
        seed: Seed of the train/test split (ignored for official splits).
        test_fraction: Fraction held out for the test split (ignored for
            official splits).

    Returns:
        A `tf.data.Dataset` of `(image, label)` or, with `as_numpy=True`, a
        tuple `(x, y)`.

    Raises:
        ValueError: Unknown `name` or `split`, bad `limit`/`test_fraction`.
        FileNotFoundError: If a data set's files cannot be found (the
            message says how to get them).
    """
    spec = dataset_info(name)
    if split not in SPLITS:
        raise ValueError(f"`split` must be one of {SPLITS}, got {split!r}.")
    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"`test_fraction` must be in (0, 1), got {test_fraction!r}.")
    if limit is not None:
        limit = check_positive_int(limit, "limit")
    raw = _raw_splits(name)
    if spec.official_split:
        x, y = raw[split]
    else:
        x_all, y_all = raw["all"]
        train_idx, test_idx = stratified_split(y_all, float(test_fraction), seed)
        idx = train_idx if split == "train" else test_idx
        x, y = x_all[idx], y_all[idx]
    if limit is not None:
        x, y = x[:limit], y[:limit]
    x = (np.asarray(x, dtype=np.float32) / np.float32(spec.scale)).clip(0.0, 1.0)
    y = np.asarray(y, dtype=np.int32)
    if as_numpy:
        return x, y
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    if batch_size is not None:
        dataset = dataset.batch(check_positive_int(batch_size, "batch_size"))
    return dataset
