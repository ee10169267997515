"""Behaviour of SDEBNNRegressor and SDEBNNClassifier on each engine."""

from __future__ import annotations

import pickle
import warnings

import joblib
import numpy as np
import pytest
from engine_params import ENGINE_PARAMS
from estimator_helpers import SMALL, clf, reg
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbnnsde import SDEBNNClassifier, SDEBNNRegressor
from skbnnsde.engines import is_installed, resolve_engine
from skbnnsde.engines import TrainingDivergedError


# ---- shapes and fitted attributes -------------------------------------------------------


#: the ``w0_posterior`` of a "posterior-variant" test id ("empirical_bayes": "gaussian" with both
#: hyperparameters learnt, ``learn_diffusion`` and ``learn_prior_std``)
W0_VARIANTS = {"gaussian_w0": "gaussian", "map_w0": "map", "empirical_bayes": "gaussian"}


@pytest.mark.parametrize("posterior", ["sde", "meanfield", "point", "sde-gaussian_w0", "sde-map_w0",
                                       "sde-learnt_diffusion", "sde-empirical_bayes", "sde-gaussian_readout",
                                       "meanfield-gaussian_readout"])
def test_regressor_shapes(engine_name, reg_data, posterior):
    X, y = reg_data
    posterior, _, variant = posterior.partition("-")
    w0_posterior = W0_VARIANTS.get(variant, "point")
    learn_diffusion = variant in ("learnt_diffusion", "empirical_bayes")
    learn_prior_std = variant == "empirical_bayes"
    readout_posterior = "gaussian" if variant == "gaussian_readout" else "point"
    est = reg(engine_name, posterior=posterior, w0_posterior=w0_posterior, learn_diffusion=learn_diffusion,
              learn_prior_std=learn_prior_std, readout_posterior=readout_posterior).fit(X, y)
    assert ("w_logstd" in est.params_) == (posterior == "meanfield" or w0_posterior == "gaussian")
    assert ("readout.b_logstd" in est.params_) == (readout_posterior == "gaussian")
    assert ("log_diffusion" in est.params_) == learn_diffusion
    assert ("log_prior_std" in est.params_) == learn_prior_std
    assert est.engine_ == engine_name and est.device_ == "cpu"
    assert est.n_features_in_ == 2 and len(est.loss_curve_) == est.n_iter_ <= 5
    mean, std = est.predict(X[:7], return_std=True)
    assert mean.shape == std.shape == (7,) and np.all(std > 0) and np.all(np.isfinite(mean))
    assert est.sample_posterior(X[:7], n_samples=3).shape == (7, 3)
    paths = est.weight_paths(n_samples=2)
    assert paths.shape == (2, 5, est.params_["w0"].shape[0])
    assert all(isinstance(v, np.ndarray) for v in est.params_.values())


def test_regressor_multi_output(engine_name, reg_data):
    X, y = reg_data
    Y = np.column_stack([y, 2 * y + 1])
    est = reg(engine_name).fit(X, Y)
    mean, std = est.predict(X[:5], return_std=True)
    assert mean.shape == std.shape == (5, 2)
    assert est.sample_posterior(X[:5], n_samples=4).shape == (5, 2, 4)


