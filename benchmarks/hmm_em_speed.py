"""One Baum-Welch iteration of fastseq's HMMs against hmmlearn's, measured in one run.

1,000 sequences x 100 steps, 4 states, from the same initial parameters: the count models
and GMMHMM (3 components) on 3 features, GaussianHMM on 3 features (diag) and on 8 features
with every covariance type (full, tied, diag, spherical). Both libraries run at 2 threads
(fastseq's ``n_threads``, BLAS limited for both; ``--threads`` changes it). The time of one
iteration is (fit(n_iter=6) - fit(n_iter=1)) / 5, each fit the best of 3 with the two
libraries interleaved, so validation and set-up are left out. Needs hmmlearn.

Run: ``python benchmarks/hmm_em_speed.py`` (every model) or, e.g.,
``python benchmarks/hmm_em_speed.py --threads 1 GaussianHMM`` (the rows whose label
contains a word, at 1 thread).
"""
from __future__ import annotations

import argparse
import logging
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

import fastseq.hmm as fastseq_hmm

B, T, N_STATES, N_FEATURES, N_MIX = 1000, 100, 4, 3, 3
# the full-covariance comparison: GaussianHMM with this many features
N_FEATURES_WIDE = 8

# (model, covariance_type, n_features)
CASES = [("PoissonHMM", None, N_FEATURES), ("MultinomialHMM", None, N_FEATURES),
         ("GaussianHMM", "diag", N_FEATURES), ("GMMHMM", "diag", N_FEATURES),
         ("GMMHMM", "full", N_FEATURES)] + [
    ("GaussianHMM", cov, N_FEATURES_WIDE) for cov in ("full", "tied", "diag", "spherical")]


def _data(name, nf, rng):
    if name == "PoissonHMM":
        return rng.poisson(3.0, size=(B * T, nf))
    if name == "MultinomialHMM":
        return rng.multinomial(10, [0.2, 0.3, 0.5], size=B * T)
    X = rng.normal(size=(B * T, nf))
    if name == "GMMHMM" or nf == N_FEATURES_WIDE:
        X += rng.integers(0, 3, size=(B * T, 1)) * 3.0     # clusters, correlated features
    return X


def _model(lib, name, cov, n_iter, params, n_threads):
    kw = {} if cov is None else {"covariance_type": cov}
    if name == "GMMHMM":
        kw["n_mix"] = N_MIX
    if lib is fastseq_hmm:
        kw["n_threads"] = n_threads
    m = getattr(lib, name)(n_components=N_STATES, n_iter=n_iter, tol=-np.inf, init_params="",
                           **kw)
    m.startprob_ = np.full(N_STATES, 1 / N_STATES)
    m.transmat_ = np.full((N_STATES, N_STATES), 1 / N_STATES)
    for k, v in params.items():
        setattr(m, k, v.copy() if isinstance(v, np.ndarray) else v)
    return m


def _random_covars(shape, nf, rng):
    """Random well-conditioned covariance matrices of shape ``shape + (nf, nf)``."""
    a = rng.normal(size=shape + (nf, nf))
    return a @ np.swapaxes(a, -1, -2) / nf + np.eye(nf)


def _params(name, cov, nf, rng):
    nc, nm = N_STATES, N_MIX
    if name == "PoissonHMM":
        return {"lambdas_": rng.uniform(1, 5, size=(nc, nf))}
    if name == "MultinomialHMM":
        return {"n_trials": 10, "emissionprob_": rng.dirichlet(np.ones(nf), size=nc)}
    if name == "GaussianHMM":
        covars = {"full": _random_covars((nc,), nf, rng),
                  "tied": _random_covars((), nf, rng),
                  "diag": rng.uniform(0.5, 2.0, size=(nc, nf)),
                  "spherical": rng.uniform(0.5, 2.0, size=nc)}[cov]
        return {"n_features": nf, "means_": rng.normal(size=(nc, nf)) * 3, "covars_": covars}
    covars = np.ones((nc, nm, nf)) if cov == "diag" else np.tile(np.eye(nf), (nc, nm, 1, 1))
    return {"n_features": nf, "means_": rng.normal(size=(nc, nm, nf)) * 3,
            "weights_": rng.dirichlet(np.ones(nm), size=nc), "covars_": covars}


def _fit_seconds(lib, name, cov, X, n_iter, params, n_threads):
    m = _model(lib, name, cov, n_iter, params, n_threads)
    t0 = time.perf_counter()
    m.fit(X, [T] * B)
    return time.perf_counter() - t0


def iteration_seconds(libs, name, cov, X, params, n_threads, repeats=3):
    """Seconds of one EM iteration of each library: (best fit with 6 iterations - best fit
    with 1) / 5, over ``repeats`` rounds that interleave the libraries."""
    best = {(lib, n_iter): np.inf for lib in libs for n_iter in (1, 6)}
    for _ in range(repeats):
        for lib in libs:
            for n_iter in (6, 1):
                seconds = _fit_seconds(lib, name, cov, X, n_iter, params, n_threads)
                best[lib, n_iter] = min(best[lib, n_iter], seconds)
    return {lib: (best[lib, 6] - best[lib, 1]) / 5 for lib in libs}


def main(argv=None):
    import hmmlearn.hmm as hmmlearn_hmm

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2,
                        help="fastseq's n_threads and the BLAS threads of both (default 2)")
    parser.add_argument("words", nargs="*", help="only the rows whose label contains one")
    args = parser.parse_args(argv)

    warnings.filterwarnings("ignore")
    logging.getLogger("hmmlearn").setLevel(logging.ERROR)  # its MultinomialHMM notice
    rng = np.random.default_rng(0)
    with threadpool_limits(args.threads):
        for name, cov, nf in CASES:
            X = _data(name, nf, rng)
            params = _params(name, cov, nf, rng)
            label = name + (f" ({cov}, {nf} features)" if cov else "")
            if args.words and not any(w in label for w in args.words):
                continue
            per = iteration_seconds((hmmlearn_hmm, fastseq_hmm), name, cov, X, params,
                                    args.threads)
            if min(per.values()) <= 0:      # a 1-iteration fit outlasted the 6-iteration one
                print(f"{label:36s} too noisy to measure (a busy machine?); run it again")
                continue
            print(f"{label:36s} hmmlearn {per[hmmlearn_hmm] * 1e3:8.1f} ms   fastseq "
                  f"{per[fastseq_hmm] * 1e3:7.2f} ms   "
                  f"{per[hmmlearn_hmm] / per[fastseq_hmm]:5.1f}x", flush=True)


if __name__ == "__main__":
    main()
