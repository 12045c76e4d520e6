"""L-BFGS and OWL-QN, with liblbfgs's stopping rules as CRFsuite uses them.

scipy's L-BFGS-B has neither OWL-QN (L1 regularisation) nor CRFsuite's "improvement over
the last ``period`` iterations below ``delta``" rule, which parity with CRFsuite needs.
"""
from __future__ import annotations

import math
from typing import Callable, List, Tuple

import numpy as np
from scipy.linalg.blas import daxpy
from threadpoolctl import threadpool_limits

__all__ = ["lbfgs"]


class _LineSearchError(RuntimeError):
    pass


def _cubic_min(a, fa, da, b, fb, db):
    """Minimiser of the cubic interpolating (a, fa, da), (b, fb, db); None if undefined."""
    d1 = da + db - 3.0 * (fa - fb) / (a - b)
    rad = d1 * d1 - da * db
    if rad < 0:
        return None
    d2 = math.copysign(math.sqrt(rad), b - a)
    den = db - da + 2.0 * d2
    if den == 0:
        return None
    x = b - (b - a) * (db + d2 - d1) / den
    return x if math.isfinite(x) else None


def _wolfe_search(phi, f0, dg0, step, ftol, gtol, max_trials):
    """Line search for the strong Wolfe conditions (bracketing + zoom with cubic
    interpolation). ``phi(a) -> (f, g, dg)``. Returns (a, f, g, trials)."""
    trials = 0
    a_prev, f_prev, dg_prev, g_prev = 0.0, f0, dg0, None
    a = step
    best = None

    def zoom(lo, hi, trials):
        # the bracket ends: (step, f, directional derivative[, gradient at the low end])
        (a_lo, f_lo, dg_lo, g_lo), (a_hi, f_hi, dg_hi, _) = lo, hi
        while trials < max_trials:
            lo_b, hi_b = min(a_lo, a_hi), max(a_lo, a_hi)
            width = hi_b - lo_b
            c = _cubic_min(a_lo, f_lo, dg_lo, a_hi, f_hi, dg_hi)
            if c is None or not (lo_b + 0.1 * width <= c <= hi_b - 0.1 * width):
                c = 0.5 * (a_lo + a_hi)
            f, g, dg = phi(c)
            trials += 1
            if not math.isfinite(f) or f > f0 + ftol * c * dg0 or f >= f_lo:
                a_hi, f_hi, dg_hi = c, f, dg
            else:
                if abs(dg) <= -gtol * dg0:
                    return c, f, g, trials
                if dg * (a_hi - a_lo) >= 0:
                    a_hi, f_hi, dg_hi = a_lo, f_lo, dg_lo
                a_lo, f_lo, dg_lo, g_lo = c, f, dg, g
            if width < 1e-16 * max(1.0, hi_b):
                break
        if g_lo is not None and a_lo > 0 and f_lo <= f0 + ftol * a_lo * dg0:
            return a_lo, f_lo, g_lo, trials  # sufficient decrease holds: accept
        raise _LineSearchError("the line search did not find a point satisfying the Wolfe "
                               "conditions")

    while trials < max_trials:
        f, g, dg = phi(a)
        trials += 1
        if not math.isfinite(f) or f > f0 + ftol * a * dg0 or (trials > 1 and f >= f_prev):
            return zoom((a_prev, f_prev, dg_prev, g_prev), (a, f, dg, g), trials)
        if abs(dg) <= -gtol * dg0:
            return a, f, g, trials
        if dg >= 0:
            return zoom((a, f, dg, g), (a_prev, f_prev, dg_prev, g_prev), trials)
        best = (a, f, g)
        a_prev, f_prev, dg_prev, g_prev = a, f, dg, g
        a = a * 4.0
    if best is not None:
        return best[0], best[1], best[2], trials
    raise _LineSearchError("the line search reached its maximum number of trials")


