//! Many orders at once, for measuring the operator console at scale (`server seed-orders N`):
//! buyers, orders spread over the last days with a realistic mix of states, their lines, and
//! the refunds of refunded orders. Deterministic (a fixed random seed), written in batches of a
//! thousand orders per transaction. Not for a real shop's database.

use std::time::Instant;

use chrono::{Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, Set};
use uuid::Uuid;

use crate::entity::refunds::{Initiator, RefundStatus};
use crate::entity::{Role, Status, items, order_lines, orders, refunds, users};
use crate::{Error, Result, Store};

/// Orders written per transaction.
const BATCH: usize = 1000;

/// What a seeding run wrote, and how long it took.
#[derive(Debug, Clone, Copy)]
pub struct Seeded {
    pub orders: usize,
    pub lines: usize,
    pub buyers: usize,
    pub seconds: f64,
}

/// Writes `count` orders created over the last `days` days (with the catalog already seeded).
pub async fn bulk_orders(store: &Store, count: usize, days: u32) -> Result<Seeded> {
    let started = Instant::now();
    let db = store.db();
    let catalog: Vec<items::Model> = items::Entity::find()
        .filter(items::Column::Active.eq(true))
        .filter(items::Column::BundleItemIds.eq(""))
        .all(db)
        .await?;
    if catalog.is_empty() {
        return Err(Error::internal("no items to sell: seed the catalog first"));
    }
    let mut rng = StdRng::seed_from_u64(SEED);
    let buyers = (count / 100).clamp(1, 10_000);
    let run = Uuid::new_v4().simple().to_string();
    let hash = store.dummy_hash().to_owned();
    let now = Utc::now();
    let mut buyer_ids = Vec::with_capacity(buyers);
    for chunk in (0..buyers).collect::<Vec<_>>().chunks(BATCH) {
        let rows: Vec<users::ActiveModel> = chunk
            .iter()
            .map(|i| {
                let id = Uuid::new_v4();
                buyer_ids.push(id);
                users::ActiveModel {
                    id: Set(id),
                    username: Set(format!("seed-{}-{i}", &run[..8])),
                    password_hash: Set(hash.clone()),
                    role: Set(Role::Customer),
                    created_at: Set(now - Duration::days(i64::from(days))),
                    deleted_at: Set(None),
                    ..Default::default()
                }
            })
            .collect();
        users::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }

    let span_secs = i64::from(days.max(1)) * 86_400;
    let mut lines_written = 0;
    let mut written = 0;
    while written < count {
        let n = BATCH.min(count - written);
        let mut order_rows = Vec::with_capacity(n);
        let mut line_rows = Vec::with_capacity(n * 2);
        let mut refund_rows = Vec::new();
        for _ in 0..n {
            let id = Uuid::new_v4();
            let age = rng.gen_range(0..span_secs);
            let created = now - Duration::seconds(age);
            let roll = rng.gen_range(0..100);
            let status = match roll {
                _ if age < 900 && roll < 3 => Status::Pending,
                0..=79 => Status::Paid,
                80..=87 => Status::Failed,
                88..=92 => Status::Expired,
                93..=96 => Status::Refunded,
                _ => Status::PartiallyRefunded,
            };
            let paid_at = matches!(
                status,
                Status::Paid | Status::Refunded | Status::PartiallyRefunded
            )
            .then(|| created + Duration::seconds(2));
            let mut total = 0;
            let mut first_item = 0;
            for l in 0..rng.gen_range(1..=3) {
                let item = &catalog[rng.gen_range(0..catalog.len())];
                let quantity = if item.consumable {
                    rng.gen_range(1..=3)
                } else {
                    1
                };
                let line_total = item.price_cents * i64::from(quantity);
                total += line_total;
                if l == 0 {
                    first_item = item.id;
                }
                line_rows.push(order_lines::ActiveModel {
                    order_id: Set(id),
                    item_id: Set(item.id),
                    sku: Set(item.sku.clone()),
                    name: Set(item.name.clone()),
                    quantity: Set(quantity),
                    unit_price_cents: Set(item.price_cents),
                    discount_cents: Set(0),
                    line_total_cents: Set(line_total),
                    granted_item_ids: Set(String::new()),
                    refund_id: Set(None),
                    refunded_at: Set(None),
                    paid_at: Set(paid_at),
                    currency: Set("USD".to_owned()),
                    ..Default::default()
                });
            }
            let refunded = match status {
                Status::Refunded => total,
                Status::PartiallyRefunded => (total / 2).max(1),
                _ => 0,
            };
            if refunded > 0 {
                refund_rows.push(refunds::ActiveModel {
                    id: Set(Uuid::new_v4()),
                    order_id: Set(id),
                    amount_cents: Set(refunded),
                    currency: Set("USD".to_owned()),
                    line_ids: Set(String::new()),
                    reason: Set(Some("seeded".to_owned())),
                    status: Set(RefundStatus::Succeeded),
                    initiated_by: Set(Initiator::Operator),
                    requested_by: Set(None),
                    idempotency_key: Set(None),
                    request_fingerprint: Set(None),
                    detail: Set(None),
                    created_at: Set(created + Duration::hours(1)),
                    completed_at: Set(Some(created + Duration::hours(1))),
                });
            }
            let buyer = buyer_ids[rng.gen_range(0..buyer_ids.len())];
            order_rows.push(orders::ActiveModel {
                id: Set(id),
                user_id: Set(buyer),
                owner_id: Set(Some(buyer)),
                item_id: Set(first_item),
                amount_cents: Set(total),
                currency: Set("USD".to_owned()),
                promo_code: Set(None),
                discount_cents: Set(0),
                refunded_cents: Set(refunded),
                refund_pending_cents: Set(0),
                status: Set(status),
                idempotency_key: Set(None),
                request_fingerprint: Set(None),
                provider_transaction_id: Set(None),
                failure_reason: Set(None),
                failure_detail: Set(None),
                created_at: Set(created),
                updated_at: Set(created),
                gift_message: Set(None),
                refund_deferred: Set(false),
            });
        }
        lines_written += line_rows.len();
        let txn = crate::db::begin_write(db).await?;
        orders::Entity::insert_many(order_rows)
            .exec_without_returning(&txn)
            .await?;
        for chunk in line_rows.chunks(BATCH) {
            order_lines::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        if !refund_rows.is_empty() {
            refunds::Entity::insert_many(refund_rows)
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
        written += n;
        if written % 100_000 == 0 {
            tracing::info!(written, "seeding orders");
        }
    }
    Ok(Seeded {
        orders: written,
        lines: lines_written,
        buyers,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The seed of the seeder: fixed, so two runs write the same mix.
const SEED: u64 = 0x6761_6d65_7374_6f72;
