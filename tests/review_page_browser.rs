//! The review page in a real headless Chromium (Debian's chromium + chromium-driver, driven over
//! WebDriver): an analyst logs in, moves through the queue with the keyboard, rejects a review as
//! fraud, and the next evaluation on that card changes (blocked by the list the reject filled).
//! `scripts/test` installs chromium and chromium-driver; where it cannot (outside CI only) it sets
//! `RISKGATE_BROWSER_TEST=skip` and says so loudly. Without them and without that, the test fails.

use riskgate_testkit as common;

use std::time::Duration;

use common::{
    browser::Chromedriver,
    reviews::{ADMIN_TOKEN, config, gift_card, review_of},
    *,
};
use fantoccini::{
    Client, ClientBuilder, Locator,
    actions::{InputSource, KeyAction, KeyActions},
};
use riskgate::proto::v1::{Action, review_service_client::ReviewServiceClient};

/// Presses `key` (a character, or a WebDriver key code) on whatever has the focus.
async fn press(browser: &Client, key: char) {
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    browser.perform_actions(keys).await.unwrap();
}

/// WebDriver's Enter key.
const ENTER: char = '\u{E007}';

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analyst_rejects_a_review_in_the_browser_and_the_card_is_blocked() {
    // Set by scripts/test only outside CI, when chromium could not be installed (it says so loudly).
    if std::env::var("RISKGATE_BROWSER_TEST").as_deref() == Ok("skip") {
        eprintln!("SKIPPED: no chromium/chromedriver here (RISKGATE_BROWSER_TEST=skip)");
        return;
    }
    let dir = TempDir::new("review-browser");
    let server = start(config(&dir)).await;
    let mut eval = client(server.grpc_addr).await;
    let first = eval
        .create_payment_evaluation(gift_card("fp_browser_1", "buyer@example.com"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        first.decision.as_ref().unwrap().action,
        Action::Review as i32
    );
    let mut desk = ReviewServiceClient::new(channel(server.grpc_addr).await);
    let review = review_of(&mut desk, &first.evaluation.unwrap().id).await;

    let driver = Chromedriver::start().await;
    let browser = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(driver.capabilities())
        .connect(&driver.url())
        .await
        .expect("a chromium session (chromium and chromium-driver installed?)");
    let base = format!("http://{}", server.admin_addr);
    let result = async {
        // Not logged in: the login form.
        browser.goto(&format!("{base}/reviews")).await?;
        assert!(
            browser
                .current_url()
                .await?
                .path()
                .ends_with("/reviews/login")
        );
        browser
            .find(Locator::Id("token"))
            .await?
            .send_keys(ADMIN_TOKEN)
            .await?;
        browser
            .find(Locator::Id("analyst"))
            .await?
            .send_keys("alice")
            .await?;
        browser.find(Locator::Id("login")).await?.click().await?;
        browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("a[data-row]"))
            .await?;
        let queue = browser.source().await?;
        assert!(queue.contains(&review.id) && queue.contains("alice via admin"));

        // Keyboard: j focuses the first review, Enter opens it.
        press(&browser, 'j').await;
        let focused = browser.active_element().await?.attr("href").await?;
        assert_eq!(
            focused.as_deref(),
            Some(format!("/reviews/{}", review.id).as_str())
        );
        press(&browser, ENTER).await;
        browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Id("fraud_type"))
            .await?;
        assert!(browser.current_url().await?.path().ends_with(&review.id));
        let detail = browser.source().await?;
        assert!(detail.contains("fp_browser_1") && detail.contains("gift_cards"));

        if let Ok(png) = browser.screenshot().await {
            // For a person to look at (not asserted).
            let _ = std::fs::write(std::env::temp_dir().join("riskgate-review-detail.png"), png);
        }
        // r jumps to the fraud type; choose one and reject.
        press(&browser, 'r').await;
        let active = browser.active_element().await?.attr("id").await?;
        assert_eq!(active.as_deref(), Some("fraud_type"));
        let select = browser.find(Locator::Id("fraud_type")).await?;
        select.select_by_value("made_with_stolen_card").await?;
        browser.find(Locator::Id("reject")).await?.click().await?;
        // The verdict goes on to the queue (no other review is open), with a "done" banner.
        if let Err(e) = browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("p.done"))
            .await
        {
            panic!(
                "no verdict banner ({e}) at {}: {}",
                browser.current_url().await?,
                browser.source().await?
            );
        }
        let after = browser.source().await?;
        assert!(after.contains("refunded_as_fraud"), "{after}");
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    browser.close().await.ok();
    result.unwrap();

    let closed = desk
        .retrieve_review(common::reviews::authed(
            riskgate::proto::v1::RetrieveReviewRequest {
                id: review.id.clone(),
            },
            None,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(closed.closed_reason, "refunded_as_fraud");
    assert_eq!(closed.closed_by, "alice via admin");
    assert_eq!(closed.fraud_type, "made_with_stolen_card");

    // The next evaluation on that card changed: blocked by the list the reject filled.
    let next = eval
        .create_payment_evaluation(gift_card("fp_browser_1", "someone.else@example.com"))
        .await
        .unwrap()
        .into_inner();
    let decision = next.decision.unwrap();
    assert_eq!(decision.action, Action::Block as i32);
    assert_eq!(decision.matched_rule.unwrap().id, "blocked_cards");
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}
