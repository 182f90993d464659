//! Email: an address verified by a link, receipts, refund and gift notices through the
//! transactional outbox, sent once over real SMTP (aiosmtpd) whatever the duplicates and
//! replicas, retried when the server is away, given up on when it refuses, and `.eml` files
//! when no SMTP server is configured.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use serde_json::json;

use api_types::{EmailStatus, Order, OrderStatus};
use store::entity::outbox;

use crate::helpers::*;

async fn email_status(app: &TestApp, user: &TestUser) -> EmailStatus {
    json_of(app.as_user(user, Method::GET, "/api/users/me/email")).await
}

async fn set_email(app: &TestApp, user: &TestUser, email: &str) -> reqwest::Response {
    app.as_user(user, Method::PUT, "/api/users/me/email")
        .json(&json!({ "email": email }))
        .send()
        .await
        .expect("request")
}

async fn verify(app: &TestApp, token: &str) -> reqwest::Response {
    app.post("/api/users/email/verify")
        .json(&json!({ "token": token }))
        .send()
        .await
        .expect("request")
}

async fn outbox_rows(app: &TestApp) -> Vec<outbox::Model> {
    outbox::Entity::find()
        .all(app.store.db())
        .await
        .expect("outbox")
}

/// Lets the outbox run a few more passes, so that a second message would have arrived.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(600)).await;
}

#[tokio::test]
async fn an_address_is_verified_once_by_the_link_it_is_sent() {
    let sink = MailSink::start();
    let app = TestApp::spawn_with(sink.env()).await;
    let user = app.customer().await;
    assert_eq!(email_status(&app, &user).await, EmailStatus::default());

    let response = set_email(&app, &user, "  Ada@Example.com ").await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let status: EmailStatus = response.json().await.expect("status");
    assert_eq!(status.email.as_deref(), Some("Ada@Example.com"));
    assert!(!status.verified && status.verification_sent_at.is_some());

    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.rcpt, vec!["Ada@Example.com".to_owned()]);
    assert_eq!(mail.subject, "Confirm your email address");
    assert_eq!(mail.from, "Game Store <store@gamestore.localhost>");
    assert_eq!(mail.to, "Ada@Example.com");
    assert_eq!(mail.content_type, "multipart/alternative");
    assert!(mail.html().contains("/verify-email?token="));
    let token = verification_token(&mail);
    assert_eq!(token.len(), 64);
    // The database keeps only the token's hash, and the sent message forgets the token.
    let row = store::entity::users::Entity::find_by_id(user.id)
        .one(app.store.db())
        .await
        .expect("db")
        .expect("user");
    assert_ne!(row.email_token_sha256.as_deref(), Some(token.as_str()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let rows = outbox_rows(&app).await;
        if rows[0].sent_at.is_some() {
            assert!(
                !rows[0].payload.contains(&token),
                "the token stays in the outbox"
            );
            break;
        }
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    for bad in ["", "abc", &"z".repeat(64), &"0".repeat(64)] {
        let (status, code) = error_code(verify(&app, bad).await).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "VERIFICATION_INVALID"),
            "{bad:?}"
        );
    }
    let ok = verify(&app, &token).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok.json::<EmailStatus>().await.expect("status").verified);
    // Single use.
    let (status, code) = error_code(verify(&app, &token).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "VERIFICATION_INVALID")
    );
    let now = email_status(&app, &user).await;
    assert!(now.verified && now.verification_sent_at.is_none());

    // The same address again changes nothing and sends nothing.
    let again = set_email(&app, &user, "ada@example.com").await;
    assert_eq!(again.status(), StatusCode::OK);
    settle().await;
    assert_eq!(sink.messages().len(), 1);

    // Removed: nothing is kept.
    let removed = app
        .as_user(&user, Method::DELETE, "/api/users/me/email")
        .send()
        .await
        .expect("request");
    assert_eq!(removed.status(), StatusCode::OK);
    assert_eq!(email_status(&app, &user).await, EmailStatus::default());
}

