//! Parsing the times the tools take, strictly: anything not in an accepted form is an error
//! naming the value and the forms, never a guess, never a panic.
//!
//! - `consumer-groups --reset-offsets --to-datetime`: Kafka's `Utils.getDateTime` form,
//!   `YYYY-MM-DDTHH:mm:SS.sss` (milliseconds required, as in Kafka) optionally followed by `Z`,
//!   `±hh`, `±hhmm` or `±hh:mm`. **A value without a zone is UTC**, as in Kafka (which appends
//!   `Z` to such a value before parsing it). See [`parse_datetime`].
//! - `consumer-groups --reset-offsets --by-duration`: Java's `Duration.parse` form,
//!   `[-]PnDTnHnMn.nS` (at least one part; `PT` alone is not a duration). A friendlier value
//!   such as `90m` or `1h 30m` is accepted too. See [`parse_duration`].
//! - `console-consumer --from-time`/`--to-time`: RFC 3339, Kafka's form above, a bare date
//!   (local midnight), `now`, or a time relative to now such as `-15m`. See
//!   [`parse_point_in_time`].
//!
//! Calendar checks (month lengths, leap years) and zone arithmetic are `jiff`'s; the shapes are
//! checked here byte by byte, so trailing text, a missing field or a non-ASCII character is an
//! error rather than something a lenient parser might skip.

use anyhow::{anyhow, bail};
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{Offset, TimeZone};

/// The forms `--to-datetime` accepts, for error messages.
const DATETIME_FORMS: &str = "expected YYYY-MM-DDTHH:mm:SS.sss, optionally followed by Z, \
     ±hh:mm, ±hhmm or ±hh (without a zone the time is UTC, as in Kafka), \
     e.g. 2026-01-01T09:30:00.000+01:00";

/// The forms [`parse_point_in_time`] accepts, for error messages.
const POINT_FORMS: &str = "expected an RFC 3339 time (2026-01-01T10:00:00Z, \
     2026-01-01T10:00:00.5+02:00), Kafka's YYYY-MM-DDTHH:mm:SS.sss[Z|±hh:mm] (UTC without a \
     zone), a date (2026-01-01, local midnight), now, or a time relative to now such as -15m, \
     -2h, -1d, -30s, -500ms or +5m";

/// How a parsed value named its zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zone {
    /// No zone at all.
    Absent,
    /// `Z`.
    Utc,
    /// `±hh`.
    Hours(i32),
    /// `±hhmm`.
    Compact(i32),
    /// `±hh:mm`.
    Colon(i32),
}

impl Zone {
    /// The offset east of UTC in seconds, if one was given.
    fn seconds(self) -> Option<i32> {
        match self {
            Zone::Absent => None,
            Zone::Utc => Some(0),
            Zone::Hours(s) | Zone::Compact(s) | Zone::Colon(s) => Some(s),
        }
    }
}

/// `YYYY-MM-DDTHH:mm:SS[.f…][zone]`, checked for shape and calendar but not yet for which
/// fraction and zone forms a caller allows.
#[derive(Debug)]
struct Stamp {
    datetime: DateTime,
    /// Digits after the decimal point (0 when there is no fraction).
    fraction_digits: usize,
    zone: Zone,
}

/// The value of exactly `n` ASCII digits of `b` at `at`.
fn digits(b: &[u8], at: usize, n: usize) -> Option<i32> {
    let field = b.get(at..at.checked_add(n)?)?;
    field.iter().try_fold(0i32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i32::from(c - b'0'))
    })
}

/// The byte of `b` at `at` is `want`.
fn is_at(b: &[u8], at: usize, want: u8) -> bool {
    b.get(at) == Some(&want)
}

/// A bare `YYYY-MM-DD`, checked against the calendar.
fn parse_date(s: &str) -> Result<Date, String> {
    let b = s.as_bytes();
    let (Some(y), true, Some(m), true, Some(d), 10) = (
        digits(b, 0, 4),
        is_at(b, 4, b'-'),
        digits(b, 5, 2),
        is_at(b, 7, b'-'),
        digits(b, 8, 2),
        b.len(),
    ) else {
        return Err("not of the form YYYY-MM-DD".to_string());
    };
    if y == 0 {
        return Err("there is no year 0000".to_string());
    }
    // The digit counts bound every value to its type.
    Date::new(y as i16, m as i8, d as i8).map_err(|_| format!("{s} is not a day of the calendar"))
}

