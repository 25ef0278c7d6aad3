//! Radar rules: one rule per line, `[name:] <Action> if <condition>`, `#` comments.
//!
//! - [`parser`] reads a line into an [`ast::Rule`] (which prints back to a parseable rule);
//! - [`compile`] resolves `:attr:` names against the catalog, checks types, binds `@alias` lists and
//!   produces a [`RuleSet`] whose evaluation reads an [`Attributes`](crate::attributes::Attributes)
//!   set without allocating.
//!
//! Semantics follow Radar: rules run Request 3D Secure first, then Allow, Block and Review, in file
//! order within an action, and the first match decides. Any comparison with a missing value is
//! false (`is_missing(:attr:)` tests for absence). Text compares case-insensitively (`=`, `!=`, `IN`,
//! `LIKE` with `%` wildcards, `INCLUDES` as substring); numbers numerically; metadata values
//! (`::key::`) are text that reads as a number or a flag where the comparison needs one.
//!
//! Pure: no I/O. Files are read by the caller.

pub mod ast;
pub mod catalog;
pub mod compile;
pub mod defaults;
mod eval;
mod explain;
pub mod parser;

pub use compile::{Clause, CompiledRule, Explanation, RuleError, RuleErrors, RuleSet};

use crate::{
    decision::{Action, LevelActions, RiskLevel},
    lists::OfflineLists,
};

/// Radar's default rules, as a rules file: block `highest`; reviewing `elevated` is shipped off.
pub const RADAR_DEFAULT_RULES: &str = "\
# Radar's default rules.
Block if :risk_level: = 'highest'
# Review if :risk_level: = 'elevated'
";

/// The rule set used when no rules file is configured: one rule per risk level whose `[actions]`
/// entry is not `continue` (by default only `Block if :risk_level: = 'highest'`), rule ids
/// `default_<level>`; then the rules that act on outcome memory ([`defaults`]).
pub fn default_rules(actions: &LevelActions) -> RuleSet {
    let mut text = String::new();
    for level in [RiskLevel::Normal, RiskLevel::Elevated, RiskLevel::Highest] {
        let action = actions.action(level);
        if action != Action::Continue {
            text.push_str(&format!(
                "default_{l}: {} if :risk_level: = '{l}'\n",
                action.rule_verb(),
                l = level.as_str()
            ));
        }
    }
    text.push_str(defaults::OUTCOME_DEFAULT_RULES);
    RuleSet::compile(&text, &OfflineLists).expect("default rules compile")
}

#[cfg(test)]
mod tests {
    use std::{borrow::Cow, collections::BTreeMap};

    use super::*;
    use crate::{
        attributes::{Attr, Attributes, Value},
        lists::{ItemType, StaticLists},
    };

