//! Calibration: how a model's probability becomes Radar's 0–99 risk score.
//!
//! The mapping is piecewise linear through configured `(probability, score)` points. Without points
//! it is the identity, `score = ⌊100·p⌋` capped at 99. A retrained model usually needs its own
//! points, so they live with the model in the configuration (`model.calibration`), e.g.
//! `[[0.0, 0], [0.02, 20], [0.3, 65], [1.0, 99]]`: a 2 % fraud probability is where `elevated`
//! starts and 30 % where `highest` starts with the default thresholds.

use std::sync::Arc;

use crate::{
    attributes::Attributes,
    model::{ModelScore, Scorer},
};

/// A validated, monotone probability → score mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    points: Vec<(f64, f64)>,
}

impl Calibration {
    /// Checks the points: at least two; probabilities strictly increasing from 0 to 1; scores
    /// non-decreasing within 0–99.
    pub fn new(points: &[[f64; 2]]) -> Result<Self, String> {
        if points.len() < 2 {
            return Err("needs at least two [probability, score] points".into());
        }
        let (first, last) = (points[0], points[points.len() - 1]);
        if first[0] != 0.0 || last[0] != 1.0 {
            return Err("the first point's probability must be 0 and the last one's 1".into());
        }
        for (i, w) in points.windows(2).enumerate() {
            if w[1][0] <= w[0][0] {
                return Err(format!(
                    "probabilities must increase (point {} after point {i})",
                    i + 1
                ));
            }
            if w[1][1] < w[0][1] {
                return Err(format!(
                    "scores must not decrease (point {} after point {i})",
                    i + 1
                ));
            }
        }
        if let Some(p) = points.iter().find(|p| !(0.0..=99.0).contains(&p[1])) {
            return Err(format!("scores must be within 0–99 (got {})", p[1]));
        }
        Ok(Self {
            points: points.iter().map(|p| (p[0], p[1])).collect(),
        })
    }

    /// The score of a probability (not yet rounded).
    pub fn score(&self, probability: f64) -> f64 {
        let p = probability.clamp(0.0, 1.0);
        let i = self
            .points
            .partition_point(|&(x, _)| x < p)
            .clamp(1, self.points.len() - 1);
        let ((x0, y0), (x1, y1)) = (self.points[i - 1], self.points[i]);
        y0 + (y1 - y0) * (p - x0) / (x1 - x0)
    }
}

/// A scorer whose probabilities are remapped so that the decision stage's `⌊100·p⌋` yields the
/// calibrated score's integer part. Reasons and the model version are the inner model's.
pub struct Calibrated {
    inner: Arc<dyn Scorer>,
    calibration: Calibration,
}

impl Calibrated {
    pub fn new(inner: Arc<dyn Scorer>, calibration: Calibration) -> Self {
        Self { inner, calibration }
    }
}

impl Scorer for Calibrated {
    fn version(&self) -> &str {
        self.inner.version()
    }

    fn score(&self, attrs: &Attributes<'_>) -> ModelScore {
        let mut score = self.inner.score(attrs);
        if !score.probability.is_nan() {
            // Half a point inside the integer's interval, so ⌊100·p⌋ recovers it exactly.
            let points = self.calibration.score(score.probability).floor().min(99.0);
            score.probability = (points + 0.5) / 100.0;
        }
        score
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::risk_score;

    #[test]
    fn interpolates_between_points() {
        let c = Calibration::new(&[[0.0, 0.0], [0.02, 20.0], [0.3, 65.0], [1.0, 99.0]]).unwrap();
        assert_eq!(c.score(0.0), 0.0);
        assert_eq!(c.score(0.01), 10.0);
        assert_eq!(c.score(0.02), 20.0);
        assert!((c.score(0.16) - 42.5).abs() < 1e-9);
        assert_eq!(c.score(1.0), 99.0);
        assert_eq!(c.score(7.0), 99.0);
        assert_eq!(c.score(-1.0), 0.0);
    }

    #[test]
    fn refuses_bad_points() {
        for bad in [
            &[[0.0, 0.0]][..],
            &[[0.1, 0.0], [1.0, 99.0]],
            &[[0.0, 0.0], [0.9, 99.0]],
            &[[0.0, 0.0], [0.5, 10.0], [0.4, 20.0], [1.0, 99.0]],
            &[[0.0, 30.0], [1.0, 20.0]],
            &[[0.0, 0.0], [1.0, 100.0]],
        ] {
            assert!(Calibration::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_decision_stage_sees_the_calibrated_score() {
        struct Fixed(f64);
        impl Scorer for Fixed {
            fn version(&self) -> &str {
                "fixed"
            }
            fn score(&self, _: &Attributes<'_>) -> ModelScore {
                ModelScore {
                    probability: self.0,
                    contributions: Default::default(),
                }
            }
        }
        let c = Calibration::new(&[[0.0, 0.0], [0.02, 20.0], [0.3, 65.0], [1.0, 99.0]]).unwrap();
        for (p, expected) in [
            (0.0, 0),
            (0.019, 19),
            (0.02, 20),
            (0.3, 65),
            (0.5, 74),
            (1.0, 99),
        ] {
            let s = Calibrated::new(Arc::new(Fixed(p)), c.clone()).score(&Attributes::default());
            assert_eq!(risk_score(s.probability), expected, "p = {p}");
        }
    }
}
