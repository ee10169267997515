"""The hand-written training floors of ``benchmarks.engines`` and the configuration they share.

A configuration (rows per minibatch ``batch``, hidden ``width``, ``n_steps``, ``n_mc_samples``)
maps to the benchmark's model (:func:`make_spec`), its synthetic rows (:func:`make_data`) and
its training settings (:func:`make_train`). Each floor (:func:`jax_floor`, :func:`torch_floor`)
is a bare training loop of the same computation in one framework; before it is timed,
:func:`check_floor` asserts that it computes the engine's loss and gradients.
"""

from __future__ import annotations

import math

import numpy as np

from skbnnsde.engines import get_engine
from skbnnsde.engines.noise import sample_noise, scale_noise
from skbnnsde.engines.params import init_params
from skbnnsde.engines.specs import ModelSpec, TrainSpec

N_FEATURES = 8
LEARNING_RATE = 1e-3


def make_spec(cfg) -> ModelSpec:
    """The benchmark's model for a configuration (the estimators' defaults otherwise)."""
    return ModelSpec(
        n_features=N_FEATURES, n_outputs=1, hidden_layer_sizes=(int(cfg["width"]),), aug_dim=2,
        weight_drift_sizes=(32,), n_steps=int(cfg["n_steps"]), diffusion=0.1, activation="tanh",
        prior="ou", posterior="sde", stl=True, solver="euler", likelihood="gaussian", dtype="float32",
    )


def make_data(cfg, n_batches, seed=0):
    """``n_batches * B`` rows of synthetic regression data (float32)."""
    rng = np.random.default_rng(seed)
    n = int(cfg["batch"]) * n_batches
    X = rng.standard_normal((n, N_FEATURES)).astype(np.float32)
    y = (np.sin(X @ rng.standard_normal(N_FEATURES) / 3.0) + 0.1 * rng.standard_normal(n)).astype(np.float32)
    return X, y[:, None]


def make_train(cfg, epochs) -> TrainSpec:
    """Adam for ``epochs`` full epochs of minibatches of ``B`` rows, ``S`` paths per step."""
    return TrainSpec(
        learning_rate=LEARNING_RATE, batch_size=int(cfg["batch"]), max_iter=epochs,
        n_mc_samples=int(cfg["n_mc_samples"]), n_iter_no_change=10**9, tol=0.0,
    )


def check_floor(name, cfg, floor_loss_and_gradients, X, y):
    """AssertionError unless the floor computes the engine's loss and gradients.

    Both get the initial parameters, the first minibatch and the same Brownian increments
    (``S`` paths of ``noise.sample_noise``); the engine's side is the protocol's
    ``loss_and_gradients``, the floor's ``floor_loss_and_gradients(params, x, y, dW)``.
    """
    spec = make_spec(cfg)
    B, S = int(cfg["batch"]), int(cfg["n_mc_samples"])
    params = init_params(spec, 0)
    noise = sample_noise(spec, S, seed=3)
    theirs, their_grads = get_engine(name).loss_and_gradients(
        spec, make_train(cfg, 1), params, X[:B], y[:B], noise, n_train=X.shape[0], kl_factor=1.0)
    dW = scale_noise(spec, noise)["dW"].astype(np.float32)
    ours, our_grads = floor_loss_and_gradients(params, X[:B], y[:B], dW)
    if not math.isclose(ours, theirs, rel_tol=1e-4, abs_tol=1e-4):
        raise AssertionError(f"{name} floor loss {ours} != engine loss {theirs} for {cfg}")
    for key, g in their_grads.items():
        error = np.linalg.norm(np.ravel(our_grads[key]) - np.ravel(g))
        if error > 1e-3 * max(np.linalg.norm(g), 1e-3):
            raise AssertionError(f"{name} floor gradient of {key} differs from the engine's by {error:.3g} for {cfg}")


# ---- JAX floor -----------------------------------------------------------------------------


