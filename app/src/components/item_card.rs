use api_types::{Item, format_money};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{AddToCart, SetWish};
use crate::components::copy::CopyButton;

#[component]
pub fn ItemCard(
    item: Item,
    #[prop(optional)] count: Option<u32>,
    /// License keys the owner holds for the item (the library).
    #[prop(optional)]
    keys: Vec<String>,
) -> impl IntoView {
    let href = format!("/items/{}", item.id);
    let buy = format!("/items/{}?confirm=1", item.id);
    let price = view! { <PriceTag item=item.clone()/> };
    let alt = format!("Cover art for {}", item.name);
    let sold_out = item.sold_out();
    let stock = view! { <StockNote item=item.clone()/> };
    let (id, consumable) = (item.id, item.consumable);
    let key_owner = format!("the key for {}", item.name);
    view! {
        <article class="card" data-testid="item-card" data-sku=item.sku.clone()>
            <A href=href.clone() attr:class="card-media">
                <img src=item.image.clone() alt=alt width="400" height="300" loading="lazy"/>
            </A>
            <div class="card-body">
                <h3 class="card-title"><A href=href>{item.name.clone()}</A></h3>
                <ul class="tags" aria-label="Tags">
                    {item.tags.iter().take(3).map(|t| view! { <li class="tag">{t.clone()}</li> }).collect_view()}
                </ul>
                {stock}
                <div class="card-foot">
                    {price}
                    {match count {
                        Some(n) if consumable => view! { <span class="badge count" title="Owned">{format!("×{n}")}</span> }.into_any(),
                        Some(_) => view! { <span class="badge owned">"Owned"</span> }.into_any(),
                        None if sold_out => view! { <span class="badge sold-out">"Sold out"</span> }.into_any(),
                        None => view! {
                            <span class="card-actions">
                                <WishButton item_id=id wished=false/>
                                <A href=buy attr:class="btn btn-small btn-ghost">"Buy now"</A>
                                <AddToCartButton item_id=id large=false/>
                            </span>
                        }.into_any(),
                    }}
                </div>
                {(!keys.is_empty()).then(|| {
                    let label = if keys.len() == 1 { "Your license key" } else { "Your license keys" };
                    view! {
                        <div class="license-keys" data-testid="license-keys">
                            <p class="muted">{label}</p>
                            <ul>
                                {keys.into_iter().map(|key| view! {
                                    <li>
                                        <code class="license-key" data-testid="license-key">{key.clone()}</code>
                                        <CopyButton text=key label=key_owner.clone()/>
                                    </li>
                                }).collect_view()}
                            </ul>
                        </div>
                    }
                })}
            </div>
        </article>
    }
}

/// "Only 3 left" when the stock is limited and running low, "Sold out" when it is gone.
#[component]
pub fn StockNote(item: Item) -> impl IntoView {
    match item.available {
        Some(0) => {
            Some(view! { <p class="stock stock-out" data-testid="stock">"Sold out"</p> }.into_any())
        }
        Some(n) if n <= 10 => Some(
            view! { <p class="stock stock-low" data-testid="stock">{format!("Only {n} left")}</p> }
                .into_any(),
        ),
        _ => None,
    }
}

/// A one-button form that puts the item in the cart and opens the cart (a shopper who is not
/// logged in is sent to log in first).
#[component]
pub fn AddToCartButton(item_id: i64, large: bool) -> impl IntoView {
    let add = ServerAction::<AddToCart>::new();
    let class = if large {
        "btn btn-ghost btn-large"
    } else {
        "btn btn-small btn-primary"
    };
    view! {
        <ActionForm action=add>
            <input type="hidden" name="item_id" value=item_id.to_string()/>
            <button type="submit" class=class data-testid="add-to-cart" disabled=move || add.pending().get()>
                "Add to cart"
            </button>
        </ActionForm>
    }
}

/// The price in force: while a sale is on, the list price struck through beside the sale price
/// and when the sale ends.
#[component]
pub fn PriceTag(item: Item) -> impl IntoView {
    let list = format_money(item.price_cents, &item.currency);
    match (item.sale_price_cents, item.sale_ends_at) {
        (Some(sale), Some(ends)) => view! {
            <span class="price-tag" data-testid="price">
                <s class="was" aria-label=format!("was {list}")>{list.clone()}</s>
                " "<span class="price sale" data-testid="sale-price">{format_money(sale, &item.currency)}</span>
                " "<time class="sale-ends" datetime=ends.to_rfc3339()>{format!("Sale ends in {}", remaining(ends))}</time>
            </span>
        }
        .into_any(),
        _ => view! { <span class="price" data-testid="price">{list}</span> }.into_any(),
    }
}

/// "2 days", "5 h 10 min", "3 min": how long until `at`.
fn remaining(at: chrono::DateTime<chrono::Utc>) -> String {
    let minutes = (at - chrono::Utc::now()).num_minutes().max(1);
    match minutes {
        m if m >= 48 * 60 => format!("{} days", m / (24 * 60)),
        m if m >= 60 => format!("{} h {} min", m / 60, m % 60),
        m => format!("{m} min"),
    }
}

/// A heart that puts the item on the wishlist (or, `wished`, takes it off).
#[component]
pub fn WishButton(item_id: i64, wished: bool) -> impl IntoView {
    let set = ServerAction::<SetWish>::new();
    let on = move || set.value().get().and_then(Result::ok).unwrap_or(wished);
    view! {
        <ActionForm action=set attr:class="wish-form">
            <input type="hidden" name="item_id" value=item_id.to_string()/>
            {move || (!on()).then(|| view! { <input type="hidden" name="wish" value="on"/> })}
            <button type="submit" class="btn btn-small btn-ghost wish" data-testid="wish"
                aria-pressed=move || on().to_string()
                aria-label=move || if on() { "Remove from wishlist" } else { "Add to wishlist" }>
                {move || if on() { "♥" } else { "♡" }}
            </button>
        </ActionForm>
    }
}
