//! The medians of the runs, as a Markdown table.

use std::fmt::Write;

use crate::daemon::{Kind, Policy};
use crate::measure::Sample;

/// Every sample of one speaker under one policy.
pub struct Series {
    pub policy: Policy,
    pub kind: Kind,
    pub samples: Vec<Sample>,
}

/// The median, and the smallest and largest value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// `None` for no values; the mean of the middle two for an even count.
pub fn spread(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
    let mut v: Vec<f64> = values.into_iter().collect();
    v.sort_by(f64::total_cmp);
    let (&min, &max) = (v.first()?, v.last()?);
    let mid = v.len() / 2;
    let median = if v.len() % 2 == 1 {
        *v.get(mid)?
    } else {
        (v.get(mid - 1)? + v.get(mid)?) / 2.0
    };
    Some(Spread { median, min, max })
}

pub fn policy_name(policy: Policy) -> &'static str {
    match policy {
        Policy::DefaultOnly => "default route only",
        Policy::AllToKernel => "accept all, into the kernel",
        Policy::AllRibOnly => "accept all, RIB only",
    }
}

fn seconds(s: Option<Spread>) -> String {
    match s {
        Some(s) if s.min == s.max => format!("{:.2}", s.median),
        Some(s) => format!("{:.2} ({:.2}–{:.2})", s.median, s.min, s.max),
        None => "—".into(),
    }
}

fn megabytes(s: Option<Spread>) -> String {
    match s {
        Some(s) => format!("{:.1}", s.median / 1024.0),
        None => "—".into(),
    }
}

fn percent(s: Option<Spread>) -> String {
    match s {
        Some(s) => format!("{:.0}", s.median),
        None => "—".into(),
    }
}

/// One row per speaker and policy: medians over the runs, with the range
/// of the times in parentheses.
pub fn markdown(series: &[Series]) -> String {
    let mut out = String::from(
        "| policy | speaker | runs | all received (s) | all accepted (s) | all in kernel (s) \
         | CPU (s) | idle RSS (MB) | RSS after (MB) | peak RSS (MB) | CPU after (%) |\n\
         | --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: |\n",
    );
    for s in series {
        let of = |f: fn(&Sample) -> f64| spread(s.samples.iter().map(f));
        let kernel = spread(s.samples.iter().filter_map(|x| x.kernel_secs));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            policy_name(s.policy),
            s.kind.name(),
            s.samples.len(),
            seconds(of(|x| x.received_secs)),
            seconds(of(|x| x.accepted_secs)),
            seconds(kernel),
            seconds(of(|x| x.cpu_secs)),
            megabytes(of(|x| x.idle.rss_kb as f64)),
            megabytes(of(|x| x.after.rss_kb as f64)),
            megabytes(of(|x| x.after.hwm_kb as f64)),
            percent(of(|x| x.after_cpu_percent)),
        );
    }
    out
}

/// One line for one run, as it finishes.
pub fn line(s: &Sample) -> String {
    let kernel = s
        .kernel_secs
        .map_or_else(|| "—".into(), |k| format!("{k:.2}s"));
    format!(
        "received {:.2}s accepted {:.2}s kernel {kernel} cpu {:.2}s | idle {:.1} MB ({:.1}% CPU) \
         after {:.1} MB peak {:.1} MB ({:.0}% CPU) | leaf write {:.2}s | load {:.2}",
        s.received_secs,
        s.accepted_secs,
        s.cpu_secs,
        s.idle.rss_kb as f64 / 1024.0,
        s.idle_cpu_percent,
        s.after.rss_kb as f64 / 1024.0,
        s.after.hwm_kb as f64 / 1024.0,
        s.after_cpu_percent,
        s.feeder_write_secs,
        s.load,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts_and_the_range() {
        assert_eq!(
            spread([3.0, 1.0, 2.0]),
            Some(Spread {
                median: 2.0,
                min: 1.0,
                max: 3.0
            })
        );
        assert_eq!(spread([4.0, 1.0, 2.0, 3.0]).unwrap().median, 2.5);
        assert_eq!(spread([]), None);
    }

    #[test]
    fn a_row_per_series_with_dashes_for_what_was_not_measured() {
        let sample = Sample {
            idle: crate::procfs::Memory {
                rss_kb: 5120,
                hwm_kb: 5120,
            },
            idle_cpu_percent: 0.0,
            received_secs: 0.4,
            accepted_secs: 0.5,
            kernel_secs: None,
            after: crate::procfs::Memory {
                rss_kb: 98304,
                hwm_kb: 102400,
            },
            after_cpu_percent: 0.4,
            cpu_secs: 0.45,
            feeder_write_secs: 0.1,
            load: 0.0,
        };
        let table = markdown(&[Series {
            policy: Policy::AllRibOnly,
            kind: Kind::Bird,
            samples: vec![sample.clone(), sample],
        }]);
        let row = table.lines().nth(2).unwrap();
        assert_eq!(
            row,
            "| accept all, RIB only | BIRD | 2 | 0.40 | 0.50 | — | 0.45 | 5.0 | 96.0 | 100.0 | 0 |"
        );
    }
}
