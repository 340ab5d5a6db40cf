"""MOBIL: exact decision values, and overtaking on a tiny 1D multi-lane road harness."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from agents.idm import idm_acceleration
from agents.mobil import LEFT, NO_CHANGE, RIGHT, MobilResult, choose_side, mobil_decision

CAR_LEN_M = 4.5
PHYSICS_DT_S = 0.01
DECIDE_EVERY = 5  # 20 Hz decisions over 100 Hz physics
B_SAFE = 4.0
COOLDOWN_S = 3.0


# ------------------------------------------------------------------ 1D multi-lane harness
@dataclass
class Road:
    """Point-mass cars on parallel straight lanes; lane 0 is the rightmost.

    ``x`` is the front-bumper position [m]; a car's leader is the nearest car ahead in its
    lane. Lane changes are instantaneous. IDM for speed, MOBIL for lanes, both vectorised.
    """

    x: np.ndarray
    lane: np.ndarray
    v: np.ndarray
    v0: np.ndarray
    n_lanes: int = 2
    politeness: float | np.ndarray = 0.3
    threshold: float | np.ndarray = 0.2
    keep_right_bias: float | np.ndarray = 0.0
    T: float = 1.5
    s0: float = 2.0
    a_max: float = 1.5
    b: float = 2.0
    t_s: float = 0.0
    cooldown_until: np.ndarray = field(default=None)  # type: ignore[assignment]
    lane_history: list[np.ndarray] = field(default_factory=list)
    min_gap_seen: float = np.inf

    def __post_init__(self) -> None:
        for name in ("x", "v", "v0"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=float))
        self.lane = np.asarray(self.lane, dtype=int)
        self.cooldown_until = np.full(len(self.x), -np.inf)
        self.acc = np.zeros(len(self.x))

    def neighbours(self, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per car, the nearest car ahead and behind in lane ``target[i]`` (-1: none)."""
        n = len(self.x)
        same = self.lane[None, :] == target[:, None]
        same[np.arange(n), np.arange(n)] = False
        dx = self.x[None, :] - self.x[:, None]
        ahead = np.where(same & (dx >= 0), dx, np.inf)
        behind = np.where(same & (dx < 0), -dx, np.inf)
        lead, foll = ahead.argmin(1), behind.argmin(1)
        lead[np.isinf(ahead.min(1))] = -1
        foll[np.isinf(behind.min(1))] = -1
        return lead, foll

    def idm(self, car: np.ndarray, leader: np.ndarray) -> np.ndarray:
        """IDM acceleration of ``car`` behind ``leader`` (-1: free road); 0 where car is -1."""
        c, ld = np.maximum(car, 0), np.maximum(leader, 0)
        gap = np.where(leader >= 0, self.x[ld] - CAR_LEN_M - self.x[c], np.inf)
        dv = np.where(leader >= 0, self.v[c] - self.v[ld], 0.0)
        a = idm_acceleration(self.v[c], self.v0[c], gap, dv, self.T, self.s0, self.a_max, self.b)
        return np.where(car >= 0, a, 0.0)

    def mobil(self) -> tuple[MobilResult, np.ndarray]:
        """MOBIL inputs for both sides of every car, and the decision."""
        n = len(self.x)
        me = np.arange(n)
        lead, foll = self.neighbours(self.lane)
        a_c = self.idm(me, lead)
        a_o = self.idm(foll, me)
        a_o_new = self.idm(foll, lead)
        cols = {k: np.zeros((n, 2)) for k in ("a_c_new", "a_n", "a_n_new")}
        available = np.zeros((n, 2), dtype=bool)
        for side, step in ((LEFT, +1), (RIGHT, -1)):
            target = self.lane + step
            available[:, side] = (target >= 0) & (target < self.n_lanes)
            new_lead, new_foll = self.neighbours(np.clip(target, 0, self.n_lanes - 1))
            cols["a_c_new"][:, side] = self.idm(me, new_lead)
            cols["a_n"][:, side] = self.idm(new_foll, new_lead)
            cols["a_n_new"][:, side] = self.idm(new_foll, me)
        available &= (self.t_s >= self.cooldown_until)[:, None]
        res = mobil_decision(a_c[:, None], cols["a_c_new"], cols["a_n"], cols["a_n_new"],
                             a_o[:, None], a_o_new[:, None], self.politeness, self.threshold,
                             B_SAFE, self.keep_right_bias, available)
        return res, a_c

    def run(self, t_end_s: float) -> None:
        for k in range(int(round(t_end_s / PHYSICS_DT_S))):
            if k % DECIDE_EVERY == 0:
                res, self.acc = self.mobil()
                side = choose_side(res)
                moved = side != NO_CHANGE
                self.lane = self.lane + np.where(side == LEFT, 1, np.where(side == RIGHT, -1, 0))
                self.cooldown_until[moved] = self.t_s + COOLDOWN_S
                self.lane_history.append(self.lane.copy())
            v_new = self.v + self.acc * PHYSICS_DT_S
            stops = v_new < 0.0
            dx = np.where(stops, self.v**2 / (2 * np.maximum(-self.acc, 1e-12)),
                          0.5 * (self.v + v_new) * PHYSICS_DT_S)
            self.x, self.v = self.x + dx, np.maximum(v_new, 0.0)
            self.t_s += PHYSICS_DT_S
            lead, _ = self.neighbours(self.lane)
            has = lead >= 0
            if has.any():
                gaps = self.x[lead[has]] - CAR_LEN_M - self.x[has]
                self.min_gap_seen = min(self.min_gap_seen, float(gaps.min()))


