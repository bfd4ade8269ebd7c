"""DSSP secondary structure (Kabsch & Sander 1983), following DSSP 2.2.0 as MDTraj ports it.

Backbone hydrogen bonds come from the electrostatic energy
``E = 0.084 * 332 * (1/r_ON + 1/r_CH - 1/r_OH - 1/r_CN)`` kcal/mol (floored at
-9.9), with the amide hydrogen placed 1 Å from N opposite the previous residue's
C=O; a bond exists when ``E < -0.5`` for residues whose CA atoms are closer
than 9 Å, and each donor keeps its two strongest bonds. From the bonds: n-turns,
alpha (H), 3-10 (G) and pi (I) helices, bridges (B) and ladders (E) with bulges,
turns (T) and bends (S, CA(i-2)-CA(i)-CA(i+2) angle above 70 degrees), in
DSSP 2.2.0's order of precedence.

Residue codes returned by :func:`assign`: 0 loop, 1 H, 2 B, 3 E, 4 G, 5 I, 6 T, 7 S
(:data:`CODES` maps them to letters).
"""

from __future__ import annotations

import numpy as np

from workbench.kernels._config import jit
from workbench.kernels.neighbors import pairs_within

#: Letters of the codes of :func:`assign`, in code order (index 0 is a loop, ``" "``).
CODES = " HBEGITS"

LOOP, ALPHA, BRIDGE, STRAND, HELIX_3, HELIX_5, TURN, BEND = range(8)
_NONE, _START, _END, _START_AND_END, _MIDDLE = range(5)
_PARALLEL, _ANTIPARALLEL = 1, 2

#: Coulomb constant times the partial charges, kcal Å / mol.
COUPLING = 0.084 * 332.0
MIN_ENERGY = -9.9
MAX_HBOND_ENERGY = -0.5
MAX_CA_DISTANCE = 9.0


