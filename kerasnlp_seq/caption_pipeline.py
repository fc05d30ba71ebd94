"""The tf.data pipeline of captioning: image batches with all their captions.

Images (decoded `uint8` pixels, or cached encoder features) are held in
memory once and gathered by index, so no epoch decodes a file again. A
batch holds `batch_size` images and every caption of each:

    inputs  = {"image" | "features": (b, ...), "captions": (b, k, t)}
    targets = (b * k, t)

where `captions` is the teacher-forcing input (start token + words) and
`targets` the same captions shifted by one (words + end token), flattened
to match the model's `(b * k, t, vocab)` logits. Both are cut to the
longest caption of the batch, so short captions cost no padded steps.
"""

import numpy as np


def encode_captions(caption_lists, words, max_length, start, end):
    """Caption ids per image: `(n, k, max_length + 2)` int32, 0-padded.

    Each caption is tokenized (`caption_metrics.caption_tokens`), cut to
    `max_length` words, mapped to ids (unknown words -> 1) and framed by
    the `start` and `end` tokens; images with fewer than `k` (the most of
    any image) captions get all-padding rows.

    Args:
        caption_lists: list of lists of str. The captions of each image.
        words: list of str. The token of every id.
        max_length: int. The most words kept per caption.
        start: str. The start token (in `words`).
        end: str. The end token (in `words`).
    """
    from kerasnlp_seq.caption_metrics import caption_tokens

    index = {w: i for i, w in enumerate(words)}
    most = max(len(c) for c in caption_lists)
    ids = np.zeros((len(caption_lists), most, max_length + 2), np.int32)
    for i, captions in enumerate(caption_lists):
        for j, text in enumerate(captions):
            tokens = caption_tokens(text)[:max_length]
            row = [index[start]] + [index.get(t, 1) for t in tokens] + [
                index[end]]
            ids[i, j, :len(row)] = row
    return ids


def caption_dataset(images, caption_ids, batch_size, training, seed=None,
                    key="image", augment=False):
    """A `tf.data.Dataset` of captioning batches.

    Args:
        images: array `(n, ...)`: `uint8` pixels or float features.
        caption_ids: int32 array `(n, k, t + 1)`: start, words, end, pad.
        batch_size: int. Images per batch.
        training: bool. Shuffle every epoch (and augment).
        seed: int or None. Shuffling seed.
        key: str. The model input name of `images`.
        augment: bool. Random translation, brightness and contrast on
            `uint8` pixels (`_augment`).

    Example:

    >>> ds = caption_dataset(np.zeros((4, 32, 32, 3), "uint8"),
    ...                      np.ones((4, 2, 5), "int32"), 2, training=False)
    """
    import tensorflow as tf

    if len(images) != len(caption_ids):
        raise ValueError(f"{len(images)} images but {len(caption_ids)} "
                         "caption sets.")
    images = tf.constant(images)
    captions = tf.constant(np.asarray(caption_ids, np.int32))

    def gather(index):
        x = tf.gather(images, index)
        c = tf.gather(captions, index)
        length = tf.reduce_max(tf.reduce_sum(tf.cast(c > 0, tf.int32), -1))
        c = c[:, :, :length]
        if augment:
            x = _augment(x)
        targets = tf.reshape(c[:, :, 1:], [-1, length - 1])
        return {key: x, "captions": c[:, :, :-1]}, targets

    ds = tf.data.Dataset.range(len(caption_ids))
    if training:
        ds = ds.shuffle(len(caption_ids), seed=seed,
                        reshuffle_each_iteration=True)
    return ds.batch(batch_size).map(
        gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)


def _augment(pixels, shift=0.1):
    """Random translation, brightness and contrast per image, as `uint8`.

    Each image moves by up to `shift` of its side in both directions (the
    border reflected in, so no black bands teach the decoder anything);
    never flipped, since captions say left and right.
    """
    import tensorflow as tf

    x = tf.cast(pixels, tf.float32) / 255.0
    shape = tf.shape(x)
    n, height, width = shape[0], shape[1], shape[2]
    pad_h = tf.cast(tf.cast(height, tf.float32) * shift, tf.int32)
    pad_w = tf.cast(tf.cast(width, tf.float32) * shift, tf.int32)
    padded = tf.pad(x, [[0, 0], [pad_h, pad_h], [pad_w, pad_w], [0, 0]],
                    mode="REFLECT")
    top = tf.random.uniform([n], 0, 2 * pad_h + 1, dtype=tf.int32)
    left = tf.random.uniform([n], 0, 2 * pad_w + 1, dtype=tf.int32)
    rows = top[:, None] + tf.range(height)[None, :]  # (n, height)
    cols = left[:, None] + tf.range(width)[None, :]  # (n, width)
    x = tf.gather(padded, rows, axis=1, batch_dims=1)
    x = tf.gather(x, cols, axis=2, batch_dims=1)
    brightness = tf.random.uniform([n, 1, 1, 1], -0.1, 0.1)
    contrast = tf.random.uniform([n, 1, 1, 1], 0.8, 1.2)
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    x = (x - mean) * contrast + mean + brightness
    return tf.cast(tf.clip_by_value(x * 255.0, 0.0, 255.0), tf.uint8)
