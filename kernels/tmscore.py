"""TM-score with the TM-score program's superposition search, and GDT counts on the way.

Given residue pairs (model CA ``x_k`` paired with reference CA ``y_k``), the
TM-score is ``max over rigid motions of sum_k 1 / (1 + (d_k / d0)²) / L_norm``.
The maximum is searched as Zhang & Skolnick's TM-score program does (US-align's
``TMscore8_search`` with ``simplify_step = 1``): superpose on every contiguous
fragment of length ``L, L/2, L/4, ...`` down to 4, keep the pairs closer than
``d0_search - 1``, and iterate superposition on the pairs closer than
``d0_search + 1`` (at most 20 times, or until the set stops changing), loosening
the cutoff by 0.5 Å until at least 3 pairs qualify.

GDT counts (pairs within 0.5, 1, 2, 4 and 8 Å) are maximised over the same
superpositions, as the TM-score program reports them.
"""

from __future__ import annotations

import numpy as np

from workbench.kernels._config import jit
from workbench.kernels.superpose import superpose_pair

#: GDT distance cutoffs, Å.
GDT_CUTOFFS = (0.5, 1.0, 2.0, 4.0, 8.0)


@jit
def d0_for_length(length: float) -> float:
    """TM-score's distance scale d0 for a normalisation length (US-align's final parameters).

    ``1.24 (L - 15)^(1/3) - 1.8`` for ``L > 21``, at least 0.5 Å.
    """
    if length <= 21:
        return 0.5
    return max(0.5, 1.24 * (length - 15.0) ** (1.0 / 3.0) - 1.8)


@jit
def _score(
    x: np.ndarray,
    y: np.ndarray,
    rotation: np.ndarray,
    translation: np.ndarray,
    d: float,
    d02: float,
    lnorm: float,
    distance2: np.ndarray,
    selected: np.ndarray,
    gdt: np.ndarray,
) -> tuple[int, float]:
    """TM-score of the model moved by ``(rotation, translation)``; pairs closer than ``d`` into ``selected``.

    The cutoff is loosened by 0.5 Å until at least 3 pairs qualify (when there are
    more than 3). Squared distances are left in ``distance2``; GDT counts in ``gdt``.
    """
    n = x.shape[0]
    r00, r01, r02 = rotation[0, 0], rotation[0, 1], rotation[0, 2]
    r10, r11, r12 = rotation[1, 0], rotation[1, 1], rotation[1, 2]
    r20, r21, r22 = rotation[2, 0], rotation[2, 1], rotation[2, 2]
    t0, t1, t2 = translation[0], translation[1], translation[2]
    total = 0.0
    g05 = g1 = g2 = g4 = g8 = 0
    inverse_d02 = 1.0 / d02
    for k in range(n):  # no data-dependent stores: vectorises
        px = r00 * x[k, 0] + r01 * x[k, 1] + r02 * x[k, 2] + t0
        py = r10 * x[k, 0] + r11 * x[k, 1] + r12 * x[k, 2] + t1
        pz = r20 * x[k, 0] + r21 * x[k, 1] + r22 * x[k, 2] + t2
        dx = px - y[k, 0]
        dy = py - y[k, 1]
        dz = pz - y[k, 2]
        di = dx * dx + dy * dy + dz * dz
        distance2[k] = di
        total += 1.0 / (1.0 + di * inverse_d02)
        g05 += di < 0.25
        g1 += di < 1.0
        g2 += di < 4.0
        g4 += di < 16.0
        g8 += di < 64.0
    gdt[0] = g05
    gdt[1] = g1
    gdt[2] = g2
    gdt[3] = g4
    gdt[4] = g8
    d_tmp = d * d
    n_cut = 0
    for k in range(n):
        if distance2[k] < d_tmp:
            selected[n_cut] = k
            n_cut += 1
    increment = 0
    while n_cut < 3 and n > 3:
        increment += 1
        dinc = d + increment * 0.5
        d_tmp = dinc * dinc
        n_cut = 0
        for k in range(n):
            if distance2[k] < d_tmp:
                selected[n_cut] = k
                n_cut += 1
    return n_cut, total / lnorm


@jit
def _set_key(selected: np.ndarray, n: int) -> int:
    """A 62-bit key of an increasing index set (two polynomial hashes modulo primes; never 0).

    Int64 arithmetic without overflow, so that the key is the same with and without JIT.
    """
    h1 = n % 2147483647
    h2 = (3 * n + 1) % 2147483629
    for k in range(n):
        h1 = (h1 * 1000003 + selected[k] + 1) % 2147483647
        h2 = (h2 * 999983 + selected[k] + 7) % 2147483629
    return h1 * 2147483648 + h2 + 1


