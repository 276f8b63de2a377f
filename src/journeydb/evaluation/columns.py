"""Compact per-sample columns: a split's references held as Arrow arrays, read back as plain Python sequences.

At the release's size a Python object per reference costs more than the data (a 30-character question id is an
80-byte `str`; a question's four options a 400-byte list). A `Column` keeps the values in Arrow arrays (one buffer of
UTF-8 bytes plus offsets) and is a read-only `Sequence`: `len`, indexing, slicing and iteration give Python values,
iteration converting a bounded chunk at a time. A `ColumnBuilder` appends Python values and converts them to Arrow
every `CHUNK` values, so building never holds more than one chunk as Python objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Iterable, Iterator, Union, overload

import numpy as np
import pyarrow as pa

CHUNK = 16384  # values converted to or from Python objects at a time

TEXT = pa.large_string()
PHRASES = pa.list_(pa.string())
QUESTION = pa.struct(
    [
        ("question_id", pa.string()),
        ("type", pa.string()),
        ("question", pa.string()),
        ("options", pa.list_(pa.string())),
        ("answer", pa.string()),
    ]
)
QUESTIONS = pa.list_(QUESTION)


class Column(Sequence):
    """A read-only sequence of Python values stored as one Arrow chunked array (see the module docstring)."""

    __slots__ = ("_array",)

    def __init__(self, array: Union[pa.Array, pa.ChunkedArray]) -> None:
        self._array = array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array])

    @classmethod
    def of(cls, values: Iterable[Any], type: pa.DataType) -> "Column":
        builder = ColumnBuilder(type)
        builder.extend(values)
        return builder.finish()

    @property
    def arrow(self) -> pa.ChunkedArray:
        return self._array

    def __len__(self) -> int:
        return len(self._array)

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> list: ...

    def __getitem__(self, index: Union[int, slice]) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            return self._array.slice(start, max(stop - start, 0)).to_pylist()
        if isinstance(index, (int, np.integer)):
            position = int(index) + len(self) if index < 0 else int(index)
            if not 0 <= position < len(self):
                raise IndexError(f"column index {index} out of range for {len(self)} values")
            return self._array[position].as_py()
        raise TypeError(f"column indices must be integers or slices, not {type(index).__name__}")

    def __iter__(self) -> Iterator[Any]:
        for chunk in self._array.chunks:
            for start in range(0, len(chunk), CHUNK):
                yield from chunk.slice(start, CHUNK).to_pylist()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Column):
            return self._array.equals(other._array)
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking equality; a column is not a dict key

    def __repr__(self) -> str:
        head = ", ".join(repr(v) for v in self[:3])
        return f"Column({len(self)} x {self._array.type}: [{head}{', ...' if len(self) > 3 else ''}])"

    def take(self, indices: np.ndarray) -> "Column":
        """The values at `indices`, in that order."""
        return Column(self._array.take(pa.array(indices, type=pa.int64())))

    def to_list(self) -> list:
        return self._array.to_pylist()


class ColumnBuilder:
    """Appends Python values and keeps them as Arrow chunks of `CHUNK` values (see the module docstring)."""

    def __init__(self, type: pa.DataType) -> None:
        self.type = type
        self._pending: list[Any] = []
        self._chunks: list[pa.Array] = []
        self._length = 0

    def __len__(self) -> int:
        return self._length

    def append(self, value: Any) -> None:
        self._pending.append(value)
        self._length += 1
        if len(self._pending) >= CHUNK:
            self._flush()

    def extend(self, values: Iterable[Any]) -> None:
        for value in values:
            self.append(value)

    def _flush(self) -> None:
        if self._pending:
            self._chunks.append(pa.array(self._pending, type=self.type))
            self._pending = []

    def finish(self) -> Column:
        self._flush()
        return Column(pa.chunked_array(self._chunks, type=self.type))


def arrow_of(values: Sequence[Any], type: pa.DataType) -> Union[pa.Array, pa.ChunkedArray]:
    """The Arrow array of `values`: a Column's own, else one converted from the Python values."""
    return values.arrow if isinstance(values, Column) else pa.array(list(values), type)
