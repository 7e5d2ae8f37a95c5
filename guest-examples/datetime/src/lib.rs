//! Calendar arithmetic as a moat tool, using the `time` crate; no clock access.

wit_bindgen::generate!({ world: "datetime", path: "wit" });

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};

struct Datetime;

fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text.trim(), format_description!("[year]-[month]-[day]"))
        .map_err(|e| format!("`{text}` is not a date of the form YYYY-MM-DD: {e}"))
}

fn format_date(date: Date) -> String {
    date.format(format_description!("[year]-[month]-[day]")).expect("dates format")
}

fn weekday(date: Date) -> Weekday {
    match date.weekday() {
        time::Weekday::Monday => Weekday::Monday,
        time::Weekday::Tuesday => Weekday::Tuesday,
        time::Weekday::Wednesday => Weekday::Wednesday,
        time::Weekday::Thursday => Weekday::Thursday,
        time::Weekday::Friday => Weekday::Friday,
        time::Weekday::Saturday => Weekday::Saturday,
        time::Weekday::Sunday => Weekday::Sunday,
    }
}

impl Guest for Datetime {
    fn add_days(date: String, days: i32) -> Result<String, String> {
        let date = parse_date(&date)?;
        date.checked_add(Duration::days(days.into()))
            .map(format_date)
            .ok_or_else(|| "the result is outside the supported years (-9999 to 9999)".to_string())
    }

    fn days_between(from: String, to: String) -> Result<i32, String> {
        let days = (parse_date(&to)? - parse_date(&from)?).whole_days();
        i32::try_from(days).map_err(|_| "too many days apart".to_string())
    }

    fn describe(date: String) -> Result<DateInfo, String> {
        let date = parse_date(&date)?;
        Ok(DateInfo {
            date: format_date(date),
            weekday: weekday(date),
            ordinal: date.ordinal(),
            iso_week: date.iso_week(),
            leap_year: time::util::is_leap_year(date.year()),
        })
    }

    fn from_unix(seconds: i64) -> Result<String, String> {
        let at = OffsetDateTime::from_unix_timestamp(seconds).map_err(|e| e.to_string())?;
        at.format(&Rfc3339).map_err(|e| e.to_string())
    }

    fn to_unix(timestamp: String) -> Result<i64, String> {
        OffsetDateTime::parse(timestamp.trim(), &Rfc3339)
            .map(|at| at.unix_timestamp())
            .map_err(|e| format!("`{timestamp}` is not an RFC 3339 timestamp: {e}"))
    }
}

export!(Datetime);
