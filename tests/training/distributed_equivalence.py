"""Trains each trainer for 3 steps on one device and on MirroredStrategy(2 CPUs); prints the weight gaps.

Run as a script (`python tests/training/distributed_equivalence.py [CASE ...]`): the two logical
CPU devices must be configured before TensorFlow initializes, so `test_distributed_training.py`
starts it in a subprocess. Prints one JSON object: per case, the largest absolute difference
between the weights trained on one device and on two replicas (`gap`), how far the weights moved
from their initial values (`moved`), and the replica count. Same seed, same global batch (8), no
shuffling, batch norm synchronized, SGD with momentum (a scale-invariant optimizer such as Adam would
hide a wrongly scaled loss).
"""

import json
import sys
import time

import tensorflow as tf

_CPU = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(_CPU, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras
import numpy as np

from tfdefend import models, training
from tfdefend.utils import get_strategy, synchronize_batch_norm

SHAPE = (8, 8, 1)
N, BATCH, CLASSES = 24, 8, 4


def _data():
    rng = np.random.default_rng(0)
    return rng.uniform(size=(N,) + SHAPE).astype("float32"), rng.integers(0, CLASSES, N).astype("int32")


def _cnn(seed=0):
    keras.utils.set_random_seed(seed)
    return models.SmallCNN(SHAPE, num_classes=CLASSES, filters=4, dense_units=8, dropout=0.0)


def _sgd(lr=0.1):
    # Momentum: slot variables must be created in the strategy's scope, and the update stays linear in
    # the gradient (a scale-invariant optimizer such as Adam would hide a wrongly scaled loss).
    return keras.optimizers.SGD(lr, momentum=0.5)


def _fit(trainer, *data):
    return lambda: trainer.fit(*data, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)


# Each case builds its models and returns (model whose weights are compared, function that trains it).


def classifier(x, y):
    net = _cnn()
    training.compile_classifier(net, learning_rate=0.1)
    net.optimizer = _sgd()
    return net, _fit(net, x, y)


def _mlp(seed=0):
    keras.utils.set_random_seed(seed)
    return models.MLPClassifier(SHAPE, num_classes=CLASSES, hidden_units=(16,))


def adversarial_training(x, y):
    net = _mlp()
    trainer = training.AdversarialTraining(net, attack="pgd", eps=0.1, steps=1, ratio=0.5, seed=1)
    trainer.compile(optimizer=_sgd())
    return net, _fit(trainer, x, y)


def trades(x, y):
    net = _mlp()
    trainer = training.TRADES(net, eps=0.1, beta=6.0, steps=2, seed=1)
    trainer.compile(optimizer=_sgd())
    return net, _fit(trainer, x, y)


def mart(x, y):
    net = _mlp()
    trainer = training.MART(net, eps=0.1, beta=6.0, steps=2, seed=1)
    trainer.compile(optimizer=_sgd())
    return net, _fit(trainer, x, y)


def fast_adversarial_training(x, y):
    net = _mlp()
    trainer = training.AdversarialTraining(net, attack="fgsm", eps=0.1, random_start=True, ratio=1.0, seed=1)
    trainer.compile(optimizer=_sgd())
    return net, _fit(trainer, x, y)


def deep_defense(x, y):
    net = _mlp()
    trainer = training.DeepDefense(net, lam=1.0, c=5.0, d=1.0, deepfool_steps=1, num_candidates=2)
    trainer.compile(optimizer=_sgd(0.01))
    return net, _fit(trainer, x, y)


def distiller(x, y):
    teacher, student = _mlp(1), _mlp(2)
    trainer = training.Distiller(student, teacher, temperature=2.0, alpha=0.3, input_noise_std=0.1, seed=3)
    trainer.compile(optimizer=_sgd())
    return student, _fit(trainer, x, y)


def wgan_gp(x, y):
    """A small dense generator (with batch norm, synchronized) and critic: the trainer is under test."""
    keras.utils.set_random_seed(0)
    generator = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16), keras.layers.BatchNormalization(),
                                  keras.layers.Dense(int(np.prod(SHAPE)), activation="tanh"),
                                  keras.layers.Reshape(SHAPE)])
    synchronize_batch_norm(generator)
    critic = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(8, activation="tanh"),
                               keras.layers.Dense(1)])
    gan = training.WGANGP(generator, critic, critic_steps=2, seed=1)
    gan.compile(generator_optimizer=_sgd(0.01), critic_optimizer=_sgd(0.01))
    return gan, _fit(gan, x * 0.2 - 0.1)


