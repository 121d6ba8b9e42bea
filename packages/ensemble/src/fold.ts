import { DataError } from '@engine/shared';
import { GbdtModel, type GbdtTree } from '@engine/gbdt';
import type { Combiner } from './combine';
import { type LinearTerm, ScoreModel, type ScoreHead } from './score-model';

/** A member as the folding sees it: a forest (GBDT or random forest), or a linear term. */
export type FoldMember = { name: string; kind: 'trees'; model: GbdtModel } | { name: string; kind: 'linear'; term: LinearTerm };

const f32 = (v: number): number => Math.fround(v);

function scaleTree(t: GbdtTree, c: number): GbdtTree {
  return { ...t, leafValue: Float64Array.from(t.leafValue, (v) => f32(v * c)) };
}

/**
 * Folds an ensemble into one {@link ScoreModel} per output: the combined score
 * `Σ w_k (f_k − μ_k)/σ_k` becomes one forest whose leaves are member leaves × w_k/σ_k and
 * one linear term with coefficients × w/σ, every constant (member base scores, −w_k μ_k/σ_k,
 * the linear intercept) summed into the forest's base score; the combiner's heads give the
 * edge (identity) and the confidence (sigmoid). Members with weight 0 are left out.
 */
export function foldEnsemble(members: readonly FoldMember[], combiner: Combiner, featureNames: readonly string[], provenance: Record<string, unknown> = {}): { edge: ScoreModel; confidence: ScoreModel } {
  if (members.length !== combiner.members.length || members.some((m, k) => m.name !== combiner.members[k])) {
    throw new DataError('COMBINER_INVALID', `the combiner was fitted on members ${combiner.members.join(', ')}; got ${members.map((m) => m.name).join(', ')}`);
  }
  const F = featureNames.length;
  let constant = 0;
  const trees: GbdtTree[] = [];
  let treeParams: GbdtModel['params'] | null = null;
  let linear: LinearTerm | null = null;
  members.forEach((m, k) => {
    const w = combiner.weights[k]!;
    if (w === 0) return;
    const c = w / combiner.sds[k]!;
    constant -= c * combiner.means[k]!;
    if (m.kind === 'trees') {
      if (m.model.objective !== 'squared_error') throw new DataError('MODEL_INVALID', `member ${m.name} must be a squared-error forest; got ${m.model.objective}`);
      if (m.model.nFeatures !== F) throw new DataError('MODEL_INVALID', `member ${m.name} has ${m.model.nFeatures} features; the ensemble has ${F}`);
      constant += c * m.model.baseScore;
      for (const t of m.model.trees) trees.push(scaleTree(t, c));
      treeParams ??= m.model.params;
    } else {
      const t = m.term;
      if (t.coef.length !== F) throw new DataError('MODEL_INVALID', `member ${m.name} has ${t.coef.length} coefficients; the ensemble has ${F} features`);
      constant += c * t.intercept;
      if (linear === null) linear = { means: [...t.means], inv_scales: [...t.inv_scales], coef: new Array<number>(F).fill(0), missing_coef: new Array<number>(F).fill(0), intercept: 0 };
      else if (t.means.some((v, j) => v !== linear!.means[j]) || t.inv_scales.some((v, j) => v !== linear!.inv_scales[j])) {
        throw new DataError('MODEL_INVALID', 'two linear members with different standardisations cannot share one LinearRegressor');
      }
      for (let j = 0; j < F; j++) {
        linear.coef[j]! += c * t.coef[j]!;
        linear.missing_coef[j]! += c * t.missing_coef[j]!;
      }
    }
  });
  let forest: GbdtModel | null = null;
  if (trees.length > 0) {
    forest = new GbdtModel({ objective: 'squared_error', baseScore: f32(constant), huberDelta: 0, nFeatures: F, featureNames, params: treeParams!, trees, roundsTrained: trees.length, validLoss: [] });
  } else if (linear !== null) {
    (linear as LinearTerm).intercept = constant;
  } else {
    // no member varies: a constant score (a linear term of zeros carries it)
    linear = { means: new Array<number>(F).fill(0), inv_scales: new Array<number>(F).fill(1), coef: new Array<number>(F).fill(0), missing_coef: new Array<number>(F).fill(0), intercept: constant };
  }
  const prov = { ...provenance, combiner: combiner.kind, members: combiner.members, weights: combiner.weights, means: combiner.means, sds: combiner.sds };
  const edgeHead: ScoreHead = { link: 'identity', output: 'predicted_edge_bps', ...combiner.edge };
  const confHead: ScoreHead = { link: 'logistic', output: 'confidence', ...combiner.confidence };
  const edge = new ScoreModel({ featureNames, trees: forest, linear, head: edgeHead, provenance: prov });
  return { edge, confidence: edge.withHead(confHead) };
}
