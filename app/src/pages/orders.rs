use api_types::{Order, OrderStatus, format_money};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::{RefundOwnLine, get_order, my_gifts, my_orders};
use crate::components::notice::{ErrorNotice, Loading, LoginRedirect};
use crate::components::status::StatusBadge;
use crate::error::url_error;
use crate::live::{LiveRegion, Region};

fn when(at: &chrono::DateTime<chrono::Utc>) -> String {
    api_types::format_minute(at)
}

#[component]
pub fn OrdersPage() -> impl IntoView {
    let orders = Resource::new(|| (), |_| my_orders());
    let gifts = Resource::new(|| (), |_| my_gifts());
    view! {
        <Title text="Your orders"/>
        <h1>"Your orders"</h1>
        <LiveRegion id="live-orders" region=Region::Orders>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match gifts.await {
                    Ok(gifts) if !gifts.is_empty() => Some(view! {
                        <section class="gifts" aria-labelledby="gifts-heading" data-testid="gifts-received">
                            <h2 id="gifts-heading">"Gifts you received"</h2>
                            <ul class="gift-list">
                                {gifts.into_iter().map(|g| view! {
                                    <li data-order-id=g.order_id.to_string()>
                                        <strong>{g.from_username.clone()}</strong>" sent you "
                                        {g.items.iter().map(|i| i.name.clone()).collect::<Vec<_>>().join(", ")}
                                        " · "<time class="muted">{when(&g.received_at)}</time>
                                        {g.message.clone().map(|m| view! { <blockquote class="gift-message">{m}</blockquote> })}
                                    </li>
                                }).collect_view()}
                            </ul>
                            <p><A href="/library">"They are in your library"</A></p>
                        </section>
                    }),
                    _ => None,
                }
            })}
        </Transition>
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match orders.await {
                    Ok(orders) if orders.is_empty() => view! {
                        <section class="empty" data-testid="empty-state">
                            <h2>"No orders yet"</h2>
                            <p>"When you buy something it shows up here."</p>
                            <A href="/" attr:class="btn btn-primary">"Browse the catalog"</A>
                        </section>
                    }.into_any(),
                    Ok(orders) => view! { <OrderTable orders/> }.into_any(),
                    Err(e) if e.is_unauthenticated() => view! { <LoginRedirect next="/orders"/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Transition>
        </LiveRegion>
    }
}