class _History:
    """The last ``m`` correction pairs ``(s, y)`` of L-BFGS in preallocated rows, and the
    two-loop recursion over them done in place: with hundreds of thousands of weights the
    temporaries of ``q -= a * y`` (and the page faults of their fresh memory) cost more
    than the arithmetic."""

    def __init__(self, m: int, K: int) -> None:
        self.m = m
        self.S = np.empty((m + 1, K))  # one spare row for the pair being formed
        self.Y = np.empty((m + 1, K))
        self.rho = np.empty(m + 1)
        self.rows: List[int] = []      # the pairs kept, oldest first

    def clear(self) -> None:
        self.rows = []

    def push(self, x, xp, g, gp) -> None:
        """Keeps ``(x - xp, g - gp)`` unless its curvature ``y . s`` is too small."""
        j = next(r for r in range(self.m + 1) if r not in self.rows)
        s, y = self.S[j], self.Y[j]
        np.subtract(x, xp, out=s)
        np.subtract(g, gp, out=y)
        ys, yy = float(y @ s), float(y @ y)
        if ys > 1e-12 * max(yy, 1e-300) and yy > 0:
            self.rho[j] = 1.0 / ys
            self.rows.append(j)
            if len(self.rows) > self.m:
                self.rows.pop(0)

    def direction(self, pg: np.ndarray) -> np.ndarray:
        """``-H pg`` for the inverse-Hessian approximation ``H`` of the pairs kept."""
        q = np.negative(pg)
        if not self.rows:
            return q
        S, Y, rho = self.S, self.Y, self.rho
        alphas = []
        for j in reversed(self.rows):
            a = rho[j] * float(S[j] @ q)
            alphas.append(a)
            q = daxpy(Y[j], q, a=-a)
        newest = self.rows[-1]
        q *= 1.0 / (rho[newest] * float(Y[newest] @ Y[newest]))
        for j, a in zip(self.rows, reversed(alphas)):
            b = rho[j] * float(Y[j] @ q)
            q = daxpy(S[j], q, a=a - b)
        return q


def _pseudo_gradient(x, g, c1):
    # g + c1 sign(x) off zero; at zero weights the one-sided derivative that descends, or 0:
    # g - clip(g, -c1, c1). Whole-array arithmetic: boolean masks and np.where over the
    # mostly-zero weights of L1 took 1.4 ms per call at 96k weights, this 0.15 ms.
    return g + c1 * np.sign(x) - (x == 0) * np.clip(g, -c1, c1)


def lbfgs(fun: Callable[[np.ndarray], Tuple[float, np.ndarray]], x: np.ndarray, *,
          c1: float, c2: float, m: int, epsilon: float, past: int, delta: float,
          max_iterations: int, linesearch: str, max_linesearch: int,
          progress: Callable[[int, np.ndarray, float, float, float, float, int], None]
          ) -> Tuple[np.ndarray, str]:
    """Minimise ``fun(x)[0] + c2 ||x||^2 + c1 ||x||_1`` by L-BFGS, or OWL-QN when ``c1 > 0``.

    L-BFGS uses a strong-Wolfe line search (bracketing and zoom with cubic interpolation;
    a direction that is not one of descent restarts from steepest descent), OWL-QN a
    backtracking one with each trial projected onto the orthant of the current point, as
    CRFsuite does for L1. The first step is ``1 / ||g||``.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (f, g)``: the data part of the objective (float) and its gradient
        (ndarray of float64, shape ``(K,)``). ``g`` may be modified in place.
    x : ndarray of float64, shape (K,)
        The starting point.
    c1, c2 : float
        The L1 and L2 coefficients (``c2`` multiplies the squared norm, with no 1/2).
    m : int
        The number of corrections kept.
    epsilon : float
        Stop when ``||g|| / max(1, ||x||) <= epsilon`` (the pseudo-gradient with L1).
    past : int
        Stop when ``(f[k - past] - f[k]) / f[k] < delta``; 0 disables the rule.
    delta : float
        See ``past``.
    max_iterations : int
        The maximum number of iterations; 0 means no limit.
    linesearch : str
        Accepted for compatibility; the line search depends on ``c1`` only.
    max_linesearch : int
        The maximum number of trials per line search.
    progress : callable
        ``progress(k, x, f, xnorm, gnorm, step, trials)``, called after every iteration
        ``k`` (from 1) with the new point, the objective, ``||x||``, ``||g||``, the step
        taken and the number of line-search trials.

    Returns
    -------
    x : ndarray of float64, shape (K,)
        The last point (the last accepted one when a line search fails).
    reason : str
        Why the optimisation stopped.

    Examples
    --------
    >>> import numpy as np
    >>> from fastseq.crf.lbfgs import lbfgs
    >>> def fun(x):
    ...     d = x - 3.0
    ...     return float(d @ d), 2 * d
    >>> opts = dict(c2=0.0, m=6, epsilon=1e-5, past=10, delta=1e-5, max_iterations=0,
    ...             linesearch="MoreThuente", max_linesearch=20,
    ...             progress=lambda *args: None)
    >>> x, reason = lbfgs(fun, np.zeros(2), c1=0.0, **opts)
    >>> x.round(4).tolist(), reason
    ([3.0, 3.0], 'converged (gradient norm below epsilon)')
    >>> lbfgs(fun, np.zeros(2), c1=1.0, **opts)[0].round(4).tolist()   # L1: OWL-QN
    [2.5, 2.5]
    """
    # The vector updates run on one BLAS thread: memory-bound either way, and a second
    # OpenBLAS thread can wait for a core the objective's own threads still hold (on a busy
    # 2-core machine a 452k-element dot then took milliseconds instead of 0.05).
    with threadpool_limits(limits=1, user_api="blas"):
        return _minimise(fun, x, c1=c1, c2=c2, m=m, epsilon=epsilon, past=past, delta=delta,
                         max_iterations=max_iterations, max_linesearch=max_linesearch,
                         progress=progress)


