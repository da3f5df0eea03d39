"""`load(name, split)`: real images in [0, 1] float32 NHWC with int labels."""

import functools

import numpy as np

from tfdefend.data import streaming
from tfdefend.data.catalog import dataset_info, raw_loader
from tfdefend.utils.validation import check_positive_int, check_seed

SPLITS = ("train", "test", "all")


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


def _raw_parts(name, split, seed, test_fraction):
    """The raw `(x, y)` arrays of `split` as a list of parts ("all": train, then test); no copy for official splits."""
    spec = dataset_info(name)
    raw = _raw_splits(name)
    names = ("train", "test") if split == "all" else (split,)
    if spec.official_split:
        return [raw[part] for part in names]
    x_all, y_all = raw["all"]
    train_idx, test_idx = stratified_split(y_all, float(test_fraction), seed)
    indices = {"train": train_idx, "test": test_idx}
    return [(x_all[indices[part]], y_all[indices[part]]) for part in names]


def _limit_parts(parts, limit):
    kept, left = [], limit
    for x, y in parts:
        if left is not None:
            x, y = x[:left], y[:left]
            left -= len(x)
        kept.append((x, y))
    return kept


def load(name, split="train", *, as_numpy=False, batch_size=None, limit=None,
         seed=0, test_fraction=0.2):
    """Loads a bundled real data set.

    Images are float32 in [0, 1], NHWC; labels int32. Data sets without an
    official split get a deterministic stratified split from `seed`.

    The `tf.data.Dataset` streams: the images stay in their raw dtype
    (uint8 for Fashion-MNIST) until they are scaled to float32 one batch
    at a time, and Fashion-MNIST is read record by record from its idx
    files, so even `load("fashion_mnist", "all")` (70,000 images) runs in
    constant memory. `as_numpy=True` builds the float32 arrays instead.

    Args:
        name: One of `list_datasets()`.
        split: "train", "test", or "all" (the train split followed by the
            test split; for Fashion-MNIST the 60k + 10k = 70k images).
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
        ValueError: Unknown `name` or `split`, bad `limit`/`batch_size`/`test_fraction`.
        FileNotFoundError: If a data set's files cannot be found (the
            message says how to get them).
    """
    spec = dataset_info(name)
    if not isinstance(split, str) or split not in SPLITS:
        raise ValueError(f"`split` must be one of {SPLITS}, got {split!r}.")
    if (isinstance(test_fraction, bool)
            or not isinstance(test_fraction, (int, float, np.integer, np.floating))
            or not 0.0 < float(test_fraction) < 1.0):
        raise ValueError(f"`test_fraction` must be a number in (0, 1), got {test_fraction!r}.")
    seed = check_seed(seed)
    if limit is not None:
        limit = check_positive_int(limit, "limit")
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
    if not as_numpy:
        files = streaming.idx_files(name)
        if files is not None:
            names = ("train", "test") if split == "all" else (split,)
            parts = [streaming.idx_dataset(*files[part]) for part in names]
        else:
            parts = [streaming.array_dataset(x, y) for x, y in
                     _limit_parts(_raw_parts(name, split, seed, test_fraction), limit)]
        return streaming.finish(parts, spec.scale, batch_size=batch_size, limit=limit)
    parts = _limit_parts(_raw_parts(name, split, seed, test_fraction), limit)
    x = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
    y = np.concatenate([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
    x = (np.asarray(x, dtype=np.float32) / np.float32(spec.scale)).clip(0.0, 1.0)
    return x, np.asarray(y, dtype=np.int32)
