//! The console's usage chart: accepted against rejected requests over the last 24 hours, 7
//! days or 30 days, as an SVG drawn by the server (no JavaScript). Each bar carries a
//! `<title>`, so hovering (or a long press) shows its numbers; the viewBox is narrow, so the
//! text stays readable when a phone scales it down. Pure: numbers in, markup out; nothing of
//! the person's own (no name) goes into it.

use crate::time::civil;
use std::fmt::Write;

const HOUR_S: u64 = 3600;
const W: u64 = 360;
const H: u64 = 180;
/// The plot area inside the viewBox.
const X0: u64 = 34;
const X1: u64 = 354;
const Y0: u64 = 10;
const Y1: u64 = 160;

/// Which window the chart shows (`?range=24h|7d|30d`, 24 hours by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    Day,
    Week,
    Month,
}

impl Range {
    pub const ALL: [Range; 3] = [Range::Day, Range::Week, Range::Month];

    pub fn parse(raw: Option<&str>) -> Range {
        match raw {
            Some("7d") => Range::Week,
            Some("30d") => Range::Month,
            _ => Range::Day,
        }
    }

    /// Its value in `?range=`.
    pub fn query(self) -> &'static str {
        match self {
            Range::Day => "24h",
            Range::Week => "7d",
            Range::Month => "30d",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Range::Day => "24 hours",
            Range::Week => "7 days",
            Range::Month => "30 days",
        }
    }

    /// Hours per bar, and bars.
    fn shape(self) -> (u64, u64) {
        match self {
            Range::Day => (1, 24),
            Range::Week => (6, 28),
            Range::Month => (24, 30),
        }
    }

    /// The first hour (since the epoch) of the first bar: bars are aligned to UTC (hours, 6-hour
    /// quarters of a day, days), and the last one holds `now`.
    pub fn first_hour(self, now_s: u64) -> u64 {
        let (per, n) = self.shape();
        let current = now_s / HOUR_S / per * per;
        current.saturating_sub((n - 1) * per)
    }
}

/// One bar: its first hour (since the epoch), accepted and rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bar {
    pub hour: u64,
    pub accepted: u64,
    pub rejected: u64,
}

/// `(hour, accepted, rejected)` per hour into the range's bars (empty ones included).
pub fn bars(hours: &[(u64, u64, u64)], range: Range, now_s: u64) -> Vec<Bar> {
    let (per, n) = range.shape();
    let first = range.first_hour(now_s);
    let mut out: Vec<Bar> = (0..n).map(|i| Bar { hour: first + i * per, ..Bar::default() }).collect();
    for &(hour, accepted, rejected) in hours {
        if hour < first {
            continue;
        }
        if let Some(b) = out.get_mut(((hour - first) / per) as usize) {
            b.accepted += accepted;
            b.rejected += rejected;
        }
    }
    out
}

/// A round number at or above `n` (1, 2 or 5 times a power of ten), for the scale's top.
pub fn nice(n: u64) -> u64 {
    let mut p = 1u64;
    loop {
        for m in [1, 2, 5] {
            if m * p >= n {
                return m * p;
            }
        }
        p = p.saturating_mul(10);
    }
}

/// Unix seconds as people read them: `2026-12-07 09:30 UTC`.
pub fn when(unix_s: u64) -> String {
    let c = civil(unix_s);
    format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", c.y, c.m, c.d, c.hh, c.mm)
}

fn stamp(hour: u64, range: Range) -> String {
    let t = when(hour * HOUR_S);
    match range {
        // `2026-12-07 09:00 UTC`.
        Range::Day | Range::Week => t,
        Range::Month => t.get(..10).unwrap_or(&t).to_string(),
    }
}

/// A short label under the axis: the hour, or the day (`12-07`).
fn tick(hour: u64, range: Range) -> String {
    let t = when(hour * HOUR_S);
    match range {
        Range::Day => t.get(11..16).unwrap_or("").to_string(),
        _ => t.get(5..10).unwrap_or("").to_string(),
    }
}

fn plural(n: u64, what: &str) -> String {
    format!("{n} {what}")
}

