//! Operators' pages: items (create, edit, archive) and orders (with payment events, refunds).

use api_types::{AdminOrder, Item, OrderStatus, format_money};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form, Outlet};
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::{
    ArchiveItem, CreatePromo, ImportKeys, RefundOrder, SaveItem, SetPromoActive, admin_items,
    admin_key_pool, admin_promo_codes, admin_search_orders, get_item,
};
use crate::components::notice::{ErrorNotice, Loading, LoginRedirect, encode};
use crate::components::status::StatusBadge;
use crate::error::url_error;
use crate::{AppError, Session};

/// The operators' area: the gate and the sub-navigation. The page itself (`Outlet`) is
/// rendered beside the gate's boundary, not inside it, so its resources are created when the
/// page is (see docs/architecture.md, "Pages"). A customer gets 403 and the gate's notice (the page's own server
/// functions refuse them too, and pages show nothing for a 401/403); an anonymous visitor is
/// sent to log in.
#[component]
pub fn AdminLayout() -> impl IntoView {
    let session = expect_context::<Session>();
    view! {
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match session.user.await {
                    Ok(Some(user)) if user.role == api_types::Role::Admin => view! {
                        <nav class="sub-nav" aria-label="Admin">
                            <A href="/admin" exact=true>"Dashboard"</A>
                            <A href="/admin/orders">"Orders"</A>
                            <A href="/admin/items">"Items"</A>
                            <A href="/admin/items/new">"New item"</A>
                            <A href="/admin/promo-codes">"Promo codes"</A>
                            <A href="/admin/webhooks">"Webhooks"</A>
                            <A href="/admin/audit">"Audit log"</A>
                        </nav>
                    }.into_any(),
                    Ok(Some(_)) => {
                        super::set_status(403);
                        view! { <ErrorNotice error=AppError::new(403, "FORBIDDEN", "This area is for store operators.")/> }.into_any()
                    }
                    _ => view! { <LoginRedirect next=current_path()/> }.into_any(),
                }
            })}
        </Transition>
        <Outlet/>
    }
}

/// The path and query being shown, to come back to after logging in.
fn current_path() -> String {
    let location = leptos_router::hooks::use_location();
    let path = location.pathname.get_untracked();
    let query = location.search.get_untracked();
    if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    }
}

/// What an operator page shows for an error: nothing for 401/403 (the gate above shows the
/// notice, or sends the visitor to log in), the error otherwise.
pub(super) fn page_error(e: AppError) -> AnyView {
    if matches!(e.status, 401 | 403) {
        ().into_any()
    } else {
        view! { <ErrorNotice error=e/> }.into_any()
    }
}

#[component]
pub fn AdminItems() -> impl IntoView {
    let archive = ServerAction::<ArchiveItem>::new();
    let items = Resource::new(move || archive.version().get(), |_| admin_items());
    view! {
        <Title text="Items · Admin"/>
        <div class="row spread"><h1>"Items"</h1><A href="/admin/items/new" attr:class="btn btn-primary">"New item"</A></div>
        {move || archive.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorNotice error=e/> })}
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match items.await {
                    Ok(items) => view! {
                        <table class="table" data-testid="admin-items">
                            <thead><tr><th scope="col">"Name"</th><th scope="col">"SKU"</th><th scope="col">"Price"</th><th scope="col">"Tags"</th><th scope="col">"Stock"</th><th scope="col">"State"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                            <tbody>
                                {items.into_iter().map(|item| view! { <ItemRow item archive/> }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(e) => page_error(e),
                }
            })}
        </Transition>
    }
}

