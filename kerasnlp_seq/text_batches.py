"""tf.data batches of texts for a text classifier, in memory or streamed.

Two steps, so that a task keeps what is its own (which labels, which
weights) and shares the rest:

- the columns: `text_columns` slices texts held in memory, with their
  label ids and per-example weights where given; `streamed_columns` reads
  `(text, label id)` pairs of a `kerasnlp_seq.streaming.StreamedExamples`
  from disk, its labels looked up in the graph.
- the batches: `text_batches` encodes each text into model inputs (in
  parallel; cached in memory unless streamed), shuffles in training,
  batches texts of similar length together (`kerasnlp_seq.pipeline`),
  and prefetches. Inference batches keep the input order.

Example:

>>> import tensorflow as tf
>>> def encode_texts(texts):  # words -> their lengths, as stand-in ids
...     words = tf.strings.split(texts).to_tensor("")
...     return tf.strings.length(words)
>>> ds = text_columns(["a bb", "ccc", "dd e f"], targets=[0, 1, 0])
>>> batches = text_batches(ds, encode_texts, batch_size=2, training=False,
...                        max_length=10)
>>> [(x.shape, y.tolist()) for x, y in batches.as_numpy_iterator()]
[((2, 2), [0, 1]), ((1, 3), [0])]
"""

from kerasnlp_seq.errors import DataError


def text_columns(texts, targets=None, weights=None):
    """A dataset of texts in memory, with their targets and weights.

    Args:
        texts: list of str.
        targets: int array or None. Label ids, one per text.
        weights: float array or None. Per-example weights (with targets).

    Returns:
        A `tf.data.Dataset` of `text`, `(text, target)` or `(text, target,
        weight)` elements.
    """
    import tensorflow as tf

    texts = tf.constant(texts)
    columns = [texts]
    if targets is not None:
        columns.append(targets)
        if weights is not None:
            columns.append(tf.constant(weights, dtype=tf.float32))
    return tf.data.Dataset.from_tensor_slices(
        tuple(columns) if len(columns) > 1 else texts)


def streamed_columns(examples, label_names=None):
    """`(text, label id)` (or texts) of streamed examples, from disk.

    Args:
        examples: `kerasnlp_seq.streaming.StreamedExamples`.
        label_names: list of str or None. The classes in id order; None
            reads the texts alone.

    Raises:
        DataError: the file holds a label not in `label_names` (named,
            with the line of its first example).
    """
    import tensorflow as tf

    from kerasnlp_seq.text import string_table

    ds = examples.records()
    if label_names is None:
        return ds.map(lambda text, label: text)
    unknown = sorted(set(examples.label_counts()) - set(label_names))
    if unknown:
        raise DataError(
            f"label {unknown[0]!r} was not seen in training. Known "
            f"labels: {label_names}.", examples.path,
            examples.first_line(unknown[0]))
    table = string_table(label_names, first_id=0, default_id=-1,
                         dtype=tf.int32)
    return ds.map(lambda text, label: (text, table.lookup(label)),
                  num_parallel_calls=tf.data.AUTOTUNE)


def text_batches(dataset, encode_texts, batch_size, training, max_length,
                 cache=True, shuffle_buffer=None, bucket=True, seed=None,
                 batch_tokens=None):
    """Encoded, shuffled (in training), length-bucketed batches of texts.

    Args:
        dataset: `tf.data.Dataset` from `text_columns` / `streamed_columns`.
        encode_texts: callable. String tensor `(batch,)` -> model inputs
            (a tensor, or a dict with `char_ids`, which then decides the
            bucket), graph ops only.
        batch_size: int. Examples per batch (at most, with a budget).
        training: bool. Shuffle, bucket by length and reshuffle each epoch;
            False keeps the input order.
        max_length: int. The longest input, for the bucket edges.
        cache: bool. Keep the encoded examples in memory (False for
            streamed data, encoded anew each epoch).
        shuffle_buffer: int or None. Examples in the shuffle buffer.
        bucket: bool. Batch texts of similar length together (training).
        seed: int or None. The shuffles' seed.
        batch_tokens: int or None. A token budget per training batch.

    Returns:
        A `tf.data.Dataset` of batches, padded to their longest text.
    """
    import tensorflow as tf

    from kerasnlp_seq import pipeline

    def encode(text, *rest):
        x = tf.nest.map_structure(lambda a: a[0], encode_texts(text[None]))
        return (x, *rest) if rest else x

    def length_fn(x, *rest):
        if isinstance(x, dict):  # the longer input decides the bucket
            x = x["char_ids"]
        return tf.shape(x)[0]

    ds = pipeline.encode(dataset, encode, cache=cache)
    if training:
        ds = ds.shuffle(max(shuffle_buffer or 1, 1), seed=seed,
                        reshuffle_each_iteration=True)
    # Inference keeps input order: no bucketing, which would reorder.
    ds = pipeline.bucketed_batches(ds, batch_size, max_length, length_fn,
                                   bucket=bucket and training,
                                   batch_tokens=batch_tokens)
    return pipeline.finish(ds, training, seed)
