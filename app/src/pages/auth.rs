use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::api::{Login, Register};
use crate::components::notice::encode;
use crate::error::url_error;
use crate::{AppError, Session};

fn field_error(error: Option<AppError>, field: &'static str) -> Option<String> {
    error.and_then(|e| e.for_field(field))
}

fn general_error(error: Option<AppError>) -> Option<String> {
    error.filter(|e| e.field.is_none()).map(|e| e.message)
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".to_owned());
    let error = move || {
        session
            .login
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| url_error::<Login>(&query.read()))
    };
    view! {
        <Title text="Log in"/>
        <section class="auth-card">
            <h1>"Log in"</h1>
            {move || general_error(error()).map(|m| view! { <p class="notice notice-error" role="alert" data-testid="form-error">{m}</p> })}
            <ActionForm action=session.login>
                <input type="hidden" name="next" value=next/>
                <div class="field">
                    <label for="username">"Username"</label>
                    <input id="username" name="username" autocomplete="username" required
                        aria-describedby="username-error"/>
                    <p id="username-error" class="field-error">{move || field_error(error(), "username")}</p>
                </div>
                <div class="field">
                    <label for="password">"Password"</label>
                    <input id="password" name="password" type="password" autocomplete="current-password" required
                        aria-describedby="password-error"/>
                    <p id="password-error" class="field-error">{move || field_error(error(), "password")}</p>
                </div>
                <button type="submit" class="btn btn-primary btn-block" disabled=move || session.login.pending().get()>
                    {move || if session.login.pending().get() { "Logging in…" } else { "Log in" }}
                </button>
            </ActionForm>
            <p class="muted">"New here? "<A href=move || format!("/register?next={}", encode(&next()))>"Create an account"</A></p>
        </section>
    }
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".to_owned());
    let error = move || {
        session
            .register
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| url_error::<Register>(&query.read()))
    };
    view! {
        <Title text="Create an account"/>
        <section class="auth-card">
            <h1>"Create an account"</h1>
            {move || general_error(error()).map(|m| view! { <p class="notice notice-error" role="alert" data-testid="form-error">{m}</p> })}
            <ActionForm action=session.register>
                <input type="hidden" name="next" value=next/>
                <div class="field">
                    <label for="username">"Username"</label>
                    <input id="username" name="username" autocomplete="username" required
                        aria-describedby="username-help username-error"/>
                    <p id="username-help" class="help">"3–32 letters, digits, '_' or '-'."</p>
                    <p id="username-error" class="field-error">{move || field_error(error(), "username")}</p>
                </div>
                <div class="field">
                    <label for="password">"Password"</label>
                    <input id="password" name="password" type="password" autocomplete="new-password" required
                        aria-describedby="password-help password-error"/>
                    <p id="password-help" class="help">"8–128 characters. A long passphrase is best."</p>
                    <p id="password-error" class="field-error">{move || field_error(error(), "password")}</p>
                </div>
                <button type="submit" class="btn btn-primary btn-block" disabled=move || session.register.pending().get()>
                    {move || if session.register.pending().get() { "Creating account…" } else { "Create account" }}
                </button>
            </ActionForm>
            <p class="muted">"Already have an account? "<A href=move || format!("/login?next={}", encode(&next()))>"Log in"</A></p>
        </section>
    }
}
