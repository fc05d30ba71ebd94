"""Start TensorFlow without its C++ start-up chatter on the terminal.

Since TF 2.19, TensorFlow's C++ libraries log through Abseil before Abseil's
logging is initialised, so `TF_CPP_MIN_LOG_LEVEL` no longer silences them
(tensorflow/tensorflow#100442): every command of the CLI began with lines
such as

    WARNING: All log messages before absl::InitializeLog() is called are ...
    I0000 00:00:1796615351.710957   14924 port.cc:153] oneDNN custom ...
    E0000 00:00:1796615358.738885   14924 cuda_platform.cc:52] failed call
        to cuInit: INTERNAL: CUDA error: Failed call to cuInit: ...

on a machine without a GPU, where an `E` line that is no error at all reads
as a failure. They are written straight to file descriptor 2, below Python,
so `start_tensorflow` points that descriptor at a temporary file while
TensorFlow is imported and its devices are listed (the two moments that
log), then puts it back and replays every line that is not start-up noise
(`is_noise`): a real error still reaches the terminal, in order.

One TF line still shows later: oneDNN's once-per-process "supports
DT_INT32 only on platforms with AVX-512" E-line, logged by the first op it
declines. Drawing it inside the window would take running an op there, and
no op may run before `--distribution multi_worker` configures its
collectives (tested: `tests/test_distribute.py`).

Only the CLI calls this; a script that imports the library sees whatever
its TensorFlow prints. `KERASNLP_SEQ_TF_LOGS=1` turns the filter off.
"""

import os
import re
import sys
import tempfile

_NOISE = [
    re.compile(r"^WARNING: All log messages before absl::InitializeLog\(\) "
               r"is called are written to STDERR$"),
    # Abseil / glog INFO and WARNING lines: I1207 ..., W0000 ...
    re.compile(r"^[IW]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] "),
    # No GPU, or CUDA libraries registered twice: not errors for a CPU run.
    re.compile(r"^E\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] (failed call "
               r"to cuInit|Unable to register cu\w+ factory)"),
    # Once per process, at the first op oneDNN declines (a transpose of
    # int32 or bool on CPUs without AVX-512): Eigen runs it instead.
    re.compile(r"^E\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] oneDNN "
               r"supports DT_\w+ only on platforms with AVX-512\."),
    # The older timestamped format of the same lines.
    re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IW] \S+:\d+\] "),
    # The continuation line of the CPU-feature notice.
    re.compile(r"^To enable the following instructions: .* in other "
               r"operations, rebuild TensorFlow with the appropriate "
               r"compiler flags\.$"),
]


def is_noise(line):
    """Whether a line TensorFlow wrote while starting is start-up noise."""
    return any(p.search(line.rstrip("\r\n")) for p in _NOISE)


def start_tensorflow():
    """Import TensorFlow and list its devices with the noise filtered out.

    Returns:
        The `tensorflow` module.
    """
    if os.environ.get("KERASNLP_SEQ_TF_LOGS") == "1" or \
            "tensorflow" in sys.modules:
        import tensorflow as tf

        return tf
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # captured (pytest, IDEs)
        fd = None
    if fd is None:
        import tensorflow as tf

        return tf
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), fd)
        try:
            import tensorflow as tf

            # Lists devices without starting TF's runtime: no op may run
            # here, since a multi-worker strategy must configure its
            # collectives before the first one.
            tf.config.list_physical_devices()
        finally:
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", "replace")
            kept = [line for line in text.splitlines(keepends=True)
                    if not is_noise(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
    return tf
