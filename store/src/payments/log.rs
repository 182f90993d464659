//! The webhook log: every delivery as it arrived — verified ones with what processing did (in
//! the same transaction), refused ones with why — and an operator's replay of a verified one
//! through the same ingestion.
//!
//! Refused deliveries come from anyone, so what they cost is bounded: their body is cut to
//! 4 KiB, each replica records at most [`REJECTIONS_PER_SECOND`] (the rest are only counted in
//! `gamestore_webhook_rejections_unrecorded_total`), and they are deleted after
//! [`REJECTION_RETENTION_DAYS`].

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    QuerySelect as _, Set,
};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use api_types::{ReplayResult, WebhookDelivery};

use super::notification::{Notification, parse_standard, parse_xsolla, storable};
use super::{Payments, Processed};
use crate::accounts::CurrentUser;
use crate::audit::{self, Actor, Entry};
use crate::entity::webhook_deliveries as deliveries;
use crate::{Error, Result};

/// Refused deliveries one replica records per second.
pub const REJECTIONS_PER_SECOND: u32 = 20;
/// Bytes of a refused delivery's body that are kept.
const REJECTED_BODY: usize = 4096;
/// Days refused deliveries are kept.
pub const REJECTION_RETENTION_DAYS: i64 = 30;
/// Refused deliveries kept at most, newest first: anyone can send them, so what they cost on
/// disk is bounded by a count as well as by age (20 a second for 30 days would be ~7 GB per
/// replica, an attacker's pass worked out).
pub const MAX_KEPT_REJECTIONS: u64 = 20_000;

/// A per-replica budget for recording refused deliveries: a count per wall-clock second.
#[derive(Default)]
pub struct RejectionBudget(Mutex<(i64, u32)>);

impl RejectionBudget {
    fn take(&self) -> bool {
        let now = Utc::now().timestamp();
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if state.0 != now {
            *state = (now, 0);
        }
        state.1 += 1;
        state.1 <= REJECTIONS_PER_SECOND
    }
}

/// Writes a verified delivery inside the transaction that processed it.
pub(super) async fn record_verified(
    conn: &impl ConnectionTrait,
    n: &Notification,
    outcome: &str,
    detail: Option<&str>,
    status_code: u16,
    replay_of: Option<i64>,
) -> Result<i64> {
    let row = deliveries::Entity::insert(deliveries::ActiveModel {
        received_at: Set(Utc::now()),
        scheme: Set(n.scheme.to_owned()),
        delivery_id: Set(Some(storable(&n.event_id, 255))),
        verified: Set(true),
        rejection: Set(None),
        status_code: Set(i16::try_from(status_code).unwrap_or(500)),
        outcome: Set(Some(outcome.chars().take(32).collect())),
        detail: Set(detail.map(|d| storable(d, 1000))),
        event_type: Set(Some(n.event_type.chars().take(64).collect())),
        order_id: Set(n.order_id),
        event_id: Set(Some(storable(&n.event_id, 255))),
        body: Set(n.payload.clone()),
        body_sha256: Set(n.payload_sha256.clone()),
        body_truncated: Set(false),
        replay_of: Set(replay_of),
        ..Default::default()
    })
    .exec(conn)
    .await?;
    Ok(row.last_insert_id)
}

fn to_wire(row: deliveries::Model, with_body: bool) -> WebhookDelivery {
    WebhookDelivery {
        id: row.id,
        received_at: row.received_at,
        scheme: row.scheme,
        delivery_id: row.delivery_id,
        verified: row.verified,
        rejection: row.rejection,
        status_code: u16::try_from(row.status_code).unwrap_or(0),
        outcome: row.outcome,
        detail: row.detail,
        event_type: row.event_type,
        order_id: row.order_id,
        event_id: row.event_id,
        replay_of: row.replay_of,
        body_sha256: row.body_sha256,
        body: with_body.then_some(row.body),
        body_truncated: row.body_truncated,
    }
}

/// What to look for in the webhook log.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub verified: Option<bool>,
    pub outcome: Option<String>,
    pub order_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Deliveries older than this id (the next page).
    pub before: Option<i64>,
    pub limit: u64,
}

