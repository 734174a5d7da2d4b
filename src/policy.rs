//! Import prefix lists: which prefixes a neighbor may give us.
//!
//! Each entry is written like a prefix-list line of FRR or Cisco:
//!
//! - `PREFIX`: exactly that prefix;
//! - `PREFIX le N`: that prefix and its more specifics up to length N;
//! - `PREFIX ge N`: the more specifics of that prefix of length N or longer;
//! - `PREFIX ge N le M`: its more specifics of a length from N to M.
//!
//! A route is accepted if any entry matches. The default accepts the default
//! routes only (`0.0.0.0/0` and `::/0`): a host needs nothing else from its
//! leaves, and a leaked full table is then dropped prefix by prefix without
//! being kept. Checking runs for every received prefix, so it allocates
//! nothing and walks a short vector of precomputed masks per family.

use std::fmt;
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// One prefix-list entry: a prefix, and the range of lengths of it (and of
/// its more specifics) it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrefixRule {
    prefix: IpNet,
    min_len: u8,
    max_len: u8,
}

impl PrefixRule {
    pub fn prefix(&self) -> IpNet {
        self.prefix
    }

    /// The shortest and longest prefix lengths this entry matches.
    pub fn lengths(&self) -> (u8, u8) {
        (self.min_len, self.max_len)
    }
}

/// Why an import entry does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrefixRuleError {
    /// The first word is not a prefix.
    BadPrefix(String),
    /// The prefix has bits set after its length.
    NotANetwork(IpNet),
    /// A word that is neither `ge`, `le` nor their number, or one out of
    /// order.
    Unexpected(String),
    /// `ge` or `le` without a number from 0 to 255 after it.
    BadLength { keyword: &'static str, text: String },
    /// A length shorter than the prefix's own, or longer than the family's
    /// longest.
    LengthOutOfRange {
        keyword: &'static str,
        len: u8,
        prefix: IpNet,
    },
    /// `ge N le M` with N greater than M.
    GeAboveLe { ge: u8, le: u8 },
}

const GRAMMAR: &str = "write PREFIX, PREFIX le N, PREFIX ge N or PREFIX ge N le M";

impl fmt::Display for PrefixRuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrefixRuleError::BadPrefix(text) if text.is_empty() => {
                write!(f, "the entry is empty; {GRAMMAR}")
            }
            PrefixRuleError::BadPrefix(text) => write!(
                f,
                "`{text}` is not a prefix; write it as ADDRESS/LENGTH, like 10.0.0.0/8 or 2001:db8::/32"
            ),
            PrefixRuleError::NotANetwork(net) => write!(
                f,
                "{net} has bits set after the prefix length; the prefix is {}",
                net.trunc()
            ),
            PrefixRuleError::Unexpected(word) => write!(f, "unexpected `{word}`; {GRAMMAR}"),
            PrefixRuleError::BadLength { keyword, text } => write!(
                f,
                "`{keyword}` needs a prefix length after it, not `{text}`"
            ),
            PrefixRuleError::LengthOutOfRange {
                keyword,
                len,
                prefix,
            } => write!(
                f,
                "{keyword} {len} is out of range for {prefix}: it must be from {} to {}",
                prefix.prefix_len(),
                prefix.max_prefix_len()
            ),
            PrefixRuleError::GeAboveLe { ge, le } => {
                write!(f, "ge {ge} is greater than le {le}; no length would match")
            }
        }
    }
}

impl std::error::Error for PrefixRuleError {}

impl FromStr for PrefixRule {
    type Err = PrefixRuleError;

