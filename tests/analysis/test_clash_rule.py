"""One clash definition: the quality report and the refinement's violation check share table and rule."""

from __future__ import annotations

import numpy as np

from workbench.analysis import quality
from workbench.clash_rule import CLASH_RADII, clash_radii, overlapping_pairs
from workbench.refine import violations


def test_one_radius_table():
    assert quality.CLASH_RADII is CLASH_RADII
    assert violations.VDW_RADII is CLASH_RADII


def test_groups_decide_which_pairs_are_checked():
    coords = np.array([[0.0, 0, 0], [1.0, 0, 0], [2.0, 0, 0]])
    radii = clash_radii(["C", "N", "O"], np.float64)
    first, second, overlap = overlapping_pairs(coords, radii, np.array([0, 0, 1]), 1.5)
    # 0-1 share a group; 0-2 are 2 Å apart, beyond 1.7 + 1.52 - 1.5
    assert list(zip(first.tolist(), second.tolist(), strict=True)) == [(1, 2)]
    first, second, overlap = overlapping_pairs(coords, radii, np.arange(3), 1.5)
    assert list(zip(first.tolist(), second.tolist(), strict=True)) == [(0, 1), (1, 2)]
    assert overlap[0] == 1.7 + 1.55 - 1.5 - 1.0
