//! The operators' dashboard figures: orders and revenue per day, orders per state, conversion,
//! refunds and best sellers over a range of days. Three grouped queries whatever the range: the
//! orders by day, state and currency (answered from the covering index
//! `idx_orders_created_stats`, without touching the table), the best sellers (days that are
//! over from `stats_item_days`, summed once; the last two days from the paid lines through
//! `idx_order_lines_paid`), and the refunds completed (`idx_refunds_completed`).

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate, NaiveTime, Utc};
use sea_orm::{ConnectionTrait as _, DatabaseBackend, Statement, Value};

use api_types::{DayStats, OrderStatus, SalesStats, StatusCount, TopItem};

use super::Orders;
use crate::accounts::CurrentUser;
use crate::{Error, Result};

/// Longest range the dashboard reads at once.
pub const MAX_DAYS: u64 = 366;

/// A validated range of whole UTC days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DayRange {
    /// `from`/`to` as `YYYY-MM-DD`; a missing end is today, a missing start 29 days before
    /// the end (30 days in all).
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<Self> {
        let day = |field: &'static str, raw: &str| {
            NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
                .ok()
                .filter(|d| (1970..=9998).contains(&chrono::Datelike::year(d)))
                .ok_or_else(|| {
                    Error::invalid(
                        field,
                        format!("{field} must be a date, YYYY-MM-DD, from 1970 to 9998"),
                    )
                })
        };
        let to = match to.filter(|s| !s.trim().is_empty()) {
            Some(raw) => day("to", raw)?,
            None => Utc::now().date_naive(),
        };
        let from = match from.filter(|s| !s.trim().is_empty()) {
            Some(raw) => day("from", raw)?,
            None => to.checked_sub_days(Days::new(29)).unwrap_or(to),
        };
        if from > to {
            return Err(Error::invalid("from", "from must not be after to"));
        }
        if (to - from).num_days() as u64 >= MAX_DAYS {
            return Err(Error::invalid(
                "from",
                format!("a range covers at most {MAX_DAYS} days"),
            ));
        }
        Ok(Self { from, to })
    }

    /// The last `days` days up to today.
    pub fn last(days: u64) -> Self {
        let to = Utc::now().date_naive();
        let from = to
            .checked_sub_days(Days::new(days.clamp(1, MAX_DAYS) - 1))
            .unwrap_or(to);
        Self { from, to }
    }

    fn start(&self) -> chrono::DateTime<Utc> {
        self.from.and_time(NaiveTime::MIN).and_utc()
    }

    fn end(&self) -> chrono::DateTime<Utc> {
        self.to
            .checked_add_days(Days::new(1))
            .unwrap_or(self.to)
            .and_time(NaiveTime::MIN)
            .and_utc()
    }

    fn days(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.from.iter_days().take_while(|d| *d <= self.to)
    }
}

/// The day of a `created_at`, as text, in each database's SQL.
fn day_of(backend: DatabaseBackend, column: &str) -> String {
    match backend {
        DatabaseBackend::Postgres => {
            format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')")
        }
        // Stored as `YYYY-MM-DD HH:MM:SS…+00:00`: the day is its first ten characters.
        _ => format!("substr({column}, 1, 10)"),
    }
}

