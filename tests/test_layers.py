"""`import kerasnlp_seq.layers` registers every Keras class of the toolkit.

It is the one import the README asks for before `keras.saving.load_model`
of a toolkit model, so both checks run in a fresh process that imports
nothing else of the toolkit.
"""

import ast
import os
import subprocess
import sys

import kerasnlp_seq

PACKAGE = os.path.dirname(kerasnlp_seq.__file__)


def registered_names():
    """`package>Class` of every `register_keras_serializable` class."""
    names = []
    for filename in sorted(os.listdir(PACKAGE)):
        if not filename.endswith(".py"):
            continue
        with open(os.path.join(PACKAGE, filename), encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            for decorator in node.decorator_list:
                if (isinstance(decorator, ast.Call)
                        and getattr(decorator.func, "attr", None)
                        == "register_keras_serializable"):
                    options = {k.arg: k.value.value
                               for k in decorator.keywords}
                    names.append(f"{options.get('package', 'Custom')}>"
                                 f"{options.get('name', node.name)}")
    return names


def run_fresh(code, *args):
    proc = subprocess.run([sys.executable, "-c", code, *args],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_the_import_registers_every_class_in_the_package():
    names = registered_names()
    # The scan itself finds what it should (a few of each kind).
    assert {"kerasnlp_seq>LuongAttention", "kerasnlp_seq>CRF",
            "kerasnlp_seq>FastLSTM", "kerasnlp_seq>EntityF1",
            "kerasnlp_seq>SmoothedSparseCrossentropy"} <= set(names)
    out = run_fresh(
        "import sys, keras, kerasnlp_seq.layers\n"
        "missing = [n for n in sys.argv[1:]\n"
        "           if keras.saving.get_registered_object(n) is None]\n"
        "print('MISSING', missing)", *names)
    assert "MISSING []" in out, out


def test_a_seq2seq_model_reloads_with_only_the_layers_import(tmp_path):
    import numpy as np

    from kerasnlp_seq.seq2seq import build_seq2seq

    model = build_seq2seq(30, 25, embedding_dim=8, cell="lstm",
                          encoder_units=8, encoder_layers=2, units=16,
                          decoder_layers=2, attention="luong")
    path = str(tmp_path / "s2s.keras")
    model.save(path)
    source = np.array([[3, 4, 5, 0], [6, 7, 0, 0]], dtype="int32")
    target = np.array([[1, 8, 9], [1, 10, 0]], dtype="int32")
    np.save(tmp_path / "source.npy", source)
    np.save(tmp_path / "target.npy", target)
    expected = model.predict([source, target], verbose=0)
    out = run_fresh(
        "import sys, keras, numpy as np, kerasnlp_seq.layers\n"
        "d = sys.argv[1]\n"
        "model = keras.saving.load_model(d + '/s2s.keras')\n"
        "x = [np.load(d + '/source.npy'), np.load(d + '/target.npy')]\n"
        "np.save(d + '/logits.npy', model.predict(x, verbose=0))\n"
        "print('OK')", str(tmp_path))
    assert "OK" in out
    np.testing.assert_allclose(np.load(tmp_path / "logits.npy"), expected,
                               atol=1e-6)
