"""Image decoding and resizing in TensorFlow ops, for training and serving alike.

Training reads image files once, decodes them with `decode_image` and keeps
the resized `uint8` pixels in memory; the exported SavedModel runs the very
same ops on the encoded bytes it receives (`decode_images`), so a served
model sees exactly the pixels the trained one saw. JPEG, PNG, GIF (first
frame) and BMP are decoded; grey and RGBA images become RGB. Images are
resized to a square (squashed, as is usual for captioning) with antialiasing.

`load_images` reads a list of files and returns the pixels of those that
decode, plus the name and reason of every one that does not, so a reader can
skip missing or corrupt files instead of failing on them, and report them
(`report_failures`: the first few by name, then a count).
"""

import logging
import os

import numpy as np

log = logging.getLogger("kerasnlp_seq")
_DECODERS = {}


def decode_image(data, size):
    """Encoded image bytes -> `uint8` tensor `(size, size, 3)`.

    Args:
        data: scalar string tensor. A JPEG, PNG, GIF or BMP file's bytes.
        size: int. The side of the square output.

    Example:

    >>> pixels = decode_image(  # doctest: +SKIP
    ...     tf.io.read_file("cat.jpg"), 160)
    """
    import tensorflow as tf

    image = tf.io.decode_image(data, channels=3, expand_animations=False)
    return resize_pixels(image, size)


def resize_pixels(image, size):
    """`uint8` pixels `(h, w, 3)` (or a batch) -> `uint8` at `size x size`."""
    import tensorflow as tf

    image = tf.image.resize(tf.cast(image, tf.float32), [size, size],
                            method="bilinear", antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(image), 0.0, 255.0), tf.uint8)


def decode_images(data, size):
    """A string vector of encoded images -> `(pixels, ok)`: `uint8`
    `(batch, size, size, 3)` and bool `(batch,)`.

    Used inside the exported SavedModel. An entry that cannot be decoded
    (empty, text, an unknown format, a file cut short) does not fail the
    batch: its pixels are black and its `ok` is False. The entries are
    decoded in a `tf.data` pipeline that drops the ones whose decoding
    fails (`Dataset.ignore_errors`), which graph ops alone cannot do.

    Args:
        data: string tensor `(batch,)` of JPEG / PNG (/ GIF / BMP / WebP)
            bytes.
        size: int. The side of the square output.

    Example:

    >>> import tensorflow as tf
    >>> png = tf.io.encode_png(tf.zeros([4, 4, 3], tf.uint8)).numpy()
    >>> pixels, ok = decode_images(tf.constant([png, b"text", png[:20]]), 8)
    >>> pixels.shape.as_list(), ok.numpy().tolist()
    ([3, 8, 8, 3], [True, False, False])
    """
    import tensorflow as tf

    n = tf.shape(data, out_type=tf.int64)[0]
    decoded = tf.data.Dataset.from_tensor_slices((tf.range(n), data)).map(
        lambda i, x: (i, decode_image(x, size))).ignore_errors()
    # One entry that always decodes, so the batch below is never empty.
    end = tf.data.Dataset.from_tensors(
        (tf.constant(-1, tf.int64), tf.zeros([size, size, 3], tf.uint8)))
    index, pixels = decoded.concatenate(end).batch(n + 1).get_single_element()
    index, pixels = index[:-1, None], pixels[:-1]
    return (tf.scatter_nd(index, pixels, [n, size, size, 3]),
            tf.scatter_nd(index, tf.ones(tf.shape(index)[:1], tf.bool), [n]))


def _decoder(size):
    """A compiled `decode_image` for one size (traced once, reused)."""
    import tensorflow as tf

    if size not in _DECODERS:
        _DECODERS[size] = tf.function(
            lambda data: decode_image(data, size),
            input_signature=[tf.TensorSpec([], tf.string)])
    return _DECODERS[size]