/// The chart's markup.
pub fn svg(bars: &[Bar], range: Range) -> String {
    let top = nice(bars.iter().map(|b| b.accepted + b.rejected).max().unwrap_or(0).max(1));
    let plot_h = Y1 - Y0;
    let y = |v: u64| Y1 - v * plot_h / top;
    let slot = (X1 - X0) as f64 / bars.len().max(1) as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="11"><title id="chart-title">Accepted and rejected requests, the last {}</title>"##,
        range.label()
    );
    // The scale: 0, half, top.
    for v in [0, top / 2, top] {
        let yy = y(v);
        let _ = write!(
            s,
            r##"<line x1="{X0}" y1="{yy}" x2="{X1}" y2="{yy}" stroke="#d0d5dd" stroke-width="0.5"/><text x="{}" y="{}" text-anchor="end" fill="#555">{v}</text>"##,
            X0 - 4,
            yy + 3
        );
    }
    let every = match range {
        Range::Day => 6,
        Range::Week => 4,
        Range::Month => 5,
    };
    for (i, b) in bars.iter().enumerate() {
        let x = X0 as f64 + i as f64 * slot;
        let w = (slot * 0.75).max(1.0);
        let bx = x + (slot - w) / 2.0;
        let (ya, yr) = (y(b.accepted), y(b.accepted + b.rejected));
        let _ = write!(
            s,
            r##"<g><title>{}: {} accepted, {} rejected</title><rect x="{x:.1}" y="{Y0}" width="{slot:.1}" height="{plot_h}" fill="transparent"/>"##,
            stamp(b.hour, range),
            b.accepted,
            b.rejected
        );
        if b.accepted > 0 {
            let _ = write!(s, r##"<rect x="{bx:.1}" y="{ya}" width="{w:.1}" height="{}" fill="#2f7d4f"/>"##, (Y1 - ya).max(1));
        }
        if b.rejected > 0 {
            let _ = write!(s, r##"<rect x="{bx:.1}" y="{yr}" width="{w:.1}" height="{}" fill="#c2410c"/>"##, (ya - yr).max(1));
        }
        s.push_str("</g>");
        if i % every == 0 {
            let _ = write!(s, r##"<text x="{:.1}" y="{}" text-anchor="middle" fill="#555">{}</text>"##, x + slot / 2.0, Y1 + 14, tick(b.hour, range));
        }
    }
    let _ = write!(s, r##"<text x="{X1}" y="{}" text-anchor="end" fill="#555">UTC</text>"##, Y1 + 14);
    s.push_str("</svg>");
    s
}

/// The words under the chart: the totals of the window.
pub fn summary(bars: &[Bar], range: Range) -> String {
    let (a, r) = bars.iter().fold((0, 0), |(a, r), b| (a + b.accepted, r + b.rejected));
    format!("The last {}: {}, {}.", range.label(), plural(a, "accepted"), plural(r, "rejected"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_796_638_200; // 2026-12-07 10:10 UTC
    const HOUR: u64 = NOW / 3600; // 10:00

    #[test]
    fn ranges_have_their_bars_aligned_to_utc() {
        assert_eq!(Range::parse(None), Range::Day);
        assert_eq!(Range::parse(Some("7d")), Range::Week);
        assert_eq!(Range::parse(Some("30d")), Range::Month);
        assert_eq!(Range::parse(Some("bogus")), Range::Day);
        assert_eq!(Range::Day.first_hour(NOW), HOUR - 23);
        // 6-hour bars: the current one started at 06:00; 27 before it.
        assert_eq!(Range::Week.first_hour(NOW), HOUR - 4 - 27 * 6);
        // Days: today started at 00:00; 29 before it.
        assert_eq!(Range::Month.first_hour(NOW), HOUR - 10 - 29 * 24);
    }

    #[test]
    fn hours_land_in_their_bars() {
        let hours = [(HOUR, 3, 1), (HOUR - 1, 2, 0), (HOUR - 23, 1, 1), (HOUR - 24, 9, 9)];
        let b = bars(&hours, Range::Day, NOW);
        assert_eq!(b.len(), 24);
        assert_eq!((b[23].accepted, b[23].rejected), (3, 1));
        assert_eq!((b[22].accepted, b[0].accepted, b[0].rejected), (2, 1, 1));
        assert_eq!(b.iter().map(|b| b.accepted).sum::<u64>(), 6, "an hour before the window is left out");
        let w = bars(&hours, Range::Week, NOW);
        assert_eq!(w.len(), 28);
        assert_eq!((w[27].accepted, w[26].accepted), (5, 0), "10:00 and 09:00 in the 06:00 bar");
        let m = bars(&hours, Range::Month, NOW);
        assert_eq!((m.len(), m[29].accepted + m[28].accepted), (30, 15));
        // Each bar starts `per` hours after the one before (its label and `<title>` say when).
        assert_eq!((w[1].hour - w[0].hour, w[27].hour), (6, HOUR - 4));
        assert_eq!((m[1].hour - m[0].hour, m[29].hour), (24, HOUR - 10));
    }

    #[test]
    fn ticks_name_the_hour_of_a_day_and_the_date_otherwise() {
        // 10:00 UTC on 2026-12-07.
        assert_eq!(tick(HOUR, Range::Day), "10:00");
        assert_eq!(tick(HOUR - 10, Range::Week), "12-07");
        assert_eq!(tick(HOUR - 11, Range::Month), "12-06");
    }

    #[test]
    fn the_scale_is_round() {
        assert_eq!([nice(1), nice(2), nice(3), nice(7), nice(10), nice(11), nice(4_001)], [1, 2, 5, 10, 10, 20, 5_000]);
    }

    #[test]
    fn each_bar_has_its_numbers_and_the_chart_its_title() {
        let b = bars(&[(HOUR, 3, 1)], Range::Day, NOW);
        let svg = svg(&b, Range::Day);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title>2026-12-07 10:00 UTC: 3 accepted, 1 rejected</title>"), "{svg}");
        assert_eq!(svg.matches("<title").count(), 24 + 1);
        assert!(svg.contains("the last 24 hours"));
        assert_eq!(svg.matches(r##"fill="#2f7d4f""##).count(), 1, "one accepted bar");
        assert_eq!(svg.matches(r##"fill="#c2410c""##).count(), 1, "one rejected bar");
        assert!(!svg.contains("style="), "no style attribute: the pages' CSP allows none");
        assert_eq!(summary(&b, Range::Day), "The last 24 hours: 3 accepted, 1 rejected.");
        let empty = super::svg(&bars(&[], Range::Month, NOW), Range::Month);
        assert!(empty.contains(">1</text>") && !empty.contains("#2f7d4f"), "an empty chart still has a scale");
    }

    /// Where things are drawn: 24 bars share the plot's 320 units (13.3 each, a bar 3/4 of
    /// that, centred); 3 accepted and 1 rejected on a scale of 5 fill 90 and 30 of its 150.
    #[test]
    fn bars_and_scale_are_drawn_to_their_numbers() {
        let svg = svg(&bars(&[(HOUR, 3, 1)], Range::Day, NOW), Range::Day);
        for part in [
            // The last bar (the 24th): its hover area, then accepted from the axis up, rejected on top.
            r##"<rect x="340.7" y="10" width="13.3" height="150" fill="transparent"/>"##,
            r##"<rect x="342.3" y="70" width="10.0" height="90" fill="#2f7d4f"/>"##,
            r##"<rect x="342.3" y="40" width="10.0" height="30" fill="#c2410c"/>"##,
            // The scale: 0 at the axis, half (2) and the top (5), labelled left of the plot.
            r##"<line x1="34" y1="160" x2="354" y2="160" stroke="#d0d5dd" stroke-width="0.5"/><text x="30" y="163" text-anchor="end" fill="#555">0</text>"##,
            r##"<line x1="34" y1="100" x2="354" y2="100" stroke="#d0d5dd" stroke-width="0.5"/><text x="30" y="103" text-anchor="end" fill="#555">2</text>"##,
            r##"<line x1="34" y1="10" x2="354" y2="10" stroke="#d0d5dd" stroke-width="0.5"/><text x="30" y="13" text-anchor="end" fill="#555">5</text>"##,
            // Ticks under the first bar and every sixth, at the bar's centre.
            r##"<text x="40.7" y="174" text-anchor="middle" fill="#555">11:00</text>"##,
            r##"<text x="120.7" y="174" text-anchor="middle" fill="#555">17:00</text>"##,
            r##"<text x="354" y="174" text-anchor="end" fill="#555">UTC</text>"##,
        ] {
            assert!(svg.contains(part), "{part}\nin\n{svg}");
        }
        assert_eq!(svg.matches(r##"text-anchor="middle""##).count(), 4, "4 ticks for 24 bars");
        // A count too small for a unit of the scale still shows: at least 1 high.
        let svg = super::svg(&bars(&[(HOUR, 1, 999)], Range::Day, NOW), Range::Day);
        assert!(svg.contains(r##"y="160" width="10.0" height="1" fill="#2f7d4f""##), "{svg}");
        assert!(svg.contains(r##"y="10" width="10.0" height="150" fill="#c2410c""##), "{svg}");
        // The scale's top covers a bar's whole height, accepted and rejected together (6: 10).
        let svg = super::svg(&bars(&[(HOUR, 5, 1)], Range::Day, NOW), Range::Day);
        assert!(svg.contains(r##"fill="#555">10</text>"##), "{svg}");
    }
}
