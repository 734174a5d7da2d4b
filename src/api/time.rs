//! Timestamps for operators: RFC 3339 in UTC, computed from unix time with
//! the days-to-civil-date arithmetic of the proleptic Gregorian calendar, so
//! the CLI needs no calendar dependency.

use std::time::{SystemTime, UNIX_EPOCH};

const MS_PER_DAY: u64 = 86_400_000;

/// Milliseconds since the unix epoch now; 0 if the clock is before 1970.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// `2026-11-22T03:50:12.345Z`.
pub fn rfc3339_ms(at_ms: u64) -> String {
    let (date, ms_of_day) = (at_ms / MS_PER_DAY, at_ms % MS_PER_DAY);
    let (year, month, day) = civil_from_days(date);
    let secs = ms_of_day / 1000;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        ms_of_day % 1000
    )
}

/// `2026-11-22T03:50:12Z`.
pub fn rfc3339_secs(at_secs: u64) -> String {
    let (date, secs) = (at_secs / 86_400, at_secs % 86_400);
    let (year, month, day) = civil_from_days(date);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Count from 0000-03-01 instead, so each 400-year era (146,097 days)
    // ends with the leap day and months are a fixed pattern from March.
    let since_march_0 = days + 719_468;
    let era = since_march_0 / 146_097;
    let day_of_era = since_march_0 % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // March-based month 0..=11: month lengths repeat 31,30,31,30,31 every
    // 153 days.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_secs(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn milliseconds_and_time_of_day() {
        assert_eq!(rfc3339_ms(1_795_319_412_345), "2026-11-22T03:50:12.345Z");
        assert_eq!(rfc3339_secs(1_795_319_412), "2026-11-22T03:50:12Z");
        assert_eq!(
            rfc3339_ms(1_795_319_412_345 - 1),
            "2026-11-22T03:50:12.344Z"
        );
    }

    #[test]
    fn leap_days_follow_the_gregorian_rules() {
        // Divisible by 400: leap year.
        assert_eq!(rfc3339_secs(951_782_400), "2000-02-29T00:00:00Z");
        // Divisible by 100 but not 400: no leap day.
        assert_eq!(rfc3339_secs(4_107_456_000), "2100-02-28T00:00:00Z");
        assert_eq!(rfc3339_secs(4_107_456_000 + 86_400), "2100-03-01T00:00:00Z");
        // Last second of a year.
        assert_eq!(rfc3339_secs(1_798_761_599), "2026-12-31T23:59:59Z");
    }

    #[test]
    fn the_largest_time_does_not_overflow() {
        assert!(rfc3339_ms(u64::MAX).ends_with('Z'));
        assert!(rfc3339_secs(u64::MAX).ends_with('Z'));
    }
}
