//! `riskgate model predict`: raw margins for rows of a CSV whose header names features.
//!
//! The CSV is plain: comma-separated cells, no quoting; an empty cell (or `nan`) is missing.
//! Every feature the model reads must be a column of numbers; other columns (a label, a pattern
//! name) are ignored.

use std::io::{BufRead, Write};

use riskgate_core::model::GbdtModel;

/// Why the margins of a CSV could not be computed; lines are numbered from 1, the header's
/// included.
#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    #[error("the CSV is empty: its first line must name the features")]
    Empty,
    /// Reading the CSV or writing the margins failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A feature the model reads has no column.
    #[error("the CSV has no column `{0}`, which the model reads")]
    MissingColumn(String),
    #[error("line {line} has {cells} cells; the header has {columns}")]
    CellCount {
        line: usize,
        cells: usize,
        columns: usize,
    },
    #[error("line {line}, column `{column}`: `{cell}` is not a number")]
    NotANumber {
        line: usize,
        column: String,
        cell: String,
    },
}

/// Writes one raw margin per data row of `input` to `out`; returns how many rows.
pub fn predict_csv(
    model: &GbdtModel,
    input: impl BufRead,
    mut out: impl Write,
) -> Result<usize, PredictError> {
    let mut lines = input.lines();
    let header = lines.next().ok_or(PredictError::Empty)??;
    let columns: Vec<&str> = header
        .trim_end_matches('\r')
        .split(',')
        .map(str::trim)
        .collect();
    let positions = model
        .feature_names
        .iter()
        .map(|name| {
            columns
                .iter()
                .position(|c| c == name)
                .ok_or_else(|| PredictError::MissingColumn(name.clone()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut row = vec![f64::NAN; model.feature_names.len()];
    let mut n = 0;
    for (i, line) in lines.enumerate() {
        let line = line?;
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let line_no = i + 2;
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != columns.len() {
            return Err(PredictError::CellCount {
                line: line_no,
                cells: cells.len(),
                columns: columns.len(),
            });
        }
        for (slot, &p) in row.iter_mut().zip(&positions) {
            let cell = cells[p];
            *slot = if cell.is_empty() || cell.eq_ignore_ascii_case("nan") {
                f64::NAN
            } else {
                cell.parse().map_err(|_| PredictError::NotANumber {
                    line: line_no,
                    column: columns[p].to_owned(),
                    cell: cell.to_owned(),
                })?
            };
        }
        writeln!(out, "{}", model.forest.predict(&row))?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use riskgate_core::model::{Format, GbdtModel};

    fn model() -> GbdtModel {
        let text = include_str!("../../riskgate-core/src/model/lightgbm.rs");
        let start = text.find("const MODEL: &str = \"").unwrap() + 21;
        let end = start + text[start..].find("\";\n").unwrap();
        GbdtModel::parse(&text[start..end], Format::Auto).unwrap()
    }

    #[test]
    fn maps_columns_by_name_and_reads_empty_cells_as_missing() {
        let csv = "label,b,a\nfraud,1.0000000000000002,0.5\nok,,\nok,0,0.6\n";
        let mut out = Vec::new();
        assert_eq!(predict_csv(&model(), csv.as_bytes(), &mut out).unwrap(), 3);
        let margins: Vec<f64> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
        let want = [0.05, 0.15, 0.25];
        for (m, w) in margins.iter().zip(want) {
            assert!((m - w).abs() < 1e-12, "{margins:?}");
        }
    }

    #[test]
    fn errors_name_the_column_and_line() {
        let e = predict_csv(&model(), "a\n1\n".as_bytes(), Vec::new()).unwrap_err();
        assert!(
            matches!(&e, PredictError::MissingColumn(c) if c == "b"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "the CSV has no column `b`, which the model reads"
        );
        let e = predict_csv(&model(), "a,b\n1,x\n".as_bytes(), Vec::new()).unwrap_err();
        assert_eq!(e.to_string(), "line 2, column `b`: `x` is not a number");
        let e = predict_csv(&model(), "a,b\n1\n".as_bytes(), Vec::new()).unwrap_err();
        assert_eq!(e.to_string(), "line 2 has 1 cells; the header has 2");
        let e = predict_csv(&model(), "".as_bytes(), Vec::new()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the CSV is empty: its first line must name the features"
        );
    }
}
