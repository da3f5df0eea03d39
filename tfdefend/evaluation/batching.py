"""Streaming `(x, y)` batches from arrays or a `tf.data.Dataset`."""

import numpy as np

from tfdefend.utils.validation import check_labels


def iterate_batches(data, batch_size, limit):
    """Yields `(x, y)` NumPy batches from arrays or a `tf.data.Dataset`, up to `limit` samples."""
    import tensorflow as tf

    if isinstance(data, tf.data.Dataset):
        spec = data.element_spec
        if not isinstance(spec, tuple) or len(spec) != 2:
            raise ValueError("`data` must yield (images, labels) pairs.")
        if spec[0].shape.rank == 3:
            data = data.batch(batch_size)
        iterator = ((np.asarray(x), np.asarray(y)) for x, y in data.as_numpy_iterator())
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
        n = int(np.shape(x)[0])
        check_labels(y, n)
        iterator = ((np.asarray(x[i:i + batch_size]), np.asarray(y[i:i + batch_size]))
                    for i in range(0, n, batch_size))
    else:
        raise TypeError("`data` must be an (x, y) pair of arrays or a tf.data.Dataset of (x, y).")
    seen = 0
    for x_batch, y_batch in iterator:
        if limit is not None:
            if seen >= limit:
                return
            x_batch, y_batch = x_batch[:limit - seen], y_batch[:limit - seen]
        seen += len(x_batch)
        yield x_batch.astype(np.float32), y_batch.astype(np.int32)
