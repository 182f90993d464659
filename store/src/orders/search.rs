//! The operators' order search — by order id, buyer, item, state and dates, a page at a time —
//! and the same search as a CSV export, streamed from the database row by row.

use bytes::Bytes;
use chrono::{Days, NaiveDate, NaiveTime};
use futures::StreamExt as _;
use sea_orm::sea_query::{Expr, ExprTrait as _, Func, LikeExpr, Query};
use sea_orm::{
    ColumnTrait as _, Condition, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    QuerySelect as _,
};
use uuid::Uuid;

use api_types::{OrderSearchPage, OrderStatus};

use super::Orders;
use crate::accounts::CurrentUser;
use crate::domain::{Username, check_text};
use crate::entity::{Status, items, order_lines, orders, users};
use crate::{Error, Result};

/// Most orders on one page of the search.
pub const MAX_PER_PAGE: u32 = 500;
/// The deepest page (offset pagination: deeper pages cost more).
pub const MAX_PAGE: u32 = 10_000;

/// What operators search orders by; every part is optional.
#[derive(Debug, Clone, Default)]
pub struct OrderQuery {
    /// An order id (the whole UUID).
    pub order_id: Option<String>,
    /// The buyer's username.
    pub username: Option<String>,
    /// An item id, or words of its name.
    pub item: Option<String>,
    pub status: Option<OrderStatus>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub page: u32,
    pub per_page: u32,
}

/// A search, checked and resolved to ids.
struct Resolved {
    condition: Condition,
    /// The search cannot match anything (an unknown buyer or item).
    empty: bool,
}

impl Orders<'_> {
    async fn resolve(&self, q: &OrderQuery) -> Result<Resolved> {
        let db = self.store.db();
        let mut condition = Condition::all();
        let mut empty = false;
        if let Some(raw) = q
            .order_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let id = Uuid::parse_str(raw)
                .map_err(|_| Error::invalid("order_id", "order_id must be a whole order id"))?;
            condition = condition.add(orders::Column::Id.eq(id));
        }
        if let Some(raw) = q
            .username
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            check_text("username", raw, false)?;
            match Username::parse(raw) {
                Ok(name) => match users::Entity::find()
                    .filter(users::Column::Username.eq(name.as_str()))
                    .one(db)
                    .await?
                {
                    Some(user) => condition = condition.add(orders::Column::UserId.eq(user.id)),
                    None => empty = true,
                },
                Err(_) => empty = true,
            }
        }
        if let Some(raw) = q.item.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            check_text("item", raw, false)?;
            if raw.chars().count() > 120 {
                return Err(Error::invalid(
                    "item",
                    "item must be at most 120 characters",
                ));
            }
            // By id, or every item whose name matches: a subquery, so no number of matching
            // items can cut the search short (found by an attacker's pass: a list capped at 200
            // items silently missed orders).
            let items_matching = match raw.parse::<i64>() {
                Ok(id) => Query::select()
                    .column(items::Column::Id)
                    .from(items::Entity)
                    .and_where(items::Column::Id.eq(id))
                    .to_owned(),
                Err(_) => {
                    let pattern = format!(
                        "%{}%",
                        raw.to_lowercase()
                            .replace('\\', "\\\\")
                            .replace('%', "\\%")
                            .replace('_', "\\_")
                    );
                    Query::select()
                        .column(items::Column::Id)
                        .from(items::Entity)
                        .and_where(
                            Expr::expr(Func::lower(Expr::col(items::Column::Name)))
                                .like(LikeExpr::new(pattern).escape('\\')),
                        )
                        .to_owned()
                }
            };
            condition = condition.add(
                orders::Column::Id.in_subquery(
                    Query::select()
                        .column(order_lines::Column::OrderId)
                        .from(order_lines::Entity)
                        .and_where(order_lines::Column::ItemId.in_subquery(items_matching))
                        .to_owned(),
                ),
            );
        }
        if let Some(status) = q.status {
            condition = condition.add(orders::Column::Status.eq(Status::from(status)));
        }
        // Each bound on its own, and any span: the export is streamed, whatever it covers.
        let from = search_day("from", q.from.as_deref())?;
        let to = search_day("to", q.to.as_deref())?;
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            return Err(Error::invalid("from", "from must not be after to"));
        }
        if let Some(from) = from {
            condition = condition
                .add(orders::Column::CreatedAt.gte(from.and_time(NaiveTime::MIN).and_utc()));
        }
        if let Some(to) = to {
            let end = to.checked_add_days(Days::new(1)).unwrap_or(to);
            condition =
                condition.add(orders::Column::CreatedAt.lt(end.and_time(NaiveTime::MIN).and_utc()));
        }
        Ok(Resolved { condition, empty })
    }

    /// One page of the orders a search finds, newest first (operators).
    pub async fn search(&self, viewer: &CurrentUser, q: &OrderQuery) -> Result<OrderSearchPage> {
        viewer.require_admin()?;
        let per_page = if q.per_page == 0 { 25 } else { q.per_page };
        if per_page > MAX_PER_PAGE {
            return Err(Error::invalid(
                "per_page",
                format!("per_page must be 1–{MAX_PER_PAGE}"),
            ));
        }
        let page = Ord::max(q.page, 1);
        if page > MAX_PAGE {
            return Err(Error::invalid(
                "page",
                format!("page must be 1–{MAX_PAGE}; narrow the search instead"),
            ));
        }
        let resolved = self.resolve(q).await?;
        if resolved.empty {
            return Ok(OrderSearchPage {
                orders: vec![],
                page,
                per_page,
                has_more: false,
            });
        }
        let mut rows = orders::Entity::find()
            .filter(resolved.condition)
            .order_by_desc(orders::Column::CreatedAt)
            .order_by_desc(orders::Column::Id)
            .offset(u64::from(page - 1) * u64::from(per_page))
            .limit(u64::from(per_page) + 1)
            .all(self.store.db())
            .await?;
        let has_more = rows.len() > per_page as usize;
        rows.truncate(per_page as usize);
        Ok(OrderSearchPage {
            orders: self.admin_views(rows).await?,
            page,
            per_page,
            has_more,
        })
    }

    /// The orders a search finds, as CSV, produced row by row as the receiver reads it: the
    /// export never holds more than a few chunks in memory, whatever the number of orders.
    /// Cells that a spreadsheet would run as a formula are prefixed with `'`.
    pub async fn export_csv(
        &self,
        viewer: &CurrentUser,
        q: &OrderQuery,
    ) -> Result<tokio::sync::mpsc::Receiver<Result<Bytes>>> {
        viewer.require_admin()?;
        let resolved = self.resolve(q).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        let db = self.store.db().clone();
        tokio::spawn(async move {
            let header =
                "order_id,created_at,status,username,items,amount,refunded,currency,gift_to\r\n";
            if tx
                .send(Ok(Bytes::from_static(header.as_bytes())))
                .await
                .is_err()
                || resolved.empty
            {
                return;
            }
            let select = orders::Entity::find()
                .filter(resolved.condition)
                .order_by_desc(orders::Column::CreatedAt)
                .order_by_desc(orders::Column::Id);
            let stream = match select.stream(&db).await {
                Ok(stream) => stream,
                Err(e) => {
                    let _ = tx.send(Err(e.into())).await;
                    return;
                }
            };
            // Rows are read in batches: each batch's buyers and lines in two queries.
            let mut batches = stream.chunks(500);
            while let Some(batch) = batches.next().await {
                let rows: Vec<orders::Model> = match batch.into_iter().collect() {
                    Ok(rows) => rows,
                    Err(e) => {
                        let _ = tx.send(Err(Error::from(e))).await;
                        return;
                    }
                };
                match csv_batch(&db, &rows).await {
                    Ok(chunk) => {
                        if tx.send(Ok(chunk)).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                }
            }
        });
        Ok(rx)
    }
}

