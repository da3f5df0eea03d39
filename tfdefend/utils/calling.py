"""Calling a model the same way whether it is a Keras layer or a plain callable."""


def call_model(fn, x, training=False):
    """Returns `fn(x, training=training)` for a Keras layer/model, else `fn(x)`.

    Attacks, wrappers and metrics take "a `keras.Model` or any callable";
    this is the one place that decides how such a thing is called, so
    dropout and batch norm run in inference mode unless asked otherwise.
    """
    import keras

    if isinstance(fn, keras.layers.Layer):
        return fn(x, training=training)
    return fn(x)


def image_input_shape(model):
    """The model's fixed (height, width, channels) input shape, or None if it has none."""
    try:
        shape = model.input_shape
    except (AttributeError, ValueError):
        return None
    if not isinstance(shape, tuple) or len(shape) != 4 or any(d is None for d in shape[1:]):
        return None
    return tuple(int(d) for d in shape[1:])


def check_model_input(model, x, name="x"):
    """Raises ValueError unless the images `x` [N, H, W, C] fit the model's fixed input shape.

    A model without a fixed input shape (a plain callable, a size-agnostic
    defense) accepts any size, so nothing is checked then.
    """
    expected = image_input_shape(model)
    got = tuple(int(d) for d in x.shape[1:])
    if expected is not None and got != expected:
        raise ValueError(f"`{name}` holds images of shape {got} (height, width, channels), but the model "
                         f"takes {expected}.")
