"""The process-sharding rule (`journeydb.models.sharding`): shares by index, merged back in order, on one process,
uneven counts, by hand, and the tensor path's reassembly (the collective calls replaced by what they return)."""

import numpy as np
import pytest

from journeydb.models import sharding
from journeydb.models.sharding import ProcessLayout, merge_shards, process_layout


@pytest.mark.parametrize("count", [1, 2, 3, 4])
@pytest.mark.parametrize("total", [0, 1, 2, 5, 9])
def test_shares_merge_back_in_order(count, total):
    units = [f"unit {k}" for k in range(total)]
    shares = [ProcessLayout.by_hand(p, count).share(units) for p in range(count)]
    assert sorted(len(share) for share in shares)[-1] - sorted(len(share) for share in shares)[0] <= 1
    assert sorted(u for share in shares for u in share) == sorted(units)  # each unit in exactly one share
    assert merge_shards(shares) == units


def test_share_is_by_index_and_owns_agrees():
    layout = ProcessLayout.by_hand(1, 3)
    assert layout.share(range(8)) == [1, 4, 7]
    assert [k for k in range(8) if layout.owns(k)] == [1, 4, 7]


def test_one_process_holds_everything():
    layout = ProcessLayout()
    assert layout.share(range(5)) == [0, 1, 2, 3, 4]
    assert layout.gather([[0, 1], [2]]) == [[0, 1], [2]]
    rows = np.arange(6).reshape(3, 2)
    assert layout.gather_rows(rows, [2, 1]) is rows


def test_layout_outside_a_launcher_is_one_process(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert process_layout() == ProcessLayout()
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert process_layout() == ProcessLayout()


def test_layout_of_an_accelerator():
    class FakeAccelerator:
        process_index, num_processes, is_local_main_process, device = 1, 2, False, "cpu"

    assert process_layout(FakeAccelerator()) == ProcessLayout(1, 2, distributed=True, is_local_main_process=False)


def test_gather_interleaves_every_process_share(monkeypatch):
    units = list(range(7))
    shares = [ProcessLayout.by_hand(p, 3).share(units) for p in range(3)]
    monkeypatch.setattr(sharding, "_all_gather_objects", lambda share: shares)
    assert ProcessLayout(2, 3, distributed=True).gather(shares[2]) == units


def test_gather_rows_restores_the_unit_order(monkeypatch):
    sizes = [2, 2, 2, 1, 0, 3]  # uneven units, one of them empty
    rows = np.arange(sum(sizes) * 2, dtype=np.float32).reshape(-1, 2)
    bounds = np.cumsum([0, *sizes])
    units = [rows[bounds[u] : bounds[u + 1]] for u in range(len(sizes))]
    held = [np.concatenate(units[p::3]) for p in range(3)]  # what each of 3 processes holds
    monkeypatch.setattr(sharding, "_all_gather_rows", lambda local, device: held)
    for p in range(3):
        np.testing.assert_array_equal(ProcessLayout(p, 3, distributed=True).gather_rows(held[p], sizes), rows)


def test_gather_rows_checks_the_share():
    with pytest.raises(ValueError, match="process 1 holds 3 rows, but its units have 2"):
        ProcessLayout(1, 2, distributed=True).gather_rows(np.zeros((3, 2)), [1, 2, 1])


def test_a_share_by_hand_is_not_gathered():
    with pytest.raises(ValueError, match="split by hand and cannot be gathered"):
        ProcessLayout.by_hand(0, 2).gather([1])


@pytest.mark.parametrize("index, count", [(2, 2), (-1, 2), (0, 0), (0.5, 2)])
def test_bad_layout(index, count):
    with pytest.raises(ValueError, match="0 <= process_index < num_processes"):
        ProcessLayout.by_hand(index, count)


def test_merge_checks_share_sizes():
    assert merge_shards([]) == []
    with pytest.raises(ValueError, match="do not interleave"):
        merge_shards([[0], [1, 3, 5]])
