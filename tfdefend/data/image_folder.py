"""A user's own images from a folder in the standard one-subfolder-per-class layout."""

import os


def load_image_folder(directory, *, image_size=(32, 32), color_mode="rgb", batch_size=32,
                      shuffle=True, seed=0, validation_split=None, subset=None):
    """Loads `directory/<class>/*.jpg|png` as a dataset of [0, 1] float32 images.

    A thin wrapper over `keras.utils.image_dataset_from_directory` that
    rescales to [0, 1] so the result fits every model and attack here.

    Returns:
        A batched `tf.data.Dataset` of `(images, int labels)`, with the class
        names in its `class_names` attribute.

    Raises:
        FileNotFoundError: If `directory` does not exist.
        ValueError: If `color_mode` is unknown.
    """
    import keras

    if not os.path.isdir(directory):
        raise FileNotFoundError(f"`directory` {directory!r} does not exist or is not a folder.")
    if color_mode not in ("rgb", "grayscale"):
        raise ValueError(f"`color_mode` must be 'rgb' or 'grayscale', got {color_mode!r}.")
    dataset = keras.utils.image_dataset_from_directory(
        directory, labels="inferred", label_mode="int", color_mode=color_mode,
        image_size=tuple(image_size), batch_size=batch_size, shuffle=shuffle, seed=seed,
        validation_split=validation_split, subset=subset)
    class_names = dataset.class_names
    dataset = dataset.map(lambda x, y: (x / 255.0, y))
    dataset.class_names = class_names
    return dataset
