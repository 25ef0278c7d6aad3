//! The decision pipeline: attributes → score → risk level → action. Pure and synchronous; the caller
//! supplies the clock and measures the stages.

use std::{borrow::Cow, sync::Arc};

use smallvec::SmallVec;

use crate::rules::{self, RuleSet};
use crate::{
    attributes::extract,
    attributes::{Attr, Attributes, Value},
    decision::{Action, LevelActions, RiskLevel, RiskThresholds, risk_score},
    input::PaymentInput,
    model::{ModelScore, Scorer},
    reference::FxTable,
    signals::Signals,
    small_text::SmallText,
};

/// Which scorer produced the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScoreSource {
    LocalModel,
    Stripe,
    Fallback,
}

impl ScoreSource {
    /// Metric label.
    pub const fn as_str(self) -> &'static str {
        match self {
            ScoreSource::LocalModel => "local_model",
            ScoreSource::Stripe => "stripe",
            ScoreSource::Fallback => "fallback",
        }
    }
}

/// The rule that decided the action: a handle on the engine's rule set, so that naming it copies
/// no text (an evaluation allocates nothing).
#[derive(Clone)]
pub struct MatchedRule {
    rules: Arc<RuleSet>,
    index: usize,
    pub action: Action,
}

impl MatchedRule {
    /// `rule`, which must be one of `rules`' rules (panics otherwise).
    pub fn new(rules: &Arc<RuleSet>, rule: &rules::CompiledRule) -> Self {
        let index = rules
            .rules()
            .iter()
            .position(|r| std::ptr::eq(r, rule))
            .expect("the rule is one of the set's");
        MatchedRule {
            rules: rules.clone(),
            index,
            action: rule.action,
        }
    }

    /// The rule's id: its written name, else `line_N`.
    pub fn id(&self) -> &str {
        &self.rules.rules()[self.index].id
    }

    /// The rule as written.
    pub fn predicate(&self) -> &str {
        &self.rules.rules()[self.index].predicate
    }
}

impl std::fmt::Debug for MatchedRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatchedRule")
            .field("id", &self.id())
            .field("action", &self.action)
            .field("predicate", &self.predicate())
            .finish()
    }
}

impl PartialEq for MatchedRule {
    fn eq(&self, other: &Self) -> bool {
        self.action == other.action
            && self.id() == other.id()
            && self.predicate() == other.predicate()
    }
}

impl Eq for MatchedRule {}

/// A human-readable reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub code: Cow<'static, str>,
    pub message: SmallText,
}

/// An answer's reasons, kept inline: the risk level's and the model's three.
pub type Reasons = SmallVec<[Reason; 4]>;

/// The reason of a deciding default rule that acts on outcome memory, named by the rule's id
/// (`prior_fraud_on_card` …: [`rules::defaults`]).
fn default_rule_reason(rule: Option<&MatchedRule>, attrs: &Attributes<'_>) -> Option<Reason> {
    let rule = rule?;
    let message = rules::defaults::default_rule_reason(rule.id(), attrs)?;
    Some(Reason {
        code: Cow::Owned(rule.id().to_owned()),
        message: message.into(),
    })
}

/// The outcome of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub action: Action,
    pub risk_score: u8,
    pub risk_level: RiskLevel,
    pub source: ScoreSource,
    pub matched_rule: Option<MatchedRule>,
    pub reasons: Reasons,
    pub degraded: bool,
}

/// What an upstream (Stripe) decided, taken as given by [`Engine::decide_given`]: its score, its
/// risk level and its recommended action, in riskgate's types.
#[derive(Debug, Clone, PartialEq)]
pub struct Given {
    /// The upstream's score, 0–100; `None` when it did not assess the payment.
    pub score: Option<f64>,
    pub risk_level: RiskLevel,
    /// The upstream's recommended action; `None` when it named one riskgate does not know.
    pub action: Option<Action>,
    /// The action when `action` is `None` (the fail policy's); the verdict is then `degraded`.
    pub unknown_action: Action,
    /// Why, in the upstream's terms (most important first).
    pub reasons: Reasons,
}

