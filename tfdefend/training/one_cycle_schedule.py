"""`OneCycleSchedule`: the triangular one-cycle learning rate of fast adversarial training."""

import keras
from keras import ops

from tfdefend.utils.validation import check_float, check_positive_int


@keras.saving.register_keras_serializable(package="tfdefend")
class OneCycleSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Rises linearly from `initial` to `peak` over `warmup` of the steps, then falls linearly to `final`.

    Wong et al. (ICLR 2020) train fast adversarial training with this cyclic
    rate (0 -> peak at 2/5 of training -> 0), which is what lets a few
    epochs suffice. The step is the optimizer's `iterations`, so a resumed
    run continues on the same curve.

    Args:
        peak: The largest learning rate (> 0).
        total_steps: Optimizer steps of the whole training (>= 1).
        warmup: Fraction of `total_steps` spent rising, in (0, 1).
        initial: Learning rate at step 0 (>= 0).
        final: Learning rate at `total_steps` and after (>= 0).

    Raises:
        TypeError, ValueError: If an argument has the wrong type or value.
    """

    def __init__(self, peak, total_steps, *, warmup=0.4, initial=0.0, final=0.0):
        self.peak = check_float(peak, "peak", lo=0.0, lo_open=True)
        self.total_steps = check_positive_int(total_steps, "total_steps")
        self.warmup = check_float(warmup, "warmup", lo=0.0, lo_open=True, hi=1.0)
        if self.warmup == 1.0:
            raise ValueError("`warmup` must be < 1, got 1.0 (no step would be left to decay).")
        self.initial = check_float(initial, "initial", lo=0.0)
        self.final = check_float(final, "final", lo=0.0)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        rise_steps = self.warmup * self.total_steps
        rising = self.initial + (self.peak - self.initial) * step / rise_steps
        progress = ops.minimum((step - rise_steps) / (self.total_steps - rise_steps), 1.0)
        falling = self.peak + (self.final - self.peak) * progress
        return ops.where(step < rise_steps, rising, falling)

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps, "warmup": self.warmup,
                "initial": self.initial, "final": self.final}