def comdefend(x, y):
    keras.utils.set_random_seed(0)
    net = models.ComDefend(SHAPE, code_channels=2, comcnn_filters=(4, 4), rescnn_filters=(4, 4), noise_std=1.0,
                           code_weight=0.1, seed=1)
    synchronize_batch_norm(net)
    net.compile(optimizer=_sgd())
    return net, _fit(net, x, x)


def denoising_autoencoder(x, y):
    keras.utils.set_random_seed(0)
    net = models.DenoisingAutoencoder(SHAPE, filters=(4, 8), noise_std=0.1, seed=1)
    net.compile(optimizer=_sgd())
    return net, _fit(net, x, x)


def uddn_guided(x, y):
    classifier_net = _mlp(1)
    keras.utils.set_random_seed(0)
    denoiser = models.UDDN(SHAPE, filters=(4,))
    synchronize_batch_norm(denoiser)
    trainer = training.GuidedDenoiserTraining(denoiser, classifier_net, guidance_weight=1.0, pixel_weight=0.5)
    trainer.compile(optimizer=_sgd())
    x_noisy = np.clip(x + np.random.default_rng(1).normal(0, 0.1, x.shape), 0, 1).astype("float32")
    return denoiser, _fit(trainer, x_noisy, x)


def uneven_batches(x, y):
    """9 images in batches of 8: the last batch splits 1 / 0 over the replicas (an empty replica)."""
    teacher, student = _mlp(1), _mlp(2)
    trainer = training.Distiller(student, teacher, temperature=2.0, alpha=0.3)
    trainer.compile(optimizer=_sgd())
    return student, _fit(trainer, x[:9], y[:9])


def dqn(x, y):
    keras.utils.set_random_seed(0)
    toolbox = models.DenoiserToolbox(SHAPE, strengths=(2, 8), depths=(2,), filters=4)
    agent = models.DenoiserAgent(SHAPE, num_actions=3, conv_filters=(4, 4), kernel_sizes=(3, 3), fc_units=8,
                                 lstm_units=8)
    trainer = training.DenoiserChainDQN(agent, toolbox, _cnn(1), max_steps=2, seed=1)
    trainer.compile(optimizer=_sgd(0.01))
    rng = np.random.default_rng(2)
    state = {"image": x[:BATCH], "prev_action": np.eye(3, dtype="float32")[rng.integers(0, 3, BATCH)],
             "h": rng.normal(size=(BATCH, 8)).astype("float32"), "c": rng.normal(size=(BATCH, 8)).astype("float32")}
    batch = {**state, **{"next_" + k: v[::-1].copy() for k, v in state.items()},
             "action": rng.integers(0, 3, BATCH).astype("int32"), "reward": rng.normal(size=BATCH).astype("float32"),
             "done": rng.integers(0, 2, BATCH).astype(bool)}
    return agent, lambda: [trainer.train_on_batch(batch) for _ in range(3)]


CASES = {f.__name__: f for f in (classifier, adversarial_training, trades, mart, fast_adversarial_training,
                                 deep_defense, distiller, wgan_gp, comdefend,
                                 denoising_autoencoder, uddn_guided, uneven_batches, dqn)}


def _run(case, strategy):
    """(initial weights, weights after 3 steps) of `case` built and trained under `strategy`."""
    x, y = _data()
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model, train = CASES[case](x, y)
        start = [np.asarray(w) for w in model.get_weights()]
        train()
        return start, [np.asarray(w) for w in model.get_weights()]


def _gap(a, b):
    return max(float(np.max(np.abs(u - v))) for u, v in zip(a, b))


def main(names):
    mirrored = get_strategy("mirrored")
    results = {}
    for name in names or CASES:
        began = time.perf_counter()
        try:
            start, one = _run(name, tf.distribute.get_strategy())
            start_two, two = _run(name, mirrored)
            results[name] = {"gap": _gap(one, two), "moved": _gap(one, start), "start_gap": _gap(start, start_two),
                             "replicas": mirrored.num_replicas_in_sync,
                             "seconds": round(time.perf_counter() - began, 1)}
        except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
            results[name] = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
    print("RESULTS " + json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1:])
