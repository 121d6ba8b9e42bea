/**
 * One regression tree in LightGBM's array form. Internal nodes are numbered 0..numLeaves-2
 * in the order they were split; a child index `c >= 0` is an internal node, `c < 0` is
 * leaf `~c`. A row goes left when `Math.fround(x) <= threshold` (float32 comparison, as
 * ONNX `BRANCH_LEQ`), and a missing value (NaN) goes left when `defaultLeft` is 1.
 */
export interface GbdtTree {
  readonly numLeaves: number;
  readonly splitFeature: Int32Array;
  /** Float32 values stored as float64. */
  readonly threshold: Float64Array;
  readonly defaultLeft: Uint8Array;
  readonly leftChild: Int32Array;
  readonly rightChild: Int32Array;
  /** Gain of each split (½ · loss reduction, XGBoost's convention). */
  readonly splitGain: Float64Array;
  /** Training rows (of the tree's bag) through each internal node. */
  readonly internalCount: Int32Array;
  /** Leaf outputs (learning rate applied; a random forest's divided by its number of trees), float32 values stored as float64. */
  readonly leafValue: Float64Array;
  /** Training rows (of the tree's bag) in each leaf. */
  readonly leafCount: Int32Array;
}

/** Serialised tree (plain arrays). */
export interface GbdtTreeJson {
  num_leaves: number;
  split_feature: number[];
  threshold: number[];
  default_left: number[];
  left_child: number[];
  right_child: number[];
  split_gain: number[];
  internal_count: number[];
  leaf_value: number[];
  leaf_count: number[];
}

export function treeToJson(t: GbdtTree): GbdtTreeJson {
  return {
    num_leaves: t.numLeaves,
    split_feature: Array.from(t.splitFeature),
    threshold: Array.from(t.threshold),
    default_left: Array.from(t.defaultLeft),
    left_child: Array.from(t.leftChild),
    right_child: Array.from(t.rightChild),
    split_gain: Array.from(t.splitGain),
    internal_count: Array.from(t.internalCount),
    leaf_value: Array.from(t.leafValue),
    leaf_count: Array.from(t.leafCount),
  };
}

export function treeFromJson(j: GbdtTreeJson): GbdtTree {
  return {
    numLeaves: j.num_leaves,
    splitFeature: Int32Array.from(j.split_feature),
    threshold: Float64Array.from(j.threshold),
    defaultLeft: Uint8Array.from(j.default_left),
    leftChild: Int32Array.from(j.left_child),
    rightChild: Int32Array.from(j.right_child),
    splitGain: Float64Array.from(j.split_gain),
    internalCount: Int32Array.from(j.internal_count),
    leafValue: Float64Array.from(j.leaf_value),
    leafCount: Int32Array.from(j.leaf_count),
  };
}

/** Depth of the deepest leaf (a single-leaf tree has depth 0). */
export function treeDepth(t: GbdtTree): number {
  if (t.numLeaves <= 1) return 0;
  let max = 0;
  const walk = (node: number, d: number): void => {
    if (node < 0) {
      if (d > max) max = d;
      return;
    }
    walk(t.leftChild[node], d + 1);
    walk(t.rightChild[node], d + 1);
  };
  walk(0, 0);
  return max;
}
