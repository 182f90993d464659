use api_types::OrderStatus;
use leptos::prelude::*;

#[component]
pub fn StatusBadge(status: OrderStatus) -> impl IntoView {
    let label = match status {
        OrderStatus::Pending => "Pending",
        OrderStatus::Paid => "Paid",
        OrderStatus::Failed => "Failed",
        OrderStatus::Expired => "Expired",
        OrderStatus::PartiallyRefunded => "Partly refunded",
        OrderStatus::Refunded => "Refunded",
    };
    view! {
        <span class=format!("badge status-{}", status.as_str()) data-status=status.as_str()>{label}</span>
    }
}
