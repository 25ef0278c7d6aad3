//! Radar rules: one rule per line, `[name:] <Action> if <condition>`, `#` comments.
//!
//! - [`parser`] reads a line into an [`ast::Rule`] (which prints back to a parseable rule);
//! - [`compile`] resolves `:attr:` names against the catalog and Stripe's attribute list
//!   ([`coverage`]: an attribute riskgate cannot compute is refused with the reason), checks types
//!   (`check.rs`, with [`types`]: Booleans bare, countries and states as codes, numbers against
//!   numbers, list item types), binds `@alias` lists and produces a [`RuleSet`] whose evaluation
//!   reads an [`Attributes`](crate::attributes::Attributes) set without allocating.
//!
//! Semantics follow Stripe's current rules reference (docs/rules.md says where it changed over
//! time): Request 3D Secure rules run first and do not end evaluation; Allow, Block and Review
//! follow and the first match ends it (a Block overrides a Request 3D Secure match, nothing else
//! does); file order within an action, as Radar does not order them. Every comparison is true,
//! false or missing (it read a missing value); NOT keeps missing, AND/OR are Kleene's, and a rule
//! matches only when its condition is true. Radar's Booleans are false when absent. Strings compare
//! by the attribute's case rule (`=`, `!=`, `IN`, `LIKE` with `%` wildcards, `INCLUDES`); metadata
//! (`::key::`, `::customer:key::`, `::destination:key::`, `::account:key::`) is case-sensitive and
//! reads as a number where compared with one.
//!
//! Pure: no I/O. Files are read by the caller.

pub mod ast;
pub mod catalog;
mod check;
pub mod compile;
pub mod coverage;
pub mod defaults;
mod eval;
mod explain;
mod lexer;
pub mod parser;
pub mod types;

pub use compile::{Clause, CompiledRule, Explanation, RuleError, RuleErrors, RuleSet, RuleWarning};
pub use eval::Truth;

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

