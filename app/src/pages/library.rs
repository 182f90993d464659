use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::my_library;
use crate::components::item_card::ItemCard;
use crate::components::notice::{ErrorNotice, Loading, LoginRedirect};
use crate::live::{LiveRegion, Region};

#[component]
pub fn LibraryPage() -> impl IntoView {
    let library = Resource::new(|| (), |_| my_library());
    view! {
        <Title text="Your library"/>
        <h1>"Your library"</h1>
        <LiveRegion id="live-library" region=Region::Orders>
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match library.await {
                    Ok(entries) if entries.is_empty() => view! {
                        <section class="empty" data-testid="empty-state">
                            <h2>"Your library is empty"</h2>
                            <p>"Items you buy appear here as soon as the payment is confirmed."</p>
                            <A href="/" attr:class="btn btn-primary">"Browse the catalog"</A>
                        </section>
                    }.into_any(),
                    Ok(entries) => view! {
                        <div class="grid" data-testid="library-grid">
                            {entries.into_iter().map(|e| view! { <ItemCard item=e.item count=e.count keys=e.keys/> }).collect_view()}
                        </div>
                    }.into_any(),
                    Err(e) if e.is_unauthenticated() => view! { <LoginRedirect next="/library"/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Transition>
        </LiveRegion>
    }
}
