"""Max-margin token-selection SVMs (Tarzanagh et al. 2023, arXiv 2308.16898 and 2306.13596; notes A2).

For a token selection alpha (one token per example), Att-SVM is

    W^mm_alpha = argmin ||W||   s.t.   <W, (x_{i alpha_i} - x_it) z_i^T>_F >= 1   for all i, t != alpha_i,

with the Frobenius norm (Att-SVM) or the nuclear norm (Att-SVM*). It is a bias-free hard-margin SVM whose
"samples" are the outer products A_it (derived, notes A2), so every problem here is the generic
``min ||w|| s.t. A w >= b`` with some rows b = 1 (margin) and, for the relaxed prompt SVM, b = 0.

Solvers: cvxpy (Clarabel: interior point, accurate enough for ranks and support sets) for both norms, and a
scipy-only solver for the Frobenius problem: Lawson & Hanson's least-distance programming, whose dual is a
non-negative least-squares problem (``scipy.optimize.nnls``). An infeasible problem is returned as a result
with ``feasible=False`` (never skipped, never an exception), so callers can count it.

Theorem numbers of the papers are not confirmed (notes section 0): docstrings here cite the notes' sections.
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np
from scipy.optimize import nnls

NORMS = ("fro", "nuc")
SUPPORT_TOL = 1e-6


@dataclass(frozen=True)
class SvmResult:
    """``solution`` is None exactly when ``feasible`` is False; ``status`` is the solver's word."""

    feasible: bool
    solution: np.ndarray | None
    status: str

    def require(self) -> np.ndarray:
        """The solution, or a clear error if the problem was infeasible."""
        if self.solution is None:
            raise ValueError(f"the SVM is infeasible (solver status: {self.status})")
        return self.solution


