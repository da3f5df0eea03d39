"""Layer 3: information-dropping augmentations as Keras layers and `tf.data` pipelines.

* `Cutout`, `GridMask`, `HideAndSeek`, `AdvMask`: Keras layers, identity
  unless called with `training=True` (Keras passes it inside `fit`), seeded
  with a `keras.random.SeedGenerator`, batched, usable in a model or a
  `tf.data` map.
* `RandomErasing` is Keras's own `keras.layers.RandomErasing`;
  `random_erasing` configures it with the paper's fixed probability.
* `sensitive_points` (AdvMask's sparse attack with the normalized loss),
  `SensitivePointCache` (computes them once, caches them on disk),
  `corner_points` (Harris corners, for the "Corner + Mask" ablation).
* `create_augmentation(name, image_shape)`: a baseline by name, sized to
  the image (what `tfdefend train --augment` uses).
* `advmask_dataset` / `augmented_dataset`: `tf.data` pipelines so training
  is plain `model.fit(dataset)`.
"""

from tfdefend.augment.adv_mask import AdvMask
from tfdefend.augment.advmask_dataset import advmask_dataset, augmented_dataset
from tfdefend.augment.corner_points import corner_points
from tfdefend.augment.create_augmentation import AUGMENTATIONS, create_augmentation
from tfdefend.augment.cutout import Cutout
from tfdefend.augment.grid_mask import GridMask
from tfdefend.augment.hide_and_seek import HideAndSeek
from tfdefend.augment.random_erasing import RandomErasing, random_erasing
from tfdefend.augment.sensitive_point_cache import SensitivePointCache
from tfdefend.augment.sensitive_points import sensitive_points

__all__ = [
    "AUGMENTATIONS",
    "AdvMask",
    "Cutout",
    "GridMask",
    "HideAndSeek",
    "RandomErasing",
    "SensitivePointCache",
    "advmask_dataset",
    "augmented_dataset",
    "corner_points",
    "create_augmentation",
    "random_erasing",
    "sensitive_points",
]
