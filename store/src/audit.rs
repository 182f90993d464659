//! The audit log: every operator action (items, stock and sales, promo codes, refunds, key
//! imports, webhook replays) and every security event (logins, failed logins, lockouts, an
//! account promoted to operator), with who, when, what and what changed.
//!
//! Append-only: [`record`] is the only writer (inside the action's own transaction where it has
//! one), nothing in the API updates or deletes, and the database refuses both (triggers, see the
//! `console` migration).

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    QuerySelect as _, Set,
};
use serde_json::{Value, json};
use uuid::Uuid;

use api_types::AuditEntry;

use crate::accounts::CurrentUser;
use crate::entity::audit_log;
use crate::{Error, Result, Store};

/// What happened, by name. The names are stable: filters and tests use them.
pub mod action {
    pub const ITEM_CREATE: &str = "item.create";
    pub const ITEM_UPDATE: &str = "item.update";
    pub const ITEM_ARCHIVE: &str = "item.archive";
    pub const PROMO_CREATE: &str = "promo.create";
    pub const PROMO_UPDATE: &str = "promo.update";
    pub const REFUND_REQUEST: &str = "refund.request";
    pub const KEYS_IMPORT: &str = "keys.import";
    pub const WEBHOOK_REPLAY: &str = "webhook.replay";
    pub const LOGIN: &str = "login.success";
    pub const LOGIN_FAILED: &str = "login.failure";
    pub const LOCKOUT: &str = "login.lockout";
    pub const ADMIN_PROMOTED: &str = "admin.promote";

    pub const ALL: [&str; 12] = [
        ITEM_CREATE,
        ITEM_UPDATE,
        ITEM_ARCHIVE,
        PROMO_CREATE,
        PROMO_UPDATE,
        REFUND_REQUEST,
        KEYS_IMPORT,
        WEBHOOK_REPLAY,
        LOGIN,
        LOGIN_FAILED,
        LOCKOUT,
        ADMIN_PROMOTED,
    ];
}

/// Who did it.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Option<Uuid>,
    pub name: String,
}

impl Actor {
    pub fn user(user: &CurrentUser) -> Self {
        Self {
            id: Some(user.id()),
            name: user.user.username.clone(),
        }
    }

    /// Someone who is not (or not yet) a user: a failed login names what was typed.
    pub fn anonymous(typed: &str) -> Self {
        Self {
            id: None,
            name: typed.chars().filter(|c| !c.is_control()).take(64).collect(),
        }
    }

    pub fn system() -> Self {
        Self {
            id: None,
            name: "system".to_owned(),
        }
    }
}

/// One entry to write.
#[derive(Debug, Clone)]
pub struct Entry {
    pub actor: Actor,
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: String,
    pub diff: Value,
    pub client_ip: Option<IpAddr>,
}

impl Entry {
    pub fn new(
        actor: Actor,
        action: &'static str,
        target_type: &'static str,
        target_id: impl ToString,
        diff: Value,
    ) -> Self {
        Self {
            actor,
            action,
            target_type,
            target_id: target_id.to_string().chars().take(128).collect(),
            diff,
            client_ip: None,
        }
    }

    pub fn from_ip(mut self, ip: Option<IpAddr>) -> Self {
        self.client_ip = ip;
        self
    }
}

/// Appends an entry inside `conn` (the action's transaction, or the connection itself).
pub async fn record(conn: &impl ConnectionTrait, entry: Entry) -> Result<()> {
    let mut diff = entry.diff.to_string();
    if diff.len() > 16_384 {
        diff = json!({ "truncated": true, "summary": diff.chars().take(4000).collect::<String>() })
            .to_string();
    }
    audit_log::Entity::insert(audit_log::ActiveModel {
        at: Set(Utc::now()),
        actor_id: Set(entry.actor.id),
        actor: Set(entry.actor.name),
        action: Set(entry.action.to_owned()),
        target_type: Set(entry.target_type.to_owned()),
        target_id: Set(entry.target_id),
        diff: Set(diff),
        client_ip: Set(entry.client_ip.map(|ip| ip.to_string())),
        ..Default::default()
    })
    .exec(conn)
    .await?;
    Ok(())
}

/// `{"field": [before, after]}` for every field that differs between two JSON objects.
pub fn diff(before: &Value, after: &Value) -> Value {
    let (Some(b), Some(a)) = (before.as_object(), after.as_object()) else {
        return json!({ "before": before, "after": after });
    };
    let mut changed = serde_json::Map::new();
    for (key, new) in a {
        let old = b.get(key).unwrap_or(&Value::Null);
        if old != new {
            changed.insert(key.clone(), json!([old, new]));
        }
    }
    Value::Object(changed)
}

/// What to look for in the log.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Entries older than this id (the next page).
    pub before: Option<i64>,
    pub limit: u64,
}

pub struct Audit<'a> {
    store: &'a Store,
}

impl<'a> Audit<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// Entries, newest first, a page at a time (`before` the last id seen).
    pub async fn list(&self, viewer: &CurrentUser, filter: &Filter) -> Result<Vec<AuditEntry>> {
        viewer.require_admin()?;
        let mut select = audit_log::Entity::find()
            .order_by_desc(audit_log::Column::Id)
            .limit(filter.limit.clamp(1, 500));
        if let Some(action) = filter.action.as_deref().filter(|a| !a.is_empty()) {
            if !action::ALL.contains(&action) {
                return Err(Error::invalid(
                    "action",
                    format!("action must be one of {}", action::ALL.join(", ")),
                ));
            }
            select = select.filter(audit_log::Column::Action.eq(action));
        }
        if let Some(actor) = filter.actor.as_deref().filter(|a| !a.is_empty()) {
            crate::domain::check_text("actor", actor, false)?;
            select = select.filter(audit_log::Column::Actor.eq(actor.trim().to_lowercase()));
        }
        if let Some(t) = filter.target_type.as_deref().filter(|a| !a.is_empty()) {
            crate::domain::check_text("target_type", t, false)?;
            select = select.filter(audit_log::Column::TargetType.eq(t));
        }
        if let Some(t) = filter.target_id.as_deref().filter(|a| !a.is_empty()) {
            crate::domain::check_text("target_id", t, false)?;
            select = select.filter(audit_log::Column::TargetId.eq(t));
        }
        if let Some(from) = filter.from {
            select = select.filter(audit_log::Column::At.gte(from));
        }
        if let Some(to) = filter.to {
            select = select.filter(audit_log::Column::At.lt(to));
        }
        if let Some(before) = filter.before {
            select = select.filter(audit_log::Column::Id.lt(before));
        }
        Ok(select
            .all(self.store.db())
            .await?
            .into_iter()
            .map(|row| AuditEntry {
                id: row.id,
                at: row.at,
                actor_id: row.actor_id,
                actor: row.actor,
                action: row.action,
                target_type: row.target_type,
                target_id: row.target_id,
                diff: serde_json::from_str(&row.diff).unwrap_or(Value::String(row.diff)),
                client_ip: row.client_ip,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_names_only_what_changed() {
        let before = json!({ "name": "Sword", "price_cents": 100, "stock": null });
        let after = json!({ "name": "Sword", "price_cents": 150, "stock": 5 });
        assert_eq!(
            diff(&before, &after),
            json!({ "price_cents": [100, 150], "stock": [null, 5] })
        );
    }
}
