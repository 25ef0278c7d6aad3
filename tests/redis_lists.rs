//! Value lists in Redis mode, on a real Redis: lists changed through one gateway's
//! ValueListService apply to evaluations on another, duplicates are refused across gateways, a
//! restarted gateway reloads the lists from Redis, and a dead Redis refuses changes (UNAVAILABLE)
//! while evaluations go on with the last lists known.

use riskgate_testkit as common;

use std::time::Duration;

use common::{redis_cluster::RedisCluster, redis_server::RedisServer, *};
use riskgate::{
    proto::v1::{
        self as pb, Action, payment_evaluation_service_client::PaymentEvaluationServiceClient,
        value_list_service_client::ValueListServiceClient,
    },
    server::Running,
};
use tonic::{Code, Request, transport::Channel};

const TOKEN: &str = "test-admin-token-0123456789";
const RULES: &str = "blocked_emails: Block if :email: in @blocked_emails\n\
                     fraud_warnings: Block if :email: in @block_list_email\n";
const WHSEC: &str = "whsec_redis_lists_test";

fn authed<T>(msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    r
}

fn config(redis: &RedisServer, dir: &TempDir) -> riskgate::config::Config {
    config_for(redis.url(), dir)
}

fn config_for(url: String, dir: &TempDir) -> riskgate::config::Config {
    let mut c = test_config();
    riskgate_testkit::server::use_redis(&mut c, url);
    // Generous: the test machine is shared; Redis failures are tested by killing it.
    c.redis.budget_ms = 2000;
    c.admin_token = Some(TOKEN.into());
    c.rules.path = Some(dir.file("rules.txt", RULES));
    c
}

struct Gateway {
    server: Running,
    eval: PaymentEvaluationServiceClient<Channel>,
    lists: ValueListServiceClient<Channel>,
}

async fn gateway(config: riskgate::config::Config) -> Gateway {
    let server = start(config).await;
    let eval = client(server.grpc_addr).await;
    let lists = ValueListServiceClient::new(channel(server.grpc_addr).await);
    Gateway {
        server,
        eval,
        lists,
    }
}

impl Gateway {
    /// The list rule that decided an evaluation of `email`, if any.
    async fn rule_for(&mut self, email: &str) -> Option<String> {
        let mut req = example_request();
        req.customer_details.as_mut().unwrap().email = email.into();
        let decision = self
            .eval
            .create_payment_evaluation(req)
            .await
            .unwrap()
            .into_inner()
            .decision
            .unwrap();
        let blocked = decision.action() == Action::Block;
        let rule = decision.matched_rule.map(|r| r.id);
        assert_eq!(blocked, rule.is_some(), "only the list rules block");
        rule
    }