# ------------------------------------------------------------------ exact decision values
def test_incentive_formula_and_keep_right_bias() -> None:
    a_c = np.array([[0.1, 0.1]])
    a_c_new = np.array([[0.9, 0.4]])
    a_n, a_n_new = np.array([[0.5, 0.2]]), np.array([[0.3, 0.2]])
    a_o, a_o_new = np.array([[-0.2, -0.2]]), np.array([[0.0, 0.0]])
    res = mobil_decision(a_c, a_c_new, a_n, a_n_new, a_o, a_o_new, politeness=0.5,
                         threshold=0.2, b_safe=B_SAFE, keep_right_bias=0.15)
    own = a_c_new - a_c
    others = (a_n_new - a_n) + (a_o_new - a_o)
    expected = own + 0.5 * others + np.array([[-0.15, 0.15]])
    np.testing.assert_allclose(res.incentive, expected, rtol=1e-15)
    np.testing.assert_array_equal(res.change, expected > 0.2)
    assert res.incentive.shape == res.is_safe.shape == res.change.shape == (1, 2)


def test_unsafe_change_rejected_at_exactly_b_safe() -> None:
    big_gain = np.array([[5.0, 5.0]])
    a_n_new = np.array([[-B_SAFE, -B_SAFE - 1e-9]])
    res = mobil_decision(0.0, big_gain, 0.0, a_n_new, 0.0, 0.0, politeness=0.0,
                         threshold=0.1, b_safe=B_SAFE)
    np.testing.assert_array_equal(res.is_safe, [[True, False]])
    np.testing.assert_array_equal(res.change, [[True, False]])


def test_polite_driver_does_not_trade_others_loss_for_own_gain() -> None:
    # Own gain 1.0; new follower loses 0.8, old follower loses 0.5: net -0.3 for p = 1.
    args = dict(a_c=0.0, a_c_new=np.array([[1.0, 1.0]]), a_n=0.0,
                a_n_new=np.array([[-0.8, -0.8]]), a_o=0.0, a_o_new=-0.5, threshold=0.2,
                b_safe=B_SAFE)
    polite = mobil_decision(politeness=1.0, **args)
    selfish = mobil_decision(politeness=0.0, **args)
    np.testing.assert_allclose(polite.incentive, -0.3, rtol=1e-12)
    assert not polite.change.any() and polite.is_safe.all()
    np.testing.assert_allclose(selfish.incentive, 1.0)
    assert selfish.change.all()


def test_per_driver_parameters_and_availability() -> None:
    n = 3
    gain = np.full((n, 2), 0.5)
    res = mobil_decision(np.zeros((n, 1)), gain, np.zeros((n, 2)), np.zeros((n, 2)),
                         np.zeros((n, 1)), np.zeros((n, 1)), politeness=np.zeros(n),
                         threshold=np.array([0.1, 0.6, 0.1]), b_safe=np.full(n, B_SAFE),
                         available=np.array([[True, True], [True, True], [False, True]]))
    np.testing.assert_array_equal(res.change, [[True, True], [False, False], [False, True]])
    np.testing.assert_array_equal(choose_side(res), [LEFT, NO_CHANGE, RIGHT])