def native_shape(path):
    """`(height, width)` of an image file, as stored."""
    import tensorflow as tf

    with open(path, "rb") as f:
        data = f.read()
    try:
        shape = tf.io.extract_jpeg_shape(data) if data[:2] == b"\xff\xd8" \
            else tf.shape(tf.io.decode_image(data, channels=3,
                                             expand_animations=False))
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError):
        raise ValueError("not a decodable image") from None
    return int(shape[0]), int(shape[1])


def read_image(path, size):
    """Decode one image file to `uint8` `(size, size, 3)`.

    Raises:
        OSError: the file cannot be read.
        ValueError: the bytes are no decodable image (message says why).
    """
    import tensorflow as tf

    with open(path, "rb") as f:
        data = f.read()
    if not data:
        raise ValueError("empty file")
    try:
        return _decoder(size)(tf.constant(data)).numpy()
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as e:
        detail = _decode_detail(e.message if hasattr(e, "message") else e)
        raise ValueError("not a decodable JPEG/PNG/GIF/BMP image"
                         + (f": {detail}" if detail else "")) from None


def _decode_detail(message):
    """What TensorFlow said about bytes that do not decode, readable: its
    first line without graph node names (`{{function_node ...}}`), or ""
    when it only says the format is unknown."""
    import re

    lines = str(message).strip().splitlines()
    line = re.sub(r"\{\{[^{}]*\}\}|\[\[.*?\]\]", "",
                  lines[0] if lines else "")
    line = re.sub(r"^\w+::\w+ failed\.\s*", "", line.strip())
    line = line.strip().rstrip(".").strip()
    if not line or line.lower().startswith("unknown image file format"):
        return ""
    return line[:120]


def load_images(paths, size):
    """Decode image files into one array, skipping the ones that fail.

    Args:
        paths: list of str. Image files.
        size: int. The side of the square output.

    Returns:
        `(pixels, kept, failures)`: `uint8` `(len(kept), size, size, 3)`, the
        indices into `paths` that decoded, and `(path, reason)` pairs (for
        `report_failures`).
    """
    pixels = np.zeros((len(paths), size, size, 3), np.uint8)
    kept, failures = [], []
    for i, path in enumerate(paths):
        try:
            pixels[len(kept)] = read_image(path, size)
        except FileNotFoundError:
            failures.append((path, "file not found"))
        except (OSError, ValueError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror \
                else str(e)
            failures.append((path, reason))
        else:
            kept.append(i)
    return pixels[:len(kept)], kept, failures


def report_failures(failures, total, echo=None, named=10):
    """Report images that `load_images` skipped: the first `named` by name,
    then a count (the log keeps every name, at INFO).

    Args:
        failures: list of `(path, reason)`.
        total: int. Images there were to read.
        echo: callable or None. Shows the lines (the CLI prints them); the
            log then keeps them at INFO, for a run's log file. Without
            `echo` they are logged as warnings.
        named: int. Failures shown by name.
    """
    for i, (path, reason) in enumerate(failures):
        message = f"{path}: skipped image ({reason})."
        if i < named:
            report_skipped(message, echo)
        else:
            log.info(message)
    if failures:
        more = (f" ({named} named above; the log names all)"
                if len(failures) > named else "")
        report_skipped(f"Skipped {len(failures)} of {total} images that "
                       f"could not be read{more}.", echo)


def report_skipped(message, echo=None):
    """Report a skipped image (or a count of them) once.

    Args:
        message: str. One line.
        echo: callable or None. Shows the line (the CLI prints it); the log
            then keeps it at INFO, for a run's log file. Without `echo` the
            line is logged as a warning.
    """
    if echo is None:
        log.warning(message)
    else:
        echo(message)
        log.info(message)


def resolve(path, root):
    """An image path as written in a data file, made absolute from `root`."""
    path = os.path.expanduser(str(path))
    return path if os.path.isabs(path) else os.path.join(root, path)