    fn attrs(pairs: &[(Attr, Value<'static>)]) -> Attributes<'static> {
        let mut a = Attributes::default();
        for (k, v) in pairs {
            a.set(*k, v.clone());
        }
        a
    }

    fn text(s: &'static str) -> Value<'static> {
        Value::Text(Cow::Borrowed(s))
    }

    fn compile(src: &str) -> RuleSet {
        RuleSet::compile(src, &StaticLists::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn first(set: &RuleSet, a: &Attributes<'_>) -> Option<String> {
        set.evaluate(a).map(|r| r.id.clone())
    }

    #[test]
    fn seed_examples_evaluate_as_documented() {
        // The seed's examples whose attributes the gateway computes today (`:ip_country:` and
        // `:is_3d_secure:` come with enrichment; see examples/rules.txt).
        let set = compile(
            "highest: Block if :risk_level: = 'highest'\n\
             big_elevated: Block if :amount_in_usd: > 5000 AND :risk_level: = 'elevated'\n\
             review_elevated: Review if :risk_level: = 'elevated' AND :amount_in_usd: > 1000\n\
             mismatch: Block if :card_country: != :billing_address_country:\n",
        );
        let a = attrs(&[(Attr::RiskLevel, text("highest"))]);
        assert_eq!(first(&set, &a).as_deref(), Some("highest"));
        let a = attrs(&[
            (Attr::RiskLevel, text("elevated")),
            (Attr::AmountInUsd, Value::Number(6000.0)),
        ]);
        assert_eq!(first(&set, &a).as_deref(), Some("big_elevated"));
        let a = attrs(&[
            (Attr::RiskLevel, text("elevated")),
            (Attr::AmountInUsd, Value::Number(1500.0)),
        ]);
        assert_eq!(first(&set, &a).as_deref(), Some("review_elevated"));
        let a = attrs(&[
            (Attr::RiskLevel, text("normal")),
            (Attr::CardCountry, text("NG")),
            (Attr::BillingAddressCountry, text("US")),
        ]);
        assert_eq!(first(&set, &a).as_deref(), Some("mismatch"));
        // A missing billing country: the comparison is false, even with `!=`.
        let a = attrs(&[(Attr::CardCountry, text("NG"))]);
        assert_eq!(first(&set, &a), None);
    }

    #[test]
    fn actions_run_in_radar_order_and_allow_overrides() {
        let set = compile(
            "b: Block if :risk_level: = 'highest'\n\
             r: Review if :card_funding: = 'prepaid'\n\
             a: Allow if :customer: IN ('cus_vip')\n\
             t: Request 3D Secure if :amount_in_usd: > 500\n",
        );
        let ids: Vec<_> = set.rules().iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["t", "a", "b", "r"]);
        let a = attrs(&[
            (Attr::RiskLevel, text("highest")),
            (Attr::Customer, text("cus_vip")),
            (Attr::CardFunding, text("prepaid")),
        ]);
        let rule = set.evaluate(&a).unwrap();
        assert_eq!((rule.id.as_str(), rule.action), ("a", Action::Continue));
        let a = attrs(&[
            (Attr::RiskLevel, text("highest")),
            (Attr::AmountInUsd, Value::Number(900.0)),
        ]);
        assert_eq!(
            set.evaluate(&a).unwrap().action,
            Action::RequestThreeDSecure
        );
    }

    #[test]
    fn operators_and_missing_values() {
        let a = attrs(&[
            (Attr::Email, text("jenny@mailinator.com")),
            (Attr::AmountInUsd, Value::Number(250.0)),
            (Attr::IsOffSession, Value::Bool(false)),
            (Attr::CardBin, text("424242")),
        ]);
        let cases = [
            (":email: LIKE '%@mailinator.com'", true),
            (":email: LIKE 'JENNY%'", true),
            (":email: LIKE 'jenny'", false),
            (":email: LIKE '%mail%'", true),
            (":email: INCLUDES 'MAILINATOR'", true),
            (":email: = 'Jenny@Mailinator.com'", true),
            (":amount_in_usd: >= 250 AND :amount_in_usd: < 250.5", true),
            (":amount_in_usd: IN (100, 250)", true),
            (":card_bin: IN ('411111', '424242')", true),
            ("NOT :is_off_session:", true),
            (":is_off_session: = 'false'", true),
            (":is_off_session: = false", true),
            ("is_missing(:card_country:)", true),
            (":card_country: = 'US'", false),
            (":card_country: != 'US'", false),
            ("NOT (:card_country: = 'US')", true),
            (":card_country: IN ('US')", false),
            (":user_agent: LIKE '%'", false),
            ("is_missing(:email:) OR :amount_in_usd: > 1000", false),
            ("::tier:: = 'gold'", false),
            ("is_missing(::tier::)", true),
        ];
        for (cond, expected) in cases {
            let set = compile(&format!("Block if {cond}"));
            assert_eq!(set.evaluate(&a).is_some(), expected, "{cond}");
        }
    }

    #[test]
    fn amounts_in_other_currencies() {
        let a = attrs(&[(Attr::AmountInUsd, Value::Number(216.0))]);
        let fx = crate::reference::FxTable::new([("gbp", 1.35)]).unwrap();
        let set = RuleSet::compile_with_fx(
            "Review if :amount_in_gbp: > 159.99 AND :amount_in_gbp: < 160.01",
            &StaticLists::default(),
            &fx,
        )
        .unwrap();
        assert!(set.evaluate(&a).is_some());
        let e = errors("Block if :amount_in_xyz: > 1");
        assert!(e.contains("unknown attribute `:amount_in_xyz:`"), "{e}");
        let e = errors("Block if :amount_in_eur: = 'x'");
        assert!(e.contains("is a number"), "{e}");
    }

    #[test]
    fn metadata_reads_the_request() {
        let md: BTreeMap<String, String> = [
            ("order_type".to_owned(), "gift_card".to_owned()),
            ("customer:tier".to_owned(), "new".to_owned()),
            ("items".to_owned(), "12".to_owned()),
            ("trusted".to_owned(), "true".to_owned()),
        ]
        .into();
        let mut a = Attributes::default();
        a.set_metadata(&md);
        for (cond, expected) in [
            ("::order_type:: = 'gift_card'", true),
            ("::customer:tier:: IN ('new', 'unknown')", true),
            ("::items:: > 10", true),
            ("::items:: = 12", true),
            ("::order_type:: > 10", false),
            ("::trusted::", true),
            ("::order_type:: LIKE 'gift%'", true),
        ] {
            let set = compile(&format!("Review if {cond}"));
            assert_eq!(set.evaluate(&a).is_some(), expected, "{cond}");
        }
    }

    #[test]
    fn saved_lists_are_bound_and_read_live() {
        let lists = StaticLists::default()
            .with("blocked_emails", ItemType::Email, &["fraud@example.com"])
            .with("bad_ips", ItemType::IpAddress, &["203.0.113.0/24"]);
        let set = RuleSet::compile(
            "Block if :email: IN @blocked_emails\nReview if :ip_address: in @bad_ips\n",
            &lists,
        )
        .unwrap();
        let a = attrs(&[(Attr::Email, text("fraud@example.com"))]);
        assert_eq!(set.evaluate(&a).unwrap().action, Action::Block);
        let a = attrs(&[(Attr::IpAddress, text("203.0.113.77"))]);
        assert_eq!(set.evaluate(&a).unwrap().action, Action::Review);
        // An item removed after compiling is seen at once.
        lists.0["blocked_emails"].write(|m| m.as_mut().unwrap().remove("fraud@example.com"));
        let a = attrs(&[(Attr::Email, text("fraud@example.com"))]);
        assert!(set.evaluate(&a).is_none());

        let err = RuleSet::compile("Block if :email: IN @nope", &lists).unwrap_err();
        assert!(err.to_string().contains("unknown list `@nope`"), "{err}");
    }

    fn errors(src: &str) -> String {
        RuleSet::compile(src, &StaticLists::default())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn type_errors_are_refused_at_load() {
        let e = errors("Block if :amount_in_usd: = 'x'");
        assert!(
            e.starts_with("1:28: :amount_in_usd: is a number, but 'x' is a string"),
            "{e}"
        );
        let e = errors("Block if :email: > 3");
        assert!(
            e.contains("string attributes accept only =, !=, IN, LIKE and INCLUDES"),
            "{e}"
        );
        let e = errors("Block if :amount_in_usd:");
        assert!(e.contains("only boolean attributes stand alone"), "{e}");
        let e = errors("Block if :card_country: IN ('US', 3)");
        assert!(e.contains("this list item is a number"), "{e}");
        let e = errors("Block if :amount_in_usd: LIKE '1%'");
        assert!(e.contains("applies to strings only"), "{e}");
        let e = errors("Block if :is_off_session: = 'maybe'");
        assert!(e.contains("expected true or false"), "{e}");
        let e = errors("Block if :card_country: = :amount_in_usd:");
        assert!(
            e.contains("is a string, but :amount_in_usd: is a number"),
            "{e}"
        );
    }

    #[test]
    fn unknown_attributes_suggest_the_closest_name() {
        let e = errors("Block if :amount_in_uds: > 10");
        assert!(e.contains("did you mean `:amount_in_usd:`?"), "{e}");
        let e = errors("Block if :card_contry: = 'US'");
        assert!(e.contains("did you mean `:card_country:`?"), "{e}");
        let e = errors("Block if :zzzzzz: = 'US'");
        assert!(e.contains("riskgate rules attributes"), "{e}");
    }

    #[test]
    fn errors_show_line_column_source_and_caret() {
        let e = errors(
            "# ok\nBlock if :risk_level: = 'highest'\n\nReview if :amount_in_usd: > 'big'\nBlock :x:\n",
        );
        assert_eq!(
            e,
            "4:29: 'big' is a string; `>` compares numbers\n \
             4 | Review if :amount_in_usd: > 'big'\n   \
               |                             ^^^^^\n\
             5:7: expected `if` after the action, found attribute `:x:`\n \
             5 | Block :x:\n   \
               |       ^^^"
        );
    }

    #[test]
    fn default_rules_follow_level_actions() {
        let outcome_rules = RuleSet::compile(defaults::OUTCOME_DEFAULT_RULES, &OfflineLists)
            .unwrap()
            .len();
        let set = default_rules(&LevelActions::default());
        assert_eq!(set.len(), 1 + outcome_rules);
        let r = set
            .rules()
            .iter()
            .find(|r| r.action == Action::Block)
            .unwrap();
        assert_eq!(r.id, "default_highest");
        assert_eq!(r.predicate, "Block if :risk_level: = 'highest'");
        let set = default_rules(&LevelActions {
            elevated: Action::Review,
            ..Default::default()
        });
        assert_eq!(set.len(), 2 + outcome_rules);
        let compiled = RuleSet::compile(RADAR_DEFAULT_RULES, &StaticLists::default()).unwrap();
        assert_eq!(compiled.len(), 1);
    }

    #[test]
    fn explain_reports_every_clause() {
        let set = compile(
            "big: Block if :amount_in_usd: > 1000 AND (:card_country: = 'NG' OR is_missing(:email:))\n\
             any: Review if :amount_in_usd: > 10\n",
        );
        let a = attrs(&[(Attr::AmountInUsd, Value::Number(2000.0))]);
        let ex = set.explain(&a);
        assert!(ex[0].matched && ex[0].decides);
        assert!(ex[1].matched && !ex[1].decides);
        let texts: Vec<_> = ex[0]
            .clauses
            .iter()
            .map(|c| (c.text.as_str(), c.result))
            .collect();
        assert_eq!(
            texts,
            [
                (":amount_in_usd: > 1000", true),
                (":card_country: = 'NG'", false),
                ("is_missing(:email:)", true),
            ]
        );
        assert_eq!(ex[0].clauses[0].values, [":amount_in_usd: = 2000"]);
        assert_eq!(ex[0].clauses[1].values, [":card_country: is missing"]);
    }
}
