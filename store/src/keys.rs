//! License keys: a pool per item, encrypted at rest, handed out one per unit inside the
//! transaction that marks an order paid, and revoked when that unit is refunded.
//!
//! An item with a pool sells only while keys remain: importing keys sets its stock so that
//! `available = keys in the pool - units in pending orders`, which the checkout's conditional
//! update already enforces, so concurrent checkouts can never sell more units than there are keys.
//! Its stock then follows the pool (a manual stock change is refused).

use std::collections::{BTreeMap, HashSet};

use api_types::{KeyPool, KeysAdded, MaskedKey};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chrono::Utc;
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sea_orm::sea_query::{Expr, LockBehavior, LockType, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Set, Statement,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::entity::license_keys::{self, KeyStatus};
use crate::entity::{items, order_lines, orders};
use crate::settings::EncryptionKey;
use crate::{Error, Result, Store};

/// Keys one import may carry.
pub const MAX_KEYS_PER_IMPORT: usize = 5_000;
const MIN_KEY_LEN: usize = 4;
const MAX_KEY_LEN: usize = 128;
const NONCE_LEN: usize = 24;
const RECENT: u64 = 20;

/// Seals and opens keys, and fingerprints them for duplicate detection, with subkeys derived
/// from `KEYS_ENCRYPTION_KEY`.
pub struct Vault {
    cipher: XChaCha20Poly1305,
    fingerprint_key: [u8; 32],
}

impl Vault {
    pub fn new(key: &EncryptionKey) -> Self {
        let derive = |label: &[u8]| -> [u8; 32] {
            Sha256::new()
                .chain_update(label)
                .chain_update(key.bytes())
                .finalize()
                .into()
        };
        let cipher_key = derive(b"gamestore license keys: cipher\0");
        Vault {
            cipher: XChaCha20Poly1305::new(&cipher_key.into()),
            fingerprint_key: derive(b"gamestore license keys: fingerprint\0"),
        }
    }

    fn seal(&self, key: &str) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), key.as_bytes())
            .map_err(|_| Error::Internal("a license key could not be encrypted".into()))?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn open(&self, sealed: &[u8]) -> Result<String> {
        let undecryptable =
            || Error::Internal("a license key does not decrypt with KEYS_ENCRYPTION_KEY".into());
        if sealed.len() < NONCE_LEN {
            return Err(undecryptable());
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), body)
            .map_err(|_| undecryptable())?;
        String::from_utf8(plain).map_err(|_| undecryptable())
    }

    pub(crate) fn fingerprint(&self, key: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.fingerprint_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(key.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// Reads keys from an upload: one per line, or the first column of a CSV (a quoted field may
/// hold commas, and `""` is a quote; a header row `key`/`license_key`/`code`, blank lines and
/// the byte-order mark a spreadsheet puts first are skipped).
pub fn parse_list(text: &str) -> Vec<String> {
    text.trim_start_matches('\u{feff}')
        .lines()
        .map(|line| first_field(line.trim_start()).trim().to_owned())
        .filter(|key| !key.is_empty())
        .filter(|key| {
            !matches!(
                key.to_ascii_lowercase().as_str(),
                "key" | "keys" | "license_key" | "license key" | "code"
            )
        })
        .collect()
}

/// The first field of a CSV line: up to the first comma, or a quoted field with `""` read as
/// one quote (an unclosed quote runs to the end of the line).
fn first_field(line: &str) -> String {
    let Some(quoted) = line.strip_prefix('"') else {
        return line.split(',').next().unwrap_or_default().to_owned();
    };
    let mut field = String::new();
    let mut chars = quoted.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            if chars.peek() == Some(&'"') {
                chars.next();
                field.push('"');
            } else {
                break;
            }
        } else {
            field.push(c);
        }
    }
    field
}

/// Checks every key of an import; the error names the first bad one by its position.
fn check_keys(keys: &[String]) -> Result<()> {
    if keys.is_empty() {
        return Err(Error::invalid("keys", "give at least one key"));
    }
    if keys.len() > MAX_KEYS_PER_IMPORT {
        return Err(Error::invalid(
            "keys",
            format!("at most {MAX_KEYS_PER_IMPORT} keys per import"),
        ));
    }
    for (n, key) in keys.iter().enumerate() {
        let len = key.chars().count();
        if !(MIN_KEY_LEN..=MAX_KEY_LEN).contains(&len) || !key.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(Error::invalid(
                "keys",
                format!(
                    "key {} is not a license key: {MIN_KEY_LEN}–{MAX_KEY_LEN} printable ASCII characters without spaces",
                    n + 1
                ),
            ));
        }
    }
    Ok(())
}

