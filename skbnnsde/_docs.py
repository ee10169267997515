"""Docstring fragments shared by the two estimators (one place to keep them right)."""

PARAMETERS_DOC = """\
    engine : {"auto", "jax", "torch"}, default="auto"
        Framework that computes the model: "jax" (on ``jaxsde``) or "torch" (on
        ``torchsde``). "auto" takes the first installed of "jax", "torch"; the choice is
        stored in ``engine_``. A fitted model predicts on either engine after
        ``set_params(engine=...)``.
    solver : {"euler", "milstein", "srk", "euler_heun", "heun", "midpoint", \
"reversible_heun"}, default="euler"
        Fixed-step SDE method for the joint hidden-state and weight dynamics. The weight
        noise is additive, so Ito and Stratonovich coincide; "heun", "midpoint" and "srk"
        are more accurate per step.
    n_steps : int, default=10
        Number of equal solver steps over the depth ``t`` in ``[0, 1]``.
    adjoint : bool, default=False
        Compute gradients with the stochastic adjoint (memory constant in ``n_steps``)
        instead of backpropagating through the solver. Needs ``stl=False``.
    device : str, default="auto"
        "cpu", "cuda" or "cuda:N"; "auto" uses CUDA when the engine sees a GPU. The choice
        is stored in ``device_``.
    dtype : {"float32", "float64"}, default="float32"
        Floating-point precision of the computation, predictions included: a row's
        prediction does not depend on the other rows of ``X`` or their order (the torch
        engine pads its row chunks to one shape for that). Predictions come back in the
        dtype of ``X`` (float32 or float64; float64 for other dtypes), like
        ``MLPRegressor``'s. ``X`` (dense or scipy sparse)
        may not exceed ``sqrt(finfo(dtype).max) / 1e4`` in magnitude (1.8e15 for float32,
        1.3e150 for float64), beyond which the forward pass could overflow: a ``ValueError``
        says so.
    architecture : {"mlp", "conv"}, default="mlp"
        Network of the hidden state. "mlp": ``f_h`` is a multilayer perceptron on the
        features (plus ``aug_dim`` zeros). "conv" (images): the rows of ``X`` are images of
        ``image_shape``; the state (image plus ``aug_dim`` zero channels) passes through
        stages of convolutional SDE-BNN blocks (``n_blocks``), each with weights of its own
        following the SDE; between stages a parameter-free space-to-depth downsampling
        (channels x4, height and width halved); then a linear read-out of the flattened
        state. The other defaults were chosen for "mlp" on tabular data; for small images
        start from ``n_blocks=(1, 1), hidden_layer_sizes=(16,), n_steps=5,
        learning_rate=0.003, batch_size=128, max_iter=60, n_mc_samples=4,
        n_predict_samples=64, kl_weight=1e-3``, and consider training on copies of the
        images shifted by one pixel (:func:`skbnnsde.datasets.shift_images`) with a longer
        budget; at ``learning_rate=0.01`` deeper stages can diverge. Measured results are in
        ``benchmarks/results/classification.md``.
    image_shape : tuple of int or None, default=None
        Shape ``(C, H, W)`` of an image, with ``C * H * W == n_features`` (rows of ``X`` are
        images flattened in C order); ``(H, W)`` means one channel. Required by
        ``architecture="conv"``, ignored by "mlp".
    n_blocks : tuple of int or str, default=(2, 2, 2)
        Number of SDE blocks in each stage of ``architecture="conv"`` (one stage per
        entry); the string form "2-2-2" is accepted too. Ignored by "mlp".
    hidden_layer_sizes : tuple of int, default=(32,)
        Hidden widths of the network ``f_h`` whose weights follow the SDE (for
        ``architecture="conv"``: channels of its hidden 3x3 convolutions).
    activation : {"auto", "tanh", "relu", "softplus", "swish", "sigmoid", "identity"}, default="auto"
        Activation of ``f_h``'s hidden layers. "auto" is "swish" (``x * sigmoid(x)``) for a
        classifier's SDE-BNN (``posterior="sde"``, the mlp), whose members it made more
        accurate on tabular sets (with the clipped gradient of ``max_grad_norm="auto"``), and
        "tanh" for every other model, whose other defaults and uncertainty were chosen with it
        (``benchmarks/results/uncertainty.md``).
    aug_dim : int, default=2
        Number of zeros appended to the input to form the hidden state (zero channels for
        ``architecture="conv"``).
    weight_drift_sizes : tuple of int, default=(32,)
        Hidden widths of the posterior weight drift ``f_w``.
    time_dependent_drift : bool, default=True
        Whether ``f_w`` also sees the depth ``t`` (the original code's ``inhomogeneous``).
    prior : {"ou", "brownian"}, default="ou"
        Prior weight SDE: Ornstein-Uhlenbeck ``dw = -w dt + diffusion dB`` or Brownian
        ``dw = diffusion dB``.
    diffusion : float, default=0.1
        Constant diffusion of the weight SDEs (prior and posterior); with
        ``learn_diffusion=True``, its starting value.
    learn_diffusion : bool or "auto", default="auto"
        For ``posterior="sde"``, learn the diffusion with the other parameters by the ELBO
        (empirical Bayes; ``params_["log_diffusion"]``, one per ensemble member). Prior and
        posterior share it, so the ELBO trades the spread that the weight noise puts on the
        function against the drift it has to pay for: where the function is nearly
        deterministic it lowers the diffusion, and the noise estimate with it. The fit
        costs what a fixed diffusion's does. False keeps ``diffusion`` fixed, as in the
        paper. "auto" learns it for a regressor fitted on at most 10,000 rows; on larger
        sets the KL, divided by the rows, hardly weighs, the ELBO picks the diffusion for the
        training fit alone, and a fixed one predicted a little better; for a classifier,
        which has no noise scale to absorb the weights' spread, it changed nothing measured
        (``partial_fit`` decides on the rows of its first call, and later calls continue
        that model). Ignored by the other posteriors, whose weights have no diffusion.
    prior_std : float, default=1.0
        Standard deviation of the Gaussian prior ``N(0, prior_std²)`` on the weights of
        ``posterior="meanfield"``, on the starting weights ``w(0)`` of
        ``w0_posterior="gaussian"`` or ``"map"`` and on the read-out of
        ``readout_posterior="gaussian"``; with ``learn_prior_std=True``, its starting value.
    learn_prior_std : bool, default=False
        Learn the scale of that Gaussian prior with the other parameters by the ELBO
        (empirical Bayes; ``params_["log_prior_std"]``, one per ensemble member; under
        ``prior_scaling="fan_in"`` one factor for every layer). For the Gaussian posteriors
        over weights, ``posterior="meanfield"``, ``w0_posterior="gaussian"`` and
        ``readout_posterior="gaussian"``, whose ELBO bounds the evidence; a ValueError
        otherwise (a point estimate and its prior's scale, ``w0_posterior="map"``, have no
        joint optimum: both shrink to zero).
    prior_scaling : {"none", "fan_in"}, default="none"
        "fan_in" divides that prior's standard deviation, layer by layer, by the square root
        of the layer's fan-in (the scale the weights are initialised at), so that with
        ``prior_std=1`` wide and narrow layers get the same prior on their outputs.
    posterior : {"sde", "meanfield", "point"}, default="sde"
        "sde": weights follow a learned SDE (the SDE-BNN); "meanfield": a mean-field
        Gaussian over constant weights; "point": fixed weights (a deterministic ODE-net).
    w0_posterior : {"point", "gaussian", "map"}, default="point"
        For ``posterior="sde"``, what is learnt about the weights' starting point ``w(0)``:
        a point estimate (the paper's model); a mean-field Gaussian with its KL to the
        ``prior_std`` prior added to the ELBO, so every weight path starts from its own draw;
        or "map", the point estimate under that prior (the prior's ``0.5 * sum((w0 /
        prior_std)²)`` joins the KL: weight decay on ``w(0)``, with no draw of it). With
        ``prior_scaling="fan_in"`` the prior regularises the starting weights, which a plain
        point estimate leaves free: worth trying for a classifier on a small tabular set,
        whose point-estimate fit can be overconfident (on image-like data such as digits
        "gaussian" lost accuracy and calibration; ``benchmarks/results/uncertainty.md``). On
        a few dozen regression rows the "gaussian" KL outweighs the data and the fit
        flattens.
    readout_posterior : {"point", "gaussian"}, default="point"
        What is learnt about the read-out's weights and biases: a point estimate (the
        paper's model), or a mean-field Gaussian with its KL to the ``prior_std`` prior
        (divided by the square root of the read-out's fan-in under ``prior_scaling="fan_in"``)
        added to the ELBO, so every weight path reads out with its own draw and the predictive
        spread grows with the size of the features ``h(1)``. For ``posterior="sde"`` or
        ``"meanfield"``; a ValueError for ``"point"``. Worth trying for a classifier on a small
        tabular set, whose point-estimate fit can be overconfident (it helped breast_cancer
        on validation rows, not on the benchmark's test split; ``benchmarks/results``); on
        regression it widened an already wide predictive band.
    stochastic_fraction : float in (0, 1] or "auto", default="auto"
        The fraction of ``f_h``'s weights that follow the SDE (``posterior="sde"``, the mlp):
        the last ``ceil(stochastic_fraction * n_weights)`` entries of the flat weight vector
        (the last layer's first); the others stay at their starting point ``w(0)``, points
        like those of an ODE-net. The weights' drift network then has that many outputs and
        inputs, so each step costs less (partially stochastic SDE-BNNs, Calvo-Ordoñez et al.,
        2024). 1.0 is the paper's fully stochastic model. A partially stochastic model fits
        smooth, nearly noiseless targets much better and overfits noisy ones, whose noise
        estimate it then sets too small; the training objective does not tell the two apart.
        "auto" therefore chooses between 1.0 and 0.2 on held-out rows for a regressor with
        the Gaussian or heteroscedastic likelihood fitted on more than 200 and at most 10,000
        rows: one member of each, fitted on 80 % of the rows with the likelihood, epochs and
        Laplace step of the fit on all rows, scored by the Gaussian log-likelihood of the
        other 20 % (``stochastic_fraction_scores_``; with the noise calibrated there, by
        ``calibrate``, as the final fit will predict); the chosen one is then fitted on all
        rows. Where the other candidate also predicts the held-out rows well, both are kept
        as a mixture: the weights of the two candidates' predictives that best predict the
        held-out rows (stacking) are computed, and the other candidate, where its weight is
        at least 0.2 (0.1 for the partially stochastic one), is fitted on all rows too
        (``fraction_estimators_``, with its own calibrated noise); the predictions, draws
        and weight paths are then the weighted mixture (``stochastic_fraction_weights_``).
        The choice costs 1.6 single fits more, and more where the partially stochastic
        candidate takes ``max_iter``'s 2,000 steps; a mixture doubles the fit on all rows.
        Elsewhere (classifiers, smaller or larger sets,
        ``partial_fit``) "auto" is 1.0.
    calibrate : bool or "auto", default="auto"
        Correct the predictive's spread on rows the model did not train on: for a regressor
        (Gaussian or heteroscedastic likelihood), one member is fitted on 80 % of the rows and
        the other 20 % set the factor on the trained noise std; for a classifier, held-out
        rows (below) set the temperature ``T >= 1`` dividing the logits; each where it
        maximises their log-likelihood. The training objective sets the noise from the
        training rows, so it comes out too small where the model fits those rows more
        closely than new ones and too large where the spread of the weight paths already
        covers the residuals; a
        classifier whose point-estimated parameters fit every training row is
        overconfident on new ones. A regressor takes the square root of the held-out factor
        (the model fitted on all rows, an ensemble, errs less on new rows than that member;
        ``noise_scale_factor_``), a classifier the temperature (``temperature_``). The
        predictive std, ``sample_y``'s noise draws, ``predict_proba`` and
        ``sample_posterior`` use them; the parameters keep their trained values. "auto": a
        regressor where ``stochastic_fraction="auto"`` fits its held-out candidates anyway
        (the chosen candidate's factor, at no extra fit), a classifier with
        ``posterior="sde"`` and the mlp fitted on 201-10,000 rows; True: any such fit of at
        least 10 rows; False: none. A classifier with 4 or more members (no early stopping,
        every class with at least as many rows as members, and no member left with rows of
        zero weight only) cross-fits them instead of fitting an extra one: the rows are split
        into as many stratified folds as members, member ``m`` trains on all folds but the
        ``m``-th,
        and the temperature is measured on every row under the member that did not train on
        it, then raised to the power 0.75 (the mixture of the members needs less correction
        than one of them). With fewer members (whose folds would leave each too few rows),
        one extra single fit on 80 % of the rows (stratified) measures it (and elsewhere
        too where cross-fitting does not apply). ``partial_fit`` does not calibrate under
        "auto" and raises a ``ValueError`` for True; a
        ``warm_start`` fit that continues the fitted members keeps the fitted values (and
        trains every member on all the rows).
    stl : bool, default=True
        Use the "sticking the landing" gradient estimator of the KL term, which has lower
        variance.
    laplace : bool or "auto", default="auto"
        After training, fit a linearised Laplace approximation over the parameters that
        training estimates as points (the starting weights ``w0``, unless
        ``w0_posterior="gaussian"`` or ``posterior="meanfield"``, and the read-out, unless
        ``readout_posterior="gaussian"``),
        with its prior precision chosen by
        the evidence, and add its variance to ``predict(..., return_std=True)`` and its draws
        to ``sample_posterior``. The predictive std then grows between and beyond the
        training data. Costs one Jacobian (forward mode, one pass per covered parameter) of
        the training rows at fit and of the query rows at every prediction with
        ``return_std``. ``SDEBNNRegressor`` only. "auto" turns it on for a regressor trained
        on at most 200 rows, where the data leave ``w0`` and the read-out uncertain and the
        Jacobian is cheap; on larger sets the training rows pin those parameters down and
        the step mostly adds cost. ``partial_fit`` skips it.
    kl_weight : float, default=1.0
        Weight of the KL term in the ELBO (1 is the true ELBO).
    kl_anneal_iters : int, default=0
        Raise the KL weight linearly from 0 over this many epochs (0: no annealing).
    n_train_rows : float or None, default=None
        The number of rows the KL term is divided by in the ELBO per row (the size of the
        data set the posterior is for). None: the rows given to the call, that is ``fit``'s
        training rows (after ``early_stopping``'s hold-out) or one ``partial_fit`` call's
        rows, or the sum of ``sample_weight`` when given. When ``partial_fit`` sees a data
        set in parts (too large for memory, or arriving over time), set it to the whole data
        set's size, so that every call's KL term is the whole data set's; with None each part
        weighs the prior as if it were all the data, which over-regularises small parts.
    n_mc_samples : int, default=4
        Weight paths per training step (Monte Carlo samples of the ELBO).
    n_predict_samples : int or None, default=32
        Weight paths averaged by ``predict`` and ``predict_proba`` (per ensemble member);
        None uses ``n_mc_samples``.
    n_ensembles : int or "auto", default="auto"
        Number of independently initialised members (a deep ensemble of SDE-BNNs), each
        trained like the single model with its own initialisation, minibatch order and
        weight paths; predictions are the equal-weight mixture of their posteriors. Where the
        data leave the function open, members that fit the data alike extrapolate
        differently, so the predictive spread grows there, beyond the data most of all, and
        their mixture is better calibrated than one member. Fitting and predicting cost
        ``n_ensembles`` times a single model's (the members train one after another).
        ``sample_posterior``, ``sample_y`` and ``weight_paths`` take draw ``i`` from member
        ``i mod n_ensembles``. 1 is the single model. "auto" fits 3 members for a regressor
        trained on at most 200 rows, where a fit is cheap and the data leave most of the
        function open, 4 members for a classifier that calibrates its temperature without
        ``early_stopping`` (cross-fitted where ``calibrate`` says: each on the rows outside its own fold), and 2 for
        any other fit: a second member is the cheapest large gain in held-out
        log-likelihood on tabular sets of any size, at twice the fit. Set 1 where the fit's
        cost matters more (large image sets), and 3-5 on a small classification set, where
        more members keep making the probabilities better calibrated
        (``benchmarks/results/uncertainty.md``). ``partial_fit`` fits 1 under "auto".
    learning_rate : float, default=1e-2
        Adam step size.
    lr_schedule : {"constant", "cosine"}, default="cosine"
        Learning-rate schedule over all training steps. "cosine" anneals the rate from
        ``learning_rate`` to 0 at ``max_iter`` epochs, so running all of them is the planned
        end of training and raises no ``ConvergenceWarning``. A ``warm_start`` fit starts the
        schedule over for its own ``max_iter`` epochs; ``partial_fit`` always uses the
        constant rate.
    batch_size : int or "auto", default="auto"
        Minibatch size; "auto" is ``min(200, n_samples)``.
    max_iter : int or "auto", default="auto"
        Maximum number of epochs. "auto" is 400 epochs, except for a regressor trained on at
        most 200 rows, which trains until it has taken 2,000 optimiser steps (2,000 epochs of
        one minibatch): with few steps such a fit can stop on a plateau that predicts the
        mean. A partially stochastic regressor (``stochastic_fraction`` below 1, as "auto"
        chooses for smooth, nearly noiseless data) takes at least 2,000 steps on any data: its
        fit goes on improving long after 400 epochs. A classifier whose members are
        cross-fitted (``calibrate``) trains them for 50 and for 400 epochs and keeps the
        budget whose members predict the rows they left out better, out of fold (400 where
        they tie; ``max_iter_scores_``): on some sets the long schedule fits the training
        rows with too much confidence. A warm-start continuation or ``partial_fit``
        chooses nothing: a continuation trains the fitted members for the epochs "auto" gives
        a fit that does not choose (400 for a classifier; for a regressor as above), and
        ``partial_fit`` for one.
    shuffle : bool, default=True
        Shuffle the rows every epoch.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (stratified for classifiers), stop when
        the validation loss stops improving, and restore the best parameters. Otherwise,
        with ``lr_schedule="cosine"`` training runs all ``max_iter`` epochs (the schedule is
        the budget), and with "constant" it stops when the training loss (averaged over
        ``n_iter_no_change`` epochs) stops improving by ``tol``. For classifiers it tends to
        trade some accuracy for calibration (see ``benchmarks/results/classification.md``).
    validation_fraction : float, default=0.1
        Fraction of the rows held out when ``early_stopping=True``.
    n_iter_no_change : int, default=50
        Epochs without an improvement of at least ``tol`` before stopping (used with
        ``early_stopping=True`` or ``lr_schedule="constant"``).
    tol : float, default=1e-4
        Minimum improvement of the monitored loss.
    grad_accumulation : int, default=1
        Split each minibatch into this many parts and accumulate their gradients (less
        memory; the parts share the minibatch's weight paths, so the result is the same up to
        floating-point rounding; for ``likelihood="heteroscedastic"`` the β-NLL weights are
        normalised within each part).
    remat : bool, default=False
        Recompute solver steps in the backward pass instead of storing them (JAX engine;
        less memory, more time).
    max_grad_norm : float, "auto" or None, default="auto"
        Scale every minibatch gradient down to this global L2 norm where it is longer, before
        Adam sees it (``optax.clip_by_global_norm``, ``torch.nn.utils.clip_grad_norm_``); None
        never clips. Adam divides by the gradient's running scale, so clipping changes the
        steps only where the gradient jumps: it keeps one spike from throwing a fit off the
        minimum it was converging to. "auto" is 1.0 for a classifier's SDE-BNN (mlp), which
        trains with swish (``activation``) and whose members otherwise diverged now and then,
        and None for every other model.
    warm_start : bool, default=False
        Continue from the previous fit's (or ``partial_fit``'s) parameters when the model's
        structure is unchanged, and from its optimiser state (Adam's step count and moments,
        ``optimizer_state_``) and random streams: with ``lr_schedule="constant"`` and no KL
        annealing, fits of ``a`` then ``b`` epochs train exactly as one fit of ``a + b`` on
        the same engine. The new fit's learning-rate schedule and KL annealing start over
        for its ``max_iter`` epochs.
    verbose : int, default=0
        0 is silent; 1 shows a progress bar of the epochs with the loss, the time taken and
        an estimate of the time left (plain lines when tqdm is not installed), and what the
        "auto" settings chose; 2 also shows the loss's data and KL terms.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, minibatches, weight paths and the validation split. The
        prediction seed is drawn once, at fit, so predictions are deterministic."""

