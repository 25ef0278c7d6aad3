//! Gradient-boosted decision trees: a flat, cache-friendly layout and its inference. Pure; the
//! loaders (`crate::model`) turn XGBoost JSON and LightGBM text into a [`Forest`].
//!
//! Layout: every node of every tree sits in one `Vec<Node>` (24 bytes each: threshold, both
//! children, feature, flags), a tree's splits first, then its leaves; node values (leaf outputs,
//! and expected outputs of splits for attributions) in a parallel `Vec<f64>`. A leaf is an
//! absorbing node (both children point to itself), so a walk is a fixed number of branch-free steps
//! (the tree's depth) with no "is this a leaf" test, and eight trees are walked in lock-step so their
//! memory loads overlap. Splits are normalised at build time so that one comparison serves both
//! libraries:
//!
//! - LightGBM goes left when `x <= threshold` in f64: stored as is.
//! - XGBoost goes left when `x < threshold` in f32: with `x` rounded to f32 (exact in f64), that is
//!   `x <= next_down(threshold)`, so the threshold is stored as `next_down(t as f32) as f64` and the
//!   forest rounds inputs to f32 ([`Forest::round_inputs`]).
//! - Missing values: where a NaN goes is decided per node at build time (XGBoost and LightGBM's
//!   missing type NaN: the default direction; LightGBM's missing type none: where 0.0 goes, since it
//!   reads NaN as 0); LightGBM's missing type zero also sends |x| ≤ 1e-35 the default way.
//!
//! Leaf values are summed in tree order, in f32 for XGBoost and f64 for LightGBM, as the libraries
//! do, so margins match theirs exactly. Children are required to come after their parent, so a walk
//! always ends. Inference allocates nothing.
//!
//! This layout is the exact reference. Forests that fit it are served by a compact layout built
//! from it ([`compact`](self::compact): 16-byte nodes comparing bin indices), which decides
//! exactly as this one does and sums the same leaf values in the same order.

mod compact;

/// A split whose NaN goes left.
const NAN_LEFT: u8 = 1;
/// A split where zero counts as missing (LightGBM missing type zero).
const ZERO_MISSING: u8 = 2;
/// The default direction of a [`ZERO_MISSING`] split is left.
const DEFAULT_LEFT: u8 = 4;
/// LightGBM's `kZeroThreshold`: |x| at most this is zero.
const ZERO_THRESHOLD: f64 = 1e-35_f32 as f64;
/// Trees walked in lock-step: enough independent loads in flight to hide L2 latency (8 measured
/// 0.72× the time of 4 on the default model; BENCHMARKS.md, tuning log #3).
const LANES: usize = 8;

/// One node in the flat layout. `children[1]` is the left child, `children[0]` the right one, so
/// the comparison's outcome indexes them.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C)]
struct Node {
    threshold: f64,
    children: [u32; 2],
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
    /// Leaf output at leaves; expected output at splits (attributions).
    values: Vec<f64>,
    /// Root node and depth (steps from the root to its deepest leaf) of each tree.
    roots: Vec<(u32, u32)>,
    base: f64,
    /// `base` plus every root's expected output: the expected margin before any split, which
    /// attributions start from (summed once, at build time).
    bias: f64,
    comparison: Comparison,
    n_features: usize,
    /// Whether any split treats zero as missing (LightGBM missing type zero): walks of forests
    /// without one skip that test.
    zero_missing: bool,
    /// The compact layout that serves predictions when the forest fits it
    /// ([`compact`](self::compact)); the layout above is the exact reference, and serves the rest.
    compact: Option<compact::Compact>,
}

