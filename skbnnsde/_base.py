"""Logic shared by :class:`SDEBNNRegressor` and :class:`SDEBNNClassifier`.

Hyperparameters are stored untouched by ``__init__`` and validated in ``fit``. The
fitted state is NumPy arrays and plain Python values only (``params_``, ``spec_`` as a
plain dict, integer seeds; a ``stochastic_fraction`` mixture adds its other fitted
regressor, made of the same), so estimators pickle with the standard library and either
engine can predict from it. Nothing here imports torch or jax: engines are loaded on
demand by :func:`skbnnsde.engines.get_engine`.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions

from .engines import ENGINES, get_engine
from .engines.options import (
    ACTIVATIONS,
    ARCHITECTURES,
    DTYPES,
    LR_SCHEDULES,
    POSTERIORS,
    PRIOR_SCALINGS,
    PRIORS,
    READOUT_POSTERIORS,
    SOLVERS,
    STL_ADJOINT_MESSAGE,
    W0_POSTERIORS,
    parse_image_shape,
    parse_layer_sizes,
    parse_n_blocks,
)
from .engines.specs import ModelSpec, TrainSpec
from ._auto import AutoRulesMixin
from ._fraction import StochasticFractionMixin
from ._partial_fit import ContinuedTrainingMixin, _draw_seeds
from ._sampling import PosteriorSamplingMixin
from ._validation import check_fit_sample_weight, split_early_stopping_rows


class BaseSDEBNN(AutoRulesMixin, StochasticFractionMixin, ContinuedTrainingMixin, PosteriorSamplingMixin,
                 BaseEstimator):
    """Hyperparameters, validation, engine dispatch and the training loop's driver."""

    _parameter_constraints: dict = {
        "engine": [StrOptions({"auto", *ENGINES})],
        "solver": [StrOptions(set(SOLVERS))],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "adjoint": ["boolean"],
        "device": [str],
        "dtype": [StrOptions(set(DTYPES))],
        "architecture": [StrOptions(set(ARCHITECTURES))],
        "image_shape": ["array-like", None],
        "n_blocks": ["array-like", str, Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({"auto", *ACTIVATIONS})],
        "aug_dim": [Interval(Integral, 0, None, closed="left")],
        "weight_drift_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "time_dependent_drift": ["boolean"],
        "prior": [StrOptions(set(PRIORS))],
        "diffusion": [Interval(Real, 0, None, closed="neither")],
        "learn_diffusion": ["boolean", StrOptions({"auto"})],
        "prior_std": [Interval(Real, 0, None, closed="neither")],
        "learn_prior_std": ["boolean"],
        "prior_scaling": [StrOptions(set(PRIOR_SCALINGS))],
        "w0_posterior": [StrOptions(set(W0_POSTERIORS))],
        "readout_posterior": [StrOptions(set(READOUT_POSTERIORS))],
        "stochastic_fraction": [Interval(Real, 0, 1, closed="right"), StrOptions({"auto"})],
        "calibrate": ["boolean", StrOptions({"auto"})],
        "posterior": [StrOptions(set(POSTERIORS))],
        "stl": ["boolean"],
        "laplace": ["boolean", StrOptions({"auto"})],
        "kl_weight": [Interval(Real, 0, None, closed="left")],
        "kl_anneal_iters": [Interval(Integral, 0, None, closed="left")],
        "n_train_rows": [Interval(Real, 0, None, closed="neither"), None],
        "n_mc_samples": [Interval(Integral, 1, None, closed="left")],
        "n_predict_samples": [Interval(Integral, 1, None, closed="left"), None],
        "n_ensembles": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions(set(LR_SCHEDULES))],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "shuffle": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "grad_accumulation": [Interval(Integral, 1, None, closed="left")],
        "remat": ["boolean"],
        "max_grad_norm": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"}), None],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        engine="auto",
        solver="euler",
        n_steps=10,
        adjoint=False,
        device="auto",
        dtype="float32",
        architecture="mlp",
        image_shape=None,
        n_blocks=(2, 2, 2),
        hidden_layer_sizes=(32,),
        activation="auto",
        aug_dim=2,
        weight_drift_sizes=(32,),
        time_dependent_drift=True,
        prior="ou",
        diffusion=0.1,
        learn_diffusion="auto",
        prior_std=1.0,
        learn_prior_std=False,
        prior_scaling="none",
        posterior="sde",
        w0_posterior="point",
        readout_posterior="point",
        stochastic_fraction="auto",
        calibrate="auto",
        stl=True,
        laplace="auto",
        kl_weight=1.0,
        kl_anneal_iters=0,
        n_train_rows=None,
        n_mc_samples=4,
        n_predict_samples=32,
        n_ensembles="auto",
        likelihood=None,
        learning_rate=1e-2,
        lr_schedule="cosine",
        batch_size="auto",
        max_iter="auto",
        shuffle=True,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=50,
        tol=1e-4,
        grad_accumulation=1,
        remat=False,
        max_grad_norm="auto",
        warm_start=False,
        verbose=0,
        random_state=None,
    ):
        self.engine = engine
        self.solver = solver
        self.n_steps = n_steps
        self.adjoint = adjoint
        self.device = device
        self.dtype = dtype
        self.architecture = architecture
        self.image_shape = image_shape
        self.n_blocks = n_blocks
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.aug_dim = aug_dim
        self.weight_drift_sizes = weight_drift_sizes
        self.time_dependent_drift = time_dependent_drift
        self.prior = prior
        self.diffusion = diffusion
        self.learn_diffusion = learn_diffusion
        self.prior_std = prior_std
        self.learn_prior_std = learn_prior_std
        self.prior_scaling = prior_scaling
        self.posterior = posterior
        self.w0_posterior = w0_posterior
        self.readout_posterior = readout_posterior
        self.stochastic_fraction = stochastic_fraction
        self.calibrate = calibrate
        self.stl = stl
        self.laplace = laplace
        self.kl_weight = kl_weight
        self.kl_anneal_iters = kl_anneal_iters
        self.n_train_rows = n_train_rows
        self.n_mc_samples = n_mc_samples
        self.n_predict_samples = n_predict_samples
        self.n_ensembles = n_ensembles
        self.likelihood = likelihood
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.grad_accumulation = grad_accumulation
        self.remat = remat
        self.max_grad_norm = max_grad_norm
        self.warm_start = warm_start
        self.verbose = verbose
        self.random_state = random_state

    # ---- hooks for the subclasses ---------------------------------------------------------
    _task = "regression"
    _likelihoods: tuple = ()
    _default_likelihood = "gaussian"

    def _encode_targets(self, y, sample_weight=None):  # pragma: no cover - abstract
        raise NotImplementedError

    # ---- engine and device ----------------------------------------------------------------
    def _engine(self):
        """The engine object for the current ``engine`` hyperparameter (lazy import)."""
        return get_engine(self.engine)

    def _resolve_device(self, engine) -> str:
        devices = engine.available_devices()
        if self.device == "auto":
            return "cuda" if any(d.startswith("cuda") for d in devices) else "cpu"
        name = self.device
        if name.startswith("cuda") and not any(d.startswith("cuda") for d in devices):
            raise ValueError(
                f"device={name!r} was requested but the {engine.name} engine sees no CUDA device "
                f"(available: {devices}); use device='cpu' or 'auto'"
            )
        base = name.split(":")[0]
        if base not in {"cpu", "cuda"}:
            raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {name!r}")
        return name

    # ---- specs ----------------------------------------------------------------------------
    def _check_params(self) -> None:
        """Checks that ``_parameter_constraints`` cannot express."""
        parse_layer_sizes(self.hidden_layer_sizes, "hidden_layer_sizes")
        parse_layer_sizes(self.weight_drift_sizes, "weight_drift_sizes")
        if self.architecture == "conv":
            parse_image_shape(self.image_shape)
            parse_n_blocks(self.n_blocks)
        likelihood = self._likelihood()
        if likelihood not in self._likelihoods:
            raise ValueError(f"likelihood must be one of {self._likelihoods}, got {self.likelihood!r}")
        if self.stl and self.adjoint and self.posterior == "sde":
            raise ValueError(STL_ADJOINT_MESSAGE)
        self._check_laplace()

    def _likelihood(self, n_train_rows: "int | None" = None) -> str:
        """The likelihood a fit on ``n_train_rows`` trains: the one asked for, or for None the
        task's default for that fit (``_auto``; None rows: the default of a fit without its rows)."""
        return self._default_likelihood_for(n_train_rows) if self.likelihood is None else self.likelihood

    def _model_spec(self, n_features: int, n_outputs: int, device: str, n_train_rows: int) -> ModelSpec:
        conv = {}
        if self.architecture == "conv":
            conv = dict(
                architecture="conv",
                image_shape=parse_image_shape(self.image_shape, n_features),
                n_blocks=parse_n_blocks(self.n_blocks),
            )
        return ModelSpec(
            **conv,
            n_features=int(n_features),
            n_outputs=int(n_outputs),
            task=self._task,
            hidden_layer_sizes=parse_layer_sizes(self.hidden_layer_sizes, "hidden_layer_sizes"),
            activation=self._activation(),
            aug_dim=int(self.aug_dim),
            weight_drift_sizes=parse_layer_sizes(self.weight_drift_sizes, "weight_drift_sizes"),
            time_dependent_drift=bool(self.time_dependent_drift),
            prior=self.prior,
            posterior=self.posterior,
            diffusion=float(self.diffusion),
            learn_diffusion=self._learns_diffusion(n_train_rows),
            prior_std=float(self.prior_std),
            learn_prior_std=bool(self.learn_prior_std),
            prior_scaling=self.prior_scaling,
            w0_posterior=self.w0_posterior,
            readout_posterior=self.readout_posterior,
            stochastic_fraction=self._stochastic_fraction(),
            solver=self.solver,
            n_steps=int(self.n_steps),
            adjoint=bool(self.adjoint),
            stl=bool(self.stl),
            likelihood=self._likelihood(n_train_rows),
            dtype=self.dtype,
            device=device,
        )

    def _train_spec(self, spec: ModelSpec) -> TrainSpec:
        """How ``spec``'s model trains (the regressor adds what its likelihood asks for)."""
        return TrainSpec(
            learning_rate=float(self.learning_rate),
            lr_schedule=self.lr_schedule,
            batch_size=self.batch_size,
            max_iter=self.max_iter if self.max_iter == "auto" else int(self.max_iter),
            n_mc_samples=int(self.n_mc_samples),
            kl_weight=float(self.kl_weight),
            kl_anneal_iters=int(self.kl_anneal_iters),
            shuffle=bool(self.shuffle),
            early_stopping=bool(self.early_stopping),
            n_iter_no_change=int(self.n_iter_no_change),
            tol=float(self.tol),
            grad_accumulation=int(self.grad_accumulation),
            remat=bool(self.remat),
            max_grad_norm=self._max_grad_norm(),
            verbose=int(self.verbose),
            n_train_rows=None if self.n_train_rows is None else float(self.n_train_rows),
        )

    def _fitted_spec(self, engine) -> ModelSpec:
        """The fitted model's spec, with the run-time fields taken from the current params.

        What the network *is* (sizes, posterior, likelihood) is fixed at fit; how it is
        computed (engine, device, dtype, solver, n_steps) may be changed with ``set_params``
        before predicting, without refitting.
        """
        runtime = {name: getattr(self, name) for name in ModelSpec.RUNTIME_FIELDS}
        runtime.update(device=self._resolve_device(engine), n_steps=int(self.n_steps), adjoint=bool(self.adjoint))
        return ModelSpec.from_dict({**self.spec_, **runtime})

    # ---- fitting --------------------------------------------------------------------------
    def _fit(self, X, y, sample_weight=None):
        self._check_params()
        X, y = self._validate_fit_data(X, y)
        sample_weight = check_fit_sample_weight(sample_weight, X)
        y_enc, n_outputs = self._encode_targets(y, sample_weight)

        init_seed, train_seed, split_seed, predict_seed = _draw_seeds(self.random_state)
        self._held_out_step(X, y, sample_weight, split_seed)
        engine = self._engine()
        device = self._resolve_device(engine)
        spec = self._model_spec(X.shape[1], n_outputs, device, X.shape[0])
        train = self._train_spec(spec)

        validation_data = None
        X_train, y_train, w_train = X, y_enc, sample_weight
        if self.early_stopping:
            X_train, y_train, w_train, validation_data = split_early_stopping_rows(
                X, y_enc, sample_weight, fraction=self.validation_fraction, seed=split_seed,
                stratify=self._task == "classification", dtype=self.dtype)
        n_members = self._ensemble_size(X_train.shape[0])

        # warm: the parameters, Adam's state and the random streams continue (_partial_fit.py)
        warm = self.warm_start and hasattr(self, "params_") and self._same_structure(spec, n_members)
        if warm:
            params = self._stored_params(spec)
            predict_seed = self.predict_seed_
        else:
            params = self._initial_params(engine, spec, init_seed, n_members)

        train = train.replace(max_iter=train.epochs_for(X_train.shape[0], self._task, spec.stochastic_fraction))
        result = self._train_engine(engine, spec, train, params, X_train, y_train, w_train, seed=train_seed,
                                    predict_seed=predict_seed, n_members=n_members,
                                    validation_data=validation_data, continued=warm)
        if self._uses_laplace(X_train.shape[0]):
            self._fit_laplace(X_train, w_train)
        self.validation_scores_ = [float(v) for v in result.validation_scores] if self.early_stopping else None
        # a cosine schedule has annealed the rate to zero at max_iter: the planned end of training
        schedule_finished = self.lr_schedule == "cosine"
        if not (result.converged or result.interrupted or schedule_finished) and result.n_iter >= train.max_iter:
            warnings.warn(
                f"Stochastic optimiser: maximum iterations ({train.max_iter}) reached and the "
                "optimisation has not converged yet.",
                ConvergenceWarning,
            )
        return self

    def _same_structure(self, spec: ModelSpec, n_members: int) -> bool:
        """Whether the fitted model is ``spec``'s, with ``n_members`` ensemble members."""
        same_members = self._n_members() == n_members
        return same_members and ModelSpec.from_dict(self.spec_).structure() == spec.structure()

    def _validate_fit_data(self, X, y):  # pragma: no cover - overridden
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = True  # densified for the engines, see _validation
        # predictions keep X's float32/float64, as MLPRegressor's do; scikit-learn has no tag for
        # that outside transformers (transformer_tags.preserves_dtype), so none is set
        return tags
