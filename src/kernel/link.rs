//! Interface names to kernel indexes, which routes and addresses use.

use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::link::{LinkAttribute, LinkMessage};

use super::error::{Errno, LinkError};
use super::netlink::Netlink;
use super::route::IfIndex;

/// `IFNAMSIZ` less the terminating NUL.
const MAX_NAME_LEN: usize = 15;

impl Netlink {
    /// The index of the interface named `name` in this namespace.
    pub async fn ifindex(&self, name: &str) -> Result<IfIndex, LinkError> {
        if !valid_name(name) {
            return Err(LinkError::InvalidName { name: name.into() });
        }
        let mut request = LinkMessage::default();
        request.attributes.push(LinkAttribute::IfName(name.into()));
        match self.get(RouteNetlinkMessage::GetLink(request)).await {
            Ok(RouteNetlinkMessage::NewLink(link)) => IfIndex::new(link.header.index)
                .ok_or_else(|| LinkError::NotFound { name: name.into() }),
            Ok(_) => Err(LinkError::NotFound { name: name.into() }),
            Err(failure) if failure.errno() == Some(Errno::ENODEV) => {
                Err(LinkError::NotFound { name: name.into() })
            }
            Err(failure) => Err(LinkError::Netlink {
                name: name.into(),
                failure,
            }),
        }
    }
}

/// The kernel's own rule (`dev_valid_name`): 1 to 15 octets, not "." or
/// "..", no '/', ':' or whitespace.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name != "."
        && name != ".."
        && !name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b == 0 || b.is_ascii_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_follow_the_kernel_rule() {
        assert!(valid_name("lo"));
        assert!(valid_name("veth-0123456789"));
        assert!(!valid_name(""));
        assert!(!valid_name("veth-01234567890"));
        assert!(!valid_name(".."));
        assert!(!valid_name("a/b"));
        assert!(!valid_name("eth0:1"));
        assert!(!valid_name("a b"));
    }
}
