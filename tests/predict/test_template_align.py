"""Alignment and the template predictor's rules, without building structures."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.predict.template_align import (
    ALIGNER_PARAMETERS,
    RebuildWindow,
    TemplateRefusal,
    align_chain,
    check_chain,
    check_closure,
    invalid_letters,
    rebuild_windows,
)
from workbench.predict.template_build import HEAVY_ATOMS, kept_atoms, standardise

TEMPLATE = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ"
#           HHHHHHHHHCCCCCEEEEECCCCHHHHHHHHHH
SECONDARY = np.array(list("HHHHHHHHHCCCCCEEEEECCCCHHHHHHHHHH"))
NUMBERING = [str(i) for i in range(1, len(TEMPLATE) + 1)]
NO_BREAKS = np.zeros(len(TEMPLATE), dtype=bool)


def _check(query: str, **limits) -> None:
    check_chain(align_chain(query, TEMPLATE, NUMBERING), SECONDARY,
                **({"min_identity": 0.5, "max_indel": 4} | limits))


def test_aligner_parameters_are_needles_defaults():
    assert ALIGNER_PARAMETERS["mode"] == "global"
    assert ALIGNER_PARAMETERS["substitution_matrix"] == "BLOSUM62"
    assert (ALIGNER_PARAMETERS["open_gap_score"], ALIGNER_PARAMETERS["extend_gap_score"]) == (-10.0, -0.5)


def test_substitutions_are_labelled_in_template_numbering():
    query = TEMPLATE[:4] + "W" + TEMPLATE[5:20] + "A" + TEMPLATE[21:]
    a = align_chain(query, TEMPLATE, [str(i) for i in range(101, 101 + len(TEMPLATE))])
    assert a.mutations == ("Y105W", "R121A")
    assert a.indels == ()
    assert a.identity == pytest.approx((len(TEMPLATE) - 2) / len(TEMPLATE))
    assert a.substituted.nonzero()[0].tolist() == [4, 20]
    assert a.query_to_template.tolist() == list(range(len(TEMPLATE)))


def test_loop_deletion_and_insertion_labels_and_windows():
    deletion = TEMPLATE[:10] + TEMPLATE[12:]  # residues 11-12 (Q, I) of the loop 10-14
    a = align_chain(deletion, TEMPLATE, NUMBERING)
    assert [i.kind for i in a.indels] == ["deletion"]
    assert a.indels[0].length == 2 and not a.indels[0].terminal
    check_chain(a, SECONDARY, min_identity=0.5, max_indel=4)
    (window,) = rebuild_windows(a, SECONDARY, NO_BREAKS, flank=2)
    # never into the helix (ends at 8) or the strand (starts at 14); anchors stay
    assert SECONDARY[window.template_start:window.template_stop].tolist() == ["C"] * 5
    assert window.n_built == 3
    insertion = TEMPLATE[:11] + "GS" + TEMPLATE[11:]
    b = align_chain(insertion, TEMPLATE, NUMBERING)
    assert [(i.kind, i.residues) for i in b.indels] == [("insertion", "GS")]
    assert b.indels[0].label.endswith("insGS")
    check_chain(b, SECONDARY, min_identity=0.5, max_indel=4)
    (window,) = rebuild_windows(b, SECONDARY, NO_BREAKS, flank=1)
    assert window.n_built == 4


@pytest.mark.parametrize(("query", "words"), [
    (TEMPLATE[:3] + TEMPLATE[5:], ["inside a helix", "only in loops"]),
    (TEMPLATE[:16] + "G" + TEMPLATE[16:], ["insertion", "inside a strand"]),
    (TEMPLATE[:9] + TEMPLATE[14:], ["longer than the limit of 4"]),
    ("GGG" + TEMPLATE, ["N-terminal extension", "no coordinates"]),
    (TEMPLATE + "GGG", ["C-terminal extension"]),
    ("W" * len(TEMPLATE), ["identity", "below the minimum 50.0%"]),
])
def test_refusals(query, words):
    with pytest.raises(TemplateRefusal) as info:
        _check(query)
    for word in words:
        assert word in str(info.value)


def test_terminal_truncation_is_allowed_up_to_the_limit():
    _check(TEMPLATE[3:])
    with pytest.raises(TemplateRefusal, match="longer than the limit"):
        _check(TEMPLATE[6:])


def test_closure_check():
    window = RebuildWindow("A", 10, 14, 10, 12)
    check_closure(window, 10.0, "here")
    with pytest.raises(TemplateRefusal, match="cannot be closed"):
        check_closure(window, 11.0, "here")


def test_invalid_letters():
    assert invalid_letters("ACDEFGHIKLMNPQRSTVWY") == []
    assert invalid_letters("AXBZUO") == [(2, "X"), (3, "B"), (4, "Z"), (5, "U"), (6, "O")]


def test_kept_atoms_and_modified_residues():
    assert kept_atoms("ASN", "HIS") == ("N", "CA", "C", "O", "CB", "CG")
    assert kept_atoms("THR", "ILE") == ("N", "CA", "C", "O", "CB", "CG2")
    assert kept_atoms("GLY", "ALA") == ("N", "CA", "C", "O")
    assert kept_atoms("ALA", "GLY") == ("N", "CA", "C", "O")
    assert kept_atoms("PRO", "LYS") == ("N", "CA", "C", "O", "CB")
    name, keep = standardise("CAS", np.array(["N", "CA", "C", "O", "CB", "SG", "AS", "CE1", "CE2"]))
    assert name == "CYS" and keep.tolist() == [True] * 6 + [False] * 3
    name, keep = standardise("MSE", np.array((*HEAVY_ATOMS["MET"][:6], "SE", "CE")))
    assert name == "MET" and keep.all()
