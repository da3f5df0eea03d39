"""RLDenoiserChain: a greedy DenoiserAgent chaining the tools of a DenoiserToolbox per image (RL-Restore)."""

import keras
import tensorflow as tf

from tfdefend.utils.validation import check_input_shape, check_model_kwargs, check_positive_int
from tfdefend.models.denoiser_agent import DenoiserAgent
from tfdefend.models.denoiser_toolbox import TOOL_EXECUTIONS, DenoiserToolbox
from tfdefend.models._layers import image_input
from tfdefend.models.base_model import BaseModel, dtype_scope, float32_output
from tfdefend.models.registry import register_model

DEFAULT_INPUT_SHAPE = (28, 28, 1)


@register_model(
    "rl_denoiser_chain",
    kind="preprocessor",
    description="RL-Restore chain: a greedy LSTM Q-agent applies up to max_steps toolbox tools per image.",
)
class RLDenoiserChain(BaseModel):
    """Runs the greedy policy of a `DenoiserAgent` over a `DenoiserToolbox`, per image, in one graph.

    For images `x` in [0, 1] (`T = toolbox.num_tools`, stop = action `T`)::

        done = False; prev = zeros(T + 1); (h, c) = agent.initial_state(batch)
        for t in range(max_steps):
            q, h, c = agent([x, prev, h, c])
            a = argmax(q)                       # greedy, per image
            done = done or a == T               # "stop" is final
            x = x if done else toolbox.tools[a](x)
            prev = one_hot(a, T + 1)

    and returns `x`. An image that stops at step 0 comes back unchanged.
    `choose(images)` returns the actions taken, int32 [batch, max_steps]:
    the tool indices, `T` at the step where the image stopped, -1 after.

    How it lowers to a graph (SavedModel and TFLite):

    * The loop over steps is unrolled in Python: `max_steps` is a
      constructor constant, so the graph holds `max_steps` copies of the
      agent and of the tool dispatch and no `While` op; the LSTM state, the
      `done` mask and the previous action are carried as plain tensors.
      The greedy choice is ARG_MAX, the stop mask EQUAL/LOGICAL_OR, the
      kept images SELECT_V2 (`tf.where`), the previous action ONE_HOT.
    * Per-image tool choice with `tool_execution="gather"` (the default),
      any batch size (eager, SavedModel): at each step, for each tool k (a
      static loop over the tools, none over the images), `tf.where(a == k
      and not done)` -> `tf.gather_nd` -> tool k on that sub-batch; one
      `tf.scatter_nd` puts the outputs back in place. Each image runs only
      its chosen tool, stopped images none (cost: the executed path).
    * "gather" with a static batch of 1 (the TFLite graph, whose batch is
      fixed to 1): one `tf.cond` per tool and step (TFLite IF ops,
      `max_steps * num_tools` of them), only the chosen tool's branch runs.
      The sub-batch form would hand empty tensors to the unchosen tools,
      which converts with builtin ops but fails in the XNNPACK delegate.
    * `tool_execution="dense"`: every tool runs on every image at every
      step and the chosen output is kept with a one-hot weighted sum (no
      dynamic shapes, no control flow; cost `max_steps * sum(tool costs)`).

    Both modes give the same outputs and both export to TFLite with builtin
    ops only. `with_tool_execution(mode)` returns a chain of the other mode
    sharing this one's toolbox and agent (weights).

    The argmax has no gradient: gradients through the chain are those of
    the executed tools (the path is fixed by the forward pass), which is
    what a BPDA attack differentiates.

    Args:
        toolbox: A `DenoiserToolbox`, a dict of `DenoiserToolbox` keyword
            arguments (its `input_shape` defaults to the chain's), or None
            for the default toolbox.
        agent: A `DenoiserAgent` with `num_actions == toolbox.num_tools + 1`,
            a dict of its keyword arguments (`input_shape` and `num_actions`
            default to the chain's), or None for the default agent.
        max_steps: Most tools applied per image (>= 1; RL-Restore uses 3).
        tool_execution: "gather" or "dense" (see above).
        input_shape: (height, width, channels); None means that of `toolbox`
            (or `agent`) when given as a model, else (28, 28, 1).
        dtype: The dtype policy (see `BaseModel`); the outputs are float32.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range, or the shapes or the
            number of actions of `toolbox` and `agent` disagree.
    """

    nested_models = ("toolbox", "agent")  # serialized sub-models in the config

    def __init__(self, toolbox=None, agent=None, max_steps=3, tool_execution="gather", input_shape=None,
                 dtype=None, **kwargs):
        check_model_kwargs("RLDenoiserChain", kwargs)
        max_steps = check_positive_int(max_steps, "max_steps")
        if tool_execution not in TOOL_EXECUTIONS:
            raise ValueError(f"`tool_execution` must be one of {TOOL_EXECUTIONS}, got {tool_execution!r}.")
        if input_shape is None:
            given = [m for m in (toolbox, agent) if isinstance(m, (DenoiserToolbox, DenoiserAgent))]
            input_shape = given[0].image_shape if given else DEFAULT_INPUT_SHAPE
        input_shape = check_input_shape(input_shape)
        toolbox = _build(toolbox, "toolbox", DenoiserToolbox, {"input_shape": input_shape, "dtype": dtype})
        agent = _build(agent, "agent", DenoiserAgent,
                       {"input_shape": input_shape, "num_actions": toolbox.num_tools + 1, "dtype": dtype})
        for arg, model in (("toolbox", toolbox), ("agent", agent)):
            if model.image_shape != input_shape:
                raise ValueError(f"`{arg}` takes images of shape {model.image_shape}, but the chain's "
                                 f"`input_shape` is {input_shape}.")
        if agent.num_actions != toolbox.num_tools + 1:
            raise ValueError(f"`agent` must have num_actions = toolbox.num_tools + 1 = "
                             f"{toolbox.num_tools + 1} (the tools and 'stop'), got {agent.num_actions}.")

        with dtype_scope(dtype):
            rollout = _GreedyRollout(toolbox, agent, max_steps, tool_execution, name="rollout")
            inputs = image_input(input_shape)
            outputs = float32_output(rollout(inputs))
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)
        self.store_config(toolbox=toolbox, agent=agent, max_steps=max_steps, tool_execution=tool_execution,
                          input_shape=input_shape)
        self.rollout = rollout

    @property
    def num_tools(self):
        return self.toolbox.num_tools

    @property
    def stop_action(self):
        """The index of the "stop" action, `num_tools`."""
        return self.toolbox.num_tools

    def choose(self, images):
        """The greedy actions, int32 [batch, max_steps]: tools, `stop_action` when stopping, -1 after."""
        return self.rollout.run(images)[1]

    def with_tool_execution(self, tool_execution):
        """A chain running the same `toolbox` and `agent` objects (shared weights) with `tool_execution`."""
        return RLDenoiserChain(self.toolbox, self.agent, max_steps=self.max_steps,
                               tool_execution=tool_execution, input_shape=self.image_shape,
                               name=f"{self.name}_{tool_execution}", dtype=self.dtype_policy)


