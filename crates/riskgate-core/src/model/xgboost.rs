//! XGBoost's JSON model format (`Booster.save_model("model.json")`), `binary:logistic` with
//! numerical splits.

use serde::Deserialize;

use crate::model::gbdt::{Child, Comparison, Forest, Missing, Split, Tree};
use crate::model::{GbdtModel, ModelError};

#[derive(Deserialize)]
struct File {
    learner: Learner,
}

#[derive(Deserialize)]
struct Learner {
    #[serde(default)]
    feature_names: Vec<String>,
    gradient_booster: Booster,
    learner_model_param: ModelParam,
    objective: Objective,
}

#[derive(Deserialize)]
struct ModelParam {
    base_score: String,
    #[serde(default)]
    num_class: Option<String>,
    num_feature: String,
    #[serde(default)]
    num_target: Option<String>,
}

#[derive(Deserialize)]
struct Objective {
    name: String,
}

#[derive(Deserialize)]
struct Booster {
    name: String,
    model: Option<TreeModel>,
}

#[derive(Deserialize)]
struct TreeModel {
    trees: Vec<JsonTree>,
}

#[derive(Deserialize)]
struct JsonTree {
    left_children: Vec<i64>,
    right_children: Vec<i64>,
    split_indices: Vec<u32>,
    split_conditions: Vec<f32>,
    default_left: Vec<serde_json::Value>,
    sum_hessian: Vec<f64>,
    #[serde(default)]
    split_type: Vec<u8>,
}

fn invalid(message: impl Into<String>) -> ModelError {
    ModelError::Invalid {
        format: "XGBoost JSON",
        message: message.into(),
    }
}

