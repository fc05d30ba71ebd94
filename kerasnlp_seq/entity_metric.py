"""Entity-level F1 as a Keras metric, in graph ops, for model selection while training.

`EntityF1` counts gold, predicted and exactly matching entities of integer
tag sequences batch by batch, so `fit` can report (and early stopping can
watch) `val_tags_f1`. Entities are read as `kerasnlp_seq.tagging` reads
them: IOB1/IOB2 with conlleval's chunk rules, BIOES strictly. The counts
are vectorised: an entity is identified by its last token, its type and the
position of its first token (`first_tokens()`), so two sequences share an
entity exactly when they agree on those three at some position.

The final scores of a run come from `tagging.entity_scores` on tag strings;
this metric agrees with it on the same tags (see `tests/test_ner.py`).

Example:

>>> m = EntityF1(["O", "B-PER", "I-PER"], scheme="iob2")
>>> m.update_state([[1, 2, 0]], [[1, 2, 1]])
>>> round(float(m.result()), 4)  # 1 correct of 1 gold, 2 predicted
0.6667
"""

import keras
from keras import ops

from kerasnlp_seq.tagging import _split, validate_scheme

try:  # The mask Keras attaches to tensors; no public accessor in Keras 3.
    from keras.src.backend import get_keras_mask as _get_keras_mask
except ImportError:  # pragma: no cover
    def _get_keras_mask(x):
        return getattr(x, "_keras_mask", None)

_PREFIX_IDS = {"O": 0, "B": 1, "I": 2, "E": 3, "S": 4}


def last_true(condition):
    """Index of the last True at or before each step, -1 if none yet.

    A cumulative max, built from a sort and a cumulative sum: loop-free, so
    it traces fast for any (unknown) sequence length.

    Args:
        condition: bool `(batch, time)`.
    """
    steps = ops.arange(ops.shape(condition)[1], dtype="int32")[None, :]
    # True positions first, in order; then the others.
    key = ops.where(condition, steps, steps + ops.shape(condition)[1])
    order = ops.cast(ops.argsort(key, axis=1), "int32")
    count = ops.cumsum(ops.cast(condition, "int32"), axis=1)
    found = ops.take_along_axis(order, ops.maximum(count - 1, 0), axis=1)
    return ops.where(count > 0, found, -1)


def entity_ends(prefix, kind, scheme):
    """Where entities end, and where each starts: `(is_end, start)`.

    Args:
        prefix: int `(batch, time)` prefix ids (O 0, B 1, I 2, E 3, S 4),
            with padding set to O.
        kind: int `(batch, time)` type ids (0 for O).
        scheme: str. `"iob1"`, `"iob2"` or `"bioes"`.

    Returns:
        bool `(batch, time)`: an entity ends at this token; int32
        `(batch, time)`: the index of its first token (meaningful where
        `is_end`).
    """
    steps = ops.arange(ops.shape(prefix)[1], dtype="int32")[None, :]
    outside = ops.zeros_like(prefix[:, :1])
    prev_p = ops.concatenate([outside, prefix[:, :-1]], axis=1)
    prev_k = ops.concatenate([outside, kind[:, :-1]], axis=1)
    if scheme == "bioes":
        linked = ((prefix == 2) | (prefix == 3)) & (
            (prev_p == 1) | (prev_p == 2)) & (kind == prev_k)
        breaks = last_true(ops.logical_not(linked))
        first = ops.take_along_axis(prefix, ops.maximum(breaks, 0), axis=1)
        is_end = (prefix == 4) | ((prefix == 3) & (first == 1))
        return is_end, ops.where(prefix == 4, steps, breaks)
    next_p = ops.concatenate([prefix[:, 1:], outside], axis=1)
    next_k = ops.concatenate([kind[:, 1:], outside], axis=1)
    inside = prefix != 0
    starts = inside & ((prefix == 1) | (prev_p == 0) | (prev_k != kind))
    is_end = inside & ((next_p == 0) | (next_p == 1) | (next_k != kind))
    return is_end, last_true(starts)


@keras.saving.register_keras_serializable(package="kerasnlp_seq")
class EntityF1(keras.metrics.Metric):
    """Micro entity F1 (or precision / recall) over integer tag sequences.

    Args:
        tags: list of str. Tag names by id (`"O"`, `"B-PER"`, ...).
        scheme: str. `"iob1"`, `"iob2"` or `"bioes"`.
        mode: str. `"f1"`, `"precision"` or `"recall"`.
        name: str. The metric name (shown as `val_tags_<name>`).

    Call arguments (`update_state`):
        y_true: int `(batch, time)` gold tag ids.
        y_pred: int `(batch, time)` predicted tag ids; its Keras mask (or
            `sample_weight`) marks the real tokens, right-padded.
    """

    def __init__(self, tags, scheme="iob2", mode="f1", name="f1",
                 dtype=None):
        super().__init__(name=name, dtype=dtype)
        if mode not in ("f1", "precision", "recall"):
            raise ValueError(
                "Unknown `mode` for `EntityF1`. Expected one of "
                f"['f1', 'precision', 'recall']. Received: mode={mode!r}")
        self.tags = [str(t) for t in tags]
        self.scheme = validate_scheme(scheme)
        self.mode = mode
        types = sorted({_split(t, self.scheme)[1] for t in self.tags} - {""})
        parts = [_split(t, self.scheme) for t in self.tags]
        self._prefix = [_PREFIX_IDS[p] for p, _ in parts]
        self._kind = [types.index(k) + 1 if k else 0 for _, k in parts]
        self.counts = self.add_variable(
            shape=(3,), initializer="zeros", dtype="float32", name="counts")

    def _entities(self, ids, mask):
        ids = ops.clip(ops.cast(ids, "int32"), 0, len(self.tags) - 1)
        prefix = ops.take(ops.array(self._prefix, dtype="int32"), ids)
        kind = ops.take(ops.array(self._kind, dtype="int32"), ids)
        prefix = ops.where(mask, prefix, 0)
        kind = ops.where(mask, kind, 0)
        is_end, start = entity_ends(prefix, kind, self.scheme)
        return is_end, start, kind

    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = _get_keras_mask(y_pred)
        if mask is None and sample_weight is not None:
            mask = ops.reshape(ops.cast(sample_weight, "float32"),
                               ops.shape(y_pred)) > 0
        if mask is None:
            mask = ops.ones(ops.shape(y_pred), dtype="bool")
        mask = ops.cast(mask, "bool")
        t_end, t_start, t_kind = self._entities(y_true, mask)
        p_end, p_start, p_kind = self._entities(y_pred, mask)
        hits = t_end & p_end & (t_start == p_start) & (t_kind == p_kind)
        total = lambda x: ops.sum(ops.cast(x, "float32"))  # noqa: E731
        self.counts.assign_add(ops.stack([total(hits), total(p_end),
                                          total(t_end)]))

    def result(self):
        hits, found, gold = self.counts[0], self.counts[1], self.counts[2]
        precision = ops.divide_no_nan(hits, found)
        recall = ops.divide_no_nan(hits, gold)
        if self.mode == "precision":
            return precision
        if self.mode == "recall":
            return recall
        return ops.divide_no_nan(2 * precision * recall, precision + recall)

    def reset_state(self):
        self.counts.assign(ops.zeros((3,), dtype="float32"))

    def get_config(self):
        return {"tags": self.tags, "scheme": self.scheme, "mode": self.mode,
                "name": self.name, "dtype": self.dtype}
