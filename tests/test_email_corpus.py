import base64
import email
import email.policy
import os

import numpy as np
import pytest

from kerasnlp_seq.email_corpus import (html_to_text, message_text,
                                       read_email_folders, scan_email_folders)
from kerasnlp_seq.errors import ConfigError, DataError

MULTIPART = b"""\
From: a@example.com
To: b@example.com
Subject: Cheap meds
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="OUTER"

--OUTER
Content-Type: multipart/alternative; boundary="ALT"

--ALT
Content-Type: text/plain; charset=us-ascii

Plain version of the offer.
--ALT
Content-Type: text/html; charset=us-ascii

<p>HTML version of the offer.</p>
--ALT--
--OUTER
Content-Type: text/html; charset=utf-8

<html><head><style>p {color: red}</style><script>evil()</script></head>
<body><p>Buy&nbsp;now &amp; save&#33;</p><!-- hidden comment -->
<table><tr><td>cell1</td><td>cell2</td></tr></table></body></html>
--OUTER
Content-Type: text/plain; name="notes.txt"
Content-Disposition: attachment; filename="notes.txt"

attached text that must not appear
--OUTER
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

""" + base64.encodebytes(b"binary secret payload") + b"""
--OUTER--
"""

BASE64_TEXT = (b"Subject: =?utf-8?b?" + base64.b64encode("Grüße".encode())
               + b"?=\nContent-Type: text/plain; charset=utf-8\n"
               b"Content-Transfer-Encoding: base64\n\n"
               + base64.encodebytes("Schöne Grüße aus Köln".encode("utf-8")))

BOGUS_UTF8 = ("Subject: bogus\nContent-Type: text/plain; charset=x-bogus-42\n"
              "Content-Transfer-Encoding: 8bit\n\nnaïve café\n").encode()
BOGUS_LATIN1 = (  # "base64" is a codec, but not a text encoding
    b"Subject: bogus2\nContent-Type: text/plain; charset=\"base64\"\n"
    b"Content-Transfer-Encoding: 8bit\n\ncaf\xe9 cr\xe8me\n")
LATIN1 = (b"Subject: latin\nContent-Type: text/plain; charset=iso-8859-1\n"
          b"Content-Transfer-Encoding: 8bit\n\nLe caf\xe9 est pr\xeat\n")
UNDECLARED_LATIN1 = b"Subject: r\xe9sum\xe9\n\nno charset: \xe0 bient\xf4t\n"
EMPTY_HEADERS_ONLY = b"From: a@example.com\nTo: b@example.com\n\n\n"
ONLY_ATTACHMENT = b"""\
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="B"

--B
Content-Type: image/png
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--B--
"""


