"""MART: misclassification-aware adversarial training (Wang et al., ICLR 2020)."""

import keras
import tensorflow as tf

from tfdefend.training._losses import kl_divergence
from tfdefend.training.trades import TRADES


@keras.saving.register_keras_serializable(package="tfdefend")
class MART(TRADES):
    """Trains a classifier with the MART loss: TRADES' machinery, a boosted CE and a weighted KL.

    The inner maximization ascends the cross-entropy of the true labels
    (PGD from `x + 0.001 * N(0, 1)`, as in the authors' code), and the
    weights descend

        loss = BCE(f(x'), y) + beta * KL(f(x) || f(x')) * (1 - p_y(x)),

    where the boosted CE is `CE(y, f(x')) - log(1 - max_{k != y} p_k(x'))`
    (it also pushes down the strongest wrong class) and the KL is weighted
    by how far the clean prediction is from the true class, so
    misclassified examples count more. The paper's beta is 5-6.

    Training metrics: `loss`, `adv_loss` (the boosted CE), `robust_loss`
    (the weighted KL), `accuracy` and `adv_accuracy`. Arguments, `call`,
    `evaluate` and serialization are TRADES'.
    """

    FIRST_TERM = "adv_loss"

    def inner_loss(self, clean_probs, adv_logits, y):
        """Per-example loss the inner maximization ascends: the CE of the true labels."""
        del clean_probs
        if y is None:
            raise ValueError("MART's inner maximization needs the labels `y`.")
        return keras.losses.sparse_categorical_crossentropy(y, adv_logits, from_logits=True)

    def outer_losses(self, y, clean_logits, adv_logits):
        """Per-example boosted CE on `x'` and the misclassification-weighted KL."""
        adv_probs = tf.nn.softmax(adv_logits)
        num_classes = tf.shape(adv_logits)[-1]
        true_mask = tf.one_hot(y, num_classes, dtype=adv_probs.dtype)
        strongest_wrong = tf.reduce_max(adv_probs - 2.0 * true_mask, axis=-1)  # probabilities are <= 1
        boosted_ce = (keras.losses.sparse_categorical_crossentropy(y, adv_logits, from_logits=True)
                      - tf.math.log(1.0001 - strongest_wrong + 1e-12))
        clean_probs = tf.nn.softmax(clean_logits)
        true_probs = tf.reduce_sum(clean_probs * true_mask, axis=-1)
        return boosted_ce, kl_divergence(clean_probs, adv_logits) * (1.0000001 - true_probs)