def _build(value, arg, cls, defaults):
    """`value` if a `cls`, `cls(**defaults, **value)` for a dict, `cls(**defaults)` for None."""
    if value is None:
        return cls(**defaults)
    if isinstance(value, dict):
        return cls(**{**defaults, **value})
    if not isinstance(value, cls):
        raise TypeError(f"`{arg}` must be a {cls.__name__}, a dict of its arguments or None, "
                        f"got {type(value).__name__}.")
    return value


class _GreedyRollout(keras.layers.Layer):
    """The chain's unrolled greedy rollout as one layer (see `RLDenoiserChain`); never serialized alone."""

    def __init__(self, toolbox, agent, max_steps, tool_execution, **kwargs):
        super().__init__(**kwargs)
        self.toolbox = toolbox
        self.agent = agent
        self.max_steps = max_steps
        self.tool_execution = tool_execution

    def call(self, images, training=False):
        return self.run(images, training=training)[0]

    def run(self, images, training=False):
        """Returns (restored images, actions int32 [batch, max_steps])."""
        images = tf.cast(images, self.toolbox.output_dtype)  # the tools' dtype (float32 in mixed precision)
        shape = self.toolbox.image_shape
        if images.shape.rank != 4 or not images.shape[1:].is_compatible_with(shape):
            raise ValueError(f"`images` must have shape (batch, {', '.join(map(str, shape))}), "
                             f"got {tuple(images.shape)}.")
        stop = self.toolbox.num_tools
        batch = tf.shape(images)[0]
        state_h, state_c = self.agent.initial_state(batch)
        prev = tf.zeros([batch, stop + 1], images.dtype)
        done = tf.zeros([batch], tf.bool)
        x, actions = images, []
        for _ in range(self.max_steps):
            q_values, state_h, state_c = self.agent([x, prev, state_h, state_c], training=training)
            action = tf.argmax(q_values, axis=-1, output_type=tf.int32)
            actions.append(tf.where(done, tf.constant(-1, tf.int32), action))
            done = tf.logical_or(done, tf.equal(action, stop))
            x = self.toolbox.apply(x, tf.minimum(action, stop - 1), self.tool_execution, skip=done)
            prev = tf.one_hot(action, stop + 1, dtype=images.dtype)
        return x, tf.stack(actions, axis=1)

    def compute_output_shape(self, input_shape):
        return input_shape
