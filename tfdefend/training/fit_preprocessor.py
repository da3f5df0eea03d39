"""`train_preprocessor`: training of a self-supervised preprocessing defense with `Model.fit` (formerly
`fit_preprocessor`)."""

import keras
import numpy as np

from tfdefend.utils.deprecation import deprecated_alias
from tfdefend.utils.validation import check_positive_int


def train_preprocessor(model, x_train, *, epochs=3, batch_size=64, learning_rate=1e-3,
                       validation_data=None, callbacks=None, verbose="auto"):
    """Trains an image-to-image defense (ComDefend, DAE, ...) on clean images.

    The model's own `compute_loss` holds its loss (reconstruction, code
    penalty, noise augmentation), so this only compiles it with Adam and
    calls `fit(x, x)`.

    Args:
        model: A `keras.Model` with a trainable `compute_loss`.
        x_train: Clean images in [0, 1], [N, H, W, C].
        epochs: Number of epochs.
        batch_size: Mini-batch size.
        learning_rate: Adam learning rate.
        validation_data: Optional clean validation images.
        callbacks: Extra Keras callbacks.
        verbose: Passed to `fit`.

    Returns:
        The Keras `History`.

    Raises:
        TypeError: If `model` is not a keras.Model.
        ValueError: If the model has no trainable weights (e.g. JPEG).
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"`model` must be a keras.Model, got {type(model).__name__}.")
    if not model.trainable_weights:
        raise ValueError(f"{type(model).__name__} has no trainable weights: there is nothing to fit.")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    validation = None if validation_data is None else (validation_data, validation_data)
    return model.fit(x_train, x_train, epochs=epochs, batch_size=batch_size, shuffle=True,
                     validation_data=validation, callbacks=callbacks or [], verbose=verbose)


def reconstruction_error(model, x, *, batch_size=256):
    """Mean squared error and PSNR (dB) of `model(x)` (inference mode) against `x`."""
    batch_size = check_positive_int(batch_size, "batch_size")
    squared = []
    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size]
        out = np.asarray(model(batch, training=False))
        squared.append(((out - batch) ** 2).reshape(len(batch), -1).mean(axis=1))
    mse_per_image = np.concatenate(squared)
    psnr = float(np.mean(10 * np.log10(1.0 / np.maximum(mse_per_image, 1e-10))))
    return {"mse": float(mse_per_image.mean()), "psnr_db": psnr}


fit_preprocessor = deprecated_alias(train_preprocessor, "fit_preprocessor")