def test_choose_side_takes_larger_incentive() -> None:
    res = mobil_decision(0.0, np.array([[0.5, 0.9], [0.9, 0.5]]), 0.0, 0.0, 0.0, 0.0,
                         politeness=0.0, threshold=0.1, b_safe=B_SAFE)
    np.testing.assert_array_equal(choose_side(res), [RIGHT, LEFT])


# ------------------------------------------------------------------ on the road
@pytest.mark.parametrize("bias", [0.0, 0.3])
def test_fast_car_overtakes_slow_car(bias: float) -> None:
    # Car 0 (v0 = 15) ahead of car 1 (v0 = 30), both in the right lane.
    # The slow car is selfish (p = 0), so it does not move aside to let the fast one by.
    road = Road(x=[100.0, 40.0], lane=[0, 0], v=[15.0, 25.0], v0=[15.0, 30.0],
                politeness=np.array([0.0, 0.3]), keep_right_bias=bias)
    road.run(60.0)
    lanes = np.array(road.lane_history)
    assert (lanes[:, 1] == 1).any(), "the fast car never pulled out"
    assert (lanes[:, 0] == 0).all(), "the slow car has no reason to move"
    assert road.x[1] - CAR_LEN_M > road.x[0], "the fast car did not get ahead"
    assert road.v[1] == pytest.approx(30.0, rel=0.01)
    assert road.min_gap_seen > 0.0
    # Keep-right: with a bias it returns to the right lane once ahead; without, it stays.
    assert road.lane[1] == (0 if bias > 0 else 1)


def test_change_that_forces_new_follower_to_brake_hard_is_rejected() -> None:
    # Car 2 wants to pass slow car 0, but car 1 comes fast in the left lane just behind it.
    road = Road(x=[125.0, 90.0, 100.0], lane=[0, 1, 0], v=[15.0, 30.0, 20.0],
                v0=[15.0, 30.0, 30.0], politeness=0.0)
    res, _ = road.mobil()
    assert res.incentive[2, LEFT] > 0.2  # worth it for car 2 alone ...
    a_n_new = road.idm(np.array([1]), np.array([2]))[0]
    assert a_n_new < -B_SAFE  # ... but car 1 would have to brake harder than b_safe
    assert not res.is_safe[2, LEFT] and not res.change[2, LEFT]
    # Without car 1 the same change is made.
    alone = Road(x=[125.0, 100.0], lane=[0, 0], v=[15.0, 20.0], v0=[15.0, 30.0],
                 politeness=0.0)
    assert alone.mobil()[0].change[1, LEFT]


def test_polite_driver_stays_when_others_lose_more_on_the_road() -> None:
    # Car 2 is held up by car 0; the left-lane gap lies in front of car 1, which the change
    # would slow down (safely) by more than car 2 would gain.
    def road(p: float, x_slow: float = 150.0, x_left: float = 60.0) -> Road:
        return Road(x=[x_slow, x_left, 100.0], lane=[0, 1, 0], v=[18.0, 20.0, 19.0],
                    v0=[18.0, 30.0, 30.0], politeness=p)

    def gain_and_loss(r: Road) -> tuple[float, float]:
        one, two, free = np.array([1]), np.array([2]), np.array([-1])
        own_gain = (r.idm(two, free) - r.idm(two, np.array([0])))[0]
        follower_loss = (r.idm(one, free) - r.idm(one, two))[0]
        return float(own_gain), float(follower_loss)

    gain, loss = gain_and_loss(road(1.0))
    assert 0.2 < gain < loss
    res = road(1.0).mobil()[0]
    assert res.is_safe[2, LEFT] and not res.change[2, LEFT]
    assert res.incentive[2, LEFT] == pytest.approx(gain - loss, rel=1e-12)
    assert road(0.0).mobil()[0].change[2, LEFT]  # a selfish driver goes
    # The polite driver does go when its gain outweighs the follower's loss.
    gain, loss = gain_and_loss(road(1.0, x_slow=140.0, x_left=50.0))
    assert gain > loss + 0.2
    assert road(1.0, x_slow=140.0, x_left=50.0).mobil()[0].change[2, LEFT]
