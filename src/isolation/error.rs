//! What went wrong running `nft`, in nft's own words, with what to do.

use std::fmt;
use std::io;
use std::process::ExitStatus;

use crate::kernel::Errno;

/// Running `nft` failed. A script nft refuses is one transaction that did
/// not happen: the live table is as it was.
#[derive(Debug)]
pub enum NftError {
    /// `nft` could not be started or fed.
    Run {
        doing: &'static str,
        source: io::Error,
    },
    /// `nft` ran and refused.
    Refused {
        doing: &'static str,
        status: ExitStatus,
        stderr: String,
    },
    /// `nft -j` printed something this daemon cannot read.
    Unreadable { doing: &'static str, reason: String },
    /// The nfnetlink socket failed.
    Netlink {
        doing: &'static str,
        source: io::Error,
    },
    /// nf_tables refused a request over netlink; a batch refused is one
    /// transaction that did not happen.
    Kernel { doing: &'static str, errno: Errno },
    /// nf_tables did not answer every request of a batch.
    NoAnswer { doing: &'static str },
    /// The change does not fit one netlink batch.
    TooLarge { doing: &'static str },
}

impl fmt::Display for NftError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NftError::Run { doing, source } => {
                let advice = if source.kind() == io::ErrorKind::NotFound {
                    "install the `nftables` package; romana-bgp runs `nft` from PATH"
                } else {
                    "check that `nft` on PATH is runnable by the daemon's user"
                };
                write!(f, "cannot run `nft` to {doing}: {source} ({advice})")
            }
            NftError::Refused {
                doing,
                status,
                stderr,
            } => {
                let advice = if stderr.contains("Operation not permitted") {
                    "romana-bgp needs CAP_NET_ADMIN: run it as root"
                } else if stderr.contains("Could not process rule") {
                    "the kernel lacks an nf_tables feature the table uses \
                     (conntrack matches, concatenated sets): check that the \
                     `nf_tables` and `nft_ct` modules load"
                } else {
                    "report it as a romana-bgp bug together with this message"
                };
                write!(
                    f,
                    "`nft` refused to {doing} ({status}): {}; the live ruleset is unchanged ({advice})",
                    stderr.trim()
                )
            }
            NftError::Unreadable { doing, reason } => write!(
                f,
                "cannot read what `nft -j` printed to {doing}: {reason} \
                 (report it as a romana-bgp bug with the output of `nft --version`)"
            ),
            NftError::Netlink { doing, source } => write!(
                f,
                "cannot {doing} over netlink: {source} (romana-bgp needs CAP_NET_ADMIN \
                 and the `nf_tables` module)"
            ),
            NftError::Kernel { doing, errno } => write!(
                f,
                "nf_tables refused to {doing}: {errno}; nothing of it was changed \
                 (the daemon replaces the whole table instead)"
            ),
            NftError::NoAnswer { doing } => write!(
                f,
                "nf_tables did not answer every request to {doing} (the daemon \
                 replaces the whole table instead)"
            ),
            NftError::TooLarge { doing } => write!(
                f,
                "too many endpoints at once to {doing} in one netlink batch (the \
                 daemon replaces the whole table instead)"
            ),
        }
    }
}

impl std::error::Error for NftError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NftError::Run { source, .. } | NftError::Netlink { source, .. } => Some(source),
            NftError::Refused { .. }
            | NftError::Unreadable { .. }
            | NftError::Kernel { .. }
            | NftError::NoAnswer { .. }
            | NftError::TooLarge { .. } => None,
        }
    }
}