def jax_floor(cfg, *, n_batches, epochs, check=True):
    """A function running the hand-written JAX loop for ``epochs * n_batches`` steps (compiled).

    Before returning, checks the floor's loss and gradients against the engine's (:func:`check_floor`).
    """
    import jax
    import jax.numpy as jnp
    import optax

    spec = make_spec(cfg)
    S, n, dt, sigma = int(cfg["n_mc_samples"]), spec.n_steps, spec.dt, spec.diffusion
    layout = spec.weight_layout
    X, y = make_data(cfg, n_batches)
    B = int(cfg["batch"])
    n_w = spec.n_weights
    aug = spec.aug_dim

    def hidden(t, h, w):  # h (S, B, D), w (S, n_w)
        a, offset = h, 0
        for i, ((n_in1, n_out), _) in enumerate(layout):
            W = w[:, offset : offset + n_in1 * n_out].reshape(S, n_in1, n_out)
            offset += n_in1 * n_out
            b = w[:, offset : offset + n_out]
            offset += n_out
            a = jnp.einsum("sbi,sio->sbo", a, W[:, :-1]) + (b + t * W[:, -1])[:, None, :]
            if i < len(layout) - 1:
                a = jnp.tanh(a)
        return a

    def drift(p, t, w):  # (S, n_w)
        a = jnp.tanh(w @ p["drift.W0"][:-1] + t * p["drift.W0"][-1] + p["drift.b0"])
        return a @ p["drift.W1"] + p["drift.b1"]

    def loss_fn(p, x, yb, dW):
        frozen = jax.lax.stop_gradient({k: v for k, v in p.items() if k.startswith("drift.")})
        h0 = jnp.concatenate([x, jnp.zeros((x.shape[0], aug), x.dtype)], 1)
        h0 = jnp.broadcast_to(h0, (S, B, N_FEATURES + aug))
        w0 = jnp.broadcast_to(p["w0"], (S, n_w))

        def body(carry, inp):
            h, w, kl = carry
            k, dw = inp
            t = k * dt
            fw = drift(p, t, w)
            u_sg = drift(frozen, t, w) / sigma
            kl = kl + (0.5 * dt / sigma**2) * jnp.sum(fw * fw, -1) + jnp.sum(u_sg * dw, -1)
            h_new = h + dt * hidden(t, h, w)
            w_new = w + dt * (fw - w) + sigma * dw
            return (h_new, w_new, kl), None

        ks = jnp.arange(n, dtype=x.dtype)
        (h, _, kl), _ = jax.lax.scan(body, (h0, w0, jnp.zeros(S, x.dtype)), (ks, jnp.swapaxes(dW, 0, 1)))
        out = h @ p["readout.W"] + p["readout.b"]  # (S, B, 1)
        scale = jnp.exp(p["log_scale"])
        ll = -0.5 * ((yb - out) / scale) ** 2 - jnp.log(scale) - 0.5 * math.log(2 * math.pi)
        return -jnp.mean(jnp.sum(ll, -1)) + jnp.mean(kl) / X.shape[0]

    opt = optax.adam(LEARNING_RATE)

    @jax.jit
    def epoch(p, state, key, Xb, yb):
        def step(carry, inp):
            p, state, key = carry
            key, sub = jax.random.split(key)
            dW = jax.random.normal(sub, (S, n, n_w), jnp.float32) * math.sqrt(dt)
            loss, g = jax.value_and_grad(loss_fn)(p, *inp, dW)
            updates, state = opt.update(g, state, p)
            return (optax.apply_updates(p, updates), state, key), loss

        (p, state, key), losses = jax.lax.scan(step, (p, state, key), (Xb, yb))
        return p, state, key, losses

    params = {k: jnp.asarray(v) for k, v in init_params(spec, 0).items()}
    Xb = jnp.asarray(X.reshape(n_batches, B, -1))
    yb = jnp.asarray(y.reshape(n_batches, B, -1))

    if check:
        def floor_loss_and_gradients(p, x, yy, dW):
            loss, grads = jax.value_and_grad(loss_fn)({k: jnp.asarray(v) for k, v in p.items()}, x, yy, dW)
            return float(loss), {k: np.asarray(v) for k, v in grads.items()}

        check_floor("jax", cfg, floor_loss_and_gradients, X, y)

    def run():
        p, state, key = params, opt.init(params), jax.random.PRNGKey(1)
        for _ in range(epochs):
            p, state, key, losses = epoch(p, state, key, Xb, yb)
        losses.block_until_ready()

    run()  # compile
    return run


