"""Markers of the test suite (declared in pyproject.toml):

- `gpu`: needs a CUDA device; skipped, with the reason, where torch sees none (CI has no GPU; the device checks of
  issue 15 run these on a lent GPU machine with `pytest -m gpu`).
- `slow`: takes more than about 10 s on 2 CPU cores; run by default (the README command runs everything), left out
  for a quick loop with `pytest -m "not slow"`.
"""
import pytest
import torch


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture()
def tiny(tmp_path):
    """Three documents (tests/test_cli*.py): grouped by party and year, a 2 x 3 x 18 tensor (18 words after English
    stop words) with 3 observed cells of 6."""
    p = tmp_path / "tiny.csv"
    p.write_text("party,year,text\ndem,2019,health care insurance covid vaccine masks schools teachers\n"
                 "rep,2020,taxes economy jobs border wall covid masks freedom\n"
                 "dem,2021,climate change energy jobs vaccine infrastructure schools\n", encoding="utf-8")
    return p
