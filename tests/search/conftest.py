"""Fixtures of the search tests: a question's sums by the compiled module or by numpy."""

from __future__ import annotations

import pytest

from bot.search import kernel


@pytest.fixture(params=["compiled", "numpy"])
def scoring_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test once with the compiled module (skipped where it was not built) and once
    with the numpy code."""
    if request.param == "compiled" and not kernel.enabled():
        pytest.skip("the compiled module was not built (no C compiler at install)")
    if request.param == "numpy":
        monkeypatch.setattr(kernel, "_compiled", None)
    return request.param


@pytest.fixture
def numpy_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The numpy code only (what its own constants change)."""
    monkeypatch.setattr(kernel, "_compiled", None)
