"""The L2 Square Attack's perturbations (Andriushchenko et al., ECCV 2020): pseudo-gaussian squares.

Private to `tfdefend.attacks.square`. Every function works in float64 NumPy
on NHWC batches and takes a `numpy.random.Generator`, so a seeded attack
repeats exactly.
"""

import math

import numpy as np

_TINY = 1e-12


def pseudo_gaussian(rows, cols):
    """A [rows, cols] bump of unit L2 norm, highest at the centre.

    Concentric rectangles `k = 0, 1, ...` around the centre pixel
    `(rows // 2, cols // 2)` each add `1 / (k + 1)^2` to the pixels they
    cover, so a pixel at Chebyshev distance `d` from the centre holds
    `sum_{k >= d} 1 / (k + 1)^2`.
    """
    if rows == 0 or cols == 0:
        return np.zeros((rows, cols))
    rings = max(rows // 2, cols // 2) + 1
    tail = np.cumsum((1.0 / np.arange(1, rings + 1) ** 2)[::-1])[::-1]  # tail[d] = sum_{k >= d} 1/(k+1)^2
    distance = np.maximum(np.abs(np.arange(rows) - rows // 2)[:, None],
                          np.abs(np.arange(cols) - cols // 2)[None, :])
    bump = tail[distance]
    return bump / np.sqrt(np.sum(bump ** 2))


def meta_pseudo_gaussian(side, transpose=False):
    """A [side, side] square of unit L2 norm: a bump on its upper half, a negated bump on its lower half.

    With `transpose`, the halves are left and right instead.
    """
    top = side // 2
    square = np.concatenate([pseudo_gaussian(top, side), -pseudo_gaussian(side - top, side)], axis=0)
    square /= np.sqrt(np.sum(square ** 2))
    return square.T if transpose else square


def side_of(fraction, height, width):
    """The proposal's square side: `round(sqrt(fraction * H * W))`, at least 3, odd, at most `min(H, W)`."""
    side = max(int(round(math.sqrt(fraction * height * width))), 3)
    side += 1 - side % 2
    return min(side, height, width)


def initial_perturbation(shape, eps, rng):
    """The paper's L2 start: a grid of meta pseudo-gaussian squares with random signs, of L2 norm `eps`.

    The squares have side `min(H, W) // 5` (at least 1) and tile the
    centre of the image; each gets a random sign per image and channel,
    and each square's orientation (upper/lower or left/right halves) is
    drawn once for the batch.

    Args:
        shape: The batch shape [N, H, W, C].
        eps: The L2 norm of every image's perturbation.
        rng: A `numpy.random.Generator`.

    Returns:
        A float64 array of `shape`.
    """
    n, height, width, channels = shape
    side = max(min(height, width) // 5, 1)
    tiles_h, tiles_w = height // side, width // side
    top0, left0 = (height - tiles_h * side) // 2, (width - tiles_w * side) // 2
    delta = np.zeros(shape)
    for i in range(tiles_h):
        for j in range(tiles_w):
            square = meta_pseudo_gaussian(side, transpose=rng.random() < 0.5)
            signs = rng.choice([-1.0, 1.0], size=(n, 1, 1, channels))
            top, left = top0 + i * side, left0 + j * side
            delta[:, top:top + side, left:left + side, :] = square[None, :, :, None] * signs
    return delta * (eps / np.maximum(_l2(delta), _TINY))


def propose(current, x, side, eps, lo, hi, rng):
    """One L2 random-search step per image: the mass of two windows moved into a new square.

    For each image two `side x side` windows are drawn: the new one (where
    the new square goes) and a second one. Per channel, the perturbation
    inside the new window, normalized, plus a meta pseudo-gaussian square
    of random sign (and orientation) replaces both windows; it is scaled
    so that it carries the L2 mass the two windows held plus an equal share
    of the budget left unused (`eps^2 - ||delta||^2`, split over the
    channels). The whole perturbation is then rescaled to L2 norm `eps` and
    the point clipped into `[lo, hi]` (which can only shrink it).

    Args:
        current: The current points [N, H, W, C].
        x: The clean images [N, H, W, C].
        side: The windows' side.
        eps: The L2 budget.
        lo: Smallest valid pixel value.
        hi: Largest valid pixel value.
        rng: A `numpy.random.Generator`.

    Returns:
        The proposals, float32, of `x`'s shape.
    """
    x = x.astype(np.float64)
    delta = current.astype(np.float64) - x
    n, height, width, channels = delta.shape
    top, left, new_window = random_windows(n, height, width, side, rng)
    union = new_window | random_windows(n, height, width, side, rng)[2]
    old = delta * new_window
    available = np.maximum(eps ** 2 - _l2(delta) ** 2, 0.0) / channels + _channel_l2(delta * union) ** 2
    square = _place(top, left, height, width, side, rng) * rng.choice([-1.0, 1.0], size=(n, 1, 1, channels))
    update = square * new_window + old / (1e-10 + _channel_l2(old))
    update *= np.sqrt(available) / np.maximum(_channel_l2(update), _TINY)
    delta = np.where(union, 0.0, delta) + update
    delta *= eps / np.maximum(_l2(delta), _TINY)
    return np.clip(x + delta, lo, hi).astype(np.float32)


def _l2(delta):
    """Per-image L2 norm, shaped [N, 1, 1, 1]."""
    return np.sqrt(np.sum(delta ** 2, axis=(1, 2, 3), keepdims=True))


def _channel_l2(delta):
    """Per-image, per-channel L2 norm, shaped [N, 1, 1, C]."""
    return np.sqrt(np.sum(delta ** 2, axis=(1, 2), keepdims=True))


def random_windows(n, height, width, side, rng):
    """`(top, left, mask)`: one random `side x side` window per image; mask is bool [N, H, W, 1]."""
    top = rng.integers(0, height - side + 1, size=n)
    left = rng.integers(0, width - side + 1, size=n)
    rows = np.arange(height)[None, :, None]
    cols = np.arange(width)[None, None, :]
    mask = ((rows >= top[:, None, None]) & (rows < (top + side)[:, None, None])
            & (cols >= left[:, None, None]) & (cols < (left + side)[:, None, None]))
    return top, left, mask[..., None]


def _place(top, left, height, width, side, rng):
    """[N, H, W, 1]: each image's meta pseudo-gaussian square (random orientation) at its window.

    Outside the window the values are meaningless; multiply by the mask.
    """
    n = len(top)
    square = meta_pseudo_gaussian(side)
    squares = np.where((rng.random(n) < 0.5)[:, None, None], square.T[None], square[None])
    rows = np.clip(np.arange(height)[None, :, None] - top[:, None, None], 0, side - 1)
    cols = np.clip(np.arange(width)[None, None, :] - left[:, None, None], 0, side - 1)
    return squares[np.arange(n)[:, None, None], rows, cols][..., None]
