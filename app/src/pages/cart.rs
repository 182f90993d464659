//! The cart and the checkout: every line with a quantity stepper, totals, warnings about what
//! changed, and placing the order. Plain forms, so all of it works with JavaScript off.

use api_types::{Cart, CartLine, format_money};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::{ApplyPromo, Checkout, SetCartLine, my_cart};
use crate::components::notice::{ErrorNotice, Loading, LoginRedirect};
use crate::live::{LiveRegion, Region};

#[component]
pub fn CartPage() -> impl IntoView {
    let set_line = ServerAction::<SetCartLine>::new();
    let promo = ServerAction::<ApplyPromo>::new();
    let cart = Resource::new(
        move || (set_line.version().get(), promo.version().get()),
        |_| my_cart(),
    );
    view! {
        <Title text="Your cart"/>
        <h1>"Your cart"</h1>
        {move || set_line.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorNotice error=e/> })}
        <LiveRegion id="live-cart" region=Region::Cart>
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match cart.await {
                    Ok(cart) if cart.lines.is_empty() => view! {
                        <Warnings cart=cart.clone()/>
                        <section class="empty" data-testid="empty-cart">
                            <h2>"Your cart is empty"</h2>
                            <p>"Add items from the catalog, then check them out together."</p>
                            <A href="/" attr:class="btn btn-primary">"Browse the catalog"</A>
                        </section>
                    }.into_any(),
                    Ok(cart) => view! {
                        <Warnings cart=cart.clone()/>
                        <CartTable cart=cart.clone() set_line=Some(set_line)/>
                        <PromoForm cart=cart.clone() promo/>
                        <div class="row spread">
                            <A href="/" attr:class="btn btn-ghost">"Keep shopping"</A>
                            <A href="/checkout" attr:class="btn btn-primary btn-large" attr:data-testid="to-checkout">"Check out"</A>
                        </div>
                    }.into_any(),
                    Err(e) if e.is_unauthenticated() => view! { <LoginRedirect next="/cart"/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Transition>
        </LiveRegion>
    }
}