/// How an operator sees a key: its last four characters.
fn masked(hint: &str) -> String {
    format!("••••••{hint}")
}

/// The last four characters of a key of 12 or more, so operators can tell keys apart; none
/// of a shorter one, where four characters would be most of the key.
fn hint(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 12 {
        return String::new();
    }
    chars[chars.len() - 4..].iter().collect()
}

pub struct Keys<'a> {
    store: &'a Store,
}

impl<'a> Keys<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// Adds keys to an item's pool; a key already there (or twice in the list) is counted as a
    /// duplicate and not added. The item's stock follows the pool from then on.
    pub async fn import(
        &self,
        actor: &crate::accounts::CurrentUser,
        item_id: i64,
        keys: &[String],
    ) -> Result<KeysAdded> {
        actor.require_admin()?;
        let keys: Vec<String> = keys.iter().map(|k| k.trim().to_owned()).collect();
        check_keys(&keys)?;
        let vault = self.store.vault();
        let mut seen = HashSet::new();
        let now = Utc::now();
        let mut rows = Vec::new();
        for key in &keys {
            let fingerprint = vault.fingerprint(key);
            if seen.insert(fingerprint.clone()) {
                rows.push(license_keys::ActiveModel {
                    item_id: Set(item_id),
                    secret: Set(vault.seal(key)?),
                    fingerprint: Set(fingerprint),
                    hint: Set(hint(key)),
                    status: Set(KeyStatus::Available),
                    created_at: Set(now),
                    ..Default::default()
                });
            }
        }

        let txn = crate::db::begin_write(self.store.db()).await?;
        // The item's row lock orders imports against each other and against checkouts' stock.
        let item = items::Entity::find_by_id(item_id)
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or(Error::NotFound("item"))?;
        if item.is_bundle() {
            // A bundle line delivers its items; a key of the bundle's own would be taken at
            // checkout and shown nowhere (an attacker's pass).
            return Err(Error::conflict(
                "ITEM_IS_BUNDLE",
                "a bundle delivers its items, not license keys of its own",
            ));
        }
        if item.stock.is_none() {
            crate::catalog::admin::refuse_if_bundled(&txn, &item, "sold in unlimited numbers")
                .await?;
            // Its stock is about to follow the pool: count the units it has sold unlimited.
            crate::orders::recount_committed(&txn, item_id).await?;
        }
        let mut added = 0u64;
        for chunk in rows.chunks(500) {
            added += license_keys::Entity::insert_many(chunk.to_vec())
                .on_conflict(
                    OnConflict::columns([
                        license_keys::Column::ItemId,
                        license_keys::Column::Fingerprint,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
        }
        sync_stock(&txn, item_id).await?;
        // The log says how many, never which: keys are secrets.
        crate::audit::record(
            &txn,
            crate::audit::Entry::new(
                crate::audit::Actor::user(actor),
                crate::audit::action::KEYS_IMPORT,
                "item",
                item_id,
                serde_json::json!({
                    "added": added,
                    "duplicates": keys.len() as u64 - added,
                }),
            ),
        )
        .await?;
        txn.commit().await?;
        self.store.catalog().stock_changed().await;
        if added > 0
            && let Err(e) = crate::wishlist::Alerts::new(self.store).sweep().await
        {
            tracing::warn!(error = %e, "wishlist alerts not sent; the next sweep retries");
        }
        Ok(KeysAdded {
            added,
            duplicates: keys.len() as u64 - added,
        })
    }

    /// An item's pool: counts and the newest keys, masked.
    pub async fn pool(&self, item_id: i64) -> Result<KeyPool> {
        items::Entity::find_by_id(item_id)
            .one(self.store.db())
            .await?
            .ok_or(Error::NotFound("item"))?;
        let counts: Vec<(KeyStatus, i64)> = license_keys::Entity::find()
            .select_only()
            .column(license_keys::Column::Status)
            .column_as(license_keys::Column::Id.count(), "count")
            .filter(license_keys::Column::ItemId.eq(item_id))
            .group_by(license_keys::Column::Status)
            .into_tuple()
            .all(self.store.db())
            .await?;
        let count = |status: KeyStatus| {
            counts
                .iter()
                .find(|(s, _)| *s == status)
                .map_or(0, |(_, n)| u64::try_from(*n).unwrap_or_default())
        };
        let recent = license_keys::Entity::find()
            .filter(license_keys::Column::ItemId.eq(item_id))
            .order_by_desc(license_keys::Column::Id)
            .limit(RECENT)
            .all(self.store.db())
            .await?
            .into_iter()
            .map(|k| MaskedKey {
                masked: masked(&k.hint),
                status: k.status.as_str().to_owned(),
                order_id: k.order_id,
                added_at: k.created_at,
            })
            .collect();
        Ok(KeyPool {
            item_id,
            available: count(KeyStatus::Available),
            assigned: count(KeyStatus::Assigned),
            revoked: count(KeyStatus::Revoked),
            recent,
        })
    }

    /// The keys a user holds, by item, decrypted for them alone.
    pub async fn held_by(&self, user_id: Uuid) -> Result<BTreeMap<i64, Vec<String>>> {
        let rows = license_keys::Entity::find()
            .filter(license_keys::Column::UserId.eq(user_id))
            .filter(license_keys::Column::Status.eq(KeyStatus::Assigned))
            .order_by_asc(license_keys::Column::Id)
            .all(self.store.db())
            .await?;
        let vault = self.store.vault();
        let mut held: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for row in rows {
            // A key sealed under another KEYS_ENCRYPTION_KEY is an operator's mistake: say so
            // in the log and show the rest of the library, rather than fail it.
            match vault.open(&row.secret) {
                Ok(key) => held.entry(row.item_id).or_default().push(key),
                Err(e) => {
                    tracing::error!(key_id = row.id, error = %e, "a license key cannot be read")
                }
            }
        }
        Ok(held)
    }
}

/// Whether an item sells license keys (its stock then follows the pool).
pub(crate) async fn has_pool(conn: &impl ConnectionTrait, item_id: i64) -> Result<bool> {
    Ok(license_keys::Entity::find()
        .filter(license_keys::Column::ItemId.eq(item_id))
        .one(conn)
        .await?
        .is_some())
}

/// Sets a keyed item's stock so that what is for sale is what the pool can still deliver:
/// `stock - committed = available keys - units in pending orders`. One statement, so both
/// counts come from one snapshot (a payment landing meanwhile takes a key and a pending unit
/// together); the caller holds the item's row lock against checkouts and expiries.
async fn sync_stock(conn: &impl ConnectionTrait, item_id: i64) -> Result<()> {
    let backend = conn.get_database_backend();
    let p = match backend {
        DbBackend::Postgres => "$1",
        _ => "?1",
    };
    let sql = format!(
        "UPDATE items SET stock = committed \
           + (SELECT COUNT(*) FROM license_keys WHERE item_id = {p} AND status = 'available') \
           - COALESCE((SELECT SUM(l.quantity) FROM order_lines l JOIN orders o ON o.id = l.order_id \
                       WHERE l.item_id = {p} AND o.status = 'pending'), 0) \
         WHERE id = {p}"
    );
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [item_id.into()],
    ))
    .await?;
    Ok(())
}

