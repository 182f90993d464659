//! The words of every message, as plain text and as HTML. Everything a shopper or an operator
//! typed (item names, usernames, a gift's message) is escaped in the HTML part; the text part
//! is plain text and needs none.

use std::fmt::Write as _;

use api_types::format_money;

use super::{Line, Notice};
use crate::Store;

/// What a message needs besides its notice: where the store is.
pub struct Context {
    /// `PUBLIC_URL` without a trailing slash.
    pub base_url: String,
}

impl From<&Store> for Context {
    fn from(store: &Store) -> Self {
        Self {
            base_url: store
                .settings()
                .public_url
                .as_str()
                .trim_end_matches('/')
                .to_owned(),
        }
    }
}

/// A message ready for the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Escapes text for an HTML element or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A subject line keeps to one line whatever a name holds.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

struct Body {
    text: String,
    html: String,
}

impl Body {
    fn new(greeting: &str) -> Self {
        Self {
            text: format!("{greeting}\n\n"),
            html: format!("<p>{}</p>\n", escape(greeting)),
        }
    }

    fn para(&mut self, text: &str) {
        let _ = write!(self.text, "{text}\n\n");
        let _ = writeln!(self.html, "<p>{}</p>", escape(text));
    }

    /// Words someone other than the store wrote, set apart as a quote: in the text part each
    /// line starts with `> `, so a message cannot pass for the store's own text (a signature,
    /// a "support" line) after a blank line (an attacker's pass).
    fn quote(&mut self, intro: &str, quoted: &str) {
        let _ = writeln!(self.text, "{intro}");
        // Every line break a mail client may honour, a lone CR included.
        for line in quoted.replace("\r\n", "\n").split(['\r', '\n']) {
            let _ = writeln!(self.text, "> {line}");
        }
        self.text.push('\n');
        let _ = writeln!(
            self.html,
            "<p>{}</p>\n<blockquote style=\"white-space:pre-line\">{}</blockquote>",
            escape(intro),
            escape(quoted)
        );
    }

    fn lines(&mut self, lines: &[Line], currency: &str) {
        self.html.push_str("<table role=\"presentation\">\n");
        for line in lines {
            let amount = format_money(line.line_total_cents, currency);
            let _ = writeln!(
                self.text,
                "  {} x {}  {amount}",
                line.quantity,
                one_line(&line.name)
            );
            let _ = writeln!(
                self.html,
                "<tr><td>{} &times; {}</td><td style=\"text-align:right\">{}</td></tr>",
                line.quantity,
                escape(&line.name),
                escape(&amount)
            );
        }
        self.text.push('\n');
        self.html.push_str("</table>\n");
    }

    fn link(&mut self, label: &str, url: &str) {
        let _ = write!(self.text, "{label}: {url}\n\n");
        let _ = writeln!(
            self.html,
            "<p><a href=\"{}\">{}</a></p>",
            escape(url),
            escape(label)
        );
    }

    fn finish(self, subject: String) -> Rendered {
        let text = format!("{}-- \nGame Store\n", self.text);
        let html = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n{}<p>&mdash; Game Store</p>\n</body></html>\n",
            escape(&subject),
            self.html
        );
        Rendered {
            subject,
            text,
            html,
        }
    }
}

