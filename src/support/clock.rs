//! Today's date. `LEVEE_TODAY=YYYY-MM-DD` fixes it (tests, "what if" checks of expiry), then
//! `SOURCE_DATE_EPOCH` (seconds; the reproducible-builds convention); otherwise the local date.

use crate::model::manifest::Date;

/// Today: `LEVEE_TODAY`, else `SOURCE_DATE_EPOCH` (in UTC), else the local calendar date.
pub fn today() -> Date {
    if let Some(d) = std::env::var("LEVEE_TODAY")
        .ok()
        .and_then(|s| Date::parse(&s).ok())
    {
        return d;
    }
    let now = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC))
        .unwrap_or_else(jiff::Zoned::now);
    Date(now.date())
}
