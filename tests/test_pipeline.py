"""The tf.data pipeline: bucketing, token budgets, shuffling, order.

Token-budget batches must hold every example exactly once and stay within
their budget; shuffling must still mix examples across buckets from epoch to
epoch; and a model's validation results must not depend on how examples were
batched (padding is masked).
"""

import numpy as np
import pytest
import tensorflow as tf

from kerasnlp_seq import pipeline


def _sequences(n=200, seed=0, longest=120):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, longest + 1, size=n)
    # Element i is [i+1, i+1, ...] so batches can be traced back to examples.
    return [[i + 1] * int(k) for i, k in enumerate(lengths)]


def _dataset(rows):
    return tf.data.Dataset.from_generator(
        lambda: iter(rows), output_signature=tf.TensorSpec([None], tf.int32))


def _batches(ds):
    return [b.numpy() for b in ds]


def test_bucket_batch_sizes_follow_the_budget():
    edges = pipeline.bucket_boundaries(400)
    sizes = pipeline.bucket_batch_sizes(edges, 400, 256, batch_tokens=4096)
    assert len(sizes) == len(edges) + 1
    tops = [e - 1 for e in edges] + [400]
    assert sizes == [max(1, min(256, 4096 // t)) for t in tops]
    assert sizes[0] == 256 and sizes[-1] == 10  # capped, then 4096 // 400
    assert sizes == sorted(sizes, reverse=True)
    assert pipeline.bucket_batch_sizes(edges, 400, 32) == [32] * len(sizes)
    # A budget below the longest sequence still makes batches of one.
    assert pipeline.bucket_batch_sizes([8], 50, 16, batch_tokens=10)[-1] == 1


@pytest.mark.parametrize("budget", [None, 256, 1000])
def test_token_budget_batches_hold_every_example_once(budget):
    rows = _sequences()
    ds = pipeline.bucketed_batches(_dataset(rows), 64, 120, tf.size,
                                   batch_tokens=budget)
    batches = _batches(ds)
    seen = sorted(int(b[r][0]) for b in batches for r in range(len(b)))
    assert seen == list(range(1, len(rows) + 1))
    for b in batches:
        assert len(b) <= 64
        if budget and len(b) > 1:
            assert b.size <= budget  # padded tokens of the batch
    if budget == 256:  # short texts in big batches, long ones in small
        sizes = {b.shape[1]: len(b) for b in batches}
        assert max(sizes.values()) > min(sizes.values())


def test_bucketing_pads_less_than_plain_batches():
    rows = _sequences(n=300)
    real = sum(len(r) for r in rows)

    def padded(bucket):
        ds = pipeline.bucketed_batches(_dataset(rows), 32, 120, tf.size,
                                       bucket=bucket)
        return sum(b.size for b in _batches(ds))

    assert padded(True) < 0.8 * padded(False)
    assert padded(True) >= real


def test_unbucketed_batches_keep_input_order():
    rows = _sequences(n=50)
    ds = pipeline.bucketed_batches(_dataset(rows), 8, 120, tf.size,
                                   bucket=False, batch_tokens=100)
    order = [int(r[0]) for b in _batches(ds) for r in b]
    assert order == list(range(1, 51))


def test_shuffling_stays_random_across_buckets():
    rows = _sequences(n=160)
    ds = _dataset(rows).shuffle(160, seed=1, reshuffle_each_iteration=True)
    ds = pipeline.finish(pipeline.bucketed_batches(ds, 16, 120, tf.size,
                                                   batch_tokens=600),
                         training=True, seed=1)
    epochs = [[tuple(sorted(int(r[0]) for r in b)) for b in _batches(ds)]
              for _ in range(2)]
    # Different batches each epoch, and batches of different lengths come
    # in a mixed order rather than bucket by bucket.
    assert set(epochs[0]) != set(epochs[1])
    widths = [len(rows[b[0] - 1]) for b in epochs[0]]
    assert widths != sorted(widths) and widths != sorted(widths, reverse=True)


def test_encode_caches_in_memory_on_disk_or_not(tmp_path):
    calls = []

    def fn(x):
        tf.py_function(lambda: calls.append(1), [], [])
        return x * 2

    base = tf.data.Dataset.range(5)
    for cache in (True, str(tmp_path / "cache"), False):
        calls.clear()
        ds = pipeline.encode(base, fn, cache=cache)
        assert [int(v) for v in ds] == [0, 2, 4, 6, 8]
        assert [int(v) for v in ds] == [0, 2, 4, 6, 8]
        assert len(calls) == (10 if cache is False else 5)


def test_bad_budget_is_rejected():
    with pytest.raises(ValueError, match="batch_tokens"):
        pipeline.bucketed_batches(_dataset([[1]]), 4, 8, tf.size,
                                  batch_tokens=0)


def test_validation_results_do_not_depend_on_bucketing(helpers):
    """The same examples, bucketed with a budget or not: same metrics."""
    import keras

    from kerasnlp_seq.text_task import TextClassificationTask

    task = TextClassificationTask(TextClassificationTask.Config(
        units=8, embedding_dim=8, vocab_size=100))
    task.name = "pipeline_test"
    examples = [{"text": t, "label": label}
                for t, label in helpers.make_texts(70, seed=5, max_len=30)]
    task.adapt(examples)
    keras.utils.set_random_seed(0)
    model = task.build_model()
    model.compile(**task.compile_args())
    plain = task.dataset(examples, 16, training=False)
    bucketed = task.dataset(examples, 16, training=True, seed=3,
                            batch_tokens=120)
    a = model.evaluate(plain, verbose=0, return_dict=True)
    b = model.evaluate(bucketed, verbose=0, return_dict=True)
    assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
    assert a["accuracy"] == pytest.approx(b["accuracy"])


def test_tagging_batches_take_a_token_budget():
    from kerasnlp_seq.tagging_pipeline import tagging_dataset

    sentences = [["w"] * k for k in (2, 3, 3, 9, 10, 30, 2, 4)]

    def encode(tokens):
        ids = tf.ones_like(tokens, dtype=tf.int32).to_tensor()
        return {"words": ids}

    ds = tagging_dataset(sentences, encode, batch_size=8, training=True,
                         tag_ids=[[0] * len(s) for s in sentences], seed=0,
                         batch_tokens=20)
    batches = [(x["words"].shape, y.shape) for x, y in ds]
    assert sum(s[0] for s, _ in batches) == len(sentences)
    assert all(s[0] * s[1] <= 20 or s[0] == 1 for s, _ in batches)


def test_time_limit_stops_training_mid_epoch():
    import keras
    import numpy as np

    from kerasnlp_seq.run_callbacks import TimeLimit

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(loss="mse")
    limit = TimeLimit(minutes=0.0)
    history = model.fit(np.zeros((64, 4)), np.zeros((64, 1)), batch_size=8,
                        epochs=5, callbacks=[limit], verbose=0)
    assert limit.stopped_epoch == 0
    assert len(history.history["loss"]) == 1  # stopped in the first epoch


def test_lr_decay_patience_halves_the_rate_on_a_plateau(tmp_path):
    import types

    import keras
    import numpy as np

    from kerasnlp_seq.config import TrainConfig
    from kerasnlp_seq.task import Task
    from kerasnlp_seq.run_callbacks import make_callbacks

    task = types.SimpleNamespace(monitor=Task.monitor)  # all it reads

    config = TrainConfig(lr_decay_patience=1, lr_decay_factor=0.5,
                         patience=10)
    callbacks = make_callbacks(task, config, str(tmp_path))
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(1e-9), loss="mse")
    x = np.random.default_rng(0).normal(size=(32, 4))
    # A rate of 1e-9 leaves the validation loss flat: every epoch after the
    # first is a plateau epoch, and patience 1 halves the rate after each.
    history = model.fit(x, x[:, :1], validation_data=(x, x[:, :1]),
                        epochs=4, callbacks=callbacks, verbose=0)
    assert np.allclose(history.history["learning_rate"],
                       [1e-9, 1e-9, 5e-10, 2.5e-10], rtol=1e-4)
    # Improving, but by less than min_delta per epoch: decays just the same.
    model.compile(keras.optimizers.SGD(1e-3), loss="mse")
    (tmp_path / "c").mkdir()
    small_gains = make_callbacks(task, TrainConfig(
        lr_decay_patience=1, lr_decay_min_delta=10.0, patience=10),
        str(tmp_path / "c"))
    history = model.fit(x, x[:, :1], validation_data=(x, x[:, :1]),
                        batch_size=32, epochs=3, callbacks=small_gains,
                        verbose=0)
    losses = history.history["val_loss"]
    assert losses[0] > losses[1] > losses[2]
    assert np.allclose(history.history["learning_rate"],
                       [1e-3, 1e-3, 5e-4], rtol=1e-4)
    no_decay = make_callbacks(task, TrainConfig(), str(tmp_path / "b"))
    assert not any(isinstance(c, keras.callbacks.ReduceLROnPlateau)
                   for c in no_decay)


def test_cosine_schedule_falls_over_the_epochs_or_the_time_budget(tmp_path):
    import math
    import types

    import keras
    import numpy as np
    import pytest

    from kerasnlp_seq.config import TrainConfig
    from kerasnlp_seq.errors import ConfigError
    from kerasnlp_seq.task import Task
    from kerasnlp_seq.run_callbacks import CosineDecay, make_callbacks

    task = types.SimpleNamespace(monitor=Task.monitor)
    x = np.random.default_rng(0).normal(size=(32, 4))

    def fit(callbacks, epochs):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile(keras.optimizers.SGD(0.1), loss="mse")
        history = model.fit(x, x[:, :1], validation_data=(x, x[:, :1]),
                            batch_size=8, epochs=epochs, callbacks=callbacks,
                            verbose=0)
        return history.history["learning_rate"]

    # By epochs: each epoch trains at the rate of the progress at its start.
    config = TrainConfig(lr_schedule="cosine", epochs=4, learning_rate=0.1,
                         lr_final_ratio=0.2, patience=10)
    rates = fit(make_callbacks(task, config, str(tmp_path)), 4)
    expected = [0.1 * (0.2 + 0.8 * 0.5 * (1 + math.cos(math.pi * e / 4)))
                for e in range(4)]
    assert np.allclose(rates, expected, rtol=1e-5)
    assert expected[0] == pytest.approx(0.1)
    assert rates[0] > rates[1] > rates[2] > rates[3]

    # By time: the clock, not the epoch count, says how far the run is.
    decay = CosineDecay(0.1, epochs=1000, minutes=1.0, final_ratio=0.0)
    now = [0.0]
    decay.clock = lambda: now[0]

    class Tick(keras.callbacks.Callback):  # 15 s of "training" per batch
        def on_train_batch_end(self, batch, logs=None):
            now[0] += 15.0

    # 4 batches per epoch: epoch 2 starts at 60 s, the end of the budget.
    rates = fit([decay, Tick()], 3)
    assert rates[0] == pytest.approx(decay.rate(45 / 60))  # its last batch
    assert rates[1] == pytest.approx(0.0, abs=1e-12)
    assert decay.rate(0.5) == pytest.approx(0.05)

    with pytest.raises(ConfigError, match="one learning-rate schedule"):
        TrainConfig(lr_schedule="cosine", lr_decay_patience=1)
    with pytest.raises(ConfigError, match="lr_final_ratio"):
        TrainConfig(lr_final_ratio=1.5)
    constant = make_callbacks(task, TrainConfig(), str(tmp_path))
    assert not any(isinstance(c, CosineDecay) for c in constant)


def test_ema_validates_keeps_and_resumes_the_averaged_weights(tmp_path):
    """`--ema`: the validation loss is the averaged weights' loss, the
    best epoch's averaged weights become the model, and an interrupted run
    resumes (raw weights and averages from the backup) to the same end."""
    import types

    import keras
    import numpy as np
    import pytest

    from kerasnlp_seq.config import ConfigError, TrainConfig
    from kerasnlp_seq.task import Task
    from kerasnlp_seq.run_callbacks import make_callbacks
    from kerasnlp_seq.training import make_optimizer

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32") + 0.3
    task = types.SimpleNamespace(monitor=Task.monitor)
    config = TrainConfig(ema=0.8, patience=10, learning_rate=0.05,
                         optimizer="sgd")

    class Record(keras.callbacks.Callback):
        """What the callbacks after the swap see at each epoch's end."""

        def __init__(self, stop_after=None):
            super().__init__()
            self.weights, self.losses = [], []
            self.stop_after = stop_after

        def on_epoch_end(self, epoch, logs=None):
            kernel, bias = self.model.get_weights()
            self.weights.append([kernel, bias])
            self.losses.append(float(np.mean((x @ kernel + bias - y) ** 2)))
            if epoch + 1 < self.params["epochs"]:  # the last one settles
                raw = self.model.optimizer._model_variables_moving_average
                assert not np.allclose(raw[0].numpy(), kernel)  # swapped
            if epoch + 1 == self.stop_after:
                raise KeyboardInterrupt

    def fit(run_dir, epochs, record):
        run_dir.mkdir(exist_ok=True)
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(make_optimizer(config), loss="mse")
        model.optimizer.build(model.trainable_variables)
        callbacks = make_callbacks(task, config, str(run_dir)) + [record]
        try:
            history = model.fit(x, y, validation_data=(x, y), epochs=epochs,
                                batch_size=16, shuffle=False,
                                callbacks=callbacks, verbose=0)
        except KeyboardInterrupt:
            return model, None
        return model, history.history

    record = Record()
    model, history = fit(tmp_path / "a", 6, record)
    # Validation ran on the weights the end-of-epoch callbacks got.
    assert np.allclose(history["val_loss"], record.losses, rtol=1e-4)
    best = int(np.argmin(history["val_loss"]))
    for got, want in zip(model.get_weights(), record.weights[best]):
        assert np.allclose(got, want)

    fit(tmp_path / "b", 6, Record(stop_after=3))
    resumed = Record()
    model_b, history_b = fit(tmp_path / "b", 6, resumed)
    assert len(resumed.losses) == 3  # epochs 4-6 only
    assert np.allclose(resumed.losses, record.losses[3:], rtol=1e-4)
    assert np.allclose(history_b["val_loss"], history["val_loss"][3:],
                       rtol=1e-4)

    with pytest.raises(ConfigError, match=r"`ema` .* \(0.0, 1.0\)"):
        TrainConfig(ema=1.0)


def test_ema_warms_up_like_tensorflows_moving_average():
    """Momentum min(m, (1 + t) / (10 + t)), the first step a copy."""
    import keras
    import numpy as np

    from kerasnlp_seq.config import TrainConfig
    from kerasnlp_seq.training import make_optimizer

    optimizer = make_optimizer(TrainConfig(ema=0.9, optimizer="sgd",
                                           learning_rate=1.0))
    v = keras.Variable(0.0)
    optimizer.build([v])
    expected = None
    for t in range(30):
        optimizer.apply([keras.ops.convert_to_tensor(1.0)], [v])
        value = -(t + 1.0)  # SGD, gradient 1, rate 1
        momentum = 0.0 if t == 0 else min(0.9, (1 + t) / (10 + t))
        expected = value if expected is None else (
            momentum * expected + (1 - momentum) * value)
        average = optimizer._model_variables_moving_average[0]
        np.testing.assert_allclose(float(average.numpy()), expected,
                                   rtol=1e-5)
    # Keras' own constant momentum would lag far behind by now.
    constant = -1.0
    for t in range(1, 30):
        constant = 0.9 * constant + 0.1 * -(t + 1.0)
    assert abs(expected - constant) > 5
