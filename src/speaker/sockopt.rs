//! Socket options the standard library and tokio do not wrap: TCP MD5
//! signatures (RFC 2385) and the Generalized TTL Security Mechanism
//! (RFC 5082). The only module of the daemon allowed `unsafe`: each block is
//! one `setsockopt` call on a borrowed, open descriptor with a value whose
//! size is the size passed.
#![allow(unsafe_code)]

use std::io;
use std::mem::size_of;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd};

/// `TCP_MD5SIG_MAXKEYLEN` of `<linux/tcp.h>`.
pub const MD5_MAX_KEY_LEN: usize = 80;

/// `struct tcp_md5sig` of `<linux/tcp.h>`; libc does not define it.
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefix_len: u8,
    key_len: u16,
    ifindex: libc::c_int,
    key: [u8; MD5_MAX_KEY_LEN],
}

fn setsockopt<T>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    // SAFETY: `fd` is an open descriptor for the lifetime of the borrow, and
    // `value` points to `size_of::<T>()` initialised bytes that outlive the call.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn sockaddr_storage(peer: IpAddr) -> libc::sockaddr_storage {
    // SAFETY: sockaddr_storage is plain old data; all zeroes is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    match peer {
        IpAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
        }
        IpAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: 0,
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: a.octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
        }
    }
    storage
}

/// RFC 2385: sign every segment to and from `peer` with `key`. On a listening
/// socket this admits the peer's connections; an empty key removes it.
pub fn set_md5_key(fd: BorrowedFd<'_>, peer: IpAddr, key: &[u8]) -> io::Result<()> {
    if key.len() > MD5_MAX_KEY_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "TCP MD5 key is {} octets; the kernel takes at most {MD5_MAX_KEY_LEN}",
                key.len()
            ),
        ));
    }
    let mut sig = TcpMd5Sig {
        addr: sockaddr_storage(peer),
        flags: 0,
        prefix_len: 0,
        key_len: key.len() as u16,
        ifindex: 0,
        key: [0; MD5_MAX_KEY_LEN],
    };
    sig.key[..key.len()].copy_from_slice(key);
    setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_MD5SIG, &sig)
}

/// RFC 5082 §3: send with TTL 255 and drop anything that arrives with a TTL
/// below `255 - (hops - 1)`, so only a directly connected peer (hops = 1)
/// can reach the session.
pub fn set_ttl_security(fd: BorrowedFd<'_>, v6: bool, hops: u8) -> io::Result<()> {
    let min: libc::c_int = 256 - libc::c_int::from(hops.max(1));
    let max: libc::c_int = 255;
    if v6 {
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, &max)?;
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT, &min)
    } else {
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_TTL, &max)?;
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_MINTTL, &min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn md5_struct_matches_the_kernel_layout() {
        // <linux/tcp.h>: 128 + 1 + 1 + 2 + 4 + 80.
        assert_eq!(size_of::<TcpMd5Sig>(), 216);
    }

    #[test]
    fn options_apply_to_a_real_socket() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        set_md5_key(listener.as_fd(), "127.0.0.2".parse().unwrap(), b"secret").unwrap();
        set_ttl_security(listener.as_fd(), false, 1).unwrap();
        let too_long = [b'k'; MD5_MAX_KEY_LEN + 1];
        assert!(set_md5_key(listener.as_fd(), "127.0.0.2".parse().unwrap(), &too_long).is_err());
    }
}
