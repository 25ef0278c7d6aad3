//! The forest's compact layout, which serves every forest that fits it (the default model does):
//! 16-byte nodes that compare small integers instead of floats.
//!
//! Each feature's split thresholds are sorted once, at build time ("cuts"). Per row, each feature
//! value becomes its bin — the number of cuts below it — so that `x <= cut[k]` is exactly
//! `bin(x) <= k`: the same decision as the float comparison, for any threshold, in f64 or f32
//! (inputs are rounded first when the forest rounds them). A node then holds the bin index of its
//! threshold (`u16`), a row slot (`u16`), the byte distance to each child (`u16`: children come
//! after their parent) and the change of expected output towards each child (`f32`, for
//! attributions): 16 bytes against the exact layout's 24 plus an 8-byte value, so the default
//! model's nodes (300 trees) take 290 KB instead of 440 KB and a walk touches a third fewer cache
//! lines. A walk's position is a byte offset into the nodes, so a step is a handful of
//! instructions: read the row slot, compare, add the distance (a leaf's is 0: it absorbs).
//!
//! Missing values need no flag: each feature has two row slots, `2f` where NaN is past every cut
//! (`u16::MAX`: it goes right) and `2f + 1` where every bin is one higher and NaN is 0 (it goes
//! left, and the node's cut index is one higher too). A node reads the slot of its NaN direction.
//!
//! Attributions add `delta[direction]` to the step's row slot (the two slots of a feature are
//! summed at the end): the change of the expected output, rounded to f32 (reasons compare
//! attributions against 0.2 and each other; the margin itself is summed from the exact leaf
//! values).

use std::mem::MaybeUninit;

use super::{Forest, NAN_LEFT};

/// Most features the compact layout serves: the binned row lives on the stack.
pub(super) const MAX_FEATURES: usize = 128;
/// A NaN in the slot where it goes right: past every cut index.
const NAN_RIGHT_BIN: u16 = u16::MAX;
/// Most cuts per feature (bins 0..=cuts and the shifted slot's +1 stay below [`NAN_RIGHT_BIN`]).
const MAX_CUTS: usize = u16::MAX as usize - 2;
/// Most nodes per tree (a child's byte distance from its parent is a `u16`).
const MAX_TREE_NODES: usize = (u16::MAX as usize + 1) / size_of::<Node>();
/// Trees walked in lock-step, so that their node loads overlap.
const LANES: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C, align(16))]
struct Node {
    /// Goes left when `row[slot] <= cut`.
    cut: u16,
    /// `2 × feature`, + 1 when NaN goes left.
    slot: u16,
    /// Bytes from this node to `[right, left]`; 0 at a leaf, which points to itself.
    next: [u16; 2],
    /// Expected output of child `i` (as in `next`) minus this node's (0 at a leaf).
    delta: [f32; 2],
}

/// The compact layout of a [`Forest`] (see the module comment).
#[derive(Debug, Clone)]
pub(super) struct Compact {
    nodes: Vec<Node>,
    /// Per tree: the byte offset of its root in `nodes`, and its depth.
    trees: Vec<(u32, u16)>,
    /// `cuts[offsets[f]..offsets[f + 1]]`: feature f's distinct thresholds, ascending.
    cuts: Vec<f64>,
    offsets: Vec<u32>,
}

impl Compact {
    /// The compact layout of `forest`, whose tree `t` has nodes `starts[t]..starts[t + 1]`; or
    /// `None` when it does not fit: too many features, cuts or nodes per tree, or LightGBM's
    /// missing type zero somewhere.
    pub(super) fn new(forest: &Forest, starts: &[usize]) -> Option<Compact> {
        let n = forest.n_features;
        if n == 0
            || n > MAX_FEATURES
            || forest.zero_missing
            || starts.len() != forest.roots.len() + 1
            || starts.first() != Some(&0)
            || starts.last() != Some(&forest.nodes.len())
            || forest.nodes.len() * size_of::<Node>() > u32::MAX as usize
        {
            return None;
        }
        let is_leaf = |i: usize| forest.nodes[i].children == [i as u32, i as u32];
        let mut per_feature: Vec<Vec<f64>> = vec![Vec::new(); n];
        for (i, node) in forest.nodes.iter().enumerate() {
            if !is_leaf(i) {
                per_feature[usize::from(node.feature)].push(node.threshold);
            }
        }
        let mut cuts = Vec::new();
        let mut offsets = Vec::with_capacity(n + 1);
        for t in &mut per_feature {
            t.sort_by(f64::total_cmp);
            t.dedup();
            if t.len() > MAX_CUTS {
                return None;
            }
            offsets.push(cuts.len() as u32);
            cuts.extend_from_slice(t);
        }
        offsets.push(cuts.len() as u32);

        let mut nodes = Vec::with_capacity(forest.nodes.len());
        let mut trees = Vec::with_capacity(forest.roots.len());
        for (t, &(root, depth)) in forest.roots.iter().enumerate() {
            let (start, end) = (starts[t], starts[t + 1]);
            if end - start > MAX_TREE_NODES || !(start..end).contains(&(root as usize)) {
                return None;
            }
            // Nodes keep their forest index (trees are contiguous from 0, checked above), and
            // children come after their parent within the tree (checked below).
            let distance = |from: usize, to: u32| ((to as usize - from) * size_of::<Node>()) as u16;
            for i in start..end {
                let node = &forest.nodes[i];
                let [right, left] = node.children;
                if !(i..end).contains(&(right as usize)) || !(i..end).contains(&(left as usize)) {
                    return None;
                }
                let value = forest.values[i];
                let delta = [
                    (forest.values[right as usize] - value) as f32,
                    (forest.values[left as usize] - value) as f32,
                ];
                let (cut, slot) = if is_leaf(i) {
                    (0, 0)
                } else {
                    let f = usize::from(node.feature);
                    let feature_cuts = &cuts[offsets[f] as usize..offsets[f + 1] as usize];
                    let k = feature_cuts.partition_point(|&c| c < node.threshold) as u16;
                    let nan_left = node.flags & NAN_LEFT != 0;
                    (
                        k + u16::from(nan_left),
                        2 * node.feature + u16::from(nan_left),
                    )
                };
                nodes.push(Node {
                    cut,
                    slot,
                    next: [distance(i, right), distance(i, left)],
                    delta,
                });
            }
            trees.push(((root as usize * size_of::<Node>()) as u32, depth as u16));
        }
        Some(Compact {
            nodes,
            trees,
            cuts,
            offsets,
        })
    }

