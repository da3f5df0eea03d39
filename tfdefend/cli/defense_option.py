"""`tfdefend train --defense ...`: adversarial training (TRADES, fast-AT, PGD-AT, MART) inside `train_job`."""

import time

import numpy as np

# `tfdefend.training.fit_robust_classifier.DEFENSES` (a test keeps them equal); not imported, so that
# `tfdefend --help` and the refusals answer before TensorFlow starts.
DEFENSE_CHOICES = ("none", "trades", "fast-at", "pgd-at", "mart")
GUARD_STEPS = 10
EVAL_STEPS = 20


def add_defense_arguments(parser):
    """The `--defense` options of `tfdefend train`."""
    parser.add_argument("--defense", default="none", choices=DEFENSE_CHOICES,
                        help="adversarial training of a classifier: trades (Zhang et al. 2019), fast-at (FGSM "
                             "from a random start, one-cycle rate, catastrophic-overfitting guard; Wong et al. "
                             "2020), pgd-at (PGD-10, Madry et al. 2018), mart (Wang et al. 2020)")
    parser.add_argument("--eps", type=float, default=None,
                        help="with --defense: L-inf budget of the training attack (default: the data set's "
                             "usual budget, 0.1 for Fashion-MNIST)")
    parser.add_argument("--beta", type=float, default=None, help="with --defense trades/mart: weight of the "
                        "robust term (default 6)")
    parser.add_argument("--attack-steps", type=int, default=None, help="with --defense trades/mart/pgd-at: "
                        "inner attack steps (default 10)")
    parser.add_argument("--guard-images", type=int, default=1000, help="with --defense: training images held "
                        "out (not trained on) to measure PGD-10 accuracy after every epoch; fast-at stops and "
                        "rolls back when it falls 20 points below its best")


def defense_kwargs(args):
    """`train_job` keyword arguments of the `--defense` options."""
    return {"defense": args.defense, "eps": args.eps, "beta": args.beta, "attack_steps": args.attack_steps,
            "guard_images": args.guard_images}


def check_defense(defense, kind, eps, beta, attack_steps, guard_images):
    """Refuses `--defense` options that do not apply (a ValueError naming the option), before any work."""
    from tfdefend.training.fit_robust_classifier import check_defense_arguments
    from tfdefend.utils.validation import check_eps, check_positive_int

    if defense not in DEFENSE_CHOICES:
        raise ValueError(f"`defense` must be one of {list(DEFENSE_CHOICES)}, got {defense!r}.")
    if defense == "none":
        for name, value in (("eps", eps), ("beta", beta), ("attack_steps", attack_steps)):
            if value is not None:
                raise ValueError(f"`{name}` applies to adversarial training only; give `defense` too.")
        return
    if kind != "classifier":
        raise ValueError(f"`defense` trains classifiers; this model is a {kind}.")
    check_defense_arguments(defense, beta, attack_steps)
    if eps is not None:
        check_eps(eps, allow_zero=False)
    check_positive_int(guard_images, "guard_images")


def hold_out(x, y, n):
    """Splits the last `n` training images off as the guard's held-out batch."""
    if n >= len(x):
        raise ValueError(f"`guard_images` must be below the number of training images ({len(x)}), got {n}.")
    return (x[:-n], y[:-n]), (x[-n:], y[-n:])


def fit_defended(net, train_data, guard_data, *, defense, eps, beta, attack_steps, epochs, batch_size,
                 learning_rate, seed, validation_data, callbacks, verbose):
    """Trains `net` with `defense`; returns `(history, info)` (the per-epoch PGD curve, the guard, the speed)."""
    from tfdefend.training import RobustAccuracyGuard, train_robust_classifier

    guard = RobustAccuracyGuard(*guard_data, eps=eps, steps=GUARD_STEPS,
                                drop=0.2 if defense == "fast-at" else None, seed=seed)
    start = time.perf_counter()
    history, trainer = train_robust_classifier(
        net, train_data, defense=defense, eps=eps, beta=beta, steps=attack_steps, epochs=epochs,
        batch_size=batch_size, learning_rate=learning_rate, seed=seed, validation_data=validation_data,
        callbacks=[guard, *callbacks], verbose=verbose)  # the guard first: the backup saves what it restored
    seconds = time.perf_counter() - start
    steps = int(trainer.optimizer.iterations.numpy())
    info = {"defense": defense, "eps": eps, "attack_steps": getattr(trainer, "steps", None),
            "beta": getattr(trainer, "beta", None), "guard_images": int(len(guard_data[0])),
            "guard_triggered": guard.triggered,
            "train_images_per_second": round(steps * batch_size / max(seconds, 1e-9), 1) if steps else None}
    return history, info


def pgd_quality(net, x_test, y_test, eps, seed):
    """PGD-20 (L-inf, step 2.5 eps / 20, random start) accuracy on the whole test split."""
    from tfdefend.attacks import pgd
    from tfdefend.evaluation import accuracy

    correct = 0
    for i in range(0, len(x_test), 1000):
        x, y = x_test[i:i + 1000], y_test[i:i + 1000]
        x_adv = pgd(net, x, y, eps=eps, step_size=2.5 * eps / EVAL_STEPS, steps=EVAL_STEPS, random_start=True,
                    seed=seed)
        correct += accuracy(net, np.asarray(x_adv), y) * len(x)
    return {"pgd_accuracy": correct / len(x_test), "pgd_eps": eps, "pgd_steps": EVAL_STEPS,
            "pgd_examples": len(x_test)}
