"""`create_augmentation`: the baseline erasing augmentations by name, sized to the image."""

from tfdefend.augment.cutout import Cutout
from tfdefend.augment.grid_mask import GridMask
from tfdefend.augment.hide_and_seek import HideAndSeek
from tfdefend.augment.random_erasing import random_erasing
from tfdefend.utils.validation import check_int, check_seed

# Names of `create_augmentation`; "advmask" is built by `advmask_dataset` (it needs sensitive points).
AUGMENTATIONS = ("none", "cutout", "random_erasing", "hide_and_seek", "gridmask", "advmask")


def create_augmentation(name, image_shape, *, seed=0):
    """Returns the Keras layer of a baseline augmentation, with its paper's settings scaled to the image.

    * "cutout": one square of half the shorter side (the Cutout paper's 16 px
      at 32 px);
    * "random_erasing": Keras's `RandomErasing` with p = 0.5 and an area of
      2%–40% (Zhong et al.);
    * "hide_and_seek": grid cells of 0, 1/4 or 1/2 the side, each hidden
      with p = 0.5;
    * "gridmask": unit sizes from 1/4 to 1/2 of the side, keep ratio 0.5,
      applied with p = 0.8 (Chen et al.'s CIFAR schedule);
    * "none": None (no augmentation).

    Args:
        name: One of `AUGMENTATIONS` except "advmask".
        image_shape: `(height, width, channels)` of the training images.
        seed: Int seed of the layer's `keras.random.SeedGenerator`.

    Returns:
        A Keras layer (identity unless `training=True`), or None for "none".

    Raises:
        ValueError: Unknown name, "advmask" (use `advmask_dataset`), or an
            image smaller than 4 px.
        TypeError: A non-int seed or a malformed `image_shape`.
    """
    if not isinstance(name, str) or name not in AUGMENTATIONS:
        raise ValueError(f"Unknown augmentation {name!r}; choose one of {', '.join(AUGMENTATIONS)}.")
    if name == "advmask":
        raise ValueError("AdvMask needs each image's sensitive points: build it with `advmask_dataset` "
                         "(masks from `SensitivePointCache`), not `create_augmentation`.")
    if not isinstance(image_shape, (tuple, list)) or len(image_shape) != 3:
        raise TypeError(f"`image_shape` must be (height, width, channels), got {image_shape!r}.")
    side = min(check_int(image_shape[0], "image_shape[0]", minimum=4),
               check_int(image_shape[1], "image_shape[1]", minimum=4))
    seed = check_seed(seed)
    if name == "none":
        return None
    if name == "cutout":
        return Cutout(side // 2, seed=seed)
    if name == "random_erasing":
        return random_erasing(0.5, (0.02, 0.4), seed=seed)
    if name == "hide_and_seek":
        return HideAndSeek((0, side // 4, side // 2), 0.5, seed=seed)
    return GridMask((side // 4, side // 2), 0.5, probability=0.8, seed=seed)
