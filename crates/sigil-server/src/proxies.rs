//! The client's address behind reverse proxies (`http.trusted_proxies`).
//!
//! A request's TCP peer is the client, unless the peer is a proxy the
//! operator trusts. Then the address comes from the forwarding header that
//! proxy appends to (`X-Forwarded-For`, or RFC 7239 `Forwarded`; one of
//! them, named by `http.trusted_proxy_header`: the other reaches Sigil as
//! the client wrote it). The header is read from the right, hop by hop,
//! past every trusted address; the first untrusted one is the client.
//! Anything to its left was written by the client and is never believed.
//!
//! The middleware [`resolve_client`] runs before anything else and puts
//! that address in place of the request's peer address, so everything
//! after it — the sign-in throttle, the request log — sees the client
//! without knowing about proxies.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{FORWARDED, HeaderMap, HeaderName, X_FORWARDED_FOR};
use actix_web::middleware::Next;
use actix_web::web;

/// An IP network in CIDR notation, such as `10.0.0.0/8` or `::1/128`. A
/// bare address is a network of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Network {
    base: IpAddr,
    prefix: u8,
}

impl Network {
    /// Whether `ip` lies in the network. An IPv4 address seen as IPv6
    /// (`::ffff:10.0.0.1`, from a dual-stack listener) is compared as IPv4.
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match (self.base, ip.to_canonical()) {
            (IpAddr::V4(base), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(base) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(base), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(base) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Network {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (address, prefix) = text.split_once('/').map_or((text, None), |(a, p)| (a, Some(p)));
        let base: IpAddr = address
            .parse()
            .map_err(|_| format!("`{text}` is not an address or a network like 10.0.0.0/8"))?;
        let base = base.to_canonical();
        let max = if base.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{text}`: the prefix length must be 0 to {max}"))?,
        };
        let network = Self { base, prefix };
        // 10.0.0.1/8 is most likely a typo for a narrower network.
        if network.first() != base {
            return Err(format!(
                "`{text}` has bits set past its prefix; did you mean {}?",
                network.normalized()
            ));
        }
        Ok(network)
    }
}

impl Network {
    /// The network's first address.
    fn first(&self) -> IpAddr {
        match self.base {
            IpAddr::V4(ip) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                IpAddr::from((u32::from(ip) & mask).to_be_bytes())
            }
            IpAddr::V6(ip) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                IpAddr::from((u128::from(ip) & mask).to_be_bytes())
            }
        }
    }

    fn normalized(&self) -> Self {
        Self { base: self.first(), prefix: self.prefix }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

/// The forwarding header the trusted proxies append to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, HAProxy, most
    /// load balancers).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for="[2001:db8::1]:4711"`.
    Forwarded,
}

impl FromStr for ForwardedHeader {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            _ => Err(format!("`{text}` is neither `x-forwarded-for` nor `forwarded`")),
        }
    }
}

impl ForwardedHeader {
    fn name(self) -> HeaderName {
        match self {
            Self::XForwardedFor => X_FORWARDED_FOR,
            Self::Forwarded => FORWARDED,
        }
    }
}

/// Which peers may say who the client is, and in which header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TrustedProxies {
    pub(crate) networks: Vec<Network>,
    pub(crate) header: ForwardedHeader,
}

