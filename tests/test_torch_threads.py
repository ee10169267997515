"""The torch engine's single-thread mode for small problems leaves the caller's setting alone."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchsde")

from skbnnsde import SDEBNNRegressor  # noqa: E402
from skbnnsde.engines.torch.threads import SINGLE_THREAD_ELEMENTS, threads_for  # noqa: E402


def test_threads_for_restores_the_setting():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with threads_for(10):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with threads_for(SINGLE_THREAD_ELEMENTS):  # large work keeps the threads
            assert torch.get_num_threads() == 2
        with threads_for(10, device="cuda"):  # GPU work keeps the CPU setting
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_fit_and_predict_keep_the_callers_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        X = np.linspace(-1, 1, 20)[:, None]
        est = SDEBNNRegressor(engine="torch", n_steps=2, hidden_layer_sizes=(4,), max_iter=2, random_state=0)
        est.fit(X, X[:, 0]).predict(X)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