@pytest.mark.parametrize("n_targets", [1, 2])
def test_heteroscedastic_regressor_learns_where_the_noise_is(engine_name, n_targets):
    """The predicted std follows the noise level of the data (0.05 for x < 0, 0.5 for x > 0)."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(300, 1))
    noise = np.where(X[:, 0] > 0, 0.5, 0.05)
    y = X[:, 0] + noise * rng.normal(size=300)
    Y = y if n_targets == 1 else np.column_stack([y, -y])
    est = reg(engine_name, likelihood="heteroscedastic", max_iter=150, hidden_layer_sizes=(16,))
    est.fit(X, Y)
    assert "log_scale" not in est.params_ and est.params_["readout.W"].shape == (3, 2 * n_targets)
    mean, std = est.predict(np.array([[-1.0], [1.0]]), return_std=True)
    assert mean.shape == std.shape == ((2,) if n_targets == 1 else (2, n_targets))
    std = std.reshape(2, -1)
    assert np.all(std[1] > 2 * std[0]), std  # a shared noise scale gives about 1
    assert np.all(np.abs(std[1] - 0.5) < 0.15), std
    draws = est.sample_posterior(X[:4], n_samples=3)
    assert draws.shape == ((4, 3) if n_targets == 1 else (4, n_targets, 3))


@pytest.mark.parametrize("fitted,changed", [("heteroscedastic", "gaussian"), ("laplace", "gaussian")])
def test_predictions_follow_the_fitted_likelihood_after_set_params(engine_name, reg_data, fitted, changed):
    """Changing ``likelihood`` after fit does not reinterpret the fitted read-out (it did for both)."""
    X, y = reg_data
    est = reg(engine_name, likelihood=fitted).fit(X, y)
    mean, std = est.predict(X[:5], return_std=True)
    est.set_params(likelihood=changed)
    mean2, std2 = est.predict(X[:5], return_std=True)
    np.testing.assert_array_equal(mean2, mean)
    np.testing.assert_array_equal(std2, std)
    assert est.sample_posterior(X[:5], n_samples=2).shape == (5, 2)


def test_heteroscedastic_regressor_trains_with_the_beta_nll():
    from skbnnsde.regressor import HETEROSCEDASTIC_BETA

    def beta(est, n_rows):  # of the model a fit on n_rows builds
        return est._train_spec(est._model_spec(3, 2, "cpu", n_rows)).heteroscedastic_beta

    assert HETEROSCEDASTIC_BETA == 0.5
    assert beta(SDEBNNRegressor(likelihood="heteroscedastic"), 100) == HETEROSCEDASTIC_BETA
    assert beta(SDEBNNRegressor(), 100) == 0.0
    assert beta(SDEBNNRegressor(), 500) == HETEROSCEDASTIC_BETA  # likelihood=None on 201-10,000 rows
    assert beta(SDEBNNRegressor(likelihood="gaussian"), 500) == 0.0
    assert beta(SDEBNNClassifier(), 500) == 0.0


def test_classifier_string_labels(engine_name, clf_data):
    X, y = clf_data
    est = clf(engine_name).fit(X, y)
    assert list(est.classes_) == ["no", "yes"]
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert set(est.predict(X)) <= {"no", "yes"}
    np.testing.assert_array_equal(est.predict(X), est.classes_[proba.argmax(axis=1)])
    draws = est.sample_posterior(X[:6], n_samples=3)
    assert draws.shape == (6, 2, 3)
    np.testing.assert_allclose(draws.sum(axis=1), 1.0, rtol=1e-6)


def test_one_path_per_sample_shared_by_rows(engine_name, reg_data):
    """Row chunking cannot change a path: predicting rows together or apart agrees."""
    X, y = reg_data
    est = reg(engine_name).fit(X, y)
    together = est.sample_posterior(X[:6], n_samples=3, random_state=5)
    apart = np.concatenate([est.sample_posterior(X[i : i + 1], n_samples=3, random_state=5) for i in range(6)])
    np.testing.assert_allclose(together, apart, rtol=1e-5, atol=1e-6)


# ---- determinism, persistence, engines -------------------------------------------------


def test_same_random_state_same_predictions(engine_name, reg_data):
    X, y = reg_data
    a = reg(engine_name, random_state=3).fit(X, y).predict(X, return_std=True)
    b = reg(engine_name, random_state=3).fit(X, y).predict(X, return_std=True)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_pickle_and_joblib_round_trip(engine_name, clf_data, tmp_path):
    X, y = clf_data
    est = clf(engine_name).fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(est.predict_proba(X), again.predict_proba(X))
    joblib.dump(est, tmp_path / "m.joblib")
    np.testing.assert_array_equal(est.predict_proba(X), joblib.load(tmp_path / "m.joblib").predict_proba(X))
    for value in vars(est).values():  # only NumPy arrays and plain values on the estimator
        assert isinstance(value, (np.ndarray, np.generic, int, float, str, bool, list, tuple, dict, type(None)))


@pytest.mark.skipif(not (is_installed("jax") and is_installed("torch")), reason="needs both engines")
@pytest.mark.filterwarnings("error::UserWarning")  # torch warned about JAX's read-only arrays
@pytest.mark.parametrize("posterior", ["sde", "meanfield", "point", "sde-heteroscedastic", "sde-gaussian_w0",
                                       "sde-map_w0", "sde-learnt_diffusion", "sde-empirical_bayes",
                                       "sde-gaussian_readout", "sde-partial"])
@pytest.mark.parametrize("source,target", [("jax", "torch"), ("torch", "jax")])
def test_cross_engine_predictions(source, target, posterior, reg_data):
    X, y = reg_data
    posterior, _, variant = posterior.partition("-")
    w0_posterior = W0_VARIANTS.get(variant, "point")
    likelihood = variant if variant == "heteroscedastic" else None
    est = reg(source, posterior=posterior, likelihood=likelihood, w0_posterior=w0_posterior,
              prior_scaling="fan_in" if variant in W0_VARIANTS else "none",
              learn_diffusion=variant in ("learnt_diffusion", "empirical_bayes"),
              learn_prior_std=variant == "empirical_bayes",
              readout_posterior="gaussian" if variant == "gaussian_readout" else "point",
              stochastic_fraction=0.3 if variant == "partial" else 1.0).fit(X, y)
    mean, std = est.predict(X, return_std=True)
    est.set_params(engine=target)
    mean2, std2 = est.predict(X, return_std=True)
    np.testing.assert_allclose(mean2, mean, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(std2, std, atol=1e-4, rtol=1e-4)


def test_clone_and_params_round_trip():
    est = SDEBNNRegressor(solver="heun", hidden_layer_sizes=(4, 4), diffusion=0.3)
    params = est.get_params()
    twin = clone(est)
    assert twin.get_params() == params
    twin.set_params(solver="midpoint", posterior="point")
    assert twin.get_params()["solver"] == "midpoint" and est.get_params()["solver"] == "heun"


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_pipeline_in_grid_search(engine, reg_data):
    X, y = reg_data
    pipe = make_pipeline(StandardScaler(), SDEBNNRegressor(engine=engine, **SMALL))
    step = pipe.steps[-1][0]
    # two points, two folds: the estimator inside a searched pipeline
    # (the solvers and posteriors themselves are tested elsewhere)
    grid = {f"{step}__posterior": ["sde", "point"]}
    # in worker processes on the engine engine="auto" picks; in-process on the other
    n_jobs = 2 if engine == resolve_engine("auto") else 1
    search = GridSearchCV(pipe, grid, cv=2, n_jobs=n_jobs).fit(X, y)
    assert set(search.best_params_) == set(grid)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_classifier_pipeline_in_grid_search(clf_data):
    X, y = clf_data
    pipe = make_pipeline(StandardScaler(), SDEBNNClassifier(**SMALL))
    search = GridSearchCV(pipe, {"sdebnnclassifier__posterior": ["sde", "point"]}, cv=2).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.predict_proba(X).shape == (len(X), len(np.unique(y)))


# ---- training controls -----------------------------------------------------------------


def test_convergence_warning_at_max_iter(engine_name, reg_data):
    X, y = reg_data
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        reg(engine_name, lr_schedule="constant", max_iter=2, tol=0.0, n_iter_no_change=50).fit(X, y)


def test_cosine_schedule_ending_at_max_iter_is_no_convergence_failure(engine_name, reg_data):
    # the default schedule anneals the rate to zero at max_iter: reaching it is the plan
    X, y = reg_data
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = reg(engine_name, lr_schedule="cosine", max_iter=2, tol=0.0, n_iter_no_change=50).fit(X, y)
    assert est.n_iter_ == 2


def test_cosine_schedule_runs_its_whole_budget_without_validation(engine_name, reg_data):
    # the training-loss rule (here: stop after one epoch without improving by 1e9) applies to
    # the constant schedule only; a cosine schedule is a fixed budget
    X, y = reg_data
    quick_stop = dict(max_iter=6, tol=1e9, n_iter_no_change=1)
    assert reg(engine_name, lr_schedule="constant", **quick_stop).fit(X, y).n_iter_ < 6
    assert reg(engine_name, lr_schedule="cosine", **quick_stop).fit(X, y).n_iter_ == 6
    # with validation data the cosine schedule still stops early
    assert reg(engine_name, lr_schedule="cosine", early_stopping=True, **quick_stop).fit(X, y).n_iter_ < 6


def test_early_stopping_restores_best(engine_name, reg_data):
    # a constant rate: a cosine schedule's rates depend on max_iter, and the twin below has to
    # train the same first epochs
    X, y = reg_data
    kw = dict(early_stopping=True, tol=0.0, lr_schedule="constant", learning_rate=0.05)
    est = reg(engine_name, max_iter=40, n_iter_no_change=3, **kw).fit(X, y)
    best = int(np.argmax(est.validation_scores_))
    assert len(est.validation_scores_) == est.n_iter_
    # it stopped n_iter_no_change epochs after its best one, so later epochs were trained and dropped
    assert est.n_iter_ == best + 1 + 3 < 40
    # the parameters kept are those of the best epoch: a fit that ends there has the same ones
    twin = reg(engine_name, max_iter=best + 1, n_iter_no_change=100, **kw).fit(X, y)
    for name in est.params_:
        np.testing.assert_array_equal(est.params_[name], twin.params_[name], err_msg=name)


def test_validation_scores_are_negative_losses_in_both_engines(reg_data):
    # the torch engine used to record the validation loss itself, the JAX engine its
    # negative (the documented validation_scores_): the two disagreed in sign
    for name in ("torch", "jax"):
        if not is_installed(name):
            pytest.skip(f"needs both engines; {name} is not installed")
    X, y = reg_data
    scores = {}
    for name in ("torch", "jax"):
        est = reg(name, early_stopping=True, learning_rate=1e-5, max_iter=2, random_state=0).fit(X, y)
        scores[name] = np.asarray(est.validation_scores_)
    # with lr=1e-5 both stay at the shared initial parameters; the validation paths are
    # the same draws in both engines
    np.testing.assert_allclose(scores["torch"], scores["jax"], rtol=1e-3, atol=1e-3)
    assert np.all(scores["torch"] < -1e-2)  # a negative log-likelihood's negative: below 0 here


def test_warm_start_continues(engine_name, reg_data):
    X, y = reg_data
    est = reg(engine_name, warm_start=True, max_iter=3, tol=0.0, n_iter_no_change=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
        first = dict(est.params_)
        est.fit(X, y)
    assert est.n_iter_ == 6 and len(est.loss_curve_) == 6
    assert any(not np.array_equal(first[k], est.params_[k]) for k in first)


def test_verbose_prints_progress(engine_name, reg_data, capsys, monkeypatch):
    X, y = reg_data
    monkeypatch.setattr("skbnnsde._progress._tqdm", lambda: None)  # plain lines (the bar: test_progress)
    reg(engine_name, verbose=1, max_iter=2).fit(X, y)
    assert "Iteration 1/2, loss =" in capsys.readouterr().out


def test_keyboard_interrupt_keeps_last_good_state(engine_name, reg_data, monkeypatch):
    X, y = reg_data
    calls = []
    monkeypatch.setattr("skbnnsde._progress._tqdm", lambda: None)  # progress as print() lines

    def interrupting_print(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr("builtins.print", interrupting_print)
    # a constant rate, so that a fit of n_iter_ epochs trains the same epochs as this one did
    with pytest.warns(RuntimeWarning, match="interrupted"):
        est = reg(engine_name, verbose=1, max_iter=10, lr_schedule="constant").fit(X, y)
    assert est.n_iter_ in (1, 2) and len(est.loss_curve_) == est.n_iter_
    assert np.isfinite(est.predict(X)).all()
    monkeypatch.undo()
    # the parameters kept are the last complete epoch's, neither the start's nor a half-trained epoch's
    complete = reg(engine_name, max_iter=est.n_iter_, lr_schedule="constant").fit(X, y)
    for name in est.params_:
        np.testing.assert_array_equal(est.params_[name], complete.params_[name], err_msg=name)


def test_divergence_raises_a_clear_error(engine_name, reg_data):
    X, y = reg_data
    with pytest.raises(TrainingDivergedError, match="learning_rate"):
        # linear dynamics (no saturating activation) and a huge step overflow float32 in 2 epochs
        reg(engine_name, learning_rate=1e12, max_iter=20, activation="identity").fit(X * 1e6, y)


def test_float64(engine_name, reg_data):
    X, y = reg_data
    est = reg(engine_name, dtype="float64").fit(X, y)
    assert est.params_["w0"].dtype == np.float64
    assert np.isfinite(est.predict(X)).all()


def test_return_std_through_a_pipeline_with_metadata_routing(engine_name, reg_data):
    """What the README says: under metadata routing the regressor requests return_std."""
    import sklearn

    X, y = reg_data
    with sklearn.config_context(enable_metadata_routing=True):
        est = reg(engine_name).set_predict_request(return_std=True)
        pipe = make_pipeline(StandardScaler(), est).fit(X, y)
        mean, std = pipe.predict(X[:5], return_std=True)
    assert mean.shape == std.shape == (5,) and np.all(std > 0)
