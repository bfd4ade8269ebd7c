// What Mol* finds in mmCIF files: its CIF parser, its model loader and its ModelCIF
// quality-assessment property (the one behind the pLDDT colouring and the PAE view).
//
//   node tests/io/molstar_quality.mjs NODE_PREFIX FILE.cif [FILE.cif ...]
//
// NODE_PREFIX is the folder molstar was installed into with `npm install --prefix`.
// Prints one JSON list with an entry per file:
//   {file, residues, plddt_applicable, plddt_residues, plddt_range, pae_metrics, pae_pairs}
// plddt_applicable: QualityAssessment.isApplicable(model, 'pLDDT') (a local metric named pLDDT);
// plddt_residues: residues the provider gave a pLDDT value; pae_pairs: residue pairs with a PAE value.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const [prefix, ...files] = process.argv.slice(2);
const require = createRequire(join(resolve(prefix), 'node_modules', 'index.js'));
const lib = 'molstar/lib/commonjs';
const { CIF } = require(`${lib}/mol-io/reader/cif`);
const { trajectoryFromMmCIF } = require(`${lib}/mol-model-formats/structure/mmcif`);
const { Task } = require(`${lib}/mol-task`);
const { SyncRuntimeContext } = require(`${lib}/mol-task/execution/synchronous`);
const { AssetManager } = require(`${lib}/mol-util/assets`);
const { QualityAssessment } = require(`${lib}/extensions/model-archive/quality-assessment/prop`);

const results = [];
for (const file of files) {
    const parsed = await CIF.parse(readFileSync(file, 'utf8')).run();
    if (parsed.isError) throw new Error(`${file}: ${parsed.message}`);
    const frame = parsed.result.blocks[0];
    const trajectory = await trajectoryFromMmCIF(frame).run();
    const model = await Task.resolveInContext(trajectory.getFrameAtIndex(0));
    const context = { runtime: SyncRuntimeContext, assetManager: new AssetManager() };
    const qa = (await QualityAssessment.obtain(context, model, {})).value;
    const plddt = qa.pLDDT ? [...qa.pLDDT.values()] : [];
    const paeMetrics = QualityAssessment.findModelArchiveCIFPAEMetrics(frame);
    let paePairs = 0;
    for (const metric of paeMetrics) {
        const pairwise = QualityAssessment.pairwiseMetricFromModelArchiveCIF(model, frame, metric.id);
        for (const row of Object.values(pairwise?.values ?? {})) paePairs += Object.keys(row).length;
    }
    results.push({
        file,
        residues: model.atomicHierarchy.residues._rowCount,
        plddt_applicable: QualityAssessment.isApplicable(model, 'pLDDT'),
        plddt_residues: plddt.length,
        plddt_range: plddt.length ? [Math.min(...plddt), Math.max(...plddt)] : null,
        pae_metrics: paeMetrics.map(m => m.name),
        pae_pairs: paePairs,
    });
}
console.log(JSON.stringify(results));
