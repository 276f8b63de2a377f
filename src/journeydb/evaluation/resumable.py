"""Prediction files written in chunks as they are made, so an interrupted benchmark continues where it stopped.

`<out>/predictions/<task>.jsonl` grows one chunk of lines at a time; beside it `.<task>.jsonl.state.json` records
what the file holds: the fingerprint of everything that decides the predictions (options, models, the chunk plan),
how many chunks are complete and the file's length after the last of them. The state is replaced atomically after
the chunk's lines are on disk, so after a crash (kill -9 included) the file is cut back to the recorded length and
the run goes on from the next chunk: the same chunks, so the same lines as a run never interrupted. A state whose
fingerprint differs (changed options) means the task starts afresh, said at WARNING.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from typing import Any, Iterable, Mapping

logger = logging.getLogger(__name__)


def fingerprint(settings: Mapping[str, Any]) -> str:
    """A stable digest of JSON-serialisable settings (key order does not matter)."""
    text = json.dumps(settings, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ChunkedPredictions:
    """One task's prediction file, `num_chunks` chunks long when complete.

    Args:
        path: the JSONL file.
        key: the fingerprint of what makes its predictions (`fingerprint`).
        num_chunks: how many chunks a complete file holds.
        task: the task's name, for the log.
    """

    def __init__(self, path: str, key: str, num_chunks: int, task: str) -> None:
        self.path, self.key, self.num_chunks, self.task = path, key, num_chunks, task
        self.state_path = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.state.json")
        self.done_chunks, self._length = self._resume()

    @property
    def complete(self) -> bool:
        return self.done_chunks >= self.num_chunks

    def _resume(self) -> tuple[int, int]:
        state = self._read_state()
        if state is not None and state.get("key") == self.key:
            length = int(state["length"])
            if os.path.exists(self.path) and os.path.getsize(self.path) >= length:
                done = int(state["chunks"])
                if done >= self.num_chunks:
                    logger.info("%s: predictions complete in %s, not redone", self.task, self.path)
                elif done:
                    logger.info("%s: resuming at chunk %d of %d (%s)", self.task, done + 1, self.num_chunks, self.path)
                with open(self.path, "r+b") as f:
                    f.truncate(length)  # drop lines of a chunk a crash left half-written
                return done, length
            logger.warning("%s: %s is shorter than its state says; starting the task afresh", self.task, self.path)
        elif state is not None:
            logger.warning(
                "%s: the options, models or scored images changed since %s was written; starting the task afresh",
                self.task, self.path,
            )
        elif os.path.exists(self.path):
            logger.warning("%s: %s has no resume state; starting the task afresh", self.task, self.path)
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        open(self.path, "wb").close()
        self._write_state(0, 0)
        return 0, 0

    def _read_state(self) -> dict[str, Any] | None:
        try:
            with open(self.state_path, encoding="utf-8") as f:
                state = json.load(f)
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, OSError) as err:
            logger.warning("%s: unreadable resume state %s (%s)", self.task, self.state_path, err)
            return {}
        return state if isinstance(state, dict) else {}

    def _write_state(self, chunks: int, length: int) -> None:
        tmp = self.state_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"key": self.key, "chunks": chunks, "num_chunks": self.num_chunks, "length": length}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.state_path)

    def append(self, chunk: int, rows: Iterable[Mapping[str, Any]]) -> None:
        """Append chunk number `chunk` (the next one) and record it."""
        if chunk != self.done_chunks:
            raise ValueError(f"{self.path}: chunk {chunk} appended after {self.done_chunks} complete chunks")
        data = "".join(json.dumps(dict(row), ensure_ascii=False) + "\n" for row in rows).encode("utf-8")
        with open(self.path, "ab") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        self._length += len(data)
        self.done_chunks += 1
        self._write_state(self.done_chunks, self._length)