    fn from_str(text: &str) -> Result<PrefixRule, PrefixRuleError> {
        let mut words = text.split_whitespace();
        let first = words.next().unwrap_or_default();
        let prefix: IpNet = first
            .parse()
            .map_err(|_| PrefixRuleError::BadPrefix(first.to_owned()))?;
        if prefix != prefix.trunc() {
            return Err(PrefixRuleError::NotANetwork(prefix));
        }
        let mut ge = None;
        let mut le = None;
        while let Some(word) = words.next() {
            let (slot, keyword) = match word {
                // `ge` comes first, as in FRR; each keyword at most once.
                "ge" if ge.is_none() && le.is_none() => (&mut ge, "ge"),
                "le" if le.is_none() => (&mut le, "le"),
                _ => return Err(PrefixRuleError::Unexpected(word.to_owned())),
            };
            let number = words.next().unwrap_or_default();
            let len: u8 = number.parse().map_err(|_| PrefixRuleError::BadLength {
                keyword,
                text: number.to_owned(),
            })?;
            if len < prefix.prefix_len() || len > prefix.max_prefix_len() {
                return Err(PrefixRuleError::LengthOutOfRange {
                    keyword,
                    len,
                    prefix,
                });
            }
            *slot = Some(len);
        }
        let (min_len, max_len) = match (ge, le) {
            (None, None) => (prefix.prefix_len(), prefix.prefix_len()),
            (None, Some(le)) => (prefix.prefix_len(), le),
            (Some(ge), None) => (ge, prefix.max_prefix_len()),
            (Some(ge), Some(le)) if ge > le => return Err(PrefixRuleError::GeAboveLe { ge, le }),
            (Some(ge), Some(le)) => (ge, le),
        };
        Ok(PrefixRule {
            prefix,
            min_len,
            max_len,
        })
    }
}

impl fmt::Display for PrefixRule {
    /// The shortest form that parses back to the same entry.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let own = self.prefix.prefix_len();
        let longest = self.prefix.max_prefix_len();
        write!(f, "{}", self.prefix)?;
        match (self.min_len, self.max_len) {
            (min, max) if min == own && max == own => Ok(()),
            (min, max) if min == own => write!(f, " le {max}"),
            (min, max) if max == longest => write!(f, " ge {min}"),
            (min, max) => write!(f, " ge {min} le {max}"),
        }
    }
}

/// A rule compiled for one family: the network as an integer, its mask, and
/// the length range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct V4Rule {
    network: u32,
    mask: u32,
    min_len: u8,
    max_len: u8,
}

impl V4Rule {
    fn new(net: Ipv4Net, rule: &PrefixRule) -> V4Rule {
        V4Rule {
            network: u32::from(net.network()),
            mask: u32::from(net.netmask()),
            min_len: rule.min_len,
            max_len: rule.max_len,
        }
    }

    fn matches(&self, candidate: &Ipv4Net) -> bool {
        // min_len is never shorter than the rule's own length, so a candidate
        // in range has at least the rule's mask bits significant.
        let len = candidate.prefix_len();
        self.min_len <= len
            && len <= self.max_len
            && u32::from(candidate.addr()) & self.mask == self.network
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct V6Rule {
    network: u128,
    mask: u128,
    min_len: u8,
    max_len: u8,
}

impl V6Rule {
    fn new(net: Ipv6Net, rule: &PrefixRule) -> V6Rule {
        V6Rule {
            network: u128::from(net.network()),
            mask: u128::from(net.netmask()),
            min_len: rule.min_len,
            max_len: rule.max_len,
        }
    }

    fn matches(&self, candidate: &Ipv6Net) -> bool {
        let len = candidate.prefix_len();
        self.min_len <= len
            && len <= self.max_len
            && u128::from(candidate.addr()) & self.mask == self.network
    }
}

/// The prefixes accepted from one neighbor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportPolicy {
    rules: Vec<PrefixRule>,
    v4: Vec<V4Rule>,
    v6: Vec<V6Rule>,
}

impl ImportPolicy {
    /// A policy of these entries; none accepts nothing.
    pub fn new(rules: Vec<PrefixRule>) -> ImportPolicy {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for rule in &rules {
            match rule.prefix {
                IpNet::V4(net) => v4.push(V4Rule::new(net, rule)),
                IpNet::V6(net) => v6.push(V6Rule::new(net, rule)),
            }
        }
        ImportPolicy { rules, v4, v6 }
    }