/// The rule set used when no rules file is configured: the rules that act on outcome memory
/// ([`defaults`]), then one rule per risk level whose `[actions]` entry is not `continue` (by
/// default only `Block if :risk_level: = 'highest'`), rule ids `default_<level>`. The outcome
/// rules come first so that, when the model's score and one of them both block, the decision
/// names the specific reason ("this card had 1 fraud outcome before") rather than the score.
pub fn default_rules(actions: &LevelActions) -> RuleSet {
    let mut text = String::from(defaults::OUTCOME_DEFAULT_RULES);
    for level in [RiskLevel::Normal, RiskLevel::Elevated, RiskLevel::Highest] {
        let action = actions.action(level).unwrap_or(Action::Continue);
        if action != Action::Continue {
            text.push_str(&format!(
                "default_{l}: {} if :risk_level: = '{l}'\n",
                action.rule_verb(),
                l = level.as_str()
            ));
        }
    }
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
        // The seed's examples (its `Allow if :is_3d_secure: = 'true'` is not valid Radar: Booleans
        // take no operator or value; see examples/rules.txt).
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
        // Request 3D Secure does not end evaluation: a Block match still blocks.
        let a = attrs(&[
            (Attr::RiskLevel, text("highest")),
            (Attr::AmountInUsd, Value::Number(900.0)),
        ]);
        assert_eq!(set.evaluate(&a).unwrap().id, "b");
        // Without a Block match, 3D Secure is requested, even when Review (or Allow) matches.
        let a = attrs(&[
            (Attr::CardFunding, text("prepaid")),
            (Attr::AmountInUsd, Value::Number(900.0)),
        ]);
        assert_eq!(set.evaluate(&a).unwrap().id, "t");
        let a = attrs(&[
            (Attr::Customer, text("cus_vip")),
            (Attr::AmountInUsd, Value::Number(900.0)),
        ]);
        assert_eq!(set.evaluate(&a).unwrap().id, "t");
        let a = attrs(&[(Attr::AmountInUsd, Value::Number(900.0))]);
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
            // Radar's Booleans read as false when the payment lacks them.
            ("NOT :is_recurring:", true),
            ("is_missing(:is_recurring:)", false),
            ("is_missing(:card_country:)", true),
            (":card_country: = 'US'", false),
            (":card_country: != 'US'", false),
            // Missing is carried through NOT.
            ("NOT (:card_country: = 'US')", false),
            (
                "NOT (:card_country: = 'US' AND :amount_in_usd: > 1000)",
                true,
            ),
            (":card_country: = 'US' OR :amount_in_usd: > 100", true),
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
        assert!(e.contains("unknown currency `xyz`"), "{e}");
        let e = errors("Block if :amount_in_eur: = 'x'");
        assert!(e.contains("is a number"), "{e}");
    }

    #[test]
    fn metadata_reads_the_request() {
        let md: BTreeMap<String, String> = [
            ("order_type".to_owned(), "gift_card".to_owned()),
            ("customer:tier".to_owned(), "new".to_owned()),
            ("items".to_owned(), "12".to_owned()),
            ("Item ID".to_owned(), "5A381D".to_owned()),
        ]
        .into();
        let customer: BTreeMap<String, String> = [("tier".to_owned(), "gold".to_owned())].into();
        let mut a = Attributes::default();
        a.set_metadata(&md);
        a.set_scoped_metadata(crate::attributes::MetadataScope::Customer, Some(&customer));
        for (cond, expected) in [
            ("::order_type:: = 'gift_card'", true),
            // `::customer:…::` reads the customer's metadata, not a payment key `customer:tier`.
            ("::customer:tier:: IN ('new', 'unknown')", false),
            ("::customer:tier:: = 'gold'", true),
            (
                "::destination:tier:: = 'gold' OR is_missing(::destination:tier::)",
                true,
            ),
            ("::items:: > 10", true),
            ("::items:: = 12", true),
            ("::items:: = '12.0'", false),
            ("::order_type:: > 10", false),
            ("NOT (::order_type:: > 10)", false),
            ("::order_type:: LIKE 'gift%'", true),
            ("::Item ID:: = '5A381D'", true),
            ("::Item ID:: = '5a381d'", false),
            ("::Item ID:: INCLUDES 'A381'", true),
            ("::Item ID:: LIKE '5a%'", false),
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
        assert!(e.contains("string values can only use =, !="), "{e}");
        let e = errors("Block if :amount_in_usd:");
        assert!(e.contains("only Boolean attributes stand alone"), "{e}");
        let e = errors("Block if :card_country: IN ('US', 3)");
        assert!(
            e.contains(":card_country: is a country, but 3 is a number"),
            "{e}"
        );
        let e = errors("Block if :amount_in_usd: LIKE '1%'");
        assert!(e.contains("applies to strings only"), "{e}");
        let e = errors("Block if :is_off_session: = 'true'");
        assert!(
            e.contains("Boolean attributes take no operator or value"),
            "{e}"
        );
        let e = errors("Block if :is_off_session: = true");
        assert!(
            e.contains("Boolean attributes take no operator or value"),
            "{e}"
        );
        let e = errors("Block if ::trusted::");
        assert!(e.contains("not a Boolean"), "{e}");
        let e = errors("Block if :card_country: = :amount_in_usd:");
        assert!(
            e.contains(":card_country: is a country, but :amount_in_usd: is a number"),
            "{e}"
        );
        let e = errors("Block if :ip_country: = 'Canada'");
        assert!(e.contains("two-letter ISO 3166-1 codes"), "{e}");
        let e = errors("Block if :email: = @block_list_email");
        assert!(e.contains("a list is used with IN"), "{e}");
        let e = errors("Block if :account_risk_level: = 'highest'");
        assert!(e.contains("cannot apply before authorization"), "{e}");
        let e = errors("Block if :card_count_for_email_transactions_yearly: > 3");
        assert!(e.contains("does not compute yet"), "{e}");
    }

    #[test]
    fn radar_names_for_the_same_value_and_card_only_attributes() {
        let set = compile(
            "Review if :total_transactions_per_email_daily: > 2\n\
             Block if :sepa_debit_country: = 'DE'\n",
        );
        assert_eq!(set.warnings().len(), 1);
        assert!(set.warnings()[0].message.contains("always missing"));
        let a = attrs(&[(Attr::TotalChargesPerEmailDaily, Value::Number(3.0))]);
        assert_eq!(set.evaluate(&a).unwrap().action, Action::Review);
        assert_eq!(
            set.rules()[1].attributes,
            ["total_transactions_per_email_daily"]
        );
    }

    #[test]
    fn warnings_for_rules_that_cannot_mean_what_they_say() {
        let set = compile(
            "Review if :risk_level: = 'high'\n\
             Block if :card_count_for_email_daily: > 25\n\
             Block if :cvc_check: = 'fail'\n\
             Block if :card_brand: IN ('visa', 'mastercard')\n",
        );
        let w: Vec<_> = set.warnings().iter().map(|w| w.message.as_str()).collect();
        assert_eq!(w.len(), 4, "{w:#?}");
        assert!(w[0].contains("Radar and riskgate write 'highest'"));
        assert!(w[1].contains("counts at most 25"));
        assert!(w[2].contains("after authorization"));
        assert!(w[3].contains("write 'mc'"));
    }

    #[test]
    fn case_rules_per_attribute() {
        let a = attrs(&[
            (Attr::CardFingerprint, text("abc123")),
            (Attr::Customer, text("cus_abc")),
            (Attr::CardCountry, text("US")),
            (Attr::CardFunding, text("Credit")),
            (Attr::IpState, text("CA")),
        ]);
        for (cond, expected) in [
            (":card_fingerprint: = 'AbC123'", false),
            (":card_fingerprint: = 'abc123'", true),
            (":customer: IN ('cus_ABC')", false),
            (":card_country: = 'us'", true),
            (":card_funding: != 'credit'", false),
            (":ip_state: = 'ca'", true),
            (":card_country: LIKE 'u%'", true),
        ] {
            let set = compile(&format!("Review if {cond}"));
            assert_eq!(set.evaluate(&a).is_some(), expected, "{cond}");
        }
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
        let blocks: Vec<&str> = set
            .rules()
            .iter()
            .filter(|r| r.action == Action::Block)
            .map(|r| r.id.as_str())
            .collect();
        // A payment the score and an outcome rule both block is decided by the outcome rule.
        assert_eq!(blocks, ["prior_fraud_on_card", "default_highest"]);
        let r = set
            .rules()
            .iter()
            .find(|r| r.id == "default_highest")
            .unwrap();
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
                (":amount_in_usd: > 1000", Truth::True),
                (":card_country: = 'NG'", Truth::Missing),
                ("is_missing(:email:)", Truth::True),
            ]
        );
        assert_eq!(ex[0].result, Truth::True);
        assert_eq!(ex[0].clauses[0].values, [":amount_in_usd: = 2000"]);
        assert_eq!(ex[0].clauses[1].values, [":card_country: is missing"]);
    }
}

