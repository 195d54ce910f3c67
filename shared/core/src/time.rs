//! Timestamps as Pulp prints them: ISO-8601 UTC with microseconds and a `Z`, e.g.
//! `2024-01-01T00:00:00.123456Z`. Stored in the database as the same text, which sorts correctly.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn now() -> String {
    format_system_time(SystemTime::now())
}

/// The timestamp `secs` seconds ago (for protection windows and heartbeat timeouts).
pub fn ago(secs: u64) -> String {
    // Before the epoch there is nothing to compare with: 1970 stands for "ever".
    let then = SystemTime::now()
        .checked_sub(Duration::from_secs(secs))
        .unwrap_or(UNIX_EPOCH);
    format_system_time(then)
}

pub fn format_system_time(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let micros = d.subsec_micros();
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, day) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// The time of day and its UTC offset in seconds: `Z`, `+HH:MM`, `+HHMM` or none (UTC). A `+`
/// that came through a query string unescaped reads as a space.
fn split_offset(time: &str) -> Option<(&str, i64)> {
    if let Some(t) = time.strip_suffix('Z') {
        return Some((t, 0));
    }
    for len in [6, 5] {
        let Some(at) = time.len().checked_sub(len) else {
            continue;
        };
        let (t, off) = time.split_at(at);
        let sign = match off.as_bytes().first() {
            Some(b'+') | Some(b' ') => 1,
            Some(b'-') => -1,
            _ => continue,
        };
        let digits: String = off[1..].chars().filter(|c| *c != ':').collect();
        let colon_ok = (len == 6) == off[1..].contains(':');
        if digits.len() == 4 && colon_ok && digits.chars().all(|c| c.is_ascii_digit()) {
            let (h, m): (i64, i64) = (digits[..2].parse().ok()?, digits[2..].parse().ok()?);
            if h > 23 || m > 59 {
                return None;
            }
            return Some((t, sign * (h * 3600 + m * 60)));
        }
    }
    Some((time, 0))
}

/// A stored timestamp (as [`format_system_time`] writes them) as a time; `None` for other text.
pub fn parse(stored: &str) -> Option<SystemTime> {
    let s = normalize(stored)?;
    let num = |a: usize, b: usize| s.get(a..b)?.parse::<i64>().ok();
    let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hh, mm, ss, micros) = (num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 26)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let secs = days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss;
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros as u64))
}

/// (year, month, day) to days since 1970-01-01, the inverse of [`civil_from_days`].
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to (year, month, day), after Howard Hinnant's civil calendar algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Whether `hms` is `HH:MM:SS` within a day (a leap second allowed).
fn valid_time(hms: &str) -> bool {
    let b = hms.as_bytes();
    let num = |i: usize| hms.get(i..i + 2).and_then(|d| d.parse::<u8>().ok());
    b.len() == 8
        && b[2] == b':'
        && b[5] == b':'
        && [0, 3, 6]
            .iter()
            .all(|&i| b[i].is_ascii_digit() && b[i + 1].is_ascii_digit())
        && num(0).is_some_and(|h| h < 24)
        && num(3).is_some_and(|m| m < 60)
        && num(6).is_some_and(|s| s <= 60)
}

/// Normalises a user-given timestamp filter (`2024-01-01`, `2024-01-01T10:00:00Z`,
/// `2024-01-01T10:00:00.5+00:00`) to the stored text form so that text comparison works.
/// Returns `None` when the value is not a timestamp.
pub fn normalize(input: &str) -> Option<String> {
    let s = input.trim();
    // Every valid form is ASCII; anything else could not be sliced by byte position safely.
    if !s.is_ascii() {
        return None;
    }
    let bytes = s.as_bytes();
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let date = &s[..10];
    if !date.chars().enumerate().all(|(i, c)| {
        if i == 4 || i == 7 {
            c == '-'
        } else {
            c.is_ascii_digit()
        }
    }) {
        return None;
    }
    if s.len() == 10 {
        return Some(format!("{date}T00:00:00.000000Z"));
    }
    if !matches!(bytes[10], b'T' | b' ') {
        return None;
    }
    let (rest, offset) = split_offset(&s[11..])?;
    let time = rest;
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    // Seconds may be left out (`10:00`), as ISO 8601 and Pulp allow.
    let hms = match hms.len() {
        5 if frac.is_empty() => format!("{hms}:00"),
        _ => hms.to_string(),
    };
    if !valid_time(&hms) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut frac = frac.to_string();
    frac.truncate(6);
    while frac.len() < 6 {
        frac.push('0');
    }
    let utc = format!("{date}T{hms}.{frac}Z");
    if offset == 0 {
        return Some(utc);
    }
    let t = parse(&utc)?;
    let shifted = match offset > 0 {
        true => t.checked_sub(Duration::from_secs(offset as u64))?,
        false => t.checked_add(Duration::from_secs(offset.unsigned_abs()))?,
    };
    Some(format_system_time(shifted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_epoch_and_leap_days() {
        assert_eq!(
            format_system_time(UNIX_EPOCH),
            "1970-01-01T00:00:00.000000Z"
        );
        let t = UNIX_EPOCH + Duration::from_micros(951_782_400_000_001); // 2000-02-29
        assert_eq!(format_system_time(t), "2000-02-29T00:00:00.000001Z");
    }

    #[test]
    fn normalizes_filters() {
        assert_eq!(
            normalize("2024-01-02").unwrap(),
            "2024-01-02T00:00:00.000000Z"
        );
        assert_eq!(
            normalize("2024-01-02T03:04:05.5+00:00").unwrap(),
            "2024-01-02T03:04:05.500000Z"
        );
        assert_eq!(
            normalize("2024-01-02T03:04:05.5 00:00").unwrap(),
            "2024-01-02T03:04:05.500000Z"
        );
        // The offsets clients send (the Python bindings write `+0000`), turned into UTC.
        assert_eq!(
            normalize("2024-01-02T03:04:05.271657+0000").unwrap(),
            "2024-01-02T03:04:05.271657Z"
        );
        assert_eq!(
            normalize("2024-01-02T03:04:05+02:00").unwrap(),
            "2024-01-02T01:04:05.000000Z"
        );
        assert_eq!(
            normalize("2024-01-02 00:30:00-0100").unwrap(),
            "2024-01-02T01:30:00.000000Z"
        );
        assert!(normalize("2024-01-02T03:04:05+2500").is_none());
        assert!(normalize("2024-01-0é03:04:05").is_none());
        assert!(normalize("2024-01-02Té").is_none());
        assert!(normalize("yesterday").is_none());
        // Minutes without seconds, as pulp-cli and Pulp's tests write them.
        assert_eq!(
            normalize("2024-01-02T03:04").unwrap(),
            "2024-01-02T03:04:00.000000Z"
        );
        assert!(normalize("2024-01-02T25:04").is_none());
        assert!(normalize("2024-01-02T03:04:ab").is_none());
        assert!(normalize("2024-01-02X03:04:05").is_none());
        let t = SystemTime::now();
        let stored = format_system_time(t);
        assert_eq!(format_system_time(parse(&stored).unwrap()), stored);
        assert_eq!(parse("1970-01-01T00:00:00.000000Z"), Some(UNIX_EPOCH));
        assert!(parse("2024-13-01T00:00:00Z").is_none());
    }

    mod properties {
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_filter_text_is_judged_without_panic(text in ".{0,40}", ascii in "[0-9T:. +Z-]{0,32}") {
                for t in [&text, &ascii] {
                    if let Some(n) = super::super::normalize(t) {
                        let _ = super::super::parse(&n);
                    }
                }
            }
        }
    }
}
