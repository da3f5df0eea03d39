"""The attacks of `attack_matrix.py`, one zero-argument runner per library, all on the same model and batch.

Each `make_*` returns `{attack: runner}` for the attacks that library has
(a runner returns the adversarial batch as NumPy, so every library pays its
own conversions); a library that is not installed returns `{}` and is
reported as skipped. The settings are the same for every library:

* FGSM L-inf eps 8/255; PGD-10 L-inf eps 8/255 step 2/255; PGD-10 L2 eps
  0.5 step 0.125; MI-FGSM 10 steps eps 8/255 decay 1; all without random start.
* DeepFool L2: 50 steps, 10 candidates, overshoot 0.02.
* C&W-L2: 5 binary-search steps x 100 Adam steps, lr 0.05, c0 0.01, no early abort.
* APGD-CE L-inf eps 8/255, 100 steps, 1 restart.

The raw limit is `passes` chained forward+backward passes of the cross-entropy
in one `tf.function` (what any attack with that many gradients must do).
"""

import numpy as np
import tensorflow as tf

LINF, LINF_STEP, L2, L2_STEP, STEPS = 8 / 255, 2 / 255, 0.5, 0.125, 10
CW = {"binary_search_steps": 5, "steps": 100, "learning_rate": 0.05, "initial_const": 0.01}
ATTACKS = ("fgsm", "pgd_linf", "pgd_l2", "mifgsm", "deepfool", "cw_l2", "apgd_ce")
# Forward+backward passes per image of each attack (the raw limit); DeepFool's depend on when it stops.
PASSES = {"fgsm": 1, "pgd_linf": 10, "pgd_l2": 10, "mifgsm": 10, "deepfool": None,
          "cw_l2": CW["binary_search_steps"] * CW["steps"], "apgd_ce": 101}


def limit_runner(model, x, y, passes):
    """The raw limit: `passes` chained forward+backward passes in one compiled function."""

    @tf.function
    def run(x, y):
        for _ in range(passes):  # chained so no pass can be deduplicated
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=y, logits=model(x, training=False)))
            x = x + 1e-6 * tf.sign(tape.gradient(loss, x))
        return x

    xt, yt = tf.constant(x), tf.constant(y)
    return lambda: run(xt, yt).numpy()


def make_tfdefend(model, x, y):
    """tfdefend's attacks, called as a user calls them (NumPy in, NumPy out, labels given)."""
    from tfdefend import attacks as A

    return {
        "fgsm": lambda: A.fgsm(model, x, y, eps=LINF),
        "pgd_linf": lambda: A.pgd(model, x, y, eps=LINF, step_size=LINF_STEP, steps=STEPS),
        "pgd_l2": lambda: A.pgd(model, x, y, eps=L2, step_size=L2_STEP, steps=STEPS, norm="l2"),
        "mifgsm": lambda: A.mifgsm(model, x, y, eps=LINF, steps=STEPS, decay=1.0),
        "deepfool": lambda: A.deepfool(model, x, steps=50, overshoot=0.02, num_candidates=10),
        "cw_l2": lambda: A.carlini_wagner_l2(model, x, y, **CW),
        "apgd_ce": lambda: A.apgd(model, x, y, eps=LINF, loss="ce", steps=100, seed=0),
    }


def make_cleverhans(model, x, y):
    """cleverhans 4 (tf2): FGSM, PGD L-inf/L2, MI-FGSM, C&W-L2."""
    try:
        from cleverhans.tf2.attacks.carlini_wagner_l2 import carlini_wagner_l2
        from cleverhans.tf2.attacks.fast_gradient_method import fast_gradient_method
        from cleverhans.tf2.attacks.momentum_iterative_method import momentum_iterative_method
        from cleverhans.tf2.attacks.projected_gradient_descent import projected_gradient_descent
    except ImportError:
        return {}
    yt = tf.constant(y)

    def pgd(eps, step, norm):
        return lambda: projected_gradient_descent(model, tf.constant(x), eps, step, STEPS, norm, clip_min=0.0,
                                                  clip_max=1.0, y=yt, rand_init=False, sanity_checks=False).numpy()

    return {
        "fgsm": lambda: fast_gradient_method(model, tf.constant(x), LINF, np.inf, clip_min=0.0, clip_max=1.0, y=yt,
                                             sanity_checks=False).numpy(),
        "pgd_linf": pgd(LINF, LINF_STEP, np.inf),
        "pgd_l2": pgd(L2, L2_STEP, 2),
        "mifgsm": lambda: momentum_iterative_method(model, tf.constant(x), eps=LINF, eps_iter=LINF / STEPS,
                                                    nb_iter=STEPS, norm=np.inf, clip_min=0.0, clip_max=1.0, y=yt,
                                                    decay_factor=1.0, sanity_checks=False).numpy(),
        "cw_l2": lambda: np.asarray(carlini_wagner_l2(
            model, tf.constant(x), batch_size=len(x),  # labels: the model's predictions (as y here) binary_search_steps=CW["binary_search_steps"],
            max_iterations=CW["steps"], learning_rate=CW["learning_rate"], initial_const=CW["initial_const"],
            abort_early=False)),
    }


