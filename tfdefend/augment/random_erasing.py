"""Random Erasing (Zhong et al., 2017) is Keras's own `keras.layers.RandomErasing`.

Keras 3 ships the layer, so tfdefend re-exports it (`tfdefend.augment.RandomErasing`
is `keras.layers.RandomErasing`) and only adds `random_erasing`, which sets
it up with the paper's meaning of its arguments for images in [0, 1].

Differences from the paper worth knowing (Keras 3.15's implementation):
* `factor=p` draws each image's erasing probability from [0, p]; the paper's
  fixed probability p is `factor=(p, p)` (what `random_erasing` passes).
* `scale=(lo, hi)` draws the height and width fractions independently as
  `sqrt(U(lo, hi))`, so the area is `lo..hi` of the image on average but the
  aspect ratio is not drawn from the paper's [0.3, 1/0.3].
* `fill_value=None` fills with `N(0, 1) * value_range[1]` clipped to
  `value_range` (the paper: uniform random values).
* Like all Keras preprocessing layers it is active by default (`training`
  defaults to True in its `call`); inside `fit`/`predict` Keras passes the
  right flag, so it is identity at inference.
"""

import keras

from tfdefend.utils.validation import check_float, check_pair, check_seed

RandomErasing = keras.layers.RandomErasing


def random_erasing(probability=0.5, area=(0.02, 0.4), *, fill_value=None, value_range=(0.0, 1.0), seed=None,
                   **kwargs):
    """A `keras.layers.RandomErasing` with the paper's fixed probability, for [0, 1] images.

    Args:
        probability: Chance that an image gets one erased rectangle, in [0, 1]
            (paper: 0.5).
        area: `(min, max)` erased area fraction, in [0, 1] (paper: 0.02-0.4).
        fill_value: A number, or None for Keras's random fill.
        value_range: `(low, high)` range of the images.
        seed: Int seed of the layer's generator.
        **kwargs: Passed to `keras.layers.RandomErasing` (e.g. `name`).

    Returns:
        A `keras.layers.RandomErasing`.

    Raises:
        TypeError: Non-numeric arguments.
        ValueError: `probability` or `area` outside [0, 1], `area` min > max.
    """
    probability = check_float(probability, "probability", lo=0.0, hi=1.0)
    area = check_pair(area, "area", check_float, lo=0.0, hi=1.0)
    value_range = check_pair(value_range, "value_range", check_float)
    return RandomErasing(factor=(probability, probability), scale=area, fill_value=fill_value,
                         value_range=value_range, seed=check_seed(seed), **kwargs)