@jit
def hydrogen_bonds(
    coords: np.ndarray, backbone: np.ndarray, is_proline: np.ndarray, chain: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Kabsch–Sander backbone hydrogen bonds: the two strongest acceptors of every donor.

    Parameters
    ----------
    coords : ndarray, shape=(n_atoms, 3), dtype=float32
        Coordinates in Å.
    backbone : ndarray, shape=(n_residues, 4), dtype=int64
        Atom indices of N, CA, C, O per residue; a residue with any of them
        negative takes no part.
    is_proline : ndarray, shape=(n_residues,), dtype=bool
        Prolines donate no hydrogen bond.
    chain : ndarray, shape=(n_residues,), dtype=int64
        Segment of each residue; the amide H of a residue is placed from the
        previous residue's C=O only if both are in the same segment (else on N).

    Returns
    -------
    partners : ndarray, shape=(n_residues, 2), dtype=int64
        Acceptor residue of the strongest and second-strongest bond of each
        donor, -1 where there is none.
    energies : ndarray, shape=(n_residues, 2), dtype=float64
        Their energies in kcal/mol (0 where there is none).
    """
    n = backbone.shape[0]
    valid = np.zeros(n, dtype=np.bool_)
    n_valid = 0
    for r in range(n):
        ok = True
        for a in range(4):
            if backbone[r, a] < 0:
                ok = False
        valid[r] = ok
        if ok:
            n_valid += 1
    hydrogen = np.zeros((n, 3))
    for r in range(n):
        if not valid[r]:
            continue
        nat = backbone[r, 0]
        for a in range(3):
            hydrogen[r, a] = coords[nat, a]
        if r > 0 and valid[r - 1] and chain[r - 1] == chain[r]:
            c = backbone[r - 1, 2]
            o = backbone[r - 1, 3]
            dx = np.float64(coords[c, 0]) - coords[o, 0]
            dy = np.float64(coords[c, 1]) - coords[o, 1]
            dz = np.float64(coords[c, 2]) - coords[o, 2]
            norm = np.sqrt(dx * dx + dy * dy + dz * dz)
            hydrogen[r, 0] += dx / norm
            hydrogen[r, 1] += dy / norm
            hydrogen[r, 2] += dz / norm
    residue_of = np.empty(n_valid, dtype=np.int64)
    ca = np.empty((n_valid, 3), dtype=np.float32)
    k = 0
    for r in range(n):
        if valid[r]:
            residue_of[k] = r
            for a in range(3):
                ca[k, a] = coords[backbone[r, 1], a]
            k += 1
    partners = np.full((n, 2), -1, dtype=np.int64)
    energies = np.zeros((n, 2))
    first, second, _ = pairs_within(ca, MAX_CA_DISTANCE)
    for p in range(first.shape[0]):
        ri = residue_of[first[p]]
        rj = residue_of[second[p]]
        if not is_proline[ri]:
            e = _energy(coords, hydrogen, backbone, ri, rj)
            if e < MAX_HBOND_ENERGY:
                _store(partners, energies, ri, rj, e)
        if rj != ri + 1 and not is_proline[rj]:
            e = _energy(coords, hydrogen, backbone, rj, ri)
            if e < MAX_HBOND_ENERGY:
                _store(partners, energies, rj, ri, e)
    return partners, energies


@jit
def _energy(coords: np.ndarray, hydrogen: np.ndarray, backbone: np.ndarray, donor: int, acceptor: int) -> float:
    n = backbone[donor, 0]
    c = backbone[acceptor, 2]
    o = backbone[acceptor, 3]
    r_ho = _distance3(hydrogen[donor, 0], hydrogen[donor, 1], hydrogen[donor, 2], coords, o)
    r_hc = _distance3(hydrogen[donor, 0], hydrogen[donor, 1], hydrogen[donor, 2], coords, c)
    r_nc = _distance3(np.float64(coords[n, 0]), np.float64(coords[n, 1]), np.float64(coords[n, 2]), coords, c)
    r_no = _distance3(np.float64(coords[n, 0]), np.float64(coords[n, 1]), np.float64(coords[n, 2]), coords, o)
    e = COUPLING * (1.0 / r_no + 1.0 / r_hc - 1.0 / r_ho - 1.0 / r_nc)
    return max(e, MIN_ENERGY)


@jit
def _distance3(x: float, y: float, z: float, coords: np.ndarray, j: int) -> float:
    dx = x - coords[j, 0]
    dy = y - coords[j, 1]
    dz = z - coords[j, 2]
    return np.sqrt(dx * dx + dy * dy + dz * dz)


@jit
def _store(partners: np.ndarray, energies: np.ndarray, donor: int, acceptor: int, e: float) -> None:
    if e < energies[donor, 0]:
        partners[donor, 1] = partners[donor, 0]
        energies[donor, 1] = energies[donor, 0]
        partners[donor, 0] = acceptor
        energies[donor, 0] = e
    elif e < energies[donor, 1]:
        partners[donor, 1] = acceptor
        energies[donor, 1] = e


@jit
def _bond(partners: np.ndarray, donor: int, acceptor: int) -> bool:
    return partners[donor, 0] == acceptor or partners[donor, 1] == acceptor


@jit
def _bridge_type(i: int, j: int, n: int, chain: np.ndarray, partners: np.ndarray) -> int:
    a = i - 1
    b = i
    c = i + 1
    d = j - 1
    e = j
    f = j + 1
    if a >= 0 and c < n and chain[a] == chain[c] and d >= 0 and f < n and chain[d] == chain[f]:
        if (_bond(partners, c, e) and _bond(partners, e, a)) or (_bond(partners, f, b) and _bond(partners, b, d)):
            return _PARALLEL
        if (_bond(partners, c, d) and _bond(partners, f, a)) or (_bond(partners, e, b) and _bond(partners, b, e)):
            return _ANTIPARALLEL
    return 0


@jit
def _beta_sheets(chain: np.ndarray, partners: np.ndarray, skip: np.ndarray, secondary: np.ndarray) -> None:
    n = chain.shape[0]
    # Residues bonded (as donor or acceptor) to each residue: candidates for bridges.
    degree = np.zeros(n + 1, dtype=np.int64)
    for r in range(n):
        for s in range(2):
            p = partners[r, s]
            if p >= 0:
                degree[r + 1] += 1
                degree[p + 1] += 1
    for r in range(n):
        degree[r + 1] += degree[r]
    linked = np.empty(degree[n], dtype=np.int64)
    fill = degree[:-1].copy()
    for r in range(n):
        for s in range(2):
            p = partners[r, s]
            if p >= 0:
                linked[fill[r]] = p
                fill[r] += 1
                linked[fill[p]] = r
                fill[p] += 1
    # Ladders: type, chain of i, first/last i, first/last j, number of bridges.
    capacity = 16
    ladder = np.empty((capacity, 7), dtype=np.int64)
    n_ladders = 0
    candidates = np.empty(max(16 * n, 16), dtype=np.int64)
    for i in range(1, n - 4):
        # j runs over residues within one of a partner of i-1, i or i+1; others cannot bridge.
        m = 0
        for r in range(i - 1, i + 2):
            for q in range(degree[r], degree[r + 1]):
                for j in range(linked[q] - 1, linked[q] + 2):
                    if i + 3 <= j < n - 1:
                        if m == candidates.shape[0]:
                            grown = np.empty(2 * m, dtype=np.int64)
                            grown[:m] = candidates
                            candidates = grown
                        candidates[m] = j
                        m += 1
        ordered = np.unique(candidates[:m])
        for j in ordered:
            kind = _bridge_type(j, i, n, chain, partners)
            if kind == 0 or skip[i] or skip[j]:
                continue
            found = False
            for b in range(n_ladders):
                if kind != ladder[b, 0] or i != ladder[b, 3] + 1:
                    continue
                if kind == _PARALLEL and ladder[b, 5] + 1 == j:
                    ladder[b, 3] = i
                    ladder[b, 5] = j
                    ladder[b, 6] += 1
                    found = True
                    break
                if kind == _ANTIPARALLEL and ladder[b, 4] - 1 == j:
                    ladder[b, 3] = i
                    ladder[b, 4] = j
                    ladder[b, 6] += 1
                    found = True
                    break
            if not found:
                if n_ladders == capacity:
                    capacity *= 2
                    grown2 = np.empty((capacity, 7), dtype=np.int64)
                    grown2[:n_ladders] = ladder[:n_ladders]
                    ladder = grown2
                ladder[n_ladders, 0] = kind
                ladder[n_ladders, 1] = chain[i]
                ladder[n_ladders, 2] = i
                ladder[n_ladders, 3] = i
                ladder[n_ladders, 4] = j
                ladder[n_ladders, 5] = j
                ladder[n_ladders, 6] = 1
                n_ladders += 1
    # Sort by (chain of i, first i), keeping creation order among equals.
    keys = np.empty(n_ladders, dtype=np.int64)
    for b in range(n_ladders):
        keys[b] = ladder[b, 1] * (n + 1) + ladder[b, 2]
    order = np.argsort(keys, kind="mergesort")
    ladders = np.empty((n_ladders, 7), dtype=np.int64)
    for b in range(n_ladders):
        ladders[b] = ladder[order[b]]
    alive = np.ones(n_ladders, dtype=np.bool_)
    # Join ladders separated by a bulge.
    for i in range(n_ladders):
        if not alive[i]:
            continue
        for j in range(i + 1, n_ladders):
            if not alive[j]:
                continue
            ibi = ladders[i, 2]
            iei = ladders[i, 3]
            jbi = ladders[i, 4]
            jei = ladders[i, 5]
            ibj = ladders[j, 2]
            iej = ladders[j, 3]
            jbj = ladders[j, 4]
            jej = ladders[j, 5]
            if (
                ladders[i, 0] != ladders[j, 0]
                or chain[min(ibi, ibj)] != chain[max(iei, iej)]
                or chain[min(jbi, jbj)] != chain[max(jei, jej)]
                or ibj - iei >= 6
                or (iei >= ibj and ibi <= iej)
            ):
                continue
            if ladders[i, 0] == _PARALLEL:
                bulge = (jbj > jbi) and ((jbj - jei < 6 and ibj - iei < 3) or (jbj - jei < 3))
            else:
                bulge = (jbj < jbi) and ((jbi - jej < 6 and ibj - iei < 3) or (jbi - jej < 3))
            if bulge:
                ladders[i, 3] = iej
                if ladders[i, 0] == _PARALLEL:
                    ladders[i, 5] = jej
                else:
                    ladders[i, 4] = jbj
                ladders[i, 6] += ladders[j, 6]
                alive[j] = False
    for b in range(n_ladders):
        if not alive[b]:
            continue
        code = BRIDGE if ladders[b, 6] == 1 else STRAND
        for r in range(ladders[b, 2], ladders[b, 3] + 1):
            if secondary[r] != STRAND:
                secondary[r] = code
        for r in range(ladders[b, 4], ladders[b, 5] + 1):
            if secondary[r] != STRAND:
                secondary[r] = code


@jit
def _starts(flag: int) -> bool:
    return flag in (_START, _START_AND_END)


@jit
def _helices(
    coords: np.ndarray,
    backbone: np.ndarray,
    chain: np.ndarray,
    partners: np.ndarray,
    skip: np.ndarray,
    secondary: np.ndarray,
) -> None:
    n = chain.shape[0]
    flags = np.zeros((n, 6), dtype=np.int64)
    for stride in range(3, 6):
        for i in range(n - stride):
            if _bond(partners, i + stride, i) and chain[i] == chain[i + stride]:
                flags[i + stride, stride] = _END
                for j in range(i + 1, i + stride):
                    if flags[j, stride] == _NONE:
                        flags[j, stride] = _MIDDLE
                if flags[i, stride] == _END:
                    flags[i, stride] = _START_AND_END
                else:
                    flags[i, stride] = _START
    for i in range(1, n - 4):
        if _starts(flags[i, 4]) and _starts(flags[i - 1, 4]):
            for j in range(i, i + 4):
                secondary[j] = ALPHA
    for i in range(1, n - 3):
        if _starts(flags[i, 3]) and _starts(flags[i - 1, 3]):
            empty = True
            for j in range(i, i + 3):
                if not (secondary[j] == LOOP or secondary[j] == HELIX_3):
                    empty = False
            if empty:
                for j in range(i, i + 3):
                    secondary[j] = HELIX_3
    for i in range(1, n - 5):
        if _starts(flags[i, 5]) and _starts(flags[i - 1, 5]):
            empty = True
            for j in range(i, i + 5):
                if not (secondary[j] == LOOP or secondary[j] == HELIX_5 or secondary[j] == ALPHA):
                    empty = False
            if empty:
                for j in range(i, i + 5):
                    secondary[j] = HELIX_5
    bend = np.zeros(n, dtype=np.bool_)
    limit = np.cos(70.0 * np.pi / 180.0)
    for i in range(2, n - 2):
        if chain[i - 2] == chain[i + 2] and not skip[i - 2] and not skip[i] and not skip[i + 2]:
            a = backbone[i - 2, 1]
            b = backbone[i, 1]
            c = backbone[i + 2, 1]
            ux = np.float64(coords[a, 0]) - coords[b, 0]
            uy = np.float64(coords[a, 1]) - coords[b, 1]
            uz = np.float64(coords[a, 2]) - coords[b, 2]
            vx = np.float64(coords[b, 0]) - coords[c, 0]
            vy = np.float64(coords[b, 1]) - coords[c, 1]
            vz = np.float64(coords[b, 2]) - coords[c, 2]
            cosine = (ux * vx + uy * vy + uz * vz) / np.sqrt(
                (ux * ux + uy * uy + uz * uz) * (vx * vx + vy * vy + vz * vz)
            )
            bend[i] = cosine < limit
    for i in range(1, n - 1):
        if secondary[i] == LOOP and not skip[i]:
            turn = False
            for stride in range(3, 6):
                for k in range(1, stride):
                    if i >= k and _starts(flags[i - k, stride]):
                        turn = True
            if turn:
                secondary[i] = TURN
            elif bend[i]:
                secondary[i] = BEND


@jit
def assign(
    coords: np.ndarray, backbone: np.ndarray, is_proline: np.ndarray, chain: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DSSP 8-state assignment of every residue.

    Parameters
    ----------
    coords : ndarray, shape=(n_atoms, 3), dtype=float32
        Coordinates in Å.
    backbone : ndarray, shape=(n_residues, 4), dtype=int64
        Atom indices of N, CA, C, O per residue (negative when missing: such a
        residue is skipped and stays a loop).
    is_proline : ndarray, shape=(n_residues,), dtype=bool
    chain : ndarray, shape=(n_residues,), dtype=int64
        Segment of each residue: patterns never span two segments. Consecutive
        residues must have consecutive indices within a segment.

    Returns
    -------
    codes : ndarray, shape=(n_residues,), dtype=int8
        0 loop, 1 H, 2 B, 3 E, 4 G, 5 I, 6 T, 7 S (see :data:`CODES`).
    partners, energies : ndarray, shape=(n_residues, 2)
        The hydrogen bonds of :func:`hydrogen_bonds`.
    """
    n = backbone.shape[0]
    skip = np.zeros(n, dtype=np.bool_)
    for r in range(n):
        for a in range(4):
            if backbone[r, a] < 0:
                skip[r] = True
    partners, energies = hydrogen_bonds(coords, backbone, is_proline, chain)
    secondary = np.zeros(n, dtype=np.int8)
    _beta_sheets(chain, partners, skip, secondary)
    _helices(coords, backbone, chain, partners, skip, secondary)
    return secondary, partners, energies