def _minimise(fun, x, *, c1, c2, m, epsilon, past, delta, max_iterations, max_linesearch,
              progress):
    """The body of :func:`lbfgs` (same arguments but ``linesearch``)."""
    ftol, gtol = 1e-4, 0.9

    def evaluate(z):
        f, g = fun(z)
        if c2 > 0:
            f += c2 * float(z @ z)
            g = daxpy(z, g, a=2.0 * c2)
        return f, g

    f, g = evaluate(x)
    if c1 > 0:
        f += c1 * float(np.abs(x).sum())
        pg = _pseudo_gradient(x, g, c1)
    else:
        pg = g
    pf = [f] * past if past > 0 else None
    d = -pg
    xnorm = max(1.0, float(np.linalg.norm(x)))
    gnorm = float(np.linalg.norm(pg))
    if gnorm / xnorm <= epsilon:
        return x, "the initial weights are already a minimiser"
    step = 1.0 / gnorm if gnorm > 0 else 1.0
    history = _History(m, x.size)
    k = 1
    while True:
        xp, gp, fp = x, g, f
        if c1 > 0:
            # OWL-QN: backtracking, each trial projected onto the orthant of xp (or -pg)
            # (whole-array arithmetic throughout: boolean-mask indexing over the mostly-zero
            # weights cost milliseconds per iteration; "+ 0.0" turns -0.0 into 0.0)
            orth = np.sign(xp) - (xp == 0) * np.sign(pg)
            trials = 0
            while True:
                xt = xp + step * d
                xt = xt * (np.sign(xt) == orth) + 0.0
                ft, gt = evaluate(xt)
                ft += c1 * float(np.abs(xt).sum())
                trials += 1
                if ft <= fp + ftol * float((xt - xp) @ pg):
                    break
                if trials >= max_linesearch:
                    return xp, "the line search failed (maximum number of trials)"
                step *= 0.5
            x, f, g = xt, ft, gt
            pg = _pseudo_gradient(x, g, c1)
        else:
            dg0 = float(g @ d)
            if dg0 >= 0:  # not a descent direction: restart from steepest descent
                history.clear()
                d = -g
                dg0 = -float(g @ g)

            def phi(a, xp=xp, d=d):
                z = xp + a * d
                fz, gz = evaluate(z)
                return fz, gz, float(gz @ d)
            try:
                step, f, g, trials = _wolfe_search(phi, fp, dg0, step, ftol, gtol,
                                                   max_linesearch)
            except _LineSearchError as exc:
                return xp, str(exc)
            x = xp + step * d
            pg = g
        xnorm = float(np.linalg.norm(x))
        gnorm = float(np.linalg.norm(pg))
        progress(k, x, f, xnorm, gnorm, step, trials)
        if gnorm / max(1.0, xnorm) <= epsilon:
            return x, "converged (gradient norm below epsilon)"
        if pf is not None:
            if past <= k:
                rate = (pf[k % past] - f) / f if f != 0 else 0.0
                if rate < delta:
                    return x, f"stopping criterion (improvement over {past} iterations " \
                              f"below delta)"
            pf[k % past] = f
        if max_iterations and k + 1 > max_iterations:
            return x, "maximum number of iterations"
        history.push(x, xp, g, gp)
        q = history.direction(pg)
        d = q
        if c1 > 0:
            d = d * (d * pg < 0) + 0.0
            if not np.any(d):
                return x, "converged (no descent direction left)"
        step = 1.0
        k += 1
