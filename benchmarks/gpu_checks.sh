#!/usr/bin/env bash
# The GPU checks, in one call of about 6 minutes on one H100 (the plain loop over 32 sequences of
# 50-800 residues alone takes over 4 minutes there, hence the shorter mix):
#   1. ESMFold at full esmfold_v1 size (random weights): throughput against the plain `infer` loop,
#      bf16 / TF32 trunk agreement with fp32, peak memory by length, the longest sequence folded;
#   2. `workbench refine` on CUDA against the CPU (energies, times, RMSD between the two results);
#   3. `workbench run --cluster cuda`: the README's variant screen on a one-GPU dask-cuda cluster.
#
# Usage: bash benchmarks/gpu_checks.sh [STRUCTURE ...]
#   STRUCTURE: extra files to refine on both platforms (PDBFixer's 1BHL is always refined).
# Figures and logs go to $OUT (default ./gpu-checks). Every step has its own time limit, so one
# that hangs or fails leaves the others' figures.
set -u
out=${OUT:-gpu-checks}
mkdir -p "$out"
work=$(mktemp -d)
export PYTHONUNBUFFERED=1
stamp() { echo "== $(date +%T) $*"; }

stamp "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 - <<'EOF'
import openmm, torch, transformers
names = [openmm.Platform.getPlatform(i).getName() for i in range(openmm.Platform.getNumPlatforms())]
print(f"torch {torch.__version__}, transformers {transformers.__version__}, OpenMM {openmm.__version__} {names}")
for failure in openmm.Platform.getPluginLoadFailures():
    print("OpenMM plugin load failure:", failure)
EOF

stamp "1. ESMFold, esmfold_v1 architecture with random weights"
timeout 200 python3 benchmarks/esmfold.py --device cuda -n 12 --max-length 400 --precision-check 2 \
    --probe-longest --probe-seconds 60 --json "$out/esmfold.json" 2>&1 | tee "$out/esmfold.log"

stamp "2. workbench refine, CUDA against CPU (minimisation; then 10 ps of implicit-solvent MD)"
bhl=$(python3 -c "import pathlib, pdbfixer; print(pathlib.Path(pdbfixer.__file__).parent / 'tests/data/1BHL.pdb')")
refine_both() {  # refine_both STRUCTURE LABEL [workbench refine options]
    local structure=$1 label=$2
    shift 2
    for platform in CUDA CPU; do
        local start=$(date +%s%N)
        timeout 60 workbench refine "$structure" -o "$work/$label-$platform.pdb" --platform "$platform" "$@" \
            > "$work/$label-$platform.out" 2>&1
        echo "$label on $platform: exit $?, $(( ($(date +%s%N) - start) / 1000000 )) ms wall"
        grep -E "platform|energy|time|RMSD|rror" "$work/$label-$platform.out"
        [ -f "$work/$label-$platform.json" ] && cp "$work/$label-$platform.json" "$out/refine-$label-$platform.json"
    done
    if [ -f "$work/$label-CUDA.pdb" ] && [ -f "$work/$label-CPU.pdb" ]; then
        echo "$label, CUDA result against CPU result:"
        workbench compare "$work/$label-CUDA.pdb" "$work/$label-CPU.pdb" --pairing numbering
    fi
}
refine_both "$bhl" 1BHL
for structure in "$@"; do
    refine_both "$structure" "$(basename "$structure" | sed 's/\.[^.]*$//')"
done
refine_both "$bhl" 1BHL-md10ps --md-ps 10

stamp "3. workbench run --cluster cuda (one-GPU dask-cuda cluster)"
start=$(date +%s%N)
timeout 150 workbench run examples/data/integrase_variants.fasta -o "$work/screen" --cluster cuda \
    > "$out/screen.log" 2>&1
echo "exit $?, $(( ($(date +%s%N) - start) / 1000000 )) ms wall"
tail -25 "$out/screen.log"
[ -f "$work/screen/summary.csv" ] && cp "$work/screen/summary.csv" "$out/screen-summary.csv"
python3 - "$work/screen" <<'EOF'
import json, pathlib, sys
for path in sorted(pathlib.Path(sys.argv[1]).glob("*/refinement.json"))[:3]:
    report = json.loads(path.read_text())
    print(path.parent.name, {k: report.get(k) for k in ("platform", "wall_time_s", "timings_s")})
EOF
stamp "done"
