"""Training beyond one device with `tf.distribute`, and who writes what.

`--distribution mirrored` trains one model replica per local device (every
GPU, or every logical CPU when there is no GPU) with
`tf.distribute.MirroredStrategy`; `--distribution multi_worker` trains over
several machines (or processes) with
`tf.distribute.MultiWorkerMirroredStrategy`, which reads the cluster from
the `TF_CONFIG` environment variable. The batch size is global: each step
splits one batch across the replicas, so a run's results do not depend on
how many devices share it.

The model is built and compiled inside `strategy.scope()`. In a
multi-worker run every worker runs the same program, but only the chief
(task `chief`, or `worker` 0 when there is no chief) writes the run
directory; the other workers write their copies (model, logs, backups) to
a temporary directory that is removed at the end, as the TensorFlow
multi-worker guide prescribes. On `--resume` every worker restores the
chief's backup
(`kerasnlp_seq.run_callbacks.DistributedBackupAndRestore`).

Example (two workers on one machine, one shell each):

```
TF_CONFIG='{"cluster": {"worker": ["localhost:12345", "localhost:23456"]},
            "task": {"type": "worker", "index": 0}}' \\
    kerasnlp-seq train sentiment --distribution multi_worker --output run
TF_CONFIG='{... "task": {"type": "worker", "index": 1}}' \\
    kerasnlp-seq train sentiment --distribution multi_worker --output run
```
"""

import json
import os
import shutil
import tempfile

from kerasnlp_seq.errors import RunError

DISTRIBUTIONS = ("none", "mirrored", "multi_worker")


def tf_config():
    """The parsed `TF_CONFIG` (a dict), or `{}` when it is not set."""
    raw = os.environ.get("TF_CONFIG", "")
    if not raw.strip():
        return {}
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as e:
        raise RunError(f"TF_CONFIG: invalid JSON ({e.msg}).") from None
    if not isinstance(config, dict):
        raise RunError("TF_CONFIG: expected a JSON object.")
    return config


def check_tf_config(config):
    """Raise `RunError` unless `config` names a cluster and this task in it."""
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not cluster:
        raise RunError(
            "--distribution multi_worker needs TF_CONFIG with a `cluster` "
            '(e.g. {"cluster": {"worker": ["host1:port", "host2:port"]}, '
            '"task": {"type": "worker", "index": 0}}).')
    if not isinstance(task, dict) or "type" not in task:
        raise RunError("TF_CONFIG: no `task` with a `type` and an `index`.")
    members = cluster.get(task["type"])
    index = task.get("index", 0)
    if not isinstance(members, list) or not isinstance(index, int) or \
            not 0 <= index < len(members):
        raise RunError(
            f"TF_CONFIG: task {task['type']}:{index} is not in the cluster "
            f"{sorted(cluster)}.")


def is_chief(distribution):
    """Whether this process writes the run directory.

    Args:
        distribution: str. `"none"`, `"mirrored"` or `"multi_worker"`.
    """
    if distribution != "multi_worker":
        return True
    config = tf_config()
    task = config.get("task", {})
    kind, index = task.get("type", "worker"), task.get("index", 0)
    if "chief" in config.get("cluster", {}):
        return kind == "chief"
    return kind == "worker" and index == 0


def worker_label():
    """`"worker_1"` etc.: this process in the cluster, for temp names."""
    task = tf_config().get("task", {})
    return f"{task.get('type', 'worker')}_{task.get('index', 0)}"


def make_strategy(distribution):
    """The `tf.distribute.Strategy` for a run, or None for one device.

    Call it before any other TensorFlow work: a multi-worker strategy
    configures the runtime's collective ops, which is only possible before
    TensorFlow has started.

    Args:
        distribution: str. `"none"`, `"mirrored"` or `"multi_worker"`.
    """
    if distribution not in DISTRIBUTIONS:
        raise RunError(
            f"Unknown `distribution`. Expected one of {list(DISTRIBUTIONS)}. "
            f"Received: distribution={distribution!r}")
    if distribution == "none":
        return None
    if distribution == "multi_worker":
        check_tf_config(tf_config())
    import tensorflow as tf

    if distribution == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus or tf.config.list_logical_devices(
            "CPU")]
        return tf.distribute.MirroredStrategy(devices)
    patch_multi_worker_logs()
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except (RuntimeError, ValueError) as e:
        raise RunError(
            f"cannot start the multi-worker strategy ({e}); it must be the "
            "first TensorFlow work of the process.") from None


def shard_by_data(dataset):
    """Let each worker take every n-th batch (files are not split by name).

    Streamed data comes from a file or two, fewer than the workers, so
    `tf.data`'s default sharding by file would not apply; sharding by data
    works for every pipeline.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA)
    return dataset.with_options(options)


def write_directory(output, distribution):
    """Where this process writes: `output` on the chief, else a temp dir."""
    if is_chief(distribution):
        return output
    return tempfile.mkdtemp(prefix=f"kerasnlp_seq_{worker_label()}_")


def remove_worker_directory(path, output):
    """Delete a non-chief worker's temporary directory (never `output`)."""
    if os.path.abspath(path) != os.path.abspath(output):
        shutil.rmtree(path, ignore_errors=True)


def build_before_fit(model, dataset, strategy):
    """Build a compiled model's metrics and loss from one undistributed batch.

    Keras 3.15's `fit` and `evaluate` under a strategy first average the
    first distributed batch over the replicas to learn the input shapes
    (`_maybe_symbolic_build`), which fails when a batch does not split
    evenly: the replicas' shares differ in size, as the last batch of a
    length bucket usually does. Building from a host-side batch first and
    skipping that step for this model avoids it; the training steps
    themselves handle uneven shares.

    Args:
        model: a compiled `keras.Model`, built inside `strategy.scope()`.
        dataset: the training `tf.data.Dataset` (not distributed).
        strategy: the `tf.distribute.Strategy`.
    """
    batch = next(iter(dataset.take(1)))
    with strategy.scope():
        model._symbolic_build(data_batch=batch)
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None


def patch_multi_worker_logs():
    """Average scalar logs over workers in Keras' multi-worker `fit`.

    Keras 3 reduces each step's logs across workers with
    `strategy.reduce("MEAN", v, axis=0)`, which fails on scalars
    ("Invalid reduction dimension 0 for input with 0 dimensions",
    tensorflow/tensorflow#72388). This replaces that one reduction with
    `axis=None` (the mean over replicas) and leaves every other case to
    Keras. Idempotent.
    """
    from keras.src.backend.tensorflow import trainer
    from keras.src import tree

    original = trainer.reduce_per_replica
    if getattr(original, "_kerasnlp_seq_patch", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and \
                trainer._collective_all_reduce_multi_worker(strategy):
            return tree.map_structure(
                lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return original(values, strategy, reduction)

    reduce_per_replica._kerasnlp_seq_patch = True
    trainer.reduce_per_replica = reduce_per_replica
