"""Adversarial attacks (cleverhans-style plain functions).

Every attack takes a `keras.Model` or any callable returning logits for a
float32 NHWC batch, validates its inputs (raising `ValueError`/`TypeError`
naming the argument), and returns a float32 batch of the input's shape:
a NumPy array when `x` is not a `tf.Tensor`, else a `tf.Tensor`.
Labels default to the model's own argmax predictions.

`get(name)`, `resolve(spec)` and `list_attacks()` pick attacks by name
(the one registry every consumer uses). `kernels` holds the building
blocks trainers need to craft adversarial batches in the graph
(`random_start`, `project`, `ascent_direction`, `loss_gradient`, exported
here too); `mask_encoders` the learned pixel masks of the sparse attacks.
"""

from tfdefend.attacks._sparse_ablations import l1_penalized_pgd, random_mask_like
from tfdefend.attacks.apgd import apgd
from tfdefend.attacks.auto_adversary import auto_adversary
from tfdefend.attacks.auto_attack import auto_attack
from tfdefend.attacks.bim import bim
from tfdefend.attacks.bpda import BPDAModel, bpda
from tfdefend.attacks.carlini_wagner_l2 import carlini_wagner_l2
from tfdefend.attacks.deepfool import deepfool, deepfool_perturbation
from tfdefend.attacks.eot import EOTModel, eot
from tfdefend.attacks.fab import fab
from tfdefend.attacks.fgsm import fgsm
from tfdefend.attacks.jsma import jsma
from tfdefend.attacks.kernels import ascent_direction, loss_gradient, project, random_start
from tfdefend.attacks.mifgsm import mifgsm
from tfdefend.attacks.pgd import pgd
from tfdefend.attacks.registry import attack_info, get, list_attacks, resolve
from tfdefend.attacks.square import square

__all__ = [
    "BPDAModel",
    "EOTModel",
    "apgd",
    "ascent_direction",
    "attack_info",
    "auto_adversary",
    "auto_attack",
    "bim",
    "bpda",
    "carlini_wagner_l2",
    "deepfool",
    "deepfool_perturbation",
    "eot",
    "fab",
    "fgsm",
    "get",
    "jsma",
    "l1_penalized_pgd",
    "list_attacks",
    "loss_gradient",
    "mifgsm",
    "pgd",
    "project",
    "random_mask_like",
    "random_start",
    "resolve",
    "square",
]
