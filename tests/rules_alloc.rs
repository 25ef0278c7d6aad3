//! Evaluating a compiled rule set does not allocate: a counting allocator watches this thread while
//! 20 rules run over a full attribute set (lists, LIKE, IN, metadata and attribute comparisons).

use std::{collections::BTreeMap, sync::Arc};

use riskgate::{api::validate, proto::v1::CreatePaymentEvaluationRequest};
use riskgate_core::{
    attributes::{Attr, Value},
    decision::{Action, LevelActions, RiskThresholds},
    engine::{Engine, ScoreSource},
    lists::{ItemType, StaticLists},
    model::LogisticModel,
    reference::FxTable,
    rules::RuleSet,
};

use riskgate_testkit::alloc::{Counting, allocations};

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn rule_evaluation_does_not_allocate() {
    let req: CreatePaymentEvaluationRequest =
        serde_json::from_str(include_str!("../examples/evaluation.json")).unwrap();
    let mut req_md = req.clone();
    req_md.metadata = BTreeMap::from([("order_type".to_owned(), "voucher".to_owned())]);
    let input = validate::payment_evaluation(&req_md).unwrap();
    let lists = StaticLists::default()
        .with("allow_list_customer_id", ItemType::CustomerId, &["cus_vip"])
        .with(
            "allow_list_card_fingerprint",
            ItemType::CardFingerprint,
            &["abc"],
        )
        .with("block_list_email", ItemType::Email, &["Fraud@Example.com"])
        .with(
            "block_list_ip_address",
            ItemType::IpAddress,
            &["198.51.100.0/24", "2001:db8::/32"],
        )
        .with("block_list_card_bin", ItemType::CardBin, &["411111"]);
    let set = RuleSet::compile(
        include_str!("../crates/riskgate-core/benches/rules_20.txt"),
        &lists,
    )
    .unwrap();
    let engine = Engine::new(
        Arc::new(LogisticModel::default()),
        RiskThresholds::default(),
        LevelActions::default(),
        FxTable::default(),
    );
    let mut attrs = engine.attributes(
        &input,
        &riskgate_core::signals::Signals::EMPTY,
        1_795_219_200,
    );
    let score = engine.score(&attrs);
    engine.decide(&mut attrs, score, ScoreSource::LocalModel);
    let mut highest = attrs.clone();
    highest.set(Attr::RiskLevel, Value::Text("highest".into()));
    let mut upper_email = attrs.clone();
    upper_email.set(Attr::Email, Value::Text("FRAUD@example.COM".into()));

    let before = allocations();
    let none = set.evaluate(&attrs).map(|r| r.action);
    let block = set.evaluate(&highest).map(|r| r.action);
    let listed = set.evaluate(&upper_email).map(|r| r.id.as_str());
    let after = allocations();

    assert_eq!(none, None);
    assert_eq!(block, Some(Action::Block));
    assert_eq!(listed, Some("blocked_emails"));
    assert_eq!(after - before, 0, "rule evaluation allocated");
}
