"""Convert between :class:`~workbench.Structure` and OpenMM's topology + positions.

This module is the OpenMM boundary: the workbench works in Ångström, OpenMM in
nanometres, and the conversion happens here and nowhere else. Positions go to
OpenMM as an ``openmm.unit.Quantity`` in nanometres (so the unit travels with
the numbers) and come back as float32 Ångström.

Atom and residue names are normalised the way OpenMM's own PDB reader does
(``openmm/app/data/pdbNames.xml``: ``OT1`` -> ``O``, ``HN`` -> ``H``, ``HID`` ->
``HIS``, ILE ``CD`` -> ``CD1``, ...), so a structure read by gemmi from any PDB or
mmCIF file meets the force-field templates with the names they expect. Bonds
are OpenMM's standard residue bonds plus disulfides found by distance.

Examples
--------
>>> import numpy as np
>>> from workbench import Structure
>>> gly = Structure(coords=[[0, 0, 0], [1.46, 0, 0], [2.0, 1.4, 0], [1.3, 2.4, 0]],
...                 atom_name=["N", "CA", "C", "O"], element=["N", "C", "C", "O"],
...                 res_name=["GLY"] * 4, res_id=[1] * 4, ins_code=[""] * 4, chain_id=["A"] * 4,
...                 b_factor=[50.0] * 4, occupancy=[1.0] * 4, hetero=[False] * 4)
>>> topology, positions = to_openmm(gly)
>>> topology.getNumAtoms(), topology.getNumBonds(), str(positions.unit)
(4, 3, 'nanometer')
>>> back = from_openmm(topology, positions)
>>> bool(np.allclose(back.coords, gly.coords, atol=1e-5)), str(back.res_name[0]), str(back.chain_id[0])
(True, 'GLY', 'A')
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import openmm.app as app
import openmm.unit as unit

from workbench.residues import is_modified_residue, is_water, one_letter_code
from workbench.structure import Structure

__all__ = ["from_openmm", "normalise_names", "to_openmm"]

_ANGSTROM_PER_NM = 10.0


@lru_cache(maxsize=1)
def _name_tables() -> tuple[dict[str, str], dict[str, dict[str, str]], dict[str, str]]:
    """OpenMM's residue and atom name replacements, read from its ``pdbNames.xml``.

    Returns
    -------
    residue_names : dict
        Alternative residue name -> standard name (``HID`` -> ``HIS``).
    atom_names : dict
        Standard residue name -> {alternative atom name -> standard atom name}.
    generic_protein : dict
        Atom replacements that apply to every amino acid (termini, backbone H).
    """
    path = os.path.join(os.path.dirname(app.__file__), "data", "pdbNames.xml")
    root = ElementTree.parse(path).getroot()
    groups: dict[str, dict[str, str]] = {"All": {}, "Protein": {}, "Nucleic": {}}

    def parse_atoms(residue: ElementTree.Element, table: dict[str, str]) -> None:
        for atom in residue.findall("Atom"):
            for value in atom.attrib.values():
                table[value] = atom.attrib["name"]

    for residue in root.findall("Residue"):
        if residue.attrib["name"] in groups:
            parse_atoms(residue, groups[residue.attrib["name"]])
    for kind in ("Protein", "Nucleic"):
        groups[kind] = {**groups[kind], **groups["All"]}
    residue_names: dict[str, str] = {}
    atom_names: dict[str, dict[str, str]] = {}
    for residue in root.findall("Residue"):
        name = residue.attrib["name"]
        if name in groups:
            continue
        for key, value in residue.attrib.items():
            if key == "name" or key.startswith("alt"):
                residue_names[value] = name
        table = dict(groups.get(residue.attrib.get("type", "All"), groups["All"]))
        parse_atoms(residue, table)
        atom_names[name] = table
    return residue_names, atom_names, groups["Protein"]


def normalise_names(res_name: str, atom_name: str) -> tuple[str, str]:
    """Residue and atom name as OpenMM's templates spell them.

    Parameters
    ----------
    res_name, atom_name : str

    Returns
    -------
    tuple of str
        ``(residue name, atom name)``; unknown names come back unchanged.

    Examples
    --------
    >>> normalise_names("HIE", "HN"), normalise_names("ILE", "CD"), normalise_names("LYS", "OT2")
    (('HIS', 'H'), ('ILE', 'CD1'), ('LYS', 'OXT'))
    """
    residue_names, atom_names, _ = _name_tables()
    standard = residue_names.get(res_name, res_name)
    table = atom_names.get(standard)
    if table is None:
        return standard, atom_name
    return standard, table.get(atom_name, atom_name)


def to_openmm(
    structure: Structure, *, chain_starts: Sequence[int] | np.ndarray | None = None
) -> tuple[app.Topology, unit.Quantity]:
    """An OpenMM topology and positions for ``structure`` (its first model).

    Parameters
    ----------
    structure : Structure
    chain_starts : sequence of int, optional
        Residue indices (into ``structure.residues``) where a new OpenMM chain
        must begin although the chain id does not change, for example at a gap
        in the backbone, so that no peptide bond is made across it. The
        OpenMM chains keep the structure's chain id.

    Returns
    -------
    topology : openmm.app.Topology
        One OpenMM chain per run of equal chain ids (split at ``chain_starts``),
        residues with ``id`` = residue number and ``insertionCode``, standard
        bonds and disulfides (SG-SG within 0.3 nm).
    positions : openmm.unit.Quantity, shape=(n_atoms, 3)
        Coordinates in nanometres.

    Notes
    -----
    Residue and atom names go through :func:`normalise_names`; elements come
    from ``structure.element`` (an unknown element gives an atom with no
    element, which force fields will refuse by name).
    """
    residues = structure.residues
    starts = structure.residue_starts
    extra = np.zeros(len(residues), dtype=bool)
    if chain_starts is not None:
        index = np.asarray(chain_starts, dtype=np.int64)
        if index.size and (index.min() < 0 or index.max() >= len(residues)):
            raise ValueError(f"chain_starts {index.tolist()} out of range for {len(residues)} residues")
        extra[index] = True
    topology = app.Topology()
    chain = None
    for r in range(len(residues)):
        chain_id = str(residues.chain_id[r])
        if chain is None or chain.id != chain_id or extra[r]:
            chain = topology.addChain(chain_id)
        res_name = str(residues.res_name[r])
        standard = normalise_names(res_name, "")[0]
        residue = topology.addResidue(standard, chain, str(int(residues.res_id[r])), str(residues.ins_code[r]))
        for i in range(starts[r], starts[r + 1]):
            atom_name = normalise_names(res_name, str(structure.atom_name[i]))[1]
            topology.addAtom(atom_name, _element(str(structure.element[i])), residue)
    positions = unit.Quantity(structure.coords.astype(np.float64) / _ANGSTROM_PER_NM, unit.nanometer)
    topology.createStandardBonds()
    topology.createDisulfideBonds(positions)
    return topology, positions


def from_openmm(topology: app.Topology, positions, *, name: str = "") -> Structure:
    """A :class:`Structure` from an OpenMM topology and positions.

    Parameters
    ----------
    topology : openmm.app.Topology
    positions : openmm.unit.Quantity or array_like, shape=(n_atoms, 3)
        A quantity with any length unit, or plain numbers in nanometres
        (OpenMM's unit).
    name : str, optional
        Name of the new structure.

    Returns
    -------
    Structure
        Coordinates in Å; residue numbers from ``residue.id`` (sequential
        numbers per chain where an id is not an integer); B-factors 0,
        occupancies 1; ``hetero`` set for residues that are not standard
        amino acids, nucleotides or water.
    """
    if unit.is_quantity(positions):
        coords = np.asarray(positions.value_in_unit(unit.angstrom), dtype=np.float64)
    else:
        coords = np.asarray(positions, dtype=np.float64) * _ANGSTROM_PER_NM
    coords = coords.reshape(-1, 3)
    if coords.shape[0] != topology.getNumAtoms():
        raise ValueError(f"{coords.shape[0]} positions for {topology.getNumAtoms()} atoms")
    atom_name, element, res_name, res_id, ins_code, chain_id, hetero = [], [], [], [], [], [], []
    for chain in topology.chains():
        for k, residue in enumerate(chain.residues(), start=1):
            try:
                number = int(residue.id)
            except (TypeError, ValueError):
                number = k
            is_hetero = not (is_water(residue.name) or (
                one_letter_code(residue.name) is not None and not is_modified_residue(residue.name)))
            for atom in residue.atoms():
                atom_name.append(atom.name)
                element.append(_element_symbol(atom.element))
                res_name.append(residue.name)
                res_id.append(number)
                ins_code.append((residue.insertionCode or "").strip())
                chain_id.append(chain.id)
                hetero.append(is_hetero)
    n = len(atom_name)
    return Structure(
        coords=coords.astype(np.float32),
        atom_name=np.asarray(atom_name, dtype=str), element=np.asarray(element, dtype=str),
        res_name=np.asarray(res_name, dtype=str), res_id=np.asarray(res_id, dtype=np.int32),
        ins_code=np.asarray(ins_code, dtype=str), chain_id=np.asarray(chain_id, dtype=str),
        b_factor=np.zeros(n, dtype=np.float32),
        occupancy=np.ones(n, dtype=np.float32), hetero=np.asarray(hetero, dtype=bool), name=name,
    )


def _element(symbol: str) -> app.Element | None:
    """OpenMM element for a symbol in any capitalisation, or None when unknown."""
    symbol = symbol.strip()
    if not symbol:
        return None
    try:
        return app.Element.getBySymbol(symbol.capitalize() if len(symbol) > 1 else symbol.upper())
    except KeyError:
        return None


def _element_symbol(element: app.Element | None) -> str:
    """Element symbol in normal capitalisation (``"Se"``), ``""`` for none."""
    return "" if element is None else element.symbol
