"""tf.data input pipelines: length-bucketed, padded per batch, prefetched.

Recurrent layers spend their time on every step of every padded sequence, so
a batch is padded only to its own longest sequence, and sequences of similar
length are batched together (`tf.data.Dataset.bucket_by_sequence_length`).
Shuffling happens before bucketing, so which examples meet in a batch stays
random from epoch to epoch; evaluation results do not depend on batching
because padding is masked.

With a token budget (`batch_tokens`) each bucket gets its own batch size,
`batch_tokens // longest length the bucket holds` (at least 1, at most
`batch_size`), so a batch of short texts holds more of them and every step
does about the same amount of work. Preprocessing runs in parallel
(`encode`), is cached in memory, in a file, or not at all (streamed data),
and batches are prefetched (`finish`).

Example:

>>> ds = tf.data.Dataset.from_generator(
...     lambda: iter([[1, 2], [3], [4, 5, 6]]),
...     output_signature=tf.TensorSpec([None], tf.int32))
>>> batches = bucketed_batches(ds, batch_size=32, max_length=3,
...                            length_fn=tf.size, batch_tokens=4)
"""

import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE


def bucket_boundaries(max_length, smallest=8):
    """Bucket edges doubling from `smallest` up to (not past) `max_length`.

    Past 64 the edges grow by half instead of doubling, so long buckets
    waste less padding.

    Args:
        max_length: int. The longest sequence the pipeline will see.
        smallest: int. The first edge.
    """
    edges, edge = [], smallest
    while edge < max_length:
        edges.append(edge)
        edge = int(edge * 1.5) if edge >= 64 else edge * 2
    return edges


def bucket_batch_sizes(edges, max_length, batch_size, batch_tokens=None):
    """Examples per batch for each bucket (`len(edges) + 1` of them).

    Bucket `i` holds lengths in `[edges[i-1], edges[i])`; the last one
    holds lengths from `edges[-1]` up to `max_length`.

    Args:
        edges: list of int. Bucket boundaries (`bucket_boundaries`).
        max_length: int. The longest sequence (the last bucket's top).
        batch_size: int. Examples per batch, an upper bound with a budget.
        batch_tokens: int or None. Padded tokens per batch.
    """
    if not batch_tokens:
        return [batch_size] * (len(edges) + 1)
    tops = [edge - 1 for edge in edges] + [max(max_length, 1)]
    return [max(1, min(batch_size, batch_tokens // max(top, 1)))
            for top in tops]


def bucketed_batches(dataset, batch_size, max_length, length_fn,
                     padded_shapes=None, padding_values=None, bucket=True,
                     drop_remainder=False, batch_tokens=None):
    """Batch a dataset of variable-length elements, bucketed by length.

    Args:
        dataset: a `tf.data.Dataset` of (possibly nested) elements.
        batch_size: int. Examples per batch (an upper bound when
            `batch_tokens` is set).
        max_length: int. Longest sequence length (sets the bucket edges).
        length_fn: callable. Element -> scalar int32 length.
        padded_shapes: structure for `padded_batch` (None: unknown dims).
        padding_values: structure of padding values (None: zeros).
        bucket: bool. False: plain padded batches in dataset order.
        drop_remainder: bool. Drop the last, smaller batch of each bucket.
        batch_tokens: int or None. Token budget per batch: each bucket's
            batch size is `batch_tokens // its longest length`, at least 1
            and at most `batch_size`. Needs `bucket`; unbucketed batches
            keep `batch_size` (inference keeps the input order).
    """
    if batch_tokens is not None and batch_tokens < 1:
        raise ValueError(
            "`batch_tokens` must be a positive number of tokens. "
            f"Received: batch_tokens={batch_tokens!r}")
    if not bucket:
        return dataset.padded_batch(
            batch_size, padded_shapes=padded_shapes,
            padding_values=padding_values, drop_remainder=drop_remainder)
    edges = bucket_boundaries(max_length)
    return dataset.bucket_by_sequence_length(
        element_length_func=length_fn,
        bucket_boundaries=edges,
        bucket_batch_sizes=bucket_batch_sizes(edges, max_length, batch_size,
                                              batch_tokens),
        padded_shapes=padded_shapes,
        padding_values=padding_values,
        pad_to_bucket_boundary=False,
        no_padding=False,
        drop_remainder=drop_remainder)


def encode(dataset, fn, cache=True):
    """Map `fn` over `dataset` in parallel, then cache the results.

    Args:
        dataset: a `tf.data.Dataset`.
        fn: callable. The per-element preprocessing (graph ops).
        cache: True (in memory), a file path prefix (on disk, for data
            larger than memory but read more than once), or False
            (streamed data: encode again each epoch).
    """
    dataset = dataset.map(fn, num_parallel_calls=AUTOTUNE)
    if cache is True:
        return dataset.cache()
    if cache:
        return dataset.cache(str(cache))
    return dataset


def finish(dataset, training, seed=None, shuffle_buffer=None):
    """Shuffle the batches (in training) and prefetch."""
    if training:
        dataset = dataset.shuffle(shuffle_buffer or 256, seed=seed,
                                  reshuffle_each_iteration=True)
    return dataset.prefetch(AUTOTUNE)