/// Hands one key per unit of each line to the buyer, inside the transaction that marks the
/// order paid (that move happens once, so a duplicate webhook never assigns a second key).
/// Keys are taken oldest first with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent
/// fulfilments never wait on each other nor take the same key; SQLite writers take turns.
pub(crate) async fn assign(
    conn: &impl ConnectionTrait,
    order: &orders::Model,
    lines: &[order_lines::Model],
) -> Result<()> {
    for line in lines {
        let wanted = u64::try_from(line.quantity).unwrap_or_default();
        let ids: Vec<i64> = license_keys::Entity::find()
            .select_only()
            .column(license_keys::Column::Id)
            .filter(license_keys::Column::ItemId.eq(line.item_id))
            .filter(license_keys::Column::Status.eq(KeyStatus::Available))
            .order_by_asc(license_keys::Column::Id)
            .limit(wanted)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .into_tuple()
            .all(conn)
            .await?;
        if ids.is_empty() {
            continue;
        }
        let assigned = license_keys::Entity::update_many()
            .col_expr(
                license_keys::Column::Status,
                Expr::value(KeyStatus::Assigned),
            )
            .col_expr(license_keys::Column::OrderId, Expr::value(order.id))
            .col_expr(license_keys::Column::OrderLineId, Expr::value(line.id))
            .col_expr(license_keys::Column::UserId, Expr::value(order.owner()))
            .col_expr(license_keys::Column::AssignedAt, Expr::value(Utc::now()))
            .filter(license_keys::Column::Id.is_in(ids))
            .filter(license_keys::Column::Status.eq(KeyStatus::Available))
            .exec(conn)
            .await?
            .rows_affected;
        if assigned < wanted {
            tracing::warn!(order_id = %order.id, line_id = line.id, wanted, assigned, "the key pool ran short of a paid order");
        }
    }
    Ok(())
}