/// A search's `from` or `to`: a date of the years 1970–9998 (as every console date), if given.
fn search_day(field: &'static str, raw: Option<&str>) -> Result<Option<NaiveDate>> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .filter(|d| (1970..=9998).contains(&chrono::Datelike::year(d)))
        .map(Some)
        .ok_or_else(|| {
            Error::invalid(
                field,
                format!("{field} must be a date, YYYY-MM-DD, from 1970 to 9998"),
            )
        })
}

async fn csv_batch(db: &sea_orm::DatabaseConnection, rows: &[orders::Model]) -> Result<Bytes> {
    use sea_orm::LoaderTrait as _;
    let people: Vec<Uuid> = rows.iter().flat_map(|r| [r.user_id, r.owner()]).collect();
    let names: std::collections::HashMap<Uuid, String> = users::Entity::find()
        .filter(users::Column::Id.is_in(people))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    let lines = rows.load_many(order_lines::Entity, db).await?;
    let mut out = String::with_capacity(rows.len() * 160);
    for (row, lines) in rows.iter().zip(lines) {
        let items = lines
            .iter()
            .map(|l| {
                if l.quantity > 1 {
                    format!("{} x {}", l.quantity, l.name)
                } else {
                    l.name.clone()
                }
            })
            .collect::<Vec<_>>()
            .join("; ");
        let status = OrderStatus::from(row.status);
        let cells = [
            row.id.to_string(),
            row.created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            status.as_str().to_owned(),
            names.get(&row.user_id).cloned().unwrap_or_default(),
            items,
            api_types::format_decimal(row.amount_cents, &row.currency),
            api_types::format_decimal(row.refunded_cents, &row.currency),
            row.currency.clone(),
            if row.is_gift() {
                names.get(&row.owner()).cloned().unwrap_or_default()
            } else {
                String::new()
            },
        ];
        let line = cells
            .iter()
            .map(|c| csv_cell(c))
            .collect::<Vec<_>>()
            .join(",");
        out.push_str(&line);
        out.push_str("\r\n");
    }
    Ok(Bytes::from(out))
}

/// One CSV cell: quoted when it holds a separator, a quote or a line break; prefixed with `'`
/// when a spreadsheet would read it as a formula (`=`, `+`, `-`, `@`, tab, CR).
fn csv_cell(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("Sword"), "Sword");
        assert_eq!(csv_cell("Sword, sharp"), "\"Sword, sharp\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("@cmd"), "'@cmd");
    }
}