pub fn render(notice: &Notice, ctx: &Context) -> Rendered {
    let base = &ctx.base_url;
    match notice {
        Notice::Receipt {
            order_id,
            username,
            lines,
            discount_cents,
            total_cents,
            currency,
            gift_to,
        } => {
            let mut body = Body::new(&format!("Hello {username},"));
            body.para(&match gift_to {
                Some(to) => format!("Thank you for your order: your gift to {to} is paid."),
                None => "Thank you for your order: it is paid.".to_owned(),
            });
            body.lines(lines, currency);
            // Each line is what was paid for it, its share of the discount already off, so
            // the lines add up to the total (a separate "Discount" line read as taken off again).
            if *discount_cents > 0 {
                body.para(&format!(
                    "The prices above include your discount of {}.",
                    format_money(*discount_cents, currency)
                ));
            }
            body.para(&format!(
                "Total paid: {}",
                format_money(*total_cents, currency)
            ));
            body.para(&format!("Order: {order_id}"));
            body.link("Your order", &format!("{base}/orders/{order_id}"));
            if gift_to.is_none() {
                body.link("Your library", &format!("{base}/library"));
            }
            body.finish(format!("Your receipt for order {}", short(order_id)))
        }
        Notice::Refund {
            order_id,
            username,
            amount_cents,
            refunded_cents,
            total_cents,
            currency,
            lines,
            fully_refunded,
            gift,
        } => {
            let mut body = Body::new(&format!("Hello {username},"));
            body.para(&format!(
                "We have refunded {} of your order {order_id}.",
                format_money(*amount_cents, currency)
            ));
            match (lines.is_empty(), *gift) {
                (true, false) => {
                    body.para("This refund was by amount: your items stay in your library.");
                }
                (true, true) => body.para(
                    "This refund was by amount: the gifted items stay in their recipient's library.",
                ),
                (false, false) => {
                    body.para("These items were taken back and have left your library:");
                    body.lines(lines, currency);
                }
                (false, true) => {
                    body.para(
                        "These gifted items were taken back and have left their recipient's library:",
                    );
                    body.lines(lines, currency);
                }
            }
            body.para(&if *fully_refunded {
                format!(
                    "The order is now fully refunded ({}).",
                    format_money(*total_cents, currency)
                )
            } else {
                format!(
                    "Refunded so far: {} of {}.",
                    format_money(*refunded_cents, currency),
                    format_money(*total_cents, currency)
                )
            });
            body.para(
                "The money goes back to how you paid; your bank may take a few days to show it.",
            );
            body.link("Your order", &format!("{base}/orders/{order_id}"));
            body.finish(format!("Refund for order {}", short(order_id)))
        }
        Notice::GiftReceived {
            order_id: _,
            username,
            from_username,
            lines,
            message,
        } => {
            let mut body = Body::new(&format!("Hello {username},"));
            body.para(&format!("{from_username} sent you a gift:"));
            for line in lines {
                let _ = writeln!(body.text, "  {} x {}", line.quantity, one_line(&line.name));
                let _ = writeln!(
                    body.html,
                    "<p>{} &times; {}</p>",
                    line.quantity,
                    escape(&line.name)
                );
            }
            body.text.push('\n');
            if let Some(message) = message {
                body.quote(&format!("Their message, from {from_username}:"), message);
            }
            body.link("Your library", &format!("{base}/library"));
            body.finish(one_line(&format!("{from_username} sent you a gift")))
        }
        Notice::VerifyEmail {
            username,
            token,
            expires_at,
        } => {
            let mut body = Body::new(&format!("Hello {username},"));
            body.para(
                "Please confirm that this is your email address, so that we can send you receipts:",
            );
            body.link(
                "Confirm my email address",
                &format!("{base}/verify-email?token={token}"),
            );
            body.para(&format!(
                "The link works until {} (UTC). If you did not ask for this, ignore this message: nothing will be sent to you.",
                expires_at.format("%Y-%m-%d %H:%M")
            ));
            body.finish("Confirm your email address".to_owned())
        }
    }
}

