"""The release ladder as pure functions on arrays: no OpenMM, no structure."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.refine.ladder import RELEASE_STEPS, LadderStep, RoundRecord, keep_best, release_ladder, step_down


def _no_neighbours(residues: np.ndarray) -> np.ndarray:
    raise AssertionError("neighbours asked for although a violating residue could still step down")


def _chain_neighbours(n: int):
    """Residues i-1, i, i+1 of a chain of n: a stand-in for the 6 Å search."""

    def near(residues: np.ndarray) -> np.ndarray:
        hits = {j for r in residues.tolist() for j in (r - 1, r, r + 1) if 0 <= j < n}
        return np.asarray(sorted(hits), np.int64)

    return near


def _run(factor, violating, neighbours=_no_neighbours, round_=1, max_rounds=8) -> LadderStep:
    return release_ladder(np.asarray(factor, float), np.asarray(violating, np.int64), neighbours,
                          round_=round_, max_rounds=max_rounds)


def test_violating_residues_step_down_one_rung_per_round():
    step = _run([1.0, 1.0, 1.0, 1.0], [1, 2])
    assert step.factor.tolist() == [1.0, 0.1, 0.1, 1.0]
    assert step.changed.tolist() == [1, 2] and not step.done and not step.exhausted
    step = _run(step.factor, [1], round_=2)
    assert step.factor.tolist() == [1.0, 0.0, 0.1, 1.0]
    assert step.changed.tolist() == [1]


def test_the_input_factors_are_not_modified():
    factor = np.ones(3)
    _run(factor, [0, 2])
    assert factor.tolist() == [1.0, 1.0, 1.0]


def test_released_residues_stay_released():
    factor, changed = step_down(np.array([0.0, 0.1, 1.0]), np.array([0, 1, 2]))
    assert factor.tolist() == [0.0, 0.0, 0.1]
    assert changed.tolist() == [1, 2]
    factor, changed = step_down(factor, np.array([0, 1]))
    assert factor.tolist() == [0.0, 0.0, 0.1] and changed.size == 0


def test_factors_only_take_the_ladder_values():
    factor = np.ones(5)
    for round_ in range(1, 6):
        factor = _run(factor, [0, 1, 2, 3, 4], _chain_neighbours(5), round_=round_, max_rounds=10).factor
        assert set(factor.tolist()) <= set(RELEASE_STEPS)
    assert factor.tolist() == [0.0] * 5


def test_neighbours_step_down_when_the_violating_residues_are_free():
    step = _run([1.0, 0.0, 1.0, 1.0, 0.1], [1], _chain_neighbours(5))
    assert step.changed.tolist() == [0, 2]  # residue 1 itself is free already
    assert step.factor.tolist() == [0.1, 0.0, 0.1, 1.0, 0.1]


def test_neighbours_are_not_touched_while_a_violating_residue_can_step_down():
    step = _run([1.0, 0.0, 0.1, 1.0], [1, 2], _no_neighbours)
    assert step.changed.tolist() == [2]
    assert step.factor.tolist() == [1.0, 0.0, 0.0, 1.0]


def test_exhausted_when_nothing_is_left_to_release():
    step = _run([0.0, 0.0, 0.0], [1], _chain_neighbours(3))
    assert step.exhausted and not step.done
    assert step.changed.size == 0 and step.factor.tolist() == [0.0, 0.0, 0.0]


def test_done_when_nothing_violates():
    step = _run([1.0, 0.1], [], _no_neighbours)
    assert step.done and not step.exhausted
    assert step.factor.tolist() == [1.0, 0.1] and step.changed.size == 0


@pytest.mark.parametrize(("round_", "done"), [(3, False), (4, True), (5, True)])
def test_done_at_max_rounds(round_: int, done: bool):
    step = _run([1.0, 1.0], [0], _no_neighbours, round_=round_, max_rounds=4)
    assert step.done is done
    assert step.factor.tolist() == ([1.0, 1.0] if done else [0.1, 1.0])


# -- keep the best round ---------------------------------------------------------------------------------------------


def _round(k: int, rmsd: float, clash: int = 0, chirality: int = 0) -> RoundRecord:
    return RoundRecord(round=k, counts={"clash": clash, "chirality": chirality}, rmsd_ca=rmsd)


def test_the_last_round_is_kept_when_it_has_the_fewest_violations_within_the_threshold():
    index, reason = keep_best([_round(1, 0.3, clash=3), _round(2, 0.35, clash=1), _round(3, 0.4)], 1.0)
    assert index == 2 and reason.startswith("round 3 of 3: fewest violations (0)")


def test_ties_go_to_the_earliest_round():
    index, reason = keep_best([_round(1, 0.3, clash=1), _round(2, 0.5, clash=1), _round(3, 0.8, clash=1)], 1.0)
    assert index == 0 and "earliest of 3 tied rounds" in reason


def test_a_round_beyond_the_threshold_does_not_compete_however_clean():
    index, reason = keep_best([_round(1, 0.4, clash=2), _round(2, 0.9, clash=1), _round(3, 1.3)], 1.0)
    assert index == 1 and "2 round(s) within 1 Å" in reason


def test_a_d_centre_is_never_traded_for_fewer_clashes():
    index, reason = keep_best([_round(1, 0.3, clash=4), _round(2, 0.4, chirality=1)], 1.0)
    assert index == 0 and "(4)" in reason
    assert keep_best([_round(1, 0.3, clash=1, chirality=1), _round(2, 0.4, clash=5)], 1.0)[0] == 1


def test_when_every_round_is_beyond_the_threshold_the_closest_is_kept():
    index, reason = keep_best([_round(1, 1.6), _round(2, 1.2, clash=2), _round(3, 1.4)], 1.0)
    assert index == 1 and "every round moved CA more than 1 Å" in reason and "1.20 Å" in reason


def test_keep_best_needs_a_round():
    with pytest.raises(ValueError, match="at least one round"):
        keep_best([], 1.0)


def test_round_record_counts_and_json():
    record = RoundRecord(2, {"clash": 2, "angle": 1, "chirality": 0}, rmsd_ca=0.5, n_released=3)
    assert record.n_violations == 3
    assert record.to_dict()["violations"] == {"clash": 2, "angle": 1, "chirality": 0}
    assert record.to_dict()["released"] == 3


def test_a_single_round_is_kept_and_says_so():
    assert keep_best([_round(1, 0.2, clash=1)], 1.0) == (0, "round 1 of 1, the only round (1 violation(s), 0.20 Å "
                                                            "from the input)")
