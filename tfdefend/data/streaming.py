"""Streaming `tf.data` pipelines for `load`: raw values on the way, float32 one batch at a time.

Data sets stored as idx files (Fashion-MNIST) are read record by record
straight from the (gzipped) files, so a pipeline over all 70,000 images
holds no copy of them; the small in-memory sets are sliced from their raw
arrays. Either way the images travel in their native dtype (uint8 for
Fashion-MNIST) and are scaled to [0, 1] float32 after batching.
"""

from tfdefend.data import offline_sources

IDX_SOURCES = {"fashion_mnist": offline_sources.fashion_mnist_files}
DECODE_CHUNK = 256  # records decoded per op (memory: one chunk)


def idx_files(name):
    """`{split: (images_path, labels_path)}` to stream data set `name` from, or None."""
    finder = IDX_SOURCES.get(name)
    return finder() if finder is not None else None


def idx_dataset(images_path, labels_path):
    """An unbatched dataset of `(uint8 [H, W, 1] image, int32 label)` read from idx files.

    The files are read sequentially by `tf.data.FixedLengthRecordDataset`
    (gzip is decompressed on the fly); the cardinality comes from the
    headers, and a file that turns out shorter than its header says raises
    when the pipeline reaches its end.

    Raises:
        ValueError: If the headers are not images `[N, H, W]` and labels `[N]`.
    """
    import tensorflow as tf

    dims = offline_sources.read_idx_header(images_path)
    label_dims = offline_sources.read_idx_header(labels_path)
    if len(dims) != 3 or len(label_dims) != 1 or dims[0] != label_dims[0]:
        raise ValueError(f"{images_path!r} {dims} and {labels_path!r} {label_dims} are not "
                         "matching [N, H, W] images and [N] labels.")
    n, height, width = dims

    def records(path, record_bytes, ndim):  # an idx header: 4-byte magic + one 4-byte size per dim
        return tf.data.FixedLengthRecordDataset(path, record_bytes, header_bytes=4 + 4 * ndim,
                                                compression_type="GZIP" if path.endswith(".gz") else "",
                                                buffer_size=1 << 20)

    def decode(images, labels):  # a chunk of raw records at once: far cheaper than one by one
        images = tf.reshape(tf.io.decode_raw(images, tf.uint8), [-1, height, width, 1])
        return images, tf.cast(tf.reshape(tf.io.decode_raw(labels, tf.uint8), [-1]), tf.int32)

    pairs = tf.data.Dataset.zip((records(images_path, height * width, 3), records(labels_path, 1, 1)))
    pairs = pairs.batch(DECODE_CHUNK).map(decode).unbatch()
    return pairs.apply(tf.data.experimental.assert_cardinality(n))


def array_dataset(x, y):
    """An unbatched dataset over raw `(x, y)` arrays (their native dtype; copied into TF once)."""
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((x, y))


def finish(parts, scale, *, batch_size=None, limit=None):
    """Chains unbatched raw datasets, keeps `limit`, batches, and scales to [0, 1] float32 per batch.

    Args:
        parts: Unbatched datasets of `(raw image, int label)`, chained in order.
        scale: Divisor mapping the raw values to [0, 1].
        batch_size: Batch the result when given.
        limit: Keep only the first `limit` examples when given.

    Returns:
        A `tf.data.Dataset` of `(float32 image(s), int32 label(s))`.
    """
    import tensorflow as tf

    dataset = parts[0]
    for part in parts[1:]:
        dataset = dataset.concatenate(part)
    if limit is not None:
        dataset = dataset.take(limit)
    if batch_size is not None:
        dataset = dataset.batch(batch_size)

    def to_unit(x, y):
        x = tf.clip_by_value(tf.cast(x, tf.float32) / tf.constant(scale, tf.float32), 0.0, 1.0)
        return x, tf.cast(y, tf.int32)

    return dataset.map(to_unit, num_parallel_calls=tf.data.AUTOTUNE)