/// Parses the shape `YYYY-MM-DDTHH:mm:SS[.f{1,9}][Z|±hh|±hhmm|±hh:mm]`; the error says what
/// is wrong.
fn parse_stamp(s: &str) -> Result<Stamp, String> {
    let b = s.as_bytes();
    let date = s.get(..10).ok_or("not of the form YYYY-MM-DDTHH:mm:SS")?;
    let date = parse_date(date)?;
    let (true, Some(h), true, Some(mi), true, Some(sec)) = (
        is_at(b, 10, b'T'),
        digits(b, 11, 2),
        is_at(b, 13, b':'),
        digits(b, 14, 2),
        is_at(b, 16, b':'),
        digits(b, 17, 2),
    ) else {
        return Err("the time is not of the form THH:mm:SS".to_string());
    };
    let mut at = 19;
    let mut fraction_digits = 0;
    let mut nanos = 0i32;
    if is_at(b, at, b'.') {
        at += 1;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            fraction_digits += 1;
            if fraction_digits > 9 {
                return Err("more than 9 fraction digits".to_string());
            }
            nanos = nanos * 10 + i32::from(b[at] - b'0');
            at += 1;
        }
        if fraction_digits == 0 {
            return Err("no digits after the decimal point".to_string());
        }
        nanos *= 10i32.pow(9 - fraction_digits as u32);
    }
    let zone = match &b[at..] {
        [] => Zone::Absent,
        [b'Z'] => Zone::Utc,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (hh, mm, form): (_, _, fn(i32) -> Zone) = match rest {
                [_, _] => (digits(rest, 0, 2), Some(0), Zone::Hours),
                [_, _, _, _] => (digits(rest, 0, 2), digits(rest, 2, 2), Zone::Compact),
                [_, _, b':', _, _] => (digits(rest, 0, 2), digits(rest, 3, 2), Zone::Colon),
                _ => (None, None, Zone::Hours),
            };
            let (Some(hh), Some(mm)) = (hh, mm) else {
                return Err(format!(
                    "the zone '{}' is not Z, ±hh:mm, ±hhmm or ±hh",
                    &s[at..]
                ));
            };
            if hh > 23 || mm > 59 {
                return Err(format!(
                    "the zone offset '{}' is out of range (hours 00-23, minutes 00-59)",
                    &s[at..]
                ));
            }
            let secs = (hh * 60 + mm) * 60;
            form(if *sign == b'-' { -secs } else { secs })
        }
        _ => {
            // `at` is after ASCII bytes only, so it is a character boundary.
            return Err(format!("unexpected text '{}' after the time", &s[at..]));
        }
    };
    let time = Time::new(h as i8, mi as i8, sec as i8, nanos)
        .map_err(|_| format!("{h:02}:{mi:02}:{sec:02} is not a time of day"))?;
    Ok(Stamp {
        datetime: date.to_datetime(time),
        fraction_digits,
        zone,
    })
}

/// Milliseconds since the epoch of `datetime` at `offset_seconds` east of UTC.
fn epoch_ms(datetime: DateTime, offset_seconds: i32) -> Result<i64, String> {
    let offset = Offset::from_seconds(offset_seconds).map_err(|e| e.to_string())?;
    let ts = offset.to_timestamp(datetime).map_err(|e| e.to_string())?;
    // Floor, so a sub-millisecond fraction never rounds a time up.
    Ok(ts.as_second() * 1000 + i64::from(ts.subsec_nanosecond().div_euclid(1_000_000)))
}

