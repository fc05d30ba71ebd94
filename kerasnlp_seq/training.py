"""Optimizer, precision and compiled model for a training run, from a `TrainConfig`.

The run's callbacks (resume, early stopping, schedules, history) are in
`kerasnlp_seq.run_callbacks`.

Mixed precision (`--mixed-precision mixed_float16 | mixed_bfloat16`) sets
Keras' global dtype policy while the model is built, so layers compute in
16-bit floats and keep float32 weights; every task's output layer is
float32 (`check_float32_outputs`), and for `mixed_float16`
`model.compile` wraps the optimizer in a `keras.optimizers.
LossScaleOptimizer` (Keras 3 does this itself, `auto_scale_loss=True`;
`make_optimizer` does it explicitly so it holds whoever compiles).
"""

import contextlib

import keras

@contextlib.contextmanager
def precision_policy(name):
    """Set Keras' global dtype policy for the block, then restore it.

    Args:
        name: str. `"none"` (float32), `"mixed_float16"` or
            `"mixed_bfloat16"`.
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32" if name == "none" else name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def check_float32_outputs(model):
    """Raise `ValueError` unless every model output is float32.

    Under a mixed policy a final `Dense`/softmax computing in float16
    loses probability mass to rounding and overflows the loss; the output
    layers must be built with `dtype="float32"`.
    """
    import tensorflow as tf

    bad = [(o.name, str(o.dtype)) for o in tf.nest.flatten(model.outputs)
           if str(o.dtype) != "float32" and "float" in str(o.dtype)]
    if bad:
        raise ValueError(
            "Under mixed precision the model outputs must be float32 (build "
            f"the output layer with dtype='float32'). Received: {bad}")


def make_optimizer(train_config):
    """A Keras optimizer with the run's learning rate and gradient clipping.

    With `train_config.ema` it keeps a moving average of the weights
    (`use_ema`, with the warm-up of `warm_up_ema`; `run_callbacks.make_callbacks` swaps
    it in for validation and at the end of each epoch). With
    `mixed_float16` it is wrapped in a `LossScaleOptimizer` (dynamic loss
    scaling, so small float16 gradients do not underflow to zero).

    Args:
        train_config: `TrainConfig`.
    """
    kwargs = {"learning_rate": train_config.learning_rate}
    if train_config.clipnorm:
        kwargs["clipnorm"] = train_config.clipnorm
    if train_config.clipvalue:
        kwargs["clipvalue"] = train_config.clipvalue
    if train_config.ema:
        kwargs.update(use_ema=True, ema_momentum=train_config.ema)
    classes = {"adam": keras.optimizers.Adam,
               "adamw": keras.optimizers.AdamW,
               "rmsprop": keras.optimizers.RMSprop,
               "sgd": keras.optimizers.SGD}
    optimizer = classes[train_config.optimizer](**kwargs)
    if optimizer.use_ema:
        warm_up_ema(optimizer)
    if getattr(train_config, "mixed_precision", "none") == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def warm_up_ema(optimizer):
    """Average with momentum `min(m, (1 + t) / (10 + t))` at step `t`.

    Keras' `use_ema` averages with the constant `ema_momentum` m from the
    first step, so the starting point keeps a weight of m ** t: 64% after
    443 steps at m = 0.999 (one CoNLL-2003 epoch), and the averaged model
    validates far below the trained one for the first epochs. This is the
    warm-up of TensorFlow's `tf.train.ExponentialMovingAverage(decay,
    num_updates)`: the momentum is 0.5 at step 8, 0.9 at step 80 and m from
    step (10m - 1) / (1 - m) on (8991 for 0.999). The update replaces the
    optimizer instance's own (same variables, same order, same first step),
    so the saved optimizer is a plain Keras one.

    Args:
        optimizer: a `keras.optimizers.Optimizer` built with `use_ema=True`.
    """
    from keras import ops

    momentum = optimizer.ema_momentum

    def update(trainable_variables):
        step = ops.cast(optimizer.iterations, "float32")
        # Step 0 copies the weights: the averages start at zero.
        current = ops.minimum(momentum, (1.0 + step) / (10.0 + step)) * \
            ops.cast(ops.not_equal(step, 0.0), "float32")
        for var, average in zip(trainable_variables,
                                optimizer._model_variables_moving_average):
            if average is not None:
                m = ops.cast(current, var.dtype)
                average.assign(m * average + (1.0 - m) * var)

    optimizer._update_model_variables_moving_average = update
    return optimizer


def build_and_compile(task, train_config, strategy=None):
    """The task's model, built and compiled under the run's precision policy
    and inside the strategy's scope (when distributed), with `jit_compile`.

    Args:
        task: a `Task` with fitted preprocessing.
        train_config: `TrainConfig`.
        strategy: a `tf.distribute.Strategy` or None.
    """
    from kerasnlp_seq.errors import RunError

    scope = strategy.scope() if strategy else contextlib.nullcontext()
    with scope, precision_policy(train_config.mixed_precision):
        model = task.build_model()
        if train_config.mixed_precision != "none":
            try:
                check_float32_outputs(model)
            except ValueError as e:
                raise RunError(f"task {task.name!r}: {e}") from None
        # Off: Keras' own choice ("auto": XLA on a GPU where it can).
        jit = {"jit_compile": True} if train_config.jit_compile else {}
        model.compile(optimizer=make_optimizer(train_config), **jit,
                      **task.compile_args())
    return model
