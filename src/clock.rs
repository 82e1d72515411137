//! Today's date. `LEVEE_TODAY=YYYY-MM-DD` fixes it (tests, reproducible runs, "what if" checks of
//! expiry); otherwise the system clock in UTC.

use crate::manifest::Date;

/// Today, or `LEVEE_TODAY` when set to a valid date.
pub fn today() -> Date {
    if let Some(d) = std::env::var("LEVEE_TODAY")
        .ok()
        .and_then(|s| Date::parse(&s).ok())
    {
        return d;
    }
    Date(
        jiff::Timestamp::now()
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date(),
    )
}
