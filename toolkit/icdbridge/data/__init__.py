"""Datasets: the generic JSONL format, the CodiEsp loader and downloads.

Example:
    >>> from icdbridge.data import Document
    >>> Document(id="n1", text="Type 2 diabetes.", codes=["E11.9"]).to_dict()["codes"]
    ['E11.9']
"""

from icdbridge.data.codiesp import load_codiesp, load_codiesp_report
from icdbridge.data.dataset import (
    CodeReport,
    Document,
    Mention,
    check_codes,
    iter_jsonl,
    parse_row,
    read_jsonl,
    read_unlabelled,
    write_jsonl,
)

__all__ = [
    "CodeReport",
    "Document",
    "Mention",
    "check_codes",
    "iter_jsonl",
    "load_codiesp",
    "load_codiesp_report",
    "parse_row",
    "read_jsonl",
    "read_unlabelled",
    "write_jsonl",
]
