//! The client's address, for throttling: the socket peer, or what our own proxies wrote.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use http::request::Parts;
use store::Store;

/// The client's address: the socket peer, or, behind `TRUST_FORWARDED_FOR` proxies of our own,
/// the entry they wrote into `X-Forwarded-For` (see [`client_address`]).
pub struct ClientIp(pub Option<IpAddr>);

impl<S> FromRequestParts<S> for ClientIp
where
    Store: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let store = Store::from_ref(state);
        Ok(ClientIp(client_ip(parts, store.settings().trusted_proxies)))
    }
}

/// [`client_address`] of a request: every `X-Forwarded-For` header in order (a proxy may add
/// its own header instead of appending to the client's), and the socket peer.
pub fn client_ip(parts: &Parts, trusted_proxies: usize) -> Option<IpAddr> {
    let forwarded: Vec<&str> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    client_address(Some(&forwarded.join(",")), peer, trusted_proxies)
}

/// The client's address for throttling. With `trusted_proxies = 0` it is the socket peer.
/// Behind `trusted_proxies` proxies of our own, each of which appends the address it saw to
/// `X-Forwarded-For`, the client is that many entries from the right; anything further left
/// was written by the client and is ignored, so a client cannot choose its own throttle key.
/// `forwarded_for` is every `X-Forwarded-For` header joined with commas, in order.
pub fn client_address(
    forwarded_for: Option<&str>,
    peer: Option<std::net::IpAddr>,
    trusted_proxies: usize,
) -> Option<std::net::IpAddr> {
    if trusted_proxies == 0 {
        return peer;
    }
    let hops: Vec<&str> = forwarded_for
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    hops.len()
        .checked_sub(trusted_proxies)
        .and_then(|i| hops[i].parse().ok())
        .or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_the_rightmost_address_our_proxies_wrote() {
        let peer: Option<std::net::IpAddr> = "10.0.0.9".parse().ok();
        let ip = |s: &str| s.parse::<std::net::IpAddr>().ok();
        // Not behind a proxy: the header is the client's own words and is ignored.
        assert_eq!(client_address(Some("1.2.3.4"), peer, 0), peer);
        // One proxy: it appended the real client; whatever the client wrote is to its left.
        assert_eq!(
            client_address(Some("6.6.6.6, 1.2.3.4"), peer, 1),
            ip("1.2.3.4")
        );
        assert_eq!(client_address(Some("1.2.3.4"), peer, 1), ip("1.2.3.4"));
        // Two proxies: the client is second from the right.
        assert_eq!(
            client_address(Some("6.6.6.6, 1.2.3.4, 10.0.0.2"), peer, 2),
            ip("1.2.3.4")
        );
        // Fewer entries than proxies, or garbage: the socket peer.
        assert_eq!(client_address(Some("1.2.3.4"), peer, 2), peer);
        assert_eq!(client_address(Some("not-an-ip"), peer, 1), peer);
        assert_eq!(client_address(None, peer, 1), peer);
    }
}
