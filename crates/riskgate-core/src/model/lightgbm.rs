//! LightGBM's text model format (`Booster.save_model("model.txt")`), objective `binary` with
//! numerical splits.

use std::collections::HashMap;

use crate::model::gbdt::{Child, Comparison, Forest, Missing, Split, Tree};
use crate::model::{GbdtModel, ModelError};

fn invalid(message: impl Into<String>) -> ModelError {
    ModelError::Invalid {
        format: "LightGBM text",
        message: message.into(),
    }
}

/// Parses a LightGBM text model.
pub fn parse(text: &str) -> Result<GbdtModel, ModelError> {
    let mut lines = text.lines().map(str::trim);
    let mut header: HashMap<&str, &str> = HashMap::new();
    let mut first_tree = None;
    for line in lines.by_ref() {
        if line.starts_with("Tree=") {
            first_tree = Some(line);
            break;
        }
        if line == "end of trees" {
            break;
        }
        if let Some((k, v)) = line.split_once('=') {
            header.insert(k, v);
        } else if !line.is_empty() && line != "tree" {
            header.insert(line, "");
        }
    }
    let get = |k: &str| {
        header
            .get(k)
            .copied()
            .ok_or_else(|| invalid(format!("header has no `{k}`")))
    };
    let num_class: u32 = get("num_class")?
        .parse()
        .map_err(|_| invalid("num_class is not a number"))?;
    let per_iteration: u32 = get("num_tree_per_iteration")?
        .parse()
        .map_err(|_| invalid("num_tree_per_iteration is not a number"))?;
    if num_class != 1 || per_iteration != 1 {
        return Err(ModelError::Unsupported(format!(
            "num_class = {num_class}: only binary models are supported"
        )));
    }
    if header.contains_key("average_output") {
        return Err(ModelError::Unsupported(
            "average_output (random forest mode) is not supported".into(),
        ));
    }
    let objective = get("objective")?;
    let mut words = objective.split_whitespace();
    if words.next() != Some("binary") {
        return Err(ModelError::Unsupported(format!(
            "objective `{objective}`: only binary is supported"
        )));
    }
    let sigmoid = words
        .find_map(|w| w.strip_prefix("sigmoid:"))
        .map_or(Ok(1.0), |s| {
            s.parse::<f64>()
                .map_err(|_| invalid(format!("sigmoid `{s}` is not a number")))
        })?;
    let max_feature_idx: usize = get("max_feature_idx")?
        .parse()
        .map_err(|_| invalid("max_feature_idx is not a number"))?;
    let feature_names: Vec<String> = get("feature_names")?
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if feature_names.len() != max_feature_idx + 1 {
        return Err(invalid(format!(
            "{} feature names for max_feature_idx = {max_feature_idx}",
            feature_names.len()
        )));
    }

    let mut trees = Vec::new();
    let mut block: HashMap<&str, &str> = HashMap::new();
    let mut in_tree = first_tree.is_some();
    for line in lines {
        if line.starts_with("Tree=") || line == "end of trees" {
            if in_tree {
                trees
                    .push(tree(&block).map_err(|m| invalid(format!("tree {}: {m}", trees.len())))?);
                block.clear();
            }
            in_tree = line != "end of trees";
            if !in_tree {
                break;
            }
        } else if in_tree && let Some((k, v)) = line.split_once('=') {
            block.insert(k, v);
        }
    }
    if in_tree {
        return Err(invalid("the file ends before `end of trees`"));
    }
    let forest = Forest::new(trees, 0.0, Comparison::LessEqualF64, feature_names.len())
        .map_err(|e| invalid(e.to_string()))?;
    Ok(GbdtModel {
        forest,
        feature_names,
        sigmoid,
        format: crate::model::Format::LightgbmText,
    })
}

fn numbers<T: std::str::FromStr>(
    block: &HashMap<&str, &str>,
    key: &str,
    len: usize,
) -> Result<Vec<T>, String> {
    let text = block.get(key).ok_or_else(|| format!("no `{key}`"))?;
    let v = text
        .split_whitespace()
        .map(|w| {
            w.parse()
                .map_err(|_| format!("`{key}` has a bad value `{w}`"))
        })
        .collect::<Result<Vec<T>, _>>()?;
    if v.len() != len {
        return Err(format!("`{key}` has {} values, not {len}", v.len()));
    }
    Ok(v)
}

