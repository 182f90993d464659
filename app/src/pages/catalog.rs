use api_types::{CatalogPage as Page, CatalogQuery, Sort, format_money};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::use_query_map;

use crate::api::get_catalog;
use crate::components::item_card::ItemCard;
use crate::components::notice::{ErrorNotice, Loading, encode};

/// Price bounds offered in the filters, in cents.
const PRICE_STEPS: [i64; 6] = [1000, 5000, 10000, 25000, 50000, 100000];

#[component]
pub fn CatalogPage() -> impl IntoView {
    let query = use_query_map();
    let params = move || {
        let q = query.read();
        let get = |k: &str| q.get(k).filter(|v| !v.trim().is_empty());
        CatalogQuery {
            q: get("q"),
            tag: get("tag"),
            min_price: get("min_price"),
            max_price: get("max_price"),
            sort: get("sort"),
            page: get("page"),
            per_page: None,
        }
    };
    let catalog = Resource::new(params, |p| {
        get_catalog(p.q, p.tag, p.min_price, p.max_price, p.sort, p.page)
    });

    view! {
        <Title text=""/>
        <section class="hero">
            <h1>"Gear up for your next adventure"</h1>
            <p class="muted">"Weapons, armour, potions and companions — delivered to your library the moment your payment clears."</p>
        </section>
        <Filters params=Signal::derive(params)/>
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match catalog.await {
                    Ok(page) => view! { <Results page params=params()/> }.into_any(),
                    Err(e) => {
                        super::set_status(e.status.max(400));
                        view! {
                            <ErrorNotice error=e/>
                            <p><A href="/">"Reset the filters"</A></p>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// Submits the filter form as soon as a choice changes (after hydration; without JavaScript
/// the Apply button does it).
#[component]
fn Filters(params: Signal<CatalogQuery>) -> impl IntoView {
    let p = move || params.get();
    view! {
        <Form method="GET" action="/">
            <div class="filters" role="search">
                <div class="field grow">
                    <label for="q">"Search"</label>
                    <input id="q" type="search" name="q" placeholder="Sword, potion, dragon…" maxlength="100"
                        value=move || p().q.unwrap_or_default()/>
                </div>
                <div class="field">
                    <label for="sort">"Sort by"</label>
                    <select id="sort" name="sort" data-submit-on-change="">
                        {Sort::ALL.into_iter().map(|s| {
                            let value = s.as_str();
                            view! {
                                <option value=value selected=move || p().sort.as_deref().unwrap_or("name") == value>{s.label()}</option>
                            }
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="min_price">"Min price"</label>
                    <select id="min_price" name="min_price" data-submit-on-change="">
                        <option value="">"Any"</option>
                        {PRICE_STEPS.iter().map(|cents| {
                            let value = cents.to_string();
                            let v = value.clone();
                            view! { <option value=value selected=move || p().min_price.as_deref() == Some(v.as_str())>{format_money(*cents, "USD")}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="max_price">"Max price"</label>
                    <select id="max_price" name="max_price" data-submit-on-change="">
                        <option value="">"Any"</option>
                        {PRICE_STEPS.iter().map(|cents| {
                            let value = cents.to_string();
                            let v = value.clone();
                            view! { <option value=value selected=move || p().max_price.as_deref() == Some(v.as_str())>{format_money(*cents, "USD")}</option> }
                        }).collect_view()}
                    </select>
                </div>
                {move || p().tag.map(|tag| view! { <input type="hidden" name="tag" value=tag/> })}
                <div class="field actions">
                    <button type="submit" class="btn btn-primary">"Apply"</button>
                </div>
            </div>
        </Form>
    }
}

/// A link to the catalog with `params`, changing one parameter (and going back to page 1).
fn href_with(params: &CatalogQuery, key: &str, value: Option<&str>) -> String {
    let mut p = params.clone();
    p.page = None;
    let slot = match key {
        "q" => &mut p.q,
        "tag" => &mut p.tag,
        "min_price" => &mut p.min_price,
        "max_price" => &mut p.max_price,
        "sort" => &mut p.sort,
        _ => &mut p.page,
    };
    *slot = value.map(str::to_owned);
    href(&p)
}

fn href(p: &CatalogQuery) -> String {
    let pairs = [
        ("q", &p.q),
        ("tag", &p.tag),
        ("min_price", &p.min_price),
        ("max_price", &p.max_price),
        ("sort", &p.sort),
        ("page", &p.page),
    ];
    let query: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v))))
        .collect();
    if query.is_empty() {
        "/".to_owned()
    } else {
        format!("/?{}", query.join("&"))
    }
}

#[component]
fn Results(page: Page, params: CatalogQuery) -> impl IntoView {
    let filtered = params.q.is_some()
        || params.tag.is_some()
        || params.min_price.is_some()
        || params.max_price.is_some();
    let pages = page.page_count();
    let tags = page.tags.clone();
    let active_tag = params.tag.clone();
    let summary = match page.total {
        0 => "No items".to_owned(),
        1 => "1 item".to_owned(),
        n => format!("{n} items"),
    };
    view! {
        <nav class="tag-bar" aria-label="Filter by tag">
            <A href=href_with(&params, "tag", None) attr:class=if active_tag.is_none() { "chip active" } else { "chip" }>"All"</A>
            {tags.into_iter().map(|tag| {
                let active = active_tag.as_deref() == Some(tag.as_str());
                view! {
                    <A href=href_with(&params, "tag", Some(&tag)) attr:class=if active { "chip active" } else { "chip" }
                        attr:aria-current=active.then_some("true")>{tag.clone()}</A>
                }
            }).collect_view()}
        </nav>
        <p class="result-summary muted" data-testid="result-count">{summary}
            {(pages > 1).then(|| format!(" · page {} of {pages}", page.page))}
        </p>
        {if page.items.is_empty() {
            view! {
                <section class="empty" data-testid="empty-state">
                    {if filtered {
                        view! {
                            <h2>"No items match"</h2>
                            <p>"Try another search or fewer filters."</p>
                            <A href="/" attr:class="btn btn-primary">"Clear filters"</A>
                        }.into_any()
                    } else {
                        view! {
                            <h2>"The catalog is empty"</h2>
                            <p>"Check back soon: new items are on their way."</p>
                        }.into_any()
                    }}
                </section>
            }.into_any()
        } else {
            view! {
                <h2 class="sr-only">"Items"</h2>
                <div class="grid" data-testid="catalog-grid">
                    {page.items.into_iter().map(|item| view! { <ItemCard item/> }).collect_view()}
                </div>
            }.into_any()
        }}
        {(pages > 1).then(|| view! { <Pager current=page.page pages params/> })}
    }
}

#[component]
fn Pager(current: u32, pages: u32, params: CatalogQuery) -> impl IntoView {
    let link = move |n: u32| {
        let mut p = params.clone();
        p.page = (n > 1).then(|| n.to_string());
        href(&p)
    };
    view! {
        <nav class="pager" aria-label="Pages">
            {(current > 1).then(|| view! { <A href=link(current - 1) attr:rel="prev" attr:class="btn btn-ghost">"← Previous"</A> })}
            <ol>
                {(1..=pages).map(|n| view! {
                    <li>
                        <A href=link(n) attr:class=if n == current { "page active" } else { "page" }
                            attr:aria-current=(n == current).then_some("page")>{n.to_string()}</A>
                    </li>
                }).collect_view()}
            </ol>
            {(current < pages).then(|| view! { <A href=link(current + 1) attr:rel="next" attr:class="btn btn-ghost">"Next →"</A> })}
        </nav>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_other_filters_and_reset_the_page() {
        let p = CatalogQuery {
            q: Some("dragon sword".into()),
            sort: Some("-price".into()),
            page: Some("3".into()),
            ..Default::default()
        };
        assert_eq!(
            href_with(&p, "tag", Some("fire")),
            "/?q=dragon%20sword&tag=fire&sort=-price"
        );
        assert_eq!(href(&CatalogQuery::default()), "/");
    }
}
