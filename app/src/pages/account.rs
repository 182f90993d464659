use api_types::EmailStatus;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::AppError;
use crate::api::{RemoveEmail, ResendEmailLink, SetEmail, VerifyEmail, my_email};
use crate::components::notice::{ErrorNotice, Loading, LoginRedirect};
use crate::error::url_error;

/// The shopper's account: the email address receipts go to.
#[component]
pub fn AccountPage() -> impl IntoView {
    let query = use_query_map();
    let set = ServerAction::<SetEmail>::new();
    let resend = ServerAction::<ResendEmailLink>::new();
    let remove = ServerAction::<RemoveEmail>::new();
    let email = Resource::new(
        move || {
            (
                set.version().get(),
                resend.version().get(),
                remove.version().get(),
            )
        },
        |_| my_email(),
    );
    let error = move || -> Option<AppError> {
        let q = query.read();
        set.value()
            .get()
            .and_then(Result::err)
            .or_else(|| resend.value().get().and_then(Result::err))
            .or_else(|| remove.value().get().and_then(Result::err))
            .or_else(|| url_error::<SetEmail>(&q))
            .or_else(|| url_error::<ResendEmailLink>(&q))
    };
    let just_verified = move || query.read().get("verified").is_some();
    view! {
        <Title text="Your account"/>
        <h1>"Your account"</h1>
        <section class="panel" aria-labelledby="email-heading">
            <h2 id="email-heading">"Email for receipts"</h2>
            <p class="muted">"We send your receipts, refunds and gifts here once you have confirmed the address. It is never shown to anyone else."</p>
            {move || just_verified().then(|| view! {
                <p class="notice notice-success" role="status" data-testid="email-verified-notice">"Thank you: your email address is confirmed."</p>
            })}
            {move || error().filter(|e| e.field.is_none()).map(|e| view! { <ErrorNotice error=e/> })}
            <Transition fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    match email.await {
                        Ok(status) => view! { <EmailForm status set resend remove error=Signal::derive(error)/> }.into_any(),
                        Err(e) if e.is_unauthenticated() => view! { <LoginRedirect next="/account"/> }.into_any(),
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn EmailForm(
    status: EmailStatus,
    set: ServerAction<SetEmail>,
    resend: ServerAction<ResendEmailLink>,
    remove: ServerAction<RemoveEmail>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let state = match (&status.email, status.verified) {
        (None, _) => view! {
            <p data-testid="email-state" data-state="none">"No email address yet: your receipts are on your orders page."</p>
        }
        .into_any(),
        (Some(address), true) => view! {
            <p data-testid="email-state" data-state="verified">
                <strong>{address.clone()}</strong>" — confirmed"
            </p>
        }
        .into_any(),
        (Some(address), false) => {
            let sent = status
                .verification_sent_at
                .map(|at| format!(" (sent {})", api_types::format_minute(&at)))
                .unwrap_or_default();
            view! {
                <p data-testid="email-state" data-state="unverified">
                    <strong>{address.clone()}</strong>
                    {format!(" — waiting for you to open the link we sent{sent}.")}
                </p>
                <ActionForm action=resend>
                    <button type="submit" class="btn btn-small btn-ghost" data-testid="resend-link">"Send the link again"</button>
                </ActionForm>
            }
            .into_any()
        }
    };
    let has_email = status.email.is_some();
    view! {
        {state}
        <ActionForm action=set attr:class="stack">
            <div class="field">
                <label for="email">{if has_email { "New email address" } else { "Email address" }}</label>
                <input id="email" name="email" type="email" autocomplete="email" required maxlength="254"
                    aria-describedby="email-error"/>
                <p id="email-error" class="field-error" role="alert">{move || error.get().and_then(|e| e.for_field("email"))}</p>
            </div>
            <button type="submit" class="btn btn-primary" disabled=move || set.pending().get()>
                {move || if set.pending().get() { "Sending…" } else { "Save and send a confirmation link" }}
            </button>
        </ActionForm>
        {has_email.then(|| view! {
            <ActionForm action=remove>
                <button type="submit" class="btn btn-small btn-ghost" data-testid="remove-email">"Remove my email address"</button>
            </ActionForm>
        })}
    }
}

/// Where a verification link lands: one button confirms the address (a link alone does not,
/// so a mail scanner that opens links confirms nothing).
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let query = use_query_map();
    let verify = ServerAction::<VerifyEmail>::new();
    let token = move || query.read().get("token").unwrap_or_default();
    let error = move || {
        verify
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| url_error::<VerifyEmail>(&query.read()))
    };
    view! {
        <Title text="Confirm your email address"/>
        <section class="auth-card">
            <h1>"Confirm your email address"</h1>
            {move || error().map(|e| view! { <ErrorNotice error=e/> })}
            <p>"Press the button to confirm that this address is yours. We will send your receipts there."</p>
            <ActionForm action=verify>
                <input type="hidden" name="token" value=token/>
                <button type="submit" class="btn btn-primary btn-block" data-testid="confirm-email"
                    disabled=move || verify.pending().get()>"Confirm my email address"</button>
            </ActionForm>
        </section>
    }
}
