//! Gradient-boosted decision trees: a flat, cache-friendly layout and its inference. Pure; the
//! loaders (`crate::model`) turn XGBoost JSON and LightGBM text into a [`Forest`].
//!
//! Layout: every split of every tree sits in one `Vec<Node>` (24 bytes each), every leaf value in
//! one `Vec<f64>`. A child reference is an `i32`: `≥ 0` is a node index, `< 0` is leaf `!c`. Splits
//! are normalised at build time so that one comparison serves both libraries:
//!
//! - LightGBM goes left when `x <= threshold` in f64: stored as is.
//! - XGBoost goes left when `x < threshold` in f32: with `x` rounded to f32 (exact in f64), that is
//!   `x <= next_down(threshold)`, so the threshold is stored as `next_down(t as f32) as f64` and the
//!   forest rounds inputs to f32 ([`Forest::round_inputs`]).
//! - Missing values: where a NaN goes is decided per node at build time (XGBoost and LightGBM's
//!   missing type NaN: the default direction; LightGBM's missing type none: where 0.0 goes, since it
//!   reads NaN as 0); LightGBM's missing type zero also sends |x| ≤ 1e-35 the default way.
//!
//! Children are required to come after their parent, so a walk always ends. Inference allocates
//! nothing.

/// A split whose NaN goes left.
const NAN_LEFT: u8 = 1;
/// A split where zero counts as missing (LightGBM missing type zero).
const ZERO_MISSING: u8 = 2;
/// The default direction of a [`ZERO_MISSING`] split is left.
const DEFAULT_LEFT: u8 = 4;
/// LightGBM's `kZeroThreshold`: |x| at most this is zero.
const ZERO_THRESHOLD: f64 = 1e-35_f32 as f64;

/// One split in the flat layout.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C)]
struct Node {
    threshold: f64,
    left: i32,
    right: i32,
    feature: u16,
    flags: u8,
}

/// How the source library compares a feature with a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// XGBoost: left when `x < t`, both rounded to f32; leaf values summed in f32.
    LessF32,
    /// LightGBM: left when `x <= t` in f64; leaf values summed in f64.
    LessEqualF64,
}

/// How a split treats missing values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// NaN goes the default way (XGBoost; LightGBM missing type NaN).
    Nan,
    /// NaN is read as 0.0 (LightGBM missing type none).
    AsZero,
    /// NaN and zero go the default way (LightGBM missing type zero).
    Zero,
}

/// A child of a split, as a loader reads it: another split of the same tree or a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Child {
    Split(u32),
    Leaf(u32),
}

/// A split as a loader reads it (tree-local indices).
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub feature: u32,
    /// The threshold exactly as the library stores it (XGBoost's f32, LightGBM's f64).
    pub threshold: f64,
    pub default_left: bool,
    pub missing: Missing,
    pub left: Child,
    pub right: Child,
    /// The expected output at this node (for attributions): LightGBM's `internal_value`, XGBoost's
    /// cover-weighted mean of the leaves below.
    pub value: f64,
}

/// One tree as a loader reads it. A tree without splits is a single leaf (`root = Leaf(0)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    pub splits: Vec<Split>,
    pub leaves: Vec<f64>,
    pub root: Child,
}

/// A model that cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("tree {tree}: {message}")]
pub struct ForestError {
    pub tree: usize,
    pub message: String,
}

/// A boosted ensemble whose raw output is `base + Σ leaf`.
#[derive(Debug, Clone)]
pub struct Forest {
    nodes: Vec<Node>,
    leaves: Vec<f64>,
    /// Root of each tree (node index, or `!leaf`).
    roots: Vec<i32>,
    /// Expected output at each node, for attributions.
    node_values: Vec<f64>,
    base: f64,
    comparison: Comparison,
    n_features: usize,
}

