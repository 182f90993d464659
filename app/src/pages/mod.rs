mod account;
pub mod admin;
mod auth;
mod cart;
mod catalog;
pub mod console;
mod item;
mod library;
mod not_found;
mod orders;
mod wishlist;

pub use account::{AccountPage, VerifyEmailPage};
pub use auth::{LoginPage, RegisterPage};
pub use cart::{CartPage, CheckoutPage};
pub use catalog::CatalogPage;
pub use item::ItemPage;
pub use library::LibraryPage;
pub use not_found::NotFound;
pub use orders::{OrderPage, OrdersPage};
pub use wishlist::WishlistPage;

/// Sets the HTTP status of a server-rendered page (no-op in the browser).
pub fn set_status(status: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(options), Ok(code)) = (
        leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
        http::StatusCode::from_u16(status),
    ) {
        options.set_status(code);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = status;
}