def make_foolbox(model, x, y):
    """Foolbox 3 (eagerpy on TF): FGSM, PGD L-inf/L2, DeepFool L2, C&W-L2."""
    try:
        import foolbox as fb
    except ImportError:
        return {}
    fmodel = fb.TensorFlowModel(model, bounds=(0.0, 1.0))
    yt = tf.constant(y.astype(np.int64))

    def run(attack, eps):
        return lambda: attack(fmodel, tf.constant(x), yt, epsilons=eps)[1].numpy()

    return {
        "fgsm": run(fb.attacks.FGSM(random_start=False), LINF),
        "pgd_linf": run(fb.attacks.LinfPGD(abs_stepsize=LINF_STEP, steps=STEPS, random_start=False), LINF),
        "pgd_l2": run(fb.attacks.L2PGD(abs_stepsize=L2_STEP, steps=STEPS, random_start=False), L2),
        "deepfool": run(fb.attacks.L2DeepFoolAttack(steps=50, candidates=10, overshoot=0.02), None),
        "cw_l2": run(fb.attacks.L2CarliniWagnerAttack(
            binary_search_steps=CW["binary_search_steps"], steps=CW["steps"], stepsize=CW["learning_rate"],
            initial_const=CW["initial_const"], abort_early=False), None),
    }


def make_art(model, x, y):
    """ART 1.x (TensorFlowV2Classifier): FGSM, PGD L-inf/L2, DeepFool, C&W-L2, APGD-CE.

    (ART's MomentumIterativeMethod refuses TensorFlow: "currently disabled", ART issue #2439.)
    """
    try:
        import keras
        from art.attacks import evasion as E
        from art.estimators.classification import TensorFlowV2Classifier
    except ImportError:
        return {}
    n = len(x)
    clf = TensorFlowV2Classifier(model=model, nb_classes=int(model.output_shape[-1]), input_shape=x.shape[1:],
                                 clip_values=(0.0, 1.0),
                                 loss_object=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    onehot = np.eye(int(model.output_shape[-1]), dtype=np.float32)[y]
    attacks = {
        "fgsm": E.FastGradientMethod(clf, norm=np.inf, eps=LINF, batch_size=n),
        "pgd_linf": E.ProjectedGradientDescent(clf, norm=np.inf, eps=LINF, eps_step=LINF_STEP, max_iter=STEPS,
                                               num_random_init=0, batch_size=n, verbose=False),
        "pgd_l2": E.ProjectedGradientDescent(clf, norm=2, eps=L2, eps_step=L2_STEP, max_iter=STEPS,
                                             num_random_init=0, batch_size=n, verbose=False),
        "deepfool": E.DeepFool(clf, max_iter=50, epsilon=0.02, nb_grads=10, batch_size=n, verbose=False),
        "cw_l2": E.CarliniL2Method(clf, binary_search_steps=CW["binary_search_steps"], max_iter=CW["steps"],
                                   learning_rate=CW["learning_rate"], initial_const=CW["initial_const"],
                                   batch_size=n, verbose=False),
        "apgd_ce": E.AutoProjectedGradientDescent(clf, norm=np.inf, eps=LINF, eps_step=2 * LINF, max_iter=100,
                                                  nb_random_init=1, loss_type="cross_entropy", batch_size=n,
                                                  verbose=False),
    }
    labels = {"deepfool": None}
    return {name: (lambda a=a, lab=labels.get(name, onehot): a.generate(x, y=lab)) for name, a in attacks.items()}


LIBRARIES = {"tfdefend": make_tfdefend, "cleverhans": make_cleverhans, "foolbox": make_foolbox, "art": make_art}
