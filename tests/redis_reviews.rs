//! Reviews in Redis mode, on a real Redis and on a real Redis Cluster (3 primaries, 3 replicas):
//! the store pages and filters like the journal, lets one of two concurrent verdicts win, expires
//! closed reviews; two gateways share one queue, and a review opened through one is rejected
//! through the other.

use riskgate_testkit as common;

use std::time::Duration;

use common::{
    redis_cluster::RedisCluster,
    redis_server::RedisServer,
    reviews::{authed, config, gift_card, review_of},
    *,
};
use riskgate::{
    config::RedisConfig,
    proto::v1::{self as pb, Action, review_service_client::ReviewServiceClient},
    stores::{
        StoreError,
        reviews::{
            Change, ClosedReason, Query, ReviewStore, StateFilter,
            redis::RedisReviews,
            types::{Evidence, HistoryEntry, OpenedReason, Review, link},
        },
    },
};

fn review(id: &str, created: i64, amount: i64) -> Review {
    Review {
        id: id.into(),
        created,
        open: true,
        opened_reason: OpenedReason::Rule,
        closed_reason: None,
        closed_at: None,
        closed_by: None,
        fraud_type: None,
        payment_evaluation: format!("peval_{id}"),
        evidence: Evidence {
            amount,
            currency: "usd".into(),
            ..Evidence::default()
        },
        history: vec![HistoryEntry {
            at: created,
            actor: "riskgate".into(),
            action: "opened".into(),
            note: None,
            fraud_type: None,
        }],
        links: vec![link("email", "shared@example.com")],
    }
}

fn close(reason: ClosedReason) -> Change {
    Change::Close {
        reason,
        fraud_type: None,
        note: None,
    }
}

#[tokio::test]
async fn the_redis_store_pages_filters_and_arbitrates() {
    let redis = RedisServer::start().await;
    store_pages_filters_and_arbitrates(redis.url()).await;
}

#[tokio::test]
async fn the_redis_cluster_store_pages_filters_and_arbitrates() {
    let cluster = RedisCluster::start().await;
    store_pages_filters_and_arbitrates(cluster.url()).await;
}

async fn store_pages_filters_and_arbitrates(url: String) {
    let cfg = RedisConfig {
        url: Some(url),
        ..RedisConfig::default()
    };
    let s = RedisReviews::new(&cfg, 100, 1000).unwrap();
    // Ten reviews in each of three seconds: ties are ordered by id, as the journal orders them.
    for i in 0..30 {
        s.open(review(&format!("rev_{i:02}"), 1000 + i / 10, 100 * i), 0)
            .await
            .unwrap();
    }
    assert!(matches!(
        s.open(review("rev_00", 1000, 1), 0).await,
        Err(StoreError::AlreadyExists { .. })
    ));
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let q = Query {
            limit: 7,
            starting_after: after.as_deref(),
            ..Query::default()
        };
        let (page, more) = s.list(&q, 2000).await.unwrap();
        seen.extend(page.iter().map(|r| r.id.clone()));
        after = page.last().map(|r| r.id.clone());
        if !more {
            break;
        }
    }
    let expected: Vec<String> = (0..30).rev().map(|i| format!("rev_{i:02}")).collect();
    assert_eq!(seen, expected, "newest first, every review once");
    let oldest = Query {
        oldest_first: true,
        amount_gte: Some(1500),
        limit: 3,
        starting_after: Some("rev_16"),
        ..Query::default()
    };
    let (page, _) = s.list(&oldest, 2000).await.unwrap();
    let ids: Vec<_> = page.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["rev_17", "rev_18", "rev_19"]);

    // Of two concurrent verdicts one wins.
    let (approve, reject) = (
        close(ClosedReason::Approved),
        close(ClosedReason::RefundedAsFraud),
    );
    let (a, b) = tokio::join!(
        s.change("rev_05", &approve, "alice", 1500),
        s.change("rev_05", &reject, "bob", 1500),
    );
    assert!(a.is_ok() != b.is_ok(), "{a:?} {b:?}");
    let stats = s.stats(2000, 999).await.unwrap();
    assert_eq!(stats.open, 29);
    assert_eq!(stats.oldest_open_created, Some(1000));
    assert_eq!(stats.over_sla, 9, "the open ones of second 1000");
    let closed = Query {
        state: StateFilter::Closed,
        ..Query::default()
    };
    let (page, _) = s.list(&closed, 2000).await.unwrap();
    assert_eq!(page.len(), 1);
    let related = s.related(&page[0].links, "rev_05", 5).await.unwrap();
    assert_eq!(related.len(), 5);
    assert!(related.iter().all(|r| r.id != "rev_05"));
    let refused = s.change("rev_05", &approve, "carol", 1600).await;
    assert!(matches!(refused, Err(StoreError::Refused(_))));
}

#[tokio::test]
async fn two_gateways_share_one_queue() {
    let redis = RedisServer::start().await;
    two_gateways_share_one_queue_on(redis.url()).await;
}

#[tokio::test]
async fn two_gateways_share_one_queue_on_a_cluster() {
    let cluster = RedisCluster::start().await;
    two_gateways_share_one_queue_on(cluster.url()).await;
}

async fn two_gateways_share_one_queue_on(url: String) {
    let dir = TempDir::new("redis-reviews");
    let mut c = config(&dir);
    riskgate_testkit::server::use_redis(&mut c, url);
    c.redis.budget_ms = 2000;
    let a = start(c.clone()).await;
    let b = start(c).await;
    let answer = client(a.grpc_addr)
        .await
        .create_payment_evaluation(gift_card("fp_shared_1", "shared@example.com"))
        .await
        .unwrap()
        .into_inner();
    let mut on_b = ReviewServiceClient::new(channel(b.grpc_addr).await);
    let review = review_of(&mut on_b, &answer.evaluation.unwrap().id).await;
    let mut on_a = ReviewServiceClient::new(channel(a.grpc_addr).await);
    let reject = on_b.reject_review(authed(
        pb::RejectReviewRequest {
            id: review.id.clone(),
            fraud_type: "card_testing".into(),
            note: String::new(),
        },
        Some("bob"),
    ));
    let approve = on_a.approve_review(authed(
        pb::ApproveReviewRequest {
            id: review.id.clone(),
            note: String::new(),
        },
        Some("alice"),
    ));
    let (rejected, approved) = tokio::join!(reject, approve);
    assert!(
        rejected.is_ok() != approved.is_ok(),
        "exactly one verdict wins: {rejected:?} {approved:?}"
    );
    if rejected.is_ok() {
        // The block list lives in Redis: gateway A blocks the card once it has the change.
        let blocked = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let next = client(a.grpc_addr)
                    .await
                    .create_payment_evaluation(gift_card("fp_shared_1", "later@example.com"))
                    .await
                    .unwrap()
                    .into_inner();
                if next.decision.unwrap().action == Action::Block as i32 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(blocked.is_ok(), "gateway A never blocked the rejected card");
    }
    let seen_on_a = on_a
        .retrieve_review(authed(pb::RetrieveReviewRequest { id: review.id }, None))
        .await
        .unwrap()
        .into_inner();
    assert!(!seen_on_a.open);
    a.shutdown(Duration::from_secs(5)).await.unwrap();
    b.shutdown(Duration::from_secs(5)).await.unwrap();
}