/// Milliseconds since the epoch of a Kafka `--to-datetime` value (`Utils.getDateTime`):
/// `YYYY-MM-DDTHH:mm:SS.sss` with exactly three fraction digits, optionally followed by `Z`,
/// `±hh:mm`, `±hhmm` or `±hh`. A value without a zone is UTC, as in Kafka.
pub fn parse_datetime(s: &str) -> anyhow::Result<i64> {
    let bad = |why: &str| anyhow!("--to-datetime '{s}': {why}; {DATETIME_FORMS}");
    let stamp = parse_stamp(s).map_err(|why| bad(&why))?;
    if stamp.fraction_digits != 3 {
        return Err(bad("the seconds need exactly three fraction digits (.sss)"));
    }
    epoch_ms(stamp.datetime, stamp.zone.seconds().unwrap_or(0)).map_err(|why| bad(&why))
}

/// An ISO-8601 duration in Java's `Duration.parse` form, as milliseconds (truncated), or None
/// when `s` does not have that form. The grammar, case-insensitive:
/// `[-+]?P([-+]?\d+D)?(T([-+]?\d+H)?([-+]?\d+M)?([-+]?\d+([.,]\d{0,9})?S)?)?` with at least one
/// part, and no `T` without a part after it.
fn parse_iso_duration(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    let mut at = 0;
    let negate = match b.first() {
        Some(b'-') => {
            at += 1;
            true
        }
        Some(b'+') => {
            at += 1;
            false
        }
        _ => false,
    };
    if !matches!(b.get(at), Some(b'P' | b'p')) {
        return None;
    }
    at += 1;
    /// `[-+]?\d+` at `at`: the signed value and the position after it.
    fn number(b: &[u8], at: usize) -> Option<(i128, bool, usize)> {
        let (neg, start) = match b.get(at) {
            Some(b'-') => (true, at + 1),
            Some(b'+') => (false, at + 1),
            _ => (false, at),
        };
        let mut end = start;
        let mut v: i128 = 0;
        while let Some(c) = b.get(end).filter(|c| c.is_ascii_digit()) {
            v = v.checked_mul(10)?.checked_add(i128::from(c - b'0'))?;
            // Java's parts are longs.
            if v > i128::from(i64::MAX) + 1 {
                return None;
            }
            end += 1;
        }
        (end > start).then_some((if neg { -v } else { v }, neg, end))
    }
    const MS_PER: [(u8, i128); 4] = [
        (b'D', 86_400_000),
        (b'H', 3_600_000),
        (b'M', 60_000),
        (b'S', 1000),
    ];
    let mut total: i128 = 0;
    let mut parts = 0;
    let mut in_time = false;
    // The next unit allowed: days, then (after T) hours, minutes, seconds, in order.
    let mut next_unit = 0;
    while at < b.len() {
        if !in_time && matches!(b[at], b'T' | b't') {
            in_time = true;
            next_unit = 1;
            at += 1;
            // `T` must be followed by a part.
            number(b, at)?;
            continue;
        }
        let (value, negative, end) = number(b, at)?;
        at = end;
        let mut fraction_ms: i128 = 0;
        if matches!(b.get(at), Some(b'.' | b',')) {
            // Only seconds may have a fraction: 0 to 9 digits, milliseconds kept.
            at += 1;
            let start = at;
            while b.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            if at - start > 9 || !matches!(b.get(at), Some(b'S' | b's')) || !in_time {
                return None;
            }
            let ms: String = s[start..at].chars().chain("000".chars()).take(3).collect();
            fraction_ms = ms.parse().ok()?;
            if negative {
                fraction_ms = -fraction_ms;
            }
        }
        let unit = b.get(at)?.to_ascii_uppercase();
        let index = MS_PER.iter().position(|(u, _)| *u == unit)?;
        // D only before T; H, M, S only after it, each at most once and in order.
        if (index == 0) == in_time || index < next_unit {
            return None;
        }
        next_unit = index + 1;
        at += 1;
        total = total.checked_add(
            value
                .checked_mul(MS_PER[index].1)?
                .checked_add(fraction_ms)?,
        )?;
        parts += 1;
    }
    if parts == 0 {
        return None;
    }
    Some(if negate { -total } else { total })
}