fn tree(block: &HashMap<&str, &str>) -> Result<Tree, String> {
    let num_leaves: usize = block
        .get("num_leaves")
        .and_then(|v| v.parse().ok())
        .ok_or("no valid `num_leaves`")?;
    if block.get("is_linear").is_some_and(|v| *v != "0") {
        return Err("linear trees are not supported".into());
    }
    if block.get("num_cat").is_some_and(|v| *v != "0") {
        return Err(
            "categorical splits are not supported: train with numerical features only (one-hot \
             encode categories)"
                .into(),
        );
    }
    let leaves: Vec<f64> = numbers(block, "leaf_value", num_leaves)?;
    if num_leaves == 1 {
        return Ok(Tree {
            splits: Vec::new(),
            leaves,
            root: Child::Leaf(0),
        });
    }
    let n = num_leaves - 1;
    let feature: Vec<u32> = numbers(block, "split_feature", n)?;
    let threshold: Vec<f64> = numbers(block, "threshold", n)?;
    let decision: Vec<u8> = numbers(block, "decision_type", n)?;
    let left: Vec<i64> = numbers(block, "left_child", n)?;
    let right: Vec<i64> = numbers(block, "right_child", n)?;
    let internal: Vec<f64> = numbers(block, "internal_value", n)?;
    let child = |c: i64| -> Result<Child, String> {
        if c >= 0 {
            u32::try_from(c)
                .map(Child::Split)
                .map_err(|e| e.to_string())
        } else {
            u32::try_from(!c)
                .map(Child::Leaf)
                .map_err(|e| e.to_string())
        }
    };
    let splits = (0..n)
        .map(|i| {
            let d = decision[i];
            if d & 1 != 0 {
                return Err(format!(
                    "split {i} is categorical: categorical splits are not supported"
                ));
            }
            let missing = match (d >> 2) & 3 {
                0 => Missing::AsZero,
                1 => Missing::Zero,
                2 => Missing::Nan,
                m => return Err(format!("split {i} has unknown missing type {m}")),
            };
            Ok(Split {
                feature: feature[i],
                threshold: threshold[i],
                default_left: d & 2 != 0,
                missing,
                left: child(left[i])?,
                right: child(right[i])?,
                value: internal[i],
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Tree {
        splits,
        leaves,
        root: Child::Split(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: &str = "tree
version=v4
num_class=1
num_tree_per_iteration=1
label_index=0
max_feature_idx=1
objective=binary sigmoid:1
feature_names=a b
feature_infos=[0:1] [0:1]
tree_sizes=100 50

Tree=0
num_leaves=3
num_cat=0
split_feature=0 1
split_gain=1 1
threshold=0.5 1.0000000000000002
decision_type=2 8
left_child=1 -1
right_child=-3 -2
leaf_value=0.1 0.2 0.3
leaf_weight=1 1 1
leaf_count=1 1 1
internal_value=0.2 0.15
internal_weight=3 2
internal_count=3 2
is_linear=0
shrinkage=1


Tree=1
num_leaves=1
num_cat=0
split_feature=
split_gain=
threshold=
decision_type=
left_child=
right_child=
leaf_value=-0.05
leaf_weight=
leaf_count=
internal_value=
internal_weight=
internal_count=
is_linear=0
shrinkage=1


end of trees

feature_importances:
a=1
";

    #[test]
    fn reads_a_model() {
        let m = parse(MODEL).unwrap();
        assert_eq!(m.feature_names, ["a", "b"]);
        assert_eq!(m.forest.trees(), 2);
        let p = |x: [f64; 2]| m.forest.predict(&x) + 0.05;
        assert!((p([0.5, 1.0000000000000002]) - 0.1).abs() < 1e-12);
        assert!((p([0.5, 1.0000000000000004]) - 0.2).abs() < 1e-12);
        assert!((p([0.6, 0.0]) - 0.3).abs() < 1e-12);
        // Split 0: missing type none (NaN reads as 0, which goes left); split 1: NaN type, right.
        assert!((p([f64::NAN, f64::NAN]) - 0.2).abs() < 1e-12);
    }

    #[test]
    fn refuses_what_it_cannot_score() {
        let e = parse(&MODEL.replace("decision_type=2 8", "decision_type=1 8"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("categorical"), "{e}");
        let e = parse(&MODEL.replace("objective=binary sigmoid:1", "objective=regression"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("only binary"), "{e}");
        assert!(parse(&MODEL.replace("end of trees", "")).is_err());
        assert!(parse(&MODEL.replace("left_child=1 -1", "left_child=0 -1")).is_err());
    }
}
