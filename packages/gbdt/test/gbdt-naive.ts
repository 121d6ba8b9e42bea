import type { GbdtModel } from '../src';

/**
 * The model's semantics, spelled out for tests: base score plus the first `treeEnd` trees,
 * each walked with float32 comparisons (ONNX BRANCH_LEQ), NaN following default_left.
 */
export function naivePredict(m: GbdtModel, row: ArrayLike<number>, treeEnd = m.trees.length): number {
  let s = m.baseScore;
  for (let t = 0; t < treeEnd; t++) {
    const tree = m.trees[t];
    let node = tree.numLeaves > 1 ? 0 : ~0;
    while (node >= 0) {
      const v = Math.fround(row[tree.splitFeature[node]]);
      const left = Number.isNaN(v) ? tree.defaultLeft[node] === 1 : v <= tree.threshold[node];
      node = left ? tree.leftChild[node] : tree.rightChild[node];
    }
    s += tree.leafValue[~node];
  }
  return s;
}
