//! The operator console: the sales dashboard (live), the webhook log with replay, and the
//! audit log. Every page works without JavaScript; the gate is `admin::AdminLayout`.

use api_types::{AuditEntry, SalesStats, WebhookDelivery, format_money};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::{use_params_map, use_query_map};

use super::admin::page_error;
use crate::api::{
    ReplayWebhook, admin_audit, admin_stats, admin_webhook_event, admin_webhook_events,
};
use crate::components::chart::{Bar, BarChart};
use crate::components::notice::{ErrorNotice, Loading, encode};
use crate::live::{LiveRegion, Region};

const RANGES: [u32; 3] = [7, 30, 90];

fn percent(ratio: f64) -> String {
    format!("{:.1} %", ratio * 100.0)
}

/// `/admin`: revenue per day, orders per state, conversion, refunds and best sellers over 7,
/// 30 or 90 days; re-read whenever an order changes (the operator's socket says so).
#[component]
pub fn AdminDashboard() -> impl IntoView {
    let query = use_query_map();
    let days = move || {
        query
            .read()
            .get("range")
            .and_then(|r| r.parse::<u32>().ok())
            .filter(|d| RANGES.contains(d))
            .unwrap_or(30)
    };
    let currency = move || query.read().get("currency").filter(|c| !c.is_empty());
    let stats = Resource::new(
        move || (days(), currency()),
        |(days, currency)| admin_stats(days, currency),
    );
    view! {
        <Title text="Dashboard · Admin"/>
        <div class="row spread">
            <h1>"Dashboard"</h1>
            <nav class="tag-bar" aria-label="Range">
                {RANGES.into_iter().map(|d| view! {
                    <A href=format!("/admin?range={d}")
                        attr:class=move || if days() == d { "chip active" } else { "chip" }
                        attr:aria-current=move || (days() == d).then_some("page")>{format!("{d} days")}</A>
                }).collect_view()}
            </nav>
        </div>
        <LiveRegion id="live-dashboard" region=Region::Admin>
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match stats.await {
                    Ok(stats) => view! { <Dashboard stats/> }.into_any(),
                    Err(e) => page_error(e),
                }
            })}
        </Transition>
        </LiveRegion>
    }
}

