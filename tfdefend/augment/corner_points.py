"""Harris corner points: the point source of AdvMask's "Corner + Mask" ablation."""

import numbers

import numpy as np
import tensorflow as tf

from tfdefend.utils import validation as V


def corner_points(x, num_points, *, k=0.04, window=3):
    """Binary masks of each image's `num_points` strongest Harris corners.

    AdvMask's ablation "Corner + Mask" (Yang et al., Pattern Recognition
    2023) replaces the sparse attack's sensitive points by corner-detector
    points; passing the masks of this
    function to `AdvMask` reproduces it. The Harris response
    `det(M) - k * trace(M)**2` uses Sobel gradients of the channel-mean image
    and a `window x window` box sum for the structure tensor `M`.

    Args:
        x: Images [N, H, W, C] in [0, 1].
        num_points: Points per image: an int >= 0, or an int array [N] (e.g.
            the sensitive points' l0, so both ablations erase from equally
            many points).
        k: Harris sensitivity (> 0, usually 0.04-0.06).
        window: Side of the summation window (odd int >= 1).

    Returns:
        float32 NumPy masks [N, H, W, 1] of 0/1, exactly `num_points[i]` ones
        per image (ties broken by pixel order).

    Raises:
        TypeError, ValueError: Bad images, counts, `k` or `window`.
    """
    images = V.check_batch_images(x)
    n, height, width = (int(d) for d in images.shape[:3])
    counts = np.asarray(num_points)
    if counts.dtype == object or not np.issubdtype(counts.dtype, np.integer):
        raise TypeError(f"`num_points` must be an int or an int array, got {num_points!r}.")
    counts = np.broadcast_to(counts, (n,)) if counts.ndim == 0 else counts
    if counts.shape != (n,) or (counts.size and counts.min() < 0):
        raise ValueError(f"`num_points` must be >= 0, one per image ({n}), got shape {counts.shape}.")
    counts = np.minimum(counts, height * width)
    if isinstance(window, bool) or not isinstance(window, numbers.Integral) or window < 1 or window % 2 == 0:
        raise ValueError(f"`window` must be an odd int >= 1, got {window!r}.")
    k = V.check_float(k, "k", lo=0.0, lo_open=True)
    gray = tf.reduce_mean(images, axis=-1, keepdims=True)
    edges = tf.image.sobel_edges(gray)[..., 0, :]  # [N, H, W, 2]: d/dy, d/dx
    gy, gx = edges[..., :1], edges[..., 1:]
    box = lambda t: tf.nn.avg_pool2d(t, window, 1, "SAME") * window * window
    sxx, syy, sxy = box(gx * gx), box(gy * gy), box(gx * gy)
    response = tf.reshape(sxx * syy - sxy * sxy - k * tf.square(sxx + syy), [n, -1]).numpy()
    masks = np.zeros((n, height * width), np.float32)
    top = max(int(counts.max(initial=0)), 1)
    order = np.argsort(-response, axis=1, kind="stable")[:, :top]
    for i, c in enumerate(counts):
        masks[i, order[i, :c]] = 1.0
    return masks.reshape(n, height, width, 1)
