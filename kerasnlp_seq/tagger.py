"""The recurrent sequence tagger: token features -> BiLSTM/BiGRU -> CRF or softmax.

`build_sequence_tagger` assembles the classic neural tagger (Lample et al.
2016; Ma & Hovy 2016) from library parts: a word embedding, per-token
character features (`char_features.TokenCharEncoder`, CNN or BiLSTM) and a
casing embedding, concatenated, through the shared recurrent builder
(`return_sequences=True`), to per-tag emission scores and a head:

- `"crf"`: `crf.CRF` decodes the best tag path (Viterbi); trained with
  `crf.CRFLoss` on its `potentials` output.
- `"softmax"`: independent per-token softmax, trained with cross-entropy.

Both heads return a dict with `tags` (int32 ids, `(batch, time)`), so
prediction, metrics and export treat them alike. `tagger_compile_args` and
`tagger_targets` give the matching loss, metrics and target dicts, and
`export_tagger` writes a SavedModel that takes raw sentences.

Example:

>>> import numpy as np
>>> model = build_sequence_tagger(num_words=50, num_tags=5, num_chars=30,
...                               word_dim=8, char_units=4, units=8)
>>> x = {"words": np.array([[2, 3, 0]]), "casing": np.array([[3, 5, 0]]),
...      "chars": np.array([[[2, 3], [4, 0], [0, 0]]])}
>>> tuple(model(x)["tags"].shape)
(1, 3)
"""

import keras
from keras import ops

from kerasnlp_seq.builder import build_recurrent
from kerasnlp_seq.char_features import TokenCharEncoder
from kerasnlp_seq.crf import CRF, CRFLoss
from kerasnlp_seq.entity_metric import EntityF1
from kerasnlp_seq.token_encoder import CASINGS

HEADS = ("crf", "softmax")
_SCORES = {"crf": "potentials", "softmax": "probabilities"}