def selection_features(X: np.ndarray, z: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """A_it = (x_{i alpha_i} - x_it) z_i^T for every t != alpha_i: shape (n (T-1), d, d)."""
    X, z, alpha = np.asarray(X, float), np.asarray(z, float), np.asarray(alpha, int)
    n, T, _ = X.shape
    if alpha.shape != (n,) or (alpha < 0).any() or (alpha >= T).any():
        raise ValueError(f"alpha must hold one token index in [0, {T}) per example (n={n}), got {alpha}")
    rows = [np.outer(X[i, alpha[i]] - X[i, t], z[i]) for i in range(n) for t in range(T) if t != alpha[i]]
    return np.stack(rows)


def prompt_features(keys: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """k_{i alpha_i} - k_it for every t != alpha_i (the prompt ATT-SVM, notes A2): shape (n (T-1), d)."""
    keys, alpha = np.asarray(keys, float), np.asarray(alpha, int)
    n, T, _ = keys.shape
    return np.stack([keys[i, alpha[i]] - keys[i, t] for i in range(n) for t in range(T) if t != alpha[i]])


def min_norm_cvxpy(A: np.ndarray, b: np.ndarray, norm: str = "fro") -> SvmResult:
    """argmin ||W|| s.t. <W, A_j> >= b_j, with cvxpy/Clarabel. ``A`` (m, d1, d2) or (m, p) for vectors."""
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    A = np.asarray(A, float)
    shape = A.shape[1:]
    if norm == "nuc" and len(shape) != 2:
        raise ValueError("the nuclear norm needs matrix features A (m, d1, d2)")
    W = cp.Variable(shape)
    flat = cp.vec(W, order="C")
    objective = cp.norm(W, "nuc") if norm == "nuc" else cp.sum_squares(flat)  # a QP: exact optimum
    problem = cp.Problem(cp.Minimize(objective), [A.reshape(len(A), -1) @ flat >= np.asarray(b, float)])
    problem.solve(solver=cp.CLARABEL)
    if problem.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        return SvmResult(False, None, problem.status)
    if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or W.value is None:
        raise RuntimeError(f"cvxpy returned status {problem.status!r} without a solution")
    return SvmResult(True, np.asarray(W.value), problem.status)


def min_norm_nnls(A: np.ndarray, b: np.ndarray) -> SvmResult:
    """argmin ||w||_2 s.t. A w >= b, scipy only: least-distance programming (Lawson & Hanson 1974, ch. 23).

    Solve the NNLS  min_{u >= 0} ||E u - f||  with E = [A^T; b^T], f = e_last. If the residual r = E u - f
    vanishes the constraints are inconsistent (infeasible); otherwise w = -r[:-1] / r[-1]. u is, up to
    scale, the SVM dual variable lambda (w = A^T lambda, KKT of notes A2).
    """
    A = np.asarray(A, float)
    shape = A.shape[1:]
    G = A.reshape(len(A), -1)
    b = np.asarray(b, float)
    E = np.vstack([G.T, b[None, :]])
    f = np.zeros(E.shape[0])
    f[-1] = 1.0
    u, _ = nnls(E, f, maxiter=50 * E.shape[1])
    r = E @ u - f
    if np.linalg.norm(r) < 1e-10:
        return SvmResult(False, None, "infeasible (least-distance residual vanishes)")
    return SvmResult(True, (-r[:-1] / r[-1]).reshape(shape), "optimal")


def att_svm(X: np.ndarray, z: np.ndarray, alpha: np.ndarray, norm: str = "fro") -> SvmResult:
    """W^mm_alpha (``norm="fro"``, Att-SVM) or W^mm_{*,alpha} (``norm="nuc"``, Att-SVM*), notes A2."""
    A = selection_features(X, z, alpha)
    return min_norm_cvxpy(A, np.ones(len(A)), norm)


def att_svm_scipy(X: np.ndarray, z: np.ndarray, alpha: np.ndarray) -> SvmResult:
    """W^mm_alpha of Att-SVM (Frobenius) with the scipy-only least-distance solver."""
    A = selection_features(X, z, alpha)
    return min_norm_nnls(A, np.ones(len(A)))


def margins(X: np.ndarray, z: np.ndarray, alpha: np.ndarray, W: np.ndarray) -> np.ndarray:
    """(x_{i alpha_i} - x_it)^T W z_i per example and token, shape (n, T), +inf at t = alpha_i."""
    X, z, alpha = np.asarray(X, float), np.asarray(z, float), np.asarray(alpha, int)
    logits = np.einsum("ntd,de,ne->nt", X, W, z)
    out = logits[np.arange(len(alpha)), alpha][:, None] - logits
    out[np.arange(len(alpha)), alpha] = np.inf
    return out


def support_tokens(
    X: np.ndarray, z: np.ndarray, alpha: np.ndarray, W: np.ndarray, tol: float = SUPPORT_TOL
) -> np.ndarray:
    """Boolean (n, T): the support tokens ("SVM-neighbours") T_i, whose margin under W^mm_alpha is 1."""
    return np.abs(margins(X, z, alpha, W) - 1.0) <= tol


@dataclass(frozen=True)
class LocalOptimality:
    """Outcome of the local-optimality check of a selection alpha (notes A2)."""

    feasible: bool
    locally_optimal: bool
    globally_optimal: bool  # alpha == opt
    support: np.ndarray | None  # (n, T) boolean
    min_score_gap: float  # min over support tokens of gamma_{i alpha_i} - gamma_it (nan if infeasible)


def check_local_optimality(X: np.ndarray, z: np.ndarray, alpha: np.ndarray, scores: np.ndarray) -> LocalOptimality:
    """alpha is locally optimal iff W^mm_alpha exists and gamma_{i alpha_i} > gamma_it on every support token.

    ``scores`` are gamma_it = Y_i v^T x_it (n, T). Definition as in the notes A2 ([unverified] as the paper's
    exact wording; the structure is confirmed by the Max-Margin README).
    """
    scores, alpha = np.asarray(scores, float), np.asarray(alpha, int)
    globally = bool((alpha == scores.argmax(-1)).all())
    result = att_svm_scipy(X, z, alpha)
    if not result.feasible:
        return LocalOptimality(False, False, globally, None, float("nan"))
    support = support_tokens(X, z, alpha, result.require())
    gaps = scores[np.arange(len(alpha)), alpha][:, None] - scores
    gap = float(gaps[support].min()) if support.any() else float("inf")
    return LocalOptimality(True, gap > 0, globally, support, gap)


def matrix_rank(W: np.ndarray, rel_tol: float = 1e-6) -> int:
    """Numerical rank: singular values above ``rel_tol`` times the largest."""
    s = np.linalg.svd(W, compute_uv=False)
    return int((s > rel_tol * s[0]).sum()) if s[0] > 0 else 0


@dataclass(frozen=True)
class SvmEquivalent:
    """The generalised SVM for nonlinear heads (notes A2, "SVM-eq"; naming [unverified])."""

    W_dir: np.ndarray
    W_fin: np.ndarray
    R: float
    W_eq: np.ndarray


def svm_equivalent(
    X: np.ndarray, z: np.ndarray, probs: np.ndarray, W_final: np.ndarray, threshold: float = 1e-3
) -> SvmResult | SvmEquivalent:
    """W^SVMeq = W^fin + R W^dir from the selected sets O_i = {t : s_it >= ``threshold``} (notes A2).

    W^dir: min ||W||_F s.t. (x_it - x_iτ)^T W z_i = 0 for t, τ in O_i and (x_it - x_iτ)^T W z_i >= 1 for
    t in O_i, τ not in O_i. W^fin: the least-norm W with (x_it2 - x_it1)^T W z_i = log(s_it2 / s_it1) for
    selected pairs. R: least squares fit of W^fin + R W^dir to ``W_final`` (fitted to the run itself).
    Returns the infeasible `SvmResult` when W^dir does not exist.
    """
    X, z, probs = np.asarray(X, float), np.asarray(z, float), np.asarray(probs, float)
    n, T, d = X.shape
    eq_rows, eq_rhs, ineq_rows = [], [], []
    for i in range(n):
        chosen = np.flatnonzero(probs[i] >= threshold)
        rest = np.flatnonzero(probs[i] < threshold)
        first = chosen[0]
        for t in chosen[1:]:
            eq_rows.append(np.outer(X[i, t] - X[i, first], z[i]).ravel())
            eq_rhs.append(np.log(probs[i, t] / probs[i, first]))
        ineq_rows += [np.outer(X[i, t] - X[i, tau], z[i]).ravel() for t in chosen for tau in rest]
    Wv = cp.Variable(d * d)
    constraints = [np.array(ineq_rows) @ Wv >= 1] if ineq_rows else []
    if eq_rows:
        constraints.append(np.array(eq_rows) @ Wv == 0)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(Wv)), constraints)
    problem.solve(solver=cp.CLARABEL)
    if problem.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE) or Wv.value is None:
        return SvmResult(False, None, problem.status)
    W_dir = np.asarray(Wv.value).reshape(d, d)
    if eq_rows:
        W_fin = (np.linalg.pinv(np.array(eq_rows)) @ np.array(eq_rhs)).reshape(d, d)
    else:
        W_fin = np.zeros((d, d))
    R = float(np.sum((W_final - W_fin) * W_dir) / np.sum(W_dir * W_dir))
    return SvmEquivalent(W_dir=W_dir, W_fin=W_fin, R=R, W_eq=W_fin + R * W_dir)


def head_svm(X_selected: np.ndarray, Y: np.ndarray) -> SvmResult:
    """v^mm = argmin ||v|| s.t. Y_i v^T x_{i alpha_i} >= 1 (head SVM on the selected tokens, notes A4)."""
    A = np.asarray(Y, float)[:, None] * np.asarray(X_selected, float)
    return min_norm_nnls(A, np.ones(len(A)))


def relaxed_prompt_svm(keys: np.ndarray, alpha: np.ndarray, tight_inputs: np.ndarray) -> SvmResult:
    """p^relax: min ||p|| s.t. (k_{i alpha_i} - k_it)^T p >= 1 for inputs in ``tight_inputs`` (the support
    vectors of v^mm) and >= 0 for the others (Max-Margin paper's joint training, notes A4)."""
    A = prompt_features(keys, alpha)
    n, T, _ = np.asarray(keys).shape
    owner = np.array([i for i in range(n) for t in range(T) if t != alpha[i]])
    b = np.where(np.isin(owner, np.asarray(tight_inputs, int)), 1.0, 0.0)
    return min_norm_nnls(A, b)