impl Forest {
    /// Builds the flat layout; checks every index.
    pub fn new(
        trees: Vec<Tree>,
        base: f64,
        comparison: Comparison,
        n_features: usize,
    ) -> Result<Self, ForestError> {
        if n_features == 0 {
            return Err(ForestError {
                tree: 0,
                message: "a model needs at least one feature".into(),
            });
        }
        if n_features > usize::from(u16::MAX) {
            return Err(ForestError {
                tree: 0,
                message: format!("{n_features} features are more than {}", u16::MAX),
            });
        }
        let total: usize = trees.iter().map(|t| t.splits.len() + t.leaves.len()).sum();
        if u32::try_from(total).is_err() {
            return Err(ForestError {
                tree: 0,
                message: "the model is too large".into(),
            });
        }
        let mut forest = Forest {
            nodes: Vec::with_capacity(total),
            values: Vec::with_capacity(total),
            roots: Vec::with_capacity(trees.len()),
            base,
            bias: base,
            comparison,
            n_features,
            zero_missing: false,
            compact: None,
        };
        let mut starts = Vec::with_capacity(trees.len() + 1);
        for (t, tree) in trees.into_iter().enumerate() {
            let err = |message: String| ForestError { tree: t, message };
            let base = forest.nodes.len();
            starts.push(base);
            let n_splits = tree.splits.len();
            if tree.leaves.is_empty() {
                return Err(err("a tree needs at least one leaf".into()));
            }
            let child = |c: Child, parent: Option<usize>| -> Result<u32, ForestError> {
                match c {
                    Child::Split(i) => {
                        let i = i as usize;
                        if i >= n_splits {
                            return Err(err(format!("child split {i} does not exist")));
                        }
                        if let Some(p) = parent
                            && i <= p
                        {
                            return Err(err(format!(
                                "split {i} is a child of split {p} but does not come after it"
                            )));
                        }
                        Ok((base + i) as u32)
                    }
                    Child::Leaf(i) => {
                        let i = i as usize;
                        if i >= tree.leaves.len() {
                            return Err(err(format!("leaf {i} does not exist")));
                        }
                        Ok((base + n_splits + i) as u32)
                    }
                }
            };
            let root = child(tree.root, None)?;
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
                    Comparison::LessF32 => f64::from(f32_next_down(s.threshold as f32)),
                    Comparison::LessEqualF64 => s.threshold,
                };
                let nan_left = match s.missing {
                    Missing::Nan | Missing::Zero => s.default_left,
                    Missing::AsZero => 0.0 <= threshold,
                };
                let mut flags = 0;
                if nan_left {
                    flags |= NAN_LEFT;
                }
                if s.missing == Missing::Zero {
                    flags |= ZERO_MISSING;
                    forest.zero_missing = true;
                }
                if s.default_left {
                    flags |= DEFAULT_LEFT;
                }
                forest.nodes.push(Node {
                    threshold,
                    children: [child(s.right, Some(i))?, child(s.left, Some(i))?],
                    feature: s.feature as u16,
                    flags,
                });
                forest.values.push(s.value);
            }
            for &value in &tree.leaves {
                let me = forest.nodes.len() as u32;
                forest.nodes.push(Node {
                    threshold: 0.0,
                    children: [me, me],
                    feature: 0,
                    flags: 0,
                });
                forest.values.push(value);
            }
            // Depth: children come after their parent, so one backward pass suffices.
            let mut depth = vec![0u32; n_splits];
            for i in (0..n_splits).rev() {
                let [r, l] = forest.nodes[base + i].children;
                let d = |c: u32| {
                    let c = c as usize - base;
                    if c < n_splits { depth[c] } else { 0 }
                };
                depth[i] = 1 + d(l).max(d(r));
            }
            let root_depth = if (root as usize) < base + n_splits {
                depth[root as usize - base]
            } else {
                0
            };
            forest.roots.push((root, root_depth));
        }
        starts.push(forest.nodes.len());
        forest.bias = forest.base
            + forest
                .roots
                .iter()
                .map(|&(root, _)| forest.values[root as usize])
                .sum::<f64>();
        forest.compact = compact::Compact::new(&forest, &starts);
        Ok(forest)
    }

    /// The same forest served by the exact layout only (the benchmarks compare the two layouts).
    #[doc(hidden)]
    pub fn exact_layout(&self) -> Forest {
        Forest {
            compact: None,
            ..self.clone()
        }
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
        self.margin::<false>(x, &mut [])
    }

    /// The raw margin, and each feature's contribution to it added into `contributions` (Saabas:
    /// along each tree's decision path, the change of the expected output is credited to the
    /// split's feature). Returns (margin, bias), where bias is the expected margin before any split;
    /// `bias + Σ contributions` equals the margin up to rounding.
    pub fn predict_with_contributions(&self, x: &[f64], contributions: &mut [f64]) -> (f64, f64) {
        assert!(x.len() >= self.n_features && contributions.len() >= self.n_features);
        (self.margin::<true>(x, contributions), self.bias)
    }

    /// Callers have checked `x.len() >= n_features` (and, with `CONTRIB`, the same of
    /// `contributions`): the walks rely on it.
    fn margin<const CONTRIB: bool>(&self, x: &[f64], contributions: &mut [f64]) -> f64 {
        debug_assert!(x.len() >= self.n_features);
        debug_assert!(!CONTRIB || contributions.len() >= self.n_features);
        let Some(compact) = &self.compact else {
            return self.margin_exact::<CONTRIB>(x, contributions);
        };
        // Leaf values are read here, from the exact layout, so margins are the libraries' own.
        match self.comparison {
            Comparison::LessF32 => {
                let mut sum = self.base as f32;
                compact.leaves::<CONTRIB>(x, true, contributions, |leaf| {
                    sum += self.values[leaf] as f32
                });
                f64::from(sum)
            }
            Comparison::LessEqualF64 => {
                let mut sum = self.base;
                compact.leaves::<CONTRIB>(x, false, contributions, |leaf| sum += self.values[leaf]);
                sum
            }
        }
    }

    /// [`Forest::margin`] on the exact layout, whatever the forest.
    fn margin_exact<const CONTRIB: bool>(&self, x: &[f64], contributions: &mut [f64]) -> f64 {
        match (self.comparison, self.zero_missing) {
            (Comparison::LessF32, false) => {
                let mut sum = self.base as f32;
                self.leaves::<true, false, CONTRIB>(x, contributions, |v| sum += v as f32);
                f64::from(sum)
            }
            (Comparison::LessF32, true) => {
                let mut sum = self.base as f32;
                self.leaves::<true, true, CONTRIB>(x, contributions, |v| sum += v as f32);
                f64::from(sum)
            }
            (Comparison::LessEqualF64, false) => {
                let mut sum = self.base;
                self.leaves::<false, false, CONTRIB>(x, contributions, |v| sum += v);
                sum
            }
            (Comparison::LessEqualF64, true) => {
                let mut sum = self.base;
                self.leaves::<false, true, CONTRIB>(x, contributions, |v| sum += v);
                sum
            }
        }
    }

    /// Walks every tree for row `x` and calls `add` with each tree's leaf value, in tree order;
    /// with `CONTRIB`, also credits each step's change of expected output to the split's feature (a
    /// leaf's self-step adds exactly 0).
    #[inline(always)]
    fn leaves<const ROUND: bool, const ZERO: bool, const CONTRIB: bool>(
        &self,
        x: &[f64],
        contributions: &mut [f64],
        mut add: impl FnMut(f64),
    ) {
        let mut step = |at: u32| {
            let (next, feature) = self.step::<ROUND, ZERO>(at, x);
            if CONTRIB {
                // SAFETY: `at` and `next` are node indices (see `step`), and `values` is as long
                // as `nodes`; `feature < n_features <= contributions.len()` (`margin`'s callers).
                debug_assert!(feature < contributions.len());
                debug_assert!((next.max(at) as usize) < self.values.len());
                unsafe {
                    *contributions.get_unchecked_mut(feature) +=
                        self.values.get_unchecked(next as usize)
                            - self.values.get_unchecked(at as usize);
                }
            }
            next
        };
        let mut groups = self.roots.chunks_exact(LANES);
        for group in &mut groups {
            let mut at = [0u32; LANES];
            let mut depth = 0;
            for (a, &(root, d)) in at.iter_mut().zip(group) {
                *a = root;
                depth = depth.max(d);
            }
            for _ in 0..depth {
                for a in &mut at {
                    *a = step(*a);
                }
            }
            for a in at {
                add(self.values[a as usize]);
            }
        }
        for &(root, depth) in groups.remainder() {
            let mut a = root;
            for _ in 0..depth {
                a = step(a);
            }
            add(self.values[a as usize]);
        }
    }

    /// One step down from node `at` (a leaf stays where it is): the next node and the feature
    /// the step read. Branch-free but for LightGBM's rare missing-type-zero splits (`ZERO`: the
    /// forest has some).
    ///
    /// This is the innermost loop of inference, run (trees × depth) times per row, so it reads
    /// without bounds checks: every index it follows was checked when the forest was built.
    #[inline(always)]
    fn step<const ROUND: bool, const ZERO: bool>(&self, at: u32, x: &[f64]) -> (u32, usize) {
        // SAFETY: `at` is a root or a child, and `Forest::new` checked every root and child to be
        // a node of the forest; a node's feature is `< n_features` (checked there too), and
        // `margin`'s callers check `x.len() >= n_features`.
        // Debug builds (tests, the stable fuzz build) check what the SAFETY argument relies on.
        debug_assert!((at as usize) < self.nodes.len());
        debug_assert!(usize::from(self.nodes[at as usize].feature) < x.len());
        let (n, raw) = unsafe {
            let n = self.nodes.get_unchecked(at as usize);
            (n, *x.get_unchecked(usize::from(n.feature)))
        };
        let v = if ROUND { f64::from(raw as f32) } else { raw };
        let mut left = (v <= n.threshold) | (v.is_nan() & (n.flags & NAN_LEFT != 0));
        if ZERO && n.flags & ZERO_MISSING != 0 && (v.is_nan() || v.abs() <= ZERO_THRESHOLD) {
            left = n.flags & DEFAULT_LEFT != 0;
        }
        (n.children[usize::from(left)], usize::from(n.feature))
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
    fn zero_features_and_splits_past_the_features_are_refused() {
        let e = Forest::new(vec![], 0.0, Comparison::LessEqualF64, 0).unwrap_err();
        assert!(e.message.contains("at least one feature"), "{e}");
        let leaf_only = Tree {
            splits: vec![],
            leaves: vec![1.0],
            root: Child::Leaf(0),
        };
        assert!(Forest::new(vec![leaf_only], 0.0, Comparison::LessEqualF64, 0).is_err());
        let e = Forest::new(vec![tree(Missing::Nan)], 0.0, Comparison::LessF32, 1).unwrap_err();
        assert!(e.message.contains("reads feature 1 of 1"), "{e}");
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

    /// The textbook walk over the loader's trees, for comparison with the flat layout.
    fn reference(trees: &[Tree], x: &[f64]) -> (f64, Vec<f64>) {
        let mut sum = 0.0;
        let mut contributions = vec![0.0; x.len()];
        for t in trees {
            let mut at = t.root;
            while let Child::Split(i) = at {
                let s = &t.splits[i as usize];
                let v = x[s.feature as usize];
                at = if v.is_nan() {
                    if s.default_left { s.left } else { s.right }
                } else if v <= s.threshold {
                    s.left
                } else {
                    s.right
                };
                let value = match at {
                    Child::Split(j) => t.splits[j as usize].value,
                    Child::Leaf(j) => t.leaves[j as usize],
                };
                contributions[s.feature as usize] += value - s.value;
            }
            let Child::Leaf(j) = at else { unreachable!() };
            sum += t.leaves[j as usize];
        }
        (sum, contributions)
    }

    /// A random tree of uneven depth: split i's children are later splits or leaves.
    fn random_tree(rng: &mut fastrand::Rng, features: u32) -> Tree {
        let n = rng.usize(0..12);
        let mut leaves = Vec::new();
        let mut child = |rng: &mut fastrand::Rng, parent: usize| {
            if parent + 1 < n && rng.bool() {
                Child::Split(rng.u32(parent as u32 + 1..n as u32))
            } else {
                leaves.push(rng.f64() - 0.5);
                Child::Leaf(leaves.len() as u32 - 1)
            }
        };
        let splits: Vec<Split> = (0..n)
            .map(|i| Split {
                feature: rng.u32(0..features),
                threshold: f64::from(rng.u8(0..10)),
                default_left: rng.bool(),
                missing: Missing::Nan,
                left: child(rng, i),
                right: child(rng, i),
                value: rng.f64(),
            })
            .collect();
        if splits.is_empty() {
            leaves.push(0.25);
        }
        Tree {
            root: if splits.is_empty() {
                Child::Leaf(0)
            } else {
                Child::Split(0)
            },
            splits,
            leaves,
        }
    }

    #[test]
    fn flat_lock_step_walks_match_the_textbook_walk() {
        let mut rng = fastrand::Rng::with_seed(5);
        for trees in [1, 3, 4, 9, 17, 40] {
            let t: Vec<Tree> = (0..trees).map(|_| random_tree(&mut rng, 4)).collect();
            let f = Forest::new(t.clone(), 0.0, Comparison::LessEqualF64, 4).unwrap();
            assert!(f.compact.is_some(), "the compact layout serves it");
            for _ in 0..200 {
                let x: Vec<f64> = (0..4)
                    .map(|_| {
                        if rng.f64() < 0.2 {
                            f64::NAN
                        } else {
                            f64::from(rng.u8(0..10))
                        }
                    })
                    .collect();
                let (want, want_c) = reference(&t, &x);
                assert!((f.predict(&x) - want).abs() < 1e-12);
                assert_eq!(f.predict(&x), f.margin_exact::<false>(&x, &mut []));
                let mut c = vec![0.0; 4];
                let (margin, _) = f.predict_with_contributions(&x, &mut c);
                assert!((margin - want).abs() < 1e-12);
                // The compact layout's attributions are summed from f32 steps.
                for (a, b) in c.iter().zip(&want_c) {
                    assert!((a - b).abs() < 1e-5, "{c:?} {want_c:?}");
                }
                let mut exact = vec![0.0; 4];
                f.margin_exact::<true>(&x, &mut exact);
                for (a, b) in exact.iter().zip(&want_c) {
                    assert!((a - b).abs() < 1e-12, "{exact:?} {want_c:?}");
                }
            }
        }
    }

    #[test]
    fn the_compact_layout_decides_as_the_exact_one_in_f32_and_at_every_threshold() {
        let mut rng = fastrand::Rng::with_seed(9);
        for comparison in [Comparison::LessF32, Comparison::LessEqualF64] {
            let mut t: Vec<Tree> = (0..23).map(|_| random_tree(&mut rng, 5)).collect();
            // Thresholds between, at and around f32 values.
            for tree in &mut t {
                for s in &mut tree.splits {
                    s.threshold = f64::from(rng.u8(0..6)) * 0.1;
                }
            }
            let f = Forest::new(t, 0.5, comparison, 5).unwrap();
            assert!(f.compact.is_some());
            for _ in 0..2000 {
                let x: Vec<f64> = (0..5)
                    .map(|_| match rng.u8(0..5) {
                        0 => f64::NAN,
                        1 => f64::from(rng.u8(0..6)) * 0.1,
                        2 => f64::from(f64::from(rng.u8(0..6)) as f32 * 0.1),
                        3 => f64::from(rng.u8(0..6)) * 0.1 + 1e-12,
                        _ => rng.f64() * 0.7 - 0.05,
                    })
                    .collect();
                assert_eq!(
                    f.predict(&x).to_bits(),
                    f.margin_exact::<false>(&x, &mut []).to_bits(),
                    "{x:?}"
                );
            }
        }
        // LightGBM's missing type zero is served by the exact layout.
        let f = Forest::new(vec![tree(Missing::Zero)], 0.0, Comparison::LessEqualF64, 2).unwrap();
        assert!(f.compact.is_none());
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
