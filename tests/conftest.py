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
