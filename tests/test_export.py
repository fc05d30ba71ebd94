"""The exported SavedModel, loaded as a serving system would: TensorFlow only.

The model is exported through the CLI (`exported_run` in conftest.py; the
run's own `saved_model/` is checked too), then loaded with
`tf.saved_model.load` in a fresh Python process that imports nothing but
TensorFlow (checked: `kerasnlp_seq` never enters `sys.modules` there), and
its `serving_default` answers are compared with the in-process predictions
of the same run (`runs.predict`).
"""

import json
import os
import subprocess
import sys

import numpy as np

SERVE = r"""
import json, sys
import tensorflow as tf

texts = json.loads(sys.argv[1])
out = {}
for path in sys.argv[2:]:
    loaded = tf.saved_model.load(path)
    serve = loaded.signatures["serving_default"]
    spec = serve.structured_input_signature[1]["text"]
    result = serve(text=tf.constant(texts))
    out[path] = {
        "input": [spec.dtype.name, spec.shape.as_list()],
        "outputs": sorted(result),
        "label": [s.decode("utf-8") for s in result["label"].numpy()],
        "probabilities": result["probabilities"].numpy().tolist(),
        "dtype": result["probabilities"].dtype.name,
    }
assert not [m for m in sys.modules if m.split(".")[0] in (
    "kerasnlp_seq", "tasks", "cli")], "project modules were imported"
print("RESULT " + json.dumps(out))
"""

TEXTS = ["A great, superb and lovely film!", "awful", "", " \t",
         "Dull <br /> boring and poor plot " * 8, "an okay average story",
         "caf\u00e9 \u65e5\u672c unknown words"]


def test_saved_model_serves_raw_text_like_the_run(trained_run, exported_run,
                                                  tmp_path):
    from kerasnlp_seq import runs

    exported = exported_run
    in_run = os.path.join(trained_run.run_dir, "saved_model")
    script = tmp_path / "serve.py"
    script.write_text(SERVE)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    proc = subprocess.run(
        [sys.executable, str(script), json.dumps(TEXTS), exported, in_run],
        cwd=str(tmp_path), env=env, capture_output=True, text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    served = json.loads(line[0][len("RESULT "):])

    task, answers = runs.predict(trained_run.run_dir, TEXTS)
    names = task.labels.names
    assert answers[2] is None and answers[3] is None  # blank: no answer
    expected = np.array([[a["probabilities"][n] for n in names] if a
                         else [0.0] * len(names) for a in answers])
    for path in (exported, in_run):
        out = served[path]
        assert out["input"] == ["string", [None]]
        assert out["outputs"] == ["label", "probabilities"]
        assert out["dtype"] == "float32"
        np.testing.assert_allclose(out["probabilities"], expected, atol=1e-5)
        assert out["label"] == [a["label"] if a else "" for a in answers]
        assert set(out["label"]) <= set(names) | {""}
