"""The caption vocabulary a captioning run saves, and its checks on reload.

A run keeps its caption words (id order, with the start and end tokens)
and image side in `captioning.json`, with the word count and a SHA-256 of
the list, so an edited or truncated file is refused with one line on
reload (`checked_assets`) instead of decoding ids into the wrong words.
"""

from kerasnlp_seq.errors import RunError

START, END = "<start>", "<end>"
ASSETS = "captioning.json"


def words_digest(words):
    """The SHA-256 (hex) of a word list, in order (to tell an edited one)."""
    import hashlib

    return hashlib.sha256("\n".join(words).encode("utf-8")).hexdigest()


def checked_assets(assets, path):
    """`(words, image_size)` of a loaded `captioning.json`, checked against
    the count and digest saved with them (runs saved before those were
    recorded are checked for shape only)."""
    words = assets.get("words") if isinstance(assets, dict) else None
    if not isinstance(words, list) or not all(
            isinstance(w, str) for w in words) or not {START, END} <= set(
            words):
        raise RunError(f"{path}: `words` must be the run's list of caption "
                       f"words (with {START} and {END}); restore the run's "
                       "file.")
    image_size = assets.get("image_size")
    if isinstance(image_size, bool) or not isinstance(image_size, int) or \
            image_size < 1:
        raise RunError(f"{path}: `image_size` must be a positive int. "
                       f"Received: image_size={image_size!r}")
    if assets.get("size") not in (None, len(words)):
        raise RunError(
            f"{path}: `words` has {len(words)} entries, the run was trained "
            f"with {assets['size']}; restore the run's file.")
    if assets.get("sha256") not in (None, words_digest(words)):
        raise RunError(
            f"{path}: `words` differs from the vocabulary the run was "
            "trained with (its SHA-256 changed); restore the run's file.")
    return words, image_size
