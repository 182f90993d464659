use api_types::CatalogPage;
use leptos::prelude::*;

use crate::error::AppError;

/// One page of the catalog, with the tags available for filtering. Flat optional arguments:
/// an all-default query then encodes as an empty body.
#[server(prefix = "/rpc")]
pub async fn get_catalog(
    q: Option<String>,
    tag: Option<String>,
    min_price: Option<String>,
    max_price: Option<String>,
    sort: Option<String>,
    page: Option<String>,
) -> Result<CatalogPage, AppError> {
    // Leptos 0.8's <Transition> looks at its children twice before rendering them, and a
    // resource that is already loaded builds the whole grid at each look; one yield leaves it
    // pending during the looks. Root cause and measurements: docs/architecture.md, "Why the
    // catalog server function yields once".
    tokio::task::yield_now().await;
    let store = crate::ssr::store()?;
    let raw = api_types::CatalogQuery {
        q,
        tag,
        min_price,
        max_price,
        sort,
        page,
        per_page: None,
    };
    let query = store::catalog::Query::parse(&raw)?;
    let listing = store.catalog().list(&query).await?;
    let tags = store.catalog().tags().await?;
    Ok(CatalogPage {
        items: listing.items.clone(),
        total: listing.total,
        page: query.page,
        per_page: query.per_page,
        tags,
    })
}