impl Forest {
    /// Builds the flat layout; checks every index.
    pub fn new(
        trees: Vec<Tree>,
        base: f64,
        comparison: Comparison,
        n_features: usize,
    ) -> Result<Self, ForestError> {
        if n_features > usize::from(u16::MAX) {
            return Err(ForestError {
                tree: 0,
                message: format!("{n_features} features are more than {}", u16::MAX),
            });
        }
        let mut forest = Forest {
            nodes: Vec::with_capacity(trees.iter().map(|t| t.splits.len()).sum()),
            leaves: Vec::with_capacity(trees.iter().map(|t| t.leaves.len()).sum()),
            roots: Vec::with_capacity(trees.len()),
            node_values: Vec::new(),
            base,
            comparison,
            n_features,
        };
        for (t, tree) in trees.into_iter().enumerate() {
            let err = |message: String| ForestError { tree: t, message };
            let node0 = forest.nodes.len();
            let leaf0 = forest.leaves.len();
            if i32::try_from(node0 + tree.splits.len()).is_err()
                || i32::try_from(leaf0 + tree.leaves.len()).is_err()
            {
                return Err(err("the model is too large".into()));
            }
            let child = |c: Child, parent: Option<usize>| -> Result<i32, ForestError> {
                match c {
                    Child::Split(i) => {
                        let i = i as usize;
                        if i >= tree.splits.len() {
                            return Err(err(format!("child split {i} does not exist")));
                        }
                        if parent.is_some_and(|p| i <= p) {
                            return Err(err(format!(
                                "split {i} is a child of split {} but does not come after it",
                                parent.unwrap_or(0)
                            )));
                        }
                        Ok((node0 + i) as i32)
                    }
                    Child::Leaf(i) => {
                        let i = i as usize;
                        if i >= tree.leaves.len() {
                            return Err(err(format!("leaf {i} does not exist")));
                        }
                        Ok(!((leaf0 + i) as i32))
                    }
                }
            };
            if tree.splits.is_empty() && tree.leaves.len() != 1 {
                return Err(err(
                    "a tree without splits must have exactly one leaf".into()
                ));
            }
            forest.roots.push(child(tree.root, None)?);
            for (i, s) in tree.splits.iter().enumerate() {
                if s.feature as usize >= n_features {
                    return Err(err(format!(
                        "split {i} reads feature {} of {n_features}",
                        s.feature
                    )));
                }
                if s.threshold.is_nan() {
                    return Err(err(format!("split {i} has a NaN threshold")));
                }
                let threshold = match comparison {
                    Comparison::LessF32 => f32_next_down(s.threshold as f32) as f64,
                    Comparison::LessEqualF64 => s.threshold,
                };
                let nan_left = match s.missing {
                    Missing::Nan | Missing::Zero => s.default_left,
                    Missing::AsZero => 0.0 <= threshold,
                };
                let flags = u8::from(nan_left) * NAN_LEFT
                    | u8::from(s.missing == Missing::Zero) * ZERO_MISSING
                    | u8::from(s.default_left) * DEFAULT_LEFT;
                forest.nodes.push(Node {
                    threshold,
                    left: child(s.left, Some(i))?,
                    right: child(s.right, Some(i))?,
                    feature: s.feature as u16,
                    flags,
                });
                forest.node_values.push(s.value);
            }
            forest.leaves.extend_from_slice(&tree.leaves);
        }
        Ok(forest)
    }

    /// How many trees.
    pub fn trees(&self) -> usize {
        self.roots.len()
    }

    /// How many input features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Whether inputs are rounded to f32 before comparison (XGBoost).
    pub fn round_inputs(&self) -> bool {
        self.comparison == Comparison::LessF32
    }

    /// The raw margin (log-odds) for one row of `n_features` values; NaN = missing.
    ///
    /// Panics if `x` is shorter than [`Forest::n_features`].
    pub fn predict(&self, x: &[f64]) -> f64 {
        assert!(x.len() >= self.n_features, "row has too few features");
        match self.comparison {
            Comparison::LessF32 => {
                let mut sum = self.base as f32;
                for &root in &self.roots {
                    sum += self.leaves[self.walk::<true>(root, x)] as f32;
                }
                f64::from(sum)
            }
            Comparison::LessEqualF64 => {
                let mut sum = self.base;
                for &root in &self.roots {
                    sum += self.leaves[self.walk::<false>(root, x)];
                }
                sum
            }
        }
    }

    /// The raw margin, and each feature's contribution to it added into `contributions` (Saabas:
    /// along each tree's decision path, the change of the expected output is credited to the
    /// split's feature). Returns (margin, bias), where bias is the expected margin before any split;
    /// `bias + Σ contributions` equals the margin up to rounding.
    pub fn predict_with_contributions(&self, x: &[f64], contributions: &mut [f64]) -> (f64, f64) {
        assert!(x.len() >= self.n_features && contributions.len() >= self.n_features);
        let mut bias = self.base;
        for &root in &self.roots {
            let mut i = root;
            if i < 0 {
                bias += self.leaves[!i as usize];
                continue;
            }
            bias += self.node_values[i as usize];
            while i >= 0 {
                let n = &self.nodes[i as usize];
                let parent_value = self.node_values[i as usize];
                i = self.step(n, x, self.round_inputs());
                let value = if i >= 0 {
                    self.node_values[i as usize]
                } else {
                    self.leaves[!i as usize]
                };
                contributions[usize::from(n.feature)] += value - parent_value;
            }
        }
        (self.predict(x), bias)
    }

    #[inline(always)]
    fn walk<const ROUND: bool>(&self, root: i32, x: &[f64]) -> usize {
        let mut i = root;
        while i >= 0 {
            // SAFETY-free fast path: indices were checked in `new`, the bounds checks stay.
            i = self.step(&self.nodes[i as usize], x, ROUND);
        }
        !i as usize
    }

    #[inline(always)]
    fn step(&self, n: &Node, x: &[f64], round: bool) -> i32 {
        let raw = x[usize::from(n.feature)];
        let v = if round { f64::from(raw as f32) } else { raw };
        let left = if v.is_nan() {
            n.flags & NAN_LEFT != 0
        } else if n.flags & ZERO_MISSING != 0 && v.abs() <= ZERO_THRESHOLD {
            n.flags & DEFAULT_LEFT != 0
        } else {
            v <= n.threshold
        };
        if left { n.left } else { n.right }
    }
}

