"""Text classification parts shared by many-to-one tasks (sentiment, spam).

- `LabelSet`: the label names, in model output order, saved beside the model.
- `build_text_classifier`: ids -> Embedding(mask_zero) -> recurrent stack
  from the shared builder -> masked pooling -> softmax; over words,
  characters (`kerasnlp_seq.chars`) or both.
- `classification_metrics`: accuracy, macro precision / recall / F1 and
  per-class F1 over the classes present (as scikit-learn's), cross-entropy.
- `export_text_classifier`: a SavedModel from raw strings to label strings
  and class probabilities, with the vocabulary lookup inside the graph.
"""

import json
import os

import numpy as np

from kerasnlp_seq.errors import DataError

POOLINGS = ("last", "max", "mean", "max_mean")
REPRESENTATIONS = ("word", "char", "word_char")


class LabelSet:
    """The class names of a classifier, in the order of its outputs.

    Args:
        names: list of str. Class names; index = output unit.
    """

    def __init__(self, names):
        self.names = [str(n) for n in names]
        self.index = {n: i for i, n in enumerate(self.names)}

    def __len__(self):
        return len(self.names)

    @classmethod
    def from_labels(cls, labels, names=None, source="training data"):
        """The sorted distinct labels (numerically if all are integers).

        Args:
            labels: iterable of str.
            names: list of str or None. A fixed order (e.g. TFDS ClassLabel
                names), checked to cover every label.
            source: str. Where the labels came from, for messages.
        """
        seen = sorted(set(labels))
        if names is None:
            if all(s.lstrip("-").isdigit() for s in seen):
                seen.sort(key=int)
            names = seen
        if len(seen) < 2:
            raise DataError(
                f"only one class {seen}; a classifier needs examples of at "
                "least two classes.", source)
        return cls(names)

    def encode(self, labels, source="data", lines=None):
        """Label strings -> int ids; a `DataError` names an unknown label."""
        ids = []
        for k, label in enumerate(labels):
            if label not in self.index:
                line = lines[k] if lines else None
                raise DataError(
                    f"label {label!r} was not seen in training. Known labels: "
                    f"{self.names}.", source, line)
            ids.append(self.index[label])
        return np.asarray(ids, dtype="int32")

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.names, f, indent=1)

    @classmethod
    def load(cls, path):
        if not os.path.exists(path):
            raise DataError("label file not found.", path)
        with open(path, encoding="utf-8") as f:
            return cls(json.load(f))


