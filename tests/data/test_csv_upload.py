"""Uploaded CSVs: a good file parses; each mistake names its line."""

import pytest

from keras_playground.data import CsvError, parse_csv


def test_a_good_file_parses_with_blank_lines_and_crlf():
    text = "x1, x2, Label\r\n0.1,0.2,0\r\n\r\n-0.5,0.3,1\r\n1e-1,2,2\r\n"
    assert parse_csv(text, max_rows=10) == [(0.1, 0.2, 0.0), (-0.5, 0.3, 1.0), (0.1, 2.0, 2.0)]


@pytest.mark.parametrize("text, words", [
    ("", "empty"),
    ("a,b,c\n1,2,0\n", "Line 1"),
    ("x1,x2,label\n", "no points"),
    ("x1,x2,label\n1,2,0\n1,2\n", "Line 3: expected 3 values"),
    ("x1,x2,label\n1,2,0\n1,two,1\n", "Line 3"),
    ("x1,x2,label\n1,2,0\n1,nan,1\n", "Line 3: values must be finite"),
    ("x1,x2,label\n1,2,0\n1,2,0.5\n", "Line 3: the label 0.5 must be a whole number from 0 to 4"),
    ("x1,x2,label\n1,2,0\n1,2,7\n", "Line 3: the label 7"),
    ("x1,x2,label\n1,2,1\n3,4,1\n", "at least two classes"),
    ("x1,x2,label\n" + "1,2,0\n2,1,1\n" * 3, "6 rows is more than the maximum 5"),
])
def test_each_mistake_is_named(text, words):
    with pytest.raises(CsvError) as caught:
        parse_csv(text, max_rows=5)
    assert words in str(caught.value)
