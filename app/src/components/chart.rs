//! Bar charts drawn as SVG on the server (readable without JavaScript), each with its numbers
//! in a table beside it for screen readers and for anyone who prefers to read them.

use leptos::prelude::*;

/// One bar: its label (a day, a state), its value, and the value as people read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub key: String,
    pub label: String,
    pub value: i64,
    pub shown: String,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 8.0;
const BOTTOM: f64 = 24.0;
const TOP: f64 = 16.0;

/// A vertical bar chart. `id` names it (and its title and description) on the page.
#[component]
pub fn BarChart(
    #[prop(into)] id: String,
    #[prop(into)] title: String,
    #[prop(into)] description: String,
    /// What the table's value column is called.
    #[prop(into)]
    value_label: String,
    bars: Vec<Bar>,
) -> AnyView {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1) as f64;
    let n = bars.len().max(1) as f64;
    let slot = (WIDTH - LEFT) / n;
    let bar_width = (slot * 0.8).max(1.0);
    // Label every bar when there are few, every week otherwise.
    let every = if bars.len() <= 14 { 1 } else { 7 };
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    let labelled_by = format!("{title_id} {desc_id}");
    let total: i64 = bars.iter().map(|b| b.value).sum();
    let peak = bars
        .iter()
        .max_by_key(|b| b.value)
        .map(|b| format!("{} on {}", b.shown, b.label))
        .unwrap_or_default();
    let full_description = if total == 0 {
        format!("{description} Nothing yet in this range.")
    } else {
        format!("{description} Highest: {peak}.")
    };
    let rects = bars
        .iter()
        .enumerate()
        .map(|(i, bar)| {
            let h = if bar.value <= 0 {
                0.0
            } else {
                ((bar.value as f64 / max) * (HEIGHT - TOP - BOTTOM)).max(1.0)
            };
            let x = LEFT + i as f64 * slot + (slot - bar_width) / 2.0;
            let y = HEIGHT - BOTTOM - h;
            let label = (i % every == 0 || bars.len() <= 14).then(|| {
                let short = bar.label.get(5..).unwrap_or(&bar.label).to_owned();
                view! {
                    <text x=format!("{:.1}", x + bar_width / 2.0) y=format!("{:.1}", HEIGHT - 8.0)
                        text-anchor="middle" class="chart-label">{short}</text>
                }
            });
            view! {
                <g>
                    <rect x=format!("{x:.1}") y=format!("{y:.1}") width=format!("{bar_width:.1}") height=format!("{h:.1}")
                        class="chart-bar" data-key=bar.key.clone() data-value=bar.value.to_string()>
                        <title>{format!("{}: {}", bar.label, bar.shown)}</title>
                    </rect>
                    {label}
                </g>
            }
        })
        .collect_view()
        .into_any();
    let rows = bars
        .iter()
        .map(|bar| {
            view! { <tr><th scope="row">{bar.label.clone()}</th><td class="num">{bar.shown.clone()}</td></tr> }
        })
        .collect_view()
        .into_any();
    view! {
        <figure class="chart" data-testid=id.clone() data-total=total.to_string()>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-labelledby=labelled_by
                preserveAspectRatio="none" class="chart-svg">
                <title id=title_id.clone()>{title.clone()}</title>
                <desc id=desc_id>{full_description}</desc>
                <line x1=LEFT.to_string() x2=WIDTH.to_string() y1=(HEIGHT - BOTTOM).to_string() y2=(HEIGHT - BOTTOM).to_string() class="chart-axis"/>
                {rects}
            </svg>
            <figcaption>{title.clone()}</figcaption>
            <details class="chart-data">
                <summary>{format!("{title} as a table")}</summary>
                <table class="table compact">
                    <thead><tr><th scope="col">"Label"</th><th scope="col" class="num">{value_label}</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </details>
        </figure>
    }
    .into_any()
}