#[tokio::test]
async fn email_requests_are_checked_and_links_are_rationed() {
    let sink = MailSink::start();
    let app = TestApp::spawn_with(sink.env()).await;
    let user = app.customer().await;
    for bad in [
        "",
        "ada",
        "ada@localhost",
        "ada@example.com\r\nBcc: victim@example.com",
        "\"ada\"@example.com",
        &format!("{}@example.com", "a".repeat(250)),
    ] {
        let response = set_email(&app, &user, bad).await;
        let status = response.status();
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        assert_eq!(body["error"]["field"], "email");
    }
    let wrong_shape = app
        .as_user(&user, Method::PUT, "/api/users/me/email")
        .json(&json!({ "email": "a@example.com", "admin": true }))
        .send()
        .await
        .expect("request");
    assert_eq!(wrong_shape.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let anonymous = app
        .get("/api/users/me/email")
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(outbox_rows(&app).await.is_empty(), "nothing was queued");
    let (status, code) = error_code(
        app.as_user(&user, Method::POST, "/api/users/me/email/resend")
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "NOTHING_TO_VERIFY")
    );

    assert_eq!(
        set_email(&app, &user, "first@example.com").await.status(),
        StatusCode::ACCEPTED
    );
    // A second link within the minute is refused, with when to try again — also when asked
    // for several times at once.
    let other = app.customer().await;
    let burst = (0..5).map(|i| {
        let (app, other) = (&app, &other);
        async move {
            set_email(app, other, &format!("burst{i}@example.com"))
                .await
                .status()
        }
    });
    let statuses = futures::future::join_all(burst).await;
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::ACCEPTED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::ACCEPTED || *s == StatusCode::TOO_MANY_REQUESTS)
    );
    let soon = set_email(&app, &user, "second@example.com").await;
    assert_eq!(soon.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(soon.headers().contains_key("retry-after"));
    let resend = app
        .as_user(&user, Method::POST, "/api/users/me/email/resend")
        .send()
        .await
        .expect("request");
    assert_eq!(resend.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        email_status(&app, &user).await.email.as_deref(),
        Some("first@example.com")
    );

    // One address gets at most five links an hour, whichever accounts ask.
    let mut statuses = vec![];
    for _ in 0..6 {
        let other = app.customer().await;
        statuses.push(set_email(&app, &other, "target@example.com").await.status());
    }
    assert_eq!(
        statuses,
        [
            [StatusCode::ACCEPTED; 5].as_slice(),
            &[StatusCode::TOO_MANY_REQUESTS]
        ]
        .concat()
    );
    sink.wait_for(7).await;
    settle().await;
    assert_eq!(sink.to("target@example.com").len(), 5);
    // `+tags` reach the same mailbox: they share its allowance.
    let tagged = app.customer().await;
    assert_eq!(
        set_email(&app, &tagged, "Target+spam@example.com")
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn receipts_gift_and_refund_notices_go_out_once_each() {
    let sink = MailSink::start();
    let stand_in = StandIn::start().await;
    let env = [sink.env(), stand_in.env()].concat();
    let app = TestApp::spawn_with(env).await;
    let admin = app.admin().await;
    let buyer = app.customer().await;
    let friend = app.customer().await;
    let stranger = app.customer().await;
    verify_address(&app, &sink, &buyer, "buyer@example.com").await;
    verify_address(&app, &sink, &friend, "friend@example.com").await;
    // An address never verified gets nothing but its link.
    assert_eq!(
        set_email(&app, &stranger, "stranger@example.com")
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    sink.wait_for(3).await;

    let sword = app
        .item("Mail <b>Sword</b> & Co")
        .price_cents(1_500)
        .create()
        .await;
    let potion = app
        .item("Mail Potion")
        .price_cents(250)
        .consumable()
        .create()
        .await;
    app.put_in_cart(&buyer, &sword, 1).await;
    app.put_in_cart(&buyer, &potion, 2).await;
    let order: Order = app
        .check_out(&buyer, json!({}))
        .await
        .json()
        .await
        .expect("order");

    // Eight concurrent deliveries of the payment under two ids: one receipt.
    let event = payment_event("payment.succeeded", &order);
    let deliveries = (0..8).map(|i| {
        let (app, event) = (&app, event.clone());
        async move {
            app.deliver(&format!("msg_mail_paid_{}", i % 2), &event)
                .await
                .status()
        }
    });
    for status in futures::future::join_all(deliveries).await {
        assert!(status.is_success(), "{status}");
    }
    app.wait_for(&buyer, order.order_id, OrderStatus::Paid)
        .await;
    let receipt = loop {
        let mut receipts: Vec<Mail> = sink
            .to("buyer@example.com")
            .into_iter()
            .filter(|m| m.subject.starts_with("Your receipt"))
            .collect();
        if let Some(r) = receipts.pop() {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        receipt
            .text()
            .contains("1 x Mail <b>Sword</b> & Co  $15.00"),
        "{}",
        receipt.text()
    );
    assert!(receipt.text().contains("2 x Mail Potion  $5.00"));
    assert!(receipt.text().contains("Total paid: $20.00"));
    assert!(
        receipt
            .text()
            .contains(&format!("/orders/{}", order.order_id))
    );
    assert!(
        receipt
            .html()
            .contains("Mail &lt;b&gt;Sword&lt;/b&gt; &amp; Co")
    );
    assert!(!receipt.html().contains("<b>Sword"));
    assert!(receipt.message_id.starts_with("<outbox-"));

    // A gift: the buyer's receipt names the friend, the friend gets their own notice.
    let shield = app.item("Mail Shield").price_cents(900).create().await;
    app.put_in_cart(&buyer, &shield, 1).await;
    let gift: Order = app
        .check_out(
            &buyer,
            json!({ "gift_to": friend.username, "gift_message": "For <you> & yours" }),
        )
        .await
        .json()
        .await
        .expect("order");
    app.pay(&buyer, &gift).await;
    let notice = loop {
        if let Some(m) = sink
            .to("friend@example.com")
            .into_iter()
            .find(|m| m.subject.contains("sent you a gift"))
        {
            break m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        notice.subject,
        format!("{} sent you a gift", buyer.username)
    );
    assert!(notice.text().contains("1 x Mail Shield"));
    assert!(notice.text().contains("For <you> & yours"));
    assert!(notice.html().contains("For &lt;you&gt; &amp; yours"));

    // A refund of one line, confirmed by the provider twice: one notice.
    let line = order
        .lines
        .iter()
        .find(|l| l.item_id == sword.id)
        .expect("sword line");
    let asked = app
        .as_user(
            &admin,
            Method::POST,
            &format!("/api/admin/orders/{}/refunds", order.order_id),
        )
        .header("idempotency-key", "mail-refund-1")
        .json(&json!({ "line_item_ids": [line.line_id] }))
        .send()
        .await
        .expect("request");
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    let accepted: api_types::RefundAccepted = asked.json().await.expect("refund");
    let refund = refund_event(&order, accepted.amount_cents, Some(accepted.refund_id));
    for id in ["msg_mail_refund_a", "msg_mail_refund_b"] {
        assert!(app.deliver(id, &refund).await.status().is_success());
    }
    app.wait_for(&buyer, order.order_id, OrderStatus::PartiallyRefunded)
        .await;
    let refunded = loop {
        if let Some(m) = sink
            .to("buyer@example.com")
            .into_iter()
            .find(|m| m.subject.starts_with("Refund for order"))
        {
            break m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        refunded.text().contains("We have refunded $15.00"),
        "{}",
        refunded.text()
    );
    assert!(
        refunded
            .text()
            .contains("Refunded so far: $15.00 of $20.00")
    );
    assert!(refunded.text().contains("1 x Mail <b>Sword</b> & Co"));

    settle().await;
    let kinds = |address: &str| -> Vec<String> {
        sink.to(address)
            .iter()
            .map(|m| m.subject.split(' ').take(2).collect::<Vec<_>>().join(" "))
            .collect()
    };
    assert_eq!(
        kinds("buyer@example.com"),
        ["Confirm your", "Your receipt", "Your receipt", "Refund for"]
    );
    assert_eq!(
        kinds("friend@example.com").len(),
        2,
        "the link and the gift notice"
    );
    assert_eq!(sink.to("stranger@example.com").len(), 1, "only the link");
    let ids: std::collections::HashSet<String> =
        sink.messages().into_iter().map(|m| m.message_id).collect();
    assert_eq!(ids.len(), sink.messages().len());
}

#[tokio::test]
async fn several_replicas_send_each_message_once() {
    let sink = MailSink::start();
    let app = TestApp::spawn_with(sink.env()).await;
    let replica = app.replica_with(sink.env()).await;
    // Twelve links queued at once, then both replicas' workers plus extra passes race for them.
    let mut users = vec![];
    for _ in 0..12 {
        users.push(app.customer().await);
    }
    let sets = users.iter().enumerate().map(|(i, user)| {
        let app = &app;
        async move {
            set_email(app, user, &format!("reader{i}@example.com"))
                .await
                .status()
        }
    });
    for status in futures::future::join_all(sets).await {
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    let passes = (0..6).map(|i| {
        let store = if i % 2 == 0 {
            app.store.clone()
        } else {
            replica.store.clone()
        };
        async move { store.mail().deliver_due().await.expect("pass") }
    });
    futures::future::join_all(passes).await;
    sink.wait_for(12).await;
    settle().await;
    let messages = sink.messages();
    assert_eq!(messages.len(), 12, "each message once: {messages:#?}");
    let rcpts: std::collections::HashSet<String> =
        messages.iter().flat_map(|m| m.rcpt.clone()).collect();
    assert_eq!(rcpts.len(), 12);
    let counts = app.store.mail().counts().await.expect("counts");
    assert_eq!((counts.sent, counts.pending, counts.failed), (12, 0, 0));
    assert!(outbox_rows(&app).await.iter().all(|r| r.attempts == 1));
}

#[tokio::test]
async fn a_server_away_is_retried_and_a_refusal_is_given_up() {
    // Nothing listens on this port: every try fails, and is tried again later.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let app = TestApp::spawn_with(vec![
        ("SMTP_URL", format!("smtp://127.0.0.1:{port}")),
        ("OUTBOX_POLL_MS", "100".to_owned()),
    ])
    .await;
    let user = app.customer().await;
    assert_eq!(
        set_email(&app, &user, "away@example.com").await.status(),
        StatusCode::ACCEPTED
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let row = loop {
        let rows = outbox_rows(&app).await;
        if rows[0].attempts >= 1 && rows[0].locked_until.is_none() {
            break rows[0].clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "no try recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(row.sent_at.is_none() && row.failed_at.is_none());
    assert!(row.last_error.is_some());
    assert!(
        row.next_attempt_at > chrono::Utc::now(),
        "the next try waits"
    );
    assert!(
        row.payload.contains("\"token\":\""),
        "the link waits to be sent"
    );
    // The address is taken away before the next try: the link is not sent, and its token is
    // not kept.
    let removed = app
        .as_user(&user, Method::DELETE, "/api/users/me/email")
        .send()
        .await
        .expect("request");
    assert_eq!(removed.status(), StatusCode::OK);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let rows = outbox_rows(&app).await;
        if rows[0].failed_at.is_some() {
            assert!(
                rows[0]
                    .last_error
                    .as_deref()
                    .unwrap_or_default()
                    .contains("superseded")
            );
            assert!(
                rows[0].payload.contains("\"token\":\"\""),
                "{}",
                rows[0].payload
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the link was not dropped"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A server that refuses the recipient for good: given up after one try.
    let refusing = MailSink::refusing();
    let app = TestApp::spawn_with(refusing.env()).await;
    let user = app.customer().await;
    assert_eq!(
        set_email(&app, &user, "refused@example.com").await.status(),
        StatusCode::ACCEPTED
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let rows = outbox::Entity::find()
            .filter(outbox::Column::FailedAt.is_not_null())
            .all(app.store.db())
            .await
            .expect("outbox");
        if let Some(row) = rows.first() {
            assert_eq!(row.attempts, 1);
            assert!(
                row.last_error
                    .as_deref()
                    .unwrap_or_default()
                    .contains("550")
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the refusal was not given up on"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refusing.messages().is_empty());
}

#[tokio::test]
async fn without_smtp_messages_are_written_as_eml_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::spawn_with(vec![
        ("MAIL_OUTBOX_DIR", dir.path().display().to_string()),
        ("OUTBOX_POLL_MS", "100".to_owned()),
    ])
    .await;
    let user = app.customer().await;
    assert_eq!(
        set_email(&app, &user, "files@example.com").await.status(),
        StatusCode::ACCEPTED
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let file = loop {
        let files: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        if let Some(f) = files.first() {
            break f.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "no .eml file");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        file.file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .ends_with("-verify_email.eml")
    );
    let raw = std::fs::read_to_string(&file).expect("read");
    assert!(raw.contains("To: files@example.com"));
    assert!(raw.contains("Subject: Confirm your email address"));
    assert!(raw.contains("multipart/alternative"));
    assert!(raw.contains("text/plain") && raw.contains("text/html"));
    // The file is written before the row is marked sent: wait for the mark.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let counts = app.store.mail().counts().await.expect("counts");
        if (counts.sent, counts.pending) == (1, 0) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{counts:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
