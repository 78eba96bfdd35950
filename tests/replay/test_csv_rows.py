"""Spec: `write_csv_rows` writes what `csv.writer(lineterminator="\\n")` writes, byte for
byte, whatever the fields hold."""

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordergate.replay.csv_rows import write_csv_rows


def _by_csv(rows: list[list[object]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _ours(rows: list[list[object]], width: int) -> str:
    out = io.StringIO()
    write_csv_rows(out, rows, width)
    return out.getvalue()


def test_a_one_field_row_is_refused_since_an_empty_one_is_quoted() -> None:
    with pytest.raises(ValueError, match="one field"):
        _ours([[""]], 1)


@pytest.mark.parametrize("row", [
    ["a,b", "c", "d"],            # a delimiter inside a field
    ['say "hi"', "c", "d"],        # a quote
    ["line\nbreak", "c", "d"],     # a line break
    ["carriage\rreturn", "c", "d"],
    [None, "c", "d"],             # not text: as csv writes None
    [1, "2.50", "d"],             # a number
    ["", "", ""],                 # all empty
    ["a", "b"],                   # a short row
    ["a", "b", "c", "d"],         # a long one
])
def test_a_row_that_is_not_plain_text_of_the_width_is_written_as_csv_writes_it(row) -> None:
    rows = [["x", "y", "z"], row, ["p", "q", "r"]]
    assert _ours(rows, 3) == _by_csv(rows)


def test_plain_rows_are_their_fields_joined_by_commas_across_batches() -> None:
    rows = [[f"sim-t{i}", "BTC/USDT", "50001.00", "0.00100"] for i in range(10_000)]
    assert _ours(rows, 4) == _by_csv(rows)


_field = st.one_of(st.none(), st.integers(), st.text(alphabet='ab ,"\r\n\t\'é', max_size=6))


@given(st.integers(min_value=2, max_value=5).flatmap(
    lambda width: st.tuples(st.just(width), st.lists(
        st.lists(_field, min_size=width - 1, max_size=width + 1), max_size=8))))
def test_any_rows_are_written_byte_for_byte_as_csv_writes_them(case) -> None:
    width, rows = case
    assert _ours(rows, width) == _by_csv(rows)
