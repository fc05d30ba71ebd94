"""Reader for raw e-mail corpora laid out as one folder per class.

The layout is the SpamAssassin public corpus's: `root/spam/0001.<hash>`,
`root/easy_ham/...`, `root/hard_ham/...`, one raw RFC 822 message per file;
the folder name is the label, and `label_map` renames or merges folders
(`{"easy_ham": "ham", "hard_ham": "ham"}`) or leaves one out (`None`).
Hidden files and SpamAssassin's `cmds` files are ignored.

A message's text is its Subject, then its text/plain and text/html parts
(HTML reduced to text by `html_to_text()`); in a multipart/alternative the
plain version is taken when it has text. Attachments (a Content-Disposition
of attachment, or a non-text part) are skipped. Parts are decoded with their
declared charset, falling back to UTF-8 and then Latin-1 for unknown, bogus
or wrong charsets, so no byte sequence makes the reader fail. Messages with
no text are skipped and counted (`empty`), as are messages the `email`
package cannot parse even in its lenient compat32 mode (`undecodable`); see
`scan_email_folders()` for the counts.
"""

import codecs
import email
import email.header
import email.policy
import html
import html.parser
import os
import re

from kerasnlp_seq.errors import ConfigError, DataError

_SKIP_FILES = ("cmds",)
_BLOCK_TAGS = frozenset(
    "address article aside blockquote br caption center dd div dl dt "
    "fieldset figcaption footer form h1 h2 h3 h4 h5 h6 header hr li main "
    "nav ol p pre section table title tr ul".split())
_CELL_TAGS = frozenset(("td", "th"))
_HIDDEN_TAGS = frozenset(("script", "style"))


def read_email_folders(root, max_bytes=None, label_map=None):
    """Read a one-folder-per-class corpus of raw e-mails into text records.

    Args:
        root: str. The folder holding one sub-folder per class.
        max_bytes: int or None. Read at most this many bytes of each file
            (the lenient parser copes with the cut), bounding time and memory
            on messages with large attachments. None reads whole files.
        label_map: dict or None. Folder name -> label; a folder mapped to
            None is left out, a folder not in the map keeps its name. For
            SpamAssassin: `{"easy_ham": "ham", "hard_ham": "ham"}`.

    Returns:
        list of dict `{"text": str, "label": str, "path": str}`, sorted by
        folder then file name; skipped messages are not in it.

    Example:

    >>> from kerasnlp_seq.email_corpus import read_email_folders
    >>> records = read_email_folders(  # doctest: +SKIP
    ...     "spamassassin/", label_map={"easy_ham": "ham", "hard_ham": "ham"})
    >>> sorted({r["label"] for r in records})  # doctest: +SKIP
    ['ham', 'spam']
    """
    return scan_email_folders(root, max_bytes, label_map)[0]


def scan_email_folders(root, max_bytes=None, label_map=None):
    """Like `read_email_folders()`, also reporting what was skipped and why.

    Args:
        root, max_bytes, label_map: as for `read_email_folders()`.

    Returns:
        `(records, report)`. `report` is a dict: `kept` (int), `empty` and
        `undecodable` (ints, messages skipped for each reason), `truncated`
        (int, files cut at `max_bytes`), `per_label` (dict label -> kept
        count) and `skipped` (list of `(path, reason)`).

    Example:

    >>> records, report = scan_email_folders("spamassassin/")  # doctest: +SKIP
    >>> report["empty"], report["undecodable"]  # doctest: +SKIP
    (0, 0)
    """
    root = str(root)
    if max_bytes is not None and (isinstance(max_bytes, bool)
                                  or not isinstance(max_bytes, int)
                                  or max_bytes <= 0):
        raise ConfigError("`max_bytes` must be a positive int or None. "
                          f"Received: max_bytes={max_bytes!r}")
    if label_map is not None and not isinstance(label_map, dict):
        raise ConfigError("`label_map` must be a dict of folder name -> "
                          f"label (or None). Received: {label_map!r}")
    label_map = label_map or {}
    folders = _class_folders(root, label_map)

    report = {"kept": 0, "empty": 0, "undecodable": 0, "truncated": 0,
              "per_label": {}, "skipped": []}
    records = []
    for folder, label, names in folders:
        report["per_label"].setdefault(label, 0)
        for name in names:
            path = os.path.join(folder, name)
            text, problem, truncated = _read_message(path, max_bytes)
            report["truncated"] += truncated
            if problem:
                report[problem] += 1
                report["skipped"].append((path, problem))
                continue
            records.append({"text": text, "label": label, "path": path})
            report["per_label"][label] += 1
    report["kept"] = len(records)
    if not records:
        raise DataError(
            f"all {len(report['skipped'])} messages are empty or undecodable "
            f"({report['empty']} empty, {report['undecodable']} "
            "undecodable); expected raw RFC 822 messages with text.", root)
    for label, kept in report["per_label"].items():
        if kept == 0:
            raise DataError(
                f"class {label!r} has no usable message (all empty or "
                "undecodable); every class needs at least one.", root)
    return records, report