/// Milliseconds in a `--by-duration` value: an ISO-8601 duration as Java's `Duration.parse`
/// reads it (`PT1H30M`, `P1DT12H`, `PT0.5S`, `-PT1H`), or a friendlier value such as `90m`,
/// `1h 30m` or `2 hours`. `PT`, `P` and other values without a part are errors, not zero.
pub fn parse_duration(s: &str) -> anyhow::Result<i64> {
    let bad = || {
        anyhow!(
            "--by-duration '{s}': not a duration; expected an ISO-8601 duration such as PT1H30M, \
             P1DT12H or PT0.5S (or a value such as 90m)"
        )
    };
    let is_iso = s.trim_start_matches(['-', '+']).starts_with(['P', 'p']);
    let ms: i128 = if is_iso {
        parse_iso_duration(s).ok_or_else(bad)?
    } else {
        let d: jiff::SignedDuration = s.parse().map_err(|_| bad())?;
        d.as_millis()
    };
    i64::try_from(ms).map_err(|_| bad())
}

/// A relative time such as `-15m` or `+1h30m`: a sign, then one or more `<digits><unit>` with
/// units `ms`, `s`, `m`, `h`, `d`. Milliseconds, or None when `s` is not of that form.
fn parse_relative(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    let negative = match b.first()? {
        b'-' => true,
        b'+' => false,
        _ => return None,
    };
    let mut at = 1;
    let mut total: i128 = 0;
    while at < b.len() {
        let start = at;
        let mut v: i128 = 0;
        while let Some(c) = b.get(at).filter(|c| c.is_ascii_digit()) {
            v = v.checked_mul(10)?.checked_add(i128::from(c - b'0'))?;
            if v > i128::from(i64::MAX) {
                return None;
            }
            at += 1;
        }
        if at == start {
            return None;
        }
        let (unit, len): (i128, usize) = match &b[at..] {
            [b'm', b's', ..] => (1, 2),
            [b's', ..] => (1000, 1),
            [b'm', ..] => (60_000, 1),
            [b'h', ..] => (3_600_000, 1),
            [b'd', ..] => (86_400_000, 1),
            _ => return None,
        };
        at += len;
        total = total.checked_add(v.checked_mul(unit)?)?;
    }
    (at > 1).then_some(if negative { -total } else { total })
}

/// Milliseconds since the epoch of a `--from-time`/`--to-time` value:
/// - RFC 3339: `2026-01-01T10:00:00Z`, `2026-01-01T10:00:00+02:00`, with a fraction of up to
///   nine digits (`2026-01-01T10:00:00.5Z`; below a millisecond is dropped);
/// - Kafka's `--to-datetime` form, `YYYY-MM-DDTHH:mm:SS.sss` with an optional `Z`, `±hh:mm`,
///   `±hhmm` or `±hh` (UTC without a zone, as in Kafka);
/// - a bare date `2026-01-01`: midnight in the local time zone;
/// - `now`: `now_ms`;
/// - a time relative to `now_ms`: a sign and one or more `<n><unit>`, units `ms`, `s`, `m`, `h`
///   and `d` (24 hours): `-15m`, `-2h`, `-1d`, `-30s`, `-500ms`, `+5m`, `-1h30m`.
///
/// Anything else is an error naming the value and these forms.
pub fn parse_point_in_time(s: &str, now_ms: i64) -> anyhow::Result<i64> {
    parse_point_in_time_in(s, now_ms, &TimeZone::system())
}

