"""One Baum-Welch iteration of fastseq's HMMs against hmmlearn's, measured in one run.

1,000 sequences x 100 steps, 4 states, 3 features, from the same initial parameters; the
time of one iteration is (fit(n_iter=6) - fit(n_iter=1)) / 5, best of 3, so validation and
set-up are left out. Needs hmmlearn. Run: ``python benchmarks/hmm_em_speed.py``.
"""
from __future__ import annotations

import logging
import time
import warnings

import numpy as np

import fastseq.hmm as fastseq_hmm

B, T, N_STATES, N_FEATURES, N_MIX = 1000, 100, 4, 3, 3


def _data(rng):
    return {
        ("PoissonHMM", None): rng.poisson(3.0, size=(B * T, N_FEATURES)),
        ("MultinomialHMM", None): rng.multinomial(10, [0.2, 0.3, 0.5], size=B * T),
        ("GaussianHMM", "diag"): rng.normal(size=(B * T, N_FEATURES)),
        ("GMMHMM", "diag"): rng.normal(size=(B * T, N_FEATURES))
        + rng.integers(0, 3, size=(B * T, 1)) * 3.0,
        ("GMMHMM", "full"): rng.normal(size=(B * T, N_FEATURES))
        + rng.integers(0, 3, size=(B * T, 1)) * 3.0,
    }


def _model(lib, name, cov, n_iter, params):
    kw = {} if cov is None else {"covariance_type": cov}
    if name == "GMMHMM":
        kw["n_mix"] = N_MIX
    m = getattr(lib, name)(n_components=N_STATES, n_iter=n_iter, tol=-np.inf, init_params="",
                           **kw)
    m.startprob_ = np.full(N_STATES, 1 / N_STATES)
    m.transmat_ = np.full((N_STATES, N_STATES), 1 / N_STATES)
    for k, v in params.items():
        setattr(m, k, v.copy() if isinstance(v, np.ndarray) else v)
    return m


def _params(name, cov, rng):
    nc, nf, nm = N_STATES, N_FEATURES, N_MIX
    if name == "PoissonHMM":
        return {"lambdas_": rng.uniform(1, 5, size=(nc, nf))}
    if name == "MultinomialHMM":
        return {"n_trials": 10, "emissionprob_": rng.dirichlet(np.ones(nf), size=nc)}
    if name == "GaussianHMM":
        return {"n_features": nf, "means_": rng.normal(size=(nc, nf)),
                "covars_": np.ones((nc, nf))}
    covars = np.ones((nc, nm, nf)) if cov == "diag" else np.tile(np.eye(nf), (nc, nm, 1, 1))
    return {"n_features": nf, "means_": rng.normal(size=(nc, nm, nf)) * 3,
            "weights_": rng.dirichlet(np.ones(nm), size=nc), "covars_": covars}


def _fit_seconds(lib, name, cov, X, n_iter, params):
    best = np.inf
    for _ in range(3):
        m = _model(lib, name, cov, n_iter, params)
        t0 = time.perf_counter()
        m.fit(X, [T] * B)
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    import hmmlearn.hmm as hmmlearn_hmm

    warnings.filterwarnings("ignore")
    logging.getLogger("hmmlearn").setLevel(logging.ERROR)  # its MultinomialHMM notice
    rng = np.random.default_rng(0)
    for (name, cov), X in _data(rng).items():
        params = _params(name, cov, rng)
        per = {}
        for lib in (hmmlearn_hmm, fastseq_hmm):
            per[lib] = (_fit_seconds(lib, name, cov, X, 6, params)
                        - _fit_seconds(lib, name, cov, X, 1, params)) / 5
        label = name + (f" ({cov})" if cov else "")
        print(f"{label:22s} hmmlearn {per[hmmlearn_hmm] * 1e3:8.1f} ms   fastseq "
              f"{per[fastseq_hmm] * 1e3:7.2f} ms   {per[hmmlearn_hmm] / per[fastseq_hmm]:5.1f}x")


if __name__ == "__main__":
    main()
