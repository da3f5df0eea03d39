"""`count_flops`: floating-point operations of one forward pass, by TensorFlow's profiler."""

import tensorflow as tf

FLOPS_METHOD = "TF profiler float_operation on the batch-1 graph; multiply-add = 2 FLOPs"


def count_flops(model, input_shape):
    """FLOPs of `model(x, training=False)` for one image of `input_shape` (H, W, C).

    Counted by `tf.compat.v1.profiler` (`float_operation`) on the traced
    batch-1 graph: a multiply-add counts as 2 FLOPs, bias additions and
    elementwise arithmetic count, and ops without registered FLOP statistics
    (pooling, ReLU, JPEG coding, gathers) count 0. Data-dependent control flow
    is counted as traced (every branch of the graph).

    Args:
        model: A Keras model or callable on float32 images.
        input_shape: (height, width, channels) of one image.

    Returns:
        The FLOP count, an int.

    Raises:
        ValueError: If `input_shape` is not three positive ints.
    """
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        shape = ()
    if isinstance(input_shape, str) or len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"`input_shape` must be (height, width, channels) of positive ints, got {input_shape!r}.")
    fn = tf.function(lambda x: model(x, training=False))
    graph = fn.get_concrete_function(tf.TensorSpec([1, *shape], tf.float32)).graph
    options = (tf.compat.v1.profiler.ProfileOptionBuilder(
        tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()).with_empty_output().build())
    return int(tf.compat.v1.profiler.profile(graph=graph, options=options).total_float_ops)