#[component]
pub fn CheckoutPage() -> impl IntoView {
    let checkout = ServerAction::<Checkout>::new();
    let cart = Resource::new(|| (), |_| my_cart());
    // One key per rendered checkout: a double submit places one order.
    let key = uuid::Uuid::new_v4().to_string();
    view! {
        <Title text="Checkout"/>
        <nav class="breadcrumbs" aria-label="Breadcrumb"><A href="/cart">"Cart"</A>" / "<span>"Checkout"</span></nav>
        <h1>"Checkout"</h1>
        {move || checkout.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorNotice error=e/> })}
        <Transition fallback=|| view! { <Loading/> }>
            {move || {
                let key = key.clone();
                Suspend::new(async move {
                    match cart.await {
                        Ok(cart) if cart.lines.is_empty() => view! {
                            <Warnings cart=cart.clone()/>
                            <section class="empty" data-testid="empty-cart">
                                <h2>"Nothing to check out"</h2>
                                <p>"Your cart is empty."</p>
                                <A href="/" attr:class="btn btn-primary">"Browse the catalog"</A>
                            </section>
                        }.into_any(),
                        Ok(cart) => {
                            let total = format_money(cart.total_cents, &cart.currency);
                            view! {
                                <Warnings cart=cart.clone()/>
                                <CartTable cart=cart.clone() set_line=None/>
                                <ActionForm action=checkout>
                                    <input type="hidden" name="idempotency_key" value=key/>
                                    <details class="gift-box" data-testid="gift-box">
                                        <summary>"This is a gift"</summary>
                                        <div class="field">
                                            <label for="gift-to">"Send to (username)"</label>
                                            <input id="gift-to" name="gift_to" autocomplete="off" maxlength="32"
                                                aria-describedby="gift-help"/>
                                        </div>
                                        <div class="field">
                                            <label for="gift-message">"Message (optional)"</label>
                                            <textarea id="gift-message" name="gift_message" rows="2" maxlength="200"></textarea>
                                        </div>
                                        <p id="gift-help" class="muted">"The items go to their library, not yours, and they are told when the payment is confirmed. Leave empty to buy for yourself."</p>
                                    </details>
                                    <div class="row spread">
                                        <A href="/cart" attr:class="btn btn-ghost">"Change the cart"</A>
                                        <button type="submit" class="btn btn-primary btn-large" data-testid="place-order"
                                            disabled=move || checkout.pending().get()>
                                            {move || if checkout.pending().get() { "Placing order…".to_owned() } else { format!("Place order · {total}") }}
                                        </button>
                                    </div>
                                </ActionForm>
                                <p class="muted">"Your payment is confirmed in a few seconds; the order page updates by itself."</p>
                            }.into_any()
                        }
                        Err(e) if e.is_unauthenticated() => view! { <LoginRedirect next="/checkout"/> }.into_any(),
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// A promo code: the one applied (with a button to take it off), or a field to enter one.
#[component]
fn PromoForm(cart: Cart, promo: ServerAction<ApplyPromo>) -> impl IntoView {
    let error = move || promo.value().get().and_then(Result::err);
    view! {
        <ActionForm action=promo attr:class="promo-form">
            {match cart.promo_code.clone() {
                Some(code) => view! {
                    <p class="row">
                        <span data-testid="promo-applied">{format!("Promo code {code} applied")}</span>
                        <input type="hidden" name="code" value=""/>
                        <button type="submit" class="btn btn-small btn-ghost">"Remove code"</button>
                    </p>
                }.into_any(),
                None => view! {
                    <div class="row">
                        <label for="promo-code">"Promo code"</label>
                        <input id="promo-code" name="code" autocomplete="off" maxlength="32" aria-describedby="promo-error"/>
                        <button type="submit" class="btn btn-ghost" data-testid="apply-promo">"Apply"</button>
                    </div>
                }.into_any(),
            }}
            <p id="promo-error" class="field-error" role="alert">{move || error().map(|e| e.message)}</p>
        </ActionForm>
    }
}

/// What changed in the cart since it was last read.
#[component]
fn Warnings(cart: Cart) -> impl IntoView {
    (!cart.warnings.is_empty()).then(|| {
        view! {
            <div class="notice notice-info" role="status" data-testid="cart-warnings">
                <ul>
                    {cart.warnings.into_iter().map(|w| view! { <li>{w.message}</li> }).collect_view()}
                </ul>
            </div>
        }
    })
}

/// The lines and totals; with `set_line`, each line has a quantity stepper and a remove button.
#[component]
fn CartTable(cart: Cart, set_line: Option<ServerAction<SetCartLine>>) -> impl IntoView {
    let currency = cart.currency.clone();
    view! {
        <table class="table cart" data-testid="cart-lines">
            <thead><tr>
                <th scope="col">"Item"</th>
                <th scope="col">"Price"</th>
                <th scope="col">"Quantity"</th>
                <th scope="col" class="num">"Total"</th>
            </tr></thead>
            <tbody>
                {cart.lines.into_iter().map(|line| {
                    let currency = currency.clone();
                    view! { <Line line currency set_line/> }
                }).collect_view()}
            </tbody>
            <tfoot>
                {(cart.discount_cents > 0).then(|| view! {
                    <tr><th scope="row" colspan="3">"Discount"</th><td class="num">{format!("−{}", format_money(cart.discount_cents, &cart.currency))}</td></tr>
                })}
                <tr><th scope="row" colspan="3">"Total"</th><td class="num" data-testid="cart-total">{format_money(cart.total_cents, &cart.currency)}</td></tr>
            </tfoot>
        </table>
    }
}

#[component]
fn Line(
    line: CartLine,
    currency: String,
    set_line: Option<ServerAction<SetCartLine>>,
) -> impl IntoView {
    let quantity = line.quantity;
    let id = line.item_id.to_string();
    let name = line.name.clone();
    let can_add = line.consumable
        && line.available.is_none_or(|left| left > i64::from(quantity))
        && quantity < 99;
    view! {
        <tr data-item-id=id.clone()>
            <td><A href=format!("/items/{}", line.item_id)>{line.name.clone()}</A></td>
            <td>{format_money(line.unit_price_cents, &currency)}
                {(line.discount_cents > 0).then(|| view! { <span class="muted discount">{format!(" (−{})", format_money(line.discount_cents, &currency))}</span> })}
            </td>
            <td>
                {match set_line {
                    None => view! { <span data-testid="line-quantity">{quantity}</span> }.into_any(),
                    Some(action) => view! {
                        <div class="stepper">
                            <Step action id=id.clone() quantity=i64::from(quantity) - 1
                                label=format!("One fewer {name}") text="−" enabled=true/>
                            <span class="stepper-value" data-testid="line-quantity" aria-live="polite">{quantity}</span>
                            <Step action id=id.clone() quantity=i64::from(quantity) + 1
                                label=format!("One more {name}") text="+" enabled=can_add/>
                            <Step action id=id.clone() quantity=0
                                label=format!("Remove {name}") text="Remove" enabled=true/>
                        </div>
                    }.into_any(),
                }}
            </td>
            <td class="num">{format_money(line.line_total_cents, &currency)}</td>
        </tr>
    }
}

/// One button of a quantity stepper: a form that sets the line to `quantity`.
#[component]
fn Step(
    action: ServerAction<SetCartLine>,
    id: String,
    quantity: i64,
    label: String,
    text: &'static str,
    enabled: bool,
) -> impl IntoView {
    let class = if text == "Remove" {
        "btn btn-small btn-ghost"
    } else {
        "btn btn-small btn-ghost stepper-button"
    };
    view! {
        <ActionForm action>
            <input type="hidden" name="item_id" value=id/>
            <input type="hidden" name="quantity" value=quantity.to_string()/>
            <button type="submit" class=class aria-label=label disabled=!enabled>{text}</button>
        </ActionForm>
    }
}
