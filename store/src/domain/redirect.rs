use url::Url;

/// Where to send a browser after it logs in or registers: a path on the store itself, or `/`.
///
/// `next` comes from the address bar, so it is parsed strictly: one leading `/` (not `//`), no
/// backslash (browsers read `/\evil` as `//evil`), no whitespace or control character (browsers
/// strip a tab from `/\t/evil` and land on `//evil`; a CR or LF would break the `Location`
/// header), and once resolved against `PUBLIC_URL` it must still be on the store's own origin
/// with a path that does not start with `//` (dot segments are resolved by then). Anything else
/// falls back to `/`.
pub fn redirect_target(next: Option<&str>, public_url: &Url) -> String {
    next.and_then(|next| same_site_path(next, public_url))
        .unwrap_or_else(|| "/".to_owned())
}

fn same_site_path(next: &str, public_url: &Url) -> Option<String> {
    let plain = next.len() <= 2048
        && next.starts_with('/')
        && !next.starts_with("//")
        && !next
            .chars()
            .any(|c| c == '\\' || c.is_whitespace() || c.is_control());
    if !plain {
        return None;
    }
    let resolved = public_url.join(next).ok()?;
    if resolved.origin() != public_url.origin() {
        return None;
    }
    // Dot segments are resolved only now: `/.//evil` or `/a/..//evil` (also percent-encoded)
    // become `//evil`, which a browser reads as another host.
    if resolved.path().starts_with("//") {
        return None;
    }
    let mut target = resolved.path().to_owned();
    if let Some(query) = resolved.query() {
        target.push('?');
        target.push_str(query);
    }
    if let Some(fragment) = resolved.fragment() {
        target.push('#');
        target.push_str(fragment);
    }
    Some(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(next: &str) -> String {
        let base = Url::parse("https://shop.example.com/").expect("valid");
        redirect_target(Some(next), &base)
    }

    #[test]
    fn store_paths_are_kept() {
        assert_eq!(target("/orders"), "/orders");
        assert_eq!(target("/items/1?confirm=1"), "/items/1?confirm=1");
        assert_eq!(target("/a/../orders#top"), "/orders#top");
        assert_eq!(target("/%2F%2Fevil.example"), "/%2F%2Fevil.example");
    }

    #[test]
    fn anything_that_could_leave_the_store_falls_back_to_the_catalog() {
        for next in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\t\\evil.example",
            "/ /evil.example",
            "/\r\nSet-Cookie: x=1",
            "/\0",
            "/.//evil.example/x",
            "/a/..//evil.example",
            "/%2e//evil.example",
            "/%2e%2e//evil.example",
            "/x/%2e%2e//evil.example/p",
            "/x/%2E%2E/%2E//evil.example",
            "/./%2e/..//evil.example",
            "javascript:alert(1)",
            "evil.example",
            "",
        ] {
            assert_eq!(target(next), "/", "{next:?}");
        }
        let base = Url::parse("http://127.0.0.1:3000").expect("valid");
        assert_eq!(redirect_target(None, &base), "/");
        assert_eq!(redirect_target(Some(&"/a".repeat(2000)), &base), "/");
    }
}