impl Payments<'_> {
    /// Records a refused delivery, within the replica's budget. Never fails the request: a log
    /// that cannot be written is logged.
    pub(super) async fn record_rejected(
        &self,
        scheme: &'static str,
        delivery_id: Option<&str>,
        body: &[u8],
        error: &Error,
        verified: bool,
    ) {
        if !self.store.webhook_rejections().take() {
            metrics::counter!("gamestore_webhook_rejections_unrecorded_total").increment(1);
            return;
        }
        let kept = &body[..body.len().min(REJECTED_BODY)];
        let row = deliveries::ActiveModel {
            received_at: Set(Utc::now()),
            scheme: Set(scheme.to_owned()),
            delivery_id: Set(delivery_id.map(|d| storable(d, 255))),
            verified: Set(verified),
            rejection: Set(Some(storable(&error.public_message(), 500))),
            status_code: Set(i16::try_from(error.status()).unwrap_or(500)),
            outcome: Set(Some("rejected".to_owned())),
            detail: Set(None),
            event_type: Set(None),
            order_id: Set(None),
            event_id: Set(None),
            body: Set(storable(&String::from_utf8_lossy(kept), usize::MAX)),
            body_sha256: Set(hex::encode(Sha256::digest(body))),
            body_truncated: Set(kept.len() < body.len()),
            replay_of: Set(None),
            ..Default::default()
        };
        if let Err(e) = deliveries::Entity::insert(row).exec(self.store.db()).await {
            tracing::warn!(error = %e, "cannot record a refused webhook delivery");
        }
    }

    /// Deliveries, newest first, a page at a time (operators).
    pub async fn deliveries(
        &self,
        viewer: &CurrentUser,
        filter: &DeliveryFilter,
    ) -> Result<Vec<WebhookDelivery>> {
        viewer.require_admin()?;
        let mut select = deliveries::Entity::find()
            .order_by_desc(deliveries::Column::Id)
            .limit(filter.limit.clamp(1, 500));
        if let Some(verified) = filter.verified {
            select = select.filter(deliveries::Column::Verified.eq(verified));
        }
        if let Some(outcome) = filter.outcome.as_deref().filter(|o| !o.is_empty()) {
            crate::domain::check_text("outcome", outcome, false)?;
            select = select.filter(deliveries::Column::Outcome.eq(outcome));
        }
        if let Some(order_id) = filter.order_id {
            select = select.filter(deliveries::Column::OrderId.eq(order_id));
        }
        if let Some(from) = filter.from {
            select = select.filter(deliveries::Column::ReceivedAt.gte(from));
        }
        if let Some(to) = filter.to {
            select = select.filter(deliveries::Column::ReceivedAt.lt(to));
        }
        if let Some(before) = filter.before {
            select = select.filter(deliveries::Column::Id.lt(before));
        }
        Ok(select
            .all(self.store.db())
            .await?
            .into_iter()
            .map(|row| to_wire(row, false))
            .collect())
    }

    /// One delivery with its raw body (operators).
    pub async fn delivery(&self, viewer: &CurrentUser, id: i64) -> Result<WebhookDelivery> {
        viewer.require_admin()?;
        deliveries::Entity::find_by_id(id)
            .one(self.store.db())
            .await?
            .map(|row| to_wire(row, true))
            .ok_or(Error::NotFound("webhook delivery"))
    }

    /// Runs a recorded, verified delivery through the same ingestion again (operators). The
    /// event's id still dedupes it: a replay of an event already recorded changes nothing and
    /// says so; one whose processing never completed is applied now. Audited.
    pub async fn replay(&self, operator: &CurrentUser, id: i64) -> Result<ReplayResult> {
        operator.require_admin()?;
        let row = deliveries::Entity::find_by_id(id)
            .one(self.store.db())
            .await?
            .ok_or(Error::NotFound("webhook delivery"))?;
        if !row.verified || row.body_truncated {
            return Err(Error::conflict(
                "NOT_REPLAYABLE",
                "only deliveries whose signature verified can be replayed; this one was refused",
            ));
        }
        let mut n = match row.scheme.as_str() {
            "xsolla" => parse_xsolla(row.body.as_bytes()).map_err(|why| {
                Error::conflict(
                    "NOT_REPLAYABLE",
                    format!("the stored body is unreadable: {why}"),
                )
            })?,
            _ => parse_standard(
                row.event_id
                    .as_deref()
                    .or(row.delivery_id.as_deref())
                    .unwrap_or_default(),
                row.body.as_bytes(),
            ),
        };
        // The hash of the bytes as they first arrived, so the event is recognised as the same.
        n.payload_sha256 = row.body_sha256.clone();
        let Processed {
            outcome,
            detail,
            duplicate,
            delivery_id,
            first_recorded_at,
        } = self.process_recorded(n, Some(row.id)).await?;
        let message = if duplicate {
            format!(
                "Already applied: this event was recorded{} as {}. Nothing changed.",
                first_recorded_at
                    .map(|at| format!(" on {}", api_types::format_minute(&at)))
                    .unwrap_or_default(),
                outcome.as_str()
            )
        } else {
            format!(
                "Processed now: {}{}",
                outcome.as_str(),
                detail.map(|d| format!(" ({d})")).unwrap_or_default()
            )
        };
        audit::record(
            self.store.db(),
            Entry::new(
                Actor::user(operator),
                audit::action::WEBHOOK_REPLAY,
                "webhook_delivery",
                row.id,
                serde_json::json!({
                    "replay": delivery_id,
                    "event_id": row.event_id,
                    "order_id": row.order_id,
                    "outcome": outcome.as_str(),
                    "already_applied": duplicate,
                }),
            ),
        )
        .await?;
        Ok(ReplayResult {
            delivery_id,
            outcome: outcome.as_str().to_owned(),
            already_applied: duplicate,
            message,
        })
    }

    /// Deletes refused deliveries older than the retention period, and the oldest past the
    /// newest `MAX_KEPT_REJECTIONS`. Returns how many.
    pub async fn prune_rejections(&self) -> Result<u64> {
        self.prune_rejections_keeping(MAX_KEPT_REJECTIONS).await
    }

    pub(crate) async fn prune_rejections_keeping(&self, kept: u64) -> Result<u64> {
        let db = self.store.db();
        let cutoff = Utc::now() - chrono::Duration::days(REJECTION_RETENTION_DAYS);
        let mut deleted = deliveries::Entity::delete_many()
            .filter(deliveries::Column::Verified.eq(false))
            .filter(deliveries::Column::ReceivedAt.lt(cutoff))
            .exec(db)
            .await?
            .rows_affected;
        let newest_dropped: Option<i64> = deliveries::Entity::find()
            .select_only()
            .column(deliveries::Column::Id)
            .filter(deliveries::Column::Verified.eq(false))
            .order_by_desc(deliveries::Column::Id)
            .offset(kept)
            .limit(1)
            .into_tuple()
            .one(db)
            .await?;
        if let Some(id) = newest_dropped {
            deleted += deliveries::Entity::delete_many()
                .filter(deliveries::Column::Verified.eq(false))
                .filter(deliveries::Column::Id.lte(id))
                .exec(db)
                .await?
                .rows_affected;
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refused_deliveries_are_kept_up_to_a_count_newest_first() {
        let t = crate::testing::store().await;
        let payments = t.store.payments();
        for n in 0..5 {
            payments
                .record_rejected(
                    "standard",
                    Some(&format!("msg_{n}")),
                    b"{}",
                    &Error::InvalidSignature("bad signature".to_owned()),
                    false,
                )
                .await;
        }
        assert_eq!(
            payments.prune_rejections_keeping(3).await.expect("prune"),
            2
        );
        let left: Vec<Option<String>> = deliveries::Entity::find()
            .order_by_asc(deliveries::Column::Id)
            .all(t.store.db())
            .await
            .expect("rows")
            .into_iter()
            .map(|row| row.delivery_id)
            .collect();
        let expected: Vec<Option<String>> = ["msg_2", "msg_3", "msg_4"]
            .map(|d| Some(d.to_owned()))
            .into();
        assert_eq!(left, expected);
        assert_eq!(
            payments.prune_rejections_keeping(3).await.expect("prune"),
            0
        );
    }

    #[test]
    fn the_rejection_budget_allows_a_burst_per_second() {
        let budget = RejectionBudget::default();
        let allowed = (0..100).filter(|_| budget.take()).count();
        // At most two seconds' worth, even if the second turned during the loop.
        assert!(
            (REJECTIONS_PER_SECOND as usize..=2 * REJECTIONS_PER_SECOND as usize)
                .contains(&allowed)
        );
    }
}
