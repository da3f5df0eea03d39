"""Streaming `(x, y)` batches from arrays or a `tf.data.Dataset`, in constant memory.

Every evaluation function that takes data goes through `iterate_batches`:
at most one batch (plus, for unbatched data of unknown rank, one batch
being filled) is alive at a time, so a dataset of any length, including one
of unknown cardinality (a generator) or an infinite one cut by `limit`,
runs in memory that does not grow with its length.
"""

import numpy as np

from tfdefend.utils.validation import check_labels, check_positive_int


def as_data(x, y=None):
    """`(x, y)` for array arguments, `x` itself when it is already a dataset or an `(x, y)` pair."""
    return x if y is None else (x, y)


def _dataset_batches(data, batch_size):
    """NumPy batches of a `tf.data.Dataset` of pairs; unbatched elements are grouped into `batch_size`."""
    spec = data.element_spec
    if not isinstance(spec, tuple) or len(spec) != 2:
        raise ValueError("`data` must yield (images, labels) pairs.")
    rank = spec[0].shape.rank
    if rank == 3:
        data = data.batch(batch_size)
    if rank is not None:
        for x, y in data.as_numpy_iterator():
            yield np.asarray(x), np.asarray(y)
        return
    # Unknown rank (e.g. a generator declared with shape=None): decide element by element.
    xs, ys = [], []
    for x, y in data.as_numpy_iterator():
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim == 3:
            xs.append(x)
            ys.append(y)
            if len(xs) == batch_size:
                yield np.stack(xs), np.stack(ys)
                xs, ys = [], []
            continue
        if xs:
            yield np.stack(xs), np.stack(ys)
            xs, ys = [], []
        yield x, y
    if xs:
        yield np.stack(xs), np.stack(ys)


def _length(array):
    """The number of samples of one array of an `(x, y)` pair (TypeError if it is no array)."""
    try:
        shape = np.shape(array)
    except (TypeError, ValueError):  # e.g. ragged nested lists
        shape = ()
    if not shape:
        raise TypeError("`data` must be an (x, y) pair of arrays with a leading sample axis, got a "
                        f"{type(array).__name__} of shape {shape}.")
    return int(shape[0])


def iterate_batches(data, batch_size, limit=None, *, labels=True):
    """Yields `(x, y)` NumPy batches from arrays or a `tf.data.Dataset`, up to `limit` samples.

    Args:
        data: `(x, y)` arrays (anything sliceable, e.g. NumPy or memory-mapped
            arrays), or a `tf.data.Dataset` of `(x, y)` pairs, batched or
            not, of any length (unknown or infinite cardinality included;
            cut an infinite one with `limit`).
        batch_size: Batch size for arrays and unbatched datasets; batched
            datasets keep their own batches.
        limit: Stop after this many samples (None: all).
        labels: If True, `y` holds int class labels `[N]` (yielded as
            int32); if False, `y` is a second image batch like `x` (float32).

    Yields:
        `(x, y)`: float32 images `[n, H, W, C]` and their int32 labels `[n]`
        (or float32 images when `labels=False`).

    Raises:
        TypeError: If `data` is neither a pair nor a `tf.data.Dataset`.
        ValueError: Mismatched lengths or labels that are not `[N]` ints.
    """
    import tensorflow as tf

    batch_size = check_positive_int(batch_size, "batch_size")
    if limit is not None:
        limit = check_positive_int(limit, "limit")
    if isinstance(data, tf.data.Dataset):
        iterator = _dataset_batches(data, batch_size)
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
        n = _length(x)
        if labels:
            check_labels(y, n)
        elif _length(y) != n:
            raise ValueError(f"The two arrays of `data` differ in length: {n} and {_length(y)}.")
        iterator = ((np.asarray(x[i:i + batch_size]), np.asarray(y[i:i + batch_size]))
                    for i in range(0, n, batch_size))
    else:
        raise TypeError("`data` must be an (x, y) pair of arrays or a tf.data.Dataset of (x, y), "
                        f"got {type(data).__name__}.")
    seen = 0
    for x_batch, y_batch in iterator:
        if limit is not None:
            if seen >= limit:
                return
            x_batch, y_batch = x_batch[:limit - seen], y_batch[:limit - seen]
        if labels and y_batch.shape != (len(x_batch),):
            raise ValueError(f"`data` labels must be int class indices of shape [N]; got a batch of "
                             f"labels of shape {y_batch.shape} for {len(x_batch)} images.")
        for part, batch in (("images", x_batch), ("labels" if labels else "images", y_batch)):
            if not (np.issubdtype(batch.dtype, np.integer) or np.issubdtype(batch.dtype, np.floating)):
                raise TypeError(f"`data` {part} must be numeric, got dtype {batch.dtype}.")
        seen += len(x_batch)
        yield (x_batch.astype(np.float32, copy=False),
               y_batch.astype(np.int32 if labels else np.float32, copy=False))
        if limit is not None and seen >= limit:
            return
