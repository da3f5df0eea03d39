"""`chain_choices`: what an RL denoiser chain does, clean and under FGSM of each strength."""

import collections

import numpy as np

from tfdefend.attacks import fgsm
from tfdefend.evaluation.batching import as_data, iterate_batches
from tfdefend.evaluation.metrics import predict_labels
from tfdefend.utils.validation import check_positive_int


def chain_choices(chain, classifier, x, y, strengths, *, top=8, batch_size=500, limit=None):
    """Accuracy through `chain` and the tool chains it picks, clean and under FGSM at each strength.

    The FGSM images are crafted on the bare `classifier` (oblivious attack).
    The data are streamed once, batch by batch: only counts are kept (one
    counter per distinct chain), so a dataset of any length works.

    Args:
        chain: An `RLDenoiserChain` (its `choose` and `toolbox.tool_names` are used).
        classifier: The classifier (logits) behind the chain.
        x: Images [N, H, W, C] in [0, 1]; or, with `y=None`, a
            `tf.data.Dataset` of `(x, y)` (batched or not) or an `(x, y)` pair.
        y: Int labels [N], or None when `x` holds them.
        strengths: FGSM strengths in 1/255 units, e.g. (1, 2, 4, 8, 16).
        top: How many of the most frequent chains to report per attack.
        batch_size: Images per call.
        limit: Use at most this many images.

    Returns:
        A dict "clean" and f"fgsm{s}" -> {"undefended_accuracy",
        "defended_accuracy", "mean_tools" (tools applied per image),
        "stop_at_once" (share of the images whose first action is "stop"), "chains"
        (the `top` most frequent chains as "tool+tool" strings, "stop" for
        none, -> share of the images; ties in alphabetical order)}.

    Raises:
        ValueError: Bad `top`/`batch_size`, or no images.
    """
    top = check_positive_int(top, "top")
    batch_size = check_positive_int(batch_size, "batch_size")
    names = list(chain.toolbox.tool_names)
    settings = [("clean", 0.0)] + [(f"fgsm{s:g}", s / 255) for s in strengths]
    sums = {key: {"undefended": 0, "defended": 0, "tools": 0, "stopped": 0, "chains": collections.Counter()}
            for key, _ in settings}
    n = 0
    for xb, yb in iterate_batches(as_data(x, y), batch_size, limit):
        n += len(yb)
        for key, eps in settings:
            x_in = np.asarray(fgsm(classifier, xb, yb, eps=eps)) if eps else xb
            actions = np.asarray(chain.choose(x_in))
            denoised = np.asarray(chain(x_in, training=False))
            acc = sums[key]
            acc["undefended"] += int(np.sum(predict_labels(classifier, x_in) == yb))
            acc["defended"] += int(np.sum(predict_labels(classifier, denoised) == yb))
            acc["tools"] += int(np.sum((actions >= 0) & (actions < len(names))))
            acc["stopped"] += int(np.sum(actions[:, 0] == len(names)))
            acc["chains"].update("+".join(names[a] for a in row if 0 <= a < len(names)) or "stop"
                                 for row in actions)
    if n == 0:
        raise ValueError("`x` holds no images.")
    out = {}
    for key, _ in settings:
        acc = sums[key]
        ranked = sorted(acc["chains"].items(), key=lambda item: (-item[1], item[0]))[:top]
        out[key] = {"undefended_accuracy": acc["undefended"] / n,
                    "defended_accuracy": acc["defended"] / n,
                    "mean_tools": acc["tools"] / n,
                    "stop_at_once": acc["stopped"] / n,
                    "chains": {path: count / n for path, count in ranked}}
    return out
