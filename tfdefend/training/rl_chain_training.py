"""`train_rl_denoiser_chain`: DQN training of the RL denoiser chain's agent on mixed adversarial images."""

import numbers

import keras
import numpy as np

from tfdefend.attacks import get as get_attack
from tfdefend.models.rl_denoiser_chain import RLDenoiserChain
from tfdefend.training.denoiser_chain_dqn import DenoiserChainDQN
from tfdefend.training.replay_buffer import ReplayBuffer
from tfdefend.training.resumable import TrainingBackup
from tfdefend.utils.validation import (
    check_batch_images,
    check_eps,
    check_float,
    check_labels,
    check_positive_float,
    check_positive_int,
    check_seed,
)

HISTORY_KEYS = ("epsilon", "loss", "q_mean", "episode_reward", "tools_per_image", "buffer_size")


def _check_epsilon(epsilon):
    """`epsilon` as a `(start, end)` pair of floats in [0, 1] (a single float is constant)."""
    constant = isinstance(epsilon, numbers.Real) and not isinstance(epsilon, bool)
    pair = (epsilon, epsilon) if constant else epsilon
    try:
        start, end = (float(v) for v in pair)
    except (TypeError, ValueError):
        raise ValueError(f"`epsilon` must be a float or a (start, end) pair of floats in [0, 1], "
                         f"got {epsilon!r}.") from None
    if not (0.0 <= start <= 1.0 and 0.0 <= end <= 1.0):
        raise ValueError(f"`epsilon` values must be in [0, 1], got {epsilon!r}.")
    return start, end


def _add_stop_bias(agent, stop_bias):
    """Adds `stop_bias` to the bias of the agent's "stop" output (its last Q-value)."""
    try:
        layer = agent.get_layer("q_values")
    except ValueError:
        raise TypeError("`stop_bias` needs an agent with a Dense layer named 'q_values' "
                        "(a DenoiserAgent).") from None
    bias = layer.bias.numpy()
    bias[-1] += stop_bias
    layer.bias.assign(bias)


def _attack_kinds(strengths, pgd_eps, pgd_steps, include_clean):
    """The `(label, attack, kwargs)` kinds of the mixed batches: clean, FGSM per strength (/255), PGD.

    `attack` is a name of the attack registry (`tfdefend.attacks.get`), None
    for the clean kind; `kwargs` are its fixed arguments (the budget first).
    """
    if isinstance(strengths, (str, bytes)) or not isinstance(strengths, (tuple, list)):
        raise TypeError(f"`strengths` must be a tuple of FGSM strengths in /255 units, got {strengths!r}.")
    kinds = [("clean", None, {})] if include_clean else []
    for i, strength in enumerate(strengths):
        eps = check_eps(strength / 255.0 if isinstance(strength, numbers.Real) else strength,
                        name=f"strengths[{i}] / 255", allow_zero=False)
        kinds.append((f"fgsm{strength:g}", "fgsm", {"eps": eps}))
    if pgd_eps is not None:
        eps = check_eps(pgd_eps, name="pgd_eps", allow_zero=False)
        kinds.append(("pgd", "pgd", {"eps": eps, "step_size": 2.5 * eps / pgd_steps, "steps": pgd_steps,
                                     "random_start": True}))
    if not kinds:
        raise ValueError("No training images: give `strengths`, `pgd_eps` or `include_clean=True`.")
    return kinds


def _mixed_batch(classifier, x_clean, labels, kinds, slot_kind, seed):
    """Attacks row group `slot_kind == k` with kind `k` (fixed group sizes, so no retracing).

    A kind with a random start gets `seed` (the iteration's draw).
    """
    x_in = x_clean.copy()
    for k, (_, attack, kwargs) in enumerate(kinds):
        rows = slot_kind == k
        if attack is None or not rows.any():
            continue
        seeded = {"seed": seed} if kwargs.get("random_start") else {}
        x_in[rows] = get_attack(attack)(classifier, x_clean[rows], labels[rows], **kwargs, **seeded)
    return x_in


