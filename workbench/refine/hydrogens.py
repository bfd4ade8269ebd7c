"""Hydrogens for a heavy-atom topology: OpenMM's choices, placed by geometry in numpy.

OpenMM's ``Modeller.addHydrogens`` decides which hydrogens each residue gets
(its ``hydrogens.xml`` definitions, the pH, CYS -> CYX when the sulfur is
bonded to another residue, HIS -> HID / HIE by a hydrogen-bond test) and then
starts every hydrogen 1 Å from its parent, all of one parent's hydrogens at
nearly the same spot, and minimises them in a force-field system of its own.
That was 50-61 % of refining a small structure, mostly unit arithmetic and a
system and minimisation that the refinement builds and runs again anyway.

:func:`add_hydrogens` makes the same choices with the same code paths of
OpenMM's definitions (same names, same order of atoms and bonds) and places
each hydrogen at standard geometry from its bonded heavy atoms, as PDBFixer's
templates and Reduce do: X-H lengths of Amber ff14SB (C 1.09, N 1.01, O 0.96,
S 1.336 Å), tetrahedral or trigonal directions by the parent's number of heavy
neighbours and hydrogens, staggered methyl and ammonium groups, hydroxyl and
thiol hydrogens anti to the atom two bonds away. The refinement's minimisation,
which leaves hydrogens unrestrained, relaxes them. Placement is deterministic:
no random numbers, so the same input gives the same positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import openmm.app as app
from openmm.app import element as elem

#: X-H bond lengths (Å), Amber ff14SB's equilibrium values.
BOND_LENGTH = {"C": 1.09, "N": 1.01, "O": 0.96, "S": 1.336}
_TETRAHEDRAL = np.deg2rad(109.5)
_HBOND_DISTANCE = 3.5  # Å, OpenMM's 0.35 nm donor-acceptor cut-off for the HIS test
_HBOND_ANGLE = np.deg2rad(50.0)


@dataclass(frozen=True)
class Hydrogenated:
    """A topology with hydrogens and its positions.

    Attributes
    ----------
    topology : openmm.app.Topology
        Atoms in OpenMM's ``addHydrogens`` order: each heavy atom followed by its hydrogens.
    positions : ndarray, shape=(n_atoms, 3), dtype=float64
        Å; heavy atoms unchanged.
    variants : list of str or None
        The variant chosen per residue (``"HIE"``, ``"CYX"``, ...), as ``addHydrogens`` returns it.
    """

    topology: app.Topology
    positions: np.ndarray
    variants: list[str | None]


def add_hydrogens(topology: app.Topology, positions: np.ndarray, ph: float = 7.0) -> Hydrogenated:
    """Add the hydrogens OpenMM's ``Modeller.addHydrogens`` would add, placed by geometry.

    Parameters
    ----------
    topology : openmm.app.Topology
        Heavy atoms only, bonds included (standard and disulfide bonds).
    positions : ndarray, shape=(n_atoms, 3), dtype=float64
        Å.
    ph : float
        pH for the choice of protonation states.

    Returns
    -------
    Hydrogenated

    Raises
    ------
    ValueError
        When the topology already has hydrogens (this places hydrogens on heavy atoms only).
    """
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    if any(atom.element == elem.hydrogen for atom in topology.atoms()):
        raise ValueError("add_hydrogens expects a topology without hydrogens")
    app.Modeller._loadStandardHydrogenDefinitions()
    bonded: list[list[int]] = [[] for _ in range(topology.getNumAtoms())]
    for a, b in _in_template_order(topology):
        bonded[a.index].append(b.index)
        bonded[b.index].append(a.index)
    acceptors = [(a.index, a.residue.index) for a in topology.atoms() if a.element in (elem.oxygen, elem.nitrogen)]
    acceptor = np.array(acceptors, dtype=np.int64).reshape(-1, 2)
    variants = [_variant(residue, ph, positions, bonded, acceptor) for residue in topology.residues()]
    new, old_of_new, parent_of_h, slot = _build_topology(topology, variants, ph)
    coords = np.zeros((new.getNumAtoms(), 3))
    heavy = old_of_new >= 0
    coords[heavy] = positions[old_of_new[heavy]]
    coords[~heavy] = _place(positions, bonded, parent_of_h, slot, [a.element.symbol for a in topology.atoms()])
    return Hydrogenated(topology=new, positions=coords, variants=variants)


def _in_template_order(topology: app.Topology) -> list[tuple[app.topology.Atom, app.topology.Atom]]:
    """The topology's bonds in the order ``Topology.createStandardBonds`` makes them; other bonds after, by index.

    The two hydrogens of a CH2 are told apart by the order of the carbon's two
    neighbours. PDBFixer makes the bonds of a residue it replaced (1BHL's CAS ->
    CYS) from a set, in an order that changed from run to run, and with it which
    of HB2 / HB3 went where: the same input gave two different models. Ordering
    the bonds by OpenMM's own residue definitions makes the placement depend on
    the atoms alone, and leaves a topology whose bonds OpenMM made unchanged.
    """
    if not app.Topology._hasLoadedStandardBonds:
        app.Topology().createStandardBonds()  # loads OpenMM's residue definitions (residues.xml)
    templates = app.Topology._standardBonds
    position = {name: {frozenset(pair): k for k, pair in enumerate(pairs)} for name, pairs in templates.items()}
    unknown = max((len(pairs) for pairs in templates.values()), default=0)

    def key(bond) -> tuple[int, int, int, int]:
        a, b = sorted(bond[:2], key=lambda atom: atom.index)
        earlier, later = a.residue, b.residue
        if earlier is later:
            k = position.get(later.name, {}).get(frozenset((a.name, b.name)))
        else:
            k = position.get(later.name, {}).get(frozenset(("-" + a.name, b.name)))
            if k is None and (k := position.get(earlier.name, {}).get(frozenset((a.name, "+" + b.name)))) is not None:
                return earlier.index, k, a.index, b.index
        return (later.index, k, a.index, b.index) if k is not None else (topology.getNumResidues(), unknown,
                                                                          a.index, b.index)

    return [bond[:2] for bond in sorted(topology.bonds(), key=key)]


def _variant(residue: app.topology.Residue, ph: float, positions: np.ndarray, bonded: list[list[int]],
             acceptor: np.ndarray) -> str | None:
    """OpenMM's variant choice for a residue without hydrogens: CYX for a bonded sulfur, HID/HIE/HIP for HIS.

    ``acceptor`` holds (atom, residue) index pairs of every N and O.
    """
    if residue.name not in app.Modeller._residueHydrogens:
        return None
    atoms = list(residue.atoms())
    if residue.name == "CYS":
        sulfur = [a for a in atoms if a.element == elem.sulfur]
        own = {a.index for a in atoms}
        if len(sulfur) == 1 and any(other not in own for other in bonded[sulfur[0].index]):
            return "CYX"
    if residue.name != "HIS":
        return None
    if ph <= 6.5:
        return "HIP"
    nd1 = [a.index for a in atoms if a.name == "ND1"]
    ne2 = [a.index for a in atoms if a.name == "NE2"]
    if len(nd1) != 1 or len(ne2) != 1:
        raise ValueError(f"HIS residue ({residue.index}) has the wrong set of atoms")
    others = acceptor[acceptor[:, 1] != residue.index, 0]
    if _donates(nd1[0], others, positions, bonded):
        return "HID"
    return "HIE" if _donates(ne2[0], others, positions, bonded) else "HID"


def _donates(donor: int, acceptors: np.ndarray, positions: np.ndarray, bonded: list[list[int]]) -> bool:
    """OpenMM's HIS test: a hydrogen 1 Å from ``donor`` H-bonds an N or O of another residue."""
    d = positions[donor]
    delta = np.zeros(3)
    for other in bonded[donor]:
        delta += d - positions[other]
    h = d + delta * (1.0 / np.linalg.norm(delta))
    a = positions[acceptors]
    near = np.sqrt(((a - d) ** 2).sum(1)) <= _HBOND_DISTANCE
    if not near.any():
        return False
    dh = (h - d) / np.linalg.norm(h - d)
    ha = a[near] - h
    ha /= np.linalg.norm(ha, axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        return bool((np.arccos(ha @ dh) < _HBOND_ANGLE).any())


def _wanted(residue: app.topology.Residue, variant: str | None, ph: float, n_terminal: bool,
            c_terminal: bool) -> list:
    """The hydrogen definitions ``addHydrogens`` keeps for a residue (its three filters, same order)."""
    spec = app.Modeller._residueHydrogens[residue.name]
    if variant is not None and variant not in spec.variants:
        raise ValueError(f"Illegal variant for {residue.name} residue: {variant}")
    names = {a.name for a in residue.atoms()}
    kept = [h for h in spec.hydrogens if (variant is None and ph <= h.maxph)
            or (h.variants is None and ph <= h.maxph) or (h.variants is not None and variant in h.variants)]
    kept = [h for h in kept if h.terminal is None or (n_terminal and "N" in h.terminal)
            or (c_terminal and "C" in h.terminal) or (not n_terminal and not c_terminal and "-" in h.terminal)]
    return [h for h in kept if h.parent in names]


def _build_topology(topology: app.Topology, variants: list[str | None],
                    ph: float) -> tuple[app.Topology, np.ndarray, np.ndarray, np.ndarray]:
    """The new topology in ``addHydrogens``' order, with its map to the old one.

    Returns the topology; per new atom its old index (-1: a hydrogen); per
    hydrogen its parent's old index and its slot among the parent's hydrogens.
    """
    new = app.Topology()
    new.setPeriodicBoxVectors(topology.getPeriodicBoxVectors())
    new_atoms: dict[int, app.topology.Atom] = {}
    old_of_new: list[int] = []
    parents: list[int] = []
    slots: list[int] = []
    for chain in topology.chains():
        new_chain = new.addChain(chain.id)
        chain_residues = list(chain.residues())
        for residue in chain_residues:
            new_residue = new.addResidue(residue.name, new_chain, residue.id, residue.insertionCode)
            wanted = [] if residue.name not in app.Modeller._residueHydrogens else _wanted(
                residue, variants[residue.index], ph, residue is chain_residues[0], residue is chain_residues[-1])
            for atom in residue.atoms():
                new_atom = new.addAtom(atom.name, atom.element, new_residue, atom.id)
                new_atoms[atom.index] = new_atom
                old_of_new.append(atom.index)
                for k, h in enumerate(x for x in wanted if x.parent == atom.name):
                    new.addBond(new_atom, new.addAtom(h.name, elem.hydrogen, new_residue))
                    old_of_new.append(-1)
                    parents.append(atom.index)
                    slots.append(k)
    for bond in topology.bonds():
        new.addBond(new_atoms[bond[0].index], new_atoms[bond[1].index], bond.type, bond.order)
    return new, np.array(old_of_new, dtype=np.int64), np.array(parents, dtype=np.int64), np.array(slots, dtype=np.int64)


def _place(positions: np.ndarray, bonded: list[list[int]], parent: np.ndarray, slot: np.ndarray,
           symbols: list[str]) -> np.ndarray:
    """Standard-geometry positions (Å) of hydrogens on ``parent`` atoms, vectorised over each kind of group.

    Parameters
    ----------
    positions : ndarray, shape=(n_heavy, 3), dtype=float64
    bonded : list of list of int
        Heavy neighbours of each heavy atom.
    parent, slot : ndarray, shape=(n_h,), dtype=int64
        Each hydrogen's parent and its place among the parent's hydrogens.
    symbols : list of str
        Element of each heavy atom.

    Returns
    -------
    ndarray, shape=(n_h, 3), dtype=float64
    """
    n_h = np.bincount(parent, minlength=len(positions))[parent]
    n_nbr = np.array([len(bonded[p]) for p in parent.tolist()], dtype=np.int64)
    length = np.array([BOND_LENGTH.get(symbols[p], 1.0) for p in parent.tolist()])
    nbr = np.full((len(parent), 3), -1, dtype=np.int64)
    for i, p in enumerate(parent.tolist()):
        nbr[i, :min(3, len(bonded[p]))] = bonded[p][:3]
    p_xyz = positions[parent]
    unit = np.where((nbr >= 0)[..., None], positions[np.maximum(nbr, 0)] - p_xyz[:, None], 0.0)
    unit /= np.maximum(np.linalg.norm(unit, axis=2, keepdims=True), 1e-9)
    direction = -unit.sum(1)
    out = p_xyz + length[:, None] * _normalise(direction)  # one hydrogen on two or three neighbours
    pair = (n_nbr == 2) & (n_h == 2)  # CH2, N-terminal proline's NH2: tetrahedral
    if pair.any():
        bisector = _normalise(direction[pair])
        normal = _normalise(np.cross(unit[pair, 0], unit[pair, 1]))
        sign = np.where(slot[pair] == 0, 1.0, -1.0)[:, None]
        half = _TETRAHEDRAL / 2.0
        out[pair] = p_xyz[pair] + length[pair, None] * (np.cos(half) * bisector + sign * np.sin(half) * normal)
    single = n_nbr == 1
    if single.any():
        out[single] = _place_on_one_neighbour(positions, bonded, parent[single], nbr[single, 0], slot[single],
                                              n_h[single], length[single], symbols)
    return out


def _place_on_one_neighbour(positions: np.ndarray, bonded: list[list[int]], parent: np.ndarray, neighbour: np.ndarray,
                            slot: np.ndarray, n_h: np.ndarray, length: np.ndarray, symbols: list[str]) -> np.ndarray:
    """Hydrogens on an atom with one heavy neighbour, by angle and dihedral to the atom two bonds away (NeRF).

    Three hydrogens (CH3, NH3+): 109.5°, staggered at 180, 60, -60°. Two (amide and guanidinium NH2):
    trigonal, 120° at 0 and 180°. One (OH, SH): 109.5° (96° on sulfur), anti.
    """
    ref = np.array([next((r for r in bonded[q] if r != p), -1) for p, q in
                    zip(parent.tolist(), neighbour.tolist(), strict=True)], dtype=np.int64)
    p_xyz, q_xyz = positions[parent], positions[neighbour]
    r_xyz = np.where((ref >= 0)[:, None], positions[np.maximum(ref, 0)], q_xyz + np.array([1.0, 0.3, 0.1]))
    angle = np.full(len(parent), _TETRAHEDRAL)
    angle[n_h == 2] = np.deg2rad(120.0)
    angle[(n_h == 1) & np.array([symbols[p] == "S" for p in parent.tolist()], dtype=bool)] = np.deg2rad(96.0)
    dihedral = np.where(n_h == 2, np.pi * slot, np.pi + slot * (2.0 * np.pi / 3.0))
    bc = _normalise(p_xyz - q_xyz)
    normal = np.cross(q_xyz - r_xyz, bc)
    degenerate = np.linalg.norm(normal, axis=1) < 1e-6
    normal[degenerate] = np.cross(np.where(np.abs(bc[degenerate, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]]),
                                  bc[degenerate])
    normal = _normalise(normal)
    local = np.stack([-np.cos(angle), np.sin(angle) * np.cos(dihedral), np.sin(angle) * np.sin(dihedral)], axis=1)
    frame = np.stack([bc, np.cross(normal, bc), normal], axis=2)  # columns: bc, m, normal
    return p_xyz + length[:, None] * np.einsum("nij,nj->ni", frame, local)


def _normalise(v: np.ndarray) -> np.ndarray:
    """Rows of ``v`` scaled to length 1 (a zero row stays zero)."""
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(norm, 1e-12)
