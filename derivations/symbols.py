"""The SymPy symbols shared by every derivation (docs/theory.md, sections 1 and 2).

One symbol per quantity, with the sign assumptions the theory makes. Using the same
objects everywhere lets results be substituted into one another.
"""
import sympy as sp

#: Eigenvalue of the second-moment matrix along one mode, lambda >= 0.
lam = sp.Symbol("lambda", nonnegative=True)
#: Input-noise variance, eps = sigma^2 >= 0.
eps = sp.Symbol("epsilon", nonnegative=True)
#: Weight-decay coefficient, gamma >= 0.
gam = sp.Symbol("gamma", nonnegative=True)
#: Learning rate eta > 0.
eta = sp.Symbol("eta", positive=True)
#: Continuous time t = eta * k.
t = sp.Symbol("t", nonnegative=True)
#: Per-mode weights (first and second layer) and their initial values.
a, b = sp.symbols("a b", real=True)
a0, b0 = sp.symbols("a_0 b_0", real=True)
#: Mode strength u = a b, its initial and target values.
u = sp.Symbol("u", real=True)
u0 = sp.Symbol("u_0", positive=True)
u1 = sp.Symbol("u_1", positive=True)
#: Balance c = b^2 - a^2 (conserved when gamma = 0).
c = sp.Symbol("c", real=True)
c0 = sp.Symbol("c_0", real=True)
#: Fraction of the fixed point reached, 0 < f < 1.
f = sp.Symbol("f", positive=True)
#: A point on the balanced path a = b = w.
w = sp.Symbol("w", real=True)
#: Noise standard deviation (sigma^2 = eps).
sigma = sp.Symbol("sigma", positive=True)

#: xi = lambda + eps, the effective curvature of the data term.
xi = lam + eps
#: kappa = lambda - gamma, the balanced growth rate.
kappa = lam - gam


def mode_loss(lam_=lam, eps_=eps, gam_=gam, a_=a, b_=b):
    r"""Per-mode loss (R2).

    .. math:: \ell(a, b) = \tfrac{\lambda}{2}(1 - ab)^2 + \tfrac{\varepsilon}{2}(ab)^2
              + \tfrac{\gamma}{2}(a^2 + b^2)
    """
    return (lam_ / 2 * (1 - a_ * b_) ** 2 + eps_ / 2 * (a_ * b_) ** 2
            + gam_ / 2 * (a_ ** 2 + b_ ** 2))
