//! The civil calendar (UTC) of unix seconds, for what people and the contract read: the
//! console's dates and the usage hours' RFC 3339 stamps. A leaf.

/// A moment as year, month, day, hour, minute, second (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub y: i64,
    pub m: i64,
    pub d: i64,
    pub hh: u64,
    pub mm: u64,
    pub ss: u64,
}

/// Howard Hinnant's `civil_from_days`.
pub fn civil(unix_s: u64) -> Civil {
    let days = (unix_s / 86_400) as i64;
    let secs = unix_s % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    Civil { y, m, d, hh: secs / 3600, mm: secs % 3600 / 60, ss: secs % 60 }
}

/// `2026-12-07T09:00:00Z`.
pub fn rfc3339(unix_s: u64) -> String {
    let c = civil(unix_s);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", c.y, c.m, c.d, c.hh, c.mm, c.ss)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_634_000), "2026-12-07T09:00:00Z");
        assert_eq!(rfc3339(1_798_761_599), "2026-12-31T23:59:59Z");
        assert_eq!(rfc3339(4_107_542_400), "2100-03-01T00:00:00Z");
    }
}