ATTRIBUTES_DOC = """\
    engine_ : str
        The engine used to fit ("jax" or "torch").
    device_ : str
        The device used to fit.
    params_ : dict of str to ndarray
        Fitted parameters, as NumPy arrays with the same names in both engines. With
        ``n_ensembles > 1`` every array has a leading axis of the members.
    n_ensembles_ : int
        Number of fitted ensemble members.
    spec_ : dict
        The fitted model's structure (sizes, posterior, likelihood), as plain values.
    loss_curve_ : list of float
        Mean training loss (negative ELBO per row) of every epoch.
    validation_scores_ : list of float or None
        Negative validation loss of every epoch when ``early_stopping=True``.
    stochastic_fraction_ : float
        The fraction of stochastic weights the model was built with (``stochastic_fraction``;
        the chosen one for "auto").
    stochastic_fraction_scores_ : dict or None
        Held-out log-likelihood of every candidate fraction where "auto" chose (with its noise
        calibrated where ``calibrate`` applies); else None.
    best_loss_ : float
        Lowest training loss seen.
    n_iter_ : int
        Number of epochs run (by ``warm_start`` fits and ``partial_fit`` calls too).
    t_ : int
        Number of training rows seen by the optimiser: rows times epochs, summed over
        ``warm_start`` fits and ``partial_fit`` calls.
    optimizer_state_ : dict
        Adam's state after the last step, as NumPy data that either engine continues from
        (``warm_start``, ``partial_fit``): ``{"step": int64 array, "mu": {name: array},
        "nu": {name: array}}``, the step count and the first and second moment estimates of
        every parameter of ``params_``; with ``n_ensembles > 1``, a list of one such dict per
        member.
    predict_seed_ : int
        Seed of the weight paths used by ``predict``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during fit, when X has string column names."""