    /// Parse a list of entries; on error, the index of the entry at fault.
    pub fn parse<'a>(
        entries: impl IntoIterator<Item = &'a str>,
    ) -> Result<ImportPolicy, (usize, PrefixRuleError)> {
        let rules = entries
            .into_iter()
            .enumerate()
            .map(|(i, text)| text.parse().map_err(|e| (i, e)))
            .collect::<Result<Vec<PrefixRule>, _>>()?;
        Ok(ImportPolicy::new(rules))
    }

    pub fn rules(&self) -> &[PrefixRule] {
        &self.rules
    }

    /// Whether a received prefix may be kept.
    pub fn accepts(&self, prefix: &IpNet) -> bool {
        match prefix {
            IpNet::V4(p) => self.v4.iter().any(|r| r.matches(p)),
            IpNet::V6(p) => self.v6.iter().any(|r| r.matches(p)),
        }
    }
}

impl Default for ImportPolicy {
    /// The default routes, exactly.
    fn default() -> ImportPolicy {
        let default_routes = [IpNet::V4(Ipv4Net::default()), IpNet::V6(Ipv6Net::default())];
        ImportPolicy::new(
            default_routes
                .into_iter()
                .map(|prefix| PrefixRule {
                    prefix,
                    min_len: 0,
                    max_len: 0,
                })
                .collect(),
        )
    }
}

impl fmt::Display for ImportPolicy {
    /// The entries, comma separated; `none` for an empty policy.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rules.is_empty() {
            return f.write_str("none");
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{rule}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn policy(entries: &[&str]) -> ImportPolicy {
        ImportPolicy::parse(entries.iter().copied()).unwrap()
    }

    #[test]
    fn default_accepts_the_default_routes_only() {
        let p = ImportPolicy::default();
        assert!(p.accepts(&net("0.0.0.0/0")));
        assert!(p.accepts(&net("::/0")));
        assert!(!p.accepts(&net("10.0.0.0/8")));
        assert!(!p.accepts(&net("0.0.0.0/1")));
        assert!(!p.accepts(&net("2001:db8::/32")));
        assert_eq!(p, policy(&["0.0.0.0/0", "::/0"]));
        assert_eq!(p.to_string(), "0.0.0.0/0, ::/0");
    }

    #[test]
    fn zero_le_32_accepts_every_ipv4_route_and_no_ipv6_route() {
        let p = policy(&["0.0.0.0/0 le 32"]);
        for s in ["0.0.0.0/0", "10.0.0.0/8", "192.0.2.1/32", "128.0.0.0/1"] {
            assert!(p.accepts(&net(s)), "{s}");
        }
        assert!(!p.accepts(&net("::/0")));
        assert!(!p.accepts(&net("2001:db8::/32")));
    }

    #[test]
    fn exact_entry_matches_only_itself() {
        let p = policy(&["10.0.0.0/8"]);
        assert!(p.accepts(&net("10.0.0.0/8")));
        assert!(!p.accepts(&net("10.0.0.0/9")));
        assert!(!p.accepts(&net("10.0.0.0/7")));
        assert!(!p.accepts(&net("11.0.0.0/8")));
    }

    #[test]
    fn le_and_ge_bound_the_length_of_more_specifics() {
        let p = policy(&["10.0.0.0/8 ge 16 le 24"]);
        assert!(!p.accepts(&net("10.0.0.0/8")));
        assert!(!p.accepts(&net("10.1.0.0/15")));
        assert!(p.accepts(&net("10.1.0.0/16")));
        assert!(p.accepts(&net("10.1.2.0/24")));
        assert!(!p.accepts(&net("10.1.2.0/25")));
        assert!(!p.accepts(&net("11.1.2.0/24")));

        let p = policy(&["2001:db8::/32 le 48"]);
        assert!(p.accepts(&net("2001:db8::/32")));
        assert!(p.accepts(&net("2001:db8:1::/48")));
        assert!(!p.accepts(&net("2001:db8:1:1::/64")));
        assert!(!p.accepts(&net("2001:db9::/48")));

        let p = policy(&["192.0.2.0/24 ge 32"]);
        assert!(p.accepts(&net("192.0.2.7/32")));
        assert!(!p.accepts(&net("192.0.2.0/31")));
    }