    /// Writes the binned row: slot `2f` and `2f + 1` of each feature (see the module comment).
    #[inline]
    fn bin(&self, x: &[f64], round: bool, row: &mut [u16; 2 * MAX_FEATURES]) {
        for (f, w) in self.offsets.windows(2).enumerate() {
            let cuts = &self.cuts[w[0] as usize..w[1] as usize];
            let v = if round { f64::from(x[f] as f32) } else { x[f] };
            let (right, left) = if v.is_nan() {
                (NAN_RIGHT_BIN, 0)
            } else {
                let b = cuts.partition_point(|&c| c < v) as u16;
                (b, b + 1)
            };
            row[2 * f] = right;
            row[2 * f + 1] = left;
        }
    }

    /// Walks every tree for row `x` and calls `add` with each tree's leaf (a node index of the
    /// forest), in tree order; with `CONTRIB`, adds each step's change of expected output to
    /// `contributions[feature]`.
    #[inline(always)]
    pub(super) fn leaves<const CONTRIB: bool>(
        &self,
        x: &[f64],
        round: bool,
        contributions: &mut [f64],
        mut add: impl FnMut(usize),
    ) {
        let mut row = [0u16; 2 * MAX_FEATURES];
        self.bin(x, round, &mut row);
        let features = self.offsets.len() - 1;
        // Attributions per row slot and lane (`slot × LANES + lane`): a lane's additions follow
        // its own walk, so lanes that split on the same feature do not wait on each other's
        // stores (one shared sum per feature cost more than the walk itself). Only the slots of
        // this forest's features are written and read (zeroing the whole array costs more).
        let mut acc = [MaybeUninit::<f32>::uninit(); 2 * MAX_FEATURES * LANES];
        if CONTRIB {
            acc[..2 * features * LANES].fill(MaybeUninit::new(0.0));
        }
        let nodes = self.nodes.as_ptr().cast::<u8>();
        let size = self.nodes.len() * size_of::<Node>();
        let mut step = |lane: usize, at: u32| -> u32 {
            // SAFETY: `at` is the byte offset of a node: a root's (`new`), or a node's plus the
            // distance to its child, which `new` checked lies within the tree's nodes.
            debug_assert!((at as usize).is_multiple_of(size_of::<Node>()) && (at as usize) < size);
            let n = unsafe { &*nodes.add(at as usize).cast::<Node>() };
            // SAFETY: `slot < 2 × n_features <= row.len()` (`new`).
            debug_assert!(usize::from(n.slot) < 2 * features);
            let left = unsafe { *row.get_unchecked(usize::from(n.slot)) } <= n.cut;
            let dir = usize::from(left);
            if CONTRIB {
                // SAFETY: `slot < 2 × n_features` (above), so the index is below the
                // `2 × n_features × LANES` entries initialised above; `lane < LANES`.
                let i = usize::from(n.slot) * LANES + lane;
                debug_assert!(i < 2 * features * LANES);
                unsafe {
                    *acc.get_unchecked_mut(i).assume_init_mut() += n.delta[dir];
                }
            }
            at + u32::from(n.next[dir])
        };
        let leaf = |at: u32| at as usize / size_of::<Node>();
        let mut groups = self.trees.chunks_exact(LANES);
        for group in &mut groups {
            let mut at = [0u32; LANES];
            let mut depth = 0;
            for (a, &(root, d)) in at.iter_mut().zip(group) {
                *a = root;
                depth = depth.max(d);
            }
            for _ in 0..depth {
                for (lane, a) in at.iter_mut().enumerate() {
                    *a = step(lane, *a);
                }
            }
            for &a in &at {
                add(leaf(a));
            }
        }
        for (lane, &(root, depth)) in groups.remainder().iter().enumerate() {
            let mut a = root;
            for _ in 0..depth {
                a = step(lane, a);
            }
            add(leaf(a));
        }
        if CONTRIB {
            let acc = &acc[..2 * features * LANES];
            for (c, lanes) in contributions.iter_mut().zip(acc.chunks_exact(2 * LANES)) {
                // SAFETY: every entry of `acc[..2 × features × LANES]` was initialised above.
                *c += lanes
                    .iter()
                    .map(|v| f64::from(unsafe { v.assume_init() }))
                    .sum::<f64>();
            }
        }
    }
}
