use api_types::{Item, format_money};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::Session;
use crate::api::{Buy, get_item, is_wished};
use crate::components::item_card::{AddToCartButton, PriceTag, StockNote, WishButton};
use crate::components::notice::{ErrorNotice, Loading, encode};

#[component]
pub fn ItemPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok());
    let confirming = move || query.read().get("confirm").is_some_and(|v| v == "1");
    // The wishlist heart's state comes with the item: a resource created inside the item's
    // Suspend would not reach the browser with the page, and hydration would not match.
    let item = Resource::new(id, |id| async move {
        match id {
            Some(id) => {
                let item = get_item(id).await?;
                let wished = is_wished(id).await.unwrap_or(false);
                Ok((item, wished))
            }
            None => Err(crate::AppError::new(404, "NOT_FOUND", "item not found")),
        }
    });
    let session = expect_context::<Session>();
    view! {
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                // Who is looking is awaited with the item, in this one boundary: a boundary
                // nested inside it would take its hydration id at a different moment on the
                // server and in the browser.
                let logged_in = matches!(session.user.await, Ok(Some(_)));
                match item.await {
                    Ok((item, wished)) => view! { <ItemDetail item wished logged_in confirming=Signal::derive(confirming)/> }.into_any(),
                    Err(e) => {
                        super::set_status(e.status.max(400));
                        view! { <Title text="Not found"/><ErrorNotice error=e/><p><A href="/">"Back to the catalog"</A></p> }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn ItemDetail(
    item: Item,
    wished: bool,
    logged_in: bool,
    confirming: Signal<bool>,
) -> impl IntoView {
    // A bundle is priced for the shopper: only what they do not own yet.
    let price = format_money(
        item.price_for_you_cents.unwrap_or(item.price_now_cents()),
        &item.currency,
    );
    let item_id = item.id;
    let alt = format!("Cover art for {}", item.name);
    view! {
        <Title text=item.name.clone()/>
        <Meta name="description" content=item.description.clone()/>
        <nav class="breadcrumbs" aria-label="Breadcrumb"><A href="/">"Catalog"</A>" / "<span>{item.name.clone()}</span></nav>
        <article class="item-detail" data-testid="item-detail">
            <img class="cover" src=item.image.clone() alt=alt width="400" height="300"/>
            <div class="item-info">
                <h1>{item.name.clone()}</h1>
                <p class="price big" data-testid="item-price"><PriceTag item=item.clone()/></p>
                <WishButton item_id wished/>
                <BundleNote item=item.clone()/>
                <ul class="tags" aria-label="Tags">
                    {item.tags.clone().into_iter().map(|t| view! { <li class="tag"><A href=format!("/?tag={t}")>{t}</A></li> }).collect_view()}
                    {item.consumable.then(|| view! { <li class="tag tag-consumable">"consumable"</li> })}
                </ul>
                <p class="description">{item.description.clone()}</p>
                <StockNote item=item.clone()/>
                {if !item.active {
                    view! { <p class="notice notice-info">"This item is no longer sold."</p> }.into_any()
                } else if item.sold_out() {
                    view! { <p class="notice notice-info" data-testid="sold-out">"Sold out: none left for now."</p> }.into_any()
                } else {
                    view! { <BuyBox item=item.clone() price logged_in confirming/> }.into_any()
                }}
            </div>
        </article>
    }
}

#[component]
fn BuyBox(item: Item, price: String, logged_in: bool, confirming: Signal<bool>) -> impl IntoView {
    let here = format!("/items/{}", item.id);
    let confirm_href = format!("{here}?confirm=1");
    if !logged_in {
        let login_href = format!("/login?next={}", encode(&confirm_href));
        return view! {
            <div class="buy-box">
                <A href=login_href attr:class="btn btn-primary btn-large">"Log in to buy"</A>
            </div>
        }
        .into_any();
    }
    let buy = ServerAction::<Buy>::new();
    // One key per rendered confirmation: a double submit returns the same order.
    let key = uuid::Uuid::new_v4().to_string();
    let item_id = item.id;
    let name = item.name.clone();
    view! {
        <div class="buy-box">
            {move || if confirming.get() {
                let (key, here) = (key.clone(), here.clone());
                view! {
                    <section class="confirm" aria-labelledby="confirm-title" data-testid="confirm-purchase">
                        <h2 id="confirm-title">"Confirm your purchase"</h2>
                        <p>{format!("Buy {name} for {price}? Your payment is confirmed in a few seconds.")}</p>
                        {move || buy.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorNotice error=e/> })}
                        <ActionForm action=buy>
                            <input type="hidden" name="item_id" value=item_id.to_string()/>
                            <input type="hidden" name="idempotency_key" value=key/>
                            <div class="row">
                                <button type="submit" class="btn btn-primary" data-testid="confirm-buy"
                                    disabled=move || buy.pending().get()>
                                    {move || if buy.pending().get() { "Placing order…" } else { "Confirm purchase" }}
                                </button>
                                <A href=here attr:class="btn btn-ghost">"Cancel"</A>
                            </div>
                        </ActionForm>
                    </section>
                }.into_any()
            } else {
                view! {
                    <div class="row">
                        <A href=confirm_href.clone() attr:class="btn btn-primary btn-large" attr:data-testid="buy-button">
                            {format!("Buy now for {price}")}
                        </A>
                        <AddToCartButton item_id large=true/>
                    </div>
                }.into_any()
            }}
        </div>
    }
    .into_any()
}

/// What a bundle holds and, for a logged-in shopper, what completing the set costs them.
#[component]
fn BundleNote(item: Item) -> impl IntoView {
    (!item.bundle_item_ids.is_empty()).then(|| {
        let owned = item.owned_item_ids.clone().unwrap_or_default();
        let count = item.bundle_item_ids.len();
        let percent = item.bundle_discount_percent.unwrap_or(0);
        view! {
            <section class="bundle" data-testid="bundle">
                <h2>{format!("Bundle of {count} items, {percent} % off")}</h2>
                <ul>
                    {item.bundle_item_ids.iter().map(|id| {
                        let have = owned.contains(id);
                        view! {
                            <li>
                                <A href=format!("/items/{id}")>{format!("Item {id}")}</A>
                                {have.then(|| view! { " "<span class="badge owned">"Owned"</span> })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
                {item.price_for_you_cents.map(|p| view! {
                    <p data-testid="price-for-you">{format!("Complete the set for {}", format_money(p, &item.currency))}</p>
                })}
            </section>
        }
    })
}