/// Everything the pipeline needs, immutable once built; shared by all requests.
#[derive(Clone)]
pub struct Engine {
    scorer: Arc<dyn Scorer>,
    thresholds: RiskThresholds,
    actions: LevelActions,
    rules: Arc<RuleSet>,
    /// Whether `rules` are the level-derived default rules (no rules file): those map the local
    /// model's levels to actions and do not apply to an upstream's decision.
    default_rules: bool,
    fx: FxTable,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("model", &self.scorer.version())
            .field("thresholds", &self.thresholds)
            .field("actions", &self.actions)
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Builds an engine; `thresholds` must be valid ([`RiskThresholds::validate`]). The rule set is
    /// the default one derived from `actions` ([`rules::default_rules`]) until
    /// [`Engine::with_rules`] replaces it.
    pub fn new(
        scorer: Arc<dyn Scorer>,
        thresholds: RiskThresholds,
        actions: LevelActions,
        fx: FxTable,
    ) -> Self {
        debug_assert!(thresholds.validate().is_ok());
        Self {
            scorer,
            thresholds,
            actions,
            rules: Arc::new(rules::default_rules(&actions)),
            default_rules: true,
            fx,
        }
    }

    /// Decides with `rules` (a compiled rules file) instead of the default rules.
    pub fn with_rules(mut self, rules: Arc<RuleSet>) -> Self {
        self.rules = rules;
        self.default_rules = false;
        self
    }

    /// The rule set in use.
    pub fn rules(&self) -> &Arc<RuleSet> {
        &self.rules
    }

    /// The model's version, for metrics and logs.
    pub fn model_version(&self) -> &str {
        self.scorer.version()
    }

