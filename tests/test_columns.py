"""`evaluation.columns`: compact Arrow columns that read back as the Python values they were built from."""

from __future__ import annotations

import numpy as np
import pytest

from journeydb.evaluation import columns
from journeydb.evaluation.columns import PHRASES, QUESTIONS, TEXT, Column


def test_a_column_reads_back_its_values_across_chunks(monkeypatch):
    monkeypatch.setattr(columns, "CHUNK", 3)  # several chunks, and a partial last one
    values = [f"text {i} é" for i in range(10)]
    column = Column.of(values, TEXT)
    assert len(column.arrow.chunks) == 4
    assert len(column) == 10 and list(column) == values and column == values and column.to_list() == values
    assert column[0] == values[0] and column[-1] == values[-1] and column[np.int64(4)] == values[4]
    assert column[2:7] == values[2:7] and column[::3] == values[::3]
    assert column.take(np.array([9, 0, 4])) == [values[9], values[0], values[4]]
    with pytest.raises(IndexError):
        column[10]
    with pytest.raises(TypeError):
        column["a"]


def test_list_and_struct_columns_give_lists_and_dicts():
    phrases = Column.of([["oil painting", "8k"], [], ["bokeh"]], PHRASES)
    assert list(phrases) == [["oil painting", "8k"], [], ["bokeh"]]
    question = {"question_id": "q", "type": "style", "question": "Style?", "options": list("abcd"), "answer": None}
    questions = Column.of([[question], []], QUESTIONS)
    assert questions[0] == [question] and questions[1] == []