def _class_folders(root, label_map):
    """`[(folder, label, message file names)]`, checked for the layout."""
    if not os.path.isdir(root):
        what = "is a file" if os.path.exists(root) else "not found"
        raise DataError(f"e-mail corpus folder {what}; expected a folder "
                        "with one sub-folder of raw messages per class "
                        "(e.g. spam/ and ham/).", root)
    names = sorted(d for d in os.listdir(root) if not d.startswith(".")
                   and os.path.isdir(os.path.join(root, d)))
    if not names:
        raise DataError("no class folders found; expected one sub-folder of "
                        "raw messages per class (e.g. spam/ and ham/).", root)
    folders = []
    for name in names:
        label = label_map.get(name, name)
        if label is None:
            continue
        folder = os.path.join(root, name)
        files = sorted(
            f for f in os.listdir(folder)
            if not f.startswith(".") and f not in _SKIP_FILES
            and os.path.isfile(os.path.join(folder, f)))
        if not files:
            raise DataError("class folder holds no messages; expected one "
                            "raw RFC 822 message per file (hidden files and "
                            "`cmds` are ignored).", folder)
        folders.append((folder, str(label), files))
    labels = sorted({label for _, label, _ in folders})
    if len(labels) < 2:
        raise DataError(
            f"found only one class {labels}; a corpus needs at least two "
            "classes (e.g. spam/ and ham/ folders, after the folder-to-label "
            "mapping: --folder-labels, or `label_map` in Python).", root)
    return folders


def _read_message(path, max_bytes):
    """`(text, problem, truncated)`; problem: None, "empty", "undecodable"."""
    try:
        with open(path, "rb") as f:
            raw = f.read() if max_bytes is None else f.read(max_bytes + 1)
    except OSError:
        return "", "undecodable", False
    truncated = max_bytes is not None and len(raw) > max_bytes
    if truncated:
        raw = raw[:max_bytes]
    text = None
    for policy in (email.policy.default, email.policy.compat32):
        try:
            text = message_text(email.message_from_bytes(raw, policy=policy))
            break
        except Exception:  # noqa: BLE001 - malformed mail must not crash
            continue
    if text is None:
        return "", "undecodable", truncated
    if not text.strip():
        return "", "empty", truncated
    return text, None, truncated