    /// Evaluates `email` until a list rule matches it (`blocked`) or not, for at most 10 s:
    /// another gateway's change reaches this one through Redis.
    async fn wait_until_blocked(&mut self, email: &str, blocked: bool) {
        for _ in 0..500 {
            if self.rule_for(email).await.is_some() == blocked {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{email}: blocked should become {blocked}, and did not within 10 s");
    }

    async fn create_list(&mut self, alias: &str) -> Result<pb::ValueList, tonic::Status> {
        self.lists
            .create_value_list(authed(pb::CreateValueListRequest {
                alias: alias.into(),
                name: "Blocked emails".into(),
                item_type: "email".into(),
                metadata: Default::default(),
            }))
            .await
            .map(|r| r.into_inner())
    }

    async fn add(&mut self, list: &str, value: &str) -> Result<pb::ValueListItem, tonic::Status> {
        self.lists
            .create_value_list_item(authed(pb::CreateValueListItemRequest {
                value_list: list.into(),
                value: value.into(),
            }))
            .await
            .map(|r| r.into_inner())
    }

    async fn aliases(&mut self) -> Vec<String> {
        let page = self
            .lists
            .list_value_lists(authed(pb::ListValueListsRequest {
                limit: 100,
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(!page.has_more);
        page.data.into_iter().map(|l| l.alias).collect()
    }
}

#[tokio::test]
async fn lists_changed_on_one_gateway_apply_on_the_other() {
    let redis = RedisServer::start().await;
    lists_are_shared(redis.url()).await;
}

#[tokio::test]
async fn lists_on_a_redis_cluster_are_shared_too() {
    let cluster = RedisCluster::start().await;
    lists_are_shared(cluster.url()).await;
}

async fn lists_are_shared(url: String) {
    let dir = TempDir::new("redis-lists-shared");
    let (mut a, mut b) = tokio::join!(
        gateway(config_for(url.clone(), &dir)),
        gateway(config_for(url, &dir))
    );

    // Two gateways started together: Radar's default lists exist once.
    let mut aliases = b.aliases().await;
    aliases.sort();
    let mut defaults: Vec<String> = riskgate_core::lists::DEFAULT_LISTS
        .iter()
        .map(|(alias, _, _)| alias.to_string())
        .collect();
    defaults.sort();
    assert_eq!(aliases, defaults);

    assert_eq!(b.rule_for("fraud@example.com").await, None);
    let list = a.create_list("blocked_emails").await.unwrap();
    assert!(list.id.starts_with("rsl_"));
    // The alias is taken on every gateway.
    assert_eq!(
        b.create_list("blocked_emails").await.unwrap_err().code(),
        Code::AlreadyExists
    );

    // An item added through A blocks the next evaluations on B.
    let item = a.add("blocked_emails", "Fraud@Example.com").await.unwrap();
    assert!(item.id.starts_with("rsli_"));
    assert_eq!(item.value, "fraud@example.com");
    b.wait_until_blocked("FRAUD@example.com", true).await;
    assert_eq!(b.rule_for("someone@example.com").await, None);
    // B reads what A wrote.
    let read = b
        .lists
        .retrieve_value_list_item(authed(pb::RetrieveValueListItemRequest {
            id: item.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (read.value.as_str(), &read.value_list),
        ("fraud@example.com", &list.id)
    );

    // The same value through B is a duplicate; an invalid one is refused as on the journal store.
    let dup = b.add(&list.id, "fraud@EXAMPLE.com").await.unwrap_err();
    assert_eq!(dup.code(), Code::AlreadyExists);
    assert!(
        dup.message().contains("already on list `blocked_emails`"),
        "{}",
        dup.message()
    );
    let bad = b.add(&list.id, "not-an-email").await.unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);

    // Items added on both gateways at once: every id distinct, every one listed.
    let adds_a = (0..10).map(|i| format!("a{i}@example.com"));
    let adds_b = (0..10).map(|i| format!("b{i}@example.com"));
    let mut ids = Vec::new();
    for (va, vb) in adds_a.zip(adds_b) {
        let (ia, ib) = tokio::join!(
            a.lists
                .create_value_list_item(authed(pb::CreateValueListItemRequest {
                    value_list: list.id.clone(),
                    value: va,
                })),
            b.lists
                .create_value_list_item(authed(pb::CreateValueListItemRequest {
                    value_list: list.id.clone(),
                    value: vb,
                }))
        );
        ids.push(ia.unwrap().into_inner().id);
        ids.push(ib.unwrap().into_inner().id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20);
    let listed = a
        .lists
        .list_value_list_items(authed(pb::ListValueListItemsRequest {
            value_list: list.id.clone(),
            limit: 100,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.data.len(), 21);
    assert_eq!(listed.data.last().unwrap().id, item.id, "newest first");
    b.wait_until_blocked("b9@example.com", true).await;
    a.wait_until_blocked("b9@example.com", true).await;

    // Deleting the item through A lets the email through on B.
    a.lists
        .delete_value_list_item(authed(pb::DeleteValueListItemRequest {
            id: item.id.clone(),
        }))
        .await
        .unwrap();
    b.wait_until_blocked("fraud@example.com", false).await;
    // Deleting the whole list on B clears it on A.
    b.lists
        .delete_value_list(authed(pb::DeleteValueListRequest {
            id: list.id.clone(),
        }))
        .await
        .unwrap();
    a.wait_until_blocked("a3@example.com", false).await;

    a.server.shutdown(Duration::from_secs(5)).await.unwrap();
    b.server.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn a_restarted_gateway_reloads_the_lists_from_redis() {
    let redis = RedisServer::start().await;
    let dir = TempDir::new("redis-lists-restart");
    let mut a = gateway(config(&redis, &dir)).await;
    let list = a.create_list("blocked_emails").await.unwrap();
    a.add(&list.id, "fraud@example.com").await.unwrap();
    let kept = a.add(&list.id, "kept@example.com").await.unwrap();
    let gone = a.add(&list.id, "gone@example.com").await.unwrap();
    a.lists
        .delete_value_list_item(authed(pb::DeleteValueListItemRequest { id: gone.id }))
        .await
        .unwrap();
    a.lists
        .update_value_list(authed(pb::UpdateValueListRequest {
            id: list.id.clone(),
            name: Some("Emails we block".into()),
            metadata: [("owner".to_owned(), "fraud-team".to_owned())].into(),
        }))
        .await
        .unwrap();
    a.server.shutdown(Duration::from_secs(5)).await.unwrap();

    // A new gateway has the lists before it serves: no waiting.
    let mut c = gateway(config(&redis, &dir)).await;
    assert_eq!(
        c.rule_for("kept@example.com").await.as_deref(),
        Some("blocked_emails")
    );
    assert_eq!(c.rule_for("gone@example.com").await, None);
    let again = c
        .lists
        .retrieve_value_list(authed(pb::RetrieveValueListRequest {
            id: list.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.name, "Emails we block");
    assert_eq!(again.metadata["owner"], "fraud-team");
    let item = c
        .lists
        .retrieve_value_list_item(authed(pb::RetrieveValueListItemRequest { id: kept.id }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(item.value, "kept@example.com");
    // Default lists were not created a second time.
    assert_eq!(
        c.aliases().await.len(),
        riskgate_core::lists::DEFAULT_LISTS.len() + 1
    );
    c.server.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn a_dead_redis_refuses_changes_and_evaluations_use_the_last_lists() {
    let mut redis = RedisServer::start().await;
    let dir = TempDir::new("redis-lists-outage");
    let mut a = gateway(config(&redis, &dir)).await;
    let list = a.create_list("blocked_emails").await.unwrap();
    a.add(&list.id, "fraud@example.com").await.unwrap();
    a.wait_until_blocked("fraud@example.com", true).await;

    redis.kill();
    let err = a.add(&list.id, "other@example.com").await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert!(err.message().contains("Redis"), "{}", err.message());
    let err = a.create_list("more_emails").await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    // Evaluations are answered, with the lists known before Redis went away.
    assert_eq!(
        a.rule_for("fraud@example.com").await.as_deref(),
        Some("blocked_emails")
    );
    assert_eq!(a.rule_for("other@example.com").await, None);
    // Reads are answered from the local copy.
    assert!(a.aliases().await.iter().any(|l| l == "blocked_emails"));
    let (_, metrics) = http_get(a.server.admin_addr, "/metrics").await;
    assert!(
        sample(&metrics, "riskgate_value_lists_sync_age_seconds").is_some(),
        "the sync age is published"
    );

    // Redis comes back empty (no persistence in this test): the gateway follows it, reloads, and
    // re-creates the default lists; changes are accepted again.
    redis.restart().await;
    let mut back = None;
    for _ in 0..500 {
        match a.add("block_list_email", "late@example.com").await {
            Ok(item) => {
                back = Some(item);
                break;
            }
            Err(e) => assert!(
                matches!(e.code(), Code::Unavailable | Code::NotFound),
                "{e:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(back.is_some(), "changes are accepted once Redis is back");
    a.wait_until_blocked("fraud@example.com", false).await;
    let (_, metrics) = http_get(a.server.admin_addr, "/metrics").await;
    assert!(
        sample(
            &metrics,
            r#"riskgate_value_lists_snapshot_loads_total{reason="reconnect"}"#
        )
        .is_some_and(|n| n >= 1.0),
        "{metrics}"
    );
    a.server.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// The store itself: a replica whose log was trimmed past it (or that missed changes) notices the
/// gap at its next read and reloads a snapshot.
#[tokio::test]
async fn a_replica_that_missed_changes_reloads_a_snapshot() {
    use riskgate::stores::lists::{backend::ValueListStore, journal::Page, redis::RedisLists};
    use riskgate_core::lists::ListLookup;

    let redis = RedisServer::start().await;
    let redis_config = riskgate::config::RedisConfig {
        url: Some(redis.url()),
        ..Default::default()
    };
    let x = RedisLists::new(&redis_config).unwrap();
    let y = RedisLists::new(&redis_config).unwrap();
    x.load(1).await.unwrap();
    y.load(1).await.unwrap();
    let list = y
        .create_list(
            "bad_ips",
            "Bad IPs",
            riskgate_core::lists::ItemType::IpAddress,
            Default::default(),
            2,
            "test",
        )
        .await
        .unwrap();
    let early = y
        .create_item("bad_ips", "203.0.113.0/24", 3, "test")
        .await
        .unwrap();
    // Nobody follows here: x has not seen these yet. Then the log loses them.
    let held = x.lookup("bad_ips").unwrap();
    assert!(held.item_type().is_none());
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: i64 = redis::cmd("XTRIM")
        .arg("riskgate:lists:log")
        .arg("MAXLEN")
        .arg(0)
        .query_async(&mut conn)
        .await
        .unwrap();
    y.create_item("bad_ips", "198.51.100.7", 4, "test")
        .await
        .unwrap();

    // x reads the one change left in the log, sees it does not follow what it has, and reloads.
    let (items, _) = x.list_items(&list.id, Page::default(), None).await.unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1].id, early.id);
    // A cell bound before the snapshot (as a rule binds it) is filled in place.
    assert!(held.contains("203.0.113.77") && held.contains("198.51.100.7"));
    assert!(std::sync::Arc::ptr_eq(&held, &x.lookup("bad_ips").unwrap()));
}

/// POSTs a signed Stripe event to a gateway's admin server: the HTTP status.
async fn deliver(admin: std::net::SocketAddr, body: &str) -> u16 {
    common::post_stripe_webhook(admin, WHSEC, body).await.0
}

fn early_fraud_warning(id: &str, email: &str) -> String {
    serde_json::json!({
        "id": id, "object": "event", "type": "radar.early_fraud_warning.created",
        "data": {"object": {
            "id": "issfr_1", "object": "radar.early_fraud_warning", "fraud_type": "made_with_stolen_card",
            "charge": {"id": "ch_1", "object": "charge", "billing_details": {"email": email}},
        }},
    })
    .to_string()
}

#[tokio::test]
async fn a_fraud_warning_received_by_one_gateway_blocks_on_the_other() {
    let mut redis = RedisServer::start().await;
    let dir = TempDir::new("redis-lists-webhook");
    let mut with_webhooks = config(&redis, &dir);
    with_webhooks.webhooks.secret = Some(WHSEC.into());
    let a = gateway(with_webhooks).await;
    let mut b = gateway(config(&redis, &dir)).await;

    let status = deliver(
        a.server.admin_addr,
        &early_fraud_warning("evt_1", "Thief@Example.com"),
    )
    .await;
    assert_eq!(status, 200);
    b.wait_until_blocked("thief@example.com", true).await;

    // Redis down: the addition cannot be made, so the delivery fails and Stripe sends it again.
    redis.kill();
    let status = deliver(
        a.server.admin_addr,
        &early_fraud_warning("evt_2", "other@example.com"),
    )
    .await;
    assert_eq!(status, 500);
    a.server.shutdown(Duration::from_secs(5)).await.unwrap();
    b.server.shutdown(Duration::from_secs(5)).await.unwrap();
}
