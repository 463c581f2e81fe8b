//! Parsing the times `consumer-groups --reset-offsets` takes: Kafka's `--to-datetime`
//! (`YYYY-MM-DDTHH:mm:SS[.sss][Z|±hh:mm]`) and `--by-duration` (ISO-8601 `PnDTnHnMn.nS`).

use anyhow::{Context, bail};

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Milliseconds since the epoch of a Kafka `--to-datetime` value. A value without a zone is
/// read as UTC.
pub fn parse_datetime(s: &str) -> anyhow::Result<i64> {
    let bad = || {
        format!(
            "--to-datetime '{s}': expected YYYY-MM-DDTHH:mm:SS.sss, optionally with Z or ±hh:mm"
        )
    };
    let (date, time) = s.split_once('T').with_context(bad)?;
    let mut d = date.splitn(3, '-');
    let (y, mo, da) = (
        d.next()
            .and_then(|v| v.parse::<i64>().ok())
            .with_context(bad)?,
        d.next()
            .and_then(|v| v.parse::<i64>().ok())
            .with_context(bad)?,
        d.next()
            .and_then(|v| v.parse::<i64>().ok())
            .with_context(bad)?,
    );
    // Split off a zone: Z, +hh:mm, -hh:mm.
    let (clock, offset_min) = if let Some(c) = time.strip_suffix('Z') {
        (c, 0)
    } else if let Some(i) = time.rfind(['+', '-']) {
        let (c, z) = time.split_at(i);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let z = &z[1..];
        let (h, m) = z
            .split_once(':')
            .unwrap_or((z.get(..2).unwrap_or(z), z.get(2..).unwrap_or("0")));
        let h: i64 = h.parse().ok().with_context(bad)?;
        let m: i64 = if m.is_empty() {
            0
        } else {
            m.parse().ok().with_context(bad)?
        };
        // Java's ZoneOffset range.
        if !(0..=18).contains(&h) || !(0..=59).contains(&m) {
            bail!(bad());
        }
        (c, sign * (h * 60 + m))
    } else {
        (time, 0)
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, "0"));
    let mut t = hms.splitn(3, ':');
    let h: i64 = t.next().and_then(|v| v.parse().ok()).with_context(bad)?;
    let mi: i64 = t.next().and_then(|v| v.parse().ok()).with_context(bad)?;
    let se: i64 = t.next().unwrap_or("0").parse().ok().with_context(bad)?;
    // Milliseconds: the first three characters of the fraction (fewer are padded with zeros);
    // counted in characters, since the input may be any text.
    let ms: String = frac.chars().chain(std::iter::repeat('0')).take(3).collect();
    let ms: i64 = ms.parse().ok().with_context(bad)?;
    // Four-digit years, as Kafka's format says; also keeps the arithmetic below in range.
    if !(0..=9999).contains(&y)
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&da)
        || !(0..=23).contains(&h)
        || !(0..=59).contains(&mi)
        || !(0..=60).contains(&se)
        || ms < 0
    {
        bail!(bad());
    }
    let days = days_from_civil(y, mo, da);
    Ok((((days * 24 + h) * 60 + mi) * 60 + se) * 1000 + ms - offset_min * 60_000)
}

/// Milliseconds in an ISO-8601 duration (`P1DT2H3M4.5S`, Kafka's `--by-duration`); a
/// humantime value such as `90m` or `1h 30m` is accepted too.
pub fn parse_duration(s: &str) -> anyhow::Result<i64> {
    let bad =
        || format!("--by-duration '{s}': expected an ISO-8601 duration such as PT1H30M or P1DT12H");
    let Some(body) = s.strip_prefix('P').or_else(|| s.strip_prefix('p')) else {
        return humantime::parse_duration(s)
            .map(|d| d.as_millis() as i64)
            .with_context(bad);
    };
    let (days, time) = body.split_once(['T', 't']).unwrap_or((body, ""));
    let mut total: f64 = 0.0;
    let mut take = |part: &str, units: &[(char, f64)]| -> anyhow::Result<()> {
        let mut num = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' || c == '-' {
                num.push(c);
            } else {
                let unit = units
                    .iter()
                    .find(|(u, _)| u.eq_ignore_ascii_case(&c))
                    .with_context(bad)?;
                total += num.parse::<f64>().ok().with_context(bad)? * unit.1;
                num.clear();
            }
        }
        if !num.is_empty() {
            bail!(bad());
        }
        Ok(())
    };
    take(days, &[('D', 86_400_000.0)])?;
    take(time, &[('H', 3_600_000.0), ('M', 60_000.0), ('S', 1000.0)])?;
    if body.is_empty() {
        bail!(bad());
    }
    Ok(total.round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_in_kafkas_format() {
        assert_eq!(parse_datetime("1970-01-01T00:00:00.000").unwrap(), 0);
        assert_eq!(
            parse_datetime("2020-02-29T12:34:56.789Z").unwrap(),
            1_582_979_696_789
        );
        assert_eq!(
            parse_datetime("2020-02-29T13:34:56.789+01:00").unwrap(),
            1_582_979_696_789
        );
        assert!(parse_datetime("yesterday").is_err());
    }

    /// Found by fuzzing (`fuzz/regressions/properties/`): a non-ASCII fraction panicked on a
    /// byte slice, and out-of-range fields overflowed the arithmetic.
    #[test]
    fn malformed_datetimes_are_errors_not_panics() {
        for s in [
            "2024-01-31T10:15:30.p\u{fffd}",
            "2024-01-31T10:15:30.\u{e9}",
            "99999999999999-01-01T00:00:00",
            "2024-01-01T00:00:00+99999999999999:00",
            "2024-01-01T-1:00:00Z",
        ] {
            let e = parse_datetime(s).unwrap_err();
            assert!(e.to_string().contains("--to-datetime"), "{s}: {e}");
        }
        assert_eq!(parse_datetime("1970-01-01T00:00:00.5").unwrap(), 500);
    }

    #[test]
    fn iso_and_human_durations() {
        assert_eq!(parse_duration("PT0.5S").unwrap(), 500);
        assert_eq!(parse_duration("P1DT1H1M1S").unwrap(), 90_061_000);
        assert_eq!(parse_duration("90m").unwrap(), 5_400_000);
        assert!(parse_duration("P").is_err());
        assert!(parse_duration("PT5X").is_err());
    }
}