    #[test]
    fn any_entry_may_match() {
        let p = policy(&["10.0.0.0/8", "0.0.0.0/0"]);
        assert!(p.accepts(&net("0.0.0.0/0")));
        assert!(p.accepts(&net("10.0.0.0/8")));
        assert!(!p.accepts(&net("10.0.0.0/16")));
        assert!(!policy(&[]).accepts(&net("0.0.0.0/0")));
        assert_eq!(policy(&[]).to_string(), "none");
    }

    #[test]
    fn bad_entries_are_refused_with_the_reason() {
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("10.0.0.0", "not a prefix"),
            ("10.0.0.0/33", "not a prefix"),
            ("10.1.0.0/8", "the prefix is 10.0.0.0/8"),
            ("10.0.0.0/8 le", "needs a prefix length"),
            ("10.0.0.0/8 le x", "not `x`"),
            (
                "10.0.0.0/8 le 7",
                "le 7 is out of range for 10.0.0.0/8: it must be from 8 to 32",
            ),
            ("10.0.0.0/8 le 33", "from 8 to 32"),
            ("::/0 le 129", "from 0 to 128"),
            ("10.0.0.0/8 ge 7", "ge 7 is out of range"),
            ("10.0.0.0/8 ge 24 le 16", "ge 24 is greater than le 16"),
            ("10.0.0.0/8 le 24 ge 16", "unexpected `ge`"),
            ("10.0.0.0/8 le 24 le 25", "unexpected `le`"),
            ("10.0.0.0/8 lt 24", "unexpected `lt`"),
        ];
        for (text, reason) in cases {
            let err = text.parse::<PrefixRule>().unwrap_err().to_string();
            assert!(err.contains(reason), "{text:?}: {err}");
        }
        assert_eq!(
            ImportPolicy::parse(["0.0.0.0/0", "bogus"]).unwrap_err().0,
            1
        );
    }

    #[test]
    fn display_parses_back_to_the_same_entry() {
        for text in [
            "10.0.0.0/8",
            "10.0.0.0/8 le 24",
            "10.0.0.0/8 ge 16",
            "10.0.0.0/8 ge 16 le 24",
            "::/0 le 128",
        ] {
            let rule: PrefixRule = text.parse().unwrap();
            assert_eq!(rule.to_string(), text);
        }
        let same: PrefixRule = "10.0.0.0/8 ge 8 le 8".parse().unwrap();
        assert_eq!(same.to_string(), "10.0.0.0/8");
    }

    proptest! {
        /// The compiled masks agree with ipnet's own containment.
        #[test]
        fn accepts_agrees_with_containment(
            rule_addr in any::<u32>(), rule_len in 0u8..=32,
            extra in 0u8..=32, width in 0u8..=32,
            cand_addr in any::<u32>(), cand_len in 0u8..=32,
        ) {
            let rule_net = Ipv4Net::new(rule_addr.into(), rule_len).unwrap().trunc();
            let min = rule_len.saturating_add(extra).min(32);
            let max = min.saturating_add(width).min(32);
            let text = format!("{rule_net} ge {min} le {max}");
            let p = policy(&[&text]);
            let cand = Ipv4Net::new(cand_addr.into(), cand_len).unwrap();
            let expected = rule_net.contains(&cand.trunc()) && (min..=max).contains(&cand_len);
            prop_assert_eq!(p.accepts(&IpNet::V4(cand)), expected);
        }
    }
}
