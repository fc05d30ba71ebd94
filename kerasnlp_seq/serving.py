"""Serving signatures that answer an empty batch, and blank texts as blank.

Keras' recurrent layers and `tf.TensorArray` loops cannot stack zero
elements of an unknown shape, so a SavedModel built on them fails on an
empty request batch (`InvalidArgumentError: Tried to stack elements of an
empty list`). `empty_batch_safe` wraps a serving function so an empty batch
gets outputs of the same structure and dtypes with zero rows instead.

`is_blank` marks the texts of a batch that are empty or white space only:
`kerasnlp-seq predict` answers those with nothing (their line stays
blank), and the exported text models answer them the same way (an empty
label or translation, zero probabilities), rather than with the model's
guess for no input.
"""

import tensorflow as tf


def empty_batch_safe(fn):
    """`fn(batch)`, or empty outputs of its structure for a batch of none.

    Args:
        fn: callable. A serving function of one batch tensor (first axis:
            the batch) returning a nested structure of tensors whose first
            axis is the batch too.

    Returns:
        A callable for `tf.function` / `ExportArchive.add_endpoint`. Inner
        axes of unknown size are 0 in the empty answer.

    Example:

    >>> serve = tf.function(empty_batch_safe(lambda x: {"twice": x * 2}),
    ...                     input_signature=[tf.TensorSpec([None, 2], tf.int32)])
    >>> serve(tf.zeros([0, 2], tf.int32))["twice"].shape
    TensorShape([0, 2])
    """

    def safe(batch):
        traced = {}

        def run():
            traced["outputs"] = fn(batch)
            return traced["outputs"]

        def empty():
            # tf.cond traces the true branch first, so the structure is known.
            return tf.nest.map_structure(
                lambda t: tf.zeros([0] + [d or 0 for d in t.shape[1:]],
                                   t.dtype), traced["outputs"])

        return tf.cond(tf.shape(batch)[0] > 0, run, empty)

    return safe


def is_blank(text):
    """Bool `(batch,)`: which strings of `text` are empty or white space.

    Example:

    >>> is_blank(tf.constant(["", " \t", "a b"])).numpy().tolist()
    [True, True, False]
    """
    return tf.equal(tf.strings.length(tf.strings.strip(text)), 0)
