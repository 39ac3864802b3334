"""R1 (noise marginalisation) and R2 (decoupling into modes) from the matrix loss."""
from __future__ import annotations

import itertools
import random

import mpmath
import sympy as sp

from .result import Result, Step, random_mpf, relative
from .symbols import eps, gam, mode_loss, sigma

#: Sizes of the symbolic network used for R1: data dimension and hidden width.
R1_D, R1_H = 3, 2


def _matrix(name, rows, cols):
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i + 1}{j + 1}", real=True))


def gaussian_expectation(expr, noise, var):
    """E[expr] for independent n_i ~ N(0, var), by the Gaussian moment rule.

    Each monomial prod n_i^{k_i} has expectation prod (k_i - 1)!! var^{k_i/2} for
    even k_i and 0 otherwise.
    """
    poly = sp.Poly(sp.expand(expr), *noise)
    total = 0
    for powers, coeff in poly.terms():
        moment = 1
        for k in powers:
            moment *= 0 if k % 2 else sp.factorial2(k - 1) * var ** sp.Rational(k, 2)
        total += coeff * moment
    return sp.expand(total)


def _r1_parts():
    D, H = R1_D, R1_H
    W1, W2 = _matrix("V", H, D), _matrix("U", D, H)
    x = sp.Matrix(D, 1, lambda i, _: sp.Symbol(f"x_{i + 1}", real=True))
    n = sp.Matrix(D, 1, lambda i, _: sp.Symbol(f"n_{i + 1}", real=True))
    W = W2 * W1
    residual_vec = x - W * (x + n)
    per_sample = sp.Rational(1, 2) * (residual_vec.T * residual_vec)[0, 0]
    return W1, W2, W, x, n, per_sample


def noise_marginalisation() -> Result:
    r"""R1: the expected per-sample DAE loss equals the penalised clean loss.

    .. math:: \tfrac12\,\mathbb E_n\|x - W(x+n)\|^2 = \tfrac12\operatorname{tr}[(I-W)xx^\top(I-W)^\top]
              + \tfrac{\sigma^2}{2}\|W\|_F^2

    Averaging over samples replaces :math:`xx^\top` by :math:`\Sigma` (linearity).
    Derived on a network with D = 3, H = 2 and symbolic entries.
    """
    W1, W2, W, x, n, per_sample = _r1_parts()
    expected = gaussian_expectation(per_sample, list(n), sigma ** 2)
    I = sp.eye(R1_D)
    Sigma = x * x.T
    Sym = sp.MatrixSymbol("Sigma", 3, 3)
    Wsym, Isym = sp.MatrixSymbol("W", 3, 3), sp.Identity(3)
    statement = sp.Eq(sp.Symbol(r"\mathbb{E}_n L"),
                      sp.Rational(1, 2) * sp.Trace((Isym - Wsym) * Sym * (Isym - Wsym).T)
                      + sigma ** 2 / 2 * sp.Trace(Wsym * Wsym.T)
                      + gam / 2 * (sp.Trace(sp.MatrixSymbol("W_1", R1_H, R1_D) * sp.MatrixSymbol("W_1", R1_H, R1_D).T)
                                   + sp.Trace(sp.MatrixSymbol("W_2", R1_D, R1_H).T * sp.MatrixSymbol("W_2", R1_D, R1_H))))

    W1sym, W2sym = sp.MatrixSymbol("W_1", R1_H, R1_D), sp.MatrixSymbol("W_2", R1_D, R1_H)

    def concrete(stmt):
        """The statement's right-hand side on the concrete network (W = W_2 W_1, Σ = x xᵀ)."""
        return sp.expand(stmt.rhs.subs({Sym: Sigma, Wsym: W, Isym: I, W1sym: W1, W2sym: W2}).doit())

    # Independent of the statement: the expectation of the per-sample loss plus weight decay written
    # entry by entry, the sum of the squared entries of both weight matrices.
    decay = gam / 2 * sum(v ** 2 for v in list(W1) + list(W2))

    steps = (
        Step("Per-sample DAE loss with x̃ = x + n, n ~ N(0, σ² I), on a D = 3, H = 2 network with "
             "symbolic weights:", sp.Eq(sp.Symbol("L_n"), sp.Symbol(r"\tfrac12\|x - W_2W_1(x+n)\|^2"))),
        Step("Expand in n and replace each monomial by its Gaussian moment "
             "(E n_i = 0, E n_i n_j = σ² δ_ij, odd moments vanish). The terms linear in n drop out; "
             "the quadratic ones give σ² tr(WᵀW)."),
        Step("The result is linear in x xᵀ, so the sample mean replaces x xᵀ by Σ; "
             "the weight-decay term does not involve the noise and is added unchanged:", statement),
    )

    def numeric(stmt, rng: random.Random):
        # Independent method: two-point Gauss-Hermite rule per noise coordinate (nodes ±σ,
        # weights 1/2), which is exact for polynomials of degree <= 3 in each n_i.
        syms = list(W1) + list(W2) + list(x)
        vals = {s: random_mpf(rng, -2, 2) for s in syms}
        sig, g = random_mpf(rng, 0.1, 2), random_mpf(rng, 0.1, 2)
        f_loss = sp.lambdify(syms + list(n), per_sample, "mpmath")
        gh = mpmath.mpf(0)
        for signs in itertools.product((-1, 1), repeat=R1_D):
            gh += f_loss(*[vals[s] for s in syms], *[sg * sig for sg in signs])
        gh = gh / 2 ** R1_D + g / 2 * mpmath.fsum(vals[s] ** 2 for s in list(W1) + list(W2))
        f_stmt = sp.lambdify(syms + [sigma, gam], concrete(stmt), "mpmath")
        return [relative(gh, f_stmt(*[vals[s] for s in syms], sig, g))]

    return Result(
        name="noise_marginalisation", number="R1",
        title="Marginalising isotropic Gaussian input noise",
        statement=statement,
        assumptions="n ~ N(0, σ² I) independent of x; ε = σ²; per-sample mean loss",
        steps=steps,
        symbolic_checks=(("E_n of the expanded loss plus weight decay equals the statement (D=3, H=2)",
                          lambda stmt: expected + decay - concrete(stmt)),),
        numeric_check=numeric,
        citation="Pretorius et al. (2018), Eq. (2)",
    )


