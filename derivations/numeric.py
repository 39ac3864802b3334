"""The symbolic -> numeric handoff: NumPy functions generated from the derived results.

Following PyDy's ``generate_ode_function``, each generated function records which symbol sits
at which argument position in its docstring. The numeric layer (:mod:`dynamics`) builds its
right-hand sides and simple closed forms from these, so there is one source of truth.
"""
from __future__ import annotations

import functools

import sympy as sp

from .flow import flow_rhs
from .learning_rates import discrete_map
from .registry import get
from .symbols import a, b, eps, eta, gam, lam, u


def _lambdify(args, expr, doc):
    fn = sp.lambdify(args, expr, modules="numpy", cse=True)
    fn.__doc__ = doc + "\n\nArguments, in order: " + ", ".join(str(s) for s in args) + "."
    return fn


def lambdify_statement(name: str, args, index: int | None = None):
    """NumPy function of a result's statement right-hand side.

    Parameters
    ----------
    name : str
        Result name, e.g. ``"fixed_points"``.
    args : sequence of str or Symbol
        The free symbols, in argument order (names are matched against the statement's symbols).
    index : int, optional
        Which equation of a multi-equation statement (default: the first).
    """
    stmt = get(name).statement
    eq = stmt[index or 0] if isinstance(stmt, tuple) else stmt
    free = {str(s): s for s in eq.rhs.free_symbols}
    symbols = [free.get(str(s), sp.Symbol(str(s))) if isinstance(s, str) else s for s in args]
    return _lambdify(symbols, eq.rhs, f"{name}: {eq}")


@functools.lru_cache(maxsize=None)
def mode_flow_function():
    """(a, b, lam, xi, gamma) -> (da/dt, db/dt), generated from R3 with xi = lam + eps as the argument.

    The derived gradient is rewritten with eps = xi - lam and expanded, giving
    b lam - xi a b^2 - gamma a: lam and eps never appear as two large terms that cancel, which
    matters when the flow is integrated in rescaled variables.
    """
    da, db = flow_rhs()
    xis = sp.Symbol("xi", positive=True)
    da, db = (sp.expand(d.subs(eps, xis - lam)) for d in (da, db))
    return _lambdify([a, b, lam, xis, gam], (da, db), "Per-mode gradient flow (R3): -grad l(a, b), xi = lam + eps.")


@functools.lru_cache(maxsize=None)
def mode_loss_function(modules="numpy"):
    """(a, b, lam, eps, gamma) -> the per-mode loss, generated from R2's statement (the summand of its sum)."""
    i = sp.Symbol("i")
    summand = get("mode_decoupling").statement.rhs.function.xreplace(
        {sp.Indexed("lambda", i): lam, sp.Indexed("a", i): a, sp.Indexed("b", i): b})
    fn = sp.lambdify([a, b, lam, eps, gam], summand, modules=modules, cse=True)
    fn.__doc__ = f"Per-mode loss (R2): {summand}.\n\nArguments, in order: a, b, lambda, epsilon, gamma."
    return fn


@functools.lru_cache(maxsize=None)
def mode_flow_function_mp():
    """(a, b, lam, eps, gamma) -> (da/dt, db/dt) at mpmath precision, from R3's statement."""
    stmt = get("gradient_flow").statement
    return sp.lambdify([a, b, lam, eps, gam], (stmt[0].rhs, stmt[1].rhs), modules="mpmath")


@functools.lru_cache(maxsize=None)
def mode_gd_map_function():
    """(a, b, lam, eps, gamma, eta) -> (a', b'), the exact per-mode GD map generated from R12."""
    fa, fb = discrete_map()
    return _lambdify([a, b, lam, eps, gam, eta], (fa, fb), "Exact per-mode GD map (R12).")


def sgd_step_moments_function(sampled: bool):
    """(u, lam, eps, gamma, eta, B, m4) -> (F(u)/u, Q(u)/u²), S2's one-step mean and variance of a mode under
    minibatch SGD with S1's moments of g (sampled or marginalised noise), divided by u and u² so that they stay
    finite for the smallest u."""
    from .sgd import batch, m4, mean_expr, mu_g, one_step_mean_expr, one_step_variance_expr, var_g, variance_expr
    stmt = get("sgd_moment_equations").statement
    moments = {mu_g: mean_expr(), var_g: variance_expr(sampled)}
    ratio_mean = (stmt[0].rhs / u).subs(moments)          # u·(...)/u cancels as it is built: no expansion
    ratio_var = (stmt[1].rhs / u ** 2).subs(moments)
    assert sp.expand(stmt[0].rhs - one_step_mean_expr()) == 0 and sp.expand(stmt[1].rhs - one_step_variance_expr()) == 0
    return _lambdify([u, lam, eps, gam, eta, batch, m4], (ratio_mean, ratio_var),
                     f"S2's F(u)/u and Q(u)/u² with S1's {'sampled' if sampled else 'marginalised'}-noise moments.")


