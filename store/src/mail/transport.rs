//! Where rendered messages go: an SMTP server (`SMTP_URL`), or `.eml` files in a folder
//! (`MAIL_OUTBOX_DIR`, the default), which any mail client opens.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use secrecy::ExposeSecret as _;

use super::templates::Rendered;
use crate::entity::outbox;
use crate::settings::MailSettings;

/// The longest one SMTP conversation may take (well inside the worker's lease).
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

pub enum Transport {
    Smtp(Box<AsyncSmtpTransport<Tokio1Executor>>),
    Files(PathBuf),
}

/// Why a message did not go out; `permanent` ones are not tried again.
#[derive(Debug)]
pub struct SendError {
    pub message: String,
    pub permanent: bool,
}

impl SendError {
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: true,
        }
    }

    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: false,
        }
    }
}

impl Transport {
    pub fn from_settings(mail: &MailSettings) -> Result<Self, String> {
        match &mail.smtp_url {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .map_err(|e| format!("SMTP_URL: {e}"))?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build();
                Ok(Self::Smtp(Box::new(transport)))
            }
            None => Ok(Self::Files(mail.outbox_dir.clone())),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp(_) => "SMTP".to_owned(),
            Transport::Files(dir) => format!(".eml files in {}", dir.display()),
        }
    }

    pub async fn send(
        &self,
        row: &outbox::Model,
        from: &str,
        rendered: &Rendered,
    ) -> Result<(), SendError> {
        let message = build(row, from, rendered)?;
        match self {
            Transport::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(|e| {
                let text = e.to_string();
                // A 5xx about the message or its recipient will not change; one about us (no or
                // wrong credentials, 530/534/535/538) is the configuration, which an operator
                // fixes: those are tried again.
                let about_us = e.status().is_some_and(|code| {
                    matches!(code.to_string().as_str(), "530" | "534" | "535" | "538")
                });
                if e.is_permanent() && !about_us {
                    SendError::permanent(text)
                } else {
                    SendError::transient(text)
                }
            }),
            Transport::Files(dir) => write_file(dir, row, &message.formatted()).await,
        }
    }
}

fn build(row: &outbox::Model, from: &str, rendered: &Rendered) -> Result<Message, SendError> {
    let from: Mailbox = from
        .parse()
        .map_err(|e| SendError::permanent(format!("MAIL_FROM: {e}")))?;
    let to: Mailbox = row
        .to_address
        .parse()
        .map_err(|e| SendError::permanent(format!("recipient address: {e}")))?;
    let domain = from.email.domain().to_owned();
    Message::builder()
        .from(from)
        .to(to)
        .subject(rendered.subject.clone())
        .date_now()
        // Made from the row: a message sent twice (a crash between sending and recording it)
        // carries the same id both times.
        .message_id(Some(format!(
            "<outbox-{}-{}@{domain}>",
            row.id,
            row.created_at.timestamp()
        )))
        .multipart(MultiPart::alternative_plain_html(
            rendered.text.clone(),
            rendered.html.clone(),
        ))
        .map_err(|e| SendError::permanent(format!("cannot build the message: {e}")))
}

/// Writes `<id>-<kind>.eml` atomically (a temporary file renamed into place), so a reader never
/// sees half a message and a message written twice is one file.
async fn write_file(dir: &PathBuf, row: &outbox::Model, bytes: &[u8]) -> Result<(), SendError> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| SendError::transient(format!("cannot create {}: {e}", dir.display())))?;
    let name = format!("{:08}-{}.eml", row.id, row.kind);
    let tmp = dir.join(format!(".{name}.tmp"));
    tokio::fs::write(&tmp, bytes)
        .await
        .map_err(|e| SendError::transient(format!("cannot write {}: {e}", tmp.display())))?;
    tokio::fs::rename(&tmp, dir.join(&name))
        .await
        .map_err(|e| SendError::transient(format!("cannot move {name} into place: {e}")))
}
