//! Today's date. `LEVEE_TODAY=YYYY-MM-DD` fixes it (tests, "what if" checks of expiry), then
//! `SOURCE_DATE_EPOCH` (seconds; the reproducible-builds convention); otherwise the local date.
//! [`Date`] is the calendar date every file levee reads writes (`created`, `expires`, `today`).

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Today: `LEVEE_TODAY`, else `SOURCE_DATE_EPOCH` (in UTC), else the local calendar date.
pub(crate) fn today() -> Date {
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

/// A calendar date, written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub jiff::civil::Date);

impl Date {
    pub fn parse(s: &str) -> Result<Date, String> {
        let ok_shape = s.len() == 10
            && s.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        if !ok_shape {
            return Err(format!("`{s}` is not a date in the form YYYY-MM-DD"));
        }
        s.parse::<jiff::civil::Date>()
            .map(Date)
            .map_err(|_| format!("`{s}` is not a real calendar date"))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Date::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Date {
    fn schema_name() -> Cow<'static, str> {
        "Date".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "format": "date", "description": "A date, YYYY-MM-DD."})
    }
}
