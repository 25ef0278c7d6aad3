//! Rules and value lists end to end: a real server on 127.0.0.1:0 with a rules file, real clients
//! for evaluations, value lists and the admin service.

use riskgate_testkit as common;

use std::time::Duration;

use common::*;
use riskgate::proto::v1::{
    self as pb, Action, admin_service_client::AdminServiceClient,
    value_list_service_client::ValueListServiceClient,
};
use tonic::{Code, Request, transport::Channel};
use tonic_types::StatusExt;

const TOKEN: &str = "test-admin-token-0123456789";

fn authed<T>(msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    r
}

async fn lists_client(server: &riskgate::server::Running) -> ValueListServiceClient<Channel> {
    ValueListServiceClient::new(channel(server.grpc_addr).await)
}

/// A payment with `email` by its own customer (card, IP), so payments do not add to each other's
/// velocity.
fn with_email(email: &str) -> pb::CreatePaymentEvaluationRequest {
    let n = email
        .bytes()
        .fold(0u8, |h, b| h.wrapping_mul(31).wrapping_add(b));
    let mut req = example_request_of(n);
    req.customer_details.as_mut().unwrap().email = email.into();
    req
}

async fn decide(
    client: &mut pb::payment_evaluation_service_client::PaymentEvaluationServiceClient<Channel>,
    req: pb::CreatePaymentEvaluationRequest,
) -> pb::Decision {
    client
        .create_payment_evaluation(req)
        .await
        .unwrap()
        .into_inner()
        .decision
        .unwrap()
}