@jit
def _remember(keys: np.ndarray, budget: np.ndarray, key: int, remaining: int) -> tuple:
    """Whether ``key`` was explored with at least ``remaining`` iterations; record it either way.

    Open addressing in ``keys`` (0 = empty slot); ``budget[-1]`` counts the used
    slots; both arrays are replaced by twice larger ones at half load.

    Returns
    -------
    seen : bool
    keys, budget : ndarray
        The (possibly grown) table.
    """
    capacity = keys.shape[0]
    slot = key % capacity
    while keys[slot] != 0 and keys[slot] != key:
        slot = (slot + 1) % capacity
    if keys[slot] == key:
        if budget[slot] >= remaining:
            return True, keys, budget
        budget[slot] = remaining
        return False, keys, budget
    keys[slot] = key
    budget[slot] = remaining
    budget[capacity] += 1
    if 2 * budget[capacity] <= capacity:
        return False, keys, budget
    grown_keys = np.zeros(2 * capacity, dtype=np.int64)
    grown_budget = np.zeros(2 * capacity + 1, dtype=np.int64)
    grown_budget[2 * capacity] = budget[capacity]
    for old in range(capacity):
        if keys[old] != 0:
            new = keys[old] % (2 * capacity)
            while grown_keys[new] != 0:
                new = (new + 1) % (2 * capacity)
            grown_keys[new] = keys[old]
            grown_budget[new] = budget[old]
    return False, grown_keys, grown_budget


@jit
def tm_search(
    model: np.ndarray, reference: np.ndarray, lnorm: float, d0: float, d0_search: float
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Maximise the TM-score of paired coordinates over rigid motions of the model.

    Parameters
    ----------
    model, reference : ndarray, shape=(n, 3), dtype=float32
        Paired coordinates (CA atoms), ``n >= 1``.
    lnorm : float
        Normalisation length (the reference's residue count).
    d0 : float
        Distance scale, usually :func:`d0_for_length` of ``lnorm``.
    d0_search : float
        Search cutoff scale, ``d0`` clipped to ``[4.5, 8]`` in the TM-score program.

    Returns
    -------
    tm : float
        The best TM-score found.
    rotation : ndarray, shape=(3, 3), dtype=float64
    translation : ndarray, shape=(3,), dtype=float64
        The best superposition: ``model @ rotation.T + translation``.
    gdt : ndarray, shape=(5,), dtype=int64
        Largest numbers of pairs within 0.5, 1, 2, 4 and 8 Å over all
        superpositions tried.
    """
    n = model.shape[0]
    x = model.astype(np.float64)
    y = reference.astype(np.float64)
    r1 = np.empty((n, 3))
    r2 = np.empty((n, 3))
    distance2 = np.empty(n)
    selected = np.empty(n, dtype=np.int64)
    previous = np.empty(n, dtype=np.int64)
    rotation = np.empty((3, 3))
    translation = np.empty(3)
    best_rotation = np.eye(3)
    best_translation = np.zeros(3)
    gdt = np.zeros(5, dtype=np.int64)
    gdt_best = np.zeros(5, dtype=np.int64)
    d02 = d0 * d0
    # Sets already used for a superposition inside the iterations, with how many iterations
    # were left then: the iterations are a deterministic function of that set, so meeting
    # it again with no more iterations left adds nothing (exactly the same scores follow).
    # Sets are recognised by a 62-bit key; a collision (odds ~1e-11 for 10^4 sets) would
    # only skip a repeated exploration of a different set.
    keys = np.zeros(1024, dtype=np.int64)
    budget = np.zeros(1025, dtype=np.int64)

    lengths = np.empty(6, dtype=np.int64)
    min_length = min(4, n)
    n_lengths = 0
    i = 0
    while i < 5:
        n_lengths += 1
        lengths[i] = int(n / 2.0**i)
        if lengths[i] <= min_length:
            lengths[i] = min_length
            break
        i += 1
    if i == 5:
        lengths[5] = min_length
        n_lengths += 1

    score_max = -1.0
    for li in range(n_lengths):
        fragment = lengths[li]
        last_start = n - fragment
        start = 0
        while True:
            for k in range(fragment):
                for a in range(3):
                    r1[k, a] = x[start + k, a]
                    r2[k, a] = y[start + k, a]
            superpose_pair(r1[:fragment], r2[:fragment], rotation, translation)
            n_cut, score = _score(x, y, rotation, translation, d0_search - 1.0, d02, lnorm, distance2, selected, gdt)
            if score > score_max:
                score_max = score
                best_rotation[:] = rotation
                best_translation[:] = translation
            for c in range(5):
                gdt_best[c] = max(gdt_best[c], gdt[c])
            for iteration in range(20):
                if n_cut == 0:
                    break
                seen, keys, budget = _remember(keys, budget, _set_key(selected, n_cut), 20 - iteration)
                if seen:
                    break
                n_previous = n_cut
                for k in range(n_cut):
                    m = selected[k]
                    previous[k] = m
                    for a in range(3):
                        r1[k, a] = x[m, a]
                        r2[k, a] = y[m, a]
                superpose_pair(r1[:n_cut], r2[:n_cut], rotation, translation)
                n_cut, score = _score(
                    x, y, rotation, translation, d0_search + 1.0, d02, lnorm, distance2, selected, gdt
                )
                if score > score_max:
                    score_max = score
                    best_rotation[:] = rotation
                    best_translation[:] = translation
                for c in range(5):
                    gdt_best[c] = max(gdt_best[c], gdt[c])
                if n_cut == n_previous:
                    same = True
                    for k in range(n_cut):
                        if selected[k] != previous[k]:
                            same = False
                            break
                    if same:
                        break
            if start < last_start:
                start += 1
            else:
                break
    return score_max, best_rotation, best_translation, gdt_best
