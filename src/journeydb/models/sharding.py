"""Sharding work over the processes of a distributed run, one rule for every model runner.

The rule. Work is a sequence of units (questions, batches of images, batches of judge inputs) whose order depends
only on the inputs. Process p of N takes units p, p + N, p + 2N, ... (`ProcessLayout.share`); the results are
gathered on every process and interleaved back into unit order (`ProcessLayout.gather`, `merge_shards`), so a
sharded run returns exactly what one process returns, provided every process is given the same inputs. Numeric
rows (CLIP rankings) take a tensor path (`ProcessLayout.gather_rows`) under the same rule.

The layout. `process_layout()` is one process unless the run was started by `accelerate launch` or torchrun
(`WORLD_SIZE` > 1); then it is accelerate's `PartialState` (on CPU, create `PartialState(cpu=True)` before: accelerate
goes distributed on CPU only when asked). A caller holding an `accelerate.Accelerator` passes it instead.
`ProcessLayout.by_hand(index, count)` does one share of a run split by hand: it is never gathered, its shares
are put together with `merge_shards`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional, TypeVar

import numpy as np

Unit = TypeVar("Unit")

__all__ = ["ProcessLayout", "merge_shards", "process_layout"]


@dataclass(frozen=True)
class ProcessLayout:
    """Which process this is, of how many, and whether its results can be gathered from the others.

    Attributes:
        process_index (`int`): this process's place, 0 <= process_index < num_processes.
        num_processes (`int`): how many processes share the work.
        distributed (`bool`): the processes run together (torch.distributed through accelerate), so `gather` and
            `gather_rows` can collect every share; `False` for one process or a share done by hand.
        is_local_main_process (`bool`): the process that shows progress bars on its machine.
        device (`str`): where tensors go for a tensor gather (the process's own GPU under NCCL).
    """

    process_index: int = 0
    num_processes: int = 1
    distributed: bool = False
    is_local_main_process: bool = True
    device: str = "cpu"

    def __post_init__(self) -> None:
        index, count = self.process_index, self.num_processes
        if not (isinstance(index, int) and isinstance(count, int) and 0 <= index < count):
            raise ValueError(f"a process layout needs 0 <= process_index < num_processes, got ({index!r}, {count!r})")

    @classmethod
    def by_hand(cls, process_index: int, num_processes: int) -> "ProcessLayout":
        """Share `process_index` of a run split into `num_processes` by hand (not gathered)."""
        return cls(process_index, num_processes, distributed=False, is_local_main_process=process_index == 0)

    def owns(self, position: int) -> bool:
        """Whether unit `position` of the work is this process's (for work read as a stream)."""
        return position % self.num_processes == self.process_index

    def share(self, units: Sequence[Unit]) -> list[Unit]:
        """This process's units: `units[process_index::num_processes]`."""
        return list(units[self.process_index :: self.num_processes])

    def gather(self, results: Sequence[Unit]) -> list[Unit]:
        """Every process's results, one per unit of its share, interleaved into unit order, on every process."""
        if self.num_processes == 1:
            return list(results)
        self._check_gatherable()
        return merge_shards(_all_gather_objects(list(results)))

    def gather_rows(self, rows: np.ndarray, unit_sizes: Sequence[int]) -> np.ndarray:
        """Every process's rows in unit order, on every process: the tensor path of `gather`.

        `rows` is this process's units one after the other, unit u holding `unit_sizes[u]` rows (so this process
        holds the rows of units `process_index::num_processes`); `unit_sizes` covers all the work and must be the
        same on every process.
        """
        sizes = [int(size) for size in unit_sizes]
        if rows.shape[0] != sum(sizes[self.process_index :: self.num_processes]):
            raise ValueError(
                f"process {self.process_index} holds {rows.shape[0]} rows, but its units have "
                f"{sum(sizes[self.process_index :: self.num_processes])}"
            )
        if self.num_processes == 1:
            return rows
        self._check_gatherable()
        per_process = _all_gather_rows(rows, self.device)
        pieces: list[Optional[np.ndarray]] = [None] * len(sizes)
        for p, held in enumerate(per_process):
            offset = 0
            for unit in range(p, len(sizes), self.num_processes):
                pieces[unit] = held[offset : offset + sizes[unit]]
                offset += sizes[unit]
            if offset != held.shape[0]:
                raise ValueError(f"process {p} sent {held.shape[0]} rows for units holding {offset}")
        if not pieces:
            return rows[:0]
        return np.concatenate(pieces)

    def _check_gatherable(self) -> None:
        if not self.distributed:
            raise ValueError(
                f"share {self.process_index} of {self.num_processes} was split by hand and cannot be gathered: "
                "put the shares together with merge_shards"
            )


def process_layout(accelerator: Any = None) -> ProcessLayout:
    """The layout of this run: `accelerator`'s when one is given, accelerate's `PartialState` under a launcher
    (`WORLD_SIZE` > 1), else one process."""
    if accelerator is None:
        if int(os.environ.get("WORLD_SIZE", "1")) <= 1:  # set by accelerate launch, torchrun and their launchers
            return ProcessLayout()
        from accelerate import PartialState

        accelerator = PartialState()
    count = int(accelerator.num_processes)
    return ProcessLayout(
        process_index=int(accelerator.process_index),
        num_processes=count,
        distributed=count > 1,
        is_local_main_process=bool(accelerator.is_local_main_process),
        device=str(accelerator.device),
    )


def merge_shards(shards: Sequence[Sequence[Unit]]) -> list[Unit]:
    """The whole run's results from the shares of `len(shards)` processes (unit k is in share k % len(shards))."""
    count = len(shards)
    if count == 0:
        return []
    total = sum(len(part) for part in shards)
    expected = [len(range(i, total, count)) for i in range(count)]
    if [len(part) for part in shards] != expected:
        raise ValueError(f"shard sizes {[len(part) for part in shards]} do not interleave into {total} units")
    return [shards[k % count][k // count] for k in range(total)]


def _all_gather_objects(share: list[Any]) -> list[list[Any]]:
    """Each process's `share`, in process order (picklable objects, through torch.distributed)."""
    from accelerate.utils import gather_object

    return gather_object([share])


def _all_gather_rows(rows: np.ndarray, device: str) -> list[np.ndarray]:
    """Each process's `rows` (any row count, the same trailing shape and dtype), in process order."""
    import torch
    from accelerate.utils import gather, pad_across_processes

    local = torch.from_numpy(np.ascontiguousarray(rows)).to(device)
    counts = gather(torch.tensor([local.shape[0]], device=device)).tolist()
    padded = pad_across_processes(local, dim=0)  # gather needs one shape on every process
    gathered = gather(padded).cpu().numpy()
    width = padded.shape[0]
    return [gathered[p * width : p * width + n] for p, n in enumerate(counts)]
