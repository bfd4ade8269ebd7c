"""refine(..., prepared=...) skips preparation and gives the same result; PreparedModel.to_structure."""

from __future__ import annotations

import numpy as np
import pytest

from tests.refine.conftest import load
from workbench.refine import RefineConfig, prepare_model, refine, select_platform
from workbench.refine import prepare as prepare_module  # the module (workbench.refine is shadowed at the top)

# The Reference platform: the same system gives the same numbers in every run.
CONFIG = RefineConfig(platform="Reference", seed=3)


@pytest.fixture
def fixer_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    original = prepare_module.PDBFixer

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(prepare_module, "PDBFixer", counting)
    return calls


def test_refine_with_a_prepared_model_prepares_once_and_gives_the_same_result(fixer_calls: list[int]):
    structure = load("1crn")
    direct = refine(structure, CONFIG)
    assert len(fixer_calls) == 1
    prepared = prepare_model(structure, chains=CONFIG.chains, ph=CONFIG.ph, seed=CONFIG.seed,
                             platform=select_platform(CONFIG.platform).platform)
    assert len(fixer_calls) == 2
    again = refine(structure, CONFIG, prepared=prepared)
    assert len(fixer_calls) == 2  # refine did not prepare
    assert again.energy_before == direct.energy_before
    assert again.energy_after == direct.energy_after
    assert again.restraint_energy_after == direct.restraint_energy_after
    np.testing.assert_array_equal(again.structure.coords, direct.structure.coords)
    assert again.preparation == direct.preparation
    assert again.iterations == direct.iterations and again.rounds == direct.rounds


def test_a_model_prepared_from_another_structure_is_refused():
    structure = load("1crn")
    other = structure.with_coords(structure.coords + 1.0)
    with pytest.raises(ValueError, match="not prepared from this structure"):
        refine(structure, CONFIG, prepared=prepare_model(other))
    with pytest.raises(ValueError, match="pH"):
        refine(structure, CONFIG, prepared=prepare_model(structure, ph=6.0))


def test_to_structure_keeps_input_numbering_and_bfactors():
    structure = load("1crn")
    prepared = prepare_model(structure)
    full = prepared.to_structure()
    assert full.n_atoms == prepared.n_atoms
    np.testing.assert_array_equal(full.coords, prepared.positions.astype(full.coords.dtype))
    heavy = prepared.to_structure(hydrogens=False)
    assert heavy.n_atoms == int(prepared.heavy.sum()) and not np.isin(heavy.element, ("H", "D")).any()
    from_input = prepared.source_atom[prepared.heavy]
    assert (from_input >= 0).all()
    np.testing.assert_array_equal(heavy.res_id, structure.res_id[from_input])
    np.testing.assert_array_equal(heavy.chain_id, structure.chain_id[from_input])
    np.testing.assert_array_equal(heavy.b_factor, structure.b_factor[from_input])
    moved = prepared.to_structure(prepared.positions + 1.0, hydrogens=False)
    np.testing.assert_allclose(moved.coords, heavy.coords + 1.0, atol=1e-4)
    with pytest.raises(ValueError, match="shape"):
        prepared.to_structure(prepared.positions[:-1])