/// Placeholders are written `$1`…; SQLite spells them `?1`….
fn statement(backend: DatabaseBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DatabaseBackend::Postgres => sql.to_owned(),
        _ => sql.replace('$', "?"),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

impl Orders<'_> {
    /// The ten best sellers by revenue among lines paid in `range`: days that are over are
    /// summed once into `stats_item_days` (a day's paid lines never change once it has passed:
    /// a payment is stamped with the moment it lands), the last two days are read live.
    async fn best_sellers(&self, range: DayRange, currency: &str) -> Result<Vec<TopItem>> {
        let db = self.store.db();
        let backend = db.get_database_backend();
        let settled = Utc::now()
            .date_naive()
            .checked_sub_days(Days::new(2))
            .unwrap_or(range.from);
        let settled_to = range.to.min(settled);
        if range.from <= settled_to {
            self.settle(range.from, settled_to).await?;
        }
        let live_from = range.from.max(settled.succ_opt().unwrap_or(settled));
        let live = DayRange {
            from: live_from,
            to: range.to.max(live_from),
        };
        let (live_start, live_end) = if live_from <= range.to {
            (live.start(), live.end())
        } else {
            (range.end(), range.end())
        };
        let sql = statement(
            backend,
            "SELECT item_id, MAX(name) AS name, CAST(SUM(units) AS BIGINT) AS units, \
             CAST(SUM(revenue) AS BIGINT) AS revenue FROM ( \
               SELECT item_id, name, units, revenue_cents AS revenue FROM stats_item_days \
               WHERE day >= $1 AND day <= $2 AND currency = $3 \
               UNION ALL \
               SELECT item_id, name, quantity AS units, line_total_cents AS revenue FROM order_lines \
               WHERE paid_at >= $4 AND paid_at < $5 AND currency = $3 \
             ) sales GROUP BY item_id ORDER BY revenue DESC, units DESC LIMIT 10",
            vec![
                range.from.to_string().into(),
                settled_to.to_string().into(),
                currency.to_owned().into(),
                live_start.into(),
                live_end.into(),
            ],
        );
        Ok(db
            .query_all_raw(sql)
            .await?
            .iter()
            .map(|r| {
                Ok(TopItem {
                    item_id: r.try_get("", "item_id")?,
                    name: r.try_get("", "name")?,
                    units: r.try_get::<Option<i64>>("", "units")?.unwrap_or(0),
                    revenue_cents: r.try_get::<Option<i64>>("", "revenue")?.unwrap_or(0),
                })
            })
            .collect::<Result<Vec<_>, sea_orm::DbErr>>()?)
    }

    /// Sums the paid lines of the days from `from` to `to` (both over) that are not summed yet.
    /// Replicas racing on the same day insert the same rows; the second's are ignored.
    async fn settle(&self, from: NaiveDate, to: NaiveDate) -> Result<()> {
        let db = self.store.db();
        let backend = db.get_database_backend();
        let done: std::collections::HashSet<String> = db
            .query_all_raw(statement(
                backend,
                "SELECT day FROM stats_days_done WHERE day >= $1 AND day <= $2",
                vec![from.to_string().into(), to.to_string().into()],
            ))
            .await?
            .iter()
            .filter_map(|r| r.try_get::<String>("", "day").ok())
            .collect();
        let missing: Vec<NaiveDate> = DayRange { from, to }
            .days()
            .filter(|d| !done.contains(&d.to_string()))
            .collect();
        let (Some(first), Some(last)) = (missing.first(), missing.last()) else {
            return Ok(());
        };
        let span = DayRange {
            from: *first,
            to: *last,
        };
        let txn = crate::db::begin_write(db).await?;
        txn.execute_raw(statement(
            backend,
            &format!(
                "INSERT INTO stats_item_days (day, currency, item_id, name, units, revenue_cents) \
                 SELECT {day}, currency, item_id, MAX(name), CAST(SUM(quantity) AS BIGINT), \
                 CAST(SUM(line_total_cents) AS BIGINT) FROM order_lines \
                 WHERE paid_at >= $1 AND paid_at < $2 GROUP BY 1, 2, 3 \
                 ON CONFLICT DO NOTHING",
                day = day_of(backend, "paid_at")
            ),
            vec![span.start().into(), span.end().into()],
        ))
        .await?;
        let now = Utc::now();
        for chunk in missing.chunks(200) {
            let placeholders: Vec<String> = (0..chunk.len())
                .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
                .collect();
            let values = chunk
                .iter()
                .flat_map(|d| [Value::from(d.to_string()), Value::from(now)])
                .collect();
            txn.execute_raw(statement(
                backend,
                &format!(
                    "INSERT INTO stats_days_done (day, done_at) VALUES {} ON CONFLICT DO NOTHING",
                    placeholders.join(", ")
                ),
                values,
            ))
            .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// The dashboard's figures for `range`, money in `currency` (default: the currency most
    /// paid orders in the range were in, or USD).
    pub async fn stats(
        &self,
        viewer: &CurrentUser,
        range: DayRange,
        currency: Option<&str>,
    ) -> Result<SalesStats> {
        viewer.require_admin()?;
        let db = self.store.db();
        let backend = db.get_database_backend();
        let (start, end) = (range.start(), range.end());

        // Grouped by a cheap day key first (a date on PostgreSQL), formatted once per group.
        let (key, shown) = match backend {
            DatabaseBackend::Postgres => (
                "(created_at AT TIME ZONE 'UTC')::date",
                "to_char(d, 'YYYY-MM-DD')",
            ),
            _ => ("substr(created_at, 1, 10)", "d"),
        };
        let by_day = statement(
            backend,
            &format!(
                "SELECT {shown} AS day, status, currency, n, amount, refunded FROM ( \
                 SELECT {key} AS d, status, currency, COUNT(*) AS n, \
                 CAST(SUM(amount_cents) AS BIGINT) AS amount, \
                 CAST(SUM(refunded_cents) AS BIGINT) AS refunded \
                 FROM orders WHERE created_at >= $1 AND created_at < $2 \
                 GROUP BY 1, 2, 3) grouped"
            ),
            vec![start.into(), end.into()],
        );
        struct Row {
            day: String,
            status: String,
            currency: String,
            n: i64,
            amount: i64,
            refunded: i64,
        }
        let rows: Vec<Row> = db
            .query_all_raw(by_day)
            .await?
            .iter()
            .map(|r| {
                Ok(Row {
                    day: r.try_get("", "day")?,
                    status: r.try_get("", "status")?,
                    currency: r.try_get("", "currency")?,
                    n: r.try_get("", "n")?,
                    amount: r.try_get::<Option<i64>>("", "amount")?.unwrap_or(0),
                    refunded: r.try_get::<Option<i64>>("", "refunded")?.unwrap_or(0),
                })
            })
            .collect::<Result<_, sea_orm::DbErr>>()?;

        let paid = |status: &str| {
            matches!(
                OrderStatus::parse(status),
                Some(OrderStatus::Paid | OrderStatus::PartiallyRefunded | OrderStatus::Refunded)
            )
        };
        let mut paid_by_currency: BTreeMap<String, u64> = BTreeMap::new();
        for row in rows.iter().filter(|r| paid(&r.status)) {
            *paid_by_currency.entry(row.currency.clone()).or_default() += row.n as u64;
        }
        let currency = match currency.map(|c| c.trim().to_ascii_uppercase()) {
            Some(c) if api_types::currency_exponent(&c).is_some() => c,
            Some(_) => {
                return Err(Error::invalid(
                    "currency",
                    "currency must be one the store sells in",
                ));
            }
            None => paid_by_currency
                .iter()
                .max_by_key(|(_, n)| **n)
                .map_or_else(|| "USD".to_owned(), |(c, _)| c.clone()),
        };

        let mut days: BTreeMap<NaiveDate, DayStats> = range
            .days()
            .map(|day| {
                (
                    day,
                    DayStats {
                        day,
                        orders: 0,
                        paid: 0,
                        revenue_cents: 0,
                        refunded_cents: 0,
                    },
                )
            })
            .collect();
        let mut by_status: BTreeMap<&'static str, u64> = BTreeMap::new();
        let (mut created, mut paid_count, mut revenue, mut refunded) = (0u64, 0u64, 0i64, 0i64);
        for row in &rows {
            let n = row.n as u64;
            created += n;
            if let Some(status) = OrderStatus::parse(&row.status) {
                *by_status.entry(status.as_str()).or_default() += n;
            }
            let Some(day) = NaiveDate::parse_from_str(&row.day, "%Y-%m-%d")
                .ok()
                .and_then(|d| days.get_mut(&d))
            else {
                continue;
            };
            day.orders += n;
            if paid(&row.status) {
                day.paid += n;
                paid_count += n;
                if row.currency == currency {
                    day.revenue_cents += row.amount;
                    day.refunded_cents += row.refunded;
                    revenue += row.amount;
                    refunded += row.refunded;
                }
            }
        }

        let top_items = self.best_sellers(range, &currency).await?;

        let refunds_sql = statement(
            backend,
            "SELECT COUNT(*) AS n, \
             CAST(COALESCE(SUM(CASE WHEN currency = $3 THEN amount_cents ELSE 0 END), 0) AS BIGINT) AS amount \
             FROM refunds WHERE status = 'succeeded' AND completed_at >= $1 AND completed_at < $2",
            vec![start.into(), end.into(), currency.clone().into()],
        );
        let (refunds, refunds_cents) = match db.query_one_raw(refunds_sql).await? {
            Some(r) => (
                r.try_get::<i64>("", "n")? as u64,
                r.try_get::<Option<i64>>("", "amount")?.unwrap_or(0),
            ),
            None => (0, 0),
        };

        Ok(SalesStats {
            from: range.from,
            to: range.to,
            bucket: "day".to_owned(),
            days: days.into_values().collect(),
            by_status: OrderStatus::ALL
                .into_iter()
                .map(|status| StatusCount {
                    status,
                    count: by_status.get(status.as_str()).copied().unwrap_or(0),
                })
                .collect(),
            orders_created: created,
            orders_paid: paid_count,
            conversion: if created == 0 {
                0.0
            } else {
                paid_count as f64 / created as f64
            },
            revenue_cents: revenue,
            refunded_cents: refunded,
            refunds,
            refunds_cents,
            top_items,
            currencies: paid_by_currency
                .into_keys()
                .filter(|c| *c != currency)
                .collect(),
            currency,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_whole_days_within_a_year() {
        let r = DayRange::parse(Some("2026-11-01"), Some("2026-11-30")).expect("valid");
        assert_eq!(r.days().count(), 30);
        assert_eq!(r.start().to_rfc3339(), "2026-11-01T00:00:00+00:00");
        assert_eq!(r.end().to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(
            DayRange::parse(None, None).expect("default").days().count(),
            30
        );
        for (from, to) in [
            (Some("2026-12-01"), Some("2026-11-01")),
            (Some("2025-01-01"), Some("2026-12-01")),
            (Some("yesterday"), None),
            (Some("2026-02-30"), None),
            (Some("1900-01-01"), Some("1900-01-02")),
        ] {
            assert!(DayRange::parse(from, to).is_err(), "{from:?}..{to:?}");
        }
        assert_eq!(DayRange::last(7).days().count(), 7);
    }
}
