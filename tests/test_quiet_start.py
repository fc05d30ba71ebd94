"""TensorFlow's C++ start-up lines are filtered; everything else gets through
(`kerasnlp_seq.quiet_start`)."""

import os
import subprocess
import sys
import textwrap

import pytest

from kerasnlp_seq.quiet_start import is_noise

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Lines TF 2.21 writes at import and device listing on a CPU-only machine.
NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are "
    "written to STDERR",
    "I0000 00:00:1796615351.710957   14924 port.cc:153] oneDNN custom "
    "operations are on. You may see slightly different numerical results.",
    "I0000 00:00:1796616092.160199   27541 cudart_stub.cc:31] Could not find "
    "cuda drivers on your machine, GPU will not be used.",
    "I0000 00:00:1796616092.272653   27541 cpu_feature_guard.cc:227] This "
    "TensorFlow binary is optimized to use available CPU instructions.",
    "To enable the following instructions: AVX2 AVX512F FMA, in other "
    "operations, rebuild TensorFlow with the appropriate compiler flags.",
    "E0000 00:00:1796616100.436902   27541 cuda_platform.cc:52] failed call "
    "to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR "
    "(303)",
    "E0000 00:00:1758131045.203198 3722035 cuda_dnn.cc:8579] Unable to "
    "register cuDNN factory: Attempting to register factory for plugin "
    "cuDNN when one has already been registered",
    "E0000 00:00:1796618175.110780   26247 util.cc:131] oneDNN supports "
    "DT_INT32 only on platforms with AVX-512. Falling back to the default "
    "Eigen-based implementation if present.",
    "2025-09-17 14:44:05.157831: I external/local_xla/xla/tsl/cuda/"
    "cudart_stub.cc:32] Could not find cuda drivers on your machine.",
]
KEPT = [
    "E0000 00:00:1796616100.436902   27541 bfc_allocator.cc:485] Allocator "
    "ran out of memory trying to allocate 2.00GiB",
    "Traceback (most recent call last):",
    "ImportError: libcudnn.so.9: cannot open shared object file",
    "WARNING: something the user should read",
]


@pytest.mark.parametrize("line", NOISE)
def test_start_up_lines_are_noise(line):
    assert is_noise(line) and is_noise(line + "\n")


@pytest.mark.parametrize("line", KEPT)
def test_other_lines_are_kept(line):
    assert not is_noise(line)


def _run(code, env=None, pythonpath=()):
    env = dict(os.environ, **(env or {}))
    env["PYTHONPATH"] = os.pathsep.join(list(pythonpath) + [ROOT])
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, env=env,
                          timeout=300)


FAKE_TF = """
import os
os.write(2, b"WARNING: All log messages before absl::InitializeLog() is "
            b"called are written to STDERR\\n")
os.write(2, b"I0000 00:00:1796615351.710957   14924 port.cc:153] noise\\n")
os.write(2, b"a real problem, line 1\\n")

class config:
    @staticmethod
    def list_physical_devices():
        os.write(2, b"E0000 00:00:1796616100.436902   27541 "
                    b"cuda_platform.cc:52] failed call to cuInit: x\\n")
        os.write(2, b"a real problem, line 2\\n")
        return []
"""


def test_noise_is_dropped_and_the_rest_replayed_in_order(tmp_path):
    (tmp_path / "tensorflow.py").write_text(FAKE_TF)
    code = """
        import sys
        print("before", file=sys.stderr, flush=True)
        from kerasnlp_seq.quiet_start import start_tensorflow
        tf = start_tensorflow()
        print("after", tf.__name__, file=sys.stderr)
    """
    result = _run(code, pythonpath=[str(tmp_path)])
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "before", "a real problem, line 1", "a real problem, line 2",
        "after tensorflow"]
    unfiltered = _run(code, env={"KERASNLP_SEQ_TF_LOGS": "1"},
                      pythonpath=[str(tmp_path)])
    assert "failed call to cuInit" not in unfiltered.stderr  # not listed
    assert "absl::InitializeLog" in unfiltered.stderr


def test_an_import_error_is_replayed_and_raised(tmp_path):
    (tmp_path / "tensorflow.py").write_text(
        "import os\nos.write(2, b'loading libtensorflow\\n')\n"
        "raise ImportError('libcudnn.so.9: cannot open shared object file')\n")
    result = _run("""
        from kerasnlp_seq.quiet_start import start_tensorflow
        start_tensorflow()
    """, pythonpath=[str(tmp_path)])
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "loading libtensorflow"
    assert lines[-1] == ("ImportError: libcudnn.so.9: cannot open shared "
                         "object file")


def test_real_tensorflow_starts_quietly():
    result = _run("""
        import sys
        from kerasnlp_seq.quiet_start import start_tensorflow
        tf = start_tensorflow()
        print(tf.reduce_sum(tf.ones([2])).numpy(), file=sys.stderr)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == ["2.0"]
