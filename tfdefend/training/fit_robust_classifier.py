"""`train_robust_classifier`: adversarial training of a classifier by name (TRADES, fast-AT, PGD-AT, MART).

Formerly `fit_robust_classifier`. `robust_trainer` builds the trainer (a keras.Model wrapper) without
training it.
"""

import keras

from tfdefend.training.adversarial_training import AdversarialTraining
from tfdefend.training.fit_classifier import fit_inputs
from tfdefend.training.mart import MART
from tfdefend.training.one_cycle_schedule import OneCycleSchedule
from tfdefend.training.trades import TRADES
from tfdefend.utils.deprecation import deprecated_alias
from tfdefend.utils.validation import check_eps, check_float, check_positive_int

DEFENSES = ("trades", "fast-at", "pgd-at", "mart")
DEFENSE_TITLES = {"trades": "TRADES (Zhang et al. 2019)", "fast-at": "fast adversarial training (Wong et al. 2020)",
                  "pgd-at": "PGD adversarial training (Madry et al. 2018)", "mart": "MART (Wang et al. 2020)"}


def robust_trainer(defense, classifier, *, eps, beta=None, steps=None, seed=None):
    """The trainer of `defense` around `classifier` (L-inf, images in [0, 1]).

    - "trades": `TRADES(beta=6, steps=10)`;
    - "mart": `MART(beta=6, steps=10)`;
    - "pgd-at": `AdversarialTraining(attack="pgd", steps=10, ratio=1)` (Madry et al.);
    - "fast-at": `AdversarialTraining(attack="fgsm", random_start=True, ratio=1)`,
      step 1.25 eps (Wong et al.).

    Args:
        defense: One of `DEFENSES`.
        classifier: A `keras.Model` returning logits.
        eps: L-inf budget of the training attack.
        beta: TRADES/MART weight of the robust term (default 6); refused
            for the others.
        steps: Inner attack steps (default 10; fast-AT takes one).
        seed: Seed of the random starts.

    Raises:
        ValueError: If `defense` is unknown or `beta`/`steps` do not apply.
    """
    beta, steps = check_defense_arguments(defense, beta, steps)
    if defense in ("trades", "mart"):
        return (TRADES if defense == "trades" else MART)(classifier, eps=eps, beta=beta, steps=steps, seed=seed)
    if defense == "pgd-at":
        return AdversarialTraining(classifier, attack="pgd", eps=eps, steps=steps, ratio=1.0, seed=seed)
    return AdversarialTraining(classifier, attack="fgsm", eps=eps, random_start=True, ratio=1.0, seed=seed)


def check_defense_arguments(defense, beta=None, steps=None):
    """Checks `robust_trainer`'s `defense`, `beta` and `steps`; returns `(beta, steps)` with the defaults filled in.

    Raises:
        ValueError: If `defense` is unknown or `beta`/`steps` do not apply to it.
        TypeError: If `beta`/`steps` have the wrong type.
    """
    if not isinstance(defense, str) or defense not in DEFENSES:
        raise ValueError(f"`defense` must be one of {list(DEFENSES)}, got {defense!r}.")
    if beta is not None and defense not in ("trades", "mart"):
        raise ValueError(f"`beta` applies to TRADES and MART, not to {defense!r}.")
    if steps is not None and defense == "fast-at":
        raise ValueError("`steps` does not apply to fast-at (one FGSM step from a random start).")
    steps = 10 if steps is None else check_positive_int(steps, "steps")
    if defense in ("trades", "mart"):
        beta = 6.0 if beta is None else check_float(beta, "beta", lo=0.0)
    return beta, steps


def train_robust_classifier(classifier, train_data, *, defense, eps, beta=None, steps=None, epochs=10,
                            batch_size=128, learning_rate=1e-3, seed=None, validation_data=None, callbacks=None,
                            verbose="auto"):
    """Trains `classifier` in place with `defense`'s trainer and `Model.fit`.

    The learning rate (Adam) follows a cosine decay to 0 over training, or
    for "fast-at" the one-cycle schedule of Wong et al. (`OneCycleSchedule`,
    peak `learning_rate` at 40% of the steps). Pass a
    `RobustAccuracyGuard` in `callbacks` for the per-epoch PGD accuracy and,
    with fast-AT, the catastrophic-overfitting stop.

    Args:
        classifier: A `keras.Model` returning logits (trained in place).
        train_data: `(x, y)` arrays or a batched `tf.data.Dataset` with a
            known number of batches.
        defense, eps, beta, steps, seed: See `robust_trainer`.
        epochs, batch_size, learning_rate, validation_data, callbacks,
            verbose: As for `train_classifier`.

    Returns:
        `(history, trainer)`.
    """
    eps = check_eps(eps, allow_zero=False)
    epochs = check_positive_int(epochs, "epochs")
    learning_rate = check_float(learning_rate, "learning_rate", lo=0.0, lo_open=True)
    fit_args, batches = fit_inputs(train_data, batch_size)
    trainer = robust_trainer(defense, classifier, eps=eps, beta=beta, steps=steps, seed=seed)
    total = epochs * batches
    schedule = (OneCycleSchedule(learning_rate, total) if defense == "fast-at"
                else keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=total))
    trainer.compile(optimizer=keras.optimizers.Adam(schedule))
    history = trainer.fit(**fit_args, epochs=epochs, validation_data=validation_data, callbacks=callbacks or [],
                          verbose=verbose)
    return history, trainer


fit_robust_classifier = deprecated_alias(train_robust_classifier, "fit_robust_classifier")