/// [`parse_point_in_time`] with bare dates read in `local`.
fn parse_point_in_time_in(s: &str, now_ms: i64, local: &TimeZone) -> anyhow::Result<i64> {
    let bad = |why: &str| anyhow!("'{s}' is not a point in time ({why}); {POINT_FORMS}");
    if s == "now" {
        return Ok(now_ms);
    }
    if s.starts_with(['+', '-']) {
        let delta = parse_relative(s).ok_or_else(|| bad("not a relative time"))?;
        return i64::try_from(i128::from(now_ms) + delta).map_err(|_| bad("too far from now"));
    }
    if s.len() == 10 {
        let date = parse_date(s).map_err(|why| bad(&why))?;
        let zoned = date
            .to_zoned(local.clone())
            .map_err(|e| bad(&e.to_string()))?;
        return Ok(zoned.timestamp().as_millisecond());
    }
    let stamp = parse_stamp(s).map_err(|why| bad(&why))?;
    let kafka = stamp.fraction_digits == 3;
    let rfc3339 = matches!(stamp.zone, Zone::Utc | Zone::Colon(_));
    let offset = match stamp.zone.seconds() {
        Some(secs) if kafka || rfc3339 => secs,
        None if kafka => 0,
        None => bail!(bad(
            "no zone: add Z or ±hh:mm, or give milliseconds (.sss) for Kafka's UTC form"
        )),
        Some(_) => bail!(bad(
            "±hhmm and ±hh zones need milliseconds (.sss), as in Kafka"
        )),
    };
    epoch_ms(stamp.datetime, offset).map_err(|why| bad(&why))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    #[test]
    fn datetimes_in_kafkas_format() {
        assert_eq!(parse_datetime("1970-01-01T00:00:00.000").unwrap(), 0);
        assert_eq!(
            parse_datetime("2020-02-29T12:34:56.789Z").unwrap(),
            1_582_979_696_789
        );
        for zone in ["+01:00", "+0100", "+01"] {
            assert_eq!(
                parse_datetime(&format!("2020-02-29T13:34:56.789{zone}")).unwrap(),
                1_582_979_696_789,
                "{zone}"
            );
        }
        assert_eq!(
            parse_datetime("2020-02-29T07:04:56.789-05:30").unwrap(),
            1_582_979_696_789
        );
        // No zone is UTC, as Kafka appends Z to such a value.
        assert_eq!(
            parse_datetime("2026-01-01T00:00:00.000").unwrap(),
            parse_datetime("2026-01-01T00:00:00.000Z").unwrap()
        );
        assert_eq!(parse_datetime("1969-12-31T23:59:59.999Z").unwrap(), -1);
    }

    /// Every value of the review list, and the fuzzing finds: an error naming the flag, the
    /// value and the form, never a panic and never a guess.
    #[test]
    fn malformed_datetimes_are_errors_not_panics() {
        for s in [
            // Non-ASCII fractions (panicked on a byte slice).
            "2026-01-01T00:00:00.\u{e9}\u{e9}",
            "2024-01-31T10:15:30.p\u{fffd}",
            "2024-01-31T10:15:30.\u{e9}",
            "2026-01-01T00:00:00.00\u{e9}",
            "2026-01-01T00:00:00.000\u{e9}",
            "\u{e9}026-01-01T00:00:00.000",
            // Trailing text (was read as UTC).
            "2026-01-01T00:00:00.000PST",
            "2026-01-01T00:00:00.000Zgarbage",
            "2026-01-01T00:00:00.000+01:00x",
            "2026-01-01T00:00:00.000 ",
            " 2026-01-01T00:00:00.000",
            // Impossible offsets.
            "2026-01-01T00:00:00.000+25:99",
            "2026-01-01T00:00:00.000+24:00",
            "2026-01-01T00:00:00.000+01:60",
            "2026-01-01T00:00:00.000+1",
            "2026-01-01T00:00:00.000+01:0",
            "2026-01-01T00:00:00.000+010",
            "2026-01-01T00:00:00.000+",
            "2024-01-01T00:00:00+99999999999999:00",
            // Days that do not exist (2026-11-31 rolled to Dec 1), and year 0000.
            "2026-11-31T00:00:00.000",
            "2026-02-29T00:00:00.000",
            "2026-13-01T00:00:00.000",
            "2026-00-10T00:00:00.000",
            "0000-01-01T00:00:00.000",
            "99999999999999-01-01T00:00:00",
            // Times that do not exist.
            "2026-01-01T24:00:00.000",
            "2026-01-01T00:60:00.000",
            "2026-01-01T00:00:60.000",
            "2024-01-01T-1:00:00Z",
            // Kafka requires exactly .sss.
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00.5",
            "2026-01-01T00:00:00.0000",
            "2026-01-01T00:00:00.",
            // Not the shape at all.
            "",
            "yesterday",
            "2026-01-01",
            "2026-1-01T00:00:00.000",
            "2026-01-01 00:00:00.000",
            "2026-01-01t00:00:00.000",
        ] {
            let e = parse_datetime(s).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--to-datetime '{s}': ")), "{s}: {e}");
            assert!(e.contains("YYYY-MM-DDTHH:mm:SS.sss"), "{s}: {e}");
            assert!(!e.contains('\n'), "{s}: {e}");
        }
        let e = parse_datetime("2026-11-31T00:00:00.000").unwrap_err();
        assert!(e.to_string().contains("not a day of the calendar"), "{e}");
        let e = parse_datetime("2026-01-01T00:00:00.000PST").unwrap_err();
        assert!(e.to_string().contains("'PST'"), "{e}");
    }

    #[test]
    fn iso_durations_as_java_reads_them() {
        assert_eq!(parse_duration("PT0.5S").unwrap(), 500);
        assert_eq!(parse_duration("PT0,25S").unwrap(), 250);
        assert_eq!(parse_duration("PT1.S").unwrap(), 1000);
        assert_eq!(parse_duration("P1DT1H1M1S").unwrap(), 90_061_000);
        assert_eq!(parse_duration("P2D").unwrap(), 172_800_000);
        assert_eq!(parse_duration("pt1h").unwrap(), 3_600_000);
        assert_eq!(parse_duration("-PT1H").unwrap(), -3_600_000);
        assert_eq!(parse_duration("PT-1H30M").unwrap(), -1_800_000);
        assert_eq!(parse_duration("PT-0.5S").unwrap(), -500);
        assert_eq!(parse_duration("PT0S").unwrap(), 0);
        assert_eq!(parse_duration("PT1H").unwrap(), 3_600_000);
    }

    #[test]
    fn empty_and_invalid_durations_are_errors_not_zero() {
        for s in [
            "",
            "P",
            "PT",
            "-P",
            "-PT",
            "P1DT",
            "PT5X",
            "PT1.5H",
            "P1.5D",
            "P1W",
            "P1Y",
            "P1M",
            "PT1S1M",
            "PT1H1H",
            "P1H",
            "PT1D",
            "PT1",
            "P T1H",
            "PT1H ",
            " PT1H",
            "PT1.0000000000S",
            "PT\u{e9}S",
            "PT99999999999999999999H",
            "PT9223372036854775807H",
            "1 parsec",
            "P\u{e9}",
        ] {
            let e = parse_duration(s).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--by-duration '{s}': ")), "{s}: {e}");
            assert!(e.contains("PT1H30M"), "{s}: {e}");
        }
    }

    #[test]
    fn friendly_durations_still_work() {
        assert_eq!(parse_duration("90m").unwrap(), 5_400_000);
        assert_eq!(parse_duration("1h 30m").unwrap(), 5_400_000);
        assert_eq!(parse_duration("2 hours").unwrap(), 7_200_000);
    }

    #[test]
    fn points_in_time_in_rfc3339() {
        let p = |s: &str| parse_point_in_time(s, NOW).unwrap();
        assert_eq!(p("2026-01-01T10:00:00Z"), NOW + 36_000_000);
        assert_eq!(p("2026-01-01T12:00:00+02:00"), NOW + 36_000_000);
        assert_eq!(p("2026-01-01T05:30:00-04:30"), NOW + 36_000_000);
        assert_eq!(p("2026-01-01T10:00:00.5Z"), NOW + 36_000_500);
        assert_eq!(p("2026-01-01T10:00:00.123456789Z"), NOW + 36_000_123);
        assert_eq!(p("1969-12-31T23:59:59.9999Z"), -1);
    }

    #[test]
    fn points_in_time_in_kafkas_form() {
        let p = |s: &str| parse_point_in_time(s, NOW).unwrap();
        assert_eq!(p("2026-01-01T10:00:00.000"), NOW + 36_000_000);
        assert_eq!(p("2026-01-01T11:00:00.000+0100"), NOW + 36_000_000);
        assert_eq!(p("2026-01-01T11:00:00.000+01"), NOW + 36_000_000);
        assert_eq!(p("2026-01-01T11:00:00.000+01:00"), NOW + 36_000_000);
    }

    #[test]
    fn a_bare_date_is_local_midnight() {
        let tz = TimeZone::fixed(jiff::tz::offset(-5));
        assert_eq!(
            parse_point_in_time_in("2026-01-01", 0, &tz).unwrap(),
            NOW + 5 * 3_600_000
        );
        assert_eq!(
            parse_point_in_time_in("2026-01-01", 0, &TimeZone::UTC).unwrap(),
            NOW
        );
        // The public function uses the system zone.
        let local = Date::new(2026, 1, 1)
            .unwrap()
            .to_zoned(TimeZone::system())
            .unwrap()
            .timestamp()
            .as_millisecond();
        assert_eq!(parse_point_in_time("2026-01-01", 0).unwrap(), local);
    }

    #[test]
    fn now_and_relative_times() {
        let p = |s: &str| parse_point_in_time(s, NOW).unwrap();
        assert_eq!(p("now"), NOW);
        assert_eq!(p("-15m"), NOW - 900_000);
        assert_eq!(p("-2h"), NOW - 7_200_000);
        assert_eq!(p("-1d"), NOW - 86_400_000);
        assert_eq!(p("-30s"), NOW - 30_000);
        assert_eq!(p("-500ms"), NOW - 500);
        assert_eq!(p("+5m"), NOW + 300_000);
        assert_eq!(p("-1h30m"), NOW - 5_400_000);
        assert_eq!(p("-0s"), NOW);
    }

    #[test]
    fn anything_else_is_an_error_naming_the_value_and_the_forms() {
        for s in [
            "",
            "Now",
            "now ",
            "yesterday",
            "-",
            "+",
            "-15",
            "-m",
            "15m",
            "-15 m",
            "-15M",
            "-1w",
            "-1.5h",
            "--1h",
            "-15m ",
            "-99999999999999999999d",
            "-9223372036854775807d",
            "2026-01-01T10:00:00",
            "2026-01-01T10:00:00.5",
            "2026-01-01T10:00:00+0100",
            "2026-01-01T10:00:00.5+01",
            "2026-01-01T10:00:00.000Zgarbage",
            "2026-01-01T10:00:00.000PST",
            "2026-01-01T10:00:00Z+25:99",
            "2026-01-01T10:00:00+25:99",
            "2026-11-31",
            "2026-11-31T00:00:00Z",
            "0000-01-01",
            "2026-01-1",
            "2026/01/01",
            "1767225600000",
            "2026-01-01T00:00:00.\u{e9}\u{e9}",
            "2026-01-\u{e9}1",
        ] {
            let e = parse_point_in_time(s, NOW).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("'{s}' is not a point in time")),
                "{s}: {e}"
            );
            assert!(e.contains("RFC 3339") && e.contains("-15m"), "{s}: {e}");
            assert!(!e.contains('\n'), "{s}: {e}");
        }
        // Relative times that overflow are errors too.
        assert!(parse_point_in_time("+1d", i64::MAX).is_err());
        assert!(parse_point_in_time("-1ms", i64::MIN).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// No text makes any of the parsers panic.
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,40}", now in proptest::num::i64::ANY) {
            let _ = parse_datetime(&s);
            let _ = parse_duration(&s);
            let _ = parse_point_in_time(&s, now);
            let _ = parse_point_in_time_in(&s, now, &TimeZone::UTC);
        }

        /// Nor does text close to the accepted shapes, which reaches deeper into them.
        #[test]
        fn near_miss_text_never_panics(
            s in "[-+]?[0-9PpTt]{0,3}[0-9]{0,4}-?[0-9]{0,3}-?[0-9]{0,3}T?[0-9]{0,3}:?[0-9]{0,3}:?[0-9]{0,3}[.,]?[0-9\u{e9}]{0,10}[-+Z:0-9DHMSmsdh\u{e9}]{0,8}",
            now in proptest::num::i64::ANY,
        ) {
            let _ = parse_datetime(&s);
            let _ = parse_duration(&s);
            let _ = parse_point_in_time(&s, now);
        }
    }
}