def train_rl_denoiser_chain(classifier, toolbox, agent, x, y, *, iterations, images_per_iteration=64,
                            batch_size=64, updates_per_iteration=4, buffer_capacity=50_000,
                            epsilon=(1.0, 0.1), target_update_period=10, learning_rate=1e-4, gamma=0.99,
                            strengths=(1, 2, 4, 8, 16), pgd_eps=8 / 255, pgd_steps=10, include_clean=True,
                            reward="probability", step_cost=0.0, double_dqn=False, stop_bias=0.0, max_steps=3,
                            seed=0, verbose=0, backup_dir=None, checkpoint_every=1):
    """Trains `agent` by DQN to chain the (trained, frozen) tools of `toolbox` against `classifier`.

    Each iteration draws `images_per_iteration` training images and splits
    them into equal groups (fixed sizes, random images): clean, FGSM at each
    of `strengths` /255, and PGD at `pgd_eps` (L-inf, random start,
    `pgd_steps` steps of `2.5 * pgd_eps / pgd_steps`), all against
    `classifier` with the true labels, so the agent sees adversarial images
    of unknown strength. It rolls out one episode per image with the
    iteration's epsilon (`DenoiserChainDQN.collect`, one compiled call),
    adds the transitions to a `ReplayBuffer`, and runs
    `updates_per_iteration` DQN updates on uniformly sampled batches. The
    target network is refreshed every `target_update_period` iterations.
    Epsilon falls linearly from `epsilon[0]` (first iteration) to
    `epsilon[1]` (last). The collection and the update are each one
    `tf.function` traced once (fixed shapes; epsilon and seeds are tensors).

    Args:
        classifier: The target classifier (a `keras.Model` returning logits).
        toolbox: A trained `DenoiserToolbox`.
        agent: A `DenoiserAgent` with `num_actions = toolbox.num_tools + 1`
            (trained in place).
        x: Training images [N, H, W, C] in [0, 1].
        y: Int labels [N].
        iterations: Number of collect-and-update iterations (>= 1).
        images_per_iteration: Episodes (images) per iteration (>= 1).
        batch_size: Transitions per DQN update (>= 1).
        updates_per_iteration: DQN updates per iteration (>= 0).
        buffer_capacity: Replay buffer size in transitions (>= 1).
        epsilon: Exploration rate, a float or a `(start, end)` pair in [0, 1].
        target_update_period: Iterations between target-network updates (>= 1).
        learning_rate: Adam learning rate (> 0).
        gamma: Discount factor in [0, 1].
        strengths: FGSM strengths in /255 units (may be empty).
        pgd_eps: PGD budget, or None for no PGD images.
        pgd_steps: PGD iterations (>= 1).
        include_clean: Whether a group of the images stays clean.
        reward: "probability", "cross_entropy" or "psnr" (see `DenoiserChainDQN`).
        step_cost: Cost (>= 0) of each tool, subtracted from its reward.
        double_dqn: Whether to use double-DQN targets.
        stop_bias: Added to the bias of the agent's "stop" Q-value before
            training (a float; > 0 makes stopping the greedy choice until a
            tool's learned value beats it). Needs the agent's "q_values"
            Dense layer.
        max_steps: Most tools per episode (>= 1).
        seed: Int seed (>= 0) of the image draws, exploration, PGD and buffer.
        verbose: If truthy, prints one line per iteration.
        backup_dir: Optional backup folder (`TrainingBackup`): every
            `checkpoint_every` iterations (and after the last) a
            `LoopCheckpoint` saves the agent, the target network, the
            optimizer, the exploration seed, the iteration count, the image
            generator's state, the history and the replay buffer (only the
            rows each iteration adds are written), so that calling this
            again with the same arguments after a kill resumes after the
            last checkpointed iteration with exactly that state. The folder
            is kept: delete it once the chain is saved.
        checkpoint_every: Iterations between checkpoints (>= 1).

    Returns:
        `(chain, history)`: an `RLDenoiserChain(toolbox, agent, max_steps)`
        and a dict of per-iteration lists: "epsilon", "loss" and "q_mean"
        (means over the iteration's updates; NaN without updates),
        "episode_reward" (mean summed reward per image), "tools_per_image"
        (mean tools applied per image) and "buffer_size".

    Raises:
        TypeError: If a model or argument has the wrong type.
        ValueError: If an argument is out of range (naming it).
    """
    iterations = check_positive_int(iterations, "iterations")
    images_per_iteration = check_positive_int(images_per_iteration, "images_per_iteration")
    batch_size = check_positive_int(batch_size, "batch_size")
    updates_per_iteration = check_positive_int(updates_per_iteration, "updates_per_iteration", minimum=0)
    target_update_period = check_positive_int(target_update_period, "target_update_period")
    checkpoint_every = check_positive_int(checkpoint_every, "checkpoint_every")
    pgd_steps = check_positive_int(pgd_steps, "pgd_steps")
    learning_rate = check_positive_float(learning_rate, "learning_rate")
    eps_start, eps_end = _check_epsilon(epsilon)
    kinds = _attack_kinds(strengths, pgd_eps, pgd_steps, bool(include_clean))
    seed = check_seed(seed)
    x = check_batch_images(x, name="x").numpy()
    y = check_labels(y, len(x), name="y").numpy()
    buffer = ReplayBuffer(check_positive_int(buffer_capacity, "buffer_capacity"), seed=seed)
    flags = (getattr(toolbox, "trainable", True), getattr(classifier, "trainable", True))
    stop_bias = check_float(stop_bias, "stop_bias")
    trainer = _build_trainer(agent, toolbox, classifier, stop_bias, learning_rate, gamma=gamma,
                             max_steps=max_steps, reward=reward, step_cost=step_cost, double_dqn=double_dqn,
                             seed=seed)
    checkpoint = TrainingBackup(backup_dir).loop_checkpoint(
        "dqn", {"agent": agent, "target_agent": trainer.target_agent, "optimizer": trainer.optimizer,
                "exploration_seed": trainer.seed_generator.state},
        buffer=buffer, every=checkpoint_every, name="DQN")

    rng = np.random.default_rng(seed)
    slot_kind = np.arange(images_per_iteration) % len(kinds)
    history = {key: [] for key in HISTORY_KEYS}
    try:
        restored = checkpoint.restore()
        if restored is not None:
            rng.bit_generator.state = restored["extra"]["rng"]
            history = restored["extra"]["history"]
        for it in range(0 if restored is None else restored["iteration"], iterations):
            eps = eps_start + (eps_end - eps_start) * it / max(1, iterations - 1)
            transitions = _collect(trainer, classifier, x, y, rng, kinds, slot_kind, eps)
            checkpoint.add_to_buffer(transitions)
            logs = _update(trainer, buffer, updates_per_iteration, batch_size)
            if (it + 1) % target_update_period == 0:
                trainer.update_target()
            record = _record(eps, logs, transitions, trainer.num_actions - 1, images_per_iteration, len(buffer))
            for key, value in record.items():
                history[key].append(value)
            if verbose:
                print(f"iteration {it + 1}/{iterations}: " + ", ".join(
                    f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()))
            checkpoint.save(it + 1, {"rng": rng.bit_generator.state, "history": history},
                            final=it + 1 == iterations)
    finally:  # the trainer froze them; give them back as they were
        toolbox.trainable, classifier.trainable = flags
    return RLDenoiserChain(toolbox, agent, max_steps=max_steps), history


