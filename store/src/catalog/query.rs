//! Catalog queries: validation of the parameters as they arrive, their canonical query string
//! (page links, cache keys), and the SQL they become.

use sea_orm::sea_query::{Expr, ExprTrait as _, Func, LikeExpr};
use sea_orm::{
    ColumnTrait as _, Condition, EntityTrait as _, QueryFilter as _, QueryOrder as _, Select,
};

use api_types::{CatalogQuery, Sort};
use chrono::{DateTime, Utc};

use crate::domain::Tags;
use crate::entity::items;
use crate::{Error, Result};

pub const DEFAULT_PER_PAGE: u32 = 20;
pub const MAX_PER_PAGE: u32 = 100;
const MAX_PAGE: u32 = 100_000;

/// A validated catalog query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Query {
    pub q: Option<String>,
    pub tag: Option<String>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub sort: Sort,
    pub page: u32,
    pub per_page: u32,
}

impl Default for Query {
    fn default() -> Self {
        Self {
            q: None,
            tag: None,
            min_price: None,
            max_price: None,
            sort: Sort::default(),
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

fn present(raw: &Option<String>) -> Option<&str> {
    raw.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn whole<T: std::str::FromStr>(
    raw: &Option<String>,
    field: &'static str,
    what: &str,
) -> Result<Option<T>> {
    present(raw)
        .map(|s| {
            s.parse::<T>()
                .map_err(|_| Error::invalid(field, format!("{field} must be {what}")))
        })
        .transpose()
}

impl Query {
    pub fn parse(raw: &CatalogQuery) -> Result<Self> {
        for (field, value) in [
            ("q", &raw.q),
            ("tag", &raw.tag),
            ("min_price", &raw.min_price),
            ("max_price", &raw.max_price),
            ("sort", &raw.sort),
            ("page", &raw.page),
            ("per_page", &raw.per_page),
        ] {
            if let Some(value) = value {
                crate::domain::check_text(field, value, false)?;
            }
        }
        let q = present(&raw.q).map(str::to_owned);
        if q.as_ref().is_some_and(|q| q.chars().count() > 100) {
            return Err(Error::invalid(
                "q",
                "search text must be at most 100 characters",
            ));
        }
        let tag = present(&raw.tag).map(str::to_ascii_lowercase);
        if let Some(tag) = &tag {
            Tags::check_one(tag).map_err(|_| {
                Error::invalid("tag", "tag must be 1–24 characters of a-z, 0-9 and '-'")
            })?;
        }
        let min_price: Option<i64> = whole(&raw.min_price, "min_price", "a whole number of cents")?;
        let max_price: Option<i64> = whole(&raw.max_price, "max_price", "a whole number of cents")?;
        if min_price.is_some_and(|p| p < 0) {
            return Err(Error::invalid(
                "min_price",
                "min_price must not be negative",
            ));
        }
        if max_price.is_some_and(|p| p < 0) {
            return Err(Error::invalid(
                "max_price",
                "max_price must not be negative",
            ));
        }
        if let (Some(min), Some(max)) = (min_price, max_price)
            && min > max
        {
            return Err(Error::invalid(
                "min_price",
                "min_price must not exceed max_price",
            ));
        }
        let sort = match present(&raw.sort) {
            None => Sort::default(),
            Some(s) => Sort::parse(s).ok_or_else(|| {
                Error::invalid("sort", "sort must be one of name, price, -price, newest")
            })?,
        };
        let page: u32 = whole(&raw.page, "page", "a whole number from 1")?.unwrap_or(1);
        if page == 0 || page > MAX_PAGE {
            return Err(Error::invalid("page", "page must be a whole number from 1"));
        }
        let per_page: u32 = whole(&raw.per_page, "per_page", "a whole number from 1 to 100")?
            .unwrap_or(DEFAULT_PER_PAGE);
        if per_page == 0 || per_page > MAX_PER_PAGE {
            return Err(Error::invalid(
                "per_page",
                "per_page must be between 1 and 100",
            ));
        }
        Ok(Self {
            q,
            tag,
            min_price,
            max_price,
            sort,
            page,
            per_page,
        })
    }

    /// The query string for this query at another page (for `Link` headers and page links),
    /// leaving out defaults so URLs stay short and canonical.
    pub fn to_query_string(&self, page: u32) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(q) = &self.q {
            pairs.push(("q", q.clone()));
        }
        if let Some(tag) = &self.tag {
            pairs.push(("tag", tag.clone()));
        }
        if let Some(p) = self.min_price {
            pairs.push(("min_price", p.to_string()));
        }
        if let Some(p) = self.max_price {
            pairs.push(("max_price", p.to_string()));
        }
        if self.sort != Sort::default() {
            pairs.push(("sort", self.sort.as_str().to_owned()));
        }
        if page != 1 {
            pairs.push(("page", page.to_string()));
        }
        if self.per_page != DEFAULT_PER_PAGE {
            pairs.push(("per_page", self.per_page.to_string()));
        }
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode_component(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    pub fn page_count(&self, total: u64) -> u32 {
        Ord::max(total.div_ceil(u64::from(self.per_page)) as u32, 1)
    }

    pub(super) fn cache_key(&self) -> String {
        format!("list:{}", self.to_query_string(self.page))
    }
}

fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// What an item costs at `now`, in SQL: its sale price while a sale is on, its list price
/// otherwise. Price filters and sorts use it.
fn price_now(now: DateTime<Utc>) -> sea_orm::sea_query::SimpleExpr {
    Expr::case(
        Condition::all()
            .add(items::Column::SalePriceCents.is_not_null())
            .add(items::Column::SaleStartsAt.lte(now))
            .add(items::Column::SaleEndsAt.gt(now)),
        Expr::col((items::Entity, items::Column::SalePriceCents)),
    )
    .finally(Expr::col((items::Entity, items::Column::PriceCents)))
    .into()
}

pub(super) fn filtered(query: &Query, now: DateTime<Utc>) -> Select<items::Entity> {
    let mut select = items::Entity::find().filter(items::Column::Active.eq(true));
    if let Some(q) = &query.q {
        let pattern = format!("%{}%", escape_like(&q.to_lowercase()));
        let like = |col: items::Column| {
            Expr::expr(Func::lower(Expr::col((items::Entity, col))))
                .like(LikeExpr::new(pattern.clone()).escape('\\'))
        };
        select = select.filter(
            Condition::any()
                .add(like(items::Column::Name))
                .add(like(items::Column::Description)),
        );
    }
    if let Some(tag) = &query.tag {
        // Tags are validated to [a-z0-9-], so they need no LIKE escaping.
        select = select.filter(items::Column::Tags.like(format!("%,{tag},%")));
    }
    if let Some(min) = query.min_price {
        select = select.filter(price_now(now).gte(min));
    }
    if let Some(max) = query.max_price {
        select = select.filter(price_now(now).lte(max));
    }
    select
}

pub(super) fn sorted(
    select: Select<items::Entity>,
    sort: Sort,
    now: DateTime<Utc>,
) -> Select<items::Entity> {
    match sort {
        Sort::Name => select
            .order_by_asc(items::Column::Name)
            .order_by_asc(items::Column::Id),
        Sort::Price => select
            .order_by(price_now(now), sea_orm::Order::Asc)
            .order_by_asc(items::Column::Name)
            .order_by_asc(items::Column::Id),
        Sort::PriceDesc => select
            .order_by(price_now(now), sea_orm::Order::Desc)
            .order_by_asc(items::Column::Name)
            .order_by_asc(items::Column::Id),
        Sort::Newest => select
            .order_by_desc(items::Column::CreatedAt)
            .order_by_desc(items::Column::Id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> CatalogQuery {
        let mut r = CatalogQuery::default();
        for (k, v) in pairs {
            let v = Some((*v).to_owned());
            match *k {
                "q" => r.q = v,
                "tag" => r.tag = v,
                "min_price" => r.min_price = v,
                "max_price" => r.max_price = v,
                "sort" => r.sort = v,
                "page" => r.page = v,
                "per_page" => r.per_page = v,
                _ => unreachable!(),
            }
        }
        r
    }

    fn field_of(pairs: &[(&str, &str)]) -> Option<String> {
        Query::parse(&raw(pairs))
            .err()
            .and_then(|e| e.field().map(str::to_owned))
    }

    #[test]
    fn blank_parameters_mean_defaults() {
        let q = Query::parse(&raw(&[("q", " "), ("tag", ""), ("page", "")])).expect("valid");
        assert_eq!(q, Query::default());
    }

    #[test]
    fn invalid_parameters_name_their_field() {
        assert_eq!(field_of(&[("page", "0")]).as_deref(), Some("page"));
        assert_eq!(field_of(&[("page", "x")]).as_deref(), Some("page"));
        assert_eq!(
            field_of(&[("per_page", "101")]).as_deref(),
            Some("per_page")
        );
        assert_eq!(field_of(&[("sort", "cheap")]).as_deref(), Some("sort"));
        assert_eq!(
            field_of(&[("min_price", "-1")]).as_deref(),
            Some("min_price")
        );
        assert_eq!(
            field_of(&[("max_price", "9.99")]).as_deref(),
            Some("max_price")
        );
        assert_eq!(
            field_of(&[("min_price", "500"), ("max_price", "100")]).as_deref(),
            Some("min_price")
        );
        assert_eq!(field_of(&[("tag", "a b")]).as_deref(), Some("tag"));
        assert_eq!(field_of(&[("q", &"x".repeat(101))]).as_deref(), Some("q"));
        assert_eq!(field_of(&[("q", "sword\0")]).as_deref(), Some("q"));
        assert_eq!(field_of(&[("sort", "name\0")]).as_deref(), Some("sort"));
    }

    #[test]
    fn query_strings_are_canonical() {
        let q = Query::parse(&raw(&[
            ("q", "dragon sword"),
            ("sort", "-price"),
            ("per_page", "20"),
        ]))
        .expect("valid");
        assert_eq!(q.to_query_string(1), "q=dragon%20sword&sort=-price");
        assert_eq!(q.to_query_string(3), "q=dragon%20sword&sort=-price&page=3");
        assert_eq!(Query::default().to_query_string(1), "");
    }

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(escape_like("50%_off\\"), "50\\%\\_off\\\\");
    }
}
