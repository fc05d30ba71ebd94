"""tf.data input pipelines: length-bucketed, padded per batch, prefetched.

Recurrent layers spend their time on every step of every padded sequence, so
a batch is padded only to its own longest sequence, and sequences of similar
length are batched together (`tf.data.Dataset.bucket_by_sequence_length`).
Shuffling happens before bucketing, so which examples meet in a batch stays
random from epoch to epoch; evaluation results do not depend on batching
because padding is masked.
"""

import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE


def bucket_boundaries(max_length, smallest=8):
    """Bucket edges doubling from `smallest` up to (not past) `max_length`.

    Args:
        max_length: int. The longest sequence the pipeline will see.
        smallest: int. The first edge.
    """
    edges, edge = [], smallest
    while edge < max_length:
        edges.append(edge)
        edge = int(edge * 1.5) if edge >= 64 else edge * 2
    return edges


def bucketed_batches(dataset, batch_size, max_length, length_fn,
                     padded_shapes=None, padding_values=None, bucket=True,
                     drop_remainder=False):
    """Batch a dataset of variable-length elements, bucketed by length.

    Args:
        dataset: a `tf.data.Dataset` of (possibly nested) elements.
        batch_size: int. Examples per batch.
        max_length: int. Longest sequence length (sets the bucket edges).
        length_fn: callable. Element -> scalar int32 length.
        padded_shapes: structure for `padded_batch` (None: unknown dims).
        padding_values: structure of padding values (None: zeros).
        bucket: bool. False: plain padded batches in dataset order.
        drop_remainder: bool. Drop the last, smaller batch of each bucket.
    """
    if not bucket:
        return dataset.padded_batch(
            batch_size, padded_shapes=padded_shapes,
            padding_values=padding_values, drop_remainder=drop_remainder)
    edges = bucket_boundaries(max_length)
    return dataset.bucket_by_sequence_length(
        element_length_func=length_fn,
        bucket_boundaries=edges,
        bucket_batch_sizes=[batch_size] * (len(edges) + 1),
        padded_shapes=padded_shapes,
        padding_values=padding_values,
        pad_to_bucket_boundary=False,
        no_padding=False,
        drop_remainder=drop_remainder)


def finish(dataset, training, seed=None, shuffle_buffer=None):
    """Shuffle the batches (in training) and prefetch."""
    if training:
        dataset = dataset.shuffle(shuffle_buffer or 256, seed=seed,
                                  reshuffle_each_iteration=True)
    return dataset.prefetch(AUTOTUNE)
