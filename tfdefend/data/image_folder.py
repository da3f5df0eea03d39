"""A user's own images from a folder in the standard one-subfolder-per-class layout.

    DIR/
      daisy/  001.jpg  002.png ...
      rose/   ...

The class names are the sub-folder names, sorted; label i is
`class_names[i]`. Images are PNG, JPEG, GIF (first frame) or BMP, in any
size and colour mode. Every file is checked before anything is trained on
it, and a folder that cannot be used raises an error naming the problem:

- a missing `DIR` -> `FileNotFoundError`;
- an empty `DIR`, fewer than 2 class folders, a class folder without
  images, or a file inside a class folder that is not an image (by name or
  by content) -> `ValueError` naming the folder or file.

Hidden files (".DS_Store", "._x.jpg", ...) are skipped, and so are plain files
directly in `DIR` (e.g. the LICENSE.txt of the TF flowers archive): they
belong to no class. Sub-folders inside a class folder are searched too.

`read_image` is the one preprocessing used for training on a folder and by
the app (`tfdefend.export.app_bundle` writes it into `bundle.json`):
decode as RGB -> resize to (H, W) with antialiased bilinear interpolation
(`tf.image.resize(..., antialias=True)`, skipped when the size already
matches) -> round to uint8 (what the app feeds the int8 model) -> / 255.
"""

import os

import numpy as np

from tfdefend.utils.folders import check_folder
from tfdefend.utils.validation import check_positive_int, check_seed

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
RESIZE_METHOD = "bilinear"
RESIZE_ANTIALIAS = True
# Leading bytes of each accepted format.
_MAGIC = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"),
          (b"BM", "BMP"))


def _check_directory(directory):
    name = "Image folder (`directory`)"
    return check_folder(directory, type_name=name, missing_name=name)


def _visible(names):
    return sorted(name for name in names if not name.startswith("."))


def image_format(path):
    """"PNG", "JPEG", "GIF" or "BMP" from the first bytes of file `path`, else None."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def check_image_file(path):
    """Raises ValueError naming `path` unless it has an image extension and an image's first bytes."""
    if os.path.splitext(path)[1].lower() not in IMAGE_EXTENSIONS:
        raise ValueError(f"{path!r} is not an image file: image folders hold only "
                         f"{', '.join(IMAGE_EXTENSIONS)} files (hidden files are skipped).")
    if image_format(path) is None:
        raise ValueError(f"{path!r} is not a PNG, JPEG, GIF or BMP image (its content is not an image "
                         f"of any of these formats, whatever its name says).")


def scan_image_folder(directory):
    """Lists and checks the images of a one-subfolder-per-class folder.

    Args:
        directory: The folder; one sub-folder per class.

    Returns:
        `(class_names, paths, labels)`: the sorted class names, the image
        paths (sorted within each class) and their int labels (NumPy int32).

    Raises:
        FileNotFoundError: If `directory` does not exist.
        ValueError: If it is empty, has fewer than 2 class folders, a class
            folder has no image, or a class folder holds a file that is not
            an image (the message names it).
    """
    directory = _check_directory(directory)
    entries = _visible(os.listdir(directory))
    if not entries:
        raise ValueError(f"Image folder {directory!r} is empty: put one sub-folder of images per class "
                         "in it.")
    class_names = [name for name in entries if os.path.isdir(os.path.join(directory, name))]
    if len(class_names) < 2:
        found = f"only the class folder {class_names[0]!r}" if class_names else "no class folders"
        raise ValueError(f"Image folder {directory!r} needs at least 2 class sub-folders (one per class, "
                         f"images inside), found {found}.")
    paths, labels = [], []
    for label, name in enumerate(class_names):
        class_paths = []
        for root, dirs, files in os.walk(os.path.join(directory, name), followlinks=True):
            dirs[:] = _visible(dirs)
            class_paths += [os.path.join(root, f) for f in _visible(files)]
        if not class_paths:
            raise ValueError(f"Class folder {os.path.join(directory, name)!r} holds no images.")
        for path in sorted(class_paths):
            check_image_file(path)
        paths += sorted(class_paths)
        labels += [label] * len(class_paths)
    return class_names, paths, np.asarray(labels, np.int32)


def read_image(source, image_size):
    """Decodes and resizes one image exactly as the app does: float32 (H, W, 3) in [0, 1].

    Args:
        source: A file path or the encoded bytes (PNG, JPEG, GIF, BMP).
        image_size: (height, width).

    Raises:
        ValueError: If the content cannot be decoded (the message names the file).
    """
    import tensorflow as tf

    name = repr(os.fspath(source)) if isinstance(source, (str, os.PathLike)) else "the image bytes"
    try:
        data = tf.io.read_file(os.fspath(source)) if isinstance(source, (str, os.PathLike)) else source
        image = tf.io.decode_image(data, channels=3, dtype=tf.uint8, expand_animations=False)
    except (tf.errors.OpError, ValueError) as exc:
        raise ValueError(f"Cannot decode {name} as an image: {str(exc).splitlines()[0][:200]}") from None
    return resize_uint8(image, image_size).astype(np.float32) / np.float32(255.0)