# ---- torch floor ---------------------------------------------------------------------------


def torch_floor(cfg, *, n_batches, epochs, check=True):
    """A function running the hand-written torch loop for ``epochs * n_batches`` steps (warmed up).

    Before returning, checks the floor's loss and gradients against the engine's (:func:`check_floor`).
    """
    import torch

    spec = make_spec(cfg)
    S, n, dt, sigma = int(cfg["n_mc_samples"]), spec.n_steps, spec.dt, spec.diffusion
    B = int(cfg["batch"])
    X, y = make_data(cfg, n_batches)
    n_w = spec.n_weights
    sizes = []
    for (n_in1, n_out), _ in spec.weight_layout:
        sizes.extend(((n_in1 - 1) * n_out, n_out, n_out))
    n_layers = len(spec.weight_layout)

    def hidden(t, h, w):
        pieces = w.split(sizes, dim=-1)
        a = h
        for i, ((n_in1, n_out), _) in enumerate(spec.weight_layout):
            W, W_t, b = pieces[3 * i : 3 * i + 3]
            a = torch.baddbmm((b + t * W_t).unsqueeze(1), a, W.reshape(S, n_in1 - 1, n_out))
            if i < n_layers - 1:
                a = torch.tanh(a)
        return a

    def drift(p, t, w):
        a = torch.tanh(torch.addmm(p["drift.b0"] + t * p["drift.W0"][-1], w, p["drift.W0"][:-1]))
        return torch.addmm(p["drift.b1"], a, p["drift.W1"])

    def loss_fn(p, x, yb, dW):
        frozen = {k: v.detach() for k, v in p.items() if k.startswith("drift.")}
        h = torch.cat([x, x.new_zeros(B, spec.aug_dim)], 1).expand(S, B, -1)
        w = p["w0"].expand(S, n_w)
        kl = x.new_zeros(S)
        for k in range(n):
            t = k * dt
            fw = drift(p, t, w)
            u_sg = drift(frozen, t, w) / sigma
            kl = kl + (0.5 * dt / sigma**2) * (fw * fw).sum(-1) + (u_sg * dW[:, k]).sum(-1)
            h = h + dt * hidden(t, h, w)
            w = w + dt * (fw - w) + sigma * dW[:, k]
        out = h @ p["readout.W"] + p["readout.b"]
        scale = torch.exp(p["log_scale"])
        ll = -0.5 * ((yb - out) / scale) ** 2 - torch.log(scale) - 0.5 * math.log(2 * math.pi)
        return -ll.sum(-1).mean() + kl.mean() / X.shape[0]

    p0 = init_params(spec, 0)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)

    if check:
        def floor_loss_and_gradients(params, x, yy, dW):
            p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
            loss = loss_fn(p, torch.as_tensor(x), torch.as_tensor(yy), torch.as_tensor(dW))
            loss.backward()
            return float(loss.detach()), {k: v.grad.numpy() for k, v in p.items()}

        check_floor("torch", cfg, floor_loss_and_gradients, X, y)

    def run():
        p = {k: torch.tensor(v, requires_grad=True) for k, v in p0.items()}
        opt = torch.optim.Adam(list(p.values()), lr=LEARNING_RATE)
        generator = torch.Generator().manual_seed(1)
        for _ in range(epochs):
            for b in range(n_batches):
                opt.zero_grad(set_to_none=True)
                rows = slice(b * B, (b + 1) * B)
                dW = torch.randn((S, n, n_w), generator=generator) * math.sqrt(dt)
                loss_fn(p, Xt[rows], yt[rows], dW).backward()
                opt.step()

    run()  # warm-up
    return run


FLOORS = {"jax": jax_floor, "torch": torch_floor}
