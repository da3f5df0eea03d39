"""AdvMask (Yang, Li et al., Pattern Recognition 2023): erase regions grown from sensitive points."""

import keras
import tensorflow as tf

from tfdefend.augment import _base
from tfdefend.augment.grid_mask import GridMask
from tfdefend.utils.validation import check_float, check_image_batch, check_int, check_seed


def _default_size(side, pixels):
    """`pixels` at 32 px (the paper's CIFAR setting) scaled to `side`, at least 1."""
    return tf.maximum(tf.round(tf.cast(side, tf.float32) * (pixels / 32.0)), 1.0)


@keras.saving.register_keras_serializable(package="tfdefend")
class AdvMask(keras.layers.Layer):
    """Erases squares placed on an image's sensitive points (from a sparse adversarial attack).

    Called on `(images, masks)` (or a dict with keys "images" and "masks"),
    where `masks` [B, H, W, 1] marks each image's sensitive points with 1
    (see `sensitive_points` and `SensitivePointCache`); returns the images
    with deletion regions set to `fill_value`. Per image and per call:

    1. `max_regions` candidate points are drawn (with replacement) among the
       sensitive points, each with a square side drawn from [min_size,
       max_size] and a random shift: the square's top-left corner is the
       point minus an offset drawn from [0, side), then moved inside the
       image, so the square always covers the point and never leaves the image;
    2. candidates are accepted in order while the erased area is below
       `min_ratio` of the image (the original code's stopping rule: with the
       defaults, one or two squares), if at most `max_overlap` of the square
       is already erased and the area stays <= `max_ratio` (the first square
       is always accepted);
    3. images with fewer than `min_points` sensitive points get a GridMask
       instead (if `use_fallback`, else they are left unchanged);
    4. the result is applied with probability `probability` (the original
       code ramps it from 0 to 0.8 over training, 0.4 on average).

    With `grow=False` the sensitive points themselves are erased (the
    paper's "Adv" ablation). Identity unless `training=True`.

    Args:
        min_size: Smallest square side in px; None scales the paper's 5 px at
            32 px to the image (4 px at 28 px).
        max_size: Largest square side in px; None scales the paper's 20 px
            (18 px at 28 px). Sides are capped at the image's shorter side.
        min_ratio: Squares are added until this fraction of the image is
            erased, in [0, 1] (paper: 0.03).
        max_ratio: Largest erased fraction, in [0, 1] (paper: 0.5).
        max_overlap: Largest share of a new square that may already be erased.
        max_regions: Candidate squares per image (int >= 1).
        min_points: Fewest sensitive points needed to grow regions (int >= 1).
        grow: Grow regions (True) or erase the bare sensitive points (False).
        use_fallback: Use GridMask on images with too few points.
        fallback_config: Keyword arguments of the fallback `GridMask`.
        probability: Chance that an image is augmented, in [0, 1].
        fill_value: Value of erased pixels.
        seed: Int seed of the layer's `keras.random.SeedGenerator`.
        **kwargs: Passed to `keras.layers.Layer`.

    Raises:
        TypeError: Non-numeric arguments.
        ValueError: Negative sizes, ratios outside [0, 1], a min above its max.
    """

    def __init__(self, min_size=None, max_size=None, min_ratio=0.03, max_ratio=0.5, *, max_overlap=0.1,
                 max_regions=32, min_points=3, grow=True, use_fallback=True, fallback_config=None,
                 probability=1.0, fill_value=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.min_size = None if min_size is None else check_int(min_size, "min_size", minimum=1)
        self.max_size = None if max_size is None else check_int(max_size, "max_size", minimum=1)
        if self.min_size is not None and self.max_size is not None and self.min_size > self.max_size:
            raise ValueError(f"`min_size` ({min_size}) must be <= `max_size` ({max_size}).")
        self.min_ratio = check_float(min_ratio, "min_ratio", lo=0.0, hi=1.0)
        self.max_ratio = check_float(max_ratio, "max_ratio", lo=0.0, hi=1.0)
        if self.min_ratio > self.max_ratio:
            raise ValueError(f"`min_ratio` ({min_ratio}) must be <= `max_ratio` ({max_ratio}).")
        self.max_overlap = check_float(max_overlap, "max_overlap", lo=0.0, hi=1.0)
        self.max_regions = check_int(max_regions, "max_regions", minimum=1)
        self.min_points = check_int(min_points, "min_points", minimum=1)
        self.grow, self.use_fallback = bool(grow), bool(use_fallback)
        self.probability = check_float(probability, "probability", lo=0.0, hi=1.0)
        self.fill_value = check_float(fill_value, "fill_value")
        self.seed = check_seed(seed)
        if fallback_config is not None and not isinstance(fallback_config, dict):
            raise TypeError(f"`fallback_config` must be a dict or None, got {type(fallback_config).__name__}.")
        self.fallback_config = dict(fallback_config or {})
        self.fallback = GridMask(**self.fallback_config, fill_value=0.0, seed=self.seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def build(self, input_shape):
        self.built = True

    # ----------------------------------------------------------------------- inputs

    @staticmethod
    def _split_inputs(inputs):
        if isinstance(inputs, dict):
            missing = {"images", "masks"} - set(inputs)
            if missing:
                raise ValueError(f"AdvMask inputs dict needs keys 'images' and 'masks'; missing {sorted(missing)}.")
            return inputs["images"], inputs["masks"]
        if isinstance(inputs, (tuple, list)) and len(inputs) == 2:
            return inputs
        raise TypeError("AdvMask is called on `(images, masks)` or {'images': ..., 'masks': ...}, "
                        f"got {type(inputs).__name__}.")

    @staticmethod
    def _check_masks(masks, images=None):
        masks = tf.convert_to_tensor(masks)
        if not (masks.dtype.is_floating or masks.dtype.is_integer or masks.dtype == tf.bool):
            raise TypeError(f"`masks` must be numeric or bool, got dtype {masks.dtype.name}.")
        if masks.shape.rank != 4 or masks.shape[-1] not in (1, None):
            raise ValueError(f"`masks` must have shape [batch, height, width, 1], got {tuple(masks.shape)}.")
        if images is not None:
            for axis, what in ((0, "batch size"), (1, "height"), (2, "width")):
                a, b = masks.shape[axis], images.shape[axis]
                if a is not None and b is not None and a != b:
                    raise ValueError(f"`masks` {what} {a} does not match the images' {b} "
                                     f"(masks {tuple(masks.shape)}, images {tuple(images.shape)}).")
        return tf.cast(tf.cast(masks, tf.float32) > 0.5, tf.float32)

    def _seed(self, seed):
        if seed is None:
            return tf.cast(self.seed_generator.next(), tf.int64)
        if isinstance(seed, int) and not isinstance(seed, bool):
            return tf.constant([seed, 0], tf.int64)
        return tf.cast(seed, tf.int64)

    # ----------------------------------------------------------------------- regions

    def sample_regions(self, masks, seed=None):
        """Draws the deletion regions for a batch of sensitive-point masks.

        Args:
            masks: Sensitive points [B, H, W, 1] (nonzero = sensitive).
            seed: None (advance the layer's generator), an int, or a [2] int tensor.

        Returns:
            A dict of tensors: "region" [B, H, W, 1] float 0/1 (erased pixels),
            "points" [B, H, W, 1] float 0/1 (the sensitive points the accepted
            squares were grown from; the points themselves with `grow=False`),
            and "fallback" [B] bool (images that got the GridMask instead).
        """
        masks = self._check_masks(masks)
        shape = tf.shape(masks)
        batch, height, width = shape[0], shape[1], shape[2]
        n_pix = tf.cast(height * width, tf.float32)
        s_pts, s_size, s_off, s_grid, s_apply = _base.split(self._seed(seed), 5)
        flat = tf.reshape(masks, [batch, -1])
        fallback = tf.reduce_sum(flat, axis=1) < float(self.min_points)
        if self.grow:
            region, points = self._grow(flat, batch, height, width, n_pix, (s_pts, s_size, s_off))
        else:
            region, points = masks, masks
        if self.use_fallback:
            grid = self.fallback._erase_mask(shape, s_grid)
            region = tf.where(fallback[:, None, None, None], grid, region)
        else:
            region = tf.where(fallback[:, None, None, None], tf.zeros_like(region), region)
        points = tf.where(fallback[:, None, None, None], tf.zeros_like(points), points)
        apply = (tf.random.stateless_uniform([batch], s_apply) < self.probability)[:, None, None, None]
        region = tf.where(apply, region, tf.zeros_like(region))
        points = tf.where(apply, points, tf.zeros_like(points))
        return {"region": region, "points": points, "fallback": fallback & apply[:, 0, 0, 0]}

    def _grow(self, flat, batch, height, width, n_pix, seeds):
        s_pts, s_size, s_off = seeds
        k = self.max_regions
        side = tf.minimum(height, width)
        lo = _default_size(side, 5) if self.min_size is None else float(self.min_size)
        hi = _default_size(side, 20) if self.max_size is None else float(self.max_size)
        logits = tf.where(flat > 0.5, 0.0, -1e9)
        logits = tf.where(tf.reduce_any(flat > 0.5, axis=1, keepdims=True), logits, tf.zeros_like(logits))
        idx = tf.random.stateless_categorical(logits, k, s_pts, dtype=tf.int32)  # [B, K]
        py, px = tf.cast(idx // width, tf.float32), tf.cast(idx % width, tf.float32)
        sizes = tf.minimum(_base.uniform_int([batch, k], lo, tf.maximum(lo, hi), s_size),
                           tf.cast(side, tf.float32))
        offsets = tf.floor(tf.random.stateless_uniform([2, batch, k], s_off) * sizes)
        top = tf.clip_by_value(py - offsets[0], 0.0, tf.cast(height, tf.float32) - sizes)
        left = tf.clip_by_value(px - offsets[1], 0.0, tf.cast(width, tf.float32) - sizes)
        target, limit = self.min_ratio * n_pix, self.max_ratio * n_pix
        def body(j, union, points):
            size = tf.gather(sizes, j, axis=1)
            square = _base.boxes(height, width, tf.gather(top, j, axis=1), tf.gather(left, j, axis=1), size, size)
            area = tf.reduce_sum(union, axis=[1, 2, 3])
            shared = tf.reduce_sum(square * union, axis=[1, 2, 3])
            sq_area = tf.square(size)
            accept = (area == 0.0) | ((area < target) & (shared <= self.max_overlap * sq_area)
                                      & (area + sq_area - shared <= limit))
            union = tf.where(accept[:, None, None, None], tf.maximum(union, square), union)
            hit = tf.one_hot(tf.gather(idx, j, axis=1), height * width) * tf.cast(accept, tf.float32)[:, None]
            return j + 1, union, tf.maximum(points, hit)

        _, union, points = tf.while_loop(
            lambda j, *_: j < k, body,
            (tf.constant(0), tf.zeros([batch, height, width, 1]), tf.zeros([batch, height * width])))
        return union, tf.reshape(points, [batch, height, width, 1])

    # ----------------------------------------------------------------------- layer API

    def call(self, inputs, training=None):
        images, masks = self._split_inputs(inputs)
        images = check_image_batch(images)
        masks = self._check_masks(masks, images)
        if not training:
            return tf.identity(images)
        region = self.sample_regions(masks)["region"]
        return images * (1.0 - region) + self.fill_value * region

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, dict):
            return input_shape["images"]
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update({
            "min_size": self.min_size, "max_size": self.max_size, "min_ratio": self.min_ratio,
            "max_ratio": self.max_ratio, "max_overlap": self.max_overlap, "max_regions": self.max_regions,
            "min_points": self.min_points, "grow": self.grow, "use_fallback": self.use_fallback,
            "fallback_config": self.fallback_config, "probability": self.probability,
            "fill_value": self.fill_value, "seed": self.seed,
        })
        return config