    /// Stage 1: the attributes of the request and of what enrichment found about it.
    pub fn attributes<'a>(
        &self,
        input: &PaymentInput<'a>,
        enrichment: &'a Signals,
        now_unix: i64,
    ) -> Attributes<'a> {
        extract::attributes(input, enrichment, &self.fx, now_unix)
    }

    /// Stage 1 written into `attrs`, an empty set ([`Attributes::default`]) that stays where the
    /// caller keeps it (the set is about 5 KB; the request path does not move it).
    pub fn attributes_into<'a>(
        &self,
        attrs: &mut Attributes<'a>,
        input: &PaymentInput<'a>,
        enrichment: &'a Signals,
        now_unix: i64,
    ) {
        extract::attributes_into(attrs, input, enrichment, &self.fx, now_unix);
    }

    /// The configured FX table (the enrichment stage converts amounts with it).
    pub fn fx(&self) -> &FxTable {
        &self.fx
    }

    /// Stage 2: the local model's score.
    pub fn score(&self, attrs: &Attributes<'_>) -> ModelScore {
        self.scorer.score(attrs)
    }

    /// Stage 3: risk score and level (also written into `attrs` for rules and the answer), then the
    /// rules, which decide the action.
    pub fn decide(
        &self,
        attrs: &mut Attributes<'_>,
        score: ModelScore,
        source: ScoreSource,
    ) -> Verdict {
        let risk_score = risk_score(score.probability);
        let risk_level = self.thresholds.level(risk_score);
        attrs.set(Attr::RiskScore, Value::Number(f64::from(risk_score)));
        attrs.set(
            Attr::RiskLevel,
            Value::Text(Cow::Borrowed(risk_level.as_str())),
        );

        // Rules see the score as `:risk_score:` / `:risk_level:`; the first match decides and no
        // match continues. An Allow rule overrides the score.
        let matched_rule = self
            .rules
            .evaluate(attrs)
            .map(|r| MatchedRule::new(&self.rules, r));
        let action = matched_rule.as_ref().map_or(Action::Continue, |r| r.action);

        let mut reasons = Reasons::new();
        // "risk score 12 is normal (0–19)", pieced together: the formatting machinery cost more
        // than the rest of the reason (this runs on every evaluation).
        let mut message = SmallText::new();
        let mut n = itoa::Buffer::new();
        message.push_str("risk score ");
        message.push_str(n.format(risk_score));
        message.push_str(" is ");
        message.push_str(risk_level.as_str());
        message.push_str(" (");
        self.level_range(risk_level, &mut message);
        message.push_str(")");
        reasons.push(Reason {
            code: Cow::Borrowed(level_code(risk_level)),
            message,
        });
        reasons.extend(score.contributions.into_iter().map(|c| Reason {
            code: Cow::Borrowed(c.code),
            message: c.message,
        }));
        if let Some(reason) = default_rule_reason(matched_rule.as_ref(), attrs) {
            reasons.insert(0, reason);
        } else if self.default_rules && matched_rule.is_some() {
            // The score decided (`default_highest`), but what was learned may say why too: the
            // reasons of the outcome rules that also match follow the score's.
            let also = self
                .rules
                .rules()
                .iter()
                .filter(|r| r.matches(attrs))
                .filter_map(|r| {
                    let message = rules::defaults::default_rule_reason(&r.id, attrs)?;
                    Some(Reason {
                        code: Cow::Owned(r.id.clone()),
                        message: message.into(),
                    })
                });
            reasons.insert_many(1, also);
        }

        Verdict {
            action,
            risk_score,
            risk_level,
            source,
            matched_rule,
            reasons,
            degraded: source == ScoreSource::Fallback,
        }
    }

    /// Stage 3 with an upstream's decision taken as given ([`Given`]): its score and level are
    /// the answer's (`:risk_score:` — the score's floor, capped at 99 — and `:risk_level:` for
    /// rules; no score when it did not assess), and its recommended action decides unless one of
    /// the merchant's own rules matches (a rules file; as Radar's custom rules run on Radar's
    /// score). riskgate's level thresholds and the level-derived default rules are the local
    /// model's and do not apply. An action riskgate does not know gives `unknown_action`, flagged
    /// `degraded`.
    pub fn decide_given(
        &self,
        attrs: &mut Attributes<'_>,
        given: Given,
        source: ScoreSource,
    ) -> Verdict {
        let risk_score = given.score.map(|s| risk_score(s / 100.0));
        if let Some(score) = risk_score {
            attrs.set(Attr::RiskScore, Value::Number(f64::from(score)));
        }
        attrs.set(
            Attr::RiskLevel,
            Value::Text(Cow::Borrowed(given.risk_level.as_str())),
        );
        let matched_rule = if self.default_rules {
            None
        } else {
            self.rules
                .evaluate(attrs)
                .map(|r| MatchedRule::new(&self.rules, r))
        };
        let action = match (&matched_rule, given.action) {
            (Some(rule), _) => rule.action,
            (None, Some(action)) => action,
            (None, None) => given.unknown_action,
        };
        Verdict {
            action,
            risk_score: risk_score.unwrap_or(0),
            risk_level: given.risk_level,
            source,
            matched_rule,
            reasons: given.reasons,
            degraded: source == ScoreSource::Fallback || given.action.is_none(),
        }
    }

    /// Stage 3 when nothing could score the payment: the rules still run (a block-list rule still
    /// blocks; rules on the score do not match, as the score is missing), and without a match the
    /// fail policy's `fail_action` applies. Always `degraded`, source `Fallback`.
    pub fn decide_unscored(
        &self,
        attrs: &mut Attributes<'_>,
        fail_action: Action,
        why: String,
    ) -> Verdict {
        let matched_rule = self
            .rules
            .evaluate(attrs)
            .map(|r| MatchedRule::new(&self.rules, r));
        let action = matched_rule.as_ref().map_or(fail_action, |r| r.action);
        let mut reasons: Reasons = smallvec::smallvec![Reason {
            code: Cow::Borrowed("not_scored"),
            message: why.into(),
        }];
        reasons.extend(default_rule_reason(matched_rule.as_ref(), attrs));
        Verdict {
            action,
            risk_score: 0,
            risk_level: RiskLevel::NotAssessed,
            source: ScoreSource::Fallback,
            matched_rule,
            reasons,
            degraded: true,
        }
    }

    /// The whole pipeline with the local model, without enrichment.
    pub fn evaluate<'a>(
        &self,
        input: &PaymentInput<'a>,
        now_unix: i64,
    ) -> (Attributes<'a>, Verdict) {
        let mut attrs = Attributes::default();
        let verdict = self.evaluate_into(&mut attrs, input, now_unix);
        (attrs, verdict)
    }

    /// [`Engine::evaluate`] with the attributes written into `attrs`, an empty set the caller
    /// keeps in place. Allocates nothing for an ordinary payment (`tests/allocations.rs`).
    pub fn evaluate_into<'a>(
        &self,
        attrs: &mut Attributes<'a>,
        input: &PaymentInput<'a>,
        now_unix: i64,
    ) -> Verdict {
        static NOTHING: Signals = Signals::EMPTY;
        self.attributes_into(attrs, input, &NOTHING, now_unix);
        let score = self.score(attrs);
        self.decide(attrs, score, ScoreSource::LocalModel)
    }

    /// Writes the score range of one of the local model's levels (the thresholds give no other).
    fn level_range(&self, level: RiskLevel, out: &mut SmallText) {
        let t = &self.thresholds;
        let mut n = itoa::Buffer::new();
        let (from, to) = match level {
            RiskLevel::Normal => (0, t.elevated_from - 1),
            RiskLevel::Elevated => (t.elevated_from, t.highest_from - 1),
            RiskLevel::Highest => (t.highest_from, 99),
            RiskLevel::Low | RiskLevel::NotAssessed | RiskLevel::Unknown => {
                out.push_str("no range");
                return;
            }
        };
        out.push_str(n.format(from));
        out.push_str("–");
        out.push_str(n.format(to));
    }
}