def message_text(message):
    """The Subject and the readable body text of a parsed `email` message.

    Args:
        message: an `email.message.Message` (any policy).

    Returns:
        str: the subject, a blank line, then the text parts joined by
        newlines (either may be empty).
    """
    subject = _subject(message)
    parts = [t for t in _part_texts(message) if t.strip()]
    body = "\n".join(parts)
    text = f"{subject}\n\n{body}" if subject and body else subject or body
    return _clean(text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def _part_texts(part):
    """Texts of a (sub)message, skipping attachments, preferring plain."""
    if part.get_content_disposition() == "attachment":
        return []
    if part.is_multipart():
        children = part.get_payload()
        if not isinstance(children, list):
            return []
        if part.get_content_subtype() == "alternative":
            texts = {}
            for child in children:
                found = [t for t in _part_texts(child) if t.strip()]
                if found:
                    texts.setdefault(child.get_content_type(), found)
            if texts:
                return texts.get("text/plain", next(iter(texts.values())))
            return []
        return [t for child in children for t in _part_texts(child)]
    content_type = part.get_content_type()
    if content_type not in ("text/plain", "text/html"):
        return []
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return []
    text = decode_bytes(payload, part.get_content_charset())
    return [html_to_text(text) if content_type == "text/html" else text]


def decode_bytes(data, charset=None):
    """Decode with `charset`, falling back to UTF-8, then Latin-1; never fails.

    Args:
        data: bytes.
        charset: str or None. The declared charset; unknown or bogus names
            and bytes that do not fit it fall through to the fallbacks.

    Returns:
        str.
    """
    for name in (charset, "utf-8"):
        if not name:
            continue
        try:
            codecs.lookup(name)
            return data.decode(name)
        except (LookupError, UnicodeError, ValueError, TypeError):
            continue
    return data.decode("latin-1", errors="replace")


def _subject(message):
    """The Subject from the raw header: 8-bit bytes and encoded words."""
    raw = next((value for name, value in message.raw_items()
                if name.lower() == "subject"), None)
    if raw is None:
        return ""
    text = _clean(str(raw))  # raw 8-bit bytes -> UTF-8 or Latin-1 text
    if "=?" in text:
        try:
            text = "".join(_decode_chunk(chunk, charset) for chunk, charset
                           in email.header.decode_header(text))
        except Exception:  # noqa: BLE001 - keep the raw header text
            pass
    return " ".join(text.split())


def _decode_chunk(chunk, charset):
    if isinstance(chunk, str):
        return chunk
    if charset is None:  # decode_header's own encoding of unencoded text
        try:
            return chunk.decode("raw-unicode-escape")
        except UnicodeError:
            pass
    return decode_bytes(chunk, charset)


def _clean(text):
    """Turn surrogate escapes (raw 8-bit header bytes) into real text."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return decode_bytes(text.encode("utf-8", errors="surrogateescape"))
    except UnicodeEncodeError:
        return decode_bytes(text.encode("utf-8", errors="replace"))


class _TextExtractor(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.chunks = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        self._tag(tag, opening=True)

    def handle_endtag(self, tag):
        self._tag(tag, opening=False)

    def _tag(self, tag, opening):
        if tag in _HIDDEN_TAGS:
            self.hidden = max(0, self.hidden + (1 if opening else -1))
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")
        elif tag in _CELL_TAGS:
            self.chunks.append(" ")

    def handle_data(self, data):
        if not self.hidden:
            self.chunks.append(data)


def html_to_text(markup):
    """Reduce HTML to its visible text with the standard library's parser.

    Tags, comments, scripts and styles are removed; block elements become
    line breaks, table cells spaces; entities and character references are
    unescaped (`html.parser` with `convert_charrefs=True`, which applies
    `html.unescape`); runs of spaces collapse and blank lines drop.
    Malformed markup never raises: if the parser fails, tags are stripped
    with a regular expression instead.

    Args:
        markup: str. An HTML document or fragment.

    Returns:
        str.

    Example:

    >>> html_to_text("<p>Cheap&nbsp;<b>pills</b> &amp; more</p>"
    ...              "<script>x()</script><p>Now!</p>")
    'Cheap pills & more\\nNow!'
    """
    markup = re.sub(r"<[a-zA-Z/!?][^<>]*\Z", "", markup)  # a cut-off tag
    try:
        parser = _TextExtractor()
        parser.feed(markup)
        parser.close()
        text = "".join(parser.chunks)
    except Exception:  # noqa: BLE001 - fall back on a crude strip
        text = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", markup)
        text = html.unescape(re.sub(r"(?s)<[^>]*>", " ", text))
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)