/// "Dragon Sword", "2 × Health Potion, Wizard Hat".
fn summary(order: &Order) -> String {
    order
        .lines
        .iter()
        .map(|l| {
            if l.quantity > 1 {
                format!("{} × {}", l.quantity, l.name)
            } else {
                l.name.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[component]
fn OrderTable(orders: Vec<Order>) -> impl IntoView {
    view! {
        <table class="table" data-testid="orders-table">
            <thead><tr><th scope="col">"Date"</th><th scope="col">"Item"</th><th scope="col">"Amount"</th><th scope="col">"Status"</th></tr></thead>
            <tbody>
                {orders.into_iter().map(|o| view! {
                    <tr data-order-id=o.order_id.to_string()>
                        <td><A href=format!("/orders/{}", o.order_id)>{when(&o.created_at)}</A></td>
                        <td>{summary(&o)}{o.gift.as_ref().map(|g| view! { <span class="muted">{format!(" · a gift for {}", g.to_username)}</span> })}</td>
                        <td>{format_money(o.amount_cents, &o.currency)}</td>
                        <td><StatusBadge status=o.status/></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn OrderPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let query = use_query_map();
    let refund = ServerAction::<RefundOwnLine>::new();
    let order = Resource::new(
        move || (id(), refund.version().get()),
        |(id, _)| get_order(id),
    );
    let refund_error = move || {
        refund
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| url_error::<RefundOwnLine>(&query.read()))
    };
    view! {
        <Title text="Order"/>
        {move || refund_error().map(|e| view! { <ErrorNotice error=e/> })}
        // The flag a successful request left in the URL; a later failure keeps the URL.
        {move || (refund_error().is_none() && query.read().get("refund").as_deref() == Some("asked")).then(|| view! {
            <p class="notice notice-info" role="status" data-testid="refund-asked">
                "We asked the payment provider for your refund. This page shows it once it is done."
            </p>
        })}
        <LiveRegion id="live-order" region=Region::Orders>
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match order.await {
                    Ok(order) => view! { <OrderDetail order refund/> }.into_any(),
                    Err(e) if e.is_unauthenticated() => view! { <LoginRedirect next=format!("/orders/{}", id())/> }.into_any(),
                    Err(e) => {
                        super::set_status(e.status.max(400));
                        view! { <ErrorNotice error=e/> }.into_any()
                    }
                }
            })}
        </Transition>
        </LiveRegion>
    }
}

#[component]
fn OrderDetail(order: Order, refund: ServerAction<RefundOwnLine>) -> impl IntoView {
    let order_id = order.order_id.to_string();
    let self_refunds = order.refundable_until.is_some();
    let message = match order.status {
        OrderStatus::Pending => {
            "Waiting for the payment provider to confirm your payment… This page updates by itself."
        }
        OrderStatus::Paid => "Payment confirmed. Everything you bought is in your library.",
        OrderStatus::Failed => "The payment failed. You have not been charged.",
        OrderStatus::Expired => "The payment was not confirmed in time, so the order expired.",
        OrderStatus::PartiallyRefunded => {
            "Part of this order was refunded. What was refunded has left your library."
        }
        OrderStatus::Refunded => "This order was refunded.",
    };
    view! {
        <nav class="breadcrumbs" aria-label="Breadcrumb"><A href="/orders">"Orders"</A>" / "<span>"Order"</span></nav>
        <article class="order" data-testid="order" data-status=order.status.as_str()>
            <header class="order-head">
                <img src=order.item.image.clone() alt="" width="160" height="120"/>
                <div>
                    <h1>{summary(&order)}</h1>
                    <p class="price big">{format_money(order.amount_cents, &order.currency)}</p>
                    <p><StatusBadge status=order.status/></p>
                </div>
            </header>
            <table class="table compact" data-testid="order-lines">
                <thead><tr>
                    <th scope="col">"Item"</th><th scope="col">"Quantity"</th><th scope="col">"Price"</th><th scope="col" class="num">"Total"</th>
                    {self_refunds.then(|| view! { <th scope="col"><span class="sr-only">"Refund"</span></th> })}
                </tr></thead>
                <tbody>
                    {order.lines.clone().into_iter().map(|l| {
                        let order_id = order_id.clone();
                        let name = l.name.clone();
                        view! {
                        <tr class:line-refunded=l.refunded data-refunded=l.refunded.to_string() data-line-id=l.line_id.to_string()>
                            <td>
                                <A href=format!("/items/{}", l.item_id)>{l.name}</A>
                                {l.refunded.then(|| view! { " " <span class="badge status-refunded">"Refunded"</span> })}
                                {l.refund_pending.then(|| view! { " " <span class="badge status-pending" data-testid="refund-pending">"Refund asked"</span> })}
                            </td>
                            <td>{l.quantity}</td>
                            <td>{format_money(l.unit_price_cents, &order.currency)}</td>
                            <td class="num">{format_money(l.line_total_cents, &order.currency)}</td>
                            {self_refunds.then(|| view! {
                                <td>
                                    {l.self_refundable.then(|| view! {
                                        <ActionForm action=refund>
                                            <input type="hidden" name="order_id" value=order_id/>
                                            <input type="hidden" name="line_id" value=l.line_id.to_string()/>
                                            <button type="submit" class="btn btn-small btn-ghost" data-testid="ask-refund"
                                                aria-label=format!("Ask for a refund of {name}")
                                                disabled=move || refund.pending().get()>"Ask for a refund"</button>
                                        </ActionForm>
                                    })}
                                </td>
                            })}
                        </tr>
                    }}).collect_view()}
                </tbody>
            </table>
            <p class=format!("notice notice-{}", order.status.as_str()) role="status" data-testid="order-message">
                {(order.status == OrderStatus::Pending).then(|| view! { <span class="spinner" aria-hidden="true"></span> })}
                {message}
            </p>
            {order.failure_reason.clone().map(|r| view! { <p class="muted">"Reason: "{r}</p> })}
            {order.refundable_until.map(|until| view! {
                <p class="muted" data-testid="refundable-until">
                    {format!("Changed your mind? Items you keep can be refunded from this page until {}.", when(&until))}
                </p>
            })}
            {(order.refunded_cents > 0).then(|| view! {
                <p data-testid="order-refunded">"Refunded: "{format_money(order.refunded_cents, &order.currency)}" of "{format_money(order.amount_cents, &order.currency)}</p>
            })}
            {order.gift.clone().map(|g| view! {
                <div class="notice" data-testid="order-gift">
                    <p>"A gift for "<strong>{g.to_username}</strong>": the items go to their library."</p>
                    {g.message.map(|m| view! { <blockquote class="gift-message">{m}</blockquote> })}
                </div>
            })}
            {(order.status == OrderStatus::Paid && order.gift.is_none()).then(|| view! { <A href="/library" attr:class="btn btn-primary">"Go to your library"</A> })}
            <dl class="facts">
                <dt>"Order"</dt><dd><code>{order.order_id.to_string()}</code></dd>
                <dt>"Placed"</dt><dd>{when(&order.created_at)}</dd>
                {order.provider_transaction_id.clone().map(|tx| view! { <dt>"Transaction"</dt><dd><code>{tx}</code></dd> })}
            </dl>
            <h2>"History"</h2>
            <ol class="history">
                {order.history.clone().unwrap_or_default().into_iter().map(|h| view! {
                    <li>
                        <StatusBadge status=h.to/>
                        " "<time>{when(&h.at)}</time>
                        {h.reason.map(|r| view! { <span class="muted">" — "{r}</span> })}
                    </li>
                }).collect_view()}
            </ol>
        </article>
    }
}