#[cfg(test)]
mod three_valued {
    //! Properties of the three-valued evaluation over random conditions and random payments: NOT
    //! flips true and false and keeps missing; a condition and its negation never both match; De
    //! Morgan's laws hold; `is_missing` and Radar's Booleans are never missing.

    use std::{borrow::Cow, collections::BTreeMap};

    use proptest::prelude::*;

    use super::*;
    use crate::{
        attributes::{Attr, Attributes, Value},
        lists::StaticLists,
    };

    const LEAVES: &[&str] = &[
        ":card_country: = 'US'",
        ":card_country: != :ip_country:",
        ":amount_in_usd: > 10",
        ":email_domain: IN ('a.com', 'b.com')",
        ":email: LIKE '%@a.com'",
        "is_missing(:email:)",
        ":is_off_session:",
        ":is_anonymous_ip:",
        "::k:: < 5",
        "::k:: = 'x'",
    ];

    fn condition() -> impl Strategy<Value = String> {
        let leaf = (0..LEAVES.len()).prop_map(|i| LEAVES[i].to_owned());
        leaf.prop_recursive(4, 16, 3, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} AND {b})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} OR {b})")),
                inner.prop_map(|a| format!("NOT ({a})")),
            ]
        })
    }

    type Payment = (
        Option<&'static str>,
        Option<&'static str>,
        Option<f64>,
        Option<&'static str>,
        Option<bool>,
        Option<bool>,
        Option<&'static str>,
    );

    fn payment() -> impl Strategy<Value = Payment> {
        (
            proptest::option::of(prop_oneof![Just("US"), Just("FR")]),
            proptest::option::of(prop_oneof![Just("US"), Just("NG")]),
            proptest::option::of(prop_oneof![Just(5.0), Just(50.0)]),
            proptest::option::of(prop_oneof![Just("x@a.com"), Just("y@c.com")]),
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<bool>()),
            proptest::option::of(prop_oneof![Just("x"), Just("3"), Just("9")]),
        )
    }

    fn truth(rule: &str, a: &Attributes<'_>) -> Truth {
        let set = RuleSet::compile(&format!("Review if {rule}"), &StaticLists::default())
            .unwrap_or_else(|e| panic!("{e}"));
        set.explain(a)[0].result
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn not_flips_and_de_morgan_holds(
            a in condition(), b in condition(), p in payment()
        ) {
            let (cc, ipc, usd, email, off, anon, k) = p;
            let md: BTreeMap<String, String> =
                k.map(|k| ("k".to_owned(), k.to_owned())).into_iter().collect();
            let mut attrs = Attributes::default();
            attrs.set_metadata(&md);
            let text = |s: &'static str| Value::Text(Cow::Borrowed(s));
            if let Some(c) = cc { attrs.set(Attr::CardCountry, text(c)); }
            if let Some(c) = ipc { attrs.set(Attr::IpCountry, text(c)); }
            if let Some(n) = usd { attrs.set(Attr::AmountInUsd, Value::Number(n)); }
            if let Some(e) = email {
                attrs.set(Attr::Email, text(e));
                attrs.set(Attr::EmailDomain, text(&e[e.find('@').unwrap() + 1..]));
            }
            if let Some(o) = off { attrs.set(Attr::IsOffSession, Value::Bool(o)); }
            if let Some(x) = anon { attrs.set(Attr::IsAnonymousIp, Value::Bool(x)); }

            let ta = truth(&a, &attrs);
            prop_assert_eq!(truth(&format!("NOT ({a})"), &attrs), ta.not());
            prop_assert_eq!(truth(&format!("NOT NOT ({a})"), &attrs), ta);
            prop_assert!(!(ta == Truth::True && ta.not() == Truth::True));
            prop_assert_eq!(
                truth(&format!("NOT ({a} AND {b})"), &attrs),
                truth(&format!("NOT ({a}) OR NOT ({b})"), &attrs)
            );
            prop_assert_eq!(
                truth(&format!("NOT ({a} OR {b})"), &attrs),
                truth(&format!("NOT ({a}) AND NOT ({b})"), &attrs)
            );
            // is_missing and Radar's Booleans are two-valued.
            prop_assert_ne!(truth("is_missing(:email:)", &attrs), Truth::Missing);
            prop_assert_ne!(truth(":is_off_session:", &attrs), Truth::Missing);
            // The evaluator and the explanation agree.
            let set = RuleSet::compile(&format!("Review if {a}"), &StaticLists::default()).unwrap();
            prop_assert_eq!(set.evaluate(&attrs).is_some(), ta == Truth::True);
        }
    }
}