#[component]
fn ItemRow(item: Item, archive: ServerAction<ArchiveItem>) -> impl IntoView {
    view! {
        <tr data-sku=item.sku.clone()>
            <td><A href=format!("/items/{}", item.id)>{item.name.clone()}</A></td>
            <td><code>{item.sku.clone()}</code></td>
            <td>{format_money(item.price_cents, &item.currency)}</td>
            <td>{item.tags.join(", ")}</td>
            <td>{match (item.stock, item.available) {
                (Some(stock), Some(left)) => format!("{left} of {stock}"),
                _ => "unlimited".to_owned(),
            }}</td>
            <td>{if item.active { view! { <span class="badge status-paid">"Active"</span> } } else { view! { <span class="badge status-expired">"Archived"</span> } }}</td>
            <td class="actions">
                <A href=format!("/admin/items/{}", item.id) attr:class="btn btn-small btn-ghost">"Edit"</A>
                {item.active.then(|| view! {
                    <ActionForm action=archive>
                        <input type="hidden" name="id" value=item.id.to_string()/>
                        <button type="submit" class="btn btn-small btn-danger">"Archive"</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}

#[component]
pub fn AdminItemNew() -> impl IntoView {
    view! {
        <Title text="New item · Admin"/>
        <h1>"New item"</h1>
        <ItemForm item=None/>
    }
}

#[component]
pub fn AdminItemEdit() -> impl IntoView {
    let params = use_params_map();
    let item_id =
        Signal::derive(move || params.read().get("id").and_then(|s| s.parse::<i64>().ok()));
    let item = Resource::new(
        move || item_id.get(),
        |id| async move {
            match id {
                Some(id) => get_item(id).await,
                None => Err(AppError::new(404, "NOT_FOUND", "item not found")),
            }
        },
    );
    view! {
        <Title text="Edit item · Admin"/>
        <h1>"Edit item"</h1>
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match item.await {
                    Ok(item) => view! { <ItemForm item=Some(item)/> }.into_any(),
                    Err(e) => page_error(e),
                }
            })}
        </Transition>
        <KeyPoolSection item_id/>
    }
}

/// An item's license keys on its edit page: counts, the newest keys masked, and an import form
/// (paste one key per line or a CSV).
#[component]
fn KeyPoolSection(item_id: Signal<Option<i64>>) -> impl IntoView {
    let import = ServerAction::<ImportKeys>::new();
    let query = use_query_map();
    let pool = Resource::new(
        move || (item_id.get(), import.version().get()),
        |(id, _)| async move {
            match id {
                Some(id) => admin_key_pool(id).await,
                None => Err(AppError::new(404, "NOT_FOUND", "item not found")),
            }
        },
    );
    view! {
        <section class="key-pool" aria-labelledby="keys-heading" data-testid="key-pool">
            <h2 id="keys-heading">"License keys"</h2>
            <p class="muted">"An item with keys sells only while keys remain: one key per unit, handed to the buyer when the order is paid, revoked if it is refunded. Keys are stored encrypted and shown here masked."</p>
            <Transition fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    match pool.await {
                        Ok(pool) => view! {
                            <dl class="facts">
                                <dt>"Available"</dt><dd data-testid="keys-available">{pool.available}</dd>
                                <dt>"Assigned"</dt><dd data-testid="keys-assigned">{pool.assigned}</dd>
                                <dt>"Revoked"</dt><dd data-testid="keys-revoked">{pool.revoked}</dd>
                            </dl>
                            {(!pool.recent.is_empty()).then(|| view! {
                                <table class="table compact">
                                    <caption class="sr-only">"Newest keys, masked"</caption>
                                    <thead><tr><th scope="col">"Key"</th><th scope="col">"Status"</th><th scope="col">"Order"</th><th scope="col">"Added"</th></tr></thead>
                                    <tbody>
                                        {pool.recent.into_iter().map(|k| view! {
                                            <tr>
                                                <td><code>{k.masked}</code></td>
                                                <td>{k.status}</td>
                                                <td>{k.order_id.map(|id| view! { <A href=format!("/orders/{id}")><code>{id.to_string()[..8].to_owned()}</code></A> })}</td>
                                                <td>{api_types::format_minute(&k.added_at)}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            })}
                        }.into_any(),
                        Err(e) => page_error(e),
                    }
                })}
            </Transition>
            {move || url_error::<ImportKeys>(&query.read()).map(|e| view! { <ErrorNotice error=e/> })}
            // The flag a successful import left in the URL; a later failure keeps the URL.
            {move || (url_error::<ImportKeys>(&query.read()).is_none() && query.read().get("keys").as_deref() == Some("added")).then(|| view! {
                <p class="notice notice-paid" role="status" data-testid="keys-added">
                    "Keys added. Any already in the pool were skipped; the counts above include the new ones."
                </p>
            })}
            <ActionForm action=import>
                <input type="hidden" name="item_id" value=move || item_id.get().map(|id| id.to_string()).unwrap_or_default()/>
                <div class="field">
                    <label for="keys-input">"Add keys"</label>
                    <textarea id="keys-input" name="keys" rows="6" spellcheck="false" required
                        aria-describedby="keys-help"></textarea>
                    <p id="keys-help" class="muted">"One key per line, or paste a CSV file: its first column is read and a header row is skipped. Up to 5,000 keys (64 KiB) at a time; a key already in the pool is skipped."</p>
                </div>
                <CsvFilePicker/>
                <button type="submit" class="btn btn-primary" disabled=move || import.pending().get()>
                    {move || if import.pending().get() { "Adding…" } else { "Add keys" }}
                </button>
            </ActionForm>
        </section>
    }
}

#[component]
fn ItemForm(item: Option<Item>) -> impl IntoView {
    let save = ServerAction::<SaveItem>::new();
    let error = move || save.value().get().and_then(Result::err);
    let field = move |name: &'static str| move || error().and_then(|e| e.for_field(name));
    let general = move || error().filter(|e| e.field.is_none());
    let v = item.clone().unwrap_or(Item {
        id: 0,
        sku: String::new(),
        name: String::new(),
        description: String::new(),
        price: 0.0,
        price_cents: 0,
        currency: "USD".to_owned(),
        image: String::new(),
        tags: vec![],
        consumable: false,
        active: true,
        stock: None,
        max_per_user: None,
        available: None,
        sale: None,
        sale_price_cents: None,
        sale_ends_at: None,
        bundle_item_ids: vec![],
        bundle_discount_percent: None,
        owned_item_ids: None,
        price_for_you_cents: None,
        created_at: chrono::DateTime::UNIX_EPOCH,
        updated_at: chrono::DateTime::UNIX_EPOCH,
    });
    let bundle_ids: String = v
        .bundle_item_ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let price = if item.is_some() {
        api_types::format_decimal(v.price_cents, &v.currency)
    } else {
        String::new()
    };
    view! {
        {move || general().map(|e| view! { <ErrorNotice error=e/> })}
        <ActionForm action=save>
            <div class="form-grid" data-testid="item-form">
                {item.as_ref().map(|i| view! { <input type="hidden" name="id" value=i.id.to_string()/> })}
                <div class="field">
                    <label for="sku">"SKU"</label>
                    <input id="sku" name="sku" required value=v.sku.clone() aria-describedby="sku-error" placeholder="dragon-sword"/>
                    <p id="sku-error" class="field-error">{field("sku")}</p>
                </div>
                <div class="field">
                    <label for="name">"Name"</label>
                    <input id="name" name="name" required value=v.name.clone() aria-describedby="name-error"/>
                    <p id="name-error" class="field-error">{field("name")}</p>
                </div>
                <div class="field span-2">
                    <label for="description">"Description"</label>
                    <textarea id="description" name="description" rows="4" aria-describedby="description-error">{v.description.clone()}</textarea>
                    <p id="description-error" class="field-error">{field("description")}</p>
                </div>
                <div class="field">
                    <label for="price">"Price"</label>
                    <input id="price" name="price" inputmode="decimal" required value=price placeholder="9.99" aria-describedby="price-error"/>
                    <p id="price-error" class="field-error">{field("price")}{field("price_cents")}</p>
                </div>
                <div class="field">
                    <label for="currency">"Currency"</label>
                    <select id="currency" name="currency" aria-describedby="currency-error">
                        {api_types::SUPPORTED_CURRENCIES.iter().map(|(code, _)| view! {
                            <option value=*code selected=v.currency == *code>{*code}</option>
                        }).collect_view()}
                    </select>
                    <p id="currency-error" class="field-error">{field("currency")}</p>
                </div>
                <div class="field">
                    <label for="tags">"Tags"</label>
                    <input id="tags" name="tags" value=v.tags.join(", ") placeholder="weapon, fire" aria-describedby="tags-help tags-error"/>
                    <p id="tags-help" class="help">"Comma-separated; a-z, 0-9 and '-'."</p>
                    <p id="tags-error" class="field-error">{field("tags")}</p>
                </div>
                <div class="field">
                    <label for="image">"Image URL"</label>
                    <input id="image" name="image" value=v.image.clone() placeholder="Generated from the SKU if empty" aria-describedby="image-error"/>
                    <p id="image-error" class="field-error">{field("image")}</p>
                </div>
                <div class="field">
                    <label for="stock">"Stock"</label>
                    <input id="stock" name="stock" inputmode="numeric" value=v.stock.map(|n| n.to_string()).unwrap_or_default()
                        placeholder="Unlimited" aria-describedby="stock-help stock-error"/>
                    <p id="stock-help" class="help">{match (v.stock, v.available) {
                        (Some(_), Some(left)) => format!("Units that exist; {left} left to sell. Blank: unlimited."),
                        _ => "Units that exist. Blank: unlimited.".to_owned(),
                    }}</p>
                    <p id="stock-error" class="field-error">{field("stock")}</p>
                </div>
                <div class="field">
                    <label for="max_per_user">"Per customer"</label>
                    <input id="max_per_user" name="max_per_user" inputmode="numeric" value=v.max_per_user.map(|n| n.to_string()).unwrap_or_default()
                        placeholder="No limit" aria-describedby="max-help max-error"/>
                    <p id="max-help" class="help">"Most units one customer may hold. Blank: no limit."</p>
                    <p id="max-error" class="field-error">{field("max_per_user")}</p>
                </div>
                <fieldset class="field span-2 group">
                    <legend>"Timed sale (UTC)"</legend>
                    <div class="form-grid">
                        <div class="field">
                            <label for="sale_percent">"Percent off"</label>
                            <input id="sale_percent" name="sale_percent" inputmode="numeric" placeholder="No sale"
                                value=v.sale.as_ref().map(|s| s.percent_off.to_string()).unwrap_or_default() aria-describedby="sale-error"/>
                        </div>
                        <div class="field">
                            <label for="sale_starts">"Starts"</label>
                            <input id="sale_starts" name="sale_starts" type="datetime-local"
                                value=v.sale.as_ref().map(|s| s.starts_at.format("%Y-%m-%dT%H:%M").to_string()).unwrap_or_default()/>
                        </div>
                        <div class="field">
                            <label for="sale_ends">"Ends"</label>
                            <input id="sale_ends" name="sale_ends" type="datetime-local"
                                value=v.sale.as_ref().map(|s| s.ends_at.format("%Y-%m-%dT%H:%M").to_string()).unwrap_or_default()/>
                        </div>
                    </div>
                    <p id="sale-error" class="field-error">{field("sale")}</p>
                </fieldset>
                <div class="field">
                    <label for="bundle_item_ids">"Bundle of items"</label>
                    <input id="bundle_item_ids" name="bundle_item_ids" placeholder="Item ids, e.g. 1, 2, 3"
                        value=bundle_ids
                        aria-describedby="bundle-help bundle-error"/>
                    <p id="bundle-help" class="help">"2–20 item ids make this a bundle, priced from its items."</p>
                    <p id="bundle-error" class="field-error">{field("bundle_item_ids")}</p>
                </div>
                <div class="field">
                    <label for="bundle_discount_percent">"Bundle discount (%)"</label>
                    <input id="bundle_discount_percent" name="bundle_discount_percent" inputmode="numeric"
                        value=v.bundle_discount_percent.map(|n| n.to_string()).unwrap_or_default() aria-describedby="bundle-pct-error"/>
                    <p id="bundle-pct-error" class="field-error">{field("bundle_discount_percent")}</p>
                </div>
                <div class="field checkbox">
                    <input id="consumable" name="consumable" type="checkbox" value="on" checked=v.consumable/>
                    <label for="consumable">"Consumable (can be bought again)"</label>
                </div>
                {item.is_some().then(|| view! {
                    <div class="field checkbox">
                        <input id="active" name="active" type="checkbox" value="on" checked=v.active/>
                        <label for="active">"Sold in the catalog"</label>
                    </div>
                })}
            </div>
            <div class="row">
                <button type="submit" class="btn btn-primary" disabled=move || save.pending().get()>
                    {move || if save.pending().get() { "Saving…" } else { "Save item" }}
                </button>
                <A href="/admin/items" attr:class="btn btn-ghost">"Cancel"</A>
            </div>
        </ActionForm>
    }
}

/// The search form's fields, as they are in the page's query string.
const SEARCH_FIELDS: [&str; 6] = ["order_id", "username", "item", "status", "from", "to"];

#[component]
pub fn AdminOrders() -> impl IntoView {
    let query = use_query_map();
    let field = move |name: &str| query.read().get(name).filter(|s| !s.is_empty());
    let page = move || {
        field("page")
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(1)
            .max(1)
    };
    let refund = ServerAction::<RefundOrder>::new();
    let orders = Resource::new(
        move || (SEARCH_FIELDS.map(&field), page(), refund.version().get()),
        |([order_id, username, item, status, from, to], page, _)| {
            admin_search_orders(order_id, username, item, status, from, to, Some(page))
        },
    );
    // The search as a query string (without the page), for the page links and the export.
    let search_query = move || {
        let q = query.read();
        SEARCH_FIELDS
            .iter()
            .filter_map(|f| {
                q.get(f)
                    .filter(|v| !v.is_empty())
                    .map(|v| format!("{f}={}", encode(&v)))
            })
            .collect::<Vec<_>>()
            .join("&")
    };
    let value = move |name: &'static str| move || field(name).unwrap_or_default();
    view! {
        <Title text="Orders · Admin"/>
        <div class="row spread">
            <h1>"Orders"</h1>
            <a class="btn btn-ghost" data-testid="orders-csv" download="orders.csv"
                href=move || format!("/api/admin/orders.csv?{}", search_query())>"Export CSV"</a>
        </div>
        <Form method="GET" action="/admin/orders" attr:class="filters" attr:role="search" attr:aria-label="Search orders">
            <div class="field">
                <label for="search-order">"Order id"</label>
                <input id="search-order" name="order_id" value=value("order_id") autocomplete="off" size="36"/>
            </div>
            <div class="field">
                <label for="search-username">"Buyer"</label>
                <input id="search-username" name="username" value=value("username") autocomplete="off"/>
            </div>
            <div class="field">
                <label for="search-item">"Item"</label>
                <input id="search-item" name="item" value=value("item") placeholder="name or id" autocomplete="off"/>
            </div>
            <div class="field">
                <label for="search-status">"Status"</label>
                <select id="search-status" name="status">
                    <option value="" selected=move || field("status").is_none()>"Any"</option>
                    {OrderStatus::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=move || field("status").as_deref() == Some(s.as_str())>{s.as_str()}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="search-from">"From"</label>
                <input id="search-from" name="from" type="date" value=value("from")/>
            </div>
            <div class="field">
                <label for="search-to">"To"</label>
                <input id="search-to" name="to" type="date" value=value("to")/>
            </div>
            <button type="submit" class="btn btn-primary" data-testid="search-orders">"Search"</button>
            <A href="/admin/orders" attr:class="btn btn-ghost">"Clear"</A>
        </Form>
        {move || url_error::<RefundOrder>(&query.read()).map(|e| view! { <ErrorNotice error=e/> })}
        // The flag a successful refund left in the URL; a later failure keeps the URL.
        {move || (url_error::<RefundOrder>(&query.read()).is_none() && query.read().get("refund").as_deref() == Some("asked")).then(|| view! {
            <p class="notice notice-pending" role="status" data-testid="refund-accepted">
                "Refund asked of the payment provider. The order changes when it confirms."
            </p>
        })}
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match orders.await {
                    Ok(found) => {
                        let page = found.page;
                        let base = search_query();
                        let link = move |p: u32| {
                            if base.is_empty() { format!("/admin/orders?page={p}") } else { format!("/admin/orders?{base}&page={p}") }
                        };
                        let pages = (page > 1 || found.has_more).then(|| view! {
                            <nav class="pager" aria-label="Pages">
                                {(page > 1).then(|| view! { <A href=link(page - 1) attr:rel="prev">"← Newer"</A> })}
                                <span aria-current="page">{format!("Page {page}")}</span>
                                {found.has_more.then(|| view! { <A href=link(page + 1) attr:rel="next" attr:data-testid="next-page">"Older →"</A> })}
                            </nav>
                        });
                        if found.orders.is_empty() {
                            view! { <section class="empty" data-testid="no-orders"><p>"No orders match."</p></section> }.into_any()
                        } else {
                            view! {
                                <div class="admin-orders" data-testid="admin-orders">
                                    {found.orders.into_iter().map(|o| view! { <AdminOrderRow order=o refund/> }).collect_view()}
                                </div>
                                {pages}
                            }.into_any()
                        }
                    }
                    Err(e) => page_error(e),
                }
            })}
        </Transition>
    }
}