def _check_decodes(path):
    """Raises ValueError naming `path` unless it decodes as an image."""
    import tensorflow as tf

    try:
        tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
    except (tf.errors.OpError, ValueError) as exc:
        raise ValueError(f"Cannot decode {path!r} as an image: {str(exc).splitlines()[0][:200]}") from None


def resize_uint8(image, image_size):
    """uint8 (h, w, 3) -> uint8 (H, W, 3): antialiased bilinear resize, rounded (identity if same size)."""
    import tensorflow as tf

    height, width = (int(d) for d in image_size)
    image = tf.convert_to_tensor(image)
    if tuple(image.shape[:2]) == (height, width):
        return np.asarray(image, np.uint8)
    resized = tf.image.resize(tf.cast(image, tf.float32), (height, width), method=RESIZE_METHOD,
                              antialias=RESIZE_ANTIALIAS)
    return np.asarray(tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8))


def load_image_folder_arrays(directory, *, image_size=(64, 64), limit=None, seed=0):
    """Loads a checked image folder into memory, each image through `read_image`.

    Args:
        directory: The one-subfolder-per-class folder.
        image_size: (height, width) of the returned images.
        limit: If given, only a seeded random sample of `limit` images
            (e.g. calibration images for int8 export), in folder order.
        seed: Seed of that sample.

    Returns:
        `(x, y, class_names)`: float32 (N, H, W, 3) in [0, 1], int32 labels,
        sorted class names.

    Raises:
        As `scan_image_folder` and `read_image`; ValueError for a bad
        `image_size` or `limit`.
    """
    image_size = check_image_size(image_size)
    class_names, paths, labels = scan_image_folder(directory)
    if limit is not None and check_positive_int(limit, "limit") < len(paths):
        keep = np.sort(np.random.default_rng(seed).permutation(len(paths))[:limit])
        paths, labels = [paths[i] for i in keep], labels[keep]
    x = np.stack([read_image(path, image_size) for path in paths])
    return x, labels, class_names


def check_image_size(image_size):
    """(height, width) as two positive ints, else ValueError."""
    if (not isinstance(image_size, (tuple, list)) or len(image_size) != 2
            or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 for d in image_size)):
        raise ValueError(f"`image_size` must be (height, width), two positive ints, got {image_size!r}.")
    return int(image_size[0]), int(image_size[1])


def load_image_folder(directory, *, image_size=(32, 32), color_mode="rgb", batch_size=32,
                      shuffle=True, seed=0, validation_split=None, subset=None):
    """Loads `directory/<class>/*.jpg|png` as a dataset of [0, 1] float32 images.

    A thin wrapper over `keras.utils.image_dataset_from_directory` that
    checks the folder first (`scan_image_folder`) and rescales to [0, 1] so
    the result fits every model and attack here. (Keras resizes with plain
    bilinear interpolation; `load_image_folder_arrays` uses the app's
    preprocessing, `read_image`.)

    Every image is decoded once up front, so a damaged file (a PNG cut
    short, say) raises here, naming the file, instead of in the middle of
    training.

    Returns:
        A batched `tf.data.Dataset` of `(images, int labels)`, with the class
        names in its `class_names` attribute.

    Raises:
        FileNotFoundError: If `directory` does not exist.
        ValueError: If `color_mode`, `image_size`, `batch_size` or `seed` is
            bad, or the folder is empty, has fewer than 2 classes, an empty
            class, a non-image file or one that cannot be decoded.
    """
    import keras

    _check_directory(directory)
    if not isinstance(color_mode, str) or color_mode not in ("rgb", "grayscale"):
        raise ValueError(f"`color_mode` must be 'rgb' or 'grayscale', got {color_mode!r}.")
    image_size = check_image_size(image_size)
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
    seed = check_seed(seed)
    _, paths, _ = scan_image_folder(directory)
    for path in paths:
        _check_decodes(path)
    dataset = keras.utils.image_dataset_from_directory(
        directory, labels="inferred", label_mode="int", color_mode=color_mode,
        image_size=image_size, batch_size=batch_size, shuffle=shuffle, seed=seed,
        validation_split=validation_split, subset=subset)
    class_names = dataset.class_names
    dataset = dataset.map(lambda x, y: (x / 255.0, y))
    dataset.class_names = class_names
    return dataset