def _build_trainer(agent, toolbox, classifier, stop_bias, learning_rate, **dqn):
    """The compiled `DenoiserChainDQN` of `agent` (with the stop bias added), its optimizer built."""
    trainer = DenoiserChainDQN(agent, toolbox, classifier, **dqn)
    if stop_bias:
        _add_stop_bias(agent, stop_bias)
        trainer.update_target()
    trainer.compile(optimizer=keras.optimizers.Adam(learning_rate))
    trainer.optimizer.build(agent.trainable_variables)  # so that a checkpoint can be restored into it
    return trainer


def _collect(trainer, classifier, x, y, rng, kinds, slot_kind, eps):
    """One iteration's episodes: draws `len(slot_kind)` images, attacks them by slot, rolls them out."""
    count = len(slot_kind)  # images_per_iteration
    rows = rng.choice(len(x), count, replace=len(x) < count)
    x_clean, labels = x[rows], y[rows]
    x_in = _mixed_batch(classifier, x_clean, labels, kinds, slot_kind, int(rng.integers(2**31 - 1)))
    return {k: v.numpy() for k, v in trainer.collect(x_in, labels, x_clean, eps).items()}


def _update(trainer, buffer, updates, batch_size):
    """`updates` DQN updates on batches sampled from `buffer`; the last update's logs (NaN without any)."""
    trainer.reset_metrics()
    logs = {"loss": float("nan"), "q_mean": float("nan")}
    for _ in range(updates):
        batch = buffer.sample(batch_size, replace=len(buffer) < batch_size)
        logs = trainer.train_on_batch(batch, return_dict=True)
    return logs


def _record(eps, logs, transitions, stop, images, buffer_size):
    """One iteration's history entry (see `HISTORY_KEYS`); `stop` is the agent's "stop" action."""
    return {"epsilon": eps, "loss": float(logs["loss"]), "q_mean": float(logs["q_mean"]),
            "episode_reward": float(transitions["reward"].sum() / images),
            "tools_per_image": float((transitions["action"] != stop).sum() / images),
            "buffer_size": buffer_size}
