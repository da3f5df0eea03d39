"""`train_denoiser_toolbox`: trains each tool of a denoiser toolbox on adversarial pairs of its strength."""

import keras
import numpy as np

from tfdefend.training.adversarial_pairs import _attack_fn
from tfdefend.training.guided_denoiser_training import GuidedDenoiserTraining
from tfdefend.training.resumable import TrainingBackup
from tfdefend.utils.validation import (
    check_batch_images,
    check_float,
    check_labels,
    check_non_negative_float,
    check_positive_float,
    check_positive_int,
    check_seed,
)

_GUIDANCES = ("pixels", "logits")


def _check_toolbox(toolbox):
    """Checks the `DenoiserToolbox` interface; returns `(tools, names, strength of each tool)`."""
    tools = getattr(toolbox, "tools", None)
    strengths = getattr(toolbox, "strengths", None)
    depths = getattr(toolbox, "depths", None)
    if not isinstance(toolbox, keras.Model) or tools is None or strengths is None or depths is None:
        raise TypeError("`toolbox` must be a DenoiserToolbox (a keras.Model with `tools`, `strengths` and "
                        f"`depths`), got {type(toolbox).__name__}.")
    tools, strengths, depths = list(tools), tuple(strengths), tuple(depths)
    if not tools or len(tools) != len(strengths) * len(depths):
        raise ValueError(f"`toolbox` has {len(tools)} tools, expected len(strengths) * len(depths) = "
                         f"{len(strengths)} * {len(depths)}.")
    for k, tool in enumerate(tools):
        if not isinstance(tool, keras.Model):
            raise TypeError(f"`toolbox.tools[{k}]` must be a keras.Model, got {type(tool).__name__}.")
    names = list(getattr(toolbox, "tool_names", None) or [tool.name for tool in tools])
    # Tools are strength-major: [s1_d1, s1_d2, ..., s2_d1, ...].
    tool_strengths = [float(strengths[k // len(depths)]) for k in range(len(tools))]
    return tools, names, tool_strengths


def _attack_all(attack_fn, classifier, x, y, eps, chunk_size=256):
    """Attacks `x` in chunks (so that at most two shapes are traced) at L-inf budget `eps`."""
    out = np.empty_like(x)
    for start in range(0, len(x), chunk_size):
        stop = min(start + chunk_size, len(x))
        labels = None if y is None else y[start:stop]
        out[start:stop] = np.asarray(attack_fn(classifier, x[start:stop], labels, eps))
    return out


def _with_clean_rows(x_adv, x, clean_fraction, seed):
    """`x_adv` with a random `clean_fraction` of its rows (seeded by `seed`) put back to the clean `x`."""
    if clean_fraction == 0.0:
        return x_adv
    rows = np.random.default_rng(seed).random(len(x)) < clean_fraction
    x_adv[rows] = x[rows]
    return x_adv


def train_denoiser_toolbox(toolbox, classifier, x, y=None, *, epochs=1, batch_size=64, learning_rate=1e-3,
                           guidance="pixels", pixel_weight=0.0, attack="fgsm", clean_fraction=0.0, seed=0,
                           verbose=0, backup_dir=None, backup_every_steps=None):
    """Trains every tool of `toolbox` to undo attacks of its own strength against `classifier`.

    Tool k (strength `s`, in 1/255 units) is trained on pairs
    `(attack(classifier, x, y, eps=s/255), x)`, the adversarial images made
    once per strength (and shared by the tools of that strength):

    * `guidance="pixels"`: the tool's own loss (pixel MSE to the clean
      image): `tool.compile(Adam(learning_rate))`, `tool.fit(x_adv, x)`.
    * `guidance="logits"`: the logit-guided loss of HGD/UDDN
      (`GuidedDenoiserTraining`: L1 between the classifier's logits on the
      denoised and on the clean image, plus `pixel_weight` times pixel L1).

    With `clean_fraction > 0` that fraction of each strength's pairs (a
    seeded random subset, drawn once per strength) is `(x, x)`: the tool
    also learns the identity on clean images, so that one applied to a clean
    image changes it little (the RL chain then loses little when its agent
    picks a tool for a clean image). The number of training steps is the
    same: clean pairs replace adversarial ones.

    The classifier is only attacked and called in inference mode; its
    weights and its `trainable` flag are unchanged on return.

    Args:
        toolbox: A `DenoiserToolbox` (its `tools` are trained in place).
        classifier: The target classifier (a `keras.Model` returning logits).
        x: Clean training images [N, H, W, C] in [0, 1].
        y: Int labels [N] (default: the classifier's predictions).
        epochs: Epochs per tool (>= 1).
        batch_size: Batch size (>= 1).
        learning_rate: Adam learning rate (> 0).
        guidance: "pixels" or "logits".
        pixel_weight: Weight of the extra pixel L1 term with "logits" (>= 0).
        attack: "fgsm", "bim" or a registry pair such as `("bim", {"steps": 4})`
            (I-FGSM with 4 steps; the old "ifgsm4" still works for one
            release, with a DeprecationWarning).
        clean_fraction: Fraction in [0, 1) of each tool's pairs that are
            clean identity pairs `(x, x)`.
        seed: Int seed (>= 0) of Keras' shuffling and initializers.
        verbose: Passed to `fit`.
        backup_dir: Optional backup folder (`TrainingBackup`): each tool's
            `fit` backs up there after every epoch (and every
            `backup_every_steps` steps) and each trained tool is saved, so
            that calling this again with the same arguments after a kill
            skips the trained tools and resumes the unfinished one. The
            folder is kept: delete it once the toolbox is saved.
        backup_every_steps: Also back up every this many steps (>= 1).

    Returns:
        A dict `tool name -> fit history dict` (e.g. `{"loss": [...]}`), in
        the toolbox's order.

    Raises:
        TypeError: If `toolbox` or `classifier` has the wrong type, or an
            argument has the wrong type.
        ValueError: Bad images, labels, sizes, `guidance` or `attack`.
    """
    tools, names, tool_strengths = _check_toolbox(toolbox)
    if not isinstance(classifier, keras.Model):
        raise TypeError(f"`classifier` must be a keras.Model, got {type(classifier).__name__}.")
    if any(classifier is tool for tool in tools) or classifier is toolbox:
        raise ValueError("`classifier` must not be the toolbox or one of its tools.")
    x = check_batch_images(x, name="x").numpy()
    y = None if y is None else check_labels(y, len(x), name="y").numpy()
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    learning_rate = check_positive_float(learning_rate, "learning_rate")
    pixel_weight = check_non_negative_float(pixel_weight, "pixel_weight")
    if guidance not in _GUIDANCES:
        raise ValueError(f"`guidance` must be one of {list(_GUIDANCES)}, got {guidance!r}.")
    attack_fn = _check_attack(attack)
    clean_fraction = check_float(clean_fraction, "clean_fraction", lo=0.0, hi=1.0, hi_open=True)
    seed = check_seed(seed)
    if seed is not None:
        keras.utils.set_random_seed(seed)

    backup = TrainingBackup(backup_dir, every_steps=backup_every_steps)
    classifier_trainable = classifier.trainable
    adversarial = {}
    histories = {}
    try:
        for k, (tool, name, strength) in enumerate(zip(tools, names, tool_strengths)):
            phase = f"tool_{k:02d}"
            if backup.is_done(phase):
                loaded = backup.load_phase(phase, models={"tool": tool}, name=f"tool {name}")
                histories[name] = loaded["history"]
                continue
            if strength not in adversarial:
                adversarial[strength] = _with_clean_rows(
                    _attack_all(attack_fn, classifier, x, y, strength / 255.0), x, clean_fraction,
                    (seed or 0, len(adversarial)))
            histories[name] = _train_tool(
                tool, classifier, adversarial[strength], x, guidance=guidance, pixel_weight=pixel_weight,
                learning_rate=learning_rate, epochs=epochs, batch_size=batch_size, verbose=verbose,
                callbacks=backup.callbacks(phase, name=f"tool {name}"))
            backup.save_phase(phase, models={"tool": tool}, info={"history": histories[name]})
    finally:
        classifier.trainable = classifier_trainable
    return histories


def _check_attack(attack):
    """The attack function of `attack` (a name or a (name, kwargs) pair); TypeError/ValueError otherwise."""
    if not isinstance(attack, (str, tuple, list)):
        raise TypeError(f"`attack` must be an attack name such as 'fgsm' or a pair such as "
                        f"('bim', {{'steps': 4}}), got {type(attack).__name__}.")
    try:
        return _attack_fn(attack, argument="attack")
    except ValueError:
        raise ValueError(f"`attack` must be 'fgsm', 'bim' or a pair such as ('bim', {{'steps': 4}}), "
                         f"got {attack!r}.") from None


def _train_tool(tool, classifier, x_adv, x, *, guidance, pixel_weight, learning_rate, epochs, batch_size,
                verbose, callbacks):
    """Fits one tool on the pairs `(x_adv, x)` with its own loss or the logit-guided one; returns the history.

    The history is the backup callback's (it spans restarts) when
    `callbacks` holds one, else this `fit`'s.
    """
    optimizer = keras.optimizers.Adam(learning_rate)
    if guidance == "pixels":
        tool.compile(optimizer=optimizer)
        trainer = tool
    else:
        trainer = GuidedDenoiserTraining(tool, classifier, guidance_weight=1.0, pixel_weight=pixel_weight)
        trainer.compile(optimizer=optimizer)
    history = trainer.fit(x_adv, x, epochs=epochs, batch_size=batch_size, shuffle=True, callbacks=callbacks,
                          verbose=verbose)
    if trainer is tool:  # detach the optimizer: a saved toolbox holds weights only
        tool.optimizer = None
        tool.compiled = False
    return callbacks[0].history if callbacks else history.history