@functools.lru_cache(maxsize=None)
def sgd_pair_block_function(sampled: bool):
    """S3 generated: returns ``(blocks, feedback)``.

    ``blocks(p_i, q_i, p_j, q_j, lam_i, lam_j, eps, gamma, eta, m_ij) -> (A, N, C)``, arrays (4, 4, P), (4, 3, P)
    and (3, 3, P) for P pairs (entry-first): the linear map, the noise loading and the per-sample covariance C of
    (P_ij, P_ji, R_ij) (sampled noise, or m_ij in every entry when the noise is marginalised); ``feedback(p_i, q_i,
    p_j, q_j, lam_i, lam_j, eps, gamma, eta, S_aa, S_ab, ..., S_dd) -> δw``, an array (4, P): the drift of
    (p_i, q_i, p_j, q_j) from the pair's covariance (its upper triangle, row by row)."""
    from .sgd_leakage import SIG, XI, lam_i, lam_j, m_ij, p_i, p_j, q_i, q_j
    stmt = get("pair_block").statement
    A, N, C, delta = (stmt[k].rhs.xreplace(XI) for k in (0, 1, 2, 4))
    if not sampled:
        C = sp.Matrix(3, 3, lambda r, s: m_ij)
    args = [p_i, q_i, p_j, q_j, lam_i, lam_j, eps, gam, eta, m_ij]
    sig = [SIG[(r, s)] for r in range(4) for s in range(r, 4)]
    fa = _lambdify(args, list(A) + list(N) + list(C), "S3's A, N and C, flattened.")
    fd = _lambdify(args[:9] + sig, list(delta), "S3's feedback δw.")

    def blocks(*v):
        """(A, N, C) laid out entry-first (structure of arrays: fast for many small blocks)."""
        out = _entries(fa(*v), v)
        return out[:16].reshape((4, 4) + out.shape[1:]), out[16:28].reshape((4, 3) + out.shape[1:]), \
            out[28:].reshape((3, 3) + out.shape[1:])

    def feedback(*v):
        return _entries(fd(*v), v)
    return blocks, feedback


def _entries(values, args):
    """Generated entries (arrays, or numbers where an entry is constant) stacked into one array (entries, *P) of the
    broadcast shape of the arguments ``args``."""
    import numpy as np
    out = np.empty((len(values),) + np.broadcast(*args).shape)
    for k, v in enumerate(values):
        out[k] = v
    return out


@functools.lru_cache(maxsize=None)
def sgd_pair_leakage_function(sampled: bool):
    """S3 generated for a pair whose second mode j has no hidden unit (j >= H, so :math:`p_j = q_j = 0`), which
    carries only (c, d): returns ``(blocks, feedback)``, the parts of :func:`sgd_pair_block_function` such a pair
    uses, with :math:`p_j = q_j = 0` and the covariance entries of a, b set to 0 before generating (10 of the 37
    entries of A, N, C, each shorter).

    ``blocks(p_i, q_i, lam_i, lam_j, eps, gamma, eta, m_ij) -> (A_cd, N_cd)``, arrays (2, 2, P) and (2, 3, P): rows
    (and columns of A) c, d of S3's A and N; ``feedback(p_i, q_i, lam_i, lam_j, eps, gamma, eta, S_cc, S_cd, S_dd)
    -> (δp_i, δq_i)``, an array (2, P) (δp_j, δq_j do not act: mode j has no diagonal weight)."""
    from .sgd_leakage import SIG, XI, lam_i, lam_j, m_ij, p_i, p_j, q_i, q_j
    stmt = get("pair_block").statement
    none = {p_j: 0, q_j: 0}
    A, N, delta = (stmt[k].rhs.xreplace(XI).xreplace(none) for k in (0, 1, 4))
    carried = [(2, 2), (2, 3), (3, 3)]
    delta = delta.xreplace({v: 0 for key, v in SIG.items() if key[0] <= key[1] and key not in carried})
    args = [p_i, q_i, lam_i, lam_j, eps, gam, eta, m_ij]
    fa = _lambdify(args, list(A[2:, 2:]) + list(N[2:, :]), "S3's A and N, rows c and d, for p_j = q_j = 0.")
    fd = _lambdify(args[:7] + [SIG[k] for k in carried], list(delta[:2]), "S3's δp_i, δq_i for p_j = q_j = 0.")

    def blocks(*v):
        out = _entries(fa(*v), v)
        return out[:4].reshape((2, 2) + out.shape[1:]), out[4:].reshape((2, 3) + out.shape[1:])

    def feedback(*v):
        return _entries(fd(*v), v)
    return blocks, feedback