#[component]
fn Dashboard(stats: SalesStats) -> AnyView {
    let currency = stats.currency.clone();
    let revenue: Vec<Bar> = stats
        .days
        .iter()
        .map(|d| Bar {
            key: d.day.to_string(),
            label: d.day.to_string(),
            value: d.revenue_cents,
            shown: format_money(d.revenue_cents, &currency),
        })
        .collect();
    let orders: Vec<Bar> = stats
        .days
        .iter()
        .map(|d| Bar {
            key: d.day.to_string(),
            label: d.day.to_string(),
            value: d.orders as i64,
            shown: d.orders.to_string(),
        })
        .collect();
    let by_status: Vec<Bar> = stats
        .by_status
        .iter()
        .map(|s| Bar {
            key: s.status.as_str().to_owned(),
            label: s.status.as_str().replace('_', " "),
            value: s.count as i64,
            shown: s.count.to_string(),
        })
        .collect();
    let range = format!("{} to {}", stats.from, stats.to);
    let other_currencies = stats.currencies.clone();
    view! {
        <p class="muted">{format!("{range} (UTC). Money in {currency}.")}
            {other_currencies.into_iter().map(|c| view! { " " <A href=format!("/admin?currency={c}")>{format!("Show {c}")}</A> }).collect_view()}
        </p>
        {view! { <dl class="kpis" data-testid="kpis">
            <div><dt>"Revenue"</dt><dd data-testid="kpi-revenue">{format_money(stats.revenue_cents, &currency)}</dd></div>
            <div><dt>"Orders"</dt><dd data-testid="kpi-orders">{stats.orders_created}</dd></div>
            <div><dt>"Paid"</dt><dd data-testid="kpi-paid">{stats.orders_paid}</dd></div>
            <div><dt>"Conversion"</dt><dd data-testid="kpi-conversion">{percent(stats.conversion)}</dd></div>
            <div><dt>"Refunds"</dt><dd data-testid="kpi-refunds">{format!("{} · {}", stats.refunds, format_money(stats.refunds_cents, &currency))}</dd></div>
        </dl> }.into_any()}
        {view! { <div class="charts">
            <BarChart id="revenue-chart" title="Revenue per day"
                description=format!("Paid orders' totals per day, {range}, in {currency}.")
                value_label="Revenue" bars=revenue/>
            <BarChart id="orders-chart" title="Orders per day"
                description=format!("Orders placed per day, {range}.")
                value_label="Orders" bars=orders/>
            <BarChart id="status-chart" title="Orders by status"
                description=format!("Orders placed {range}, by their state now.")
                value_label="Orders" bars=by_status/>
        </div> }.into_any()}
        <section aria-labelledby="top-heading">
            <h2 id="top-heading">"Best sellers"</h2>
            {if stats.top_items.is_empty() {
                view! { <p class="muted" data-testid="no-top-items">"Nothing sold in this range yet."</p> }.into_any()
            } else {
                view! {
                    <table class="table compact" data-testid="top-items">
                        <thead><tr><th scope="col">"Item"</th><th scope="col" class="num">"Units"</th><th scope="col" class="num">"Revenue"</th></tr></thead>
                        <tbody>
                            {stats.top_items.into_iter().map(|t| view! {
                                <tr>
                                    <td><A href=format!("/admin/items/{}", t.item_id)>{t.name}</A></td>
                                    <td class="num">{t.units}</td>
                                    <td class="num">{format_money(t.revenue_cents, &currency)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
    .into_any()
}

/// `/admin/webhooks`: every delivery received, verified or refused, newest first.
#[component]
pub fn AdminWebhooks() -> impl IntoView {
    let query = use_query_map();
    let show = move || query.read().get("show").filter(|s| !s.is_empty());
    let before = move || {
        query
            .read()
            .get("before")
            .and_then(|b| b.parse::<i64>().ok())
    };
    let events = Resource::new(
        move || (show(), before()),
        |(show, before)| admin_webhook_events(show, before),
    );
    view! {
        <Title text="Webhooks · Admin"/>
        <h1>"Webhook log"</h1>
        <p class="muted">"Every notification the payment provider (or anyone) sent, what the store answered and what it did. Refused deliveries are shown as they came: nothing in them is trusted."</p>
        <nav class="tag-bar" aria-label="Show">
            {[(None, "All"), (Some("verified"), "Verified"), (Some("refused"), "Refused")].into_iter().map(|(value, label)| {
                let href = value.map_or_else(|| "/admin/webhooks".to_owned(), |v| format!("/admin/webhooks?show={v}"));
                view! {
                    <A href=href attr:class=move || if show().as_deref() == value { "chip active" } else { "chip" }>{label}</A>
                }
            }).collect_view()}
        </nav>
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match events.await {
                    Ok(events) if events.is_empty() => view! { <section class="empty" data-testid="no-webhooks"><p>"No deliveries here."</p></section> }.into_any(),
                    Ok(events) => {
                        let older = events.last().map(|e| e.id).filter(|_| events.len() >= 50);
                        let show = show();
                        view! {
                            <table class="table compact" data-testid="webhook-events">
                                <thead><tr>
                                    <th scope="col">"Received"</th><th scope="col">"Event"</th><th scope="col">"Signature"</th>
                                    <th scope="col">"Answer"</th><th scope="col">"Outcome"</th><th scope="col">"Order"</th>
                                </tr></thead>
                                <tbody>
                                    {events.into_iter().map(|e| view! { <DeliveryRow delivery=e/> }).collect_view()}
                                </tbody>
                            </table>
                            {older.map(|id| {
                                let href = match &show {
                                    Some(s) => format!("/admin/webhooks?show={s}&before={id}"),
                                    None => format!("/admin/webhooks?before={id}"),
                                };
                                view! { <nav class="pager" aria-label="Pages"><A href=href attr:rel="next">"Older →"</A></nav> }
                            })}
                        }.into_any()
                    }
                    Err(e) => page_error(e),
                }
            })}
        </Transition>
    }
}

#[component]
fn DeliveryRow(delivery: WebhookDelivery) -> impl IntoView {
    let d = delivery;
    view! {
        <tr data-delivery-id=d.id.to_string() data-order-id=d.order_id.map(|o| o.to_string()).unwrap_or_default()>
            <td><A href=format!("/admin/webhooks/{}", d.id)>{api_types::format_clock(&d.received_at)}</A></td>
            <td>
                {d.event_type.clone().unwrap_or_else(|| "—".to_owned())}
                <br/><code class="muted">{d.delivery_id.clone().unwrap_or_default()}</code>
            </td>
            <td>{if d.verified {
                view! { <span class="badge status-paid">"verified"</span> }.into_any()
            } else {
                view! { <span class="badge status-failed" title=d.rejection.clone().unwrap_or_default()>"refused"</span> }.into_any()
            }}</td>
            <td>{d.status_code}</td>
            <td>
                {d.outcome.clone().unwrap_or_default()}
                {d.replay_of.map(|id| view! { <span class="muted">{format!(" (replay of #{id})")}</span> })}
            </td>
            <td>{d.order_id.map(|id| view! {
                <A href=format!("/admin/orders?order_id={id}")><code>{id.to_string()[..8].to_owned()}</code></A>
            })}</td>
        </tr>
    }
}

/// `/admin/webhooks/:id`: one delivery, raw, with a replay button when it verified.
#[component]
pub fn AdminWebhook() -> impl IntoView {
    let params = use_params_map();
    let replay = ServerAction::<ReplayWebhook>::new();
    let id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok());
    let delivery = Resource::new(
        move || (id(), replay.version().get()),
        |(id, _)| async move {
            match id {
                Some(id) => admin_webhook_event(id).await,
                None => Err(crate::AppError::new(
                    404,
                    "NOT_FOUND",
                    "webhook delivery not found",
                )),
            }
        },
    );
    view! {
        <Title text="Webhook delivery · Admin"/>
        <nav class="breadcrumbs" aria-label="Breadcrumb"><A href="/admin/webhooks">"Webhook log"</A>" / "<span>"Delivery"</span></nav>
        {move || replay.value().get().and_then(Result::err).map(|e| view! { <ErrorNotice error=e/> })}
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match delivery.await {
                    Ok(d) => view! { <DeliveryDetail delivery=d replay/> }.into_any(),
                    Err(e) => page_error(e),
                }
            })}
        </Transition>
    }
}

#[component]
fn DeliveryDetail(delivery: WebhookDelivery, replay: ServerAction<ReplayWebhook>) -> impl IntoView {
    let d = delivery;
    let replay_note = d.replay_of.map(|of| {
        let already = d.outcome.as_deref() == Some("duplicate");
        view! {
            <div class=if already { "notice notice-info" } else { "notice notice-paid" } role="status" data-testid="replay-result">
                <strong>{if already { "Already applied: nothing changed." } else { "Replayed." }}</strong>
                <p>{format!("This is a replay of delivery #{of}. ")}{d.detail.clone().unwrap_or_default()}</p>
            </div>
        }
    });
    let body = d.body.clone().unwrap_or_default();
    let pretty = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or(body);
    view! {
        <h1>{format!("Delivery #{}", d.id)}</h1>
        {replay_note}
        <dl class="facts">
            <dt>"Received"</dt><dd>{api_types::format_minute(&d.received_at)}</dd>
            <dt>"Scheme"</dt><dd>{d.scheme.clone()}</dd>
            <dt>"Delivery id"</dt><dd><code>{d.delivery_id.clone().unwrap_or_else(|| "—".to_owned())}</code></dd>
            <dt>"Signature"</dt><dd data-testid="delivery-verified">{if d.verified { "verified".to_owned() } else { format!("refused: {}", d.rejection.clone().unwrap_or_default()) }}</dd>
            <dt>"Answer"</dt><dd>{d.status_code}</dd>
            <dt>"Outcome"</dt><dd data-testid="delivery-outcome">{d.outcome.clone().unwrap_or_default()}</dd>
            {d.detail.clone().map(|x| view! { <dt>"Detail"</dt><dd>{x}</dd> })}
            {d.event_type.clone().map(|t| view! { <dt>"Event"</dt><dd>{t}</dd> })}
            {d.order_id.map(|o| view! { <dt>"Order"</dt><dd><A href=format!("/admin/orders?order_id={o}")><code>{o.to_string()}</code></A></dd> })}
            <dt>"Body SHA-256"</dt><dd><code class="wrap">{d.body_sha256.clone()}</code></dd>
        </dl>
        {d.verified.then(|| view! {
            <ActionForm action=replay>
                <input type="hidden" name="id" value=d.replay_of.unwrap_or(d.id).to_string()/>
                <button type="submit" class="btn btn-primary" data-testid="replay"
                    disabled=move || replay.pending().get()>"Replay this event"</button>
                <p class="help">"Runs it through the same ingestion again. An event already recorded changes nothing."</p>
            </ActionForm>
        })}
        <h2>{if d.body_truncated { "Body (first 4 KiB)" } else { "Body" }}</h2>
        <pre class="raw" data-testid="delivery-body" tabindex="0" aria-label="Raw body">{pretty}</pre>
    }
}

/// `/admin/audit`: who did what, newest first.
#[component]
pub fn AdminAudit() -> impl IntoView {
    let query = use_query_map();
    let field = move |name: &str| query.read().get(name).filter(|s| !s.is_empty());
    let entries = Resource::new(
        move || {
            (
                field("action"),
                field("actor"),
                field("before").and_then(|b| b.parse::<i64>().ok()),
            )
        },
        |(action, actor, before)| admin_audit(action, actor, before),
    );
    view! {
        <Title text="Audit log · Admin"/>
        <h1>"Audit log"</h1>
        <p class="muted">"Every operator action and security event, as it was recorded. Nothing here can be changed."</p>
        <Form method="GET" action="/admin/audit" attr:class="filters" attr:role="search" attr:aria-label="Filter the audit log">
            <div class="field">
                <label for="audit-action">"Action"</label>
                <select id="audit-action" name="action">
                    <option value="" selected=move || field("action").is_none()>"Any"</option>
                    {store_actions().into_iter().map(|a| view! {
                        <option value=a selected=move || field("action").as_deref() == Some(a)>{a}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="audit-actor">"Who"</label>
                <input id="audit-actor" name="actor" value=move || field("actor").unwrap_or_default() autocomplete="off"/>
            </div>
            <button type="submit" class="btn btn-primary">"Filter"</button>
        </Form>
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match entries.await {
                    Ok(entries) if entries.is_empty() => view! { <section class="empty" data-testid="no-audit"><p>"Nothing recorded here."</p></section> }.into_any(),
                    Ok(entries) => {
                        let older = entries.last().map(|e| e.id).filter(|_| entries.len() >= 50);
                        let keep: String = ["action", "actor"].iter()
                            .filter_map(|f| field(f).map(|v| format!("{f}={}&", encode(&v))))
                            .collect();
                        view! {
                            <table class="table compact" data-testid="audit">
                                <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"Action"</th><th scope="col">"What"</th><th scope="col">"Change"</th></tr></thead>
                                <tbody>{entries.into_iter().map(|e| view! { <AuditRow entry=e/> }).collect_view()}</tbody>
                            </table>
                            {older.map(|id| view! {
                                <nav class="pager" aria-label="Pages"><A href=format!("/admin/audit?{keep}before={id}") attr:rel="next">"Older →"</A></nav>
                            })}
                        }.into_any()
                    }
                    Err(e) => page_error(e),
                }
            })}
        </Transition>
    }
}

/// The actions the log knows, for the filter (the same list the store checks against).
fn store_actions() -> [&'static str; 12] {
    [
        "item.create",
        "item.update",
        "item.archive",
        "promo.create",
        "promo.update",
        "refund.request",
        "keys.import",
        "webhook.replay",
        "login.success",
        "login.failure",
        "login.lockout",
        "admin.promote",
    ]
}

#[component]
fn AuditRow(entry: AuditEntry) -> impl IntoView {
    let e = entry;
    let target = match e.target_type.as_str() {
        "order" => view! { <A href=format!("/admin/orders?order_id={}", e.target_id)>{format!("order {}", e.target_id.get(..8).unwrap_or(&e.target_id))}</A> }.into_any(),
        "item" => view! { <A href=format!("/admin/items/{}", e.target_id)>{format!("item {}", e.target_id)}</A> }.into_any(),
        "webhook_delivery" => view! { <A href=format!("/admin/webhooks/{}", e.target_id)>{format!("delivery #{}", e.target_id)}</A> }.into_any(),
        other => view! { <span>{format!("{other} {}", e.target_id.get(..12).unwrap_or(&e.target_id))}</span> }.into_any(),
    };
    let change = describe(&e.diff);
    view! {
        <tr data-action=e.action.clone() data-target=e.target_id.clone()>
            <td><time>{api_types::format_minute(&e.at)}</time></td>
            <td>{e.actor.clone()}{e.client_ip.clone().map(|ip| view! { <br/><span class="muted">{ip}</span> })}</td>
            <td><code>{e.action.clone()}</code></td>
            <td>{target}</td>
            <td class="diff">{change}</td>
        </tr>
    }
}

/// A change as people read it: `price_cents: 1000 → 1500; stock: none → 7`.
fn describe(diff: &serde_json::Value) -> String {
    let Some(fields) = diff.as_object() else {
        return diff.to_string();
    };
    let show = |v: &serde_json::Value| match v {
        serde_json::Value::Null => "none".to_owned(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    fields
        .iter()
        .map(|(key, value)| match value.as_array().map(Vec::as_slice) {
            Some([before, after]) => format!("{key}: {} → {}", show(before), show(after)),
            _ => format!("{key}: {}", show(value)),
        })
        .collect::<Vec<_>>()
        .join("; ")
}
