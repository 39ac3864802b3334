"""D9: blow-up times of the saturation-free deep flow and the effective balanced starts they give."""
import mpmath
import numpy as np
import pytest

from lindae.dynamics import blowup_start, blowup_time, deep_effective_start
from lindae.dynamics.depth import deep_gd_modes


def _random_start(L, H, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    return (scale * rng.standard_normal(H), scale * rng.standard_normal((L - 2, H, H)), scale * rng.standard_normal(H))


def _mp_blowup(p, mids, q, sigma):
    """The state of x' = ∇s at σ by mpmath's Taylor-series ODE solver (25 digits), and s there."""
    H = len(p)
    with mpmath.workdps(25):
        def F(_s, y):
            P = mpmath.matrix(y[:H])
            Ms = [mpmath.matrix(H, H) for _ in mids]
            k = H
            for M in Ms:
                for i in range(H):
                    for j in range(H):
                        M[i, j] = y[k]
                        k += 1
            Q = mpmath.matrix(y[k:k + H])
            fwd = [P]
            for M in Ms:
                fwd.append(M * fwd[-1])
            back = [Q]
            for M in Ms[::-1]:
                back.append(M.T * back[-1])
            back = back[::-1]
            out = list(back[0])
            for l in range(len(Ms)):
                G = back[l + 1] * fwd[l].T
                out += [G[i, j] for i in range(H) for j in range(H)]
            return out + list(fwd[-1])
        y0 = [mpmath.mpf(float(v)) for v in np.concatenate([p, np.ravel(mids), q])]
        y = mpmath.odefun(F, 0, y0)(mpmath.mpf(sigma))
        P = mpmath.matrix(y[:H])
        Q = mpmath.matrix(y[-H:])
        chain = P
        k = H
        for _ in mids:
            M = mpmath.matrix(H, H)
            for i in range(H):
                for j in range(H):
                    M[i, j] = y[k]
                    k += 1
            chain = M * chain
        return (Q.T * chain)[0]


@pytest.mark.parametrize("L", [3, 4])
def test_blowup_time_of_a_balanced_rank_one_start_is_the_closed_form(L):
    rng = np.random.default_rng(L)
    H, a = 5, 0.37
    chain = [v / np.linalg.norm(v) for v in rng.standard_normal((L - 1, H))]       # hidden directions 1..L-1
    p, q = a * chain[0], a * chain[-1]
    mids = [a * np.outer(chain[k + 1], chain[k]) for k in range(L - 2)]
    assert blowup_time(p, mids, q) == pytest.approx(a ** (2 - L) / (L - 2), rel=1e-9)
    tau, dirs = blowup_time(p, mids, q, return_directions=True)
    for d, c in zip(dirs, chain):
        assert abs(abs(d @ c) - 1) < 1e-12


@pytest.mark.slow
@pytest.mark.parametrize("L,seed", [(3, 0), (3, 1), (4, 2)])
def test_blowup_time_against_mpmath_taylor_integration(L, seed):
    """Integrate x' = ∇s at 25 digits to 99.9 % of the blow-up and add the balanced remainder there."""
    p, mids, q = _random_start(L, 2, seed)
    tau = blowup_time(p, mids, q)
    sigma = tau * (1 - 1e-3)
    s = _mp_blowup(p, mids, q, sigma)
    reference = sigma + float(s) ** ((2 - L) / L) / (L - 2)
    assert tau == pytest.approx(reference, rel=1e-7)


@pytest.mark.parametrize("scale", [1e-150, 1e-3, 1e3])
def test_blowup_time_scales_as_c_to_the_two_minus_l_without_overflow(scale):
    for L in (3, 4):
        p, mids, q = _random_start(L, 4, 7)
        tau1 = blowup_time(p, mids, q)
        tau = blowup_time(scale * p, scale * mids, scale * q)
        assert np.isfinite(tau) and tau == pytest.approx(tau1 * scale ** (2 - L), rel=1e-9)


def test_blowup_start_inverts_the_balanced_blowup_time():
    tau = np.array([1e-3, 1.0, 1e200])
    np.testing.assert_allclose(blowup_start(tau, depth=3), 1 / tau, rtol=1e-15)
    np.testing.assert_allclose(blowup_start(tau, depth=4) ** -2 / 2, tau, rtol=1e-13)


@pytest.mark.slow
def test_an_isolated_mode_follows_d4_from_its_effective_start():
    """One mode with one hidden direction per layer of room: the exact per-mode GD of the whole matrix flow
    (H = 3, one nonzero eigenvalue, ε = 0) reaches u*/2 when the balanced map from a_eff does."""
    L, H, lam, lr = 3, 3, 1.0, 0.01
    p, mids, q = _random_start(L, H, 5, scale=1e-3)
    a = deep_effective_start(np.array([lam]), p[:, None], mids, q[:, None])
    _, theory = deep_gd_modes(200000, lam, layers=a, lr=lr, record_every=1)
    # the full flow of this one mode (D = 1), by GD on the matrix weights
    P, M, Q = p.copy(), mids[0].copy(), q.copy()
    s_hist = []
    for _ in range(200001):
        s = Q @ M @ P
        s_hist.append(s)
        if s > 0.9:
            break
        g = lam - lam * s
        P, M, Q = P + lr * g * (M.T @ Q), M + lr * g * np.outer(Q, P), Q + lr * g * (M @ P)
    k_actual = int(np.argmax(np.array(s_hist) >= 0.5))
    k_theory = int(np.argmax(theory[:, 0] >= 0.5))
    assert k_actual > 1000 and abs(k_actual - k_theory) <= 0.002 * k_actual + 2


@pytest.mark.parametrize("L", [3, 4])
def test_the_joint_flow_of_one_mode_is_d9_and_scales_with_the_start(L):
    p, mids, q = _random_start(L, 4, 11, scale=0.02)
    lam = np.array([1.7])
    joint = deep_effective_start(lam, p[:, None], mids, q[:, None])
    assert joint[0, 0] == pytest.approx(float(blowup_start(blowup_time(p, mids, q), depth=L)), rel=1e-5)
    for method in ("joint", "projected", "independent"):
        small = deep_effective_start(lam, 1e-100 * p[:, None], 1e-100 * mids, 1e-100 * q[:, None], method=method)
        base = deep_effective_start(lam, p[:, None], mids, q[:, None], method=method)
        assert small[0, 0] == pytest.approx(1e-100 * base[0, 0], rel=1e-7)


def test_one_hidden_unit_leaves_room_for_one_mode_only():
    rng = np.random.default_rng(0)
    lam = np.array([3.0, 2.0, 1.0])
    P, Q, mids = 1e-2 * rng.standard_normal((1, 3)), 1e-2 * rng.standard_normal((1, 3)), 1e-2 * rng.standard_normal((1, 1, 1))
    for method in ("joint", "projected"):
        a = deep_effective_start(lam, P, mids, Q, method=method)
        assert a.shape == (3, 3) and np.count_nonzero(a[0]) == 1
    free = deep_effective_start(lam, P, mids, Q, method="independent")
    assert np.count_nonzero(free[0]) == 3


def test_bad_arguments_are_clear_errors():
    p, mids, q = _random_start(3, 3, 0)
    with pytest.raises(ValueError, match="depth >= 3"):
        blowup_start(1.0, depth=2)
    with pytest.raises(ValueError, match="at least one layer"):
        blowup_time(p, [], q)
    with pytest.raises(ValueError, match="first and last"):
        deep_effective_start([1.0, 2.0], np.ones((3, 2)), mids, np.ones((3, 1)))
    with pytest.raises(ValueError, match="method"):
        deep_effective_start([1.0], np.ones((3, 1)), mids, np.ones((3, 1)), method="greedy")
    with pytest.raises(ValueError, match="middle"):
        deep_effective_start([1.0], np.ones((3, 1)), np.ones((3, 2)), np.ones((3, 1)))
    assert blowup_time(np.zeros(3), mids, q) == np.inf