/// Revokes the keys of refunded lines: no longer the buyer's, never handed out again.
pub(crate) async fn revoke(conn: &impl ConnectionTrait, line_ids: &[i64]) -> Result<()> {
    if line_ids.is_empty() {
        return Ok(());
    }
    license_keys::Entity::update_many()
        .col_expr(
            license_keys::Column::Status,
            Expr::value(KeyStatus::Revoked),
        )
        .col_expr(license_keys::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(license_keys::Column::OrderLineId.is_in(line_ids.iter().copied()))
        .filter(license_keys::Column::Status.eq(KeyStatus::Assigned))
        .exec(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        Vault::new(&crate::settings::dev_keys_key())
    }

    #[test]
    fn keys_round_trip_and_tampering_is_caught() {
        let vault = vault();
        let sealed = vault.seal("AAAA-BBBB-CCCC").expect("sealed");
        assert!(
            !sealed.windows(4).any(|w| w == b"AAAA"),
            "stored in the clear"
        );
        assert_eq!(vault.open(&sealed).expect("opened"), "AAAA-BBBB-CCCC");
        assert_ne!(
            vault.seal("AAAA-BBBB-CCCC").expect("sealed"),
            sealed,
            "nonce reused"
        );
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(vault.open(&tampered).is_err());
        assert!(vault.open(&sealed[..10]).is_err());
        let other = Vault::new(&EncryptionKey::parse(&"11".repeat(32)).expect("a valid key"));
        assert!(other.open(&sealed).is_err());
        assert_eq!(vault.fingerprint("K-1"), vault.fingerprint("K-1"));
        assert_ne!(vault.fingerprint("K-1"), other.fingerprint("K-1"));
    }

    #[test]
    fn uploads_are_read_as_lines_or_a_first_csv_column() {
        let csv = "key,note\n\"AAAA-1111\",first\nBBBB-2222\n\n  CCCC-3333  ,x\n";
        assert_eq!(parse_list(csv), ["AAAA-1111", "BBBB-2222", "CCCC-3333"]);
        assert_eq!(parse_list("ONE1\r\nTWO2\r\n"), ["ONE1", "TWO2"]);
        // Quoted fields keep their commas and read `""` as a quote; a spreadsheet's byte-order
        // mark does not hide the header row (found by an attacker's pass: a buyer got `WXYZ`).
        assert_eq!(
            parse_list(
                "\u{feff}key,note\r\n\"WXYZ,1234-abcd\",vendor note\r\n\"CC\"\"DD-x\",y\r\nPLAIN-1,z"
            ),
            ["WXYZ,1234-abcd", "CC\"DD-x", "PLAIN-1"]
        );
    }

    #[test]
    fn bad_keys_are_named_by_position() {
        let keys = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(check_keys(&keys(&["ABCD-1234"])).is_ok());
        assert!(check_keys(&[]).is_err());
        for bad in ["abc", "has space", "tab\tin", "ünïcode", &"x".repeat(129)] {
            let err = check_keys(&keys(&["GOOD-1", bad])).expect_err(bad);
            assert!(err.to_string().contains("key 2"), "{err}");
        }
        let many = vec!["ABCD-1234".to_owned(); MAX_KEYS_PER_IMPORT + 1];
        assert!(check_keys(&many).is_err());
        assert_eq!(hint("ABCD-1234-WXYZ"), "WXYZ");
        assert_eq!(hint("AB12"), "", "a short key is never shown");
        assert_eq!(hint("ABCD-1234"), "");
        assert_eq!(masked("1234"), "••••••1234");
    }
}
