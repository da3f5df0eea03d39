"""`train_classifier` (formerly `fit_classifier`): plain supervised training of a classifier with `fit`."""

import keras
import tensorflow as tf

from tfdefend.utils.deprecation import deprecated_alias
from tfdefend.utils.validation import check_positive_int


def compile_classifier(model, *, learning_rate=1e-3):
    """Compiles a logits classifier with Adam, sparse cross-entropy and accuracy."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"`model` must be a keras.Model, got {type(model).__name__}.")
    if isinstance(learning_rate, (int, float)) and not learning_rate > 0:
        raise ValueError(f"`learning_rate` must be > 0, got {learning_rate!r}.")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


def fit_inputs(train_data, batch_size):
    """`Model.fit` arguments for `(x, y)` arrays or a batched `tf.data.Dataset`, and the batches per epoch.

    Raises:
        TypeError: If `train_data` is neither.
        ValueError: If the data set's number of batches is unknown or zero (a schedule needs it).
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    if isinstance(train_data, tf.data.Dataset):
        batches = int(train_data.cardinality())
        if batches <= 0:
            raise ValueError("`train_data` must be a batched tf.data.Dataset with a known, non-zero number of "
                             f"batches (the learning-rate schedule needs it), got cardinality {batches}.")
        return {"x": train_data, "shuffle": False}, batches  # the pipeline shuffles itself
    if not isinstance(train_data, (tuple, list)) or len(train_data) != 2:
        raise TypeError("`train_data` must be an (x, y) pair of arrays or a tf.data.Dataset, "
                        f"got {type(train_data).__name__}.")
    x, y = train_data
    return {"x": x, "y": y, "batch_size": batch_size, "shuffle": True}, -(-len(x) // batch_size)


def train_classifier(model, train_data, *, epochs=10, batch_size=128, learning_rate=1e-3,
                     validation_data=None, callbacks=None, verbose="auto"):
    """Compiles `model` and trains it with `Model.fit` on `(x, y)` arrays or a batched `tf.data.Dataset`.

    Args:
        model: A `keras.Model` returning logits.
        train_data: `(x, y)` arrays (images in [0, 1], int labels), or a
            batched `tf.data.Dataset` of `(images, labels)` with a known
            number of batches (e.g. from `tfdefend.augment.augmented_dataset`;
            it does its own shuffling and `batch_size` is then unused).
        epochs: Number of epochs.
        batch_size: Mini-batch size.
        learning_rate: Adam learning rate; cosine-decayed to 0 over training.
        validation_data: Optional `(x, y)` evaluated after each epoch.
        callbacks: Extra Keras callbacks.
        verbose: Passed to `fit` ("auto" shows the progress bar).

    Returns:
        The Keras `History`.
    """
    epochs = check_positive_int(epochs, "epochs")
    fit_args, batches = fit_inputs(train_data, batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=epochs * batches)
    compile_classifier(model, learning_rate=schedule)
    return model.fit(**fit_args, epochs=epochs, validation_data=validation_data, callbacks=callbacks or [],
                     verbose=verbose)


fit_classifier = deprecated_alias(train_classifier, "fit_classifier")
