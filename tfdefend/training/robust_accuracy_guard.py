"""`RobustAccuracyGuard`: PGD accuracy on a held-out batch during `fit`, and the catastrophic-overfitting stop."""

import keras
import numpy as np

from tfdefend.attacks.pgd import pgd
from tfdefend.utils.validation import (check_batch_images, check_clip, check_eps, check_float, check_labels,
                                       check_norm, check_positive_int, check_seed)

LOG_KEY = "val_pgd_accuracy"


class RobustAccuracyGuard(keras.callbacks.Callback):
    """Measures PGD accuracy on a held-out batch after every epoch; stops when it collapses.

    Fast adversarial training (FGSM from a random start, Wong et al., ICLR
    2020) can suddenly overfit to its single-step attack: accuracy against
    FGSM rises while accuracy against PGD falls to ~0 within an epoch. The
    authors' remedy is to watch PGD accuracy on a training batch and keep
    the model from before the collapse. This callback does that: after
    every epoch (and every `every_steps` batches if given) it attacks the
    classifier on (`x`, `y`) with PGD (`steps` steps of `step_size` from a
    seeded random start), adds the accuracy to the epoch's logs as
    `val_pgd_accuracy` (so `History` and the crash-safe backups keep the
    curve), and remembers the weights of the best check. If the accuracy
    falls more than `drop` below the best, it restores those weights
    (`restore_best`) and stops training; `triggered` then says when.
    With `drop=None` it only records the curve (any adversarial trainer).

    Put it before a backup callback in `callbacks`, so the backup saves the
    restored weights and the logged value. The best weights live in memory:
    a resumed run starts watching afresh.

    The attacked model is `model.classifier` when the trained model has one
    (the `tfdefend.training` trainers), else the model itself.

    Args:
        x: Held-out images `[N, H, W, C]` inside `clip`.
        y: Their integer labels `[N]`.
        eps: PGD budget.
        steps: PGD steps (>= 1).
        step_size: PGD step; None gives `2.5 * eps / steps`.
        norm: "inf" or "l2".
        clip: The valid image range.
        drop: Fall (in [0, 1], absolute accuracy) from the best check that
            counts as a collapse, or None to never stop.
        restore_best: Restore the best check's weights when it stops.
        every_steps: Also check every this many training batches.
        seed: Seed of PGD's random start (the same start at every check).

    Raises:
        TypeError, ValueError: If an argument has the wrong type or value.
    """

    def __init__(self, x, y, *, eps, steps=10, step_size=None, norm="inf", clip=(0.0, 1.0), drop=0.2,
                 restore_best=True, every_steps=None, seed=0):
        super().__init__()
        self.norm = check_norm(norm)
        self.clip = check_clip(clip)
        self.x = check_batch_images(x, clip=self.clip)
        self.y = np.asarray(check_labels(y, int(self.x.shape[0])))
        self.eps = check_eps(eps, norm=self.norm, clip=self.clip, allow_zero=False)
        self.steps = check_positive_int(steps, "steps")
        self.step_size = (2.5 * self.eps / self.steps if step_size is None
                          else check_eps(step_size, name="step_size", norm=self.norm, clip=self.clip,
                                         allow_zero=False))
        self.drop = None if drop is None else check_float(drop, "drop", lo=0.0, hi=1.0)
        if not isinstance(restore_best, bool):
            raise TypeError(f"`restore_best` must be a bool, got {type(restore_best).__name__}.")
        self.restore_best = restore_best
        self.every_steps = None if every_steps is None else check_positive_int(every_steps, "every_steps")
        self.seed = check_seed(seed)
        self.history = []  # (epoch, batch or None, PGD accuracy) of every check
        self.best_accuracy = None
        self.best_weights = None
        self.triggered = None  # {"epoch", "batch", "accuracy", "best_accuracy"} once it stopped training
        self._epoch = 0

    def _classifier(self):
        return getattr(self.model, "classifier", self.model)

    def pgd_accuracy(self):
        """PGD accuracy of the current weights on the held-out batch."""
        classifier = self._classifier()
        x_adv = pgd(classifier, self.x, self.y, eps=self.eps, step_size=self.step_size, steps=self.steps,
                    norm=self.norm, random_start=True, seed=self.seed, clip=self.clip)
        predictions = np.argmax(np.asarray(classifier(x_adv, training=False)), axis=-1)
        return float(np.mean(predictions == self.y))

    def _check(self, batch):
        accuracy = self.pgd_accuracy()
        self.history.append((self._epoch, batch, accuracy))
        if self.best_accuracy is None or accuracy >= self.best_accuracy:
            self.best_accuracy = accuracy
            self.best_weights = [np.array(w) for w in self._classifier().get_weights()]
        elif self.drop is not None and accuracy < self.best_accuracy - self.drop:
            self.triggered = {"epoch": self._epoch, "batch": batch, "accuracy": accuracy,
                              "best_accuracy": self.best_accuracy}
            if self.restore_best:
                self._classifier().set_weights(self.best_weights)
            self.model.stop_training = True
        return accuracy

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.every_steps is not None and (batch + 1) % self.every_steps == 0 and self.triggered is None:
            self._check(batch)

    def on_epoch_end(self, epoch, logs=None):
        # The logged value is the one measured (the collapse shows in the curve), even if rolled back.
        accuracy = self._check(None) if self.triggered is None else self.triggered["accuracy"]
        if logs is not None:
            logs[LOG_KEY] = accuracy