/// Parses an XGBoost JSON model.
pub fn parse(text: &str) -> Result<GbdtModel, ModelError> {
    let file: File = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let l = file.learner;
    if l.objective.name != "binary:logistic" {
        return Err(ModelError::Unsupported(format!(
            "objective `{}`: only binary:logistic is supported",
            l.objective.name
        )));
    }
    if l.gradient_booster.name != "gbtree" {
        return Err(ModelError::Unsupported(format!(
            "booster `{}`: only gbtree is supported",
            l.gradient_booster.name
        )));
    }
    let p = &l.learner_model_param;
    for (what, v) in [("num_class", &p.num_class), ("num_target", &p.num_target)] {
        if let Some(v) = v
            && !matches!(v.as_str(), "0" | "1")
        {
            return Err(ModelError::Unsupported(format!(
                "{what} = {v}: only single-output binary models are supported"
            )));
        }
    }
    let n_features: usize = p
        .num_feature
        .parse()
        .map_err(|_| invalid(format!("num_feature `{}` is not a number", p.num_feature)))?;
    let base_score = parse_base_score(&p.base_score)?;
    if !(base_score > 0.0 && base_score < 1.0) {
        return Err(invalid(format!(
            "base_score {base_score} is not a probability strictly between 0 and 1"
        )));
    }
    // XGBoost's ProbToMargin for logistic, in f32 as XGBoost computes it.
    let base_margin = -(1.0f32 / base_score - 1.0).ln();
    if l.feature_names.is_empty() {
        return Err(ModelError::NoFeatureNames);
    }
    if l.feature_names.len() != n_features {
        return Err(invalid(format!(
            "{} feature names for num_feature = {n_features}",
            l.feature_names.len()
        )));
    }
    let model = l
        .gradient_booster
        .model
        .ok_or_else(|| invalid("gradient_booster has no model"))?;
    let trees = model
        .trees
        .iter()
        .enumerate()
        .map(|(t, tree)| convert(tree).map_err(|m| invalid(format!("tree {t}: {m}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let forest = Forest::new(
        trees,
        f64::from(base_margin),
        Comparison::LessF32,
        n_features,
    )
    .map_err(|e| invalid(e.to_string()))?;
    Ok(GbdtModel {
        forest,
        feature_names: l.feature_names,
        sigmoid: 1.0,
        format: crate::model::Format::XgboostJson,
    })
}

/// `"5E-1"` or `"[5E-1]"` (XGBoost ≥ 3 writes a vector).
fn parse_base_score(s: &str) -> Result<f32, ModelError> {
    let inner = s
        .trim()
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(s)
        .trim();
    if inner.contains(',') {
        return Err(ModelError::Unsupported(format!(
            "base_score `{s}` has several values: only single-output models are supported"
        )));
    }
    inner
        .parse()
        .map_err(|_| invalid(format!("base_score `{s}` is not a number")))
}

fn convert(t: &JsonTree) -> Result<Tree, String> {
    let n = t.left_children.len();
    if [
        t.right_children.len(),
        t.split_indices.len(),
        t.split_conditions.len(),
        t.default_left.len(),
        t.sum_hessian.len(),
    ]
    .iter()
    .any(|&len| len != n)
        || n == 0
    {
        return Err("node arrays differ in length or are empty".into());
    }
    if t.split_type.iter().any(|&s| s != 0) {
        return Err(
            "categorical splits are not supported: train with numerical features only (one-hot \
             encode categories)"
                .into(),
        );
    }
    // Nodes become splits or leaves, renumbered in the same order (children keep coming after
    // their parent).
    let mut slot = vec![Child::Leaf(0); n];
    let (mut splits, mut leaves) = (0u32, 0u32);
    for (slot, &left) in slot.iter_mut().zip(&t.left_children) {
        if left < 0 {
            *slot = Child::Leaf(leaves);
            leaves += 1;
        } else {
            *slot = Child::Split(splits);
            splits += 1;
        }
    }
    let node = |c: i64, parent: usize| -> Result<usize, String> {
        usize::try_from(c)
            .ok()
            .filter(|&c| c < n && c > parent)
            .ok_or_else(|| format!("node {parent} has an invalid child {c}"))
    };
    // Expected output per node (XGBoost's own Saabas: leaf values averaged by hessian cover).
    let mut mean = vec![0.0f64; n];
    for i in (0..n).rev() {
        mean[i] = if t.left_children[i] < 0 {
            f64::from(t.split_conditions[i])
        } else {
            let (l, r) = (node(t.left_children[i], i)?, node(t.right_children[i], i)?);
            let (hl, hr) = (t.sum_hessian[l], t.sum_hessian[r]);
            if hl + hr > 0.0 {
                (mean[l] * hl + mean[r] * hr) / (hl + hr)
            } else {
                (mean[l] + mean[r]) / 2.0
            }
        };
    }
    let mut tree = Tree {
        splits: Vec::with_capacity(splits as usize),
        leaves: Vec::with_capacity(leaves as usize),
        root: slot[0],
    };
    for i in 0..n {
        if t.left_children[i] < 0 {
            tree.leaves.push(f64::from(t.split_conditions[i]));
            continue;
        }
        let default_left = match &t.default_left[i] {
            serde_json::Value::Bool(b) => *b,
            v => v.as_u64().ok_or("default_left is not 0/1")? != 0,
        };
        tree.splits.push(Split {
            feature: t.split_indices[i],
            threshold: f64::from(t.split_conditions[i]),
            default_left,
            missing: Missing::Nan,
            left: slot[node(t.left_children[i], i)?],
            right: slot[node(t.right_children[i], i)?],
            value: mean[i],
        });
    }
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: &str = r#"{"learner": {
        "feature_names": ["a", "b"],
        "feature_types": ["float", "float"],
        "gradient_booster": {"name": "gbtree", "model": {"gbtree_model_param": {"num_trees": "1"},
            "tree_info": [0],
            "trees": [{"left_children": [1, -1, -1], "right_children": [2, -1, -1],
                "split_indices": [1, 0, 0], "split_conditions": [0.5, -0.25, 0.75],
                "default_left": [1, 0, 0], "sum_hessian": [4.0, 3.0, 1.0],
                "base_weights": [0.0, -0.5, 1.5], "split_type": [0, 0, 0],
                "categories": [], "categories_nodes": [], "categories_segments": [],
                "categories_sizes": [], "id": 0, "loss_changes": [1.0, 0.0, 0.0],
                "parents": [2147483647, 0, 0],
                "tree_param": {"num_deleted": "0", "num_feature": "2", "num_nodes": "3", "size_leaf_vector": "1"}}]}},
        "learner_model_param": {"base_score": "[5E-1]", "num_class": "0", "num_feature": "2", "num_target": "1"},
        "objective": {"name": "binary:logistic", "reg_loss_param": {"scale_pos_weight": "1"}}},
        "version": [3, 2, 0]}"#;

    #[test]
    fn reads_a_model() {
        let m = parse(MODEL).unwrap();
        assert_eq!(m.feature_names, ["a", "b"]);
        assert_eq!(m.forest.predict(&[9.0, 0.4]), -0.25);
        assert_eq!(m.forest.predict(&[9.0, 0.5]), 0.75);
        assert_eq!(m.forest.predict(&[9.0, f64::NAN]), -0.25);
        let m = parse(&MODEL.replace("[5E-1]", "2.5E-1")).unwrap();
        let base = -(1.0f32 / 0.25 - 1.0).ln();
        assert_eq!(m.forest.predict(&[0.0, 0.0]), f64::from(base + -0.25f32));
    }

    #[test]
    fn refuses_what_it_cannot_score() {
        let e = parse(&MODEL.replace("\"split_type\": [0, 0, 0]", "\"split_type\": [1, 0, 0]"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("categorical splits are not supported"), "{e}");
        let e = parse(&MODEL.replace("binary:logistic", "reg:squarederror"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("only binary:logistic"), "{e}");
        let e = parse(&MODEL.replace("[\"a\", \"b\"]", "[]"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("names no features"), "{e}");
        assert!(parse("{").is_err());
    }
}