fn short(order_id: &uuid::Uuid) -> String {
    order_id.simple().to_string()[..8].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn ctx() -> Context {
        Context {
            base_url: "https://shop.example.com".into(),
        }
    }

    #[test]
    fn markup_in_names_stays_text_in_the_html_part() {
        let notice = Notice::GiftReceived {
            order_id: Uuid::nil(),
            username: "bob".into(),
            from_username: "ada".into(),
            lines: vec![Line {
                name: "<script>alert(1)</script> & \"Sword\"".into(),
                quantity: 1,
                line_total_cents: 500,
            }],
            message: Some("<img src=x onerror=alert(1)>".into()),
        };
        let r = render(&notice, &ctx());
        assert!(!r.html.contains("<script>"));
        assert!(!r.html.contains("<img"));
        assert!(
            r.html
                .contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Sword&quot;")
        );
        assert!(r.text.contains("<script>alert(1)</script>"));
    }

    #[test]
    fn a_receipt_lists_lines_total_and_links() {
        let order_id = Uuid::new_v4();
        let r = render(
            &Notice::Receipt {
                order_id,
                username: "ada".into(),
                lines: vec![
                    Line {
                        name: "Sword".into(),
                        quantity: 2,
                        line_total_cents: 1998,
                    },
                    Line {
                        name: "Shield".into(),
                        quantity: 1,
                        line_total_cents: 500,
                    },
                ],
                discount_cents: 100,
                total_cents: 2498,
                currency: "USD".into(),
                gift_to: None,
            },
            &ctx(),
        );
        assert!(r.subject.starts_with("Your receipt for order "));
        assert!(r.text.contains("2 x Sword  $19.98"));
        assert!(r.text.contains("Total paid: $24.98"));
        assert!(
            r.text
                .contains("The prices above include your discount of $1.00.")
        );
        assert!(
            r.text
                .contains(&format!("https://shop.example.com/orders/{order_id}"))
        );
        assert!(r.html.contains(&format!(
            "href=\"https://shop.example.com/orders/{order_id}\""
        )));
    }

    #[test]
    fn a_gift_message_is_quoted_and_a_gift_refund_names_the_recipient_library() {
        let r = render(
            &Notice::GiftReceived {
                order_id: Uuid::nil(),
                username: "bob".into(),
                from_username: "ada".into(),
                lines: vec![],
                message: Some("Enjoy!\n\n-- \nGame Store support: call 555".into()),
            },
            &ctx(),
        );
        assert!(
            r.text
                .contains("Their message, from ada:\n> Enjoy!\n> \n> -- \n> Game Store support")
        );
        assert!(!r.text.contains("\nGame Store support"));
        let cr = render(
            &Notice::GiftReceived {
                order_id: Uuid::nil(),
                username: "bob".into(),
                from_username: "ada".into(),
                lines: vec![],
                message: Some("Enjoy!\r\rSupport: call 555".into()),
            },
            &ctx(),
        );
        assert!(
            cr.text.contains("> Enjoy!\n> \n> Support: call 555"),
            "{}",
            cr.text
        );
        let refund = |gift: bool| {
            render(
                &Notice::Refund {
                    order_id: Uuid::nil(),
                    username: "ada".into(),
                    amount_cents: 500,
                    refunded_cents: 500,
                    total_cents: 1000,
                    currency: "USD".into(),
                    lines: vec![Line {
                        name: "Sword".into(),
                        quantity: 1,
                        line_total_cents: 500,
                    }],
                    fully_refunded: false,
                    gift,
                },
                &ctx(),
            )
            .text
        };
        assert!(refund(false).contains("have left your library"));
        assert!(refund(true).contains("have left their recipient's library"));
        assert!(!refund(true).contains("your library"));
        // A notice written before `gift` existed still reads.
        let old: Notice = serde_json::from_value(serde_json::json!({
            "kind": "refund", "order_id": Uuid::nil(), "username": "ada", "amount_cents": 1,
            "refunded_cents": 1, "total_cents": 2, "currency": "USD", "lines": [],
            "fully_refunded": false,
        }))
        .expect("an older notice");
        assert!(matches!(old, Notice::Refund { gift: false, .. }));
    }

    #[test]
    fn subjects_are_one_line() {
        let r = render(
            &Notice::GiftReceived {
                order_id: Uuid::nil(),
                username: "bob".into(),
                from_username: "ada\r\nBcc: x@example.com".into(),
                lines: vec![],
                message: None,
            },
            &ctx(),
        );
        assert!(!r.subject.contains('\n') && !r.subject.contains('\r'));
    }
}