# ---------------------------------------------------------------------------------------
# R2: decoupling


def cayley(params, size):
    """A rational orthogonal matrix (I - S)(I + S)^{-1} from a skew matrix S built on params."""
    S = sp.zeros(size, size)
    k = 0
    for i in range(size):
        for j in range(i + 1, size):
            S[i, j], S[j, i] = params[k], -params[k]
            k += 1
    I = sp.eye(size)
    return (I - S) * (I + S).inv()


def matrix_loss(W1, W2, Sigma, eps_, gam_):
    """R1's marginalised loss, evaluated on explicit matrices."""
    D = Sigma.shape[0]
    W = W2 * W1
    E = sp.eye(D) - W
    return (sp.Rational(1, 2) * (E * Sigma * E.T).trace() + eps_ / 2 * (W * W.T).trace()
            + gam_ / 2 * ((W1 * W1.T).trace() + (W2.T * W2).trace()))


def mode_decoupling() -> Result:
    r"""R2: under aligned initialisation the loss is a sum of per-mode losses.

    With :math:`\Sigma = V\Lambda V^\top`, :math:`W_1 = RAV^\top`, :math:`W_2 = VBR^\top`,

    .. math:: L = \sum_i \tfrac{\lambda_i}{2}(1 - a_ib_i)^2 + \tfrac{\varepsilon}{2}(a_ib_i)^2
              + \tfrac{\gamma}{2}(a_i^2 + b_i^2)

    Checked on D = 3, H = 2 with exact rational orthogonal V and R (Cayley transforms),
    symbolic a_i, b_i, lambda_i; mode 3 is not learned (a_3 = b_3 = 0).
    """
    D, H = 3, 2
    lams = sp.symbols("lambda_1:4", nonnegative=True)
    As, Bs = sp.symbols("a_1:3", real=True), sp.symbols("b_1:3", real=True)
    statement = sp.Eq(sp.Symbol("L"), sp.Sum(mode_loss(sp.Indexed("lambda", sp.Symbol("i")), eps, gam,
                                                         sp.Indexed("a", sp.Symbol("i")),
                                                         sp.Indexed("b", sp.Symbol("i"))),
                                               (sp.Symbol("i"), 1, sp.Symbol("D"))))

    def per_mode_sum(stmt):
        """The statement's sum expanded term by term for D = 3 (modes beyond H have a = b = 0)."""
        i, lo, hi = stmt.rhs.limits[0]
        lo, hi = (sp.sympify(x).subs(sp.Symbol("D"), D) for x in (lo, hi))
        total = 0
        for k in range(int(lo), int(hi) + 1):
            index = k - 1
            sub = {sp.Indexed("a", i): As[index] if index < H else 0, sp.Indexed("b", i): Bs[index] if index < H else 0,
                   sp.Indexed("lambda", i): lams[index] if index < D else sp.Symbol(f"lambda_{k}")}
            total += stmt.rhs.function.xreplace(sub)
        return total

    def rectangular_diagonals(a_vals, b_vals):
        A, B = sp.zeros(H, D), sp.zeros(D, H)
        for k in range(H):
            A[k, k], B[k, k] = a_vals[k], b_vals[k]
        return A, B

    def aligned_loss(V, R, lam_vals=lams, a_vals=As, b_vals=Bs, e=eps, g=gam):
        A, B = rectangular_diagonals(a_vals, b_vals)
        Sigma = V * sp.diag(*lam_vals) * V.T
        return matrix_loss(R * A * V.T, V * B * R.T, Sigma, e, g)

    V = cayley([sp.Rational(1, 3), sp.Rational(-2, 5), sp.Rational(3, 7)], D)
    R = cayley([sp.Rational(5, 11)], H)

    def gradient_stays_aligned(_stmt):
        # dL/dW1 at an aligned point must equal R (dL/dA) V^T: GD and the flow keep the form.
        W1s = sp.Matrix(H, D, lambda i, j: sp.Symbol(f"p_{i}{j}"))
        W2s = sp.Matrix(D, H, lambda i, j: sp.Symbol(f"q_{i}{j}"))
        Sigma = V * sp.diag(*lams) * V.T
        L = matrix_loss(W1s, W2s, Sigma, eps, gam)
        A, B = rectangular_diagonals(As, Bs)
        at = dict(zip(list(W1s) + list(W2s), list(R * A * V.T) + list(V * B * R.T)))
        grad1 = sp.Matrix(H, D, lambda i, j: sp.diff(L, W1s[i, j])).xreplace(at)
        ell = sum(mode_loss(lams[k], eps, gam, As[k], Bs[k]) for k in range(H))
        dA = sp.zeros(H, D)
        for k in range(H):
            dA[k, k] = sp.diff(ell, As[k])
        return sp.expand(grad1 - R * dA * V.T)

    steps = (
        Step("Eigen-decompose Σ = VΛVᵀ and take aligned weights W₁ = RAVᵀ, W₂ = VBRᵀ with R orthogonal, "
             "A, B rectangular-diagonal; then W = V(BA)Vᵀ and the rotation R cancels."),
        Step("Substitute into R1. Each trace is invariant under V, so every term is diagonal in the "
             "eigenbasis and splits over modes:", statement),
        Step("The gradient with respect to W₁ at an aligned point is R(∂ℓ/∂A)Vᵀ, again aligned, "
             "so gradient flow and gradient descent keep the aligned form."),
    )

    def numeric(stmt, rng: random.Random):
        # Random orthogonal V, R from the mpmath QR factorisation of random matrices.
        def rand_orth(n):
            M = mpmath.matrix([[random_mpf(rng, -1, 1) for _ in range(n)] for _ in range(n)])
            Q, _ = mpmath.qr(M)
            return sp.Matrix(n, n, lambda i, j: sp.Float(str(Q[i, j]), 60))
        lv = [sp.Float(str(random_mpf(rng, 0, 3)), 60) for _ in range(D)]
        av = [sp.Float(str(random_mpf(rng, -2, 2)), 60) for _ in range(H)]
        bv = [sp.Float(str(random_mpf(rng, -2, 2)), 60) for _ in range(H)]
        e, g = (sp.Float(str(random_mpf(rng, 0, 2)), 60) for _ in range(2))
        full = aligned_loss(rand_orth(D), rand_orth(H), lv, av, bv, e, g)
        modes = per_mode_sum(stmt).xreplace({**dict(zip(lams, lv)), **dict(zip(As, av)),
                                            **dict(zip(Bs, bv)), eps: e, gam: g})
        return [relative(sp.N(full, 55), sp.N(modes, 55))]

    return Result(
        name="mode_decoupling", number="R2",
        title="Decoupling into independent modes",
        statement=statement,
        assumptions="Σ = VΛVᵀ; aligned initialisation W₁ = RAVᵀ, W₂ = VBRᵀ; unlearned modes have a = b = 0",
        steps=steps,
        symbolic_checks=(
            ("aligned matrix loss minus per-mode sum (exact rational V, R)",
             lambda stmt: sp.expand(aligned_loss(V, R) - per_mode_sum(stmt))),
        ),
        lemmas=(("gradient at an aligned point is aligned", lambda: gradient_stays_aligned(None)),),
        numeric_check=numeric,
        citation="Pretorius et al. (2018), Sec. 2; Saxe et al. (2014)",
    )
