use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::{SetWish, my_wishlist};
use crate::components::item_card::ItemCard;
use crate::components::notice::{ErrorNotice, Loading, LoginRedirect};

#[component]
pub fn WishlistPage() -> impl IntoView {
    let remove = ServerAction::<SetWish>::new();
    let list = Resource::new(move || remove.version().get(), |_| my_wishlist());
    view! {
        <Title text="Your wishlist"/>
        <h1>"Your wishlist"</h1>
        <p class="muted">"We tell you here, live, when something on it goes on sale or is back in stock."</p>
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(items) if items.is_empty() => view! {
                        <section class="empty" data-testid="empty-wishlist">
                            <h2>"Nothing on your wishlist yet"</h2>
                            <p>"Tap the heart on anything you would like."</p>
                            <A href="/" attr:class="btn btn-primary">"Browse the catalog"</A>
                        </section>
                    }.into_any(),
                    Ok(items) => view! {
                        <div class="grid" data-testid="wishlist-grid">
                            {items.into_iter().map(|item| {
                                let id = item.id;
                                view! {
                                    <div class="wished">
                                        <ItemCard item/>
                                        <ActionForm action=remove>
                                            <input type="hidden" name="item_id" value=id.to_string()/>
                                            <button type="submit" class="btn btn-small btn-ghost">"Remove from wishlist"</button>
                                        </ActionForm>
                                    </div>
                                }
                            }).collect_view()}
                        </div>
                    }.into_any(),
                    Err(e) if e.is_unauthenticated() => view! { <LoginRedirect next="/wishlist"/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}
