"""Colour data that ships inside packages: patches of natural photos, and foolbox's colour samples.

Nothing colour and labelled at scale can be had offline here (no CIFAR,
no flowers), so colour training uses the task the photos allow: *which
photo does a 32x32 patch come from?* Nine real photos bundled with
scikit-image and scikit-learn are the nine classes. Each photo is resized
so its shorter side is `PHOTO_SIDE` pixels and cut in two disjoint
regions, the left 70% of its columns for training and the right 30% for
testing, so no test pixel was ever seen in training. Patches are taken on
a 4-pixel grid inside each region, then a fixed number per class is
drawn with a fixed seed, so the data set is the same on every machine.

`colour_samples()` reads the 20 CIFAR-10 images shipped in the foolbox
wheel (evaluation and figures only: their classes are CIFAR's).
"""

import importlib.util
import os

import numpy as np

from tfdefend.utils.validation import check_positive_int

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry", "retina",
          "china", "flower")
PATCH = 32
PHOTO_SIDE = 160
STRIDE = 4
TEST_FRACTION = 0.3
PER_CLASS = {"train": 600, "test": 150}
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _photo(name):
    """One bundled photo as uint8 [H, W, 3]."""
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return np.asarray(load_sample_image(f"{name}.jpg"), dtype=np.uint8)
    import skimage.data

    return np.asarray(getattr(skimage.data, name)(), dtype=np.uint8)[..., :3]


def _resized(image, side):
    from PIL import Image

    height, width = image.shape[:2]
    scale = side / min(height, width)
    size = (max(side, round(width * scale)), max(side, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR), dtype=np.uint8)


def _grid_patches(region):
    """Every PATCH x PATCH window of `region` on a STRIDE grid, [N, PATCH, PATCH, 3]."""
    height, width = region.shape[:2]
    return np.stack([region[top:top + PATCH, left:left + PATCH]
                     for top in range(0, height - PATCH + 1, STRIDE)
                     for left in range(0, width - PATCH + 1, STRIDE)])


def photo_patches():
    """Loads the photo-patch data set as `{"train": (x, y), "test": (x, y)}`, x uint8 [N, 32, 32, 3].

    Returns:
        600 training and 150 test patches per photo (label = index in
        `PHOTOS`), each split shuffled with a fixed seed.
    """
    rng = np.random.default_rng(0)
    parts = {"train": ([], []), "test": ([], [])}
    for label, name in enumerate(PHOTOS):
        image = _resized(_photo(name), PHOTO_SIDE)
        cut = round(image.shape[1] * (1.0 - TEST_FRACTION))
        for split, region in (("train", image[:, :cut]), ("test", image[:, cut:])):
            patches = _grid_patches(region)
            keep = rng.choice(len(patches), size=min(PER_CLASS[split], len(patches)), replace=False)
            parts[split][0].append(patches[np.sort(keep)])
            parts[split][1].append(np.full(len(keep), label, np.int32))
    out = {}
    for split, (images, labels) in parts.items():
        x, y = np.concatenate(images), np.concatenate(labels)
        order = rng.permutation(len(y))
        out[split] = (x[order], y[order])
    return out


def colour_samples(image_size=32):
    """foolbox's 20 CIFAR-10 sample images, float32 [20, size, size, 3] in [0, 1], with CIFAR-10 labels.

    Args:
        image_size: Side the images are resized to (they are 32x32).

    Returns:
        `(images, labels, class_names)`.

    Raises:
        ValueError: If `image_size` is not a positive int.
        FileNotFoundError: If foolbox (in the `test` and `bench` extras) is not installed.
    """
    from PIL import Image

    image_size = check_positive_int(image_size, "image_size")
    # Found, not imported: `import foolbox` imports GitPython, which fails on a machine without `git`.
    spec = importlib.util.find_spec("foolbox")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("The colour samples ship inside the foolbox wheel: pip install foolbox "
                                "(in the `test` and `bench` extras).")
    folder = os.path.join(list(spec.submodule_search_locations)[0], "data")
    names = sorted(n for n in os.listdir(folder) if n.startswith("cifar10_") and n.endswith(".png"))
    images, labels = [], []
    for name in names:
        with Image.open(os.path.join(folder, name)) as image:
            image = image.convert("RGB").resize((image_size, image_size), Image.BILINEAR)
            images.append(np.asarray(image, dtype=np.float32) / 255.0)
        labels.append(int(name.rsplit("_", 1)[1].split(".")[0]))
    return np.stack(images), np.asarray(labels, np.int32), CIFAR10_CLASSES
