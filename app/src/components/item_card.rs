use api_types::{Item, format_money};
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn ItemCard(item: Item, #[prop(optional)] count: Option<u32>) -> impl IntoView {
    let href = format!("/items/{}", item.id);
    let buy = format!("/items/{}?confirm=1", item.id);
    let price = format_money(item.price_cents, &item.currency);
    let alt = format!("Cover art for {}", item.name);
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
                <div class="card-foot">
                    <span class="price">{price}</span>
                    {match count {
                        Some(n) if item.consumable => view! { <span class="badge count" title="Owned">{format!("×{n}")}</span> }.into_any(),
                        Some(_) => view! { <span class="badge owned">"Owned"</span> }.into_any(),
                        None => view! { <A href=buy attr:class="btn btn-small btn-primary">"Buy"</A> }.into_any(),
                    }}
                </div>
            </div>
        </article>
    }
}
