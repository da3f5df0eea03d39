"""`chain_choices`: what an RL denoiser chain does, clean and under FGSM of each strength."""

import numpy as np

from tfdefend.attacks import fgsm
from tfdefend.evaluation.metrics import accuracy
from tfdefend.utils.validation import check_positive_int


def _batched(fn, x, batch_size):
    return np.concatenate([np.asarray(fn(x[i:i + batch_size])) for i in range(0, len(x), batch_size)])


def chain_choices(chain, classifier, x, y, strengths, *, top=8, batch_size=500):
    """Accuracy through `chain` and the tool chains it picks, clean and under FGSM at each strength.

    The FGSM images are crafted on the bare `classifier` (oblivious attack).

    Args:
        chain: An `RLDenoiserChain` (its `choose` and `toolbox.tool_names` are used).
        classifier: The classifier (logits) behind the chain.
        x: Images [N, H, W, C] in [0, 1].
        y: Int labels [N].
        strengths: FGSM strengths in 1/255 units, e.g. (1, 2, 4, 8, 16).
        top: How many of the most frequent chains to report per attack.
        batch_size: Images per call.

    Returns:
        A dict "clean" and f"fgsm{s}" -> {"undefended_accuracy",
        "defended_accuracy", "mean_tools" (tools applied per image), "chains"
        (the `top` most frequent chains as "tool+tool" strings, "stop" for
        none, -> share of the images)}.
    """
    top = check_positive_int(top, "top")
    batch_size = check_positive_int(batch_size, "batch_size")
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y)
    names = list(chain.toolbox.tool_names)
    out = {}
    for key, eps in [("clean", 0.0)] + [(f"fgsm{s:g}", s / 255) for s in strengths]:
        x_in = x
        if eps:
            x_in = np.concatenate([np.asarray(fgsm(classifier, x[i:i + batch_size], y[i:i + batch_size], eps=eps))
                                   for i in range(0, len(x), batch_size)])
        actions = _batched(chain.choose, x_in, batch_size)
        denoised = _batched(lambda xb: chain(xb, training=False), x_in, batch_size)
        used = (actions >= 0) & (actions < len(names))
        paths = ["+".join(names[a] for a in row if 0 <= a < len(names)) or "stop" for row in actions]
        values, counts = np.unique(paths, return_counts=True)
        order = np.argsort(-counts, kind="stable")[:top]
        out[key] = {"undefended_accuracy": accuracy(classifier, x_in, y),
                    "defended_accuracy": accuracy(classifier, denoised, y),
                    "mean_tools": float(np.mean(np.sum(used, axis=1))),
                    "chains": {str(values[i]): float(counts[i] / len(paths)) for i in order}}
    return out