/// The largest f32 below `t` (`f32::next_down`, written out for the crate's minimum Rust).
fn f32_next_down(t: f32) -> f32 {
    if t.is_nan() || t == f32::NEG_INFINITY {
        return t;
    }
    if t == 0.0 {
        return -f32::from_bits(1);
    }
    let bits = t.to_bits();
    f32::from_bits(if t > 0.0 { bits - 1 } else { bits + 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// x0 < 1 ? (x1 < 2 ? 1 : 2) : 3, with NaN of x0 going right and of x1 left.
    fn tree(missing: Missing) -> Tree {
        Tree {
            splits: vec![
                Split {
                    feature: 0,
                    threshold: 1.0,
                    default_left: false,
                    missing,
                    left: Child::Split(1),
                    right: Child::Leaf(2),
                    value: 2.0,
                },
                Split {
                    feature: 1,
                    threshold: 2.0,
                    default_left: true,
                    missing,
                    left: Child::Leaf(0),
                    right: Child::Leaf(1),
                    value: 1.5,
                },
            ],
            leaves: vec![1.0, 2.0, 3.0],
            root: Child::Split(0),
        }
    }

    #[test]
    fn xgboost_goes_left_strictly_below_in_f32() {
        let f = Forest::new(vec![tree(Missing::Nan)], 0.5, Comparison::LessF32, 2).unwrap();
        assert_eq!(f.predict(&[0.0, 0.0]), 1.5);
        assert_eq!(f.predict(&[1.0, 0.0]), 3.5); // x == threshold goes right
        assert_eq!(f.predict(&[0.999_999_999, 0.0]), 3.5); // rounds to 1.0f32
        assert_eq!(f.predict(&[0.99, 2.0]), 2.5);
        assert_eq!(f.predict(&[f64::NAN, 0.0]), 3.5);
        assert_eq!(f.predict(&[0.0, f64::NAN]), 1.5);
    }

    #[test]
    fn lightgbm_goes_left_at_or_below_in_f64() {
        let f = Forest::new(vec![tree(Missing::Nan)], 0.0, Comparison::LessEqualF64, 2).unwrap();
        assert_eq!(f.predict(&[1.0, 2.0]), 1.0);
        assert_eq!(f.predict(&[1.000_000_000_000_1, 0.0]), 3.0);
        assert_eq!(f.predict(&[f64::NAN, 0.0]), 3.0);
        // Missing type none: NaN is 0.0, which is ≤ 1 and ≤ 2.
        let f = Forest::new(
            vec![tree(Missing::AsZero)],
            0.0,
            Comparison::LessEqualF64,
            2,
        )
        .unwrap();
        assert_eq!(f.predict(&[f64::NAN, f64::NAN]), 1.0);
        // Missing type zero: 0 goes the default way (right at the root).
        let f = Forest::new(vec![tree(Missing::Zero)], 0.0, Comparison::LessEqualF64, 2).unwrap();
        assert_eq!(f.predict(&[0.0, 0.0]), 3.0);
        assert_eq!(f.predict(&[0.5, 0.0]), 1.0);
        assert_eq!(f.predict(&[0.5, f64::NAN]), 1.0);
    }

    #[test]
    fn contributions_add_up_to_the_margin() {
        let f = Forest::new(
            vec![tree(Missing::Nan), tree(Missing::Nan)],
            0.25,
            Comparison::LessEqualF64,
            2,
        )
        .unwrap();
        let mut c = [0.0; 2];
        let (margin, bias) = f.predict_with_contributions(&[0.5, 3.0], &mut c);
        assert_eq!(margin, 4.25);
        assert_eq!(bias, 4.25);
        assert_eq!(c, [-1.0, 1.0]);
        assert!((bias + c.iter().sum::<f64>() - margin).abs() < 1e-12);
    }

    #[test]
    fn bad_trees_are_refused() {
        let mut t = tree(Missing::Nan);
        t.splits[1].left = Child::Split(0);
        let e = Forest::new(vec![t], 0.0, Comparison::LessF32, 2).unwrap_err();
        assert!(e.message.contains("does not come after"), "{e}");
        let e = Forest::new(vec![tree(Missing::Nan)], 0.0, Comparison::LessF32, 1).unwrap_err();
        assert!(e.message.contains("reads feature 1 of 1"), "{e}");
        let mut t = tree(Missing::Nan);
        t.splits[0].right = Child::Leaf(9);
        assert!(Forest::new(vec![t], 0.0, Comparison::LessF32, 2).is_err());
    }

    #[test]
    fn next_down() {
        assert_eq!(f32_next_down(1.0), 1.0 - f32::EPSILON / 2.0);
        assert!(f32_next_down(0.0) < 0.0);
        assert!(f32_next_down(-1.0) < -1.0);
    }
}