@keras.saving.register_keras_serializable(package="kerasnlp_seq")
class TagArgmax(keras.layers.Layer):
    """The most probable tag id per step, int32, keeping the input mask.

    Example:

    >>> TagArgmax()(keras.ops.array([[[0.1, 0.9], [0.8, 0.2]]])).numpy()
    array([[1, 0]], dtype=int32)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return ops.cast(ops.argmax(inputs, axis=-1), "int32")

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape[:-1], dtype="int32")


def build_sequence_tagger(num_words, num_tags, word_dim=100, num_chars=0,
                          char_encoder="cnn", char_dim=30, char_units=50,
                          char_kernel_size=3, casing=True, casing_dim=8,
                          cell="lstm", units=100, num_layers=1,
                          bidirectional=True, dropout=0.5,
                          embedding_dropout=0.5, recurrent_dropout=0.0,
                          head="crf", crf_constraints=None, name="tagger"):
    """Builds an uncompiled tagger `keras.Model` over dict inputs.

    Inputs: `words` int `(batch, time)` (0 = padding, right-padded), and
    when used, `chars` int `(batch, time, chars)` and `casing` int
    `(batch, time)` (`token_encoder.TokenEncoder.encode` makes all three).
    Outputs: `{"tags", "potentials"}` (CRF) or `{"tags", "probabilities"}`.

    Args:
        num_words: int. Word ids (padding and unknown included).
        num_tags: int. The number of tags.
        word_dim: int. Word embedding width.
        num_chars: int. Character ids; 0 for no character features.
        char_encoder: str. `"cnn"` or `"lstm"`.
        char_dim: int. Character embedding width.
        char_units: int. CNN filters, or LSTM units per direction.
        char_kernel_size: int. CNN n-gram width.
        casing: bool. Whether to add a casing-class embedding.
        casing_dim: int. Its width.
        cell: str. `"lstm"`, `"gru"` or `"simple_rnn"` (the builder's).
        units: int. Units per recurrent layer and direction.
        num_layers: int. Stacked recurrent layers.
        bidirectional: bool. Bidirectional recurrent layers.
        dropout: float. Dropout between and after the recurrent layers.
        embedding_dropout: float. Dropout on the concatenated token features.
        recurrent_dropout: float. Recurrent-state dropout.
        head: str. `"crf"` or `"softmax"`.
        crf_constraints: None, or `(transitions, start, end)` allowed-tag
            tables for the CRF (`tagging.allowed_transitions(tags, scheme)`:
            ill-formed tag sequences are then never decoded).
        name: str. The model name and layer-name prefix.
    """
    if head not in HEADS:
        raise ValueError(
            f"Unknown `head` for `build_sequence_tagger()`. Expected one of "
            f"{list(HEADS)}. Received: head={head!r}")
    words = keras.Input(shape=(None,), dtype="int32", name="words")
    inputs = {"words": words}
    # Uniform in +-sqrt(3 / dim) (unit variance per vector, as Lample et
    # al. 2016): Keras' +-0.05 default starts the tagger on a long plateau.
    scale = (3.0 / word_dim) ** 0.5
    features = [keras.layers.Embedding(
        num_words, word_dim, mask_zero=True, name="word_embedding",
        embeddings_initializer=keras.initializers.RandomUniform(
            -scale, scale))(words)]
    if num_chars:
        chars = keras.Input(shape=(None, None), dtype="int32", name="chars")
        inputs["chars"] = chars
        features.append(TokenCharEncoder(
            num_chars, char_dim, encoder=char_encoder, units=char_units,
            kernel_size=char_kernel_size, name="char_features")(chars))
    if casing:
        case = keras.Input(shape=(None,), dtype="int32", name="casing")
        inputs["casing"] = case
        features.append(keras.layers.Embedding(
            len(CASINGS), casing_dim, mask_zero=True,
            name="casing_embedding")(case))
    x = (keras.layers.Concatenate(name="token_features")(features)
         if len(features) > 1 else features[0])
    if embedding_dropout:
        x = keras.layers.Dropout(embedding_dropout,
                                 name="feature_dropout")(x)
    x = build_recurrent(cell=cell, units=units, num_layers=num_layers,
                        bidirectional=bidirectional, return_sequences=True,
                        dropout=dropout, recurrent_dropout=recurrent_dropout,
                        name=f"{name}_encoder")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="output_dropout")(x)
    emissions = keras.layers.Dense(num_tags, name="emissions")(x)
    if head == "crf":
        allowed = dict(zip(("allowed_transitions", "allowed_start",
                            "allowed_end"), crf_constraints or ()))
        tags, potentials = CRF(num_tags, name="crf", **allowed)(emissions)
        outputs = {"tags": tags, "potentials": potentials}
    else:
        probs = keras.layers.Activation("softmax", dtype="float32",
                                        name="probabilities")(emissions)
        outputs = {"tags": TagArgmax(name="argmax")(probs),
                   "probabilities": probs}
    return keras.Model(inputs, outputs, name=name)


def tagger_compile_args(head, tag_names=None, scheme=None):
    """`dict(loss=..., metrics=...)` for a tagger's `compile`.

    Token accuracy on `tags` always; entity F1 (`tags_f1`, from
    `entity_metric.EntityF1`) when `scheme` names an entity tag scheme.

    Args:
        head: str. `"crf"` or `"softmax"`.
        tag_names: list of str or None. Tag names by id (for entity F1).
        scheme: str or None. The tags' scheme; None: no entity F1.
    """
    loss = (CRFLoss() if head == "crf"
            else keras.losses.SparseCategoricalCrossentropy())
    metrics = [keras.metrics.Accuracy(name="accuracy")]
    if scheme is not None:
        metrics.append(EntityF1(tag_names, scheme, name="f1"))
    return {"loss": {_SCORES[head]: loss}, "metrics": {"tags": metrics}}


def tagger_targets(head, tag_ids):
    """The target dict of a tagger for padded int tag ids `(batch, time)`."""
    return {"tags": tag_ids, _SCORES[head]: tag_ids}


def export_tagger(model, tokenize, encode, resources, tag_names, path):
    """Write a SavedModel: raw sentences in, tokens and tags out.

    The `serving_default` signature takes `text` (string vector) and
    returns `tokens` and `tags` (strings, `(batch, time)`, padded with
    `""`) and `lengths` (int32 `(batch,)`, tokens per sentence).

    Args:
        model: the trained tagger.
        tokenize: callable. String tensor `(batch,)` -> ragged tokens.
        encode: callable. Ragged tokens -> the model's input dict.
        resources: list of TF trackables the encoder uses (lookup tables).
        tag_names: list of str. Tag names by id.
        path: str. The SavedModel directory to write.
    """
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(model)
    for resource in resources:
        archive.track(resource)
    names = tf.constant(tag_names)

    def serve(text):
        tokens = tokenize(text)
        ids = model(encode(tokens), training=False)["tags"]
        lengths = tf.cast(tokens.row_lengths(), tf.int32)
        width = tf.shape(ids)[1]
        mask = tf.sequence_mask(lengths, width)
        tags = tf.where(mask, tf.gather(names, ids), "")
        padded = tokens.to_tensor("", shape=tf.stack(
            [tf.shape(ids)[0], width]))
        return {"tokens": padded, "tags": tags, "lengths": lengths}

    archive.add_endpoint(
        "serving_default", serve,
        input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    archive.write_out(path, verbose=False)
