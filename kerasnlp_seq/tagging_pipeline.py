"""tf.data pipelines for token tagging, and ordered tag prediction.

`tagging_dataset` turns lists of tokens (and tag ids) into length-bucketed
padded batches of a tagger's inputs: tokens are encoded per sentence with
graph ops (`TokenEncoder.encode`), cached, shuffled, optionally augmented
(e.g. singleton words dropped to unknown) after the cache so that each
epoch draws anew. Inference batches keep the input order.
`predict_tag_ids` runs a tagger over such batches with a traced function
(a fixed input signature, so new shapes do not retrace), which a caller
can keep in a `cache` dict between calls.

Example:

>>> ds = tagging_dataset(  # doctest: +SKIP
...     [["EU", "rejects"]], encoder.encode, batch_size=8,
...     training=False)
>>> rows = predict_tag_ids(model, ds)  # doctest: +SKIP
"""

import tensorflow as tf

from kerasnlp_seq import pipeline


def _ragged(rows, dtype, lengths):
    flat = [value for row in rows for value in row]
    return tf.RaggedTensor.from_row_lengths(
        tf.constant(flat, dtype=dtype, shape=[len(flat)]), lengths)


def tagging_dataset(token_lists, encode, batch_size, training, tag_ids=None,
                    targets=None, seed=None, augment=None, bucket=True,
                    batch_tokens=None):
    """Batches of a tagger's inputs, or of `(inputs, targets)`.

    Args:
        token_lists: list of lists of str. One list per sentence.
        encode: callable. Ragged string tokens `(batch, None)` -> dict of
            padded int tensors (graph ops), e.g. `TokenEncoder.encode`.
        batch_size: int. Sentences per batch.
        training: bool. Shuffle, augment and bucket by length.
        tag_ids: list of lists of int or None. Gold tag ids per sentence.
        targets: callable or None. Tag ids `(time,)` -> the model's target
            structure (default: the ids themselves).
        seed: int or None. Shuffle seed.
        augment: callable or None. `(inputs, targets) -> (inputs, targets)`
            applied in training after the cache.
        bucket: bool. Bucket training batches by sentence length.
        batch_tokens: int or None. Token budget per training batch
            (`kerasnlp_seq.pipeline.bucketed_batches`); `batch_size` stays
            the upper bound on sentences per batch.
    """
    lengths = [len(tokens) for tokens in token_lists]
    columns = [_ragged(token_lists, tf.string, lengths)]
    if tag_ids is not None:
        columns.append(_ragged(tag_ids, tf.int32, lengths))

    def encode_one(tokens, *tags):
        x = encode(tf.RaggedTensor.from_tensor(tokens[None]))
        x = {k: v[0] for k, v in x.items()}
        if not tags:
            return x
        return x, (tags[0] if targets is None else targets(tags[0]))

    ds = tf.data.Dataset.from_tensor_slices(tuple(columns))
    ds = pipeline.encode(ds, encode_one, cache=True)
    if training:
        ds = ds.shuffle(max(len(token_lists), 1), seed=seed,
                        reshuffle_each_iteration=True)
        if augment is not None and tag_ids is not None:
            ds = ds.map(augment, num_parallel_calls=pipeline.AUTOTUNE)
    ds = pipeline.bucketed_batches(
        ds, batch_size, max(lengths + [1]),
        lambda x, *rest: tf.shape(x["words"])[0], bucket=bucket and training,
        batch_tokens=batch_tokens)
    return pipeline.finish(ds, training, seed)


def predict_tag_ids(model, dataset, cache=None):
    """Tag ids per sentence (lists of int, padded rows) for a dataset of inputs.

    Args:
        model: a tagger whose output dict has `tags`.
        dataset: batches of input dicts, in order (`training=False`).
        cache: dict or None. Keeps the traced function per model.
    """
    cache = {} if cache is None else cache
    entry = cache.get(id(model))
    if entry is None or entry[0] is not model:
        spec = {name: tf.TensorSpec([None] * len(x.shape), tf.int32)
                for name, x in model.input.items()}

        @tf.function(input_signature=[spec])
        def tag_ids(inputs):
            return model(inputs, training=False)["tags"]

        entry = cache[id(model)] = (model, tag_ids)
    return [row for x in dataset for row in entry[1](x).numpy().tolist()]