/// The reason code of a risk level (`risk_level_{level}`).
const fn level_code(level: RiskLevel) -> &'static str {
    match level {
        RiskLevel::Low => "risk_level_low",
        RiskLevel::Normal => "risk_level_normal",
        RiskLevel::Elevated => "risk_level_elevated",
        RiskLevel::Highest => "risk_level_highest",
        RiskLevel::NotAssessed => "risk_level_not_assessed",
        RiskLevel::Unknown => "risk_level_unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Contribution, LogisticModel};

    fn engine(actions: LevelActions) -> Engine {
        Engine::new(
            Arc::new(LogisticModel::default()),
            RiskThresholds::default(),
            actions,
            FxTable::default(),
        )
    }

    fn score(p: f64) -> ModelScore {
        ModelScore {
            probability: p,
            contributions: smallvec::smallvec![Contribution {
                code: "prepaid_card",
                weight: 0.7,
                message: "prepaid card".into(),
            }],
        }
    }

    #[test]
    fn highest_blocks_by_default_rule() {
        let e = engine(LevelActions::default());
        let mut attrs = Attributes::default();
        let v = e.decide(&mut attrs, score(0.8), ScoreSource::LocalModel);
        assert_eq!(
            (v.action, v.risk_score, v.risk_level),
            (Action::Block, 80, RiskLevel::Highest)
        );
        let rule = v.matched_rule.unwrap();
        assert_eq!(rule.predicate(), "Block if :risk_level: = 'highest'");
        assert_eq!(rule.id(), "default_highest");
        assert_eq!(v.reasons[0].message, "risk score 80 is highest (65–99)");
        assert_eq!(v.reasons[1].code, "prepaid_card");
        assert_eq!(attrs.number(Attr::RiskScore), Some(80.0));
        assert_eq!(attrs.text(Attr::RiskLevel), Some("highest"));
        assert!(!v.degraded);
    }

    #[test]
    fn lower_levels_continue_without_a_rule() {
        let e = engine(LevelActions::default());
        for (p, level) in [(0.05, RiskLevel::Normal), (0.4, RiskLevel::Elevated)] {
            let v = e.decide(
                &mut Attributes::default(),
                score(p),
                ScoreSource::LocalModel,
            );
            assert_eq!(
                (v.action, v.risk_level, v.matched_rule),
                (Action::Continue, level, None)
            );
        }
    }

    #[test]
    fn allow_rules_override_the_score() {
        let rules = RuleSet::compile(
            "vip: Allow if :customer: = 'cus_vip'\nBlock if :risk_level: = 'highest'\n",
            &crate::lists::StaticLists::default(),
        )
        .unwrap();
        let e = engine(LevelActions::default()).with_rules(Arc::new(rules));
        let mut attrs = Attributes::default();
        attrs.set(Attr::Customer, Value::Text(Cow::Borrowed("cus_vip")));
        let v = e.decide(&mut attrs, score(0.95), ScoreSource::LocalModel);
        assert_eq!(
            (v.action, v.risk_level),
            (Action::Continue, RiskLevel::Highest)
        );
        let rule = v.matched_rule.unwrap();
        assert_eq!(rule.id(), "vip");
        assert_eq!(rule.predicate(), "Allow if :customer: = 'cus_vip'");
        let v = e.decide(
            &mut Attributes::default(),
            score(0.95),
            ScoreSource::LocalModel,
        );
        assert_eq!(v.action, Action::Block);
        assert_eq!(v.matched_rule.unwrap().id(), "line_2");
    }

    #[test]
    fn unscored_payments_follow_rules_then_the_fail_policy() {
        let rules = RuleSet::compile(
            "Block if :customer: = 'cus_bad'\nReview if :risk_level: = 'elevated'\n",
            &crate::lists::StaticLists::default(),
        )
        .unwrap();
        let e = engine(LevelActions::default()).with_rules(Arc::new(rules));
        let v = e.decide_unscored(&mut Attributes::default(), Action::Review, "down".into());
        assert_eq!(
            (v.action, v.degraded, v.source),
            (Action::Review, true, ScoreSource::Fallback)
        );
        assert_eq!(v.matched_rule, None);
        assert_eq!(v.reasons[0].code, "not_scored");
        let mut attrs = Attributes::default();
        attrs.set(Attr::Customer, Value::Text(Cow::Borrowed("cus_bad")));
        let v = e.decide_unscored(&mut attrs, Action::Continue, "down".into());
        assert_eq!(v.action, Action::Block);
    }

    fn given(score: Option<f64>, level: RiskLevel, action: Option<Action>) -> Given {
        Given {
            score,
            risk_level: level,
            action,
            unknown_action: Action::Review,
            reasons: smallvec::smallvec![Reason {
                code: Cow::Borrowed("stripe_score"),
                message: "Stripe".into(),
            }],
        }
    }

    #[test]
    fn a_given_decision_stands_over_the_thresholds_and_default_rules() {
        // 81.5 would be `highest` (blocked by the default rule) on riskgate's scale; Stripe says
        // elevated / continue, and that stands.
        let e = engine(LevelActions::default());
        let mut attrs = Attributes::default();
        let v = e.decide_given(
            &mut attrs,
            given(Some(81.5), RiskLevel::Elevated, Some(Action::Continue)),
            ScoreSource::Stripe,
        );
        assert_eq!(
            (
                v.action,
                v.risk_score,
                v.risk_level,
                v.matched_rule,
                v.degraded
            ),
            (Action::Continue, 81, RiskLevel::Elevated, None, false)
        );
        assert_eq!(attrs.number(Attr::RiskScore), Some(81.0));
        assert_eq!(attrs.text(Attr::RiskLevel), Some("elevated"));
        assert_eq!(v.reasons[0].code, "stripe_score");
        // And the reverse: a low score Stripe blocks stays blocked.
        let v = e.decide_given(
            &mut Attributes::default(),
            given(Some(3.0), RiskLevel::Low, Some(Action::Block)),
            ScoreSource::Stripe,
        );
        assert_eq!((v.action, v.risk_level), (Action::Block, RiskLevel::Low));
    }

    #[test]
    fn merchant_rules_run_on_a_given_decision() {
        let rules = RuleSet::compile(
            "vip: Allow if :customer: = 'cus_vip'\n\
             na: Review if :risk_level: = 'not_assessed'\n\
             Block if :risk_score: > 90\n",
            &crate::lists::StaticLists::default(),
        )
        .unwrap();
        let e = engine(LevelActions::default()).with_rules(Arc::new(rules));
        let mut attrs = Attributes::default();
        attrs.set(Attr::Customer, Value::Text(Cow::Borrowed("cus_vip")));
        let v = e.decide_given(
            &mut attrs,
            given(Some(95.0), RiskLevel::Highest, Some(Action::Block)),
            ScoreSource::Stripe,
        );
        assert_eq!(
            (v.action, v.matched_rule.unwrap().id()),
            (Action::Continue, "vip")
        );
        // Not assessed: no score for rules to compare, the level is there.
        let mut attrs = Attributes::default();
        let v = e.decide_given(
            &mut attrs,
            given(None, RiskLevel::NotAssessed, Some(Action::Continue)),
            ScoreSource::Stripe,
        );
        assert_eq!((v.action, v.risk_score), (Action::Review, 0));
        assert_eq!(v.matched_rule.unwrap().id(), "na");
        assert_eq!(attrs.number(Attr::RiskScore), None);
    }

    #[test]
    fn an_unknown_recommendation_takes_the_fail_action_degraded() {
        let e = engine(LevelActions::default());
        let v = e.decide_given(
            &mut Attributes::default(),
            given(Some(40.0), RiskLevel::Unknown, None),
            ScoreSource::Stripe,
        );
        assert_eq!(
            (v.action, v.risk_level, v.degraded),
            (Action::Review, RiskLevel::Unknown, true)
        );
    }

    #[test]
    fn configured_level_actions_apply() {
        let e = engine(LevelActions {
            elevated: Action::RequestThreeDSecure,
            ..Default::default()
        });
        let v = e.decide(
            &mut Attributes::default(),
            score(0.3),
            ScoreSource::Fallback,
        );
        assert_eq!(v.action, Action::RequestThreeDSecure);
        assert_eq!(
            v.matched_rule.unwrap().predicate(),
            "Request 3D Secure if :risk_level: = 'elevated'"
        );
        assert!(v.degraded);
    }
}