def build_text_classifier(vocab_size, num_classes, embedding_dim=128,
                          cell="gru", units=64, num_layers=1,
                          bidirectional=True, merge_mode="concat",
                          pooling="max_mean", dropout=0.3,
                          recurrent_dropout=0.0, residual=False,
                          embedding_dropout=0.0, word_dropout=0.0,
                          name="text_classifier",
                          representation="word", char_vocab_size=None,
                          char_embedding_dim=32, char_filters=64,
                          char_kernel_size=5, char_pool_size=3):
    """A many-to-one recurrent classifier over token and/or character ids.

    `representation="word"` (the default): one input of token ids `(batch,
    words)`. `"char"`: one input of character ids `(batch, chars)`, encoded
    by `kerasnlp_seq.chars.text_char_features`. `"word_char"`: a dict input
    `{"token_ids": ..., "char_ids": ...}`; both encodings are concatenated.

    Args:
        vocab_size: int. Embedding input size (padding 0 and OOV included);
            ignored for `"char"`.
        num_classes: int. Number of output classes (softmax).
        embedding_dim: int. Embedding width.
        cell, units, num_layers, bidirectional, merge_mode, dropout,
            recurrent_dropout, residual: as in `build_recurrent`.
        pooling: str. `"last"` (final state), `"max"`, `"mean"` or
            `"max_mean"` over the masked outputs of the last layer.
        embedding_dropout: float. `SpatialDropout1D` rate on embeddings.
        word_dropout: float. In training, the embeddings of whole tokens
            are zeroed at this rate (the rest scaled by `1 / (1 - rate)`),
            so no single word, such as a film's title or cast, decides the
            label (Iyyer et al. 2015). Applies to the word input only.
        name: str. Model name.
        representation: str. `"word"`, `"char"` or `"word_char"`.
        char_vocab_size: int. Character ids (needed with characters).
        char_embedding_dim, char_filters, char_kernel_size, char_pool_size:
            the character encoder's (see `text_char_features`).

    Example:

    >>> model = build_text_classifier(1000, 2, embedding_dim=16, units=8)
    >>> model.output_shape
    (None, 2)
    """
    import keras

    from kerasnlp_seq.builder import build_recurrent
    from kerasnlp_seq.layers import MaskedGlobalPooling

    if pooling not in POOLINGS:
        raise ValueError(
            "Unknown `pooling` for `build_text_classifier()`. Expected one of "
            f"{list(POOLINGS)}. Received: pooling={pooling!r}")
    if representation not in REPRESENTATIONS:
        raise ValueError(
            "Unknown `representation` for `build_text_classifier()`. Expected "
            f"one of {list(REPRESENTATIONS)}. Received: "
            f"representation={representation!r}")
    if representation != "word" and not char_vocab_size:
        raise ValueError(
            "`build_text_classifier()` needs `char_vocab_size` with "
            f"representation={representation!r}. Received: "
            f"char_vocab_size={char_vocab_size!r}")
    inputs, features = {}, []
    if representation in ("word", "word_char"):
        inputs["token_ids"] = keras.Input(shape=(None,), dtype="int32",
                                          name="token_ids")
        x = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True,
                                   name="embedding")(inputs["token_ids"])
        if word_dropout:
            from kerasnlp_seq.decoder import word_dropout_layer

            x = word_dropout_layer(word_dropout, "word_dropout")(x)
        if embedding_dropout:
            x = keras.layers.SpatialDropout1D(embedding_dropout)(x)
        x = build_recurrent(
            cell=cell, units=units, num_layers=num_layers,
            bidirectional=bidirectional, merge_mode=merge_mode,
            return_sequences=pooling != "last", dropout=dropout,
            recurrent_dropout=recurrent_dropout, residual=residual,
            name="encoder")(x)
        if pooling != "last":
            x = MaskedGlobalPooling(pooling, name="pooling")(x)
        features.append(x)
    if representation in ("char", "word_char"):
        from kerasnlp_seq.chars import text_char_features

        inputs["char_ids"] = keras.Input(shape=(None,), dtype="int32",
                                         name="char_ids")
        features.append(text_char_features(
            inputs["char_ids"], char_vocab_size,
            embedding_dim=char_embedding_dim, filters=char_filters,
            kernel_size=char_kernel_size, pool_size=char_pool_size, cell=cell,
            units=units, num_layers=num_layers, bidirectional=bidirectional,
            merge_mode=merge_mode, pooling=pooling, dropout=dropout,
            recurrent_dropout=recurrent_dropout, residual=residual,
            embedding_dropout=embedding_dropout, name="char"))
    x = features[0] if len(features) == 1 else keras.layers.Concatenate(
        name="features")(features)
    if dropout:
        x = keras.layers.Dropout(dropout, name="output_dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax",
                                 dtype="float32", name="probabilities")(x)
    if len(inputs) == 1:
        inputs = next(iter(inputs.values()))
    return keras.Model(inputs, outputs, name=name)