#[component]
fn AdminOrderRow(order: AdminOrder, refund: ServerAction<RefundOrder>) -> impl IntoView {
    let o = order.order;
    let events = order.events;
    let refunds = order.refunds;
    let refundable = matches!(o.status, OrderStatus::Paid | OrderStatus::PartiallyRefunded);
    view! {
        <details class="admin-order" data-order-id=o.order_id.to_string()>
            <summary>
                <StatusBadge status=o.status/>
                <span class="grow">{o.lines.iter().map(|l| if l.quantity > 1 { format!("{} × {}", l.quantity, l.name) } else { l.name.clone() }).collect::<Vec<_>>().join(", ")}" · "{order.username.clone()}</span>
                <span>{format_money(o.amount_cents, &o.currency)}</span>
                <time class="muted">{api_types::format_minute(&o.created_at)}</time>
            </summary>
            <dl class="facts">
                <dt>"Order"</dt><dd><A href=format!("/orders/{}", o.order_id)><code>{o.order_id.to_string()}</code></A></dd>
                {o.failure_reason.clone().map(|r| view! { <dt>"Reason"</dt><dd>{r}</dd> })}
            </dl>
            <h3>"Payment events"</h3>
            {if events.is_empty() {
                view! { <p class="muted">"None received."</p> }.into_any()
            } else {
                view! {
                    <table class="table compact">
                        <thead><tr><th scope="col">"Received"</th><th scope="col">"Type"</th><th scope="col">"Outcome"</th><th scope="col">"Event id"</th></tr></thead>
                        <tbody>
                            {events.into_iter().map(|e| view! {
                                <tr>
                                    <td>{api_types::format_clock(&e.received_at)}</td>
                                    <td>{e.event_type.clone()}</td>
                                    <td>{e.outcome.clone()}{e.detail.clone().map(|d| view! { <span class="muted">" — "{d}</span> })}</td>
                                    <td><code>{e.event_id.clone()}</code></td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            {(!refunds.is_empty()).then(|| view! {
                <h3>"Refunds"</h3>
                <table class="table compact" data-testid="refunds">
                    <thead><tr><th scope="col">"Asked"</th><th scope="col">"Amount"</th><th scope="col">"Takes back"</th><th scope="col">"Status"</th><th scope="col">"By"</th></tr></thead>
                    <tbody>
                        {refunds.iter().map(|r| {
                            let takes = if r.line_ids.is_empty() {
                                "By amount: nothing revoked".to_owned()
                            } else {
                                o.lines.iter().filter(|l| r.line_ids.contains(&l.line_id)).map(|l| l.name.clone()).collect::<Vec<_>>().join(", ")
                            };
                            view! {
                                <tr data-refund-status=r.status.clone()>
                                    <td>{api_types::format_minute(&r.created_at)}</td>
                                    <td>{format_money(r.amount_cents, &r.currency)}</td>
                                    <td>{takes}{r.reason.clone().map(|why| view! { <span class="muted">" — "{why}</span> })}</td>
                                    <td>{r.status.clone()}{r.detail.clone().map(|d| view! { <span class="muted">" — "{d}</span> })}</td>
                                    <td>{r.initiated_by.clone()}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            {refundable.then(|| {
                let order_id = o.order_id.to_string();
                let version = o.refunded_cents.to_string();
                let line_forms = o.lines.iter().filter(|l| !l.refunded).map(|l| {
                    let (order_id, version) = (order_id.clone(), version.clone());
                    let label = format!("{} · {}", l.name, format_money(l.line_total_cents, &o.currency));
                    let line_id = l.line_id.to_string();
                    let hidden_name = format!(" for {}", l.name);
                    view! {
                        <li>
                            <ActionForm action=refund>
                                <input type="hidden" name="order_id" value=order_id/>
                                <input type="hidden" name="line_id" value=line_id.clone()/>
                                <input type="hidden" name="version" value=version/>
                                <span class="grow">{label}</span>
                                " "
                                <button type="submit" class="btn btn-danger btn-small" data-line-id=line_id>
                                    "Refund this line"<span class="sr-only">{hidden_name}</span>
                                </button>
                            </ActionForm>
                        </li>
                    }
                }).collect_view();
                view! {
                    <h3>"Refund"</h3>
                    <p class="muted">"Refunded so far: "{format_money(o.refunded_cents, &o.currency)}" of "{format_money(o.amount_cents, &o.currency)}". Refunds go through the payment provider; the order changes when it confirms."</p>
                    <ul class="refund-lines" data-testid="refund-lines">{line_forms}</ul>
                    <ActionForm action=refund>
                        <input type="hidden" name="order_id" value=order_id.clone()/>
                        <input type="hidden" name="version" value=version.clone()/>
                        <div class="row">
                            <label for=format!("amount-{}", o.order_id)>"Amount"</label>
                            <input id=format!("amount-{}", o.order_id) name="amount" inputmode="decimal" placeholder="everything left" size="10"
                                aria-describedby=format!("amount-help-{}", o.order_id)/>
                            <label class="sr-only" for=format!("reason-{}", o.order_id)>"Refund reason"</label>
                            <input id=format!("reason-{}", o.order_id) name="reason" placeholder="Reason (optional)" maxlength="500"/>
                            <button type="submit" class="btn btn-danger btn-small">"Refund"</button>
                        </div>
                        <p id=format!("amount-help-{}", o.order_id) class="muted">"Empty: everything not yet refunded (revokes every line). A partial amount revokes nothing."</p>
                    </ActionForm>
                }
            })}
        </details>
    }
}

#[component]
pub fn AdminPromoCodes() -> impl IntoView {
    let create = ServerAction::<CreatePromo>::new();
    let toggle = ServerAction::<SetPromoActive>::new();
    let codes = Resource::new(
        move || (create.version().get(), toggle.version().get()),
        |_| admin_promo_codes(),
    );
    let error = move || create.value().get().and_then(Result::err);
    let field = move |name: &'static str| move || error().and_then(|e| e.for_field(name));
    view! {
        <Title text="Promo codes · Admin"/>
        <h1>"Promo codes"</h1>
        {move || error().filter(|e| e.field.is_none()).map(|e| view! { <ErrorNotice error=e/> })}
        <ActionForm action=create>
            <div class="form-grid" data-testid="promo-form">
                <div class="field">
                    <label for="code">"Code"</label>
                    <input id="code" name="code" required maxlength="32" placeholder="WINTER15" aria-describedby="code-error"/>
                    <p id="code-error" class="field-error">{field("code")}</p>
                </div>
                <div class="field">
                    <label for="kind">"Discount"</label>
                    <select id="kind" name="kind">
                        <option value="percent">"Percent off"</option>
                        <option value="amount">"Amount off (USD)"</option>
                    </select>
                </div>
                <div class="field">
                    <label for="off">"How much"</label>
                    <input id="off" name="off" required inputmode="decimal" placeholder="15" aria-describedby="off-error"/>
                    <p id="off-error" class="field-error">{field("percent_off")}{field("amount_off_cents")}</p>
                </div>
                <div class="field">
                    <label for="max_uses">"Uses in all"</label>
                    <input id="max_uses" name="max_uses" inputmode="numeric" placeholder="Unlimited" aria-describedby="max-uses-error"/>
                    <p id="max-uses-error" class="field-error">{field("max_uses")}</p>
                </div>
                <div class="field">
                    <label for="max_uses_per_user">"Uses per customer"</label>
                    <input id="max_uses_per_user" name="max_uses_per_user" inputmode="numeric" placeholder="Unlimited"/>
                </div>
                <div class="field">
                    <label for="min_subtotal">"Minimum (USD)"</label>
                    <input id="min_subtotal" name="min_subtotal" inputmode="decimal" placeholder="None"/>
                </div>
                <div class="field">
                    <label for="promo-tags">"Only tags"</label>
                    <input id="promo-tags" name="tags" placeholder="Any item"/>
                </div>
                <div class="field">
                    <label for="ends_at">"Ends (UTC)"</label>
                    <input id="ends_at" name="ends_at" type="datetime-local"/>
                </div>
            </div>
            <div class="row">
                <button type="submit" class="btn btn-primary" disabled=move || create.pending().get()>"Create code"</button>
            </div>
        </ActionForm>
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match codes.await {
                    Ok(codes) if codes.is_empty() => view! { <section class="empty"><p>"No promo codes yet."</p></section> }.into_any(),
                    Ok(codes) => view! {
                        <table class="table" data-testid="promo-codes">
                            <thead><tr><th scope="col">"Code"</th><th scope="col">"Discount"</th><th scope="col">"Uses"</th><th scope="col">"State"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                            <tbody>
                                {codes.into_iter().map(|c| {
                                    let off = match (c.percent_off, c.amount_off_cents) {
                                        (Some(p), _) => format!("{p} % off"),
                                        (None, Some(a)) => format!("{} off", format_money(a, &c.currency)),
                                        _ => String::new(),
                                    };
                                    let uses = match c.max_uses {
                                        Some(max) => format!("{} of {max}", c.uses),
                                        None => c.uses.to_string(),
                                    };
                                    let code = c.code.clone();
                                    view! {
                                        <tr>
                                            <td><code>{c.code.clone()}</code></td>
                                            <td>{off}</td>
                                            <td>{uses}</td>
                                            <td>{if c.active { "active" } else { "stopped" }}</td>
                                            <td class="actions">
                                                <ActionForm action=toggle>
                                                    <input type="hidden" name="code" value=code/>
                                                    {(!c.active).then(|| view! { <input type="hidden" name="active" value="on"/> })}
                                                    <button type="submit" class="btn btn-small btn-ghost">{if c.active { "Stop" } else { "Restart" }}</button>
                                                </ActionForm>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(e) => page_error(e),
                }
            })}
        </Transition>
    }
}

/// "Read a CSV file" into the keys box (`#keys-input`): an island, which appears once it has
/// hydrated (reading a file needs JavaScript; without it, the file's contents are pasted).
#[island]
fn CsvFilePicker() -> impl IntoView {
    let (ready, set_ready) = signal(false);
    Effect::new(move |_| set_ready.set(true));
    move || {
        ready.get().then(|| {
            view! {
                <div class="field">
                    <label for="keys-file">"Or read a CSV file"</label>
                    <input id="keys-file" type="file" accept=".csv,.txt,text/csv,text/plain"
                        data-testid="keys-file" on:change=read_file_into_keys/>
                </div>
            }
        })
    }
}

fn read_file_into_keys(ev: leptos::ev::Event) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast as _;
        let Some(file) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            .and_then(|input| input.files())
            .and_then(|files| files.get(0))
        else {
            return;
        };
        leptos::task::spawn_local(async move {
            let keys = document()
                .get_element_by_id("keys-input")
                .and_then(|e| e.dyn_into::<web_sys::HtmlTextAreaElement>().ok());
            if let Ok(text) = wasm_bindgen_futures::JsFuture::from(file.text()).await
                && let Some(text) = text.as_string()
                && let Some(keys) = keys
            {
                keys.set_value(&text);
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}