#[tokio::test]
async fn a_listed_email_is_blocked_and_unlisted_without_a_restart() {
    let dir = TempDir::new("lists-e2e");
    let rules = dir.file(
        "rules.txt",
        "Block if :risk_level: = 'highest'\nblocked_emails: Block if :email: in @blocked_emails\n",
    );
    let mut config = test_config();
    config.rules.path = Some(rules);
    config.admin_token = Some(TOKEN.into());
    let server = start(config).await;
    let mut eval = client(server.grpc_addr).await;
    let mut lists = lists_client(&server).await;

    // The rule names a list that does not exist yet: it matches nothing.
    let d = decide(&mut eval, with_email("fraud@example.com")).await;
    assert_eq!(d.action(), Action::Continue);

    // Mutations need the token.
    let create = pb::CreateValueListRequest {
        alias: "blocked_emails".into(),
        name: "Blocked emails".into(),
        item_type: "email".into(),
        metadata: [("owner".to_owned(), "fraud-team".to_owned())].into(),
    };
    let err = lists.create_value_list(create.clone()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let mut wrong = Request::new(create.clone());
    wrong
        .metadata_mut()
        .insert("authorization", "Bearer nope".parse().unwrap());
    assert_eq!(
        lists.create_value_list(wrong).await.unwrap_err().code(),
        Code::Unauthenticated
    );

    let list = lists
        .create_value_list(authed(create.clone()))
        .await
        .unwrap()
        .into_inner();
    assert!(list.id.starts_with("rsl_"));
    assert_eq!(
        (
            list.object.as_str(),
            list.alias.as_str(),
            list.item_type.as_str()
        ),
        ("radar.value_list", "blocked_emails", "email")
    );
    assert_eq!(list.created_by, "api");
    let err = lists.create_value_list(authed(create)).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);

    let item = lists
        .create_value_list_item(authed(pb::CreateValueListItemRequest {
            value_list: list.id.clone(),
            value: "Fraud@Example.com".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(item.id.starts_with("rsli_"));
    assert_eq!(item.value, "fraud@example.com");
    assert_eq!(item.value_list, list.id);

    // The next evaluation of that email is blocked, by the list rule.
    let d = decide(&mut eval, with_email("FRAUD@example.com")).await;
    assert_eq!(d.action(), Action::Block);
    let rule = d.matched_rule.unwrap();
    assert_eq!(rule.id, "blocked_emails");
    assert_eq!(rule.predicate, "Block if :email: IN @blocked_emails");
    let d = decide(&mut eval, with_email("someone@example.com")).await;
    assert_eq!(d.action(), Action::Continue);

    // Duplicates and invalid values are refused, naming the field.
    let err = lists
        .create_value_list_item(authed(pb::CreateValueListItemRequest {
            value_list: list.id.clone(),
            value: "fraud@EXAMPLE.com".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    let err = lists
        .create_value_list_item(authed(pb::CreateValueListItemRequest {
            value_list: list.id.clone(),
            value: "not-an-email".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields: Vec<_> = err
        .get_error_details()
        .bad_request()
        .unwrap()
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect();
    assert_eq!(fields, ["value"]);

    // Deleting the item takes the email off the list.
    let gone = lists
        .delete_value_list_item(authed(pb::DeleteValueListItemRequest {
            id: item.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(gone.deleted);
    // The list rule no longer matches the email. (The model may still find a third payment with
    // this email, on another card, within seconds of a block risky.)
    let d = decide(&mut eval, with_email("fraud@example.com")).await;
    assert!(
        d.matched_rule
            .as_ref()
            .is_none_or(|r| r.id != "blocked_emails"),
        "{d:?}"
    );
    let err = lists
        .retrieve_value_list_item(authed(pb::RetrieveValueListItemRequest { id: item.id }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn lists_page_with_limit_and_starting_after() {
    let mut config = test_config();
    config.admin_token = Some(TOKEN.into());
    let server = start(config).await;
    let mut lists = lists_client(&server).await;

    let mut seen = Vec::new();
    let mut after = String::new();
    loop {
        let page = lists
            .list_value_lists(authed(pb::ListValueListsRequest {
                limit: 5,
                starting_after: after.clone(),
                alias: String::new(),
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(page.data.len() <= 5);
        seen.extend(page.data.iter().map(|l| l.alias.clone()));
        if !page.has_more {
            break;
        }
        after = page.data.last().unwrap().id.clone();
    }
    // Radar's default lists, each once.
    assert_eq!(seen.len(), riskgate_core::lists::DEFAULT_LISTS.len());
    for (alias, _, _) in riskgate_core::lists::DEFAULT_LISTS {
        assert!(seen.iter().any(|s| s == alias), "{alias}");
    }

    let ips = lists
        .list_value_lists(authed(pb::ListValueListsRequest {
            alias: "block_list_ip_address".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .data
        .remove(0);
    let err = lists
        .delete_value_list(authed(pb::DeleteValueListRequest { id: ips.id.clone() }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    lists
        .create_value_list_item(authed(pb::CreateValueListItemRequest {
            value_list: "block_list_ip_address".into(),
            value: "203.0.113.9/24".into(),
        }))
        .await
        .unwrap();
    let items = lists
        .list_value_list_items(authed(pb::ListValueListItemsRequest {
            value_list: ips.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(items.data[0].value, "203.0.113.0/24");

    let updated = lists
        .update_value_list(authed(pb::UpdateValueListRequest {
            id: ips.id.clone(),
            name: Some("Bad networks".into()),
            metadata: [("team".to_owned(), "risk".to_owned())].into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.name, "Bad networks");
    assert_eq!(updated.metadata["team"], "risk");
    let err = lists
        .list_value_lists(authed(pb::ListValueListsRequest {
            limit: 1000,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);

    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn a_broken_rules_file_is_refused_and_the_old_rules_keep_serving() {
    let dir = TempDir::new("reload-rpc");
    let rules = dir.file("rules.txt", "big: Review if :amount_in_usd: > 10\n");
    let mut config = test_config();
    config.rules.path = Some(rules.clone());
    config.rules.watch_interval_ms = 0;
    config.admin_token = Some(TOKEN.into());
    let server = start(config).await;
    let mut eval = client(server.grpc_addr).await;
    let mut admin = AdminServiceClient::new(channel(server.grpc_addr).await);
    assert_eq!(
        decide(&mut eval, example_request()).await.action(),
        Action::Review
    );

    std::fs::write(&rules, "big: Block if :amount_in_usd: > 'ten'\n").unwrap();
    let err = admin
        .reload_rules(authed(pb::ReloadRulesRequest {}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().contains("rules.txt:1:33:"),
        "{}",
        err.message()
    );
    assert!(err.message().contains("keep serving"), "{}", err.message());
    // The old rules still decide.
    let d = decide(&mut eval, example_request()).await;
    assert_eq!(d.action(), Action::Review);

    std::fs::write(&rules, "big: Block if :amount_in_usd: > 10\n").unwrap();
    let ok = admin
        .reload_rules(authed(pb::ReloadRulesRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((ok.rules, ok.generation), (1, 1));
    let d = decide(&mut eval, example_request()).await;
    assert_eq!(d.action(), Action::Block);
    assert_eq!(d.matched_rule.unwrap().id, "big");

    let err = admin
        .reload_rules(pb::ReloadRulesRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    let (_, metrics) = http_get(server.admin_addr, "/metrics").await;
    assert!(
        sample(
            &metrics,
            "riskgate_rules_reloads_total{trigger=\"rpc\",outcome=\"error\"}"
        )
        .is_some_and(|n| n >= 1.0),
        "{metrics}"
    );
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn a_changed_rules_file_is_picked_up() {
    let dir = TempDir::new("reload-watch");
    let rules = dir.file("rules.txt", "Block if :risk_level: = 'highest'\n");
    let mut config = test_config();
    config.rules.path = Some(rules.clone());
    config.rules.watch_interval_ms = 10;
    let server = start(config).await;
    let mut eval = client(server.grpc_addr).await;
    assert_eq!(
        decide(&mut eval, example_request()).await.action(),
        Action::Continue
    );

    std::fs::write(
        &rules,
        "Block if :risk_level: = 'highest'\nsmall: Request 3D Secure if :amount_in_usd: < 1000\n",
    )
    .unwrap();
    // Evaluations keep succeeding while the watcher notices the change and swaps the rules.
    // Each try is another customer's payment: the same new card paying a hundred times within
    // seconds is what the model blocks.
    let mut action = Action::Continue;
    for i in 0..1000 {
        action = decide(&mut eval, example_request_of((i % 250) as u8))
            .await
            .action();
        if action == Action::RequestThreeDSecure {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(action, Action::RequestThreeDSecure);
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn a_server_refuses_to_start_with_a_broken_rules_file() {
    let dir = TempDir::new("start-broken");
    let rules = dir.file("rules.txt", "Block if :amount_in_uds: > 1\n");
    let mut config = test_config();
    config.rules.path = Some(rules);
    let err = riskgate::server::Server::new(config)
        .start()
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("did you mean `:amount_in_usd:`"), "{err}");
}

#[tokio::test]
async fn decisions_are_audited_without_personal_data() {
    let dir = TempDir::new("audit");
    let path = dir.0.join("audit/decisions.ndjson");
    let mut config = test_config();
    config.audit.path = Some(path.clone());
    let server = start(config).await;
    let mut eval = client(server.grpc_addr).await;
    let answer = eval
        .create_payment_evaluation(example_request())
        .await
        .unwrap()
        .into_inner();
    let id = answer.evaluation.unwrap().id;
    server.shutdown(Duration::from_secs(5)).await.unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(line["id"], id.as_str());
    assert_eq!(line["action"], "continue");
    assert_eq!(line["email_domain"], "example.com");
    assert!(line["email"].as_str().unwrap().starts_with("hmac:"));
    assert!(!text.contains("jenny"), "{text}");
    assert!(!text.contains("203.0.113.7\""), "{text}");
}