impl TrustedProxies {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|n| n.contains(ip))
    }

    /// The client's address for a request from `peer` with `headers`.
    pub(crate) fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        // Each proxy appends to the last line or adds a line below it, so
        // the lines in order, each left to right, are the hops in order.
        let hops: Vec<&str> = headers
            .get_all(self.header.name())
            .filter_map(|v| v.to_str().ok())
            .flat_map(|line| line.split(','))
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let address = match self.header {
                ForwardedHeader::XForwardedFor => parse_node(hop),
                ForwardedHeader::Forwarded => forwarded_for(hop),
            };
            // A hop that names no address (`unknown`, an obfuscated name,
            // garbage) ends the walk: nothing to its left can be placed.
            let Some(address) = address else { break };
            client = address;
            if !self.trusts(address) {
                break;
            }
        }
        client
    }
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`,
/// `2001:db8::1` or `[2001:db8::1]:4711`, possibly quoted.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(socket) = text.parse::<SocketAddr>() {
        return Some(socket.ip().to_canonical());
    }
    // RFC 7239 §6: a bracketed IPv6 address without a port.
    text.strip_prefix('[')?.strip_suffix(']')?.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// The `for` parameter of one RFC 7239 forwarded-element.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then(|| parse_node(value)).flatten()
    })
}

/// Middleware: replaces the request's peer address with the client's (see
/// the module docs). Mounted outermost, so the request log and every
/// handler see the same address.
pub(crate) async fn resolve_client(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let resolved = req
        .app_data::<web::Data<TrustedProxies>>()
        .filter(|proxies| !proxies.networks.is_empty())
        .zip(req.peer_addr())
        .map(|(proxies, peer)| (proxies.client(peer.ip(), req.headers()), peer))
        .filter(|(client, peer)| *client != peer.ip());
    if let Some((client, _)) = resolved {
        // The port is the proxy's and means nothing for the client.
        req.head_mut().peer_addr = Some(SocketAddr::new(client, 0));
    }
    next.call(req).await
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::*;

    fn proxies(networks: &[&str], header: ForwardedHeader) -> TrustedProxies {
        TrustedProxies { networks: networks.iter().map(|n| n.parse().unwrap()).collect(), header }
    }

    fn headers(name: &HeaderName, lines: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for line in lines {
            map.append(name.clone(), HeaderValue::from_str(line).unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn networks_parse_and_match() {
        let net: Network = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains(ip("10.1.255.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(net.contains(ip("::ffff:10.1.0.9")), "an IPv4-mapped peer is IPv4");
        assert!(!net.contains(ip("2001:db8::1")));
        let one: Network = "127.0.0.1".parse().unwrap();
        assert_eq!(one.to_string(), "127.0.0.1/32");
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6: Network = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")));
        let all: Network = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        for bad in ["10.0.0.0/33", "::/129", "10.0.0.1/8", "localhost", "10.0.0.0/", "10.0.0/8", ""] {
            assert!(bad.parse::<Network>().is_err(), "{bad}");
        }
        assert!("10.0.0.1/8".parse::<Network>().unwrap_err().contains("10.0.0.0/8"));
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let p = proxies(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        let spoofed = headers(&X_FORWARDED_FOR, &["198.51.100.7"]);
        assert_eq!(p.client(ip("203.0.113.5"), &spoofed), ip("203.0.113.5"));
        assert_eq!(TrustedProxies::default().client(ip("10.0.0.1"), &spoofed), ip("10.0.0.1"));
    }

    #[test]
    fn x_forwarded_for_is_read_from_the_right_past_trusted_hops() {
        let p = proxies(&["10.0.0.0/8", "127.0.0.1"], ForwardedHeader::XForwardedFor);
        let peer = ip("127.0.0.1");
        // The client forged the first entry; the edge proxy appended the real one.
        let chain = headers(&X_FORWARDED_FOR, &["192.0.2.66, 203.0.113.5, 10.0.0.3"]);
        assert_eq!(p.client(peer, &chain), ip("203.0.113.5"));
        // Several lines count as one list, in order.
        let lines = headers(&X_FORWARDED_FOR, &["192.0.2.66", "203.0.113.5:5555", "10.0.0.3"]);
        assert_eq!(p.client(peer, &lines), ip("203.0.113.5"));
        // Every hop trusted: the left-most is as far as anyone can tell.
        assert_eq!(p.client(peer, &headers(&X_FORWARDED_FOR, &["10.9.9.9, 10.0.0.3"])), ip("10.9.9.9"));
        // No header: the proxy itself made the request.
        assert_eq!(p.client(peer, &HeaderMap::new()), peer);
        // Garbage right of the trusted hops stops the walk at the last known hop.
        assert_eq!(
            p.client(peer, &headers(&X_FORWARDED_FOR, &["203.0.113.5, nonsense, 10.0.0.3"])),
            ip("10.0.0.3")
        );
        // The other header is the client's own writing and is ignored.
        assert_eq!(p.client(peer, &headers(&FORWARDED, &["for=192.0.2.66"])), peer);
        // IPv6 in brackets with a port.
        assert_eq!(p.client(peer, &headers(&X_FORWARDED_FOR, &["[2001:db8::7]:443"])), ip("2001:db8::7"));
    }

    #[test]
    fn forwarded_for_parameters_are_read_like_x_forwarded_for() {
        let p = proxies(&["127.0.0.0/8"], ForwardedHeader::Forwarded);
        let peer = ip("127.0.0.1");
        let chain = headers(
            &FORWARDED,
            &["for=192.0.2.66;proto=https, For=\"[2001:db8:cafe::17]:4711\";by=127.0.0.2, for=127.0.0.3"],
        );
        assert_eq!(p.client(peer, &chain), ip("2001:db8:cafe::17"));
        assert_eq!(p.client(peer, &headers(&FORWARDED, &["for=unknown"])), peer);
        assert_eq!(
            p.client(peer, &headers(&FORWARDED, &["proto=https;for=198.51.100.1"])),
            ip("198.51.100.1")
        );
        assert_eq!(p.client(peer, &headers(&X_FORWARDED_FOR, &["192.0.2.66"])), peer);
    }

    #[test]
    fn header_names_parse() {
        assert_eq!("X-Forwarded-For".parse(), Ok(ForwardedHeader::XForwardedFor));
        assert_eq!("forwarded".parse(), Ok(ForwardedHeader::Forwarded));
        assert!("x-real-ip".parse::<ForwardedHeader>().is_err());
    }
}
