"""geometry_deviations on Engh & Huber 2001 (default) or 1991: z-scores against plain numpy and hand-written targets.

The targets below are written out from the published tables (Engh & Huber 2001, International Tables Vol. F
ch. 18.3; Engh & Huber 1991, Acta Cryst. A47:392), not read from workbench.engh_huber; see
tests/test_engh_huber.py for the sources of the transcription.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import workbench.analysis as A
from workbench.structure import Structure


def _xyz(structure: Structure, res_id: int, name: str) -> np.ndarray:
    index = np.flatnonzero((structure.res_id == res_id) & (structure.atom_name == name))
    assert len(index) == 1
    return structure.coords[index[0]].astype(np.float64)


def _entry(deviations, structure: Structure, kind: str, res_id: int) -> int:
    residue = int(np.flatnonzero(structure.residues.res_id == res_id)[0])
    found = np.flatnonzero((deviations.kind == kind) & (deviations.residue == residue))
    assert len(found) == 1
    return int(found[0])


# (kind, residue number of the entry, atoms as (residue number, name), 2001 target, 1991 target). 1UBQ has
# Gly 10 (after Thr 9), Pro 19 (after Glu 18), Pro 37 (after Ile 36), Ile 3 and Thr 7. The 2001 CA-C-N column
# is decided by a glycine before the peptide bond, the 1991 one by the residue after it.
CASES = [
    ("N-CA-C", 10, [(10, "N"), (10, "CA"), (10, "C")], (113.1, 2.5), (112.5, 2.9)),
    ("C-N", 18, [(18, "C"), (19, "N")], (1.338, 0.019), (1.341, 0.016)),
    ("C-N-CA", 36, [(36, "C"), (37, "N"), (37, "CA")], (119.3, 1.5), (122.6, 5.0)),
    ("CA-C-N", 9, [(9, "CA"), (9, "C"), (10, "N")], (117.2, 2.2), (116.4, 2.1)),
    ("CA-C-N", 10, [(10, "CA"), (10, "C"), (11, "N")], (116.2, 2.0), (116.2, 2.0)),
    ("CA-CB", 3, [(3, "CA"), (3, "CB")], (1.544, 0.023), (1.540, 0.027)),
    ("N-CA-CB", 7, [(7, "N"), (7, "CA"), (7, "CB")], (110.3, 1.9), (111.5, 1.7)),
    ("C-O", 19, [(19, "C"), (19, "O")], (1.228, 0.020), (1.231, 0.020)),
]


@pytest.mark.parametrize("targets", ["2001", "1991"])
def test_z_scores_against_plain_numpy(read_shared: Callable[[str], Structure], targets: str) -> None:
    structure = read_shared("structures/1ubq.pdb")
    names = {int(r): str(n) for r, n in zip(structure.residues.res_id, structure.residues.res_name, strict=True)}
    assert (names[10], names[19], names[37], names[3], names[7]) == ("GLY", "PRO", "PRO", "ILE", "THR")
    deviations = A.geometry_deviations(structure, targets=targets)
    assert deviations.targets == targets
    for kind, res_id, atoms, new, old in CASES:
        mean, sigma = new if targets == "2001" else old
        x = [_xyz(structure, r, n) for r, n in atoms]
        if len(x) == 2:
            value = float(np.linalg.norm(x[0] - x[1]))
        else:
            u, v = x[0] - x[1], x[2] - x[1]
            value = float(np.degrees(np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v))))
        k = _entry(deviations, structure, kind, res_id)
        assert deviations.ideal[k] == mean and deviations.sigma[k] == sigma, (kind, res_id)
        assert deviations.value[k] == pytest.approx(value, abs=2e-4 if len(x) == 2 else 2e-3)
        assert deviations.z[k] == pytest.approx((value - mean) / sigma, abs=0.02)


def test_unknown_target_set_is_refused(read_shared: Callable[[str], Structure]) -> None:
    with pytest.raises(ValueError, match="unknown Engh & Huber set"):
        A.geometry_deviations(read_shared("structures/1crn.pdb"), targets="1999")


def test_side_chain_terms_on_request(read_shared: Callable[[str], Structure]) -> None:
    structure = read_shared("structures/2lzm.pdb")
    plain = A.geometry_deviations(structure)
    assert not {"CB-CG", "NE-CZ-NH1"} & set(plain.kind.tolist())
    full = A.geometry_deviations(structure, side_chains=True)
    assert len(full.kind) > len(plain.kind)
    # Arg 119 NE-CZ-NH1 against Engh & Huber 2001's 120.3 ± 0.5 degrees, measured with plain numpy.
    k = _entry(full, structure, "NE-CZ-NH1", 119)
    ne, cz, nh1 = (_xyz(structure, 119, n) for n in ("NE", "CZ", "NH1"))
    u, v = ne - cz, nh1 - cz
    value = float(np.degrees(np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v))))
    assert (full.ideal[k], full.sigma[k]) == (120.3, 0.5)
    assert full.value[k] == pytest.approx(value, abs=2e-3)
    assert full.z[k] == pytest.approx((value - 120.3) / 0.5, abs=0.01)
    assert k in full.outliers
    # Met 102 SD-CE (1.774 ± 0.056 Å) and Pro 143 CD-N (1.474 ± 0.014 Å).
    for kind, res_id, (mean, sigma) in (("SD-CE", 102, (1.774, 0.056)), ("CD-N", 143, (1.474, 0.014))):
        k = _entry(full, structure, kind, res_id)
        a, b = (_xyz(structure, res_id, n) for n in kind.split("-"))
        assert (full.ideal[k], full.sigma[k]) == (mean, sigma)
        assert full.value[k] == pytest.approx(np.linalg.norm(a - b), abs=2e-4)
    with pytest.raises(ValueError, match="2001 set only"):
        A.geometry_deviations(structure, targets="1991", side_chains=True)
