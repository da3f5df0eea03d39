"""`synchronize_batch_norm`: global-batch statistics for the batch-norm layers of a model under tf.distribute."""


def synchronize_batch_norm(model):
    """Makes every `BatchNormalization` layer inside `model` use global-batch statistics.

    By default (as in Keras) a batch-norm layer in training mode normalizes
    each replica's share of the batch with that share's own mean and
    variance. With `synchronized=True` the moments are all-reduced over the
    replicas, so training matches one device on the same global batch (one
    extra all-reduce per layer and step). Without a strategy it changes
    nothing. The flag is saved with the model.

    Args:
        model: A `keras.Model` or layer (nested models are included).

    Returns:
        The number of batch-norm layers found.

    Raises:
        TypeError: If `model` is not a Keras layer or model.
    """
    import keras

    if not isinstance(model, keras.layers.Layer):
        raise TypeError(f"`model` must be a keras.Model or layer, got {type(model).__name__}.")
    layers = batch_norm_layers(model)
    for layer in layers:
        layer.synchronized = True
    return len(layers)


def batch_norm_layers(model):
    """Every `BatchNormalization` layer inside `model` (itself and nested layers included), in layer order."""
    import keras

    return [layer for layer in model._flatten_layers(include_self=True, recursive=True)
            if isinstance(layer, keras.layers.BatchNormalization)]
