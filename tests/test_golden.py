"""Golden regression fixtures: the estimators still do what commit fe30658 did, before the engines' refactor.

Every case of ``tests/golden/cases.py`` (its docstring lists them: every posterior x every
likelihood on the mlp, the conv architecture on every posterior with the gaussian regressor and
the classifier, solvers srk and heun, early stopping and ``stl=False``) is fitted with each
installed engine through the public API, and what ``cases.record`` returns (``loss_curve_``,
``validation_scores_`` with early stopping, every array of ``params_``, ``predict`` (with
``return_std=True`` for the regressor), ``predict_proba``, ``sample_posterior`` and
``weight_paths``) is compared with ``tests/golden/<engine>-<case>.npz``, which
``tests/golden/make_golden.py`` wrote at fe30658. The fixtures also hold each case's data, so the
test does not depend on NumPy's random streams.

Comparison: the same shapes and dtypes; then JAX bit for bit (``assert_array_equal``) when
jax and jaxlib are the fixture's versions (within ``rtol=atol=1e-4`` otherwise), torch within
``rtol=atol=1e-5``, loss curves included. A deliberate change of the numbers (a new
default, a fixed bug) means re-recording the outputs it changes on purpose
(``make_golden.py --rerecord KEY ...``, which checks that the other outputs still match); do not
re-record them to make a refactor pass. ``sample_posterior`` and ``weight_paths`` were re-recorded
when the sampling calls' seeds got streams of their own (``skbnnsde/_streams.py``).

Run time: JAX compiles each case's model (seconds each), torch's cases take a fraction of a
second. At fe30658 on 2 shared, busy cores the whole module took 90-150 s of wall time under ``-n 2``
(~150 s of CPU time); ``-m "not slow"`` keeps JAX's ``cases.FAST`` cases and every torch case
(30-40 s under ``-n 0``).

JAX reproducibility: under pytest-xdist ``tests/conftest.py`` sets
``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1`` before JAX is
imported; under ``-n 0`` it does not. For these cases (jax/jaxlib 0.10.2, x86-64 CPU) the two
settings give bit-identical results, and so does fitting the cases in another order in one
process (other cases compiled before; checked once by fitting all of them in reverse order). The
generator checks the flags every time: it records every case in two fresh subprocesses, with
and without them, and writes nothing unless they agree bit for bit; and this test passes at
fe30658 under both ``-n 0`` and ``-n 2``. Bit-exactness is only promised for the same
jax/jaxlib on a similar x86-64 CPU: the library versions and the commit are in each fixture's
``meta.*`` entries and in the failure message, to tell a library or machine difference from a
behaviour change.
"""

from __future__ import annotations

import numpy as np
import pytest
from engine_params import ENGINE_PARAMS
from golden.cases import CASES, record, tolerance


def _params():
    """(engine, case) pairs; a case not in ``cases.FAST`` is ``slow`` on JAX (its compile takes seconds)."""
    for engine in ENGINE_PARAMS:
        (name,) = engine.values
        for case in CASES:
            slow = [pytest.mark.slow] if case.slow and name == "jax" else []
            yield pytest.param(name, case, marks=[*engine.marks, *slow], id=f"{name}-{case.name}")


def _load(path):
    with np.load(path, allow_pickle=False) as f:
        arrays = dict(f)
    data = {k[len("data."):]: arrays.pop(k) for k in list(arrays) if k.startswith("data.")}
    meta = {k[len("meta."):]: str(arrays.pop(k)) for k in list(arrays) if k.startswith("meta.")}
    return data, meta, arrays


@pytest.mark.parametrize("engine, case", list(_params()))
def test_matches_golden_fixture(engine, case):
    data, meta, expected = _load(case.fixture_path(engine))
    got = record(case, engine, data)
    assert sorted(got) == sorted(expected), "recorded outputs (params_ keys) differ"
    where = f"{engine} {case.name}; fixture made with {meta}"
    tol = tolerance(engine, meta)
    for key, want in expected.items():
        have = got[key]
        assert (have.shape, have.dtype) == (want.shape, want.dtype), f"{key}: shape/dtype ({where})"
        if tol is None:
            np.testing.assert_array_equal(have, want, err_msg=f"{key} ({where})")
        else:
            np.testing.assert_allclose(have, want, rtol=tol, atol=tol, err_msg=f"{key} ({where})")
