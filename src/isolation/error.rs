//! What went wrong running `nft`, in nft's own words, with what to do.

use std::fmt;
use std::io;
use std::process::ExitStatus;

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
        }
    }
}

impl std::error::Error for NftError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NftError::Run { source, .. } => Some(source),
            NftError::Refused { .. } | NftError::Unreadable { .. } => None,
        }
    }
}