def classification_metrics(y_true, probs, label_names):
    """Flat metrics of class probabilities against integer labels.

    Per-class scores and macro averages are those of scikit-learn's
    `classification_report` and `f1_score(average="macro")` with
    `labels=None` and `zero_division=0`: they cover the classes *present*,
    in the gold labels or in the predictions. A class that is neither (no
    example of it, none predicted) was not measured by these examples: it
    gets no `f1_<label>` key, as it gets no row in scikit-learn's report,
    and stays out of the macro averages instead of pulling them down with
    a 0. A class predicted but never gold keeps precision 0 (and F1 0):
    every one of its predictions is an error. One gold but never predicted
    has recall 0 (and F1 0).

    Args:
        y_true: int array. Gold class ids.
        probs: float array, examples x classes. Class probabilities.
        label_names: list of str. Class names in id order.

    Returns:
        dict: `accuracy`, `precision`, `recall`, `f1` (macro averages over
        the classes present), `loss` (mean cross-entropy), `f1_<label>`
        per class present, and `support` (number of examples).

    Example:

    >>> probs = np.eye(3)[[0, 1, 1, 1]]  # predicted: a, b, b, b
    >>> m = classification_metrics([0, 0, 1, 1], probs, ["a", "b", "c"])
    >>> round(m["f1_a"], 4), m["f1_b"], "f1_c" in m, round(m["f1"], 4)
    (0.6667, 0.8, False, 0.7333)
    """
    y_true = np.asarray(y_true)
    probs = np.asarray(probs, dtype="float64")
    pred = probs.argmax(axis=-1)
    out = {"accuracy": float((pred == y_true).mean()),
           "support": int(len(y_true))}
    eps = 1e-12
    out["loss"] = float(-np.log(
        np.clip(probs[np.arange(len(y_true)), y_true], eps, 1.0)).mean())
    present = set(y_true.tolist()) | set(pred.tolist())
    precisions, recalls, f1s = [], [], []
    for k, name in enumerate(label_names):
        if k not in present:  # not measured here: no score, not averaged
            continue
        tp = int(((pred == k) & (y_true == k)).sum())
        fp = int(((pred == k) & (y_true != k)).sum())
        fn = int(((pred != k) & (y_true == k)).sum())
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        precisions.append(p)
        recalls.append(r)
        f1s.append(f)
        out[f"f1_{name}"] = f
    out["precision"] = float(np.mean(precisions)) if precisions else 0.0
    out["recall"] = float(np.mean(recalls)) if recalls else 0.0
    out["f1"] = float(np.mean(f1s)) if f1s else 0.0
    return out


def export_text_classifier(model, encode, resources, label_names, path,
                           extra_outputs=None, decide=None):
    """Write a SavedModel: raw strings in, label strings and probabilities out.

    Args:
        model: the trained `keras.Model` over token ids (or a dict of ids).
        encode: callable. String tensor (batch,) -> model inputs (graph ops).
        resources: list of TF trackables the encoder uses (lookup tables).
        label_names: list of str. Class names in output order.
        path: str. The SavedModel directory to write.
        extra_outputs: callable or None. `(probs) -> dict` of more outputs.
        decide: callable or None. `(probs) -> int class indices` (graph
            ops), e.g. a tuned threshold; None: the most probable class.

    The `serving_default` signature takes `text` (a string vector) and
    returns `label` (string vector) and `probabilities` (float32,
    batch x classes), plus whatever `extra_outputs` adds. A blank text
    (empty or white space) gets label `""` and zero probabilities, as
    `predict` gives it no answer.

    Example:

    >>> export_text_classifier(  # doctest: +SKIP
    ...     model, task.encode_texts, [task.vocab.table],
    ...     ["negative", "positive"], "/tmp/serving")
    """
    import keras
    import tensorflow as tf

    from kerasnlp_seq.serving import empty_batch_safe, is_blank

    archive = keras.export.ExportArchive()
    archive.track(model)
    for resource in resources:
        archive.track(resource)
    names = tf.constant(label_names)

    def serve(text):
        blank = is_blank(text)
        probs = model(encode(text), training=False)
        index = (tf.argmax(probs, axis=-1) if decide is None
                 else decide(probs))
        # A blank text has no answer, as in `predict`: label "", zeros.
        probs = tf.where(blank[:, None], tf.zeros_like(probs), probs)
        outputs = {"label": tf.where(blank, "", tf.gather(names, index)),
                   "probabilities": probs}
        if extra_outputs is not None:
            outputs.update(extra_outputs(probs))
        return outputs

    archive.add_endpoint(
        "serving_default", empty_batch_safe(serve),
        input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    archive.write_out(path, verbose=False)
