"""Early stopping whose memory survives an interrupted run.

Keras' `EarlyStopping` keeps the best score, the best epoch's weights and
its patience count in memory only, and `BackupAndRestore` does not save
them: a run interrupted after its best epoch and resumed with `--resume`
forgot that epoch, waited a full patience again and kept the best of the
epochs after the resume (a worse model than the history shows).
`ResumableEarlyStopping` writes that state beside the backup after every
epoch (`early_stopping.json`, and the best weights as `best_weights.npz`,
each replaced atomically) and reads it back when training starts again.
When training has ended (patience ran out, or the last epoch) the state
says so (`"done"`), and `finished_state` tells the caller that the resumed
run needs no more epochs, only the best weights (`best_weights`).
"""

import json
import os

import keras
import numpy as np

STATE_FILE = "early_stopping.json"
WEIGHTS_FILE = "best_weights.npz"


def _replace(path, write):
    """Write `path` through a temporary file, so a kill leaves the old one."""
    tmp = path + ".tmp"
    write(tmp)
    os.replace(tmp, path)


def read_state(directory):
    """The saved early-stopping state in `directory`, or None."""
    path = os.path.join(directory, STATE_FILE)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def finished_state(directory):
    """Whether training in `directory` had ended (only results to write)."""
    state = read_state(directory)
    return bool(state and state.get("done"))


def best_weights(directory):
    """The best epoch's weights saved in `directory` (a list), or None."""
    path = os.path.join(directory, WEIGHTS_FILE)
    if not os.path.exists(path):
        return None
    with np.load(path) as saved:
        return [saved[f"w{i}"] for i in range(len(saved.files))]


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """`keras.callbacks.EarlyStopping` that saves and restores its state.

    Args:
        state_dir: str. Where the state is written (the run's backup
            folder, deleted with it once the run is complete).
        restore_dir: str or None. Where it is read from on resume (default
            `state_dir`; a multi-worker run's chief folder).
        **kwargs: as for `EarlyStopping`.
    """

    def __init__(self, state_dir, restore_dir=None, **kwargs):
        super().__init__(**kwargs)
        self.state_dir = state_dir
        self.restore_dir = restore_dir or state_dir

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        state = read_state(self.restore_dir)
        if state is None:
            return
        self.best, self.wait = state["best"], state["wait"]
        self.best_epoch = state["best_epoch"]
        if self.restore_best_weights:
            self.best_weights = best_weights(self.restore_dir)

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        os.makedirs(self.state_dir, exist_ok=True)
        if self.restore_best_weights and self.best_weights is not None and \
                self.best_epoch == epoch:  # a new best: keep its weights
            weights = self.best_weights

            def write(path):
                with open(path, "wb") as f:
                    np.savez(f, **{f"w{i}": w for i, w in enumerate(weights)})
            _replace(os.path.join(self.state_dir, WEIGHTS_FILE), write)
        self._save_state(done=False)

    def on_train_end(self, logs=None):
        self._save_state(done=True)
        super().on_train_end(logs)

    def _save_state(self, done):
        os.makedirs(self.state_dir, exist_ok=True)
        best = None if self.best is None else float(self.best)
        state = {"best": best, "wait": int(self.wait),
                 "best_epoch": int(self.best_epoch), "done": done}

        def write(path):
            with open(path, "w", encoding="utf-8") as f:
                json.dump(state, f)
        _replace(os.path.join(self.state_dir, STATE_FILE), write)