def _write(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "corpus"
    _write(root / "spam", "0001.aaa", MULTIPART)
    _write(root / "spam", "0002.bbb", BASE64_TEXT)
    _write(root / "spam", "0003.ccc", BOGUS_UTF8)
    _write(root / "spam", "0004.ddd", b"")
    _write(root / "spam", "cmds", b"mv 00001.abc 0001.aaa\nmv x y\n")
    _write(root / "spam", ".DS_Store", b"Subject: hidden file\n\nhidden\n")
    _write(root / "easy_ham", "0001.eee", LATIN1)
    _write(root / "easy_ham", "0002.fff", UNDECLARED_LATIN1)
    _write(root / "easy_ham", "0003.ggg", EMPTY_HEADERS_ONLY)
    _write(root / "hard_ham", "0001.hhh", BOGUS_LATIN1)
    _write(root / "hard_ham", "0002.iii", ONLY_ATTACHMENT)
    _write(root / ".git", "0001", b"Subject: hidden folder\n\nx\n")
    _write(root, "README", b"not a class")
    return str(root)


def test_reads_every_kind_of_message(corpus):
    records, report = scan_email_folders(corpus)
    by_name = {os.path.basename(r["path"]): r for r in records}
    assert sorted(by_name) == ["0001.aaa", "0001.eee", "0001.hhh",
                               "0002.bbb", "0002.fff", "0003.ccc"]
    assert [r["label"] for r in records] == [
        "easy_ham", "easy_ham", "hard_ham", "spam", "spam", "spam"]

    text = by_name["0001.aaa"]["text"]
    assert text.startswith("Cheap meds\n\nPlain version of the offer.\n")
    assert "HTML version" not in text  # alternative: plain preferred
    assert "Buy now & save!" in text and "cell1 cell2" in text
    for gone in ("evil", "color", "hidden comment", "attached text",
                 "binary secret", "<p>"):
        assert gone not in text
    assert by_name["0002.bbb"]["text"] == "Grüße\n\nSchöne Grüße aus Köln"
    assert by_name["0003.ccc"]["text"] == "bogus\n\nnaïve café"
    assert by_name["0001.hhh"]["text"] == "bogus2\n\ncafé crème"
    assert by_name["0001.eee"]["text"] == "latin\n\nLe café est prêt"
    assert by_name["0002.fff"]["text"] == "résumé\n\nno charset: à bientôt"

    assert report["kept"] == 6
    assert (report["empty"], report["undecodable"]) == (3, 0)
    assert report["per_label"] == {"easy_ham": 2, "hard_ham": 1, "spam": 3}
    assert sorted(os.path.basename(p) for p, why in report["skipped"]
                  if why == "empty") == ["0002.iii", "0003.ggg", "0004.ddd"]
    assert read_email_folders(corpus) == records


def test_label_map_merges_and_excludes(corpus):
    records = read_email_folders(
        corpus, label_map={"easy_ham": "ham", "hard_ham": "ham", "x": "y"})
    assert sorted({r["label"] for r in records}) == ["ham", "spam"]
    assert sum(r["label"] == "ham" for r in records) == 3
    records = read_email_folders(corpus, label_map={"hard_ham": None})
    assert {r["label"] for r in records} == {"easy_ham", "spam"}


def test_max_bytes_truncates(corpus):
    records, report = scan_email_folders(corpus, max_bytes=60)
    assert report["truncated"] >= 3
    assert all(len(r["text"].encode("utf-8")) <= 60 for r in records)
    with pytest.raises(ConfigError, match="Received: max_bytes=0"):
        read_email_folders(corpus, max_bytes=0)
    with pytest.raises(ConfigError, match="label_map"):
        read_email_folders(corpus, label_map=["ham"])


def test_unparseable_messages_are_counted(corpus, monkeypatch):
    def broken(raw, policy=None):
        if b"Cheap meds" in raw:
            raise RuntimeError("parser bug")
        return real(raw, policy=policy)

    real = email.message_from_bytes
    monkeypatch.setattr(email, "message_from_bytes", broken)
    _, report = scan_email_folders(corpus)
    assert report["undecodable"] == 1 and report["kept"] == 5
    assert [why for p, why in report["skipped"] if "0001.aaa" in p] == [
        "undecodable"]


def test_never_crashes_on_garbage(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "c"
    seeds = [MULTIPART, BASE64_TEXT, BOGUS_LATIN1, LATIN1]
    for i in range(60):
        if i % 2:
            data = rng.integers(0, 256, size=rng.integers(1, 400),
                                dtype=np.uint8).tobytes()
        else:  # corrupt a real message at random places
            data = bytearray(seeds[i % 4])
            for j in rng.integers(0, len(data), size=8):
                data[j] = rng.integers(0, 256)
            data = bytes(data)
        _write(root / ("spam" if i < 30 else "ham"), f"{i:04d}", data)
    _write(root / "spam", "zz", b"Subject: ok\n\nspam")
    _write(root / "ham", "zz", b"Subject: ok\n\nham")
    records, report = scan_email_folders(root)
    assert report["kept"] + report["empty"] + report["undecodable"] == 62
    for r in records:
        r["text"].encode("utf-8")  # no lone surrogates


def test_compat32_message_decodes_encoded_subject():
    raw = (b"Subject: =?iso-8859-1?q?Caf=E9?= offer\n"
           b"Content-Type: text/html\n\n<b>Hi</b> there")
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert message_text(message) == "Café offer\n\nHi there"


def test_html_to_text():
    assert html_to_text("<p>Cheap&nbsp;<b>pills</b> &amp; more</p>"
                        "<script>x()</script><p>Now!</p>") == (
        "Cheap pills & more\nNow!")
    assert html_to_text("a<br>b<br/>c&lt;d&#62;&#x41;") == "a\nb\nc<d>A"
    assert html_to_text("<STYLE>.x{}</STYLE>Hello <i>wor</i>ld") == (
        "Hello world")
    assert html_to_text("<div>unclosed <b>bold<p") == "unclosed bold"
    assert html_to_text("<script>never closed") == ""
    assert html_to_text("") == ""


def _errors(root, **kwargs):
    with pytest.raises(DataError) as e:
        read_email_folders(root, **kwargs)
    return str(e.value)


def test_error_messages(tmp_path):
    missing = str(tmp_path / "nope")
    assert _errors(missing) == (
        f"{missing}: e-mail corpus folder not found; expected a folder with "
        "one sub-folder of raw messages per class (e.g. spam/ and ham/).")
    _write(tmp_path, "file", b"x")
    assert "folder is a file" in _errors(str(tmp_path / "file"))

    root = tmp_path / "r"
    os.makedirs(root / ".hidden")
    assert _errors(str(root)) == (
        f"{root}: no class folders found; expected one sub-folder of raw "
        "messages per class (e.g. spam/ and ham/).")

    _write(root / "spam", "cmds", b"mv a b\n")
    _write(root / "spam", ".keep", b"")
    assert _errors(str(root)) == (
        f"{root / 'spam'}: class folder holds no messages; expected one raw "
        "RFC 822 message per file (hidden files and `cmds` are ignored).")

    _write(root / "spam", "0001", b"Subject: win\n\nmoney")
    assert _errors(str(root)) == (
        f"{root}: found only one class ['spam']; a corpus needs at least two "
        "classes (e.g. spam/ and ham/ folders, after the folder-to-label "
        "mapping: --folder-labels, or `label_map` in Python).")
    _write(root / "ham", "0001", b"Subject: hi\n\nlunch?")
    assert "only one class ['ham']" in _errors(
        str(root), label_map={"spam": "ham"})

    _write(root / "ham", "0001", b"")
    assert _errors(str(root)) == (
        f"{root}: class 'ham' has no usable message (all empty or "
        "undecodable); every class needs at least one.")
    _write(root / "spam", "0001", b"From: x\n\n  \n")
    assert _errors(str(root)) == (
        f"{root}: all 2 messages are empty or undecodable (2 empty, 0 "
        "undecodable); expected raw RFC 822 messages with text.")