@functools.lru_cache(maxsize=None)
def sgd_pair_block_polynomials(sampled: bool):
    r"""S3 at balanced weights (:math:`p_i = q_i = w_i`, :math:`p_j = q_j = w_j`, where the SGD closure evaluates it at
    every step), as sparse polynomials in :math:`(w_i, w_j)`: returns ``(exponents, blocks, feedback)``.

    ``exponents`` (M, 2) lists the monomials :math:`w_i^aw_j^b` that occur. Every entry e of A, N and C (flattened,
    as :func:`sgd_pair_block_function` lays them out) is :math:`\sum_k c_{ke}\,\mathrm{mono}_{t_{ke}}` over at most
    K terms: ``blocks = (t, coefficients)`` with t (K, 37) monomial indices and ``coefficients(lam_i, lam_j, eps,
    gamma, eta, m_ij)`` -> (K, 37, P) (zero where an entry has fewer terms). Each component r of δw is
    :math:`\sum_{s}\sum_k d_{krs}\,\mathrm{mono}_{t'_{krs}}\,\Sigma_s`, linear in Σ's upper triangle s (checked
    here): ``feedback = (t', feedback_coefficients)`` with t' (K', 4, 10) and ``feedback_coefficients(lam_i, lam_j,
    eps, gamma, eta)`` -> (K', 4, 10, P). Which terms exist is read from the symbolic coefficients, so it holds for
    every parameter value. The coefficients are fixed for a pair: a step costs a few products with the monomials
    instead of the whole generated expression."""
    import numpy as np
    from .sgd_leakage import SIG, XI, lam_i, lam_j, m_ij, p_i, p_j, q_i, q_j
    stmt = get("pair_block").statement
    A, N, C, delta = (stmt[k].rhs.xreplace(XI) for k in (0, 1, 2, 4))
    if not sampled:
        C = sp.Matrix(3, 3, lambda r, s: m_ij)
    wi, wj = sp.symbols("w_i w_j", positive=True)
    balanced = {p_i: wi, q_i: wi, p_j: wj, q_j: wj}
    sig = [SIG[(r, s)] for r in range(4) for s in range(r, 4)]

    def poly(e, *gens):
        return sp.Poly(sp.expand(e.xreplace(balanced)), wi, wj, *gens)
    polys = [poly(e) for e in list(A) + list(N) + list(C)]
    dpolys = [poly(e, *sig) for e in delta]
    if any(sum(m[2:]) != 1 for P in dpolys for m in P.monoms()):
        raise AssertionError("S3's feedback δw is no longer linear in Σ; sgd_pair_block_polynomials needs updating")
    exps = sorted(set().union(*(P.monoms() for P in polys), *({m[:2] for m in P.monoms()} for P in dpolys)))
    index = {m: k for k, m in enumerate(exps)}

    def sparse(term_lists, shape, args, doc):
        """Pad each entry's [(monomial, coefficient)] to K terms; (indices (K, *shape), coefficient function)."""
        K = max(1, max(len(t) for t in term_lists))
        padded = [t + [((0, 0), sp.Integer(0))] * (K - len(t)) for t in term_lists]
        idx = np.array([[index[t[k][0]] for t in padded] for k in range(K)], dtype=int).reshape((K,) + shape)
        fn = _lambdify(args, [t[k][1] for k in range(K) for t in padded], doc)

        def coefficients(*v):
            lead = np.broadcast(*v).shape
            out = np.empty((K * len(padded),) + lead)
            for k, c in enumerate(fn(*v)):
                out[k] = c
            return out.reshape((K,) + shape + lead)
        return idx, coefficients
    blocks = sparse([[(m, c) for m, c in zip(P.monoms(), P.coeffs())] for P in polys], (len(polys),),
                    [lam_i, lam_j, eps, gam, eta, m_ij], "S3's A, N and C at balanced weights: every term's coefficient.")
    feedback = sparse([[(m[:2], c) for m, c in zip(P.monoms(), P.coeffs()) if m[2 + k] == 1]
                       for P in dpolys for k in range(len(sig))], (len(dpolys), len(sig)),
                      [lam_i, lam_j, eps, gam, eta], "S3's δw at balanced weights: every term's coefficient.")
    return np.array(exps, dtype=int), blocks, feedback


def sgd_lr_bound_function(sampled: bool):
    """(lam, eps, gamma, B, m4) -> η_B, S4's learning-rate bound of each mode (sampled or marginalised noise)."""
    from .sgd import _Vsym, batch, m4
    stmt = get("learning_rate_bound").statement
    expr = stmt[3].rhs.subs(_Vsym, stmt[2 if sampled else 1].rhs)
    return _lambdify([lam, eps, gam, batch, m4], expr, f"S4's η_B with {'sampled' if sampled else 'marginalised'} noise.")
