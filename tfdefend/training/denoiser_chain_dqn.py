"""`DenoiserChainDQN`: deep Q-learning of the RL denoiser chain's agent (RL-Restore, Yu et al., CVPR 2018)."""

import keras
import tensorflow as tf

from tfdefend.training.nested_config import OneStepTrainer, check_models
from tfdefend.utils.distribute import scale_for_replicas
from tfdefend.utils.validation import (
    check_batch_images,
    check_float,
    check_labels,
    check_model_kwargs,
    check_positive_float,
    check_positive_int,
    check_seed,
)

REWARDS = ("probability", "cross_entropy", "psnr")
PSNR_MAX_DB = 60.0  # PSNR of identical images: the MSE is floored at 10 ** (-PSNR_MAX_DB / 10)
# Fields of one transition, as returned by `collect` and expected by `train_step`.
STATE_FIELDS = ("image", "prev_action", "h", "c")
NEXT_FIELDS = ("next_image", "next_prev_action", "next_h", "next_c")


@keras.saving.register_keras_serializable(package="tfdefend")
class DenoiserChainDQN(OneStepTrainer):
    """Trains a `DenoiserAgent` by DQN to chain the tools of a frozen `DenoiserToolbox`.

    An episode denoises each image by up to `max_steps` tools. At each step
    the agent sees the state `(image, one-hot of its previous action, LSTM
    h, c)` and picks a tool or "stop" (the last action). The reward of a
    tool is the gain of a score of the image, for the frozen target
    `classifier` and true label `y` (or for the clean image):

    * "probability": `p_y(after) - p_y(before)` (softmax probability);
    * "cross_entropy": `CE(before) - CE(after)`;
    * "psnr": `PSNR(after, clean) - PSNR(before, clean)` (dB, range 1,
      capped at `PSNR_MAX_DB`);

    minus `step_cost` for every tool, so that a tool must gain more than
    `step_cost` to be worth it (a clean image is best left alone).
    "stop" gives reward 0 and ends the episode, which also ends after
    `max_steps` tools (done, no bootstrap).

    `collect` rolls out the episodes of a batch with per-image epsilon-greedy
    actions. `train_step` (via `fit` / `train_on_batch` on a dict of
    transitions after `compile(optimizer=...)`) minimizes the Huber loss
    between `Q(s, a)` and `r + gamma * (1 - done) * max_a' Q_target(s')`
    (with `double_dqn`, `Q_target(s', argmax_a' Q(s'))`: van Hasselt et al.
    2016, less overestimation), updating only the agent; `update_target()`
    copies the agent's weights into the target network. Tracked metrics: "loss" and "q_mean" (mean
    `Q(s, a)`).

    Under a `tf.distribute` strategy (built in its scope) the DQN runs but
    is not data-parallel: `collect` runs on one device, `train_on_batch`
    gives every replica the whole batch, and the scaled losses
    (`scale_for_replicas`) sum to one device's update.

    The constructor sets `toolbox.trainable = False` and
    `classifier.trainable = False` (it mutates the models passed in); both
    are always called with `training=False`.

    Args:
        agent: A `DenoiserAgent` (`agent([images, prev_onehot, h, c])` ->
            `[q, h, c]`, `initial_state`, `num_actions`).
        toolbox: A `DenoiserToolbox` with `num_tools == agent.num_actions - 1`.
        classifier: The target classifier (a `keras.Model` returning logits).
        gamma: Discount factor in [0, 1].
        max_steps: Most tools per episode (>= 1).
        reward: One of "probability", "cross_entropy", "psnr".
        step_cost: Cost (>= 0) subtracted from the reward of each tool.
        double_dqn: Whether the targets are double-DQN targets.
        huber_delta: Threshold of the Huber loss (> 0).
        seed: Seed (int >= 0 or None) of the exploration.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If a model has the wrong type or interface, or an argument
            has the wrong type.
        ValueError: If an argument is out of range or the agent's actions do
            not match the toolbox.
    """

    NESTED_MODELS = ("agent", "toolbox", "classifier")
    CONFIG_KEYS = ("gamma", "max_steps", "reward", "step_cost", "double_dqn", "huber_delta", "seed")

    def __init__(self, agent, toolbox, classifier, *, gamma=0.99, max_steps=3, reward="probability",
                 step_cost=0.0, double_dqn=False, huber_delta=1.0, seed=0, **kwargs):
        check_model_kwargs("DenoiserChainDQN", kwargs)
        check_models({"agent": agent, "toolbox": toolbox, "classifier": classifier})
        if len({id(agent), id(toolbox), id(classifier)}) != 3:
            raise ValueError("`agent`, `toolbox` and `classifier` must be three different models.")
        for arg, value, attrs, kind in (("agent", agent, ("num_actions", "initial_state"), "DenoiserAgent"),
                                        ("toolbox", toolbox, ("num_tools", "apply"), "DenoiserToolbox")):
            if not all(hasattr(value, a) for a in attrs):
                raise TypeError(f"`{arg}` must be a {kind} (with {', '.join(attrs)}), "
                                f"got {type(value).__name__}.")
        if int(agent.num_actions) != int(toolbox.num_tools) + 1:
            raise ValueError(f"`agent` has {agent.num_actions} actions but the toolbox has "
                             f"{toolbox.num_tools} tools: it needs num_tools + 1 (the last is 'stop').")
        gamma = check_float(gamma, "gamma", lo=0.0, hi=1.0)
        max_steps = check_positive_int(max_steps, "max_steps")
        if reward not in REWARDS:
            raise ValueError(f"`reward` must be one of {list(REWARDS)}, got {reward!r}.")
        huber_delta = check_positive_float(huber_delta, "huber_delta")
        step_cost = check_float(step_cost, "step_cost", lo=0.0)
        if not isinstance(double_dqn, bool):
            raise TypeError(f"`double_dqn` must be a bool, got {type(double_dqn).__name__}.")
        seed = check_seed(seed)
        super().__init__(**kwargs)
        toolbox.trainable = False
        classifier.trainable = False
        self.store(agent=agent, toolbox=toolbox, classifier=classifier, gamma=gamma, max_steps=max_steps,
                   reward=reward, step_cost=step_cost, double_dqn=double_dqn, huber_delta=huber_delta,
                   seed=seed)
        self.num_actions = int(agent.num_actions)
        self.num_tools = int(toolbox.num_tools)
        h0, c0 = agent.initial_state(1)
        self._state_units = (int(h0.shape[-1]), int(c0.shape[-1]))
        self.target_agent = _clone(agent, f"{agent.name}_target")
        self.target_agent.trainable = False
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.add_trackers({"loss_tracker": "loss", "q_tracker": "q_mean"})
        self._collect_fn = tf.function(self._rollout)
        self.built = True

    @property
    def collect_function(self):
        """The `tf.function` behind `collect` (e.g. for `experimental_get_tracing_count()`)."""
        return self._collect_fn

    def call(self, inputs, training=False):
        """Returns the agent's outputs `[q, h, c]` for `[images, prev_onehot, h, c]`."""
        return self.agent(inputs, training=training)

    def update_target(self):
        """Copies the agent's weights into the target network."""
        for target, source in zip(self.target_agent.weights, self.agent.weights):
            target.assign(source)

    def score(self, images, labels, clean_images):
        """The per-image score whose gain is the reward (see the class docstring), shape `[B]`."""
        if self.reward == "psnr":
            mse = tf.reduce_mean(tf.square(images - clean_images), axis=[1, 2, 3])
            return -10.0 * tf.math.log(tf.maximum(mse, 10.0 ** (-PSNR_MAX_DB / 10.0))) / tf.math.log(10.0)
        logits = tf.cast(self.classifier(images, training=False), tf.float32)
        log_p = tf.gather(tf.nn.log_softmax(logits, axis=-1), labels, batch_dims=1)
        return tf.exp(log_p) if self.reward == "probability" else log_p

    def collect(self, images, labels=None, clean_images=None, epsilon=0.0):
        """Rolls out one episode per image with epsilon-greedy actions; returns its transitions.

        The whole batch runs in one `tf.function` (a `tf.while_loop` over at
        most `max_steps` steps, per-image actions and done masks); it is
        traced once per batch shape (`epsilon` and the exploration seed are
        tensors). Images that stopped keep their image and LSTM state.

        Args:
            images: Images to denoise `[B, H, W, C]` in [0, 1].
            labels: True labels `[B]` (required unless `reward="psnr"`).
            clean_images: Clean images `[B, H, W, C]` (required for "psnr").
            epsilon: Probability in [0, 1] of a uniformly random action
                (tools and stop), drawn per image and step.

        Returns:
            A dict of tensors with one row per step an image was still
            active (step-major): "image", "prev_action" (one-hot, zeros at
            step 0), "h", "c" (the agent's LSTM state fed at that step),
            "action" (int32), "reward" (float32), "next_image",
            "next_prev_action", "next_h", "next_c" (the agent's new state),
            "done" (bool), "step" and "index" (int32: step and row of the
            image in `images`).

        Raises:
            ValueError: Bad images, labels, clean images or `epsilon`.
        """
        images = check_batch_images(images, name="images")
        n = int(images.shape[0])
        if labels is None:
            if self.reward != "psnr":
                raise ValueError(f"`labels` are required for reward={self.reward!r}.")
            labels = tf.zeros([n], tf.int32)
        else:
            labels = check_labels(labels, n, name="labels")
        if clean_images is None:
            if self.reward == "psnr":
                raise ValueError("`clean_images` are required for reward='psnr'.")
            clean_images = images
        else:
            clean_images = check_batch_images(clean_images, name="clean_images")
            if clean_images.shape != images.shape:
                raise ValueError(f"`clean_images` has shape {tuple(clean_images.shape)}, "
                                 f"`images` has {tuple(images.shape)}.")
        epsilon = check_float(epsilon, "epsilon", lo=0.0, hi=1.0)
        seed = tf.cast(self.seed_generator.next(), tf.int64)
        return self._collect_fn(images, labels, clean_images, tf.constant(epsilon, tf.float32), seed)

    def _rollout(self, images, labels, clean, epsilon, seed):
        batch, steps, actions = tf.shape(images)[0], self.max_steps, self.num_actions
        seeds = tf.random.experimental.stateless_split(seed, 2)
        explore = tf.random.stateless_uniform([steps, batch], seeds[0]) < epsilon
        random_actions = tf.random.stateless_uniform([steps, batch], seeds[1], minval=0, maxval=actions,
                                                     dtype=tf.int32)
        state = (images, tf.zeros([batch, actions]), tf.zeros([batch, self._state_units[0]]),
                 tf.zeros([batch, self._state_units[1]]))
        fields = STATE_FIELDS + NEXT_FIELDS + ("action", "reward", "done", "active")
        arrays = {name: tf.TensorArray(tf.float32, size=0, dynamic_size=True) for name in fields}
        for name, dtype in (("action", tf.int32), ("done", tf.bool), ("active", tf.bool)):
            arrays[name] = tf.TensorArray(dtype, size=0, dynamic_size=True)

        def cond(t, state, score, active, arrays):
            return tf.logical_and(t < steps, tf.reduce_any(active))

        def body(t, state, score, active, arrays):
            x, prev, h, c = state
            q, h_new, c_new = self.agent([x, prev, h, c], training=False)
            greedy = tf.argmax(q, axis=-1, output_type=tf.int32)
            action = tf.where(explore[t], random_actions[t], greedy)
            stop = tf.equal(action, actions - 1)
            keep = tf.logical_or(stop, tf.logical_not(active))
            moved = self.toolbox.apply(x, tf.minimum(action, self.num_tools - 1), skip=keep)
            x_next = tf.where(keep[:, None, None, None], x, tf.cast(moved, x.dtype))
            score_next = tf.where(keep, score, self.score(x_next, labels, clean))
            reward = tf.where(keep, tf.zeros_like(score), score_next - score - self.step_cost)
            done = tf.logical_or(stop, tf.equal(t, steps - 1))
            next_state = (x_next, tf.one_hot(action, actions), tf.cast(h_new, tf.float32),
                          tf.cast(c_new, tf.float32))
            values = dict(zip(STATE_FIELDS, state), **dict(zip(NEXT_FIELDS, next_state)),
                          action=action, reward=reward, done=done, active=active)
            arrays = {name: arrays[name].write(t, values[name]) for name in fields}
            held = tuple(tf.where(_expand(active, s), n, s) for s, n in zip(state, next_state))
            return t + 1, held, score_next, tf.logical_and(active, tf.logical_not(done)), arrays

        score = self.score(images, labels, clean)
        _, _, _, _, arrays = tf.while_loop(
            cond, body, (tf.constant(0), state, score, tf.ones([batch], tf.bool), arrays),
            maximum_iterations=steps)
        stacked = {name: array.stack() for name, array in arrays.items()}
        taken = tf.shape(stacked["action"])[0]
        stacked["step"] = tf.tile(tf.range(taken)[:, None], [1, batch])
        stacked["index"] = tf.tile(tf.range(batch)[None, :], [taken, 1])
        mask = stacked.pop("active")
        return {name: tf.boolean_mask(value, mask) for name, value in stacked.items()}

    def _step(self, data, training):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        if not isinstance(x, dict):
            raise TypeError("DenoiserChainDQN expects a dict of transitions (see `collect`), "
                            f"got {type(x).__name__}.")
        missing = [k for k in STATE_FIELDS + NEXT_FIELDS + ("action", "reward", "done") if k not in x]
        if missing:
            raise ValueError(f"The transitions lack the fields {missing}.")
        state = [tf.cast(x[k], tf.float32) for k in STATE_FIELDS]
        next_state = [tf.cast(x[k], tf.float32) for k in NEXT_FIELDS]
        action = tf.reshape(tf.cast(x["action"], tf.int32), [-1])
        not_done = 1.0 - tf.reshape(tf.cast(x["done"], tf.float32), [-1])
        q_next = tf.cast(self.target_agent(next_state, training=False)[0], tf.float32)
        if self.double_dqn:  # the online network picks the next action, the target network values it
            best = tf.argmax(self.agent(next_state, training=False)[0], axis=-1, output_type=tf.int32)
            v_next = tf.gather(q_next, best, batch_dims=1)
        else:
            v_next = tf.reduce_max(q_next, -1)
        reward = tf.reshape(tf.cast(x["reward"], tf.float32), [-1])
        target = tf.stop_gradient(reward + self.gamma * not_done * v_next)
        variables = self.agent.trainable_variables
        with tf.GradientTape() as tape:
            q = tf.cast(self.agent(state, training=training)[0], tf.float32)
            q_taken = tf.gather(q, action, batch_dims=1)
            loss = huber(q_taken - target, self.huber_delta)
            # Keras sums the replicas' gradients under tf.distribute: this replica's share of the mean.
            scaled = scale_for_replicas(loss, tf.shape(q_taken)[0])
        if training:
            if self.optimizer is None:
                raise RuntimeError("Call `compile(optimizer=...)` before training DenoiserChainDQN.")
            self.descend(tape, scaled, variables)
        self.update_trackers(((self.loss_tracker, loss), (self.q_tracker, tf.reduce_mean(q_taken))))
        return self.metric_results()



def huber(error, delta):
    """Mean Huber loss of `error`: `0.5 e**2` for `|e| <= delta`, else `delta (|e| - delta / 2)`."""
    abs_error = tf.abs(error)
    quadratic = tf.minimum(abs_error, delta)
    return tf.reduce_mean(0.5 * tf.square(quadratic) + delta * (abs_error - quadratic))


def _expand(mask, like):
    """`mask [B]` reshaped to broadcast against `like [B, ...]`."""
    return tf.reshape(mask, [-1] + [1] * (like.shape.rank - 1))


def _clone(agent, name):
    """A new agent of the same class and config (named `name`) holding a copy of the weights."""
    config = dict(agent.get_config(), name=name)
    clone = type(agent).from_config(config)  # a functional model: built on construction
    clone.set_weights(agent.get_weights())
    return clone
